//! The classic throughput rule: the highest rendition below a safety share of the harmonic mean of
//! recent downloads' throughput.

use crate::{Abr, Context, Decision};

/// Harmonic mean of the last `window` samples, times `safety`.
#[derive(Debug, Clone)]
pub struct ThroughputRule {
    /// How many recent downloads to average.
    pub window: usize,
    /// Share of the estimate the chosen bitrate may use (0..1).
    pub safety: f64,
}

impl Default for ThroughputRule {
    fn default() -> Self {
        ThroughputRule {
            window: 5,
            safety: 0.85,
        }
    }
}

impl ThroughputRule {
    /// Harmonic mean throughput of the recent samples in bit/s, if there are any.
    pub fn estimate(&self, ctx: &Context<'_>) -> Option<f64> {
        let recent: Vec<f64> = ctx
            .history
            .iter()
            .rev()
            .take(self.window)
            .map(|s| s.bits_per_second())
            .filter(|&b| b > 0.0)
            .collect();
        if recent.is_empty() {
            return None;
        }
        Some(recent.len() as f64 / recent.iter().map(|b| 1.0 / b).sum::<f64>())
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
            history,
            last_choice: None,
        }
    }

    fn sample(bits_per_s: f64) -> ThroughputSample {
        ThroughputSample {
            bytes: (bits_per_s / 8.0) as u64,
            duration_s: 1.0,
            ttfb_s: 0.01,
        }
    }

    #[test]
    fn starts_at_the_lowest_rendition() {
        assert_eq!(ThroughputRule::default().choose(&ctx(&[])).rendition, 0);
    }

    #[test]
    fn ample_bandwidth_gets_the_highest() {
        let h = [sample(20e6); 5];
        assert_eq!(ThroughputRule::default().choose(&ctx(&h)).rendition, 2);
    }

    #[test]
    fn one_slow_download_pulls_the_harmonic_mean_down() {
        let h = [
            sample(20e6),
            sample(20e6),
            sample(20e6),
            sample(20e6),
            sample(0.5e6),
        ];
        let d = ThroughputRule::default().choose(&ctx(&h));
        assert_eq!(d.rendition, 1, "{}", d.reason);
    }
}
