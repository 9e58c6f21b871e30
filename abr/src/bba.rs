//! BBA-0, the buffer-based algorithm of Huang et al. (SIGCOMM 2014): below a reservoir the
//! lowest rate, above reservoir + cushion the highest, a linear rate map in between; the rate
//! only changes when the map crosses the next rate up or down, so it does not oscillate.

use crate::{Abr, Context, Decision};

/// BBA-0 with reservoir and cushion as shares of the maximum buffer.
#[derive(Debug, Clone)]
pub struct Bba {
    /// Reservoir, as a share of the maximum buffer (the paper: 90 s of 240 s).
    pub reservoir_share: f64,
    /// Cushion, as a share of the maximum buffer (the paper: 126 s of 240 s).
    pub cushion_share: f64,
}

impl Default for Bba {
    fn default() -> Self {
        Bba {
            reservoir_share: 90.0 / 240.0,
            cushion_share: 126.0 / 240.0,
        }
    }
}

impl Bba {
    /// (reservoir, cushion) in seconds for a context; the reservoir holds at least one segment.
    pub fn zones(&self, ctx: &Context<'_>) -> (f64, f64) {
        let reservoir = (self.reservoir_share * ctx.max_buffer_s).max(ctx.segment_duration_s);
        let cushion = (self.cushion_share * ctx.max_buffer_s)
            .min(ctx.max_buffer_s - reservoir - ctx.segment_duration_s)
            .max(ctx.segment_duration_s);
        (reservoir, cushion)
    }

    /// The rate map f(B), in bit/s.
    pub fn rate_map(&self, ctx: &Context<'_>, buffer_s: f64) -> f64 {
        let (r, cu) = self.zones(ctx);
        let (min, max) = (
            ctx.ladder[0] as f64,
            *ctx.ladder.last().expect("a ladder") as f64,
        );
        if buffer_s <= r {
            min
        } else if buffer_s >= r + cu {
            max
        } else {
            min + (max - min) * (buffer_s - r) / cu
        }
    }
}

impl Abr for Bba {
    fn name(&self) -> &'static str {
        "bba"
    }

    fn choose(&mut self, ctx: &Context<'_>) -> Decision {
        let ladder = ctx.ladder;
        let top = ladder.len() - 1;
        let prev = ctx.last_choice.unwrap_or(0).min(top);
        let (r, cu) = self.zones(ctx);
        let f = self.rate_map(ctx, ctx.buffer_s);
        let up = (prev + 1).min(top);
        let down = prev.saturating_sub(1);
        let (rendition, why) = if ctx.buffer_s <= r {
            (
                0,
                format!("buffer {:.1} s in the reservoir ({r:.1} s)", ctx.buffer_s),
            )
        } else if ctx.buffer_s >= r + cu {
            (
                top,
                format!("buffer {:.1} s above the cushion", ctx.buffer_s),
            )
        } else if f >= ladder[up] as f64 && up != prev {
            let q = ladder.iter().rposition(|&b| (b as f64) < f).unwrap_or(0);
            (
                q,
                format!("rate map {:.0} kbit/s passed the next rate up", f / 1000.0),
            )
        } else if f <= ladder[down] as f64 && down != prev {
            let q = ladder.iter().position(|&b| (b as f64) > f).unwrap_or(top);
            (
                q,
                format!(
                    "rate map {:.0} kbit/s fell to the next rate down",
                    f / 1000.0
                ),
            )
        } else {
            (
                prev,
                format!("rate map {:.0} kbit/s between neighbours: stay", f / 1000.0),
            )
        };
        Decision {
            rendition,
            reason: format!("BBA: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LADDER: [u64; 4] = [300_000, 750_000, 1_500_000, 3_000_000];

    fn ctx(buffer_s: f64, last: Option<usize>) -> Context<'static> {
        Context {
            ladder: &LADDER,
            buffer_s,
            max_buffer_s: 24.0,
            segment_duration_s: 2.0,
            history: &[],
            last_choice: last,
            segment: 3,
            upcoming_sizes_bits: &[],
            rebuffer_weight: 4.3,
        }
    }

    #[test]
    fn reservoir_cushion_and_map() {
        let mut b = Bba::default();
        let (r, cu) = b.zones(&ctx(0.0, None));
        assert!(
            (r - 9.0).abs() < 1e-9 && (cu - 12.6).abs() < 1e-9,
            "{r} {cu}"
        );
        assert_eq!(
            b.choose(&ctx(0.0, Some(3))).rendition,
            0,
            "empty buffer: lowest"
        );
        assert_eq!(
            b.choose(&ctx(23.0, Some(0))).rendition,
            3,
            "full buffer: highest"
        );
        // Halfway through the cushion the map gives 1.65 Mbit/s: from 300k the next rate up
        // (750k) is passed, so the highest rate below the map is chosen.
        let mid = r + cu / 2.0;
        assert!((b.rate_map(&ctx(mid, None), mid) - 1_650_000.0).abs() < 1.0);
        assert_eq!(b.choose(&ctx(mid, Some(0))).rendition, 2);
        // From 1.5M the map (1.65M) neither reaches 3M nor falls to 750k: stay.
        assert_eq!(b.choose(&ctx(mid, Some(2))).rendition, 2);
    }
}
