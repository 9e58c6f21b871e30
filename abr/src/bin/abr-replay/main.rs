//! `abr-replay`: replays network traces against a title with Reel's ABR algorithms and the offline
//! optimum, per ABR-BENCH.md's benchmark model, and prints a table (and JSON lines on request).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use abr::optimum::{OptimumConfig, optimum};
use abr::realistic::{PlayerModel, Waste, simulate_player};
use abr::sim::{self, Session, SimConfig};
use abr::trace::Trace;
use anyhow::{Context as _, bail};
use clap::Parser;
use manifest::load_title;
use rayon::prelude::*;

mod manifest;

#[derive(Parser)]
#[command(
    name = "abr-replay",
    version,
    about = "Replay network traces against ABR algorithms"
)]
struct Cli {
    /// A standard suite: fcc, 3g or 4g (traces and title from the traces root).
    #[arg(long, conflicts_with_all = ["title", "traces"])]
    suite: Option<String>,
    /// Title: JSON (ladder and segment sizes, e.g. a title's abr-title.json), or a manifest on
    /// disk as `reel-stub encode` writes them — an HLS multivariant playlist (`.m3u8`) or a DASH
    /// MPD (`.mpd`) — with byte ranges or segment files.
    #[arg(long, requires = "traces")]
    title: Option<PathBuf>,
    /// A trace file (JSON periods, or text `time_s bandwidth_Mbps`) or a directory of them.
    #[arg(long, requires = "title")]
    traces: Option<PathBuf>,
    /// Where the suites' traces live (default: ../shared/traces beside the checkout).
    #[arg(long)]
    traces_root: Option<PathBuf>,
    /// Algorithms, comma-separated: reel, throughput, bba, bola, mpc, optimum.
    #[arg(long, default_value = "reel,throughput,bba,bola,mpc")]
    algos: String,
    /// Write one JSON object per session (with per-segment rows) to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Cut the title to this many seconds.
    #[arg(long)]
    title_length_s: Option<f64>,
    /// QoE_lin weight of a second of rebuffering (default: the suite's).
    #[arg(long)]
    rebuffer_weight: Option<f64>,
    /// Maximum buffer, ms.
    #[arg(long, default_value_t = 25_000.0)]
    max_buffer_ms: f64,
    /// `benchmark`: ABR-BENCH.md's model exactly. `realistic`: the player's own behaviour
    /// (startup and resume thresholds, watermarks, abandoning slow downloads).
    #[arg(long, value_enum, default_value_t = Mode::Benchmark)]
    mode: Mode,
    /// Latency for text traces, ms.
    #[arg(long, default_value_t = 0.0)]
    latency_ms: f64,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    Benchmark,
    Realistic,
}

fn default_traces_root() -> PathBuf {
    let here = Path::new("../shared/traces");
    if here.is_dir() {
        return here.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces")
}

fn load_traces(path: &Path, latency_ms: f64) -> anyhow::Result<Vec<Trace>> {
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("reading {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            // Hidden files (.gitkeep, .DS_Store) are not traces.
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        if v.is_empty() {
            bail!("no trace file in {}", path.display());
        }
        v.sort();
        v
    } else {
        vec![path.to_path_buf()]
    };
    files
        .iter()
        .map(|f| {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            let name = f
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
            let trace = if text.trim_start().starts_with('[') {
                Trace::from_json(&name, &text)
            } else {
                Trace::from_cooked(&name, &text, latency_ms)
            };
            trace.with_context(|| format!("reading trace {}", f.display()))
        })
        .collect()
}

struct Row {
    name: String,
    sessions: Vec<Session>,
    waste: Vec<Waste>,
}

/// One JSON line: the session, and in realistic mode what abandonment cost.
#[derive(serde::Serialize)]
struct Record<'a> {
    mode: &'static str,
    #[serde(flatten)]
    session: &'a Session,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    waste: Option<&'a Waste>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = cli.traces_root.clone().unwrap_or_else(default_traces_root);
    let (mut title, traces, weight) = match cli.suite.as_deref() {
        Some("fcc") => (
            load_title(&root.join("bbb.json"))?.truncated(60),
            load_traces(&root.join("sd_fs"), 0.0)?,
            4.3,
        ),
        Some("3g") => (
            load_title(&root.join("bbb.json"))?,
            load_traces(&root.join("3Glogs"), 0.0)?,
            4.3,
        ),
        Some("4g") => (
            load_title(&root.join("bbb4k.json"))?,
            load_traces(&root.join("4Glogs"), 0.0)?,
            35.0,
        ),
        Some(other) => bail!("unknown suite {other:?}: use fcc, 3g or 4g"),
        None => match (&cli.title, &cli.traces) {
            (Some(t), Some(tr)) => (load_title(t)?, load_traces(tr, cli.latency_ms)?, 4.3),
            _ => bail!("give --suite, or --title and --traces"),
        },
    };
    if let Some(s) = cli.title_length_s {
        let n = (s * 1000.0 / title.segment_duration_ms).round() as usize;
        title = title.truncated(n);
    }
    let cfg = SimConfig {
        max_buffer_ms: cli.max_buffer_ms,
        rebuffer_weight: cli.rebuffer_weight.unwrap_or(weight),
    };
    let algos: Vec<String> = cli
        .algos
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    for a in &algos {
        if a != "optimum" && abr::by_name(a).is_none() {
            bail!(
                "unknown algorithm {a:?}: use {} or optimum",
                abr::ALGORITHMS.join(", ")
            );
        }
    }

    let started = Instant::now();
    let total = (algos.len() * traces.len()) as u64;
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} sessions",
        )
        .expect("template"),
    );
    bar.set_message("replaying");
    let mut rows: Vec<Row> = Vec::new();
    for name in &algos {
        let model = PlayerModel {
            rebuffer_weight: cfg.rebuffer_weight,
            ..PlayerModel::default()
        };
        let (sessions, waste): (Vec<Session>, Vec<Waste>) = traces
            .par_iter()
            .map(|trace| {
                let s = if name == "optimum" {
                    let schedule = optimum(&title, trace, &cfg, &OptimumConfig::default());
                    let s = sim::replay_schedule(&title, trace, &schedule, &cfg, "optimum");
                    (s, Waste::default())
                } else {
                    let mut abr = abr::by_name(name).expect("checked above");
                    match cli.mode {
                        Mode::Benchmark => (
                            sim::simulate(&title, trace, abr.as_mut(), &cfg),
                            Waste::default(),
                        ),
                        Mode::Realistic => simulate_player(&title, trace, abr.as_mut(), &model),
                    }
                };
                bar.inc(1);
                s
            })
            .unzip();
        rows.push(Row {
            name: name.clone(),
            sessions,
            waste,
        });
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed();

    if let Some(path) = &cli.json {
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        );
        for row in &rows {
            for (s, w) in row.sessions.iter().zip(&row.waste) {
                let realistic = cli.mode == Mode::Realistic && row.name != "optimum";
                let record = Record {
                    mode: if realistic { "realistic" } else { "benchmark" },
                    session: s,
                    waste: realistic.then_some(w),
                };
                serde_json::to_writer(&mut out, &record)?;
                out.write_all(b"\n")?;
            }
        }
    }

    let opt = rows.iter().find(|r| r.name == "optimum");
    // The "streamable" sessions: traces where even the optimum stalls under half a second.
    let streamable: Option<Vec<bool>> =
        opt.map(|o| o.sessions.iter().map(|s| s.rebuffer_s < 0.5).collect());
    let mean = |v: &mut dyn Iterator<Item = f64>| {
        let (sum, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
        if n == 0 { f64::NAN } else { sum / n as f64 }
    };
    println!(
        "{} traces, {} segments of {:.1} s, rebuffer weight {}, max buffer {:.0} ms",
        traces.len(),
        title.len(),
        title.segment_duration_ms / 1000.0,
        cfg.rebuffer_weight,
        cfg.max_buffer_ms
    );
    if cli.mode == Mode::Realistic {
        println!(
            "realistic mode: the player's startup/resume thresholds, watermarks {:.0}/{:.0} s and \
             abandonment; the optimum (if asked) is the benchmark model's",
            PlayerModel::default().buffer.low_watermark_s,
            PlayerModel::default().buffer.high_watermark_s
        );
    }
    println!(
        "{:<12} {:>10} {:>9} {:>12} {:>13} {:>10} {:>9} {:>10}",
        "algorithm",
        "QoE_lin",
        "% opt",
        "% opt strm",
        "bitrate kb/s",
        "rebuf %",
        "switches",
        "abandoned"
    );
    for row in &rows {
        let q = mean(&mut row.sessions.iter().map(|s| s.qoe_lin));
        // A share of the optimum only means something while the optimum is positive.
        let share = |a: f64, b: f64| (b > 0.0).then(|| 100.0 * a / b);
        let pct = opt.and_then(|o| share(q, mean(&mut o.sessions.iter().map(|s| s.qoe_lin))));
        let pct_streamable = opt.zip(streamable.as_ref()).and_then(|(o, keep)| {
            let a = mean(
                &mut row
                    .sessions
                    .iter()
                    .zip(keep)
                    .filter(|(_, k)| **k)
                    .map(|(s, _)| s.qoe_lin),
            );
            let b = mean(
                &mut o
                    .sessions
                    .iter()
                    .zip(keep)
                    .filter(|(_, k)| **k)
                    .map(|(s, _)| s.qoe_lin),
            );
            share(a, b)
        });
        println!(
            "{:<12} {:>10.2} {:>9} {:>12} {:>13.0} {:>10.3} {:>9.1} {:>10.2}",
            row.name,
            q,
            pct.map_or("-".into(), |p| format!("{p:.1}")),
            pct_streamable.map_or("-".into(), |p| format!("{p:.1}")),
            mean(&mut row.sessions.iter().map(|s| s.mean_bitrate_kbps)),
            100.0 * mean(&mut row.sessions.iter().map(|s| s.rebuffer_ratio)),
            mean(&mut row.sessions.iter().map(|s| s.switches as f64)),
            mean(&mut row.waste.iter().map(|w| w.abandoned as f64)),
        );
    }
    if let Some(keep) = &streamable {
        println!(
            "streamable (optimum stalls < 0.5 s): {} of {} traces",
            keep.iter().filter(|k| **k).count(),
            keep.len()
        );
    }
    println!("{} sessions in {:.2} s", total, elapsed.as_secs_f64());
    Ok(())
}
