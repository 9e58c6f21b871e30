//! Seeded generators of synthetic network traces, for judging ABR algorithms on networks they
//! were not tuned on.
//!
//! The shared suites are one FCC shape (a poor minute, then a fast link), Norwegian 3G commutes
//! and Belgian 4G drives. The families here cover what those under-represent: mobile links with
//! deep fades, Wi-Fi shared with other stations, stable broadband that falls off a cliff and
//! recovers, outages of seconds to tens of seconds, slow drifts, and long round trips. Each
//! family is a small stochastic model of its own (described on [`Family`]), seeded, so a trace is
//! the same on every machine.
//!
//! Two splits keep the discipline of a held-out set: [`Split::Dev`] is for tuning, and
//! [`Split::Test`] draws from the same models with seeds no tuning run ever sees. Both are
//! reproducible by name (`fading-test-017` is always the same trace).

use crate::trace::{Period, Trace};

/// A family of networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Mobile: slow log-normal shadowing (correlated over ~10 s), fast fading every half second,
    /// and deep fades (to 2–15 % for 1–8 s) about once every 40 s; 1–8 Mbit/s on average,
    /// 50–150 ms latency.
    Fading,
    /// Wi-Fi contention: a 4–20 Mbit/s link shared with a changing number of other stations
    /// (arrivals and departures each second), short interference bursts, latency rising with
    /// the queue.
    Wifi,
    /// Stable broadband (2.5–20 Mbit/s, ±5 %) that drops to 5–25 % of its rate for 5–45 s about
    /// once a minute and recovers at once.
    Cliffs,
    /// A moderate link (1.5–10 Mbit/s) that goes dead for 2–30 s about once every 50 s.
    Outages,
    /// A rate drifting slowly between about 0.4 and 8 Mbit/s (two slow waves of 1–5 min) with
    /// 10 % noise.
    Drift,
    /// Long round trips (400–1200 ms, as satellite or a congested far path) at 1.5–12 Mbit/s with
    /// correlated variation.
    Latency,
}

/// Which seeds a trace is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// For development and tuning.
    Dev,
    /// Held out: never tuned on.
    Test,
}

impl Family {
    /// Every family, in the order tables list them.
    pub const ALL: [Family; 6] = [
        Family::Fading,
        Family::Wifi,
        Family::Cliffs,
        Family::Outages,
        Family::Drift,
        Family::Latency,
    ];

    /// Short name, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Family::Fading => "fading",
            Family::Wifi => "wifi",
            Family::Cliffs => "cliffs",
            Family::Outages => "outages",
            Family::Drift => "drift",
            Family::Latency => "latency",
        }
    }

    /// The family of a name.
    pub fn from_name(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl Split {
    /// `dev` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Dev => "dev",
            Split::Test => "test",
        }
    }

    /// The split of a name.
    pub fn from_name(name: &str) -> Option<Split> {
        match name {
            "dev" => Some(Split::Dev),
            "test" => Some(Split::Test),
            _ => None,
        }
    }
}

/// Length of every generated trace, seconds (the replay loops a trace when a session outlasts
/// it).
pub const TRACE_LENGTH_S: f64 = 300.0;

/// Traces per family and split in the standard held-out suites.
pub const TRACES_PER_FAMILY: usize = 40;

/// Trace `index` of a family and split, named `FAMILY-SPLIT-NNN`.
pub fn generate(family: Family, split: Split, index: usize) -> Trace {
    let family_salt = Family::ALL.iter().position(|&f| f == family).unwrap_or(0) as u64;
    let split_salt: u64 = match split {
        Split::Dev => 0x5eed_0000_0000,
        Split::Test => 0x7e57_0000_0000,
    };
    let mut g = Gen(fastrand::Rng::with_seed(
        split_salt ^ (family_salt << 24) ^ index as u64,
    ));
    let periods = match family {
        Family::Fading => fading(&mut g),
        Family::Wifi => wifi(&mut g),
        Family::Cliffs => cliffs(&mut g),
        Family::Outages => outages(&mut g),
        Family::Drift => drift(&mut g),
        Family::Latency => latency(&mut g),
    };
    let name = format!("{}-{}-{index:03}", family.name(), split.name());
    Trace::new(name, periods).expect("generated traces carry data")
}

/// The first `count` traces of a family and split.
pub fn suite(family: Family, split: Split, count: usize) -> Vec<Trace> {
    (0..count).map(|i| generate(family, split, i)).collect()
}

/// The periods of a trace as ABR-BENCH.md's JSON trace form.
pub fn to_json(trace: &Trace) -> String {
    let rows: Vec<String> = trace
        .periods()
        .iter()
        .map(|p| {
            format!(
                "{{\"duration_ms\": {:.0}, \"bandwidth_kbps\": {:.1}, \"latency_ms\": {:.1}}}",
                p.duration_ms, p.bandwidth_kbps, p.latency_ms
            )
        })
        .collect();
    format!("[\n  {}\n]\n", rows.join(",\n  "))
}

/// The random draws the models need, over a seeded generator.
struct Gen(fastrand::Rng);

impl Gen {
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.0.f64()
    }

    /// Log-uniform between `lo` and `hi`.
    fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (self.uniform(lo.ln(), hi.ln())).exp()
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = self.0.f64().max(1e-12);
        let v = self.0.f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    fn chance(&mut self, p: f64) -> bool {
        self.0.f64() < p
    }

    /// Mean-one gamma-distributed factor of shape `k` (Marsaglia–Tsang), for fast fading and
    /// per-period noise: larger `k`, smaller variation.
    fn gamma_unit(&mut self, k: f64) -> f64 {
        let d = k - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.0.f64().max(1e-12);
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v / k;
            }
        }
    }
}

/// An AR(1) process in the log domain: correlation time `tau_s`, stationary deviation `sigma`.
struct LogAr {
    x: f64,
    a: f64,
    sigma: f64,
}

impl LogAr {
    fn new(g: &mut Gen, step_s: f64, tau_s: f64, sigma: f64) -> Self {
        LogAr {
            x: sigma * g.normal(),
            a: (-step_s / tau_s).exp(),
            sigma,
        }
    }

    /// The next multiplicative factor (median one).
    fn next(&mut self, g: &mut Gen) -> f64 {
        self.x = self.a * self.x + (1.0 - self.a * self.a).sqrt() * self.sigma * g.normal();
        self.x.exp()
    }
}

/// Periods of `step_s` over the whole trace, from a function of (time s, generator) to
/// (bandwidth kbit/s, latency ms).
fn sampled(
    g: &mut Gen,
    step_s: f64,
    mut at: impl FnMut(f64, &mut Gen) -> (f64, f64),
) -> Vec<Period> {
    let n = (TRACE_LENGTH_S / step_s).round() as usize;
    (0..n)
        .map(|i| {
            let (bandwidth_kbps, latency_ms) = at(i as f64 * step_s, g);
            Period {
                duration_ms: step_s * 1000.0,
                bandwidth_kbps: bandwidth_kbps.max(0.0),
                latency_ms: latency_ms.max(0.0),
            }
        })
        .collect()
}

/// Intervals `[start, end)` of events arriving as a Poisson process of mean gap `mean_gap_s`,
/// each lasting a duration drawn by `length`.
fn events(
    g: &mut Gen,
    mean_gap_s: f64,
    mut length: impl FnMut(&mut Gen) -> f64,
) -> Vec<(f64, f64, f64)> {
    let mut out = Vec::new();
    // The first event comes early enough that every trace has one.
    let mut t = g.uniform(10.0, (1.5 * mean_gap_s).min(TRACE_LENGTH_S / 2.0));
    while t < TRACE_LENGTH_S {
        let len = length(g);
        let depth = g.0.f64();
        out.push((t, t + len, depth));
        t += len - mean_gap_s * g.0.f64().max(1e-12).ln();
    }
    out
}

fn within(events: &[(f64, f64, f64)], t: f64) -> Option<f64> {
    events
        .iter()
        .find(|&&(s, e, _)| t >= s && t < e)
        .map(|&(_, _, d)| d)
}

fn fading(g: &mut Gen) -> Vec<Period> {
    let mean = g.log_uniform(1000.0, 8000.0);
    let base_latency = g.uniform(50.0, 150.0);
    let mut shadow = LogAr::new(g, 0.5, 10.0, 0.45);
    let fades = events(g, 40.0, |g| g.uniform(1.0, 8.0));
    sampled(g, 0.5, |t, g| {
        let mut bw = mean * shadow.next(g) * g.gamma_unit(3.0);
        if let Some(depth) = within(&fades, t) {
            bw *= 0.02 + 0.13 * depth;
        }
        (bw, base_latency * g.uniform(0.8, 1.6))
    })
}

fn wifi(g: &mut Gen) -> Vec<Period> {
    let link = g.uniform(4000.0, 20000.0);
    let base_latency = g.uniform(5.0, 30.0);
    let mut stations: u32 = g.0.u32(0..4);
    let bursts = events(g, 50.0, |g| g.uniform(1.0, 3.0));
    sampled(g, 1.0, |t, g| {
        if g.chance(0.06) && stations < 8 {
            stations += 1;
        }
        for _ in 0..stations {
            if g.chance(0.04) {
                stations -= 1;
                break;
            }
        }
        let share = link / (1.0 + stations as f64);
        let mut bw = share * g.gamma_unit(6.0);
        if let Some(depth) = within(&bursts, t) {
            bw *= 0.1 + 0.2 * depth;
        }
        (
            bw,
            base_latency + 15.0 * stations as f64 * g.uniform(0.5, 1.5),
        )
    })
}

fn cliffs(g: &mut Gen) -> Vec<Period> {
    let base = g.log_uniform(2500.0, 20000.0);
    let base_latency = g.uniform(10.0, 40.0);
    let drops = events(g, 60.0, |g| g.uniform(5.0, 45.0));
    sampled(g, 1.0, |t, g| {
        let mut bw = base * g.uniform(0.95, 1.05);
        if let Some(depth) = within(&drops, t) {
            bw *= 0.05 + 0.2 * depth;
        }
        (bw, base_latency)
    })
}

fn outages(g: &mut Gen) -> Vec<Period> {
    let base = g.log_uniform(1500.0, 10000.0);
    let base_latency = g.uniform(30.0, 80.0);
    let mut wobble = LogAr::new(g, 1.0, 8.0, 0.2);
    let dead = events(g, 50.0, |g| g.log_uniform(2.0, 30.0));
    sampled(g, 1.0, |t, g| {
        let bw = base * wobble.next(g);
        if within(&dead, t).is_some() {
            (0.0, base_latency)
        } else {
            (bw, base_latency)
        }
    })
}

fn drift(g: &mut Gen) -> Vec<Period> {
    let centre = g.log_uniform(1000.0, 3500.0);
    let (p1, p2) = (g.uniform(60.0, 300.0), g.uniform(60.0, 300.0));
    let (f1, f2) = (g.uniform(0.0, 1.0), g.uniform(0.0, 1.0));
    let (a1, a2) = (g.uniform(0.4, 0.9), g.uniform(0.2, 0.6));
    let base_latency = g.uniform(20.0, 60.0);
    sampled(g, 1.0, |t, g| {
        let wave = a1 * (std::f64::consts::TAU * (t / p1 + f1)).sin()
            + a2 * (std::f64::consts::TAU * (t / p2 + f2)).sin();
        let bw = centre * wave.exp() * g.uniform(0.9, 1.1);
        (bw, base_latency)
    })
}

fn latency(g: &mut Gen) -> Vec<Period> {
    let base = g.log_uniform(1500.0, 12000.0);
    let rtt = g.uniform(400.0, 1200.0);
    let mut wobble = LogAr::new(g, 1.0, 15.0, 0.3);
    let fades = events(g, 90.0, |g| g.uniform(3.0, 15.0));
    sampled(g, 1.0, |t, g| {
        let mut bw = base * wobble.next(g);
        if let Some(depth) = within(&fades, t) {
            bw *= 0.1 + 0.3 * depth;
        }
        (bw, rtt * g.uniform(0.9, 1.3))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_kbps(t: &Trace) -> f64 {
        let p = t.periods();
        p.iter()
            .map(|p| p.bandwidth_kbps * p.duration_ms)
            .sum::<f64>()
            / p.iter().map(|p| p.duration_ms).sum::<f64>()
    }

    #[test]
    fn traces_are_reproducible_by_name_and_the_splits_differ() {
        for f in Family::ALL {
            let a = generate(f, Split::Dev, 3);
            assert_eq!(a, generate(f, Split::Dev, 3));
            assert_eq!(a.name, format!("{}-dev-003", f.name()));
            let b = generate(f, Split::Test, 3);
            assert_ne!(a.periods(), b.periods(), "{}", f.name());
            let length: f64 = a.periods().iter().map(|p| p.duration_ms).sum();
            assert!((length - TRACE_LENGTH_S * 1000.0).abs() < 1.0);
        }
    }

    #[test]
    fn each_family_has_its_character() {
        let dev = |f| suite(f, Split::Dev, 20);
        // Outages: every trace has dead periods, and they last seconds, not instants.
        for t in dev(Family::Outages) {
            let dead: f64 = t
                .periods()
                .iter()
                .filter(|p| p.bandwidth_kbps == 0.0)
                .map(|p| p.duration_ms)
                .sum();
            assert!(dead >= 2000.0, "{}: {dead} ms dead", t.name);
        }
        // High latency: every period's latency is at least 360 ms.
        for t in dev(Family::Latency) {
            assert!(
                t.periods().iter().all(|p| p.latency_ms >= 360.0),
                "{}",
                t.name
            );
        }
        // Fading: the deepest half-second is far below the trace's mean.
        for t in dev(Family::Fading) {
            let min = t
                .periods()
                .iter()
                .map(|p| p.bandwidth_kbps)
                .fold(f64::MAX, f64::min);
            assert!(min < 0.15 * mean_kbps(&t), "{}", t.name);
        }
        // Cliffs: a stable rate (the 90th percentile: drops can fill half a trace) and at least
        // one drop to a quarter of it.
        for t in dev(Family::Cliffs) {
            let mut rates: Vec<f64> = t.periods().iter().map(|p| p.bandwidth_kbps).collect();
            rates.sort_by(f64::total_cmp);
            let stable = rates[rates.len() * 9 / 10];
            assert!(rates[0] < 0.27 * stable, "{}", t.name);
        }
        let json = to_json(&generate(Family::Wifi, Split::Test, 0));
        let back = Trace::from_json("w", &json).unwrap();
        assert_eq!(back.periods().len(), 300);
    }
}
