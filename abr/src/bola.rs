//! BOLA (Spiteri, Urgaonkar, Sitaraman, INFOCOM 2016) in its BOLA-E form as dash.js runs it:
//! each rendition's score is (V·(utility + γp) − buffer) / size, with utility = ln(bitrate ratio),
//! V and γp set from the buffer target; a throughput rule during start-up; and BOLA-O's guard
//! against oscillation (never go up past what the throughput supports, unless staying put).

use crate::throughput::ThroughputRule;
use crate::{Abr, Context, Decision};

/// Buffer (s) BOLA aims to keep at the lowest rendition (dash.js `MINIMUM_BUFFER_S`).
const MINIMUM_BUFFER_S: f64 = 10.0;
/// Extra buffer target per ladder rung (dash.js `MINIMUM_BUFFER_PER_BITRATE_LEVEL_S`).
const BUFFER_PER_LEVEL_S: f64 = 2.0;

/// BOLA-E.
#[derive(Debug, Clone, Default)]
pub struct Bola {
    throughput: ThroughputRule,
}

impl Bola {
    /// (utilities, V, γp) for a ladder, a maximum buffer and a segment duration.
    ///
    /// As in dash.js, the lowest rendition is preferred below `MINIMUM_BUFFER_S` and the target
    /// for the top one grows with the ladder; the target is capped at the highest level the
    /// buffer reaches before a download (maximum − one segment), so the top stays reachable.
    pub fn parameters(ladder: &[u64], max_buffer_s: f64, segment_s: f64) -> (Vec<f64>, f64, f64) {
        let utilities: Vec<f64> = ladder
            .iter()
            .map(|&b| (b as f64 / ladder[0] as f64).ln() + 1.0)
            .collect();
        let reachable = (max_buffer_s - segment_s).max(2.0 * segment_s);
        let minimum = MINIMUM_BUFFER_S.min(reachable / 2.0);
        let target = (MINIMUM_BUFFER_S + BUFFER_PER_LEVEL_S * ladder.len() as f64)
            .min(reachable)
            .max(minimum * 1.5);
        let top = *utilities.last().expect("a ladder");
        let gp = (top - 1.0).max(1e-6) / (target / minimum - 1.0);
        let v = minimum / gp;
        (utilities, v, gp)
    }
}

impl Abr for Bola {
    fn name(&self) -> &'static str {
        "bola"
    }

    fn choose(&mut self, ctx: &Context<'_>) -> Decision {
        let ladder = ctx.ladder;
        let safe = self.throughput.choose(ctx);
        // Start-up: until a segment's worth is buffered, BOLA has no information: use throughput.
        if ctx.history.len() < 2 || ctx.buffer_s < ctx.segment_duration_s {
            return Decision {
                rendition: safe.rendition,
                reason: format!("BOLA start-up, {}", safe.reason),
            };
        }
        let (utilities, v, gp) = Bola::parameters(ladder, ctx.max_buffer_s, ctx.segment_duration_s);
        let score = |i: usize| {
            // Size in units of the lowest rendition's nominal segment, as BOLA's S_m.
            let size = ctx.size_bits(0, i);
            (v * (utilities[i] + gp) - ctx.buffer_s) / size
        };
        let mut best = (0..ladder.len())
            .max_by(|&a, &b| score(a).total_cmp(&score(b)))
            .unwrap_or(0);
        let mut why = format!("Lyapunov score best at buffer {:.1} s", ctx.buffer_s);
        // BOLA-O (the paper's oscillation guard): never step up past the rendition the last
        // download's throughput sustains, unless that is where the previous segment already was.
        let sustainable = ctx
            .history
            .last()
            .map(|s| s.bits_per_second())
            .and_then(|bps| ladder.iter().rposition(|&b| b as f64 <= bps))
            .unwrap_or(0);
        if let Some(last) = ctx.last_choice
            && best > last
            && best > sustainable
        {
            best = sustainable.max(last);
            why = format!("{why}; held at what the last download sustains");
        }
        Decision {
            rendition: best,
            reason: format!("BOLA: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ThroughputSample;

    const LADDER: [u64; 4] = [300_000, 750_000, 1_500_000, 3_000_000];

    fn ctx(buffer_s: f64, history: &[ThroughputSample]) -> Context<'_> {
        Context {
            ladder: &LADDER,
            buffer_s,
            max_buffer_s: 25.0,
            segment_duration_s: 4.0,
            history,
            last_choice: Some(0),
            segment: 5,
            upcoming_sizes_bits: &[],
            rebuffer_weight: 4.3,
        }
    }

    #[test]
    fn low_buffer_low_rate_high_buffer_high_rate() {
        let fast = [ThroughputSample {
            bytes: 5_000_000,
            duration_s: 1.0,
            ttfb_s: 0.01,
        }; 4];
        let mut b = Bola::default();
        assert_eq!(b.choose(&ctx(4.5, &fast)).rendition, 0);
        assert_eq!(b.choose(&ctx(24.0, &fast)).rendition, 3);
    }

    #[test]
    fn oscillation_guard_holds_back_on_a_slow_network() {
        let slow = [ThroughputSample {
            bytes: 100_000,
            duration_s: 1.0,
            ttfb_s: 0.01,
        }; 4];
        // 800 kbit/s sustains 750k at most: the full buffer's pull to the top is held there.
        let d = Bola::default().choose(&ctx(24.0, &slow));
        assert_eq!(d.rendition, 1, "{}", d.reason);
        assert!(d.reason.contains("held"));
    }
}
