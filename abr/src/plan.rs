//! RobustMPC's lookahead: the best QoE_lin over the next segments at one throughput, from the
//! current buffer and last rendition, found by exhaustive search with bounding (exact); and the
//! throughput helpers the forecasting algorithms share.

use crate::Context;

/// A lookahead at one throughput.
#[derive(Clone, Copy)]
pub(crate) struct Planner<'a> {
    pub ctx: &'a Context<'a>,
    pub throughput_bps: f64,
    /// Segments looked ahead.
    pub steps: usize,
}

impl Planner<'_> {
    fn mbps(&self, q: usize) -> f64 {
        self.ctx.ladder[q] as f64 / 1e6
    }

    /// Best plan value starting with rendition `q`; subtrees that cannot beat `bound` are cut
    /// (and `NEG_INFINITY` returned when nothing beats it).
    fn value(&self, q: usize, bound: &mut f64) -> f64 {
        let last = self.ctx.last_choice.map(|l| self.mbps(l));
        self.search(0, q, self.ctx.buffer_s, last, 0.0, bound)
    }

    /// (best value, its first rendition), preferring higher renditions on ties.
    pub fn best(&self) -> (f64, usize) {
        let mut bound = f64::NEG_INFINITY;
        let mut best = (f64::NEG_INFINITY, 0);
        for q in (0..self.ctx.ladder.len()).rev() {
            let v = self.value(q, &mut bound);
            if v > best.0 {
                best = (v, q);
            }
        }
        best
    }

    fn search(
        &self,
        step: usize,
        q: usize,
        buffer: f64,
        last: Option<f64>,
        acc: f64,
        bound: &mut f64,
    ) -> f64 {
        let ctx = self.ctx;
        let r = self.mbps(q);
        let d = ctx.size_bits(step, q) / self.throughput_bps.max(1.0);
        let rebuffer = (d - buffer).max(0.0);
        let next_buffer = ((buffer - d).max(0.0) + ctx.segment_duration_s).min(ctx.max_buffer_s);
        let score = acc + r - ctx.rebuffer_weight * rebuffer - last.map_or(0.0, |l| (r - l).abs());
        let left = self.steps - step - 1;
        if left == 0 {
            *bound = bound.max(score);
            return score;
        }
        let r_max = self.mbps(ctx.ladder.len() - 1);
        if score + left as f64 * r_max <= *bound {
            return f64::NEG_INFINITY; // cannot beat what is known
        }
        (0..ctx.ladder.len())
            .rev()
            .map(|n| self.search(step + 1, n, next_buffer, Some(r), score, bound))
            .fold(f64::NEG_INFINITY, f64::max)
    }
}

/// Throughput of the last `window` downloads, newest first, in bit/s.
pub(crate) fn recent_bps(ctx: &Context<'_>, window: usize) -> Vec<f64> {
    ctx.history
        .iter()
        .rev()
        .take(window)
        .map(|s| s.bits_per_second())
        .filter(|&b| b > 0.0)
        .collect()
}

/// Harmonic mean (of a non-empty slice).
pub(crate) fn harmonic_mean(v: &[f64]) -> f64 {
    v.len() as f64 / v.iter().map(|b| 1.0 / b).sum::<f64>()
}
