//! Reel's default: a buffer-based predictive controller that plans against a distribution of
//! throughputs rather than one pessimistic number.
//!
//! - **Forecast.** The harmonic mean of the recent downloads, raised to the latest download's
//!   throughput when two segments are buffered (a rising network is used at once).
//! - **Uncertainty, measured.** Every forecast is later scored against the download it
//!   predicted; the ratios (actual ÷ forecast) of the last downloads form an empirical
//!   distribution, summarised in a few equally likely outcomes. One more outcome, "the network
//!   stays as the latest download found it", carries a fixed weight: a collapse is believed at
//!   once, even before the distribution has caught up.
//! - **Stochastic lookahead over real sizes.** Dynamic programming over the next segments (their
//!   real sizes, so VBR peaks are seen before they are fetched), the buffer level on a grid and the
//!   previous rendition, maximising the *expected* QoE_lin over those outcomes. A rare bad
//!   outcome costs what it is likely to cost, so a full buffer can ride through a dip that a
//!   worst-case forecast (RobustMPC) would answer by dropping to the lowest rendition.
//! - **Buffer value, by volatility.** The buffer left at the end of the horizon is credited (up to
//!   15 s), in proportion to how noisy the forecasts have been (the median absolute log ratio):
//!   on a steady network buffer beyond the horizon's needs is worth nothing and is spent on
//!   bitrate; on a noisy one it is what absorbs the next outage.
//! - **No stepping up on a light scene.** A rendition above the forecast's nominal rate is not
//!   stepped up to because the next segment happens to be small: the picture would jump between
//!   extremes scene by scene.
//! - **Never gamble the reservoir.** With less than one segment buffered, a rendition whose
//!   download at the forecast would outlast the buffer is never chosen above the lowest.
//!
//! Status (`abr-replay --suite …`, mean QoE_lin; the README has the table): ahead of
//! throughput, BBA, BOLA-E and RobustMPC on `fcc`, `3g` and `4g`, in benchmark and realistic
//! mode; 94.2 % of the offline optimum on `fcc` (the goal is 95 %) and 85.3 % on the streamable
//! `3g` traces.

use crate::plan::{harmonic_mean, recent_bps};
use crate::{Abr, Context, Decision, ThroughputSample};
use std::collections::VecDeque;

/// The controller and its memory of past forecasts.
#[derive(Debug, Clone)]
pub struct ReelAbr {
    /// Segments looked ahead.
    pub horizon: usize,
    /// Downloads in the harmonic-mean forecast.
    pub window: usize,
    /// Forecast ratios (actual ÷ forecast) remembered.
    pub error_window: usize,
    /// Smallest ratio remembered: a download ten times slower than forecast (often a partial
    /// one, cut short by abandonment) is as bad as the distribution gets; the latest-download
    /// outcome still carries the full collapse.
    pub min_ratio: f64,
    /// Equally likely outcomes the remembered ratios are summarised in.
    pub outcomes: usize,
    /// Probability given to "the network stays as the latest download found it".
    pub latest_weight: f64,
    /// Ratios assumed until [`ReelAbr::min_ratios`] have been measured.
    pub prior_ratios: Vec<f64>,
    /// Measured ratios needed before the prior is dropped.
    pub min_ratios: usize,
    /// With at least this many segments buffered, the forecast rises to the latest download's
    /// throughput when that is higher.
    pub optimism_after_segments: f64,
    /// Credit per second of buffer left at the end of the horizon, in units of the rebuffer
    /// weight, on a fully volatile network.
    pub buffer_credit: f64,
    /// Buffer worth keeping at the end of the horizon, seconds (at most the maximum buffer less
    /// one segment).
    pub buffer_target_s: f64,
    /// Median |ln ratio| at or below which the network counts as steady (no buffer credit).
    pub steady_dispersion: f64,
    /// Median |ln ratio| at or above which the network counts as volatile (full credit).
    pub volatile_dispersion: f64,
    /// Buffer grid step of the lookahead, seconds.
    pub grid_step_s: f64,
    last_forecast: Option<f64>,
    /// The history's length and newest sample when the last forecast was made, to tell a new
    /// download from a second decision on the same measurements (a retry after a failure).
    scored: Option<(usize, ThroughputSample)>,
    ratios: VecDeque<f64>,
}

impl Default for ReelAbr {
    fn default() -> Self {
        ReelAbr {
            horizon: 5,
            window: 5,
            error_window: 60,
            min_ratio: 0.1,
            outcomes: 8,
            latest_weight: 0.25,
            prior_ratios: vec![0.5, 1.0],
            min_ratios: 3,
            optimism_after_segments: 2.0,
            buffer_credit: 0.8,
            buffer_target_s: 15.0,
            steady_dispersion: 0.06,
            volatile_dispersion: 0.12,
            grid_step_s: 1.0,
            last_forecast: None,
            scored: None,
            ratios: VecDeque::new(),
        }
    }
}

/// Throughputs the lookahead plans against, with their probabilities.
#[derive(Debug, Clone, PartialEq)]
struct Outlook {
    /// The point forecast, bit/s.
    forecast: f64,
    /// (throughput in bit/s, probability), summing to 1.
    outcomes: Vec<(f64, f64)>,
    /// Share of the buffer credit earned: 0 on a steady network, 1 on a volatile one.
    volatility: f64,
}

impl ReelAbr {
    /// Scores the previous forecast against the download that just finished, then forecasts the
    /// next one. `None` before any download.
    fn outlook(&mut self, ctx: &Context<'_>) -> Option<Outlook> {
        let recent = recent_bps(ctx, self.window);
        let latest = *recent.first()?;
        let newest = (ctx.history.len(), *ctx.history.last()?);
        let new_download = self.scored != Some(newest);
        if let (Some(previous), true) = (self.last_forecast, new_download) {
            self.ratios
                .push_back((latest / previous).max(self.min_ratio));
            if self.ratios.len() > self.error_window {
                self.ratios.pop_front();
            }
        }
        self.scored = Some(newest);
        let mut forecast = harmonic_mean(&recent);
        if ctx.buffer_s >= self.optimism_after_segments * ctx.segment_duration_s {
            forecast = forecast.max(latest);
        }
        self.last_forecast = Some(forecast);

        let mut ratios: Vec<f64> = self.ratios.iter().copied().collect();
        let mut deviations: Vec<f64> = ratios.iter().map(|r| r.ln().abs()).collect();
        deviations.sort_by(f64::total_cmp);
        let dispersion = deviations.get(deviations.len() / 2).copied().unwrap_or(0.0);
        let volatility = ((dispersion - self.steady_dispersion)
            / (self.volatile_dispersion - self.steady_dispersion))
            .clamp(0.0, 1.0);
        if ratios.len() < self.min_ratios {
            ratios.extend(&self.prior_ratios);
        }
        ratios.sort_by(f64::total_cmp);
        // Equal-count bins, each represented by its harmonic mean (a bin's slow downloads dominate
        // its time, as they would the buffer's).
        let bins = self.outcomes.clamp(1, ratios.len());
        let spread = 1.0 - self.latest_weight;
        let mut outcomes: Vec<(f64, f64)> = (0..bins)
            .map(|b| {
                let bin = &ratios[b * ratios.len() / bins..(b + 1) * ratios.len() / bins];
                let p = spread * bin.len() as f64 / ratios.len() as f64;
                ((forecast * harmonic_mean(bin)).max(1.0), p)
            })
            .collect();
        outcomes.push((latest, self.latest_weight));
        Some(Outlook {
            forecast,
            outcomes,
            volatility,
        })
    }

    /// Segments the lookahead covers: the horizon, or what is left of the title.
    fn steps(&self, ctx: &Context<'_>) -> usize {
        self.horizon.clamp(1, ctx.upcoming_sizes_bits.len().max(1))
    }

    /// Expected QoE_lin of each first rendition over the horizon, with the best continuation.
    fn plan(&self, ctx: &Context<'_>, outlook: &Outlook) -> Vec<f64> {
        let rungs = ctx.ladder.len();
        let steps = self.steps(ctx);
        let seg = ctx.segment_duration_s;
        let max_buffer = ctx.max_buffer_s.max(seg);
        let mu = ctx.rebuffer_weight;
        let points = (max_buffer / self.grid_step_s).ceil() as usize + 1;
        let dx = max_buffer / (points - 1) as f64;
        let mbps: Vec<f64> = ctx.ladder.iter().map(|&b| b as f64 / 1e6).collect();
        let credit = self.buffer_credit * outlook.volatility * mu;
        let target = self.buffer_target_s.min(max_buffer - seg);
        // value[q][i]: best expected value of the remaining steps, having just fetched rendition
        // q, with i·dx seconds buffered.
        let terminal: Vec<f64> = (0..points)
            .map(|i| credit * (i as f64 * dx).min(target))
            .collect();
        let mut value = vec![terminal; rungs];
        let at = |v: &[f64], b: f64| {
            let f = (b / dx).clamp(0.0, (points - 1) as f64);
            let i = (f as usize).min(points - 2);
            let w = f - i as f64;
            v[i] * (1.0 - w) + v[i + 1] * w
        };
        // Expected rebuffer cost plus continuation of fetching rendition q at step `step` with
        // `buffer` seconds buffered (before any wait for room).
        let fetch = |step: usize, q: usize, buffer: f64, value: &[Vec<f64>]| {
            let buffer = buffer.min(max_buffer - seg).max(0.0);
            let size = ctx.size_bits(step, q);
            outlook
                .outcomes
                .iter()
                .map(|&(bps, p)| {
                    let d = size / bps;
                    let next = (buffer - d).max(0.0) + seg;
                    p * (at(&value[q], next) - mu * (d - buffer).max(0.0))
                })
                .sum::<f64>()
        };
        for step in (1..steps).rev() {
            let expected: Vec<Vec<f64>> = (0..rungs)
                .map(|q| {
                    (0..points)
                        .map(|i| fetch(step, q, i as f64 * dx, &value))
                        .collect()
                })
                .collect();
            value = (0..rungs)
                .map(|last| {
                    (0..points)
                        .map(|i| {
                            (0..rungs)
                                .map(|q| mbps[q] - (mbps[q] - mbps[last]).abs() + expected[q][i])
                                .fold(f64::NEG_INFINITY, f64::max)
                        })
                        .collect()
                })
                .collect();
        }
        (0..rungs)
            .map(|q| {
                let switch = ctx.last_choice.map_or(0.0, |l| (mbps[q] - mbps[l]).abs());
                mbps[q] - switch + fetch(0, q, ctx.buffer_s, &value)
            })
            .collect()
    }
}

impl Abr for ReelAbr {
    fn name(&self) -> &'static str {
        "reel"
    }

    fn choose(&mut self, ctx: &Context<'_>) -> Decision {
        let Some(outlook) = self.outlook(ctx) else {
            return Decision {
                rendition: 0,
                reason: "no throughput measured yet: lowest rendition".into(),
            };
        };
        let values = self.plan(ctx, &outlook);
        // Highest rendition among the best (ties go up).
        let top = values.len() - 1;
        let mut q = (0..top).rev().fold(top, |best, q| {
            if values[q] > values[best] + 1e-9 {
                q
            } else {
                best
            }
        });
        let (low, high) = outlook
            .outcomes
            .iter()
            .fold((f64::INFINITY, 0.0_f64), |(lo, hi), &(b, _)| {
                (lo.min(b), hi.max(b))
            });
        let mut why = format!(
            "expected QoE over {} segments: forecast {:.0} kbit/s, outcomes {:.0}–{:.0}, buffer valued {:.0} %",
            self.steps(ctx),
            outlook.forecast / 1000.0,
            low / 1000.0,
            high / 1000.0,
            outlook.volatility * 100.0
        );
        // Stay within what the network sustains on average: a rendition whose nominal bitrate is
        // above the forecast is not stepped up to just because the next segment happens to be far
        // smaller than its nominal size (the picture would jump between extremes scene by scene).
        let sustainable = ctx
            .ladder
            .iter()
            .rposition(|&b| b as f64 <= outlook.forecast)
            .unwrap_or(0);
        let light = ctx.size_bits(0, q) < 0.5 * ctx.ladder[q] as f64 * ctx.segment_duration_s;
        if light && q > sustainable && ctx.last_choice.is_none_or(|l| q > l) {
            q = sustainable.max(ctx.last_choice.unwrap_or(0).min(q));
            why = format!("{why}; held to the sustainable rate");
        }
        // Never gamble the reservoir: below one segment of buffer, above the lowest rendition the
        // download at the forecast must finish before the buffer runs dry.
        if ctx.buffer_s < ctx.segment_duration_s {
            while q > 0 && ctx.size_bits(0, q) / outlook.forecast > ctx.buffer_s {
                q -= 1;
                why = format!("{why}; lowered to protect the reservoir");
            }
        }
        Decision {
            rendition: q,
            reason: format!("Reel: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::steady;

    const LADDER: [u64; 3] = [300_000, 1_500_000, 6_000_000];

    fn ctx<'a>(buffer_s: f64, history: &'a [ThroughputSample], last: Option<usize>) -> Context<'a> {
        Context {
            ladder: &LADDER,
            buffer_s,
            max_buffer_s: 25.0,
            segment_duration_s: 4.0,
            history,
            last_choice: last,
            segment: 10,
            upcoming_sizes_bits: &[],
            rebuffer_weight: 4.3,
        }
    }

    fn sample(bps: f64) -> ThroughputSample {
        ThroughputSample {
            bytes: (bps / 8.0) as u64,
            duration_s: 1.0,
            ttfb_s: 0.0,
        }
    }

    #[test]
    fn empty_history_lowest_ample_network_highest() {
        assert_eq!(ReelAbr::default().choose(&ctx(0.0, &[], None)).rendition, 0);
        let h = steady(50e6);
        assert_eq!(
            ReelAbr::default().choose(&ctx(20.0, &h, Some(2))).rendition,
            2
        );
    }

    #[test]
    fn an_empty_buffer_never_gambles() {
        let h = steady(7e6);
        let d = ReelAbr::default().choose(&ctx(1.0, &h, Some(0)));
        assert!(d.rendition < 2, "{}", d.reason);
    }

    #[test]
    fn a_collapse_is_believed_at_once() {
        // Twenty calm downloads at 8 Mbit/s, then one at 0.4: the harmonic mean still says
        // about 1.7 Mbit/s, but the top rendition (24 Mbit) could take a minute.
        let mut abr = ReelAbr::default();
        let mut h = Vec::new();
        for _ in 0..20 {
            h.push(sample(8e6));
            abr.choose(&ctx(20.0, &h, Some(2)));
        }
        assert_eq!(abr.choose(&ctx(20.0, &h, Some(2))).rendition, 2);
        h.push(sample(0.4e6));
        let d = abr.choose(&ctx(12.0, &h, Some(2)));
        assert_eq!(d.rendition, 0, "{}", d.reason);
    }

    #[test]
    fn noisy_forecasts_value_the_buffer_steady_ones_do_not() {
        let mut steady_abr = ReelAbr::default();
        let mut noisy_abr = ReelAbr::default();
        let (mut calm, mut noisy) = (Vec::new(), Vec::new());
        for i in 0..30 {
            calm.push(sample(2e6));
            steady_abr.outlook(&ctx(10.0, &calm, Some(1)));
            noisy.push(sample(if i % 2 == 0 { 1.2e6 } else { 2.8e6 }));
            noisy_abr.outlook(&ctx(10.0, &noisy, Some(1)));
        }
        let calm_outlook = steady_abr.outlook(&ctx(10.0, &calm, Some(1))).unwrap();
        let noisy_outlook = noisy_abr.outlook(&ctx(10.0, &noisy, Some(1))).unwrap();
        assert_eq!(calm_outlook.volatility, 0.0);
        assert_eq!(noisy_outlook.volatility, 1.0);
        let spread = |o: &Outlook| {
            let lo = o.outcomes.iter().map(|x| x.0).fold(f64::INFINITY, f64::min);
            let hi = o.outcomes.iter().map(|x| x.0).fold(0.0, f64::max);
            hi / lo
        };
        assert!(spread(&calm_outlook) < 1.01);
        assert!(spread(&noisy_outlook) > 1.5, "{noisy_outlook:?}");
        let total: f64 = noisy_outlook.outcomes.iter().map(|x| x.1).sum();
        assert!((total - 1.0).abs() < 1e-9);
    }

    #[test]
    fn light_segments_do_not_lift_the_rendition_above_the_sustainable_rate() {
        // 2 Mbit/s: the top rendition (6 Mbit/s nominal) has a run of 4 Mbit segments ahead,
        // cheap to fetch, but the network could not hold that rendition on ordinary scenes.
        let h = steady(2e6);
        let sizes: Vec<Vec<f64>> = vec![vec![1.2e6, 6e6, 4e6]; 6];
        let mut c = ctx(20.0, &h, Some(1));
        c.upcoming_sizes_bits = &sizes;
        let d = ReelAbr::default().choose(&c);
        assert_eq!(d.rendition, 1, "{}", d.reason);
        assert!(
            d.reason.contains("held to the sustainable rate"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn a_second_decision_on_the_same_downloads_scores_nothing() {
        // A retry after a failed fetch asks again with no new measurement: the forecast made a
        // moment ago is not scored against the download it came from.
        let mut abr = ReelAbr::default();
        let mut h = Vec::new();
        for i in 0..6 {
            h.push(sample(if i % 2 == 0 { 1e6 } else { 3e6 }));
            abr.choose(&ctx(10.0, &h, Some(1)));
        }
        let before = abr.ratios.len();
        abr.choose(&ctx(10.0, &h, Some(1)));
        abr.choose(&ctx(10.0, &h, Some(1)));
        assert_eq!(abr.ratios.len(), before);
        h.push(sample(2e6));
        abr.choose(&ctx(10.0, &h, Some(1)));
        assert_eq!(abr.ratios.len(), before + 1);
    }

    #[test]
    fn a_vbr_peak_ahead_is_seen_before_it_is_fetched() {
        // 2 Mbit/s, 8 s buffered, 4 s segments: the middle rendition is nominally 6 Mbit, but
        // the next segment at that rendition is a 20 Mbit peak.
        let h = steady(2e6);
        let flat: Vec<Vec<f64>> = vec![vec![1.2e6, 6e6, 24e6]; 6];
        let mut peak = flat.clone();
        peak[0][1] = 20e6;
        let with = |sizes: &[Vec<f64>]| {
            let mut c = ctx(8.0, &h, Some(1));
            c.upcoming_sizes_bits = sizes;
            ReelAbr::default().choose(&c).rendition
        };
        assert_eq!(with(&flat), 1);
        assert_eq!(with(&peak), 0);
    }
}
