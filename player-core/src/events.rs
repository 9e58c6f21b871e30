//! What a session tells the world ([`PlayerEvent`]) and what it takes ([`Command`]).
//!
//! Every decision carries its reason, so a stats panel can show why the engine did what it did,
//! and the QoE report is computed from these same events.

use serde::Serialize;

use crate::presentation::MediaKind;
use crate::session::SessionError;

/// The session's state machine: Idle → Loading → Buffering ⇄ Playing ⇄ Stalled → Ended | Failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "lowercase")]
pub enum PlayerState {
    /// Created, nothing done yet.
    Idle,
    /// Fetching the manifest.
    Loading,
    /// Filling the buffer before (re)starting playback.
    Buffering,
    /// Playing.
    Playing,
    /// Paused by the viewer.
    Paused,
    /// The buffer ran dry during playback.
    Stalled,
    /// Played to the end.
    Ended,
    /// Stopped by an error: why, as a type to match on and a line to show.
    Failed(SessionError),
}

/// A rendition as the player shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenditionInfo {
    /// Representation id.
    pub id: String,
    /// Bitrate the ABR reasons with, bit/s.
    pub bitrate: u64,
    /// Frame width.
    pub width: Option<u32>,
    /// Frame height.
    pub height: Option<u32>,
    /// Codecs.
    pub codecs: Option<String>,
}

/// Something the session did or saw. `t_s` in [`TimedEvent`] says when.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum PlayerEvent {
    /// The state changed.
    State {
        /// New state.
        state: PlayerState,
    },
    /// The manifest is loaded.
    ManifestLoaded {
        /// `hls` or `dash`.
        format: String,
        /// Duration, for VOD.
        duration_s: Option<f64>,
        /// The ladder the ABR adapts, lowest first: video, or audio for an audio-only title.
        ladder: Vec<RenditionInfo>,
        /// What that ladder carries.
        ladder_kind: MediaKind,
        /// Audio track names.
        audio_tracks: Vec<String>,
        /// Subtitle track names.
        text_tracks: Vec<String>,
        /// Pathways offered.
        pathways: Vec<String>,
        /// The QoE_lin weight of a second of rebuffering this session is scored with.
        rebuffer_weight: f64,
    },
    /// The ABR picked a rendition for the next video segment.
    AbrDecision {
        /// Segment number.
        segment: u64,
        /// Index in the ladder.
        rendition: usize,
        /// Its bitrate.
        bitrate: u64,
        /// Algorithm name.
        algorithm: String,
        /// Why.
        reason: String,
    },
    /// The video rendition changed.
    RenditionSwitch {
        /// Previous index, if any.
        from: Option<usize>,
        /// New index.
        to: usize,
        /// Why.
        reason: String,
    },
    /// A segment arrived.
    SegmentFetched {
        /// Video or audio.
        kind: MediaKind,
        /// Segment number.
        segment: u64,
        /// Rendition index in its track.
        rendition: usize,
        /// Presentation start.
        start_s: f64,
        /// Duration.
        duration_s: f64,
        /// Bytes.
        bytes: u64,
        /// Download time.
        download_s: f64,
        /// Time to first byte.
        ttfb_s: f64,
        /// Pathway it came from.
        pathway: Option<String>,
    },
    /// A segment was left out (a gap, a missing segment): playback goes on after it, and the
    /// hole counts as a stall.
    SegmentSkipped {
        /// Video or audio.
        kind: MediaKind,
        /// Segment number.
        segment: u64,
        /// Presentation start.
        start_s: f64,
        /// Duration.
        duration_s: f64,
        /// Why.
        reason: String,
    },
    /// A request failed and is tried again.
    Retry {
        /// The URL.
        url: String,
        /// Attempt number (1 = first retry).
        attempt: u32,
        /// What went wrong.
        error: String,
    },
    /// A segment could not be had from a rendition; a lower one is tried.
    Downswitch {
        /// Segment number.
        segment: u64,
        /// From index.
        from: usize,
        /// To index.
        to: usize,
        /// Why.
        reason: String,
    },
    /// Playback stopped because the buffer ran dry.
    StallStart {
        /// Playhead.
        position_s: f64,
    },
    /// Playback resumed after a stall.
    StallEnd {
        /// How long it lasted.
        stalled_s: f64,
    },
    /// Playback started for the first time.
    FirstFrame {
        /// Seconds from open to first frame.
        startup_s: f64,
    },
    /// Periodic position report.
    Position {
        /// Playhead.
        position_s: f64,
        /// Seconds buffered ahead.
        buffer_s: f64,
        /// Current throughput estimate, bit/s.
        throughput_bps: Option<f64>,
    },
    /// The playhead was moved: a viewer's seek, or a start (or live join) past 0.
    Seeked {
        /// New position.
        position_s: f64,
    },
    /// A viewer command was applied.
    CommandApplied {
        /// What it did.
        description: String,
    },
    /// Segments now come from another pathway (cache).
    PathwaySwitch {
        /// The pathway left, if any.
        from: Option<String>,
        /// The pathway now in use.
        to: String,
        /// Why: a failure on `from`, steering, or the viewer.
        reason: String,
    },
    /// The pathways' state changed: priority, active one, penalties.
    Pathways {
        /// Priority order, best first.
        order: Vec<String>,
        /// The one in use.
        active: Option<String>,
        /// Penalized pathways and the seconds their penalty has left.
        penalized: Vec<(String, f64)>,
    },
    /// A steering manifest was applied.
    SteeringUpdated {
        /// Its pathway priority.
        priority: Vec<String>,
        /// Pathways it cloned.
        cloned: Vec<String>,
        /// Seconds until the next reload.
        ttl_s: f64,
    },
    /// The audio track playing changed (also said at the start).
    AudioSelected {
        /// Its index among `ManifestLoaded::audio_tracks`.
        index: usize,
        /// Its language, where known.
        language: Option<String>,
    },
    /// The subtitle track shown changed (also said at the start).
    SubtitlesSelected {
        /// Its index among `ManifestLoaded::text_tracks`; `None`: subtitles off.
        index: Option<usize>,
        /// Its language, where known.
        language: Option<String>,
    },
    /// The subtitle text on screen changed.
    Subtitle {
        /// The cues showing, one per line, WebVTT markup (`<i>`, `<b>`) left in; `None` clears.
        text: Option<String>,
        /// The playhead when it changed.
        position_s: f64,
    },
    /// A problem that the session survives.
    Warning {
        /// What happened.
        message: String,
    },
}

/// An event and when it happened, in seconds since the session opened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimedEvent {
    /// Seconds since open.
    pub t_s: f64,
    /// The event.
    #[serde(flatten)]
    pub event: PlayerEvent,
}

/// What a viewer (or an embedding app) asks of a session.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Resume.
    Play,
    /// Pause.
    Pause,
    /// Toggle pause.
    TogglePause,
    /// Jump to a position (seconds).
    Seek(f64),
    /// Jump relative to the playhead (seconds, may be negative).
    SeekBy(f64),
    /// Highest bitrate the ABR may choose (bit/s); `None` lifts the cap.
    CapBitrate(Option<u64>),
    /// Play this ladder index only; `None` hands back to the ABR.
    PinRendition(Option<usize>),
    /// Switch audio track (index among audio tracks).
    SelectAudio(usize),
    /// Show this subtitle track (index among text tracks); `None` turns subtitles off.
    SelectSubtitles(Option<usize>),
    /// Use this pathway (cache) from the next segment on; `None` moves to the next one in
    /// priority order.
    SetPathway(Option<String>),
    /// Replace the ABR algorithm (by name, see [`abr::by_name`]).
    SetAbr(String),
    /// Audio volume (0..=1) and mute.
    SetVolume {
        /// Linear volume, 0..=1.
        volume: f64,
        /// Muted.
        muted: bool,
    },
    /// Stop the session.
    Stop,
}

impl std::fmt::Display for PlayerEvent {
    /// One human-readable line, as the players' event logs show it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let line = match self {
            PlayerEvent::State { state } => format!("state {state:?}"),
            PlayerEvent::ManifestLoaded {
                format,
                duration_s,
                ladder,
                pathways,
                ..
            } => format!(
                "{format} manifest, {}, ladder {}{}",
                duration_s.map_or("live".into(), |d| format!("{d:.1} s")),
                ladder
                    .iter()
                    .map(|r| match r.height {
                        Some(h) => format!("{h}p@{}k", r.bitrate / 1000),
                        None => format!("{}k", r.bitrate / 1000),
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                if pathways.is_empty() {
                    String::new()
                } else {
                    format!(", pathways {}", pathways.join(" > "))
                }
            ),
            PlayerEvent::AbrDecision {
                segment,
                rendition,
                bitrate,
                algorithm,
                reason,
            } => format!(
                "abr {algorithm}: segment {segment} -> rung {} ({} kbit/s): {reason}",
                rendition + 1,
                bitrate / 1000
            ),
            PlayerEvent::RenditionSwitch { from, to, reason } => {
                format!(
                    "switch {} -> {}: {reason}",
                    from.map_or("-".into(), |f| (f + 1).to_string()),
                    to + 1
                )
            }
            PlayerEvent::SegmentFetched {
                kind,
                segment,
                rendition,
                bytes,
                download_s,
                pathway,
                ..
            } => format!(
                "{kind:?} segment {segment} rung {}: {} KB in {:.0} ms ({:.0} kbit/s){}",
                rendition + 1,
                bytes / 1000,
                download_s * 1000.0,
                *bytes as f64 * 8.0 / download_s.max(1e-6) / 1000.0,
                pathway
                    .as_ref()
                    .map_or(String::new(), |p| format!(" from {p}"))
            )
            .to_lowercase(),
            PlayerEvent::SegmentSkipped {
                kind,
                segment,
                start_s,
                duration_s,
                reason,
            } => format!(
                "{} segment {segment} skipped ({start_s:.1}-{:.1} s): {reason}",
                format!("{kind:?}").to_lowercase(),
                start_s + duration_s
            ),
            PlayerEvent::Retry {
                url,
                attempt,
                error,
            } => format!("retry {attempt} of {url}: {error}"),
            PlayerEvent::Downswitch {
                segment,
                from,
                to,
                reason,
            } => {
                format!(
                    "segment {segment}: rung {} failed, trying rung {}: {reason}",
                    from + 1,
                    to + 1
                )
            }
            PlayerEvent::StallStart { position_s } => format!("STALL at {position_s:.2} s"),
            PlayerEvent::StallEnd { stalled_s } => format!("stall over after {stalled_s:.2} s"),
            PlayerEvent::FirstFrame { startup_s } => format!("first frame after {startup_s:.3} s"),
            PlayerEvent::Position {
                position_s,
                buffer_s,
                throughput_bps,
            } => format!(
                "position {position_s:.1} s, buffer {buffer_s:.1} s{}",
                throughput_bps.map_or(String::new(), |t| format!(
                    ", throughput {:.0} kbit/s",
                    t / 1000.0
                ))
            ),
            PlayerEvent::Seeked { position_s } => format!("seeked to {position_s:.1} s"),
            PlayerEvent::CommandApplied { description } => description.clone(),
            PlayerEvent::PathwaySwitch { from, to, reason } => format!(
                "pathway {} -> {to}: {reason}",
                from.as_deref().unwrap_or("-")
            ),
            PlayerEvent::Pathways {
                order,
                active,
                penalized,
            } => format!(
                "pathways {} (active {}){}",
                order.join(" > "),
                active.as_deref().unwrap_or("-"),
                if penalized.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", penalized {}",
                        penalized
                            .iter()
                            .map(|(p, s)| format!("{p} {s:.0} s"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ),
            PlayerEvent::SteeringUpdated {
                priority,
                cloned,
                ttl_s,
            } => format!(
                "steering: {} (next in {ttl_s:.0} s){}",
                priority.join(" > "),
                if cloned.is_empty() {
                    String::new()
                } else {
                    format!(", cloned {}", cloned.join(", "))
                }
            ),
            PlayerEvent::AudioSelected { index, language } => match language {
                Some(l) => format!("audio {l} (track {index})"),
                None => format!("audio track {index}"),
            },
            PlayerEvent::SubtitlesSelected { index, language } => match (index, language) {
                (None, _) => "subtitles off".to_string(),
                (Some(i), Some(l)) => format!("subtitles {l} (track {i})"),
                (Some(i), None) => format!("subtitles track {i}"),
            },
            PlayerEvent::Subtitle {
                text: Some(text),
                position_s,
            } => format!(
                "subtitle at {position_s:.1} s: {}",
                text.replace('\n', " / ")
            ),
            PlayerEvent::Subtitle {
                text: None,
                position_s,
            } => format!("subtitle cleared at {position_s:.1} s"),
            PlayerEvent::Warning { message } => format!("warning: {message}"),
        };
        f.write_str(&line)
    }
}
