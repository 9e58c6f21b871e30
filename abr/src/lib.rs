//! Adaptive-bitrate (ABR) algorithms behind one trait.
//!
//! Everything here is pure and synchronous: no I/O, no clock. Time and measurements arrive in the
//! [`Context`], so the player and the trace-replay simulator run the same code. This crate starts
//! with the interface and the classic throughput rule; the buffer-based algorithms, the QoE model
//! and trace replay build on it.

pub mod throughput;

pub use throughput::ThroughputRule;

/// One completed download, as the fetcher measured it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThroughputSample {
    /// Body bytes received.
    pub bytes: u64,
    /// From request sent to last byte, in seconds.
    pub duration_s: f64,
    /// From request sent to first byte, in seconds.
    pub ttfb_s: f64,
}

impl ThroughputSample {
    /// Observed throughput in bit/s (0 for an empty or instantaneous download).
    pub fn bits_per_second(&self) -> f64 {
        if self.duration_s <= 0.0 {
            0.0
        } else {
            self.bytes as f64 * 8.0 / self.duration_s
        }
    }
}

/// What an algorithm knows when it picks the next segment's rendition.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Average bitrates of the renditions in bit/s, lowest first.
    pub ladder: &'a [u64],
    /// Seconds of media buffered ahead of the playhead.
    pub buffer_s: f64,
    /// Past downloads, oldest first.
    pub history: &'a [ThroughputSample],
    /// Index of the rendition of the previous segment, if any.
    pub last_choice: Option<usize>,
}

/// An algorithm's choice for the next segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Index into the ladder.
    pub rendition: usize,
    /// Why, in words a viewer of the stats panel understands.
    pub reason: String,
}

/// An ABR algorithm.
pub trait Abr {
    /// Short name (`throughput`, `bba`, …).
    fn name(&self) -> &'static str;
    /// Picks the rendition of the next segment.
    fn choose(&mut self, ctx: &Context<'_>) -> Decision;
}
