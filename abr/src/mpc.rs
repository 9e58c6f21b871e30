//! RobustMPC (Yin, Jindal, Sekar, Sinopoli, SIGCOMM 2015): predict throughput as the harmonic
//! mean of the last five downloads, discounted by the largest relative prediction error seen over
//! the last five; then pick the first rendition of the quality sequence over the next five
//! segments that maximises QoE_lin under that prediction (exhaustive search with bounding).

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

/// Best QoE_lin over `steps` segments from a buffer and a last bitrate, at a constant throughput.
pub(crate) struct Plan<'a> {
    pub ctx: &'a Context<'a>,
    pub throughput_bps: f64,
    pub steps: usize,
}

impl Plan<'_> {
    /// (best score, first rendition of the best sequence).
    pub fn best(&self, first_candidates: impl Iterator<Item = usize>) -> (f64, usize) {
        let mut best = (f64::NEG_INFINITY, 0);
        let mut bound = f64::NEG_INFINITY;
        let r_max = *self.ctx.ladder.last().expect("a ladder") as f64 / 1e6;
        let last = self
            .ctx
            .last_choice
            .map(|q| self.ctx.ladder[q] as f64 / 1e6);
        for q in first_candidates {
            let score = self.search(0, q, self.ctx.buffer_s, last, 0.0, r_max, &mut bound);
            if score > best.0 {
                best = (score, q);
            }
        }
        best
    }

    #[allow(clippy::too_many_arguments)]
    fn search(
        &self,
        step: usize,
        q: usize,
        buffer: f64,
        last: Option<f64>,
        acc: f64,
        r_max: f64,
        best: &mut f64,
    ) -> f64 {
        let ctx = self.ctx;
        let r = ctx.ladder[q] as f64 / 1e6;
        let d = ctx.size_bits(step, q) / self.throughput_bps.max(1.0);
        let rebuffer = (d - buffer).max(0.0);
        let next_buffer = ((buffer - d).max(0.0) + ctx.segment_duration_s).min(ctx.max_buffer_s);
        let score = acc + r - ctx.rebuffer_weight * rebuffer - last.map_or(0.0, |l| (r - l).abs());
        let left = self.steps - step - 1;
        if left == 0 {
            return score;
        }
        if score + left as f64 * r_max <= *best {
            return f64::NEG_INFINITY; // cannot beat what is known
        }
        let mut top = f64::NEG_INFINITY;
        for next in (0..ctx.ladder.len()).rev() {
            let s = self.search(step + 1, next, next_buffer, Some(r), score, r_max, best);
            top = top.max(s);
        }
        if step == 0 {
            *best = best.max(top);
        }
        top
    }
}

impl RobustMpc {
    /// Robust throughput prediction in bit/s, and the harmonic mean it came from.
    pub fn predict(&mut self, ctx: &Context<'_>) -> Option<(f64, f64)> {
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
        // Error of the prediction made for the download that just finished.
        let latest = recent[0];
        let mut errors: Vec<f64> = Vec::new();
        for &(segment, predicted) in &self.predictions {
            if segment + self.window >= ctx.segment {
                errors.push(0.0f64.max((predicted - latest).abs() / latest));
            }
        }
        let harmonic = recent.len() as f64 / recent.iter().map(|b| 1.0 / b).sum::<f64>();
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
        let plan = Plan {
            ctx,
            throughput_bps: robust,
            steps,
        };
        let (_, q) = plan.best((0..ctx.ladder.len()).rev());
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

    fn steady(bps: f64) -> Vec<ThroughputSample> {
        vec![
            ThroughputSample {
                bytes: (bps / 8.0) as u64,
                duration_s: 1.0,
                ttfb_s: 0.0,
            };
            5
        ]
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
