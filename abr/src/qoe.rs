//! QoE_lin, the linear quality-of-experience model of MPC and Pensieve that ABR-BENCH.md scores
//! with: Σ rᵢ − μ × rebuffer_s − Σ_{i≥2} |rᵢ − rᵢ₋₁|, with rᵢ each segment's bitrate in Mbit/s
//! and μ the title's rebuffer weight. One model: the player's QoE report and the trace-replay
//! simulator both score with [`qoe_lin`].

/// The rebuffer weight μ of HD titles (ABR-BENCH.md's `fcc` and `3g` suites; its rule is the
/// title's top rung in Mbit/s, 4.3 there).
pub const DEFAULT_REBUFFER_WEIGHT: f64 = 4.3;

/// The weight of a bitrate change, per Mbit/s.
pub const SWITCH_WEIGHT: f64 = 1.0;

/// QoE_lin of segments played at `bitrates_mbps`, in order, with `rebuffer_s` seconds of stalls
/// weighted by `rebuffer_weight`.
pub fn qoe_lin(bitrates_mbps: &[f64], rebuffer_s: f64, rebuffer_weight: f64) -> f64 {
    let changes: f64 = bitrates_mbps.windows(2).map(|w| (w[1] - w[0]).abs()).sum();
    bitrates_mbps.iter().sum::<f64>() - rebuffer_weight * rebuffer_s - SWITCH_WEIGHT * changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitrate_counts_stalls_and_changes_cost() {
        // 1 + 3 + 3 − 4.3 × 1 − (2 + 0)
        let q = qoe_lin(&[1.0, 3.0, 3.0], 1.0, DEFAULT_REBUFFER_WEIGHT);
        assert!((q - (7.0 - 4.3 - 2.0)).abs() < 1e-9, "{q}");
        assert_eq!(qoe_lin(&[], 0.0, 35.0), 0.0);
        assert!((qoe_lin(&[2.0], 0.5, 35.0) - (2.0 - 17.5)).abs() < 1e-9);
    }
}
