//! Adaptive-bitrate (ABR) algorithms behind one trait, the QoE model ([`qoe`]), and trace replay.
//!
//! Everything here is pure and synchronous: no I/O, no clock. Time and measurements arrive in the
//! [`Context`], so the player and the trace-replay simulator ([`sim`]) run the same code. One
//! algorithm per file: [`throughput`] (dual EWMA), [`bba`] (buffer-based, Huang et al. 2014),
//! [`bola`] (Lyapunov, Spiteri et al. 2016, BOLA-E as in dash.js), [`mpc`] (RobustMPC, Yin et al.
//! 2015) and Reel's default, [`reel`]; [`optimum`] is the offline optimum with the whole trace
//! known. [`playback`] is the player's buffer and stall model and [`abandon`] its rule for giving up
//! a slow download, both clock-free and shared by the player and the [`realistic`] replay mode.
//! With the `replay` feature, [`tracegen`] generates the held-out network traces.

pub mod abandon;
pub mod bba;
pub mod bola;
pub mod mpc;
pub mod optimum;
mod plan;
pub mod playback;
pub mod qoe;
pub mod realistic;
pub mod reel;
pub mod sim;
pub mod throughput;
pub mod title;
pub mod trace;
#[cfg(feature = "replay")]
pub mod tracegen;

pub use throughput::ThroughputRule;

/// Shortest time a download sample is taken to have lasted, seconds.
pub const MIN_SAMPLE_S: f64 = 0.05;

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
    /// Observed throughput in bit/s, latency included; a download counts as lasting at least
    /// [`MIN_SAMPLE_S`], so a tiny response answered in one round trip cannot claim a huge
    /// bandwidth (as hls.js does).
    pub fn bits_per_second(&self) -> f64 {
        self.bytes as f64 * 8.0 / self.duration_s.max(MIN_SAMPLE_S)
    }
}

/// What an algorithm knows when it picks the next segment's rendition.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Bitrates of the renditions in bit/s, lowest first.
    pub ladder: &'a [u64],
    /// Seconds of media buffered ahead of the playhead.
    pub buffer_s: f64,
    /// Largest buffer the player keeps, seconds.
    pub max_buffer_s: f64,
    /// Segment duration, seconds.
    pub segment_duration_s: f64,
    /// Past downloads, oldest first.
    pub history: &'a [ThroughputSample],
    /// Index of the rendition of the previous segment, if any.
    pub last_choice: Option<usize>,
    /// Index of the segment being chosen.
    pub segment: usize,
    /// Sizes in bits of this and the following segments, `[segment][rendition]`, where known.
    pub upcoming_sizes_bits: &'a [Vec<f64>],
    /// QoE_lin weight of a second of rebuffering (4.3 by default; the top bitrate in Mbit/s for
    /// high-rate ladders), for algorithms that optimise QoE_lin.
    pub rebuffer_weight: f64,
}

impl Context<'_> {
    /// The size of upcoming segment `ahead` (0 = this one) at `rendition`, in bits, or the
    /// nominal size from the bitrate when the manifest did not say.
    pub fn size_bits(&self, ahead: usize, rendition: usize) -> f64 {
        self.upcoming_sizes_bits
            .get(ahead)
            .and_then(|s| s.get(rendition))
            .copied()
            .unwrap_or(self.ladder[rendition] as f64 * self.segment_duration_s)
    }
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

/// The algorithms by name: `reel` ([`DEFAULT_ALGORITHM`]), `throughput`, `bba`, `bola`, `mpc`.
pub fn by_name(name: &str) -> Option<Box<dyn Abr + Send>> {
    Some(match name {
        "throughput" => Box::new(ThroughputRule::default()),
        "bba" => Box::new(bba::Bba::default()),
        "bola" => Box::new(bola::Bola::default()),
        "mpc" => Box::new(mpc::RobustMpc::default()),
        "reel" => Box::new(reel::ReelAbr::default()),
        _ => return None,
    })
}

/// Names [`by_name`] knows.
pub const ALGORITHMS: [&str; 5] = ["reel", "throughput", "bba", "bola", "mpc"];

/// The algorithm a player uses unless told otherwise: Reel's own.
pub const DEFAULT_ALGORITHM: &str = "reel";

/// The default algorithm ([`DEFAULT_ALGORITHM`]).
pub fn default_algorithm() -> Box<dyn Abr + Send> {
    by_name(DEFAULT_ALGORITHM).expect("the default algorithm is one of ALGORITHMS")
}

/// Fixtures shared by the algorithms' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use crate::ThroughputSample;

    /// Five one-second downloads at `bps`.
    pub fn steady(bps: f64) -> Vec<ThroughputSample> {
        vec![
            ThroughputSample {
                bytes: (bps / 8.0) as u64,
                duration_s: 1.0,
                ttfb_s: 0.0,
            };
            5
        ]
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_is_listed_first_and_known_by_name() {
        assert_eq!(super::ALGORITHMS[0], super::DEFAULT_ALGORITHM);
        assert_eq!(super::default_algorithm().name(), super::DEFAULT_ALGORITHM);
        for name in super::ALGORITHMS {
            assert_eq!(super::by_name(name).unwrap().name(), name);
        }
    }
}
