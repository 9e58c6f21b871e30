//! What a session tells the world ([`PlayerEvent`]) and what it takes ([`Command`]).
//!
//! Every decision carries its reason, so a stats panel can show why the engine did what it did,
//! and the QoE report is computed from these same events.

use serde::Serialize;

use crate::presentation::MediaKind;

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
    /// Stopped by an error, with the reason.
    Failed(String),
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
        /// The video ladder, lowest first.
        ladder: Vec<RenditionInfo>,
        /// Audio track names.
        audio_tracks: Vec<String>,
        /// Subtitle track names.
        text_tracks: Vec<String>,
        /// Pathways offered.
        pathways: Vec<String>,
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
    /// A seek was done.
    Seeked {
        /// New position.
        position_s: f64,
    },
    /// A viewer command was applied.
    CommandApplied {
        /// What it did.
        description: String,
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
    /// Stop the session.
    Stop,
}
