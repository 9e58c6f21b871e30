//! The throughput rule as hls.js and Shaka Player do it: two exponentially weighted moving
//! averages of throughput, a fast one (half-life 3 s of download time) and a slow one (9 s),
//! each sample weighted by its download time; the estimate is the lower of the two, and the
//! highest rendition under a safety share of it is chosen.

use crate::{Abr, Context, Decision};

/// Dual-EWMA throughput rule.
#[derive(Debug, Clone)]
pub struct ThroughputRule {
    /// Half-life of the fast average, seconds of download.
    pub fast_half_life_s: f64,
    /// Half-life of the slow average.
    pub slow_half_life_s: f64,
    /// Share of the estimate the chosen bitrate may use.
    pub safety: f64,
}

impl Default for ThroughputRule {
    fn default() -> Self {
        ThroughputRule {
            fast_half_life_s: 3.0,
            slow_half_life_s: 9.0,
            safety: 0.85,
        }
    }
}

/// One EWMA over samples weighted by their duration, with zero-bias correction (as hls.js).
fn ewma(samples: impl Iterator<Item = (f64, f64)>, half_life_s: f64) -> Option<f64> {
    let alpha = 0.5f64.powf(1.0 / half_life_s);
    let (mut estimate, mut total_weight) = (0.0, 0.0);
    for (bps, weight) in samples {
        let a = alpha.powf(weight);
        estimate = bps * (1.0 - a) + a * estimate;
        total_weight += weight;
    }
    (total_weight > 0.0).then(|| estimate / (1.0 - alpha.powf(total_weight)))
}

impl ThroughputRule {
    /// Throughput estimate in bit/s: min(fast EWMA, slow EWMA), if any download happened.
    pub fn estimate(&self, ctx: &Context<'_>) -> Option<f64> {
        let samples = || {
            ctx.history
                .iter()
                .filter(|s| s.bytes > 0)
                .map(|s| (s.bits_per_second(), s.duration_s.max(crate::MIN_SAMPLE_S)))
        };
        let fast = ewma(samples(), self.fast_half_life_s)?;
        let slow = ewma(samples(), self.slow_half_life_s)?;
        Some(fast.min(slow))
    }
}

impl Abr for ThroughputRule {
    fn name(&self) -> &'static str {
        "throughput"
    }

    fn choose(&mut self, ctx: &Context<'_>) -> Decision {
        let Some(estimate) = self.estimate(ctx) else {
            return Decision {
                rendition: 0,
                reason: "no throughput measured yet: lowest rendition".into(),
            };
        };
        let budget = estimate * self.safety;
        let rendition = ctx
            .ladder
            .iter()
            .rposition(|&b| b as f64 <= budget)
            .unwrap_or(0);
        Decision {
            rendition,
            reason: format!(
                "throughput {:.0} kbit/s x {:.2} allows {} kbit/s",
                estimate / 1000.0,
                self.safety,
                ctx.ladder.get(rendition).copied().unwrap_or(0) / 1000
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ThroughputSample;

    const LADDER: [u64; 3] = [300_000, 1_500_000, 6_000_000];

    fn ctx(history: &[ThroughputSample]) -> Context<'_> {
        Context {
            ladder: &LADDER,
            buffer_s: 10.0,
            max_buffer_s: 25.0,
            segment_duration_s: 4.0,
            history,
            last_choice: None,
            segment: 1,
            upcoming_sizes_bits: &[],
            rebuffer_weight: 4.3,
        }
    }

    fn sample(bits_per_s: f64, duration_s: f64) -> ThroughputSample {
        ThroughputSample {
            bytes: (bits_per_s * duration_s / 8.0) as u64,
            duration_s,
            ttfb_s: 0.01,
        }
    }

    #[test]
    fn starts_at_the_lowest_rendition() {
        assert_eq!(ThroughputRule::default().choose(&ctx(&[])).rendition, 0);
    }

    #[test]
    fn ample_bandwidth_gets_the_highest() {
        let h = [sample(20e6, 1.0); 5];
        assert_eq!(ThroughputRule::default().choose(&ctx(&h)).rendition, 2);
    }

    #[test]
    fn a_sudden_drop_is_followed_by_the_fast_average() {
        let mut h = vec![sample(20e6, 1.0); 10];
        h.extend([sample(1e6, 3.0); 3]);
        let rule = ThroughputRule::default();
        let est = rule.estimate(&ctx(&h)).unwrap();
        assert!(
            est < 4e6,
            "nine seconds at 1 Mbit/s weigh 7/8 of the fast average: {est}"
        );
        let d = ThroughputRule::default().choose(&ctx(&h));
        assert_eq!(d.rendition, 1, "{}", d.reason);
    }

    #[test]
    fn tiny_fast_downloads_weigh_little() {
        let mut h = vec![sample(1e6, 4.0); 3];
        h.extend([sample(500e6, 0.001); 5]);
        let est = ThroughputRule::default().estimate(&ctx(&h)).unwrap();
        assert!(est < 2e6, "{est}");
    }
}
