//! `abr-replay`: replays network traces against a title with Reel's ABR algorithms and the offline
//! optimum, per ABR-BENCH.md's benchmark model, and prints a table (and JSON lines on request).
//! The traces are a shared suite, files of the user's, or Reel's generated held-out families
//! ([`abr::tracegen`]), one table per family; the optimum's schedules are cached on disk.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use abr::realistic::{PlayerModel, Waste, simulate_player};
use abr::sim::{self, Session, SimConfig};
use abr::title::Title;
use abr::trace::Trace;
use abr::tracegen;
use anyhow::{Context as _, bail};
use clap::Parser;
use manifest::load_title;
use optimum_cache::OptimumCache;
use rayon::prelude::*;

mod manifest;
mod optimum_cache;

#[derive(Parser)]
#[command(
    name = "abr-replay",
    version,
    about = "Replay network traces against ABR algorithms"
)]
struct Cli {
    /// A suite: the shared fcc, 3g or 4g (traces and title from the traces root), or Reel's
    /// generated held-out traces over bbb.json cut to 180 s — `dev` (for tuning) or `test`
    /// (never tuned on), every family, or one: `test:fading` (families: fading, wifi, cliffs,
    /// outages, drift, latency).
    #[arg(long, conflicts_with_all = ["title", "traces"])]
    suite: Option<String>,
    /// Write the suite's (or --traces') traces as JSON files into this directory, and stop.
    #[arg(long)]
    write_traces: Option<PathBuf>,
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
    /// Algorithms, comma-separated: reel, throughput, bba, bola, mpc, optimum (default: all
    /// five algorithms, and the optimum too for the generated suites).
    #[arg(long)]
    algos: Option<String>,
    /// Traces per family of a generated suite.
    #[arg(long, default_value_t = tracegen::TRACES_PER_FAMILY)]
    traces_per_family: usize,
    /// Where the optimum's schedules are kept between runs (default: the platform's cache
    /// directory, `~/.cache/reel/abr-optimum` on Linux).
    #[arg(long, conflicts_with = "no_optimum_cache")]
    optimum_cache: Option<PathBuf>,
    /// Search the optimum afresh every run, storing nothing.
    #[arg(long)]
    no_optimum_cache: bool,
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
    /// Wall-clock time the algorithm's sessions took.
    seconds: f64,
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

/// Traces replayed together against one title and summarised in one table.
struct Group {
    label: String,
    title: Title,
    traces: Vec<Trace>,
    rebuffer_weight: f64,
}

/// The groups a `--suite` names: a shared suite (`fcc`, `3g`, `4g`) or generated held-out
/// traces (`dev`, `test`, or one family of them: `test:fading`) over `bbb.json` cut to 180 s.
fn suite_groups(name: &str, root: &Path, per_family: usize) -> anyhow::Result<Vec<Group>> {
    let group = |label: &str, title: Title, traces, rebuffer_weight| Group {
        label: label.into(),
        title,
        traces,
        rebuffer_weight,
    };
    Ok(match name {
        "fcc" => vec![group(
            "fcc",
            load_title(&root.join("bbb.json"))?.truncated(60),
            load_traces(&root.join("sd_fs"), 0.0)?,
            4.3,
        )],
        "3g" => vec![group(
            "3g",
            load_title(&root.join("bbb.json"))?,
            load_traces(&root.join("3Glogs"), 0.0)?,
            4.3,
        )],
        "4g" => vec![group(
            "4g",
            load_title(&root.join("bbb4k.json"))?,
            load_traces(&root.join("4Glogs"), 0.0)?,
            35.0,
        )],
        other => {
            let (split, family) = other.split_once(':').unwrap_or((other, ""));
            let Some(split) = tracegen::Split::from_name(split) else {
                bail!("unknown suite {other:?}: use fcc, 3g, 4g, dev, test or SPLIT:FAMILY");
            };
            let families = if family.is_empty() {
                tracegen::Family::ALL.to_vec()
            } else {
                vec![tracegen::Family::from_name(family).with_context(|| {
                    format!(
                        "unknown trace family {family:?}: use {}",
                        tracegen::Family::ALL.map(|f| f.name()).join(", ")
                    )
                })?]
            };
            let title = load_title(&root.join("bbb.json"))?.truncated(60);
            families
                .into_iter()
                .map(|f| {
                    group(
                        &format!("{}:{}", split.name(), f.name()),
                        title.clone(),
                        tracegen::suite(f, split, per_family),
                        4.3,
                    )
                })
                .collect()
        }
    })
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = cli.traces_root.clone().unwrap_or_else(default_traces_root);
    let mut groups = match (cli.suite.as_deref(), &cli.title, &cli.traces) {
        (Some(name), _, _) => suite_groups(name, &root, cli.traces_per_family)?,
        (None, Some(t), Some(tr)) => vec![Group {
            label: tr.display().to_string(),
            title: load_title(t)?,
            traces: load_traces(tr, cli.latency_ms)?,
            rebuffer_weight: 4.3,
        }],
        _ => bail!("give --suite, or --title and --traces"),
    };
    if let Some(dir) = &cli.write_traces {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut n = 0;
        for trace in groups.iter().flat_map(|g| &g.traces) {
            let path = dir.join(format!("{}.json", trace.name));
            std::fs::write(&path, tracegen::to_json(trace))
                .with_context(|| format!("writing {}", path.display()))?;
            n += 1;
        }
        println!("{n} traces written to {}", dir.display());
        return Ok(());
    }
    if let Some(s) = cli.title_length_s {
        for g in &mut groups {
            let n = (s * 1000.0 / g.title.segment_duration_ms).round() as usize;
            g.title = g.title.clone().truncated(n);
        }
    }
    let algos = algorithms(&cli)?;
    let cache = OptimumCache::at(match (&cli.optimum_cache, cli.no_optimum_cache) {
        (_, true) => None,
        (Some(dir), false) => Some(dir.clone()),
        (None, false) => OptimumCache::default_dir(),
    });
    let mut json = match &cli.json {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => None,
    };
    for (i, group) in groups.iter().enumerate() {
        if i > 0 {
            println!();
        }
        let cfg = SimConfig {
            max_buffer_ms: cli.max_buffer_ms,
            rebuffer_weight: cli.rebuffer_weight.unwrap_or(group.rebuffer_weight),
        };
        let rows = replay_group(&cli, group, &algos, &cfg, &cache);
        if let Some(out) = json.as_mut() {
            write_json(out, &cli, &rows)?;
        }
        print_table(&cli, group, &cfg, &rows);
    }
    if let Some(mut out) = json {
        out.flush()?;
    }
    Ok(())
}

/// The algorithms `--algos` names, checked; by default every algorithm, and the optimum for the
/// generated suites, whose tables are about the share of it each algorithm reaches.
fn algorithms(cli: &Cli) -> anyhow::Result<Vec<String>> {
    let generated = cli
        .suite
        .as_deref()
        .is_some_and(|s| !matches!(s, "fcc" | "3g" | "4g"));
    let mut algos: Vec<String> = match &cli.algos {
        Some(list) => list
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        None => abr::ALGORITHMS.map(String::from).to_vec(),
    };
    if cli.algos.is_none() && generated {
        algos.push("optimum".into());
    }
    for a in &algos {
        if a != "optimum" && abr::by_name(a).is_none() {
            bail!(
                "unknown algorithm {a:?}: use {} or optimum",
                abr::ALGORITHMS.join(", ")
            );
        }
    }
    Ok(algos)
}

/// Replays every algorithm over a group's traces, in parallel over traces.
fn replay_group(
    cli: &Cli,
    group: &Group,
    algos: &[String],
    cfg: &SimConfig,
    cache: &OptimumCache,
) -> Vec<Row> {
    let total = (algos.len() * group.traces.len()) as u64;
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} sessions",
        )
        .expect("template"),
    );
    bar.set_message(format!("replaying {}", group.label));
    let model = PlayerModel {
        rebuffer_weight: cfg.rebuffer_weight,
        ..PlayerModel::default()
    };
    let title = &group.title;
    let rows = algos
        .iter()
        .map(|name| {
            let started = Instant::now();
            let (sessions, waste): (Vec<Session>, Vec<Waste>) = group
                .traces
                .par_iter()
                .map(|trace| {
                    let s = if name == "optimum" {
                        (cache.session(title, trace, cfg), Waste::default())
                    } else {
                        let mut abr = abr::by_name(name).expect("checked above");
                        match cli.mode {
                            Mode::Benchmark => (
                                sim::simulate(title, trace, abr.as_mut(), cfg),
                                Waste::default(),
                            ),
                            Mode::Realistic => simulate_player(title, trace, abr.as_mut(), &model),
                        }
                    };
                    bar.inc(1);
                    s
                })
                .unzip();
            Row {
                name: name.clone(),
                sessions,
                waste,
                seconds: started.elapsed().as_secs_f64(),
            }
        })
        .collect();
    bar.finish_and_clear();
    rows
}

fn write_json(out: &mut impl Write, cli: &Cli, rows: &[Row]) -> anyhow::Result<()> {
    for row in rows {
        for (s, w) in row.sessions.iter().zip(&row.waste) {
            let realistic = cli.mode == Mode::Realistic && row.name != "optimum";
            let record = Record {
                mode: if realistic { "realistic" } else { "benchmark" },
                session: s,
                waste: realistic.then_some(w),
            };
            serde_json::to_writer(&mut *out, &record)?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

fn print_table(cli: &Cli, group: &Group, cfg: &SimConfig, rows: &[Row]) {
    let title = &group.title;
    let opt = rows.iter().find(|r| r.name == "optimum");
    // The "streamable" sessions: traces where even the optimum stalls under half a second.
    let streamable: Option<Vec<bool>> =
        opt.map(|o| o.sessions.iter().map(|s| s.rebuffer_s < 0.5).collect());
    let mean = |v: &mut dyn Iterator<Item = f64>| {
        let (sum, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
        if n == 0 { f64::NAN } else { sum / n as f64 }
    };
    println!(
        "{}: {} traces, {} segments of {:.1} s, rebuffer weight {}, max buffer {:.0} ms",
        group.label,
        group.traces.len(),
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
        "{:<12} {:>10} {:>9} {:>12} {:>13} {:>10} {:>10} {:>9} {:>10} {:>11}",
        "algorithm",
        "QoE_lin",
        "% opt",
        "% opt strm",
        "bitrate kb/s",
        "rebuf s",
        "rebuf %",
        "switches",
        "abandoned",
        "sessions/s"
    );
    for row in rows {
        let q = mean(&mut row.sessions.iter().map(|s| s.qoe_lin));
        // A share of the optimum only means something while the optimum is positive.
        let share = |a: f64, b: f64| (b > 0.0).then(|| 100.0 * a / b);
        let pct = opt.and_then(|o| share(q, mean(&mut o.sessions.iter().map(|s| s.qoe_lin))));
        let pct_streamable = opt.zip(streamable.as_ref()).and_then(|(o, keep)| {
            let kept = |sessions: &[Session]| {
                mean(
                    &mut sessions
                        .iter()
                        .zip(keep)
                        .filter(|(_, k)| **k)
                        .map(|(s, _)| s.qoe_lin),
                )
            };
            share(kept(&row.sessions), kept(&o.sessions))
        });
        println!(
            "{:<12} {:>10.2} {:>9} {:>12} {:>13.0} {:>10.2} {:>10.3} {:>9.1} {:>10.2} {:>11.0}",
            row.name,
            q,
            pct.map_or("-".into(), |p| format!("{p:.1}")),
            pct_streamable.map_or("-".into(), |p| format!("{p:.1}")),
            mean(&mut row.sessions.iter().map(|s| s.mean_bitrate_kbps)),
            mean(&mut row.sessions.iter().map(|s| s.rebuffer_s)),
            100.0 * mean(&mut row.sessions.iter().map(|s| s.rebuffer_ratio)),
            mean(&mut row.sessions.iter().map(|s| s.switches as f64)),
            mean(&mut row.waste.iter().map(|w| w.abandoned as f64)),
            row.sessions.len() as f64 / row.seconds.max(1e-9),
        );
    }
    if let Some(keep) = &streamable {
        println!(
            "streamable (optimum stalls < 0.5 s): {} of {} traces",
            keep.iter().filter(|k| **k).count(),
            keep.len()
        );
    }
    let sessions: usize = rows.iter().map(|r| r.sessions.len()).sum();
    let seconds: f64 = rows.iter().map(|r| r.seconds).sum();
    println!(
        "{sessions} sessions in {seconds:.2} s ({:.0} sessions/s)",
        sessions as f64 / seconds.max(1e-9)
    );
}
