//! The forward-buffer policy: when to start playing, when a stall begins and ends, and when to
//! fetch (fill to the high watermark, then wait until the buffer drains to the low one). Pure.

/// Buffer thresholds in seconds of media ahead of the playhead.
#[derive(Debug, Clone, PartialEq)]
pub struct BufferPolicy {
    /// Needed to start playing (and after a seek).
    pub startup_s: f64,
    /// Needed to resume after a stall.
    pub resume_s: f64,
    /// At or below this, playback stalls.
    pub stall_threshold_s: f64,
    /// Fetching resumes when the buffer drains to this.
    pub low_watermark_s: f64,
    /// Fetching pauses when the buffer reaches this.
    pub high_watermark_s: f64,
}

impl Default for BufferPolicy {
    fn default() -> Self {
        BufferPolicy {
            startup_s: 2.0,
            resume_s: 4.0,
            stall_threshold_s: 0.05,
            low_watermark_s: 20.0,
            high_watermark_s: 30.0,
        }
    }
}

/// Per-stream fetch state: the watermark hysteresis and recovery counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FetchGate {
    /// Reached the high watermark and waiting for the low one.
    pub holding: bool,
    /// Every pathway failed at the lowest rendition: try again at this time (while the buffer
    /// lasts).
    pub retry_at: Option<std::time::Instant>,
    /// The current segment failed at a higher rendition: stay at or below this one.
    pub force_below: Option<usize>,
}

impl FetchGate {
    /// Whether to fetch another segment with `ahead_s` seconds buffered.
    pub fn wants_more(&mut self, ahead_s: f64, policy: &BufferPolicy) -> bool {
        if self.holding && ahead_s <= policy.low_watermark_s {
            self.holding = false;
        } else if !self.holding && ahead_s >= policy.high_watermark_s {
            self.holding = true;
        }
        !self.holding
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_realistic_replay_models_these_defaults() {
        let p = BufferPolicy::default();
        let m = abr::realistic::PlayerModel::default();
        assert_eq!(
            (
                p.startup_s,
                p.resume_s,
                p.low_watermark_s,
                p.high_watermark_s
            ),
            (
                m.startup_s,
                m.resume_s,
                m.low_watermark_s,
                m.high_watermark_s
            )
        );
    }

    #[test]
    fn fills_to_high_then_waits_for_low() {
        let p = BufferPolicy::default();
        let mut g = FetchGate::default();
        assert!(g.wants_more(0.0, &p));
        assert!(g.wants_more(29.0, &p));
        assert!(!g.wants_more(30.5, &p));
        assert!(!g.wants_more(25.0, &p), "still above the low watermark");
        assert!(g.wants_more(19.0, &p));
    }
}
