//! Network traces for replay, and the download model of ABR-BENCH.md: a request first waits one
//! latency, then its bits flow at the current period's bandwidth, both crossing period boundaries
//! (the latency proportionally), the trace looping from its start when exhausted.

use serde::Deserialize;

/// One stretch of constant network conditions.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Period {
    /// Length in ms.
    pub duration_ms: f64,
    /// Bandwidth in kbit/s (= bits per ms).
    pub bandwidth_kbps: f64,
    /// Round-trip latency in ms.
    #[serde(default)]
    pub latency_ms: f64,
}

/// A network trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// Name (file stem).
    pub name: String,
    periods: Vec<Period>,
    /// End time of each period within one loop.
    ends: Vec<f64>,
}

/// Errors reading a trace.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TraceError {
    /// Not JSON of the expected shape.
    #[error("trace {0}: {1}")]
    Json(String, String),
    /// A line of a text trace is not `time_s bandwidth_Mbps`.
    #[error("trace {0}, line {1}: expected `time_s bandwidth_Mbps`")]
    Line(String, usize),
    /// Empty, or no period with bandwidth.
    #[error("trace {0} has no period with bandwidth")]
    Empty(String),
}

impl Trace {
    /// A trace from periods; fails if no period carries any data.
    pub fn new(name: impl Into<String>, periods: Vec<Period>) -> Result<Self, TraceError> {
        let name = name.into();
        let periods: Vec<Period> = periods
            .into_iter()
            .filter(|p| p.duration_ms > 0.0 && p.duration_ms.is_finite())
            .map(|p| Period {
                bandwidth_kbps: p.bandwidth_kbps.max(0.0),
                latency_ms: p.latency_ms.max(0.0),
                ..p
            })
            .collect();
        if !periods.iter().any(|p| p.bandwidth_kbps > 0.0) {
            return Err(TraceError::Empty(name));
        }
        let mut t = 0.0;
        let ends = periods
            .iter()
            .map(|p| {
                t += p.duration_ms;
                t
            })
            .collect();
        Ok(Trace {
            name,
            periods,
            ends,
        })
    }

    /// The JSON form: `[{"duration_ms", "bandwidth_kbps", "latency_ms"}, …]`.
    pub fn from_json(name: &str, text: &str) -> Result<Self, TraceError> {
        let periods: Vec<Period> =
            serde_json::from_str(text).map_err(|e| TraceError::Json(name.into(), e.to_string()))?;
        Trace::new(name, periods)
    }

    /// The text ("cooked") form: `time_s bandwidth_Mbps` per line, each holding until the next;
    /// the last holds as long as the one before it.
    pub fn from_cooked(name: &str, text: &str, latency_ms: f64) -> Result<Self, TraceError> {
        let mut samples = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (Some(t), Some(b)) = (parts.next(), parts.next()) else {
                return Err(TraceError::Line(name.into(), i + 1));
            };
            let (Ok(t), Ok(b)) = (t.parse::<f64>(), b.parse::<f64>()) else {
                return Err(TraceError::Line(name.into(), i + 1));
            };
            samples.push((t, b));
        }
        let mut periods = Vec::with_capacity(samples.len());
        for (i, &(t, mbps)) in samples.iter().enumerate() {
            let duration_s = match samples.get(i + 1) {
                Some(&(next, _)) => next - t,
                None if i > 0 => t - samples[i - 1].0,
                None => 1.0,
            };
            periods.push(Period {
                duration_ms: duration_s * 1000.0,
                bandwidth_kbps: mbps * 1000.0,
                latency_ms,
            });
        }
        Trace::new(name, periods)
    }

    /// Length of one loop, ms.
    pub fn length_ms(&self) -> f64 {
        *self.ends.last().expect("a trace has periods")
    }

    /// The periods.
    pub fn periods(&self) -> &[Period] {
        &self.periods
    }

    /// (period index, ms left in it) at network time `t_ms`.
    fn locate(&self, t_ms: f64) -> (usize, f64) {
        let t = t_ms.rem_euclid(self.length_ms());
        let i = self
            .ends
            .partition_point(|&end| end <= t)
            .min(self.periods.len() - 1);
        (i, self.ends[i] - t)
    }

    /// Where a download started at network time `t_ms` stands once its latency has passed:
    /// (period index, ms left in that period, ms the latency took). The latency is the current
    /// period's, crossing period boundaries proportionally.
    fn after_latency(&self, t_ms: f64) -> (usize, f64, f64) {
        let (mut i, mut left) = self.locate(t_ms);
        let mut elapsed = 0.0;
        let mut fraction = 1.0;
        while fraction > 0.0 {
            let latency = self.periods[i].latency_ms;
            if latency <= 0.0 {
                break;
            }
            let need = fraction * latency;
            if need <= left {
                elapsed += need;
                left -= need;
                break;
            }
            elapsed += left;
            fraction -= left / latency;
            i = (i + 1) % self.periods.len();
            left = self.periods[i].duration_ms;
        }
        (i, left, elapsed)
    }

    /// Bits of a download started at network time `t_ms` received after `elapsed_ms` (latency
    /// first, then the transfer), the inverse of [`Trace::download_ms`].
    pub fn bits_within(&self, t_ms: f64, elapsed_ms: f64) -> f64 {
        let (mut i, mut left, latency) = self.after_latency(t_ms);
        if elapsed_ms <= latency {
            return 0.0;
        }
        let mut time = elapsed_ms - latency;
        let mut bits = 0.0;
        loop {
            let bw = self.periods[i].bandwidth_kbps;
            if left >= time {
                return bits + bw * time;
            }
            bits += bw * left;
            time -= left;
            i = (i + 1) % self.periods.len();
            left = self.periods[i].duration_ms;
        }
    }

    /// Milliseconds to download `bits` starting at network time `t_ms`.
    pub fn download_ms(&self, t_ms: f64, bits: f64) -> f64 {
        let (mut i, mut left, mut elapsed) = self.after_latency(t_ms);
        let mut remaining = bits;
        loop {
            let bw = self.periods[i].bandwidth_kbps;
            let can = bw * left;
            if bw > 0.0 && can >= remaining {
                return elapsed + remaining / bw;
            }
            remaining -= can;
            elapsed += left;
            i = (i + 1) % self.periods.len();
            left = self.periods[i].duration_ms;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(periods: &[(f64, f64, f64)]) -> Trace {
        Trace::new(
            "t",
            periods
                .iter()
                .map(|&(duration_ms, bandwidth_kbps, latency_ms)| Period {
                    duration_ms,
                    bandwidth_kbps,
                    latency_ms,
                })
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn bits_within_inverts_download_time() {
        let t = trace(&[
            (1000.0, 1000.0, 50.0),
            (500.0, 200.0, 10.0),
            (2000.0, 3000.0, 0.0),
        ]);
        for start in [0.0, 700.0, 1200.0, 4000.0] {
            for bits in [1.0, 5e4, 9e5, 3e6] {
                let d = t.download_ms(start, bits);
                assert!((t.bits_within(start, d) - bits).abs() < 1e-6 * bits.max(1.0));
            }
        }
        assert_eq!(t.bits_within(0.0, 40.0), 0.0);
    }

    #[test]
    fn latency_then_transfer_within_one_period() {
        let t = trace(&[(10_000.0, 1000.0, 50.0)]);
        // 1 000 000 bits at 1000 bits/ms: 1000 ms, after 50 ms of latency.
        assert!((t.download_ms(0.0, 1e6) - 1050.0).abs() < 1e-9);
    }

    #[test]
    fn transfers_cross_periods_and_the_trace_loops() {
        let t = trace(&[(1000.0, 1000.0, 0.0), (1000.0, 500.0, 0.0)]);
        // Start at 500 ms: 500 000 bits in the first period, then 250 000 at 500 bits/ms = 500 ms.
        assert!((t.download_ms(500.0, 750_000.0) - 1000.0).abs() < 1e-9);
        // Looping: at 1900 ms, 100 ms at 500, then back to 1000 bits/ms.
        assert!((t.download_ms(1900.0, 150_000.0) - 200.0).abs() < 1e-9);
    }

    #[test]
    fn latency_crosses_periods_proportionally() {
        // 100 ms left at latency 200 covers half the latency; the rest is half of 40 ms.
        let t = trace(&[(1000.0, 1000.0, 200.0), (1000.0, 1000.0, 40.0)]);
        assert!((t.download_ms(900.0, 0.0) - 120.0).abs() < 1e-9);
    }

    #[test]
    fn zero_bandwidth_periods_are_waited_out() {
        let t = trace(&[(1000.0, 0.0, 0.0), (1000.0, 1000.0, 0.0)]);
        assert!((t.download_ms(0.0, 1000.0) - 1001.0).abs() < 1e-9);
        assert!(Trace::new("x", vec![]).is_err());
    }

    #[test]
    fn cooked_traces_hold_each_sample_until_the_next() {
        let t = Trace::from_cooked("c", "0 1.0\n1.5 2.0\n2.0 4.0\n", 10.0).unwrap();
        let p = t.periods();
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].duration_ms, 1500.0);
        assert_eq!(p[1].bandwidth_kbps, 2000.0);
        assert_eq!(p[2].duration_ms, 500.0);
        assert!(Trace::from_cooked("c", "0 x\n", 0.0).is_err());
    }
}
