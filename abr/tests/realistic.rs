//! `abr-replay --mode realistic` runs the player's own playback model ([`abr::playback`]) on the
//! simulated clock. Until it did, it ran a copy of the model of its own; the figures below are
//! that copy's, on the three shared suites, taken before it was removed (the classic algorithms
//! only: Reel's default is tuned over time, and its figures would move with it). They were
//! re-taken once since, on purpose: abandonment now pays a request's round trip once instead of
//! projecting it over the whole body (`abr::abandon`), which changes a few downloads on the
//! traces with latency. Any other change to them is a regression.
//!
//! The two agree exactly but for one thing: the player stalls when the buffer falls to its stall
//! threshold (50 ms), where the copy let it run to 0. With the threshold at 0 the figures are
//! the copy's to the last decision; with the player's threshold, only sessions that stall
//! change (a stall starts 50 ms earlier, and those 50 ms count toward resuming).

use std::path::{Path, PathBuf};

use abr::playback::BufferPolicy;
use abr::realistic::{PlayerModel, simulate_player};
use abr::sim::Session;
use abr::title::Title;
use abr::trace::Trace;
use abr::tracegen::{self, Family, Split};

/// (suite, trace directory, title, rebuffer weight, title length in segments or 0 for all), as
/// `abr-replay --suite` has them.
const SUITES: [(&str, &str, &str, f64, usize); 3] = [
    ("fcc", "sd_fs", "bbb.json", 4.3, 60),
    ("3g", "3Glogs", "bbb.json", 4.3, 0),
    ("4g", "4Glogs", "bbb4k.json", 35.0, 0),
];

/// The copy's figures per suite and algorithm: a digest of every decision (Σ over sessions k and
/// segments j of (quality + 1)(j + 1)(k + 1)), Σ QoE_lin, Σ rebuffering in s, Σ downloads
/// abandoned.
const BEFORE: [(&str, &str, u64, f64, f64, usize); 12] = [
    (
        "fcc",
        "throughput",
        234537575,
        19003.698891327378,
        4.498629923867661,
        1,
    ),
    ("fcc", "bba", 300996104, 35157.81900000002, 0.0, 3),
    ("fcc", "bola", 277265229, 22597.339999999993, 0.0, 0),
    (
        "fcc",
        "mpc",
        322337190,
        42116.4895656953,
        46.50498472202185,
        9,
    ),
    (
        "3g",
        "throughput",
        259060671,
        -21383.298489905534,
        7876.482672071056,
        156,
    ),
    (
        "3g",
        "bba",
        344949338,
        -20994.258820669154,
        9033.855307132364,
        174,
    ),
    (
        "3g",
        "bola",
        351070727,
        -18459.39388480314,
        8509.825787163521,
        232,
    ),
    (
        "3g",
        "mpc",
        341521459,
        -22624.009992706036,
        9627.3651145828,
        256,
    ),
    (
        "4g",
        "throughput",
        76020786,
        116038.48502800948,
        37.40042777115785,
        22,
    ),
    (
        "4g",
        "bba",
        88296972,
        194712.18772923033,
        41.50892202199098,
        45,
    ),
    (
        "4g",
        "bola",
        87184125,
        178482.8346241788,
        40.119010737749086,
        21,
    ),
    (
        "4g",
        "mpc",
        88392948,
        206768.9741418345,
        95.50073880472887,
        56,
    ),
];

fn traces_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces")
}

/// A suite's title and every trace, in file-name order (as `abr-replay --suite` reads them).
fn suite(name: &str) -> (Title, Vec<Trace>, f64) {
    let (_, dir, title_file, weight, length) = SUITES
        .into_iter()
        .find(|s| s.0 == name)
        .expect("a shared suite");
    let mut title =
        Title::from_json(&std::fs::read_to_string(traces_root().join(title_file)).unwrap())
            .unwrap();
    if length > 0 {
        title = title.truncated(length);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(traces_root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    let traces = files
        .iter()
        .map(|f| {
            let name = f.file_stem().unwrap().to_string_lossy().to_string();
            Trace::from_json(&name, &std::fs::read_to_string(f).unwrap()).unwrap()
        })
        .collect();
    (title, traces, weight)
}

fn replay(
    title: &Title,
    traces: &[Trace],
    algorithm: &str,
    model: &PlayerModel,
) -> Vec<(Session, usize)> {
    traces
        .iter()
        .map(|trace| {
            let mut abr = abr::by_name(algorithm).unwrap();
            let (session, waste) = simulate_player(title, trace, abr.as_mut(), model);
            (session, waste.abandoned)
        })
        .collect()
}

fn model(weight: f64, stall_threshold_s: f64) -> PlayerModel {
    PlayerModel {
        buffer: BufferPolicy {
            stall_threshold_s,
            ..BufferPolicy::default()
        },
        rebuffer_weight: weight,
        ..PlayerModel::default()
    }
}

fn qualities(s: &Session) -> Vec<usize> {
    s.segments.iter().map(|r| r.quality).collect()
}

#[test]
fn with_no_stall_threshold_the_replay_is_the_old_copy_to_the_last_decision() {
    for (name, ..) in SUITES {
        let (title, traces, weight) = suite(name);
        for &(_, algorithm, digest, qoe, rebuffer_s, abandoned) in
            BEFORE.iter().filter(|b| b.0 == name)
        {
            let sessions = replay(&title, &traces, algorithm, &model(weight, 0.0));
            let got_digest: u64 = sessions
                .iter()
                .enumerate()
                .flat_map(|(k, (s, _))| {
                    qualities(s)
                        .into_iter()
                        .enumerate()
                        .map(move |(j, q)| (q as u64 + 1) * (j as u64 + 1) * (k as u64 + 1))
                })
                .sum();
            let got_qoe: f64 = sessions.iter().map(|(s, _)| s.qoe_lin).sum();
            let got_rebuffer: f64 = sessions.iter().map(|(s, _)| s.rebuffer_s).sum();
            let got_abandoned: usize = sessions.iter().map(|(_, a)| a).sum();
            assert_eq!(got_digest, digest, "{name} {algorithm}: decisions");
            assert!(
                (got_qoe - qoe).abs() < 1e-6 * qoe.abs().max(1.0),
                "{name} {algorithm}: QoE {got_qoe} against {qoe}"
            );
            assert!(
                (got_rebuffer - rebuffer_s).abs() < 1e-6,
                "{name} {algorithm}: rebuffering {got_rebuffer} against {rebuffer_s}"
            );
            assert_eq!(got_abandoned, abandoned, "{name} {algorithm}: abandoned");
        }
    }
}

#[test]
fn the_players_stall_threshold_changes_only_sessions_that_stall() {
    let mut changed = 0;
    for (name, ..) in SUITES {
        let (title, traces, weight) = suite(name);
        for algorithm in abr::ALGORITHMS {
            let player = replay(
                &title,
                &traces,
                algorithm,
                &model(weight, BufferPolicy::default().stall_threshold_s),
            );
            let zero = replay(&title, &traces, algorithm, &model(weight, 0.0));
            for ((p, _), (z, _)) in player.iter().zip(&zero) {
                if p.rebuffer_s > 0.0 || z.rebuffer_s > 0.0 {
                    changed += usize::from(qualities(p) != qualities(z) || p.qoe_lin != z.qoe_lin);
                    continue;
                }
                assert_eq!(qualities(p), qualities(z), "{name} {algorithm} {}", p.trace);
                assert_eq!(p.qoe_lin, z.qoe_lin, "{name} {algorithm} {}", p.trace);
                assert_eq!(p.startup_ms, z.startup_ms, "{name} {algorithm} {}", p.trace);
            }
        }
    }
    assert!(
        changed > 0,
        "the threshold makes a difference somewhere, or this test says nothing"
    );
}

/// An algorithm's mean QoE_lin and rebuffer seconds a session over a family.
type Row = (&'static str, f64, f64);

#[test]
fn in_the_players_own_model_reel_leads_on_every_held_out_family() {
    // Issue 32's bench ranks the algorithms in the benchmark model; the player follows only if
    // the ranking holds with its own start-up and resume thresholds, watermarks and abandonment.
    // The test split (never tuned on), 150 traces a family: 40 are too few for a family's mean.
    let title = Title::from_json(&std::fs::read_to_string(traces_root().join("bbb.json")).unwrap())
        .unwrap()
        .truncated(60);
    let model = model(4.3, BufferPolicy::default().stall_threshold_s);
    let tables: Vec<(Family, Vec<Row>)> = std::thread::scope(|scope| {
        let jobs: Vec<_> = Family::ALL
            .map(|family| {
                let (title, model) = (&title, &model);
                scope.spawn(move || {
                    let traces = tracegen::suite(family, Split::Test, 150);
                    let rows = abr::ALGORITHMS
                        .iter()
                        .map(|&algorithm| {
                            let sessions = replay(title, &traces, algorithm, model);
                            let n = sessions.len() as f64;
                            let qoe = sessions.iter().map(|(s, _)| s.qoe_lin).sum::<f64>() / n;
                            let rebuffer =
                                sessions.iter().map(|(s, _)| s.rebuffer_s).sum::<f64>() / n;
                            (algorithm, qoe, rebuffer)
                        })
                        .collect();
                    (family, rows)
                })
            })
            .into_iter()
            .collect();
        jobs.into_iter().map(|j| j.join().unwrap()).collect()
    });
    for (family, rows) in &tables {
        let reel = rows.iter().find(|r| r.0 == "reel").unwrap();
        for other in rows.iter().filter(|r| r.0 != "reel") {
            assert!(
                reel.1 > other.1,
                "{}: reel QoE {:.2} ≤ {} {:.2} ({rows:?})",
                family.name(),
                reel.1,
                other.0,
                other.1
            );
        }
        // The other predictive controller: Reel stalls less wherever it plans.
        let mpc = rows.iter().find(|r| r.0 == "mpc").unwrap();
        assert!(
            reel.2 < mpc.2,
            "{}: reel rebuffers {:.2} s a session, RobustMPC {:.2}",
            family.name(),
            reel.2,
            mpc.2
        );
    }
}
