//! What the screen shows, built from the engine's events: the ladder with the playing and target
//! rungs and the ABR's reason, buffer and throughput histories, the pathways, an event log and
//! the QoE summary — plus the viewer's own settings (volume, pinned rung, layout). Pure: the
//! screen code reads it, the event loop feeds it.

use std::collections::VecDeque;

use player_core::PlayerState;
use player_core::events::{PlayerEvent, RenditionInfo, TimedEvent};
use player_core::presentation::MediaKind;
use player_core::protocol::CacheState;
use player_core::qoe::{QoeReport, report};

/// Seconds of history the graphs keep.
pub const HISTORY_S: f64 = 120.0;
/// Lines the event log keeps.
const LOG_LINES: usize = 200;

/// One pathway as the screens list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathwayRow {
    /// Id, health and penalty: `oca-2 DOWN penalized 28s`.
    pub label: String,
    /// The session fetches from it.
    pub active: bool,
    /// Down or penalized.
    pub troubled: bool,
}

/// The screen's model.
pub struct PlayerView {
    /// What is playing (title or URL).
    pub title: String,
    /// `true` in `reel demo` (chaos keys on).
    pub demo: bool,
    /// Session state.
    pub state: PlayerState,
    /// Playhead, seconds.
    pub position_s: f64,
    /// Duration when known.
    pub duration_s: Option<f64>,
    /// Seconds buffered ahead.
    pub buffer_s: f64,
    /// `hls` or `dash`.
    pub format: String,
    /// The video ladder, lowest first.
    pub ladder: Vec<RenditionInfo>,
    /// What the ladder carries: video, or audio for an audio-only title.
    pub ladder_kind: MediaKind,
    /// Audio track names, in the manifest's order.
    pub audio_tracks: Vec<String>,
    /// The audio track in use (index into `audio_tracks`).
    pub audio_track: usize,
    /// Subtitle track names, in the manifest's order.
    pub text_tracks: Vec<String>,
    /// The subtitle track shown (index into `text_tracks`), if any.
    pub text_track: Option<usize>,
    /// The subtitle text on screen now (WebVTT markup left in), if any.
    pub subtitle: Option<String>,
    /// Rung of the segment at the playhead.
    pub playing_rung: Option<usize>,
    /// Rung the ABR chose last.
    pub target_rung: Option<usize>,
    /// ABR algorithm name.
    pub abr: String,
    /// Why the ABR chose the target rung.
    pub abr_reason: String,
    /// Rung pinned by the viewer.
    pub pinned: Option<usize>,
    /// (session time, buffer s).
    pub buffer_history: VecDeque<(f64, f64)>,
    /// (session time, measured kbit/s) per video segment.
    pub throughput_history: VecDeque<(f64, f64)>,
    /// The engine's throughput estimate, kbit/s.
    pub forecast_kbps: Option<f64>,
    /// Pathway priority, best first.
    pub pathway_order: Vec<String>,
    /// The pathway in use.
    pub active_pathway: Option<String>,
    /// Penalized pathways: (id, penalty ends at, session time).
    pub penalized: Vec<(String, f64)>,
    /// The caches' state from the playback API, when known.
    pub health: Vec<CacheState>,
    /// Recent events as lines: (session time, text).
    pub log: VecDeque<(f64, String)>,
    /// The QoE report so far.
    pub qoe: QoeReport,
    /// Session time of the newest event.
    pub now_s: f64,
    /// Volume 0..=1.
    pub volume: f64,
    /// Muted.
    pub muted: bool,
    /// Only the video (and one status line).
    pub video_only: bool,
    /// The help overlay is open.
    pub help: bool,
    /// Why playback failed, if it did.
    pub error: Option<String>,
    /// Where a remembered stop resumed this title, until the viewer starts over.
    pub resumed_from: Option<f64>,
    /// The key that starts over, as the notice names it.
    pub start_over_key: String,
    segments: Vec<(f64, f64, usize)>,
    events: Vec<TimedEvent>,
    qoe_dirty: bool,
}

impl PlayerView {
    /// A fresh model for `title`.
    pub fn new(title: impl Into<String>, abr: impl Into<String>, demo: bool) -> PlayerView {
        PlayerView {
            title: title.into(),
            demo,
            state: PlayerState::Idle,
            position_s: 0.0,
            duration_s: None,
            buffer_s: 0.0,
            format: String::new(),
            ladder: Vec::new(),
            ladder_kind: MediaKind::Video,
            audio_tracks: Vec::new(),
            audio_track: 0,
            text_tracks: Vec::new(),
            text_track: None,
            subtitle: None,
            playing_rung: None,
            target_rung: None,
            abr: abr.into(),
            abr_reason: String::new(),
            pinned: None,
            buffer_history: VecDeque::new(),
            throughput_history: VecDeque::new(),
            forecast_kbps: None,
            pathway_order: Vec::new(),
            active_pathway: None,
            penalized: Vec::new(),
            health: Vec::new(),
            log: VecDeque::new(),
            qoe: QoeReport::default(),
            now_s: 0.0,
            volume: 1.0,
            muted: false,
            video_only: false,
            help: false,
            error: None,
            resumed_from: None,
            start_over_key: "b".into(),
            segments: Vec::new(),
            events: Vec::new(),
            qoe_dirty: false,
        }
    }

    /// The one-line notice of a resume, shown while the playhead is within 15 s of where it
    /// resumed: `resumed at 1:23 (b: start over)`, with the key bound to start over.
    pub fn resume_notice(&self) -> Option<String> {
        let from = self.resumed_from?;
        (self.position_s < from + 15.0).then(|| {
            format!(
                "resumed at {} ({}: start over)",
                clock(from),
                self.start_over_key
            )
        })
    }

    /// Adds a line to the event log (also for the app's own actions, e.g. chaos keys).
    pub fn note(&mut self, text: impl Into<String>) {
        self.log.push_back((self.now_s, text.into()));
        while self.log.len() > LOG_LINES {
            self.log.pop_front();
        }
    }

    /// Takes one engine event.
    pub fn on_event(&mut self, e: &TimedEvent) {
        self.now_s = self.now_s.max(e.t_s);
        self.events.push(e.clone());
        self.qoe_dirty = true;
        let logged = match &e.event {
            PlayerEvent::State { state } => {
                self.state = state.clone();
                if let PlayerState::Failed(reason) = state {
                    self.error = Some(reason.to_string());
                }
                matches!(
                    state,
                    PlayerState::Stalled | PlayerState::Ended | PlayerState::Failed(_)
                )
            }
            PlayerEvent::ManifestLoaded {
                format,
                duration_s,
                ladder,
                ladder_kind,
                audio_tracks,
                text_tracks,
                pathways,
                ..
            } => {
                self.format = format.clone();
                self.duration_s = *duration_s;
                self.ladder = ladder.clone();
                self.ladder_kind = *ladder_kind;
                self.audio_tracks = audio_tracks.clone();
                self.text_tracks = text_tracks.clone();
                if self.audio_track >= self.audio_tracks.len() {
                    self.audio_track = 0;
                }
                if self.pathway_order.is_empty() {
                    self.pathway_order = pathways.clone();
                }
                true
            }
            PlayerEvent::AbrDecision {
                rendition,
                algorithm,
                reason,
                ..
            } => {
                self.target_rung = Some(*rendition);
                self.abr = algorithm.clone();
                self.abr_reason = reason.clone();
                false
            }
            PlayerEvent::SegmentFetched {
                kind,
                rendition,
                start_s,
                duration_s,
                bytes,
                download_s,
                pathway,
                ..
            } if *kind == self.ladder_kind => {
                self.segments
                    .push((*start_s, start_s + duration_s, *rendition));
                let kbps = *bytes as f64 * 8.0 / download_s.max(1e-3) / 1000.0;
                self.throughput_history.push_back((e.t_s, kbps));
                if pathway.is_some() {
                    self.active_pathway = pathway.clone();
                }
                false
            }
            PlayerEvent::Position {
                position_s,
                buffer_s,
                throughput_bps,
            } => {
                self.position_s = *position_s;
                self.buffer_s = *buffer_s;
                self.forecast_kbps = throughput_bps.map(|b| b / 1000.0);
                self.buffer_history.push_back((e.t_s, *buffer_s));
                false
            }
            PlayerEvent::Pathways {
                order,
                active,
                penalized,
            } => {
                self.pathway_order = order.clone();
                self.active_pathway = active.clone();
                self.penalized = penalized
                    .iter()
                    .map(|(p, left)| (p.clone(), e.t_s + left))
                    .collect();
                false
            }
            PlayerEvent::AudioSelected { index, .. } => {
                self.audio_track = *index;
                true
            }
            PlayerEvent::SubtitlesSelected { index, .. } => {
                self.text_track = *index;
                true
            }
            PlayerEvent::Subtitle { text, position_s } => {
                // The clock shown moves with the text, not a second behind it.
                self.subtitle = text.clone();
                self.position_s = *position_s;
                false
            }
            PlayerEvent::Seeked { position_s } => {
                self.position_s = *position_s;
                true
            }
            PlayerEvent::SegmentFetched { .. } | PlayerEvent::FirstFrame { .. } => {
                matches!(e.event, PlayerEvent::FirstFrame { .. })
            }
            PlayerEvent::RenditionSwitch { .. }
            | PlayerEvent::Retry { .. }
            | PlayerEvent::SegmentSkipped { .. }
            | PlayerEvent::Downswitch { .. }
            | PlayerEvent::StallStart { .. }
            | PlayerEvent::StallEnd { .. }
            | PlayerEvent::CommandApplied { .. }
            | PlayerEvent::PathwaySwitch { .. }
            | PlayerEvent::SteeringUpdated { .. }
            | PlayerEvent::Warning { .. } => true,
        };
        if logged {
            self.note(e.event.to_string());
        }
        let horizon = self.now_s - HISTORY_S;
        while self
            .buffer_history
            .front()
            .is_some_and(|(t, _)| *t < horizon)
        {
            self.buffer_history.pop_front();
        }
        while self
            .throughput_history
            .front()
            .is_some_and(|(t, _)| *t < horizon)
        {
            self.throughput_history.pop_front();
        }
        self.playing_rung = self
            .segments
            .iter()
            .rev()
            .find(|(start, end, _)| *start <= self.position_s + 1e-3 && self.position_s < *end)
            .or(self.segments.last())
            .map(|s| s.2);
    }

    /// Recomputes the QoE summary if events arrived since (cheap enough once a second).
    pub fn refresh_qoe(&mut self) {
        if self.qoe_dirty {
            self.qoe = report(&self.events);
            self.qoe_dirty = false;
        }
    }

    /// Penalized pathways with the seconds left at the newest event's time.
    pub fn penalties(&self) -> Vec<(String, f64)> {
        self.penalized
            .iter()
            .filter(|(_, until)| *until > self.now_s)
            .map(|(p, until)| (p.clone(), until - self.now_s))
            .collect()
    }

    /// The pathways in priority order as both screens list them: `oca-1 up, 2 conn`,
    /// `oca-2 DOWN penalized 28s`.
    pub fn pathway_rows(&self) -> Vec<PathwayRow> {
        let penalties = self.penalties();
        self.pathway_order
            .iter()
            .map(|p| {
                let health = self.health.iter().find(|h| &h.id == p);
                let health_text = health.map_or(String::new(), |h| {
                    if h.up {
                        format!(" up, {} conn", h.active_connections)
                    } else {
                        " DOWN".into()
                    }
                });
                let penalty = penalties.iter().find(|(id, _)| id == p);
                let penalty_text =
                    penalty.map_or(String::new(), |(_, left)| format!(" penalized {left:.0}s"));
                PathwayRow {
                    label: format!("{p}{health_text}{penalty_text}"),
                    active: self.active_pathway.as_ref() == Some(p),
                    troubled: penalty.is_some() || health.is_some_and(|h| !h.up),
                }
            })
            .collect()
    }

    /// The subtitle text on screen now as plain lines (markup dropped), for screens that draw
    /// no styles.
    pub fn subtitle_lines(&self) -> Vec<String> {
        self.subtitle
            .as_deref()
            .map_or_else(Vec::new, crate::cue_text::plain_lines)
    }

    /// The subtitle text on screen now as lines of styled runs, for screens that draw italics
    /// and bold.
    pub fn subtitle_runs(&self) -> Vec<Vec<crate::cue_text::CueRun>> {
        self.subtitle
            .as_deref()
            .map_or_else(Vec::new, crate::cue_text::styled_lines)
    }

    /// A rung's label: `720p 2.5 Mb/s`.
    pub fn rung_label(&self, i: usize) -> String {
        self.ladder.get(i).map_or_else(String::new, |r| {
            let bitrate = if r.bitrate >= 1_000_000 {
                format!("{:.1} Mb/s", r.bitrate as f64 / 1e6)
            } else {
                format!("{} kb/s", r.bitrate / 1000)
            };
            match r.height {
                Some(h) => format!("{h}p {bitrate}"),
                None => bitrate,
            }
        })
    }
}

/// `m:ss` (or `h:mm:ss`).
pub fn clock(s: f64) -> String {
    let s = s.max(0.0) as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t_s: f64, event: PlayerEvent) -> TimedEvent {
        TimedEvent { t_s, event }
    }

    fn rung(bitrate: u64, height: u32) -> RenditionInfo {
        RenditionInfo {
            id: format!("{height}p"),
            bitrate,
            width: None,
            height: Some(height),
            codecs: None,
        }
    }

    #[test]
    fn the_audio_track_playing_is_the_engines() {
        let mut app = PlayerView::new("demo", "reel", true);
        app.audio_tracks = vec!["English".into(), "Français".into()];
        app.on_event(&at(
            1.0,
            PlayerEvent::AudioSelected {
                index: 1,
                language: Some("fr".into()),
            },
        ));
        assert_eq!(app.audio_track, 1);
    }

    #[test]
    fn subtitles_are_kept_and_shown_as_plain_lines() {
        let mut app = PlayerView::new("demo", "reel", true);
        app.on_event(&at(
            1.0,
            PlayerEvent::SubtitlesSelected {
                index: Some(1),
                language: Some("fr".into()),
            },
        ));
        assert_eq!(app.text_track, Some(1));
        app.on_event(&at(
            2.0,
            PlayerEvent::Subtitle {
                text: Some("<v Anne><i>Bonjour</i> &amp; <c.yellow>salut</c></v>\n&lt;3".into()),
                position_s: 4.0,
            },
        ));
        assert_eq!(app.subtitle_lines(), ["Bonjour & salut", "<3"]);
        app.on_event(&at(
            3.0,
            PlayerEvent::Subtitle {
                text: None,
                position_s: 5.5,
            },
        ));
        assert!(app.subtitle_lines().is_empty());
    }

    #[test]
    fn the_model_follows_the_engine() {
        let mut app = PlayerView::new("demo", "reel", true);
        app.on_event(&at(
            0.1,
            PlayerEvent::ManifestLoaded {
                format: "hls".into(),
                duration_s: Some(120.0),
                ladder: vec![rung(300_000, 240), rung(2_500_000, 720)],
                ladder_kind: MediaKind::Video,
                audio_tracks: vec!["English".into(), "Français".into()],
                text_tracks: vec!["English (CC)".into()],
                pathways: vec!["oca-1".into(), "oca-2".into()],
                rebuffer_weight: 4.3,
            },
        ));
        assert_eq!(app.rung_label(1), "720p 2.5 Mb/s");
        assert_eq!(app.audio_tracks, ["English", "Français"]);
        assert_eq!(app.audio_track, 0);
        assert_eq!(app.text_tracks, ["English (CC)"]);
        app.on_event(&at(
            0.2,
            PlayerEvent::AbrDecision {
                segment: 0,
                rendition: 1,
                bitrate: 2_500_000,
                algorithm: "reel".into(),
                reason: "plan".into(),
            },
        ));
        app.on_event(&at(
            0.5,
            PlayerEvent::SegmentFetched {
                kind: MediaKind::Video,
                segment: 0,
                rendition: 1,
                start_s: 0.0,
                duration_s: 4.0,
                bytes: 1_000_000,
                download_s: 0.5,
                ttfb_s: 0.01,
                pathway: Some("oca-1".into()),
            },
        ));
        assert_eq!(app.target_rung, Some(1));
        assert_eq!(app.playing_rung, Some(1));
        assert_eq!(app.active_pathway.as_deref(), Some("oca-1"));
        assert_eq!(app.throughput_history.back().unwrap().1, 16_000.0);
        app.on_event(&at(
            3.0,
            PlayerEvent::PathwaySwitch {
                from: Some("oca-1".into()),
                to: "oca-2".into(),
                reason: "segment 1 failed".into(),
            },
        ));
        app.on_event(&at(
            3.0,
            PlayerEvent::Pathways {
                order: vec!["oca-1".into(), "oca-2".into()],
                active: Some("oca-2".into()),
                penalized: vec![("oca-1".into(), 300.0)],
            },
        ));
        assert_eq!(app.active_pathway.as_deref(), Some("oca-2"));
        assert_eq!(app.penalties()[0].0, "oca-1");
        assert!(app.log.iter().any(|(_, l)| l.contains("oca-1 -> oca-2")));
        app.refresh_qoe();
        assert_eq!(app.qoe.segments, 1);
    }

    #[test]
    fn an_audio_only_title_shows_its_audio_ladder_playing() {
        let mut app = PlayerView::new("radio", "reel", true);
        app.on_event(&at(
            0.1,
            PlayerEvent::ManifestLoaded {
                format: "hls".into(),
                duration_s: Some(60.0),
                ladder: vec![RenditionInfo {
                    id: "variant-0".into(),
                    bitrate: 128_000,
                    width: None,
                    height: None,
                    codecs: Some("mp4a.40.2".into()),
                }],
                ladder_kind: MediaKind::Audio,
                audio_tracks: vec![],
                text_tracks: vec![],
                pathways: vec![],
                rebuffer_weight: 4.3,
            },
        ));
        app.on_event(&at(
            0.5,
            PlayerEvent::SegmentFetched {
                kind: MediaKind::Audio,
                segment: 0,
                rendition: 0,
                start_s: 0.0,
                duration_s: 4.0,
                bytes: 64_000,
                download_s: 0.1,
                ttfb_s: 0.01,
                pathway: Some("oca-1".into()),
            },
        ));
        assert_eq!(app.playing_rung, Some(0));
        assert_eq!(app.active_pathway.as_deref(), Some("oca-1"));
        assert_eq!(app.throughput_history.back().unwrap().1, 5_120.0);
        app.refresh_qoe();
        assert_eq!(app.qoe.segments, 1);
        assert!((app.qoe.mean_bitrate_kbps - 128.0).abs() < 1e-9);
    }

    #[test]
    fn clocks_read_like_players_show_them() {
        assert_eq!(clock(65.4), "1:05");
        assert_eq!(clock(3725.0), "1:02:05");
    }

    #[test]
    fn the_resume_notice_shows_until_the_playhead_moves_on() {
        let mut v = PlayerView::new("t", "reel", false);
        assert_eq!(v.resume_notice(), None);
        v.resumed_from = Some(83.0);
        v.start_over_key = "x".into();
        v.position_s = 83.0;
        assert_eq!(
            v.resume_notice().as_deref(),
            Some("resumed at 1:23 (x: start over)")
        );
        v.position_s = 99.0;
        assert_eq!(v.resume_notice(), None);
    }
}
