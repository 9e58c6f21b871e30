//! A playback session: loads the manifest, picks tracks, and runs the scheduler loop — fetch the
//! next segment of each media kind while the buffer is under its goal (video at the rendition the
//! ABR picks), hand it to the sink, follow the sink's clock, and move through
//! Loading → Buffering ⇄ Playing ⇄ Stalled → Ended | Failed, reporting every step as an event.
//!
//! Failures degrade before they stop: a request is retried (within a time budget taken from the
//! buffer), then the segment is fetched from the next pathway while the failing one sits in a
//! penalty box (the new one is kept: sticky), then at a lower rendition; the session fails, with
//! one line saying why, only when every pathway is penalized and the buffer is empty. Content
//! steering (HLS and DASH-IF) reorders the pathways while playing; every request carries CMCD.
//!
//! This module holds the loop and the state machine; one job each lives beside it: `schedule`
//! (what to fetch next, and the request), `failover` (the decision after a failed segment),
//! `validate` (is a segment what it claims), `commands` (the viewer's), `live` (reloads),
//! `subtitles` (a text track's cues and what is on screen) and `text` (fetching them).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use abr::{Abr, ThroughputRule, ThroughputSample};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{broadcast, mpsc};
use url::Url;

use crate::cmcd::{CmcdMode, CmcdSession, StreamType, StreamingFormat};
use crate::events::{Command, PlayerEvent, PlayerState, RenditionInfo, TimedEvent};
use crate::fetch::{FetchConfig, FetchError, Fetcher};
use crate::manifest;
use crate::presentation::{
    ManifestFormat, MediaKind, Presentation, Representation, Resource, Segment, SegmentIndex, Track,
};
use crate::qoe::{QoeReport, report};
use crate::sink::{Chunk, Sink};
use crate::steering::{
    PathwayChooser, SteeringClient, SteeringError, SteeringOutcome, SteeringUpdate, apply_clone,
};
use abr::playback::{BufferPolicy, Change, FetchGate, Playback};

mod commands;
mod decrypt;
mod error;
mod failover;
mod live;
mod mp4_text;
mod packed_audio;
mod schedule;
mod subtitles;
mod text;
mod ttml;

use live::Reloads;
use schedule::{Downloaded, Fetch, InFlight, KeyCache, init_cache_key};
mod validate;
pub use error::SessionError;
pub use packed_audio::{PackedAudio, PackedAudioClock, PackedCodec};
pub use validate::{MediaFormat, validate_media};
// For the fuzz targets (`crate::fuzz`).
pub(crate) use subtitles::{Cue, parse_webvtt};
pub(crate) use ttml::parse_ttml;

/// Steering requests in flight (at most one).
type SteeringRequests = FuturesUnordered<BoxFuture<'static, SteeringOutcome>>;

/// How a session behaves.
pub struct PlayerConfig {
    /// The ABR algorithm for video (default: [`abr::DEFAULT_ALGORITHM`], Reel's own).
    pub abr: Box<dyn Abr + Send>,
    /// Forward buffer targets.
    pub buffer: BufferPolicy,
    /// HTTP timeouts and retries.
    pub fetch: FetchConfig,
    /// Pathway to prefer, when the manifest offers several.
    pub pathway: Option<String>,
    /// Where to start, in seconds.
    pub start_at_s: f64,
    /// Preferred audio language.
    pub audio_language: Option<String>,
    /// Subtitles to show: the first track whose language starts with this (`en`, `pt-BR`);
    /// none shows no subtitles until the viewer picks a track.
    pub subtitle_language: Option<String>,
    /// Pathway priority from the playback API, best first; the manifest's order otherwise.
    pub pathway_order: Vec<String>,
    /// How long a failing pathway is avoided, seconds.
    pub pathway_penalty_s: f64,
    /// CMCD (CTA-5004) on requests: headers (the default), query arguments, or off.
    pub cmcd: CmcdMode,
    /// CMCD content id (`cid`), e.g. the title's id.
    pub content_id: Option<String>,
    /// The title's QoE_lin weight of a second of rebuffering (ABR-BENCH.md: its top rung in
    /// Mbit/s): the ABR weighs stalls against bitrate with it, and the QoE report scores with it.
    pub rebuffer_weight: f64,
    /// A live stream whose reloads bring no new segment for this many target durations has
    /// stalled at its source, and the session ends saying so (Media3 waits 3.5).
    pub live_stuck_target_durations: f64,
}

impl Default for PlayerConfig {
    fn default() -> Self {
        PlayerConfig {
            abr: abr::default_algorithm(),
            buffer: BufferPolicy::default(),
            fetch: FetchConfig::default(),
            pathway: None,
            start_at_s: 0.0,
            audio_language: None,
            subtitle_language: None,
            pathway_order: Vec::new(),
            pathway_penalty_s: crate::steering::DEFAULT_PENALTY_S,
            cmcd: CmcdMode::Headers,
            content_id: None,
            rebuffer_weight: abr::qoe::DEFAULT_REBUFFER_WEIGHT,
            live_stuck_target_durations: 3.5,
        }
    }
}

/// How a session ended.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionOutcome {
    /// Final state (`Ended` or `Failed`).
    pub state: PlayerState,
    /// `true` when the viewer stopped it.
    pub stopped: bool,
    /// The QoE report.
    pub qoe: QoeReport,
    /// Video frames the sink presented.
    pub frames: u64,
    /// Every event of the session.
    #[serde(skip)]
    pub events: Vec<TimedEvent>,
}

impl SessionOutcome {
    /// Why the session failed, if it did.
    pub fn failure(&self) -> Option<&SessionError> {
        match &self.state {
            PlayerState::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// The failure's one line, if the session failed.
    pub fn error(&self) -> Option<&str> {
        self.failure().map(SessionError::message)
    }
}

/// Records events and broadcasts them; shared with in-flight downloads.
#[derive(Clone)]
struct Emitter {
    opened: Instant,
    tx: broadcast::Sender<TimedEvent>,
    log: Arc<Mutex<Vec<TimedEvent>>>,
}

impl Emitter {
    fn emit(&self, event: PlayerEvent) {
        let e = TimedEvent {
            t_s: self.opened.elapsed().as_secs_f64(),
            event,
        };
        tracing::debug!(event = ?e.event, "player event");
        self.log.lock().expect("event log").push(e.clone());
        let _ = self.tx.send(e);
    }

    /// How the session ended, with its events and their QoE summary.
    fn outcome(&self, state: PlayerState, stopped: bool, frames: u64) -> SessionOutcome {
        let events = self.log.lock().expect("event log").clone();
        SessionOutcome {
            state,
            stopped,
            qoe: report(&events),
            frames,
            events,
        }
    }
}

/// A running session. Commands go in with [`Player::command`]; events come out of
/// [`Player::events`]; [`Player::finished`] waits for the end.
pub struct Player {
    commands: mpsc::UnboundedSender<Command>,
    events: broadcast::Sender<TimedEvent>,
    task: tokio::task::JoinHandle<SessionOutcome>,
}

impl Player {
    /// Opens `url` and starts playing into `sink`. Needs a tokio runtime.
    pub fn open(url: Url, sink: Box<dyn Sink>, config: PlayerConfig) -> Player {
        let (commands, rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(4096);
        let emitter = Emitter {
            opened: Instant::now(),
            tx: events.clone(),
            log: Arc::new(Mutex::new(Vec::new())),
        };
        let task = tokio::spawn(run(url, sink, config, rx, emitter));
        Player {
            commands,
            events,
            task,
        }
    }

    /// A handle that sends commands, usable while [`Player::finished`] is awaited.
    pub fn handle(&self) -> PlayerHandle {
        PlayerHandle {
            commands: self.commands.clone(),
        }
    }

    /// A receiver of every event from now on.
    pub fn events(&self) -> broadcast::Receiver<TimedEvent> {
        self.events.subscribe()
    }

    /// Sends a command (ignored once the session is over).
    pub fn command(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    /// Waits for the session to end.
    pub async fn finished(self) -> SessionOutcome {
        match self.task.await {
            Ok(outcome) => outcome,
            Err(e) => SessionOutcome {
                state: PlayerState::Failed(SessionError::Internal(format!(
                    "the session task failed: {e}"
                ))),
                stopped: false,
                qoe: QoeReport::default(),
                frames: 0,
                events: Vec::new(),
            },
        }
    }
}

/// Sends commands to a running session (cheap to clone).
#[derive(Clone)]
pub struct PlayerHandle {
    commands: mpsc::UnboundedSender<Command>,
}

impl PlayerHandle {
    /// Sends a command (ignored once the session is over).
    pub fn command(&self, command: Command) {
        let _ = self.commands.send(command);
    }
}

/// One media kind's progress through its segments.
struct Stream {
    kind: MediaKind,
    /// (period index, track index) per period, in order.
    parts: Vec<(usize, usize)>,
    /// Current position: the part, and the presentation time of the next segment to fetch
    /// (a time, not an index, so it survives live reloads and rendition changes).
    part: usize,
    next_start_s: f64,
    /// Rendition index in the current part's track.
    rendition: usize,
    /// The init segment the sink has, to know when a new one is needed.
    pushed_init: Option<PushedInit>,
    buffered_end_s: f64,
    in_flight: bool,
    done: bool,
    gate: FetchGate,
    /// Presentation times of packed audio segments, from their ID3 timestamps.
    packed_clock: PackedAudioClock,
    /// Segments skipped as missing (404) since the last one fetched.
    missing_in_a_row: u32,
}

/// The init segment last pushed to the sink for a stream: another is pushed when the part, the
/// rendition or the init resource changes.
#[derive(Debug, Clone, PartialEq)]
struct PushedInit {
    part: usize,
    rendition: usize,
    init: Option<Resource>,
}

struct Session {
    presentation: Presentation,
    fetcher: Fetcher,
    sink: Box<dyn Sink>,
    config: PlayerConfig,
    emitter: Emitter,
    state: PlayerState,
    streams: Vec<Stream>,
    history: Vec<ThroughputSample>,
    init_cache: HashMap<String, Bytes>,
    /// AES-128 keys fetched, by URL.
    keys: KeyCache,
    epoch: u64,
    pinned: Option<usize>,
    cap_bps: Option<u64>,
    paused_by_viewer: bool,
    reload_due: Option<Instant>,
    reload_failures: u32,
    /// A live stream's newest segment end, and when it last moved.
    live_edge_moved: Option<(f64, Instant)>,
    /// Buffering ⇄ Playing ⇄ Stalled, on the session clock ([`Session::now_s`]).
    playback: Playback,
    first_frame_seen: bool,
    pathways: PathwayChooser,
    steering: Option<SteeringClient>,
    cmcd: Option<CmcdSession>,
    /// The buffer ran dry since the last segment request (CMCD `bs`).
    starved: bool,
    duration_s: f64,
    stopped: bool,
    /// The subtitle track shown, if any.
    subtitles: Option<subtitles::Subtitles>,
    /// Bumped at each subtitle selection: requests made for an earlier one are dropped.
    subtitle_generation: u64,
}

async fn run(
    url: Url,
    sink: Box<dyn Sink>,
    config: PlayerConfig,
    mut commands: mpsc::UnboundedReceiver<Command>,
    emitter: Emitter,
) -> SessionOutcome {
    let mut fetcher = Fetcher::new(config.fetch.clone());
    let mut cmcd = (config.cmcd != CmcdMode::Off).then(|| {
        let format = if url.path().ends_with(".mpd") {
            StreamingFormat::Dash
        } else if url.path().ends_with(".m3u8") {
            StreamingFormat::Hls
        } else {
            StreamingFormat::Other
        };
        CmcdSession::new(format, StreamType::Vod, config.content_id.clone()).with_mode(config.cmcd)
    });
    fetcher.set_cmcd(cmcd.clone().map(Arc::new));
    emitter.emit(PlayerEvent::State {
        state: PlayerState::Loading,
    });
    let presentation = match manifest::load(&fetcher, &url, config.pathway.as_deref()).await {
        Ok(p) => p,
        Err(e) => {
            let message = format!("cannot load {url}: {e}");
            let state = PlayerState::Failed(match e {
                manifest::ManifestError::Unsupported(_) => SessionError::Unsupported(message),
                _ => SessionError::Manifest(message),
            });
            emitter.emit(PlayerEvent::State {
                state: state.clone(),
            });
            return emitter.outcome(state, false, 0);
        }
    };
    if let Some(c) = &mut cmcd {
        // Now known for sure: the manifest says what it is.
        c.format = match presentation.format {
            ManifestFormat::Hls => StreamingFormat::Hls,
            ManifestFormat::Dash => StreamingFormat::Dash,
        };
        c.stream_type = if presentation.live {
            StreamType::Live
        } else {
            StreamType::Vod
        };
        fetcher.set_cmcd(Some(Arc::new(c.clone())));
    }
    let mut session = Session {
        pathways: pathway_chooser(&config, &presentation),
        steering: SteeringClient::from_presentation(&presentation),
        cmcd,
        starved: false,
        duration_s: presentation.duration_s.unwrap_or(0.0),
        presentation,
        fetcher,
        sink,
        config,
        emitter: emitter.clone(),
        state: PlayerState::Loading,
        streams: Vec::new(),
        history: Vec::new(),
        init_cache: HashMap::new(),
        keys: KeyCache::default(),
        epoch: 0,
        pinned: None,
        cap_bps: None,
        paused_by_viewer: false,
        reload_due: None,
        reload_failures: 0,
        live_edge_moved: None,
        playback: Playback::default(),
        first_frame_seen: false,
        stopped: false,
        subtitles: None,
        subtitle_generation: 0,
    };
    let final_state = match session.play(&mut commands).await {
        Ok(()) => PlayerState::Ended,
        Err(reason) => PlayerState::Failed(reason),
    };
    session.set_state(final_state.clone());
    let frames = session.sink.frames_presented();
    let stopped = session.stopped;
    drop(session);
    emitter.outcome(final_state, stopped, frames)
}

/// The pathways in order — the playback API's, else the manifest's — starting on the viewer's
/// choice, else on the steering default.
fn pathway_chooser(config: &PlayerConfig, presentation: &Presentation) -> PathwayChooser {
    let mut order: Vec<String> = config
        .pathway_order
        .iter()
        .filter(|p| presentation.pathways.contains(p))
        .cloned()
        .collect();
    for p in &presentation.pathways {
        if !order.contains(p) {
            order.push(p.clone());
        }
    }
    let preferred = config.pathway.clone().or_else(|| {
        if config.pathway_order.is_empty() {
            presentation
                .steering
                .as_ref()
                .and_then(|s| s.default_pathway.clone())
        } else {
            None
        }
    });
    PathwayChooser::new(&order, preferred.as_deref()).with_penalty_s(config.pathway_penalty_s)
}

/// The download, if it came and holds what it claims to (the init segment is checked only when
/// it is to be pushed); else why not, in one line.
fn checked(f: &Fetch, check_init: bool) -> Result<(Downloaded, MediaFormat), String> {
    let mut downloaded = f.result.as_ref().map_err(ToString::to_string)?.clone();
    if let Some((_, key, iv)) = downloaded.key.take() {
        downloaded.media = decrypt::aes_128_cbc(&key, &iv, &downloaded.media)
            .map_err(|e| format!("corrupt segment {}: {e}", f.segment.number))?
            .into();
    }
    let format = validate_media(&downloaded.media)
        .map_err(|e| format!("corrupt segment {}: {e}", f.segment.number))?;
    if format == MediaFormat::WebVtt {
        return Err(format!(
            "segment {} is a WebVTT document, not audio or video",
            f.segment.number
        ));
    }
    if check_init && let Some(init) = &downloaded.init {
        validate_media(init).map_err(|e| format!("corrupt init segment: {e}"))?;
    }
    Ok((downloaded, format))
}

fn pick_track(tracks: &[Track], kind: MediaKind, language: Option<&str>) -> Option<usize> {
    let of_kind = || {
        tracks
            .iter()
            .enumerate()
            .filter(move |(_, t)| t.kind == kind)
    };
    language
        .and_then(|l| {
            of_kind()
                .find(|(_, t)| {
                    t.language.as_deref().is_some_and(|x| {
                        x.to_ascii_lowercase().starts_with(&l.to_ascii_lowercase())
                    })
                })
                .map(|(i, _)| i)
        })
        .or_else(|| of_kind().find(|(_, t)| t.default).map(|(i, _)| i))
        .or_else(|| of_kind().next().map(|(i, _)| i))
}

impl Session {
    fn set_state(&mut self, state: PlayerState) {
        if self.state != state {
            self.state = state.clone();
            self.emitter.emit(PlayerEvent::State { state });
        }
    }

    fn track(&self, stream: &Stream) -> &Track {
        let (p, t) = stream.parts[stream.part];
        &self.presentation.periods[p].tracks[t]
    }

    /// The kind the ABR adapts: video, or audio when the title has no video.
    fn adaptive_kind(&self) -> MediaKind {
        if self.streams.iter().any(|s| s.kind == MediaKind::Video) {
            MediaKind::Video
        } else {
            MediaKind::Audio
        }
    }

    fn ladder(&self, stream: &Stream) -> Vec<u64> {
        self.track(stream)
            .representations
            .iter()
            .map(Representation::nominal_bitrate)
            .collect()
    }

    fn buffer_s(&mut self) -> f64 {
        let pos = self.sink.position_s();
        self.streams
            .iter()
            .map(|s| {
                if s.done {
                    f64::INFINITY
                } else {
                    s.buffered_end_s - pos
                }
            })
            .fold(f64::INFINITY, f64::min)
            .max(0.0)
    }

    /// Builds the streams and checks the sink can decode them.
    fn prepare(&mut self) -> Result<(), SessionError> {
        let mut inputs = Vec::new();
        for kind in [MediaKind::Video, MediaKind::Audio] {
            if let Some((stream, codecs)) = self.stream_of(kind)? {
                inputs.push((kind, codecs));
                self.streams.push(stream);
            }
        }
        if self.streams.is_empty() {
            let text_only = (self.presentation.periods.iter())
                .flat_map(|p| &p.tracks)
                .any(|t| t.kind == MediaKind::Text);
            return Err(SessionError::Unsupported(if text_only {
                "the manifest holds only subtitles: no video or audio to play".into()
            } else {
                "no playable video or audio track in the manifest".into()
            }));
        }
        self.sink.configure(&inputs)?;
        self.announce_manifest();
        Ok(())
    }

    /// The stream of `kind` (its track in every period, by the configured language), with the
    /// codecs its sink input needs; `None` when no period has such a track.
    fn stream_of(&self, kind: MediaKind) -> Result<Option<(Stream, Option<String>)>, SessionError> {
        let language = self.config.audio_language.as_deref();
        let parts: Vec<(usize, usize)> = (self.presentation.periods.iter().enumerate())
            .filter_map(|(pi, period)| {
                pick_track(&period.tracks, kind, language).map(|ti| (pi, ti))
            })
            .collect();
        let Some(&(p0, t0)) = parts.first() else {
            return Ok(None);
        };
        let track = &self.presentation.periods[p0].tracks[t0];
        if let Some(SegmentIndex::Unavailable(reason)) =
            track.representations.first().map(|r| &r.segments)
        {
            return Err(SessionError::Unsupported(format!(
                "cannot play this stream: {reason}"
            )));
        }
        if track
            .representations
            .iter()
            .all(|r| r.segment_list().is_empty())
        {
            return Err(SessionError::Manifest(
                format!("the {kind:?} track has no segments").to_lowercase(),
            ));
        }
        let codecs = track.representations.first().and_then(|r| r.codecs.clone());
        // HLS variant CODECS name audio too; the video input only needs the video codec.
        let codecs = codecs.map(|c| {
            c.split(',')
                .map(str::trim)
                .filter(|x| match kind {
                    MediaKind::Video => {
                        !x.starts_with("mp4a") && !x.starts_with("ac-3") && !x.starts_with("ec-3")
                    }
                    _ => true,
                })
                .collect::<Vec<_>>()
                .join(",")
        });
        let stream = Stream {
            kind,
            parts,
            part: 0,
            next_start_s: 0.0,
            rendition: 0,
            pushed_init: None,
            buffered_end_s: 0.0,
            in_flight: false,
            done: false,
            gate: FetchGate::default(),
            packed_clock: PackedAudioClock::default(),
            missing_in_a_row: 0,
        };
        Ok(Some((stream, codecs)))
    }

    /// Tells the screens what the manifest holds: the ladder the ABR adapts (video, or audio
    /// for an audio-only title), the audio and text tracks, the pathways.
    fn announce_manifest(&self) {
        let video = self
            .streams
            .iter()
            .find(|s| s.kind == self.adaptive_kind())
            .map(|s| self.track(s));
        let ladder = video.map_or_else(Vec::new, |t| {
            t.representations
                .iter()
                .map(|r| RenditionInfo {
                    id: r.id.clone(),
                    bitrate: r.nominal_bitrate(),
                    width: r.width,
                    height: r.height,
                    codecs: r.codecs.clone(),
                })
                .collect()
        });
        let names = |kind| {
            self.presentation
                .tracks(kind)
                .filter(|(p, _)| *p == 0)
                .map(|(_, t)| {
                    t.name
                        .clone()
                        .or_else(|| t.language.clone())
                        .unwrap_or_else(|| t.id.clone())
                })
                .collect()
        };
        self.emitter.emit(PlayerEvent::ManifestLoaded {
            format: match self.presentation.format {
                ManifestFormat::Hls => "hls".into(),
                ManifestFormat::Dash => "dash".into(),
            },
            duration_s: self.presentation.duration_s,
            ladder,
            ladder_kind: self.adaptive_kind(),
            audio_tracks: names(MediaKind::Audio),
            text_tracks: names(MediaKind::Text),
            pathways: self.presentation.pathways.clone(),
            rebuffer_weight: self.config.rebuffer_weight,
        });
    }

    /// Positions every stream at the segment holding `t`.
    fn position_streams(&mut self, t: f64) {
        let presentation = &self.presentation;
        for s in &mut self.streams {
            s.done = false;
            s.pushed_init = None;
            s.in_flight = false;
            s.gate = FetchGate::default();
            s.missing_in_a_row = 0;
            s.packed_clock.restart();
            let mut found = None;
            'parts: for (pi, &(p, tr)) in s.parts.iter().enumerate() {
                let rep = &presentation.periods[p].tracks[tr].representations[s
                    .rendition
                    .min(presentation.periods[p].tracks[tr].representations.len() - 1)];
                for (si, seg) in rep.segment_list().iter().enumerate() {
                    if seg.end_s() > t + 1e-3 {
                        found = Some((pi, si, seg.start_s));
                        break 'parts;
                    }
                }
            }
            match found {
                Some((pi, _, start)) => {
                    s.part = pi;
                    s.next_start_s = start;
                    s.buffered_end_s = start.max(0.0).min(t);
                }
                None => {
                    // Past the last segment: `schedule` ends the stream (after the sink's seek,
                    // which would clear an end-of-stream sent now), or waits for a live reload.
                    s.next_start_s = t;
                    s.buffered_end_s = t;
                }
            }
        }
    }

    /// Plays from the start position to the end (`Ok`), the viewer's stop (`Ok`, `stopped`
    /// set) or a failure (`Err`, one line saying why): one turn of the loop per event — a
    /// download, a live reload, a steering answer, a command, or a 50 ms tick.
    async fn play(
        &mut self,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) -> Result<(), SessionError> {
        self.start()?;
        let mut fetches = InFlight::new();
        let mut reloads = Reloads::new();
        let mut steering_requests = SteeringRequests::new();
        let mut text_fetches = text::TextFetches::new();
        let now = self.now_s();
        if let Some(inline) = self.steering.as_mut().and_then(|c| c.take_inline(now)) {
            self.on_steering(inline);
        }
        self.emit_pathways();
        let mut ticker = tokio::time::interval(Duration::from_millis(50));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_report = Instant::now();
        let mut controller = true;
        loop {
            self.schedule(&mut fetches);
            self.request_reload(&mut reloads);
            self.request_steering(&mut steering_requests);
            self.schedule_subtitles(&mut text_fetches);
            tokio::select! {
                Some(outcome) = steering_requests.next(), if !steering_requests.is_empty() => {
                    let now = self.now_s();
                    if let Some(client) = &mut self.steering {
                        let result = client.on_response(now, outcome);
                        self.on_steering(result);
                    }
                }
                Some(reloaded) = reloads.next(), if !reloads.is_empty() => self.on_reload(reloaded)?,
                Some(done) = fetches.next(), if !fetches.is_empty() => self.on_fetched(done)?,
                Some(done) = text_fetches.next(), if !text_fetches.is_empty() => {
                    self.on_text_fetched(done);
                }
                command = commands.recv(), if controller => {
                    let Some(c) = command else {
                        controller = false; // the app let go of the handle: play on
                        continue;
                    };
                    if self.on_command(c)? {
                        self.stopped = true;
                        return Ok(());
                    }
                }
                _ = ticker.tick() => {}
            }
            if let Some(e) = self.sink.take_error() {
                return Err(e.into());
            }
            self.step_clock();
            self.show_subtitles();
            if last_report.elapsed() >= Duration::from_secs(1) {
                last_report = Instant::now();
                self.report_position();
            }
            if self.streams.iter().all(|s| s.done) && self.sink.finished() {
                return Ok(());
            }
        }
    }

    /// Says which audio track plays (its index among the first period's audio tracks).
    pub(super) fn announce_audio(&self) {
        let Some(stream) = self.streams.iter().find(|s| s.kind == MediaKind::Audio) else {
            return;
        };
        let chosen = stream.parts[0].1;
        let tracks = &self.presentation.periods[0].tracks;
        let index = tracks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.kind == MediaKind::Audio)
            .position(|(i, _)| i == chosen);
        if let Some(index) = index {
            self.emitter.emit(PlayerEvent::AudioSelected {
                index,
                language: tracks[chosen].language.clone(),
            });
        }
    }

    /// Builds the streams and positions them and the sink at the start: the configured start,
    /// or for a live stream at least three target durations behind its edge (RFC 8216 §6.3.3).
    fn start(&mut self) -> Result<(), SessionError> {
        self.prepare()?;
        self.announce_audio();
        self.choose_subtitles();
        let mut start = self.config.start_at_s.max(0.0);
        if self.presentation.live {
            let edge = self.live_edge_s();
            let target = self.presentation.reload_interval_s.unwrap_or(4.0).max(1.0);
            start = start
                .max(edge - 3.0 * target)
                .max(self.live_window_start_s());
            self.reload_due = Some(Instant::now() + Duration::from_secs_f64(target));
            self.live_edge_moved = Some((edge, Instant::now()));
        }
        self.position_streams(start);
        if start > 0.0 {
            self.sink.seek(start)?;
            // Screens show the start position at once, not 0:00 until the first report.
            self.emitter.emit(PlayerEvent::Seeked { position_s: start });
        }
        self.set_state(PlayerState::Buffering);
        Ok(())
    }

    /// Asks the steering server for the pathway priority when its TTL is up.
    fn request_steering(&self, requests: &mut SteeringRequests) {
        if !requests.is_empty() {
            return;
        }
        let Some(url) = self.steering.as_ref().and_then(|client| {
            client.request(
                self.now_s(),
                self.pathways.current().unwrap_or_default(),
                self.throughput_estimate(),
            )
        }) else {
            return;
        };
        let fetcher = self.fetcher.clone();
        requests.push(Box::pin(async move {
            match fetcher.get(&url).send_raw().await {
                Ok(r) if r.status == 200 => SteeringOutcome::Body {
                    url: r.url,
                    body: r.body.to_vec(),
                },
                Ok(r) => SteeringOutcome::Status {
                    code: r.status,
                    retry_after_s: r.retry_after_s,
                },
                Err(e) => SteeringOutcome::Failed(e.to_string()),
            }
        }));
    }

    /// Reports the play position, the buffer ahead and the throughput estimate (once a second).
    fn report_position(&mut self) {
        let position_s = self.sink.position_s();
        let buffer_s = self
            .streams
            .iter()
            .map(|s| s.buffered_end_s - position_s)
            .fold(f64::INFINITY, f64::min)
            .max(0.0);
        self.emitter.emit(PlayerEvent::Position {
            position_s,
            buffer_s: if buffer_s.is_finite() { buffer_s } else { 0.0 },
            throughput_bps: self.throughput_estimate(),
        });
    }

    /// Moves the state machine on from the sink's clock and the buffer level.
    fn step_clock(&mut self) {
        let buffer = self.buffer_s();
        let all_done = self.streams.iter().all(|s| s.done);
        if !self.first_frame_seen
            && let Some(at) = self.sink.first_frame_at()
        {
            self.first_frame_seen = true;
            self.emitter.emit(PlayerEvent::FirstFrame {
                startup_s: at
                    .saturating_duration_since(self.emitter.opened)
                    .as_secs_f64(),
            });
        }
        let held = self.paused_by_viewer
            || !matches!(
                self.state,
                PlayerState::Buffering | PlayerState::Playing | PlayerState::Stalled
            );
        if held {
            return;
        }
        let now = self.now_s();
        match self
            .playback
            .step(now, buffer, all_done, &self.config.buffer)
        {
            Some(Change::Started) => {
                self.sink.play();
                self.set_state(PlayerState::Playing);
            }
            Some(Change::Stalled) => {
                self.sink.pause();
                self.starved = true;
                let position_s = self.sink.position_s();
                self.emitter.emit(PlayerEvent::StallStart { position_s });
                self.set_state(PlayerState::Stalled);
            }
            Some(Change::Resumed { stalled_s }) => {
                self.sink.play();
                self.emitter.emit(PlayerEvent::StallEnd { stalled_s });
                self.set_state(PlayerState::Playing);
            }
            None => {}
        }
    }

    /// A download ended: a failure goes to [`failover`]; a segment goes to the sink (after its
    /// init segment, when the sink has not got that one), and the stream moves past it.
    fn on_fetched(&mut self, f: Fetch) -> Result<(), SessionError> {
        if f.epoch != self.epoch {
            return Ok(()); // from before a seek
        }
        let Some(i) = self.streams.iter().position(|s| s.kind == f.kind) else {
            return Ok(());
        };
        self.streams[i].in_flight = false;
        let pushed = PushedInit {
            part: f.part,
            rendition: f.rendition,
            init: f.segment.init.clone(),
        };
        let needs_init = self.streams[i].pushed_init.as_ref() != Some(&pushed);
        let (downloaded, format) = match checked(&f, needs_init) {
            Ok(checked) => checked,
            Err(error) => {
                // A key that decrypts nothing is fetched again next time, not kept.
                if let Ok(Downloaded {
                    key: Some((url, ..)),
                    ..
                }) = &f.result
                {
                    self.keys.lock().expect("key cache").remove(url);
                }
                return self.on_segment_failure(i, &f, error);
            }
        };
        self.streams[i].gate.force_below = None;
        self.streams[i].gate.retry_at_s = None;
        self.streams[i].missing_in_a_row = 0;
        self.leave_if_too_slow(i, &f, &downloaded.sample);
        if let Some(c) = &mut self.steering
            && !c.is_stopped()
        {
            c.started(self.emitter.opened.elapsed().as_secs_f64());
        }
        self.history.push(downloaded.sample);
        if self.history.len() > 64 {
            self.history.remove(0);
        }
        if let Some(init) = downloaded.init.filter(|_| needs_init) {
            self.cache_init(i, &f, &init);
            self.sink.push(Chunk {
                kind: f.kind,
                data: init,
                init: true,
                start_s: f.segment.start_s,
                duration_s: 0.0,
                media_offset_s: f.segment.media_offset_s,
            })?;
        }
        self.streams[i].pushed_init = Some(pushed);
        let bytes = downloaded.media.len() as u64;
        // Packed audio goes to the decoder without its ID3 tag (a tag demuxer reads only the
        // stream's first), timed by the tag's timestamp.
        let (data, start_s) = match format {
            MediaFormat::PackedAudio(p) => {
                let stream = &mut self.streams[i];
                if f.segment.discontinuity || f.rendition != stream.rendition {
                    stream.packed_clock.restart();
                }
                let start_s = stream.packed_clock.start_s(p.timestamp, f.segment.start_s);
                (downloaded.media.slice(p.payload_offset..), start_s)
            }
            _ => (downloaded.media, f.segment.start_s),
        };
        self.sink.push(Chunk {
            kind: f.kind,
            data,
            init: false,
            start_s,
            duration_s: f.segment.duration_s,
            media_offset_s: f.segment.media_offset_s,
        })?;
        self.emitter.emit(PlayerEvent::SegmentFetched {
            kind: f.kind,
            segment: f.segment.number,
            rendition: f.rendition,
            start_s: f.segment.start_s,
            duration_s: f.segment.duration_s,
            bytes,
            download_s: downloaded.sample.duration_s,
            ttfb_s: downloaded.sample.ttfb_s,
            pathway: f.pathway.clone(),
        });
        let s = &mut self.streams[i];
        s.rendition = f.rendition;
        s.buffered_end_s = s.buffered_end_s.max(f.segment.end_s());
        s.next_start_s = f.segment.end_s();
        Ok(())
    }

    /// Keeps a fetched init segment, so the next request for it is served here.
    fn cache_init(&mut self, i: usize, f: &Fetch, init: &Bytes) {
        if let Some(r) = &f.segment.init {
            let track = self.track(&self.streams[i]);
            if let Some(u) = track.representations[f.rendition].url(r, self.pathways.current()) {
                self.init_cache
                    .insert(init_cache_key(&u, r.range), init.clone());
            }
        }
    }

    /// Retries are exhausted for a segment: [`failover::decide`] says what next, and this carries
    /// it out.
    fn on_segment_failure(
        &mut self,
        i: usize,
        f: &Fetch,
        error: String,
    ) -> Result<(), SessionError> {
        // What an abandoned download measured goes to the ABR whatever is decided.
        let abandoned_at_bps = match &f.result {
            Err(FetchError::Abandoned {
                bytes, elapsed_ms, ..
            }) => {
                let sample = ThroughputSample {
                    bytes: *bytes,
                    duration_s: *elapsed_ms as f64 / 1000.0,
                    ttfb_s: 0.0,
                };
                self.history.push(sample);
                Some(sample.bits_per_second())
            }
            _ => None,
        };
        let failure = failover::Failure {
            kind: f.kind,
            segment: f.segment.number,
            rendition: f.rendition,
            error: &error,
            abandoned_at_bps,
            not_found: f
                .result
                .as_ref()
                .err()
                .is_some_and(FetchError::is_not_found),
            too_large: matches!(
                f.result,
                Err(FetchError::TooLarge { what, .. }) if what == schedule::OVERSIZED_SEGMENT
            ),
            missing_in_a_row: self.streams[i].missing_in_a_row,
        };
        let now = self.now_s();
        let circumstances = failover::Circumstances {
            lowest_bps: self.track(&self.streams[i]).representations[0].nominal_bitrate(),
            pathways: self.pathways_of(i, f.rendition),
            can_leave: self.can_leave(now, f.pathway.as_deref()),
            buffer_s: self.buffer_s(),
            penalty_s: self.config.pathway_penalty_s,
        };
        let decision = failover::decide(&failure, &circumstances);
        if let Some(leave) = &decision.leave {
            self.fail_over(now, f.pathway.as_deref(), |from| leave.reason(from));
        }
        match decision.next {
            failover::Next::Refetch => {}
            failover::Next::StepDown { to, reason } => {
                self.emitter.emit(PlayerEvent::Downswitch {
                    segment: f.segment.number,
                    from: f.rendition,
                    to,
                    reason,
                });
                self.streams[i].gate.force_below = Some(to);
            }
            failover::Next::Skip(reason) => {
                // The next segment gets a fresh choice of rendition.
                self.streams[i].gate.force_below = None;
                self.streams[i].missing_in_a_row += 1;
                self.skip_segment(i, &f.segment, reason);
            }
            failover::Next::RetryLater { after, warning } => {
                self.emitter.emit(PlayerEvent::Warning { message: warning });
                self.streams[i].gate.retry_at_s = Some(self.now_s() + after.as_secs_f64());
            }
            failover::Next::Fail(message) => {
                return Err(if f.result.is_ok() {
                    // The bytes came, wherever asked, and are not media.
                    SessionError::Undecodable(message)
                } else if circumstances.pathways > 1 {
                    SessionError::AllPathwaysDown {
                        pathways: self.pathways.order().to_vec(),
                        message,
                    }
                } else {
                    SessionError::Network {
                        pathway: f.pathway.clone(),
                        message,
                    }
                });
            }
        }
        Ok(())
    }

    /// Moves stream `i` past `segment` without playing it (a gap, a missing segment): the
    /// decoders show the hole as a frozen picture and silence, and it counts as a stall.
    fn skip_segment(&mut self, i: usize, segment: &Segment, reason: String) {
        let s = &mut self.streams[i];
        self.emitter.emit(PlayerEvent::SegmentSkipped {
            kind: s.kind,
            segment: segment.number,
            start_s: segment.start_s,
            duration_s: segment.duration_s,
            reason,
        });
        s.buffered_end_s = s.buffered_end_s.max(segment.end_s());
        s.next_start_s = segment.end_s();
    }

    /// A pathway that cannot deliver even the lowest rendition in real time is left for the next
    /// one (and penalized): no rendition change can save playback there.
    fn leave_if_too_slow(&mut self, i: usize, f: &Fetch, sample: &ThroughputSample) {
        let pathways = self.pathways_of(i, f.rendition);
        if !failover::too_slow_to_stay(
            f.kind == self.adaptive_kind(),
            f.rendition,
            pathways,
            sample.duration_s,
            f.segment.duration_s,
        ) {
            return;
        }
        let now = self.now_s();
        self.fail_over(now, f.pathway.as_deref(), |from| {
            format!(
                "{from} is too slow: segment {} took {:.1} s for {:.1} s of the lowest rendition ({:.0} kbit/s)",
                f.segment.number,
                sample.duration_s,
                f.segment.duration_s,
                sample.bits_per_second() / 1000.0
            )
        });
    }

    /// Whether [`Session::fail_over`] from `failed` would succeed: the session already left it,
    /// or another pathway is usable.
    fn can_leave(&self, now: f64, failed: Option<&str>) -> bool {
        failed.is_some_and(|failed| self.pathways.current() != Some(failed))
            || self.pathways.can_fail_over(now)
    }

    /// Pathways rendition `rendition` of stream `i` can be fetched from.
    fn pathways_of(&self, i: usize, rendition: usize) -> usize {
        self.track(&self.streams[i]).representations[rendition]
            .locations
            .iter()
            .filter(|l| l.pathway.is_some())
            .count()
    }

    /// Penalizes the current pathway and moves to the next usable one, reporting why (`reason`
    /// gets the pathway left); `false` when every pathway is penalized.
    ///
    /// `failed` is the pathway the failing request went to: when the session has already left
    /// it (another stream's failure moved it on while this request was in flight), only that
    /// pathway is penalized — the current one did nothing wrong — and the answer is `true`.
    fn fail_over(
        &mut self,
        now: f64,
        failed: Option<&str>,
        reason: impl FnOnce(&str) -> String,
    ) -> bool {
        let from = self.pathways.current().map(str::to_owned);
        if let Some(failed) = failed
            && from.as_deref() != Some(failed)
        {
            if !self.pathways.is_penalized(failed, now) {
                self.pathways.penalize(failed, now);
                self.emit_pathways();
            }
            return true;
        }
        let Some(next) = self.pathways.fail_over(now) else {
            return false;
        };
        let reason = reason(from.as_deref().unwrap_or("the default pathway"));
        self.emitter.emit(PlayerEvent::PathwaySwitch {
            from,
            to: next,
            reason,
        });
        self.emit_pathways();
        true
    }

    /// Seconds since the session opened (the steering and penalty clock).
    fn now_s(&self) -> f64 {
        self.emitter.opened.elapsed().as_secs_f64()
    }

    /// Reports the pathways' state.
    fn emit_pathways(&self) {
        let now = self.now_s();
        self.emitter.emit(PlayerEvent::Pathways {
            order: self.pathways.order().to_vec(),
            active: self.pathways.current().map(str::to_owned),
            penalized: self.pathways.penalized(now),
        });
    }

    /// Takes a steering answer: clones pathways, adopts the priority (moving to its first
    /// usable pathway), or reports why the answer was not used.
    fn on_steering(&mut self, result: Result<SteeringUpdate, SteeringError>) {
        let now = self.now_s();
        match result {
            Ok(update) => {
                let mut cloned = Vec::new();
                for c in &update.clones {
                    if apply_clone(&mut self.presentation, c) {
                        cloned.push(c.id.clone());
                    }
                }
                let from = self.pathways.current().map(str::to_owned);
                let switched = self.pathways.set_priority(update.priority.clone(), now);
                self.emitter.emit(PlayerEvent::SteeringUpdated {
                    priority: update.priority,
                    cloned,
                    ttl_s: update.ttl_s,
                });
                if let Some(to) = switched {
                    self.emitter.emit(PlayerEvent::PathwaySwitch {
                        from,
                        to: to.clone(),
                        reason: format!("the steering server puts {to} first"),
                    });
                }
                self.emit_pathways();
            }
            Err(e) => self.emitter.emit(PlayerEvent::Warning {
                message: format!("content steering: {e}"),
            }),
        }
    }

    /// The throughput estimate, bit/s.
    fn throughput_estimate(&self) -> Option<f64> {
        ThroughputRule::default().estimate(&abr::Context {
            ladder: &[],
            buffer_s: 0.0,
            max_buffer_s: self.config.buffer.high_watermark_s,
            segment_duration_s: 0.0,
            history: &self.history,
            last_choice: None,
            segment: 0,
            upcoming_sizes_bits: &[],
            rebuffer_weight: self.config.rebuffer_weight,
        })
    }
}
