//! Where downloaded media goes: a [`Sink`] takes init and media segments per media kind and owns
//! the playback clock. [`NullSink`] only follows the clock (headless runs, fast tests);
//! `GstSink` (feature `gstreamer`) decodes with GStreamer.

mod null;
#[cfg(feature = "gstreamer")]
mod timeline;
#[cfg(feature = "gstreamer")]
mod ts_clock;

#[cfg(feature = "gstreamer")]
mod gst;

use bytes::Bytes;

#[cfg(feature = "gstreamer")]
pub use self::gst::{GstSink, GstSinkConfig, LevelCallback, VideoFrame};
pub use null::NullSink;

use crate::presentation::MediaKind;

/// Errors of a sink.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// The sink could not be set up (missing plugin, no decoder for a codec).
    #[error("{0}")]
    Setup(String),
    /// Decoding failed.
    #[error("decoder error: {0}")]
    Decode(String),
}

/// A piece of media handed to a sink.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Video or audio.
    pub kind: MediaKind,
    /// The bytes (an init segment, or a media segment).
    pub data: Bytes,
    /// `true` for an init segment.
    pub init: bool,
    /// Presentation start of a media segment.
    pub start_s: f64,
    /// Duration of a media segment.
    pub duration_s: f64,
    /// Presentation time less the media's own timestamps ([`Segment::media_offset_s`]).
    ///
    /// [`Segment::media_offset_s`]: crate::presentation::Segment::media_offset_s
    pub media_offset_s: f64,
}

/// The sound level of the audio being played, per channel, in dB of full scale (0 dB is the
/// loudest a sample can be; silence is far below −60 dB).
#[derive(Debug, Clone, PartialEq)]
pub struct AudioLevel {
    /// Peak over the last interval.
    pub peak_db: Vec<f64>,
    /// Root mean square over the last interval.
    pub rms_db: Vec<f64>,
}

/// A media sink with its own playback clock.
pub trait Sink: Send {
    /// Prepares one input per media kind, with the codecs each will carry (RFC 6381 strings).
    fn configure(&mut self, inputs: &[(MediaKind, Option<String>)]) -> Result<(), SinkError>;
    /// Appends a chunk to its kind's input.
    fn push(&mut self, chunk: Chunk) -> Result<(), SinkError>;
    /// No more data will come for `kind` (until a seek).
    fn end_of_stream(&mut self, kind: MediaKind);
    /// Starts or resumes the clock.
    fn play(&mut self);
    /// Holds the clock.
    fn pause(&mut self);
    /// Drops everything queued and restarts at `position_s` (data for it follows).
    fn seek(&mut self, position_s: f64) -> Result<(), SinkError>;
    /// The playhead, in presentation seconds.
    fn position_s(&mut self) -> f64;
    /// Whether everything given has been played out after [`Sink::end_of_stream`] on every input.
    fn finished(&mut self) -> bool;
    /// A fatal error seen since the last call.
    fn take_error(&mut self) -> Option<SinkError>;
    /// Video frames presented so far.
    fn frames_presented(&self) -> u64;
    /// When the first video frame reached the output (the first audio buffer, for a title
    /// without video), if it has.
    fn first_frame_at(&self) -> Option<std::time::Instant>;
    /// Sets the audio volume (0..=1) and mute.
    fn set_volume(&mut self, _volume: f64, _muted: bool) {}
}
