//! Trace replay in the player's own behaviour (`abr-replay --mode realistic`), where the
//! benchmark mode ([`crate::sim`]) follows ABR-BENCH.md's simplified model. The player's own
//! code runs here on the simulated clock — [`crate::playback`] for the buffer and stalls and
//! [`AbandonRule`] for slow downloads — so, as in `player-core`'s scheduler:
//! - the ABR chooses every segment, the first included (with no history it knows nothing);
//! - playback starts once [`BufferPolicy::startup_s`] is buffered, stalls when the buffer falls
//!   to [`BufferPolicy::stall_threshold_s`], and resumes only at [`BufferPolicy::resume_s`];
//!   time stalled after the start is rebuffering;
//! - fetching follows the watermark hysteresis ([`FetchGate`]): it pauses at the high watermark
//!   and resumes when the buffer drains to the low one;
//! - a download in flight is judged every [`PlayerModel::check_ms`] by [`AbandonRule`] and, when
//!   abandoned, its partial measurement goes to the ABR, its bits are wasted and the segment is
//!   fetched again at most one rendition lower.

use crate::abandon::AbandonRule;
use crate::playback::{BufferPolicy, Change, FetchGate, Phase, Playback};
use crate::sim::{SegmentRow, Session, SimConfig, qoe_lin};
use crate::title::Title;
use crate::trace::Trace;
use crate::{Abr, Context, ThroughputSample};

/// The player behaviour the realistic mode replays (the player's defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerModel {
    /// The buffer thresholds: startup, resume, stall, watermarks.
    pub buffer: BufferPolicy,
    /// Abandonment of slow downloads; `None` never abandons.
    pub abandon: Option<AbandonRule>,
    /// How often a download in flight is judged, ms (the player judges on every chunk).
    pub check_ms: f64,
    /// QoE_lin weight of a second of rebuffering.
    pub rebuffer_weight: f64,
}

impl Default for PlayerModel {
    fn default() -> Self {
        PlayerModel {
            buffer: BufferPolicy::default(),
            abandon: Some(AbandonRule::default()),
            check_ms: 100.0,
            rebuffer_weight: SimConfig::default().rebuffer_weight,
        }
    }
}

/// A realistic session's totals beyond the benchmark's.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Waste {
    /// Downloads abandoned.
    pub abandoned: usize,
    /// Bits downloaded and thrown away.
    pub wasted_bits: f64,
}

/// The simulated clock and buffer, with the player's stall machine stepped on it.
struct Clock<'a> {
    policy: &'a BufferPolicy,
    /// Network time, ms.
    t_ms: f64,
    /// Buffer ahead, ms.
    buffer_ms: f64,
    playback: Playback,
    started_at_ms: Option<f64>,
    rebuffer_ms: f64,
}

impl Clock<'_> {
    /// Lets `ms` of network time pass: playback drains the buffer, and stalls where the buffer
    /// reaches the stall threshold. Returns the rebuffering accrued.
    fn pass(&mut self, ms: f64) -> f64 {
        let stalled = match self.playback.phase() {
            // Before the start: startup delay, not rebuffering.
            Phase::Buffering => 0.0,
            Phase::Stalled => ms,
            Phase::Playing => {
                let playable_ms =
                    (self.buffer_ms - self.policy.stall_threshold_s * 1000.0).max(0.0);
                if ms <= playable_ms {
                    self.buffer_ms -= ms;
                    0.0
                } else {
                    self.buffer_ms -= playable_ms;
                    let dry_at_s = (self.t_ms + playable_ms) / 1000.0;
                    let change =
                        self.playback
                            .step(dry_at_s, self.buffer_ms / 1000.0, false, self.policy);
                    debug_assert_eq!(change, Some(Change::Stalled));
                    ms - playable_ms
                }
            }
        };
        self.t_ms += ms;
        self.rebuffer_ms += stalled;
        stalled
    }

    /// A segment of `ms` arrived (`last`: the title's last): the buffer grows, and playback
    /// starts or resumes at its threshold.
    fn add(&mut self, ms: f64, last: bool) {
        self.buffer_ms += ms;
        let change = self.playback.step(
            self.t_ms / 1000.0,
            self.buffer_ms / 1000.0,
            last,
            self.policy,
        );
        if change == Some(Change::Started) {
            self.started_at_ms.get_or_insert(self.t_ms);
        }
    }

    fn playing(&self) -> bool {
        self.playback.phase() == Phase::Playing
    }
}

/// Replays `title` over `trace` as the player would play it; returns the session (segments
/// as delivered; `rebuffer_ms` per row is the stall during that segment's downloads, abandoned
/// attempts included) and what abandonment cost.
pub fn simulate_player(
    title: &Title,
    trace: &Trace,
    abr: &mut dyn Abr,
    model: &PlayerModel,
) -> (Session, Waste) {
    let ladder = title.ladder_bps();
    let seg_ms = title.segment_duration_ms;
    let mut clock = Clock {
        policy: &model.buffer,
        t_ms: 0.0,
        buffer_ms: 0.0,
        playback: Playback::default(),
        started_at_ms: None,
        rebuffer_ms: 0.0,
    };
    let mut history: Vec<ThroughputSample> = Vec::new();
    let mut rows: Vec<SegmentRow> = Vec::new();
    let mut waste = Waste::default();
    let mut gate = FetchGate::default();
    let latency_of = |t: f64| trace.download_ms(t, 0.0);
    for index in 0..title.len() {
        // Watermark hysteresis: once the high watermark is reached, wait (playing) until the
        // buffer drains to the low one.
        let mut wait_ms = 0.0;
        if !gate.wants_more(clock.buffer_ms / 1000.0, &model.buffer) && clock.playing() {
            let drain = (clock.buffer_ms - model.buffer.low_watermark_s * 1000.0).max(0.0);
            clock.pass(drain);
            wait_ms = drain;
            gate.wants_more(clock.buffer_ms / 1000.0, &model.buffer);
        }
        let mut rebuffer_ms = 0.0;
        let mut below: Option<usize> = None;
        let buffer_before_ms = clock.buffer_ms;
        let (quality, start_ms, end_ms, size) = loop {
            let ctx = Context {
                ladder: &ladder,
                buffer_s: clock.buffer_ms / 1000.0,
                max_buffer_s: model.buffer.high_watermark_s,
                segment_duration_s: seg_ms / 1000.0,
                history: &history,
                last_choice: rows.last().map(|r| r.quality),
                segment: index,
                upcoming_sizes_bits: &title.segment_sizes_bits[index..],
                rebuffer_weight: model.rebuffer_weight,
            };
            let mut q = abr.choose(&ctx).rendition.min(ladder.len() - 1);
            if let Some(b) = below {
                q = q.min(b);
            }
            let size = title.segment_sizes_bits[index][q];
            let start = clock.t_ms;
            let full_ms = trace.download_ms(start, size);
            let budget_s = clock.buffer_ms / 1000.0;
            // Judge the download while it runs (never the lowest rendition).
            let abandoned_at = model.abandon.filter(|_| q > 0).and_then(|rule| {
                let mut k = 1.0;
                loop {
                    let at = k * model.check_ms;
                    if at >= full_ms {
                        return None;
                    }
                    let got = trace.bits_within(start, at);
                    if rule.should_abandon(
                        at / 1000.0,
                        latency_of(start) / 1000.0,
                        (got / 8.0) as u64,
                        (size / 8.0) as u64,
                        budget_s,
                    ) {
                        return Some((at, got));
                    }
                    k += 1.0;
                }
            });
            match abandoned_at {
                Some((at, got)) => {
                    rebuffer_ms += clock.pass(at);
                    history.push(ThroughputSample {
                        bytes: (got / 8.0) as u64,
                        duration_s: at / 1000.0,
                        ttfb_s: 0.0,
                    });
                    waste.abandoned += 1;
                    waste.wasted_bits += got;
                    below = Some(q - 1);
                }
                None => {
                    rebuffer_ms += clock.pass(full_ms);
                    history.push(ThroughputSample {
                        bytes: (size / 8.0) as u64,
                        duration_s: full_ms / 1000.0,
                        ttfb_s: latency_of(start).min(full_ms) / 1000.0,
                    });
                    break (q, start, start + full_ms, size);
                }
            }
        };
        if history.len() > 64 {
            history.remove(0);
        }
        clock.add(seg_ms, index + 1 == title.len());
        rows.push(SegmentRow {
            index,
            quality,
            bitrate_kbps: title.bitrates_kbps[quality],
            size_bits: size,
            start_ms,
            end_ms,
            buffer_before_ms,
            rebuffer_ms,
            wait_ms,
        });
    }
    // A title too short to reach the startup threshold starts when it is all in.
    let startup_ms = clock.started_at_ms.unwrap_or(clock.t_ms);
    let qualities: Vec<usize> = rows.iter().map(|r| r.quality).collect();
    let rebuffer_s = clock.rebuffer_ms / 1000.0;
    let session = Session {
        algorithm: abr.name().into(),
        trace: trace.name.clone(),
        qoe_lin: qoe_lin(title, &qualities, rebuffer_s, model.rebuffer_weight),
        mean_bitrate_kbps: rows.iter().map(|r| r.bitrate_kbps).sum::<f64>() / rows.len() as f64,
        rebuffer_s,
        rebuffer_ratio: rebuffer_s * 1000.0 / (rows.len() as f64 * seg_ms),
        startup_ms,
        switches: qualities.windows(2).filter(|w| w[0] != w[1]).count(),
        segments: rows,
    };
    (session, waste)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Period;

    fn title(n: usize) -> Title {
        Title {
            segment_duration_ms: 2000.0,
            bitrates_kbps: vec![500.0, 4000.0],
            segment_sizes_bits: vec![vec![1e6, 8e6]; n],
        }
    }

    fn trace(periods: &[(f64, f64)]) -> Trace {
        Trace::new(
            "t",
            periods
                .iter()
                .map(|&(duration_ms, bandwidth_kbps)| Period {
                    duration_ms,
                    bandwidth_kbps,
                    latency_ms: 0.0,
                })
                .collect(),
        )
        .unwrap()
    }

    /// Always asks for the top rendition.
    struct Greedy;
    impl Abr for Greedy {
        fn name(&self) -> &'static str {
            "greedy"
        }
        fn choose(&mut self, ctx: &Context<'_>) -> crate::Decision {
            crate::Decision {
                rendition: ctx.ladder.len() - 1,
                reason: String::new(),
            }
        }
    }

    #[test]
    fn a_hopeless_download_is_abandoned_and_fetched_lower() {
        // 1000 kbit/s: the 8 Mbit top segment would take 8 s against an empty buffer. The
        // buffer runs exactly dry as each segment lands: with no stall threshold, that is no
        // stall (the player's 50 ms threshold would call it one).
        let model = PlayerModel {
            buffer: BufferPolicy {
                stall_threshold_s: 0.0,
                ..BufferPolicy::default()
            },
            ..PlayerModel::default()
        };
        let (s, waste) = simulate_player(&title(3), &trace(&[(1e6, 1000.0)]), &mut Greedy, &model);
        assert_eq!(waste.abandoned, 3, "{s:?}");
        assert!(s.segments.iter().all(|r| r.quality == 0));
        // Each segment: judged hopeless after 1 s (1 Mbit thrown away), then 1 s at the low
        // rendition.
        assert!((waste.wasted_bits - 3e6).abs() < 1e-3, "{waste:?}");
        // Startup at 2 s of buffer: after the first segment, at 2 s.
        assert!((s.startup_ms - 2000.0).abs() < 1e-6, "{}", s.startup_ms);
        assert_eq!(s.rebuffer_s, 0.0);
        // Without abandonment the same greedy player stalls instead.
        let never = PlayerModel {
            abandon: None,
            ..PlayerModel::default()
        };
        let (s, waste) = simulate_player(&title(3), &trace(&[(1e6, 1000.0)]), &mut Greedy, &never);
        assert_eq!(waste.abandoned, 0);
        assert!(s.rebuffer_s > 5.0, "{}", s.rebuffer_s);
    }

    #[test]
    fn stalls_resume_at_the_resume_threshold_and_watermarks_hold() {
        // Fast, then nothing for 10 s, then fast: the buffer runs dry and playback waits for
        // 4 s (two segments) before it resumes.
        let model = PlayerModel {
            abandon: None,
            buffer: BufferPolicy {
                low_watermark_s: 4.0,
                high_watermark_s: 6.0,
                ..BufferPolicy::default()
            },
            ..PlayerModel::default()
        };
        let t = trace(&[(3000.0, 100_000.0), (10_000.0, 0.0), (1e6, 100_000.0)]);
        let low = Title {
            segment_duration_ms: 2000.0,
            bitrates_kbps: vec![500.0],
            segment_sizes_bits: vec![vec![1e6]; 8],
        };
        let (s, _) = simulate_player(&low, &t, &mut Greedy, &model);
        assert!(s.segments.iter().any(|r| r.wait_ms > 0.0), "{s:?}");
        assert!(
            s.segments
                .iter()
                .all(|r| r.buffer_before_ms <= 6000.0 + 1e-6)
        );
        assert!(s.rebuffer_s > 0.0);
        // The stall lasts until two segments are back: no stall shorter than the outage
        // minus the buffer it started with, plus the second segment's download.
        assert!(s.rebuffer_s < 10.0, "{}", s.rebuffer_s);
    }
}
