//! Trace replay in ABR-BENCH.md's benchmark mode: segments one after another, no abandonment;
//! the first at the lowest rendition at time 0 (its download time is the startup delay); the
//! buffer drains during downloads, time spent empty is rebuffering; before a download the player
//! waits until the segment fits under the maximum buffer. QoE_lin is computed over segments.

use serde::Serialize;

use crate::title::Title;
use crate::trace::Trace;
use crate::{Abr, Context, ThroughputSample};

/// Replay options.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Largest buffer, ms.
    pub max_buffer_ms: f64,
    /// QoE_lin weight of a second of rebuffering.
    pub rebuffer_weight: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            max_buffer_ms: 25_000.0,
            rebuffer_weight: crate::qoe::DEFAULT_REBUFFER_WEIGHT,
        }
    }
}

/// One segment of a replayed session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentRow {
    /// Segment index.
    pub index: usize,
    /// Rendition chosen.
    pub quality: usize,
    /// Its bitrate.
    pub bitrate_kbps: f64,
    /// Its size.
    pub size_bits: f64,
    /// Download start (network time).
    pub start_ms: f64,
    /// Download end.
    pub end_ms: f64,
    /// Buffer when the download started.
    pub buffer_before_ms: f64,
    /// Time the buffer sat empty during this download.
    pub rebuffer_ms: f64,
    /// Time waited for room in the buffer before the download.
    pub wait_ms: f64,
}

/// A replayed session and its totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    /// Algorithm name.
    pub algorithm: String,
    /// Trace name.
    pub trace: String,
    /// QoE_lin.
    pub qoe_lin: f64,
    /// Mean bitrate over segments, kbit/s.
    pub mean_bitrate_kbps: f64,
    /// Seconds rebuffering (start-up not included).
    pub rebuffer_s: f64,
    /// Rebuffering over media duration.
    pub rebuffer_ratio: f64,
    /// Download time of the first segment, ms.
    pub startup_ms: f64,
    /// Rendition changes between consecutive segments.
    pub switches: usize,
    /// Per-segment rows.
    pub segments: Vec<SegmentRow>,
}

/// QoE_lin ([`crate::qoe::qoe_lin`]) of a quality sequence of `title` with a total rebuffering.
pub fn qoe_lin(title: &Title, qualities: &[usize], rebuffer_s: f64, rebuffer_weight: f64) -> f64 {
    let bitrates_mbps: Vec<f64> = qualities
        .iter()
        .map(|&q| title.bitrates_kbps[q] / 1000.0)
        .collect();
    crate::qoe::qoe_lin(&bitrates_mbps, rebuffer_s, rebuffer_weight)
}

/// The network and buffer state between downloads; shared by the simulator and the optimum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct State {
    /// Network time, ms.
    pub t_ms: f64,
    /// Buffer, ms.
    pub buffer_ms: f64,
    /// Rebuffering so far, ms.
    pub rebuffer_ms: f64,
}

/// Downloads segment `index` at `quality` from `state`; returns the new state and its row.
pub fn step(
    title: &Title,
    trace: &Trace,
    cfg: &SimConfig,
    state: State,
    index: usize,
    quality: usize,
) -> (State, SegmentRow) {
    let seg = title.segment_duration_ms;
    let wait = (state.buffer_ms + seg - cfg.max_buffer_ms).max(0.0);
    let t = state.t_ms + wait;
    let buffer = state.buffer_ms - wait;
    let size = title.segment_sizes_bits[index][quality];
    let d = trace.download_ms(t, size);
    let rebuffer = (d - buffer).max(0.0);
    let next = State {
        t_ms: t + d,
        buffer_ms: (buffer - d).max(0.0) + seg,
        rebuffer_ms: state.rebuffer_ms + rebuffer,
    };
    let row = SegmentRow {
        index,
        quality,
        bitrate_kbps: title.bitrates_kbps[quality],
        size_bits: size,
        start_ms: t,
        end_ms: t + d,
        buffer_before_ms: buffer,
        rebuffer_ms: rebuffer,
        wait_ms: wait,
    };
    (next, row)
}

/// The state after the first segment (lowest rendition at time 0; not a rebuffer).
pub fn start(title: &Title, trace: &Trace) -> (State, SegmentRow) {
    let size = title.segment_sizes_bits[0][0];
    let d = trace.download_ms(0.0, size);
    (
        State {
            t_ms: d,
            buffer_ms: title.segment_duration_ms,
            rebuffer_ms: 0.0,
        },
        SegmentRow {
            index: 0,
            quality: 0,
            bitrate_kbps: title.bitrates_kbps[0],
            size_bits: size,
            start_ms: 0.0,
            end_ms: d,
            buffer_before_ms: 0.0,
            rebuffer_ms: 0.0,
            wait_ms: 0.0,
        },
    )
}

fn summarize(
    title: &Title,
    trace: &Trace,
    algorithm: &str,
    cfg: &SimConfig,
    rows: Vec<SegmentRow>,
) -> Session {
    let qualities: Vec<usize> = rows.iter().map(|r| r.quality).collect();
    let rebuffer_s = rows.iter().map(|r| r.rebuffer_ms).sum::<f64>() / 1000.0;
    Session {
        algorithm: algorithm.into(),
        trace: trace.name.clone(),
        qoe_lin: qoe_lin(title, &qualities, rebuffer_s, cfg.rebuffer_weight),
        mean_bitrate_kbps: rows.iter().map(|r| r.bitrate_kbps).sum::<f64>() / rows.len() as f64,
        rebuffer_s,
        rebuffer_ratio: rebuffer_s * 1000.0 / (rows.len() as f64 * title.segment_duration_ms),
        startup_ms: rows[0].end_ms,
        switches: qualities.windows(2).filter(|w| w[0] != w[1]).count(),
        segments: rows,
    }
}

/// Replays `title` over `trace` with an algorithm.
pub fn simulate(title: &Title, trace: &Trace, abr: &mut dyn Abr, cfg: &SimConfig) -> Session {
    let ladder = title.ladder_bps();
    let (mut state, first) = start(title, trace);
    let mut rows = vec![first];
    let mut history = vec![sample(&rows[0], trace)];
    for index in 1..title.len() {
        let wait = (state.buffer_ms + title.segment_duration_ms - cfg.max_buffer_ms).max(0.0);
        let ctx = Context {
            ladder: &ladder,
            buffer_s: (state.buffer_ms - wait) / 1000.0,
            max_buffer_s: cfg.max_buffer_ms / 1000.0,
            segment_duration_s: title.segment_duration_ms / 1000.0,
            history: &history,
            last_choice: rows.last().map(|r| r.quality),
            segment: index,
            upcoming_sizes_bits: &title.segment_sizes_bits[index..],
            rebuffer_weight: cfg.rebuffer_weight,
        };
        let q = abr.choose(&ctx).rendition.min(ladder.len() - 1);
        let (next, row) = step(title, trace, cfg, state, index, q);
        history.push(sample(&row, trace));
        rows.push(row);
        state = next;
    }
    summarize(title, trace, abr.name(), cfg, rows)
}

/// Replays a fixed quality schedule (the first entry must be 0), for checking claimed results.
pub fn replay_schedule(
    title: &Title,
    trace: &Trace,
    qualities: &[usize],
    cfg: &SimConfig,
    algorithm: &str,
) -> Session {
    let (mut state, first) = start(title, trace);
    let mut rows = vec![first];
    for (index, &q) in qualities.iter().enumerate().skip(1) {
        let (next, row) = step(title, trace, cfg, state, index, q);
        rows.push(row);
        state = next;
    }
    summarize(title, trace, algorithm, cfg, rows)
}

fn sample(row: &SegmentRow, trace: &Trace) -> ThroughputSample {
    let latency = trace.periods().first().map_or(0.0, |p| p.latency_ms);
    ThroughputSample {
        bytes: (row.size_bits / 8.0) as u64,
        duration_s: (row.end_ms - row.start_ms) / 1000.0,
        ttfb_s: latency.min(row.end_ms - row.start_ms) / 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Period;

    fn title() -> Title {
        Title {
            segment_duration_ms: 1000.0,
            bitrates_kbps: vec![1000.0, 2000.0],
            segment_sizes_bits: vec![vec![1e6, 2e6]; 4],
        }
    }

    fn constant(kbps: f64) -> Trace {
        Trace::new(
            "c",
            vec![Period {
                duration_ms: 1e6,
                bandwidth_kbps: kbps,
                latency_ms: 0.0,
            }],
        )
        .unwrap()
    }

    #[test]
    fn rebuffering_and_qoe_follow_the_model() {
        // 1000 kbit/s: the first segment (1 Mbit) takes 1 s of startup; each 2 Mbit segment then
        // takes 2 s against 1 s of buffer: 1 s of rebuffering each.
        let s = replay_schedule(
            &title(),
            &constant(1000.0),
            &[0, 1, 1, 1],
            &SimConfig::default(),
            "fixed",
        );
        assert_eq!(s.startup_ms, 1000.0);
        assert!((s.rebuffer_s - 3.0).abs() < 1e-9);
        // 1 + 2 + 2 + 2 − 4.3 × 3 − 1
        assert!(
            (s.qoe_lin - (7.0 - 12.9 - 1.0)).abs() < 1e-9,
            "{}",
            s.qoe_lin
        );
        assert_eq!(s.switches, 1);
    }

    #[test]
    fn a_full_buffer_waits() {
        let cfg = SimConfig {
            max_buffer_ms: 2000.0,
            ..SimConfig::default()
        };
        let s = replay_schedule(&title(), &constant(100_000.0), &[0, 0, 0, 0], &cfg, "fixed");
        assert!(s.segments[2].wait_ms > 0.0, "{:?}", s.segments[2]);
        assert!(
            s.segments
                .iter()
                .all(|r| r.buffer_before_ms + 1000.0 <= 2000.0 + 1e-9)
        );
        assert_eq!(s.rebuffer_s, 0.0);
    }
}
