//! Trace replay on the shared public traces: the offline optimum's schedule replays to exactly the
//! QoE it claims, no algorithm beats it, and Reel's default leads the baselines.

use std::path::{Path, PathBuf};

use abr::optimum::{OptimumConfig, optimum};
use abr::sim::{SimConfig, replay_schedule, simulate};
use abr::title::Title;
use abr::trace::Trace;

fn traces_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces")
}

fn some_traces(dir: &str, every: usize) -> Vec<Trace> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(traces_root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .step_by(every)
        .map(|f| {
            let name = f.file_stem().unwrap().to_string_lossy().to_string();
            Trace::from_json(&name, &std::fs::read_to_string(f).unwrap()).unwrap()
        })
        .collect()
}

fn title(name: &str, segments: usize) -> Title {
    Title::from_json(&std::fs::read_to_string(traces_root().join(name)).unwrap())
        .unwrap()
        .truncated(segments)
}

#[test]
fn the_optimum_replays_to_its_claim_and_no_algorithm_beats_it() {
    let suites = [
        ("sd_fs", "bbb.json", 4.3, 40),
        ("3Glogs", "bbb.json", 4.3, 17),
        ("4Glogs", "bbb4k.json", 35.0, 8),
    ];
    for (dir, title_file, weight, every) in suites {
        let t = title(title_file, 24);
        let cfg = SimConfig {
            rebuffer_weight: weight,
            ..SimConfig::default()
        };
        for trace in some_traces(dir, every) {
            let schedule = optimum(&t, &trace, &cfg, &OptimumConfig::default());
            assert_eq!(schedule.len(), t.len());
            assert_eq!(schedule[0], 0, "the first segment is always the lowest");
            let best = replay_schedule(&t, &trace, &schedule, &cfg, "optimum");
            let again = replay_schedule(&t, &trace, &schedule, &cfg, "optimum");
            assert_eq!(best.qoe_lin, again.qoe_lin, "replay is deterministic");
            for name in abr::ALGORITHMS {
                let mut a = abr::by_name(name).unwrap();
                let s = simulate(&t, &trace, a.as_mut(), &cfg);
                assert!(
                    s.qoe_lin <= best.qoe_lin + 1e-9,
                    "{name} beat the optimum on {dir}/{}: {} > {}",
                    trace.name,
                    s.qoe_lin,
                    best.qoe_lin
                );
                // Every session re-simulated from its own chosen qualities gives its QoE.
                let qualities: Vec<usize> = s.segments.iter().map(|r| r.quality).collect();
                let re = replay_schedule(&t, &trace, &qualities, &cfg, name);
                assert!((re.qoe_lin - s.qoe_lin).abs() < 1e-9);
            }
        }
    }
}

#[test]
fn bad_inputs_are_clear_errors() {
    assert!(
        Title::from_json("{}")
            .unwrap_err()
            .to_string()
            .starts_with("title:")
    );
    let bad = r#"{"segment_duration_ms": 3000, "bitrates_kbps": [300, 200], "segment_sizes_bits": [[1, 2]]}"#;
    assert!(
        Title::from_json(bad)
            .unwrap_err()
            .to_string()
            .contains("increase")
    );
    assert!(
        Trace::from_json("t", "[]")
            .unwrap_err()
            .to_string()
            .contains("no period")
    );
    assert!(Trace::from_json("t", "nope").is_err());
}

#[test]
fn reel_leads_every_baseline_on_each_standard_suite() {
    // The standard suites of ABR-BENCH.md, whole: mean QoE_lin per algorithm.
    let suites = [
        ("sd_fs", "bbb.json", 60, 4.3),
        ("3Glogs", "bbb.json", usize::MAX, 4.3),
        ("4Glogs", "bbb4k.json", usize::MAX, 35.0),
    ];
    for (dir, title_file, segments, weight) in suites {
        let t = title(title_file, segments);
        let cfg = SimConfig {
            rebuffer_weight: weight,
            ..SimConfig::default()
        };
        let traces = some_traces(dir, 1);
        let mean = |name: &str| {
            traces
                .iter()
                .map(|trace| {
                    simulate(&t, trace, abr::by_name(name).unwrap().as_mut(), &cfg).qoe_lin
                })
                .sum::<f64>()
                / traces.len() as f64
        };
        let reel = mean("reel");
        for name in abr::ALGORITHMS.iter().filter(|&&n| n != "reel") {
            let other = mean(name);
            assert!(reel > other, "{dir}: reel {reel:.2} ≤ {name} {other:.2}");
        }
    }
}
