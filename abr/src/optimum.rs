//! The offline optimum: the best QoE_lin any schedule reaches with the whole trace known, by
//! dynamic programming over (segment, rendition, buffer, time). States whose buffer and network
//! time fall in the same small bucket are merged, keeping the better one (their futures are all
//! but identical), and each layer keeps at most a beam of the best states; every kept state
//! carries its exact simulated time, buffer and rebuffering, so the schedule found is replayed by
//! [`crate::sim::replay_schedule`] to exactly the QoE claimed.

use std::collections::HashMap;

use crate::sim::{self, SimConfig, State};
use crate::title::Title;
use crate::trace::Trace;

/// Resolution and breadth of the search.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimumConfig {
    /// Bucket of buffer level and network time, ms.
    pub bucket_ms: f64,
    /// Most states kept per segment.
    pub beam: usize,
}

impl Default for OptimumConfig {
    fn default() -> Self {
        OptimumConfig {
            bucket_ms: 25.0,
            beam: 20_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Node {
    state: State,
    /// Σ bitrate − Σ |Δ bitrate| so far (Mbit/s).
    value: f64,
    quality: usize,
    parent: usize,
}

impl Node {
    fn score(&self, weight: f64) -> f64 {
        self.value - weight * self.state.rebuffer_ms / 1000.0
    }
}

/// The best schedule found: one rendition per segment (the first is always 0).
pub fn optimum(
    title: &Title,
    trace: &Trace,
    cfg: &SimConfig,
    search: &OptimumConfig,
) -> Vec<usize> {
    let r: Vec<f64> = title.bitrates_kbps.iter().map(|k| k / 1000.0).collect();
    let (first, _) = sim::start(title, trace);
    let mut layers: Vec<Vec<Node>> = vec![vec![Node {
        state: first,
        value: r[0],
        quality: 0,
        parent: 0,
    }]];
    for index in 1..title.len() {
        let prev = layers.last().expect("a layer");
        let mut buckets: HashMap<(usize, i64, i64), usize> = HashMap::new();
        let mut next: Vec<Node> = Vec::new();
        for (pi, node) in prev.iter().enumerate() {
            for q in 0..r.len() {
                let (state, _) = sim::step(title, trace, cfg, node.state, index, q);
                let candidate = Node {
                    state,
                    value: node.value + r[q] - (r[q] - r[node.quality]).abs(),
                    quality: q,
                    parent: pi,
                };
                let key = (
                    q,
                    (state.buffer_ms / search.bucket_ms).floor() as i64,
                    (state.t_ms / search.bucket_ms).floor() as i64,
                );
                match buckets.get(&key) {
                    Some(&i)
                        if next[i].score(cfg.rebuffer_weight)
                            >= candidate.score(cfg.rebuffer_weight) => {}
                    Some(&i) => next[i] = candidate,
                    None => {
                        buckets.insert(key, next.len());
                        next.push(candidate);
                    }
                }
            }
        }
        if next.len() > search.beam {
            // Keep the best `beam` states (their order does not matter).
            next.select_nth_unstable_by(search.beam - 1, |a, b| {
                b.score(cfg.rebuffer_weight)
                    .total_cmp(&a.score(cfg.rebuffer_weight))
            });
            next.truncate(search.beam);
        }
        layers.push(next);
    }
    let last = layers.last().expect("a layer");
    let mut i = (0..last.len())
        .max_by(|&a, &b| {
            last[a]
                .score(cfg.rebuffer_weight)
                .total_cmp(&last[b].score(cfg.rebuffer_weight))
        })
        .expect("a state");
    let mut schedule = vec![0; layers.len()];
    for (index, layer) in layers.iter().enumerate().rev() {
        schedule[index] = layer[i].quality;
        i = layer[i].parent;
    }
    schedule
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::replay_schedule;
    use crate::trace::Period;

    fn title(n: usize) -> Title {
        Title {
            segment_duration_ms: 2000.0,
            bitrates_kbps: vec![500.0, 1000.0, 3000.0],
            segment_sizes_bits: (0..n)
                .map(|i| {
                    let k = 1.0 + 0.3 * ((i * 7 % 5) as f64);
                    vec![1e6 * k, 2e6 * k, 6e6 * k]
                })
                .collect(),
        }
    }

    fn trace() -> Trace {
        Trace::new(
            "steps",
            [2500.0, 800.0, 4000.0, 300.0, 1500.0]
                .iter()
                .map(|&b| Period {
                    duration_ms: 7000.0,
                    bandwidth_kbps: b,
                    latency_ms: 30.0,
                })
                .collect(),
        )
        .unwrap()
    }

    /// Every schedule, for a title short enough to enumerate.
    fn brute_force(title: &Title, trace: &Trace, cfg: &SimConfig) -> f64 {
        let n = title.len();
        let q = title.bitrates_kbps.len();
        let mut best = f64::NEG_INFINITY;
        for code in 0..q.pow((n - 1) as u32) {
            let mut schedule = vec![0];
            let mut c = code;
            for _ in 1..n {
                schedule.push(c % q);
                c /= q;
            }
            best = best.max(replay_schedule(title, trace, &schedule, cfg, "x").qoe_lin);
        }
        best
    }

    #[test]
    fn matches_exhaustive_search_and_replays_to_its_claim() {
        let cfg = SimConfig::default();
        let t = title(8);
        let schedule = optimum(&t, &trace(), &cfg, &OptimumConfig::default());
        let replayed = replay_schedule(&t, &trace(), &schedule, &cfg, "optimum").qoe_lin;
        let exhaustive = brute_force(&t, &trace(), &cfg);
        assert!(
            (replayed - exhaustive).abs() < 1e-9,
            "dp {replayed} vs exhaustive {exhaustive}"
        );
    }
}
