//! RobustMPC (Yin, Jindal, Sekar, Sinopoli, SIGCOMM 2015): predict throughput as the harmonic
//! mean of the last five downloads, discounted by the largest relative prediction error seen over
//! the last five; then pick the first rendition of the quality sequence over the next five
//! segments that maximises QoE_lin under that prediction (exhaustive search with bounding).

use crate::plan::{Planner, harmonic_mean, recent_bps};
use crate::{Abr, Context, Decision};

/// RobustMPC.
#[derive(Debug, Clone)]
pub struct RobustMpc {
    /// Segments looked ahead.
    pub horizon: usize,
    /// Downloads averaged, and prediction errors remembered.
    pub window: usize,
    predictions: Vec<(usize, f64)>,
}

impl Default for RobustMpc {
    fn default() -> Self {
        RobustMpc {
            horizon: 5,
            window: 5,
            predictions: Vec::new(),
        }
    }
}

impl RobustMpc {
    /// Robust throughput prediction in bit/s, and the harmonic mean it came from.
    pub fn predict(&mut self, ctx: &Context<'_>) -> Option<(f64, f64)> {
        let recent = recent_bps(ctx, self.window);
        if recent.is_empty() {
            return None;
        }
        // Error of the prediction made for the download that just finished.
        let latest = recent[0];
        let mut errors: Vec<f64> = Vec::new();
        for &(segment, predicted) in &self.predictions {
            if segment + self.window >= ctx.segment {
                errors.push(0.0f64.max((predicted - latest).abs() / latest));
            }
        }
        let harmonic = harmonic_mean(&recent);
        self.predictions
            .retain(|(s, _)| s + self.window >= ctx.segment);
        self.predictions.push((ctx.segment, harmonic));
        let max_error = errors.iter().copied().fold(0.0, f64::max);
        Some((harmonic / (1.0 + max_error), harmonic))
    }
}

impl Abr for RobustMpc {
    fn name(&self) -> &'static str {
        "mpc"
    }

    fn choose(&mut self, ctx: &Context<'_>) -> Decision {
        let Some((robust, harmonic)) = self.predict(ctx) else {
            return Decision {
                rendition: 0,
                reason: "MPC: no throughput measured yet".into(),
            };
        };
        let steps = self.horizon.min(ctx.upcoming_sizes_bits.len().max(1));
        let plan = Planner {
            ctx,
            throughput_bps: robust,
            steps,
        };
        let (_, q) = plan.best();
        Decision {
            rendition: q,
            reason: format!(
                "MPC over {steps} segments at {:.0} kbit/s (harmonic mean {:.0}, discounted for error)",
                robust / 1000.0,
                harmonic / 1000.0
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ThroughputSample;
    use crate::testing::steady;

    const LADDER: [u64; 3] = [300_000, 1_500_000, 6_000_000];

    fn ctx<'a>(
        buffer_s: f64,
        history: &'a [ThroughputSample],
        sizes: &'a [Vec<f64>],
    ) -> Context<'a> {
        Context {
            ladder: &LADDER,
            buffer_s,
            max_buffer_s: 25.0,
            segment_duration_s: 4.0,
            history,
            last_choice: Some(1),
            segment: 10,
            upcoming_sizes_bits: sizes,
            rebuffer_weight: 4.3,
        }
    }

    #[test]
    fn ample_bandwidth_and_buffer_take_the_top() {
        let h = steady(50e6);
        assert_eq!(
            RobustMpc::default().choose(&ctx(20.0, &h, &[])).rendition,
            2
        );
    }

    #[test]
    fn an_empty_buffer_on_a_slow_link_takes_the_bottom() {
        let h = steady(1e6);
        assert_eq!(RobustMpc::default().choose(&ctx(0.5, &h, &[])).rendition, 0);
    }

    #[test]
    fn the_horizon_sees_a_big_segment_coming() {
        // 2 Mbit/s: 1.5M is sustainable, unless the next segments at 1.5M are huge.
        let h = steady(2e6);
        // From the lowest rung, going up pays if it can last; not if the segments after this
        // one would force a costly step back down.
        let normal = vec![vec![1.2e6, 6e6, 24e6]; 5];
        let mut c = ctx(8.0, &h, &normal);
        c.last_choice = Some(0);
        assert_eq!(RobustMpc::default().choose(&c).rendition, 1);
        let mut heavy = normal.clone();
        for s in heavy.iter_mut().skip(1) {
            s[1] = 30e6;
        }
        let mut c = ctx(8.0, &h, &heavy);
        c.last_choice = Some(0);
        assert_eq!(RobustMpc::default().choose(&c).rendition, 0);
    }
}
