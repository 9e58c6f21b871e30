//! Memory benchmark: the peak resident memory (the kernel's `VmHWM`) of Reel playing a 1080p
//! title to its end — headless with decoding (`reel play --headless --no-audio`) and in the
//! terminal (`reel play --no-audio` in a tmux pane) — beside GStreamer's own `gst-play-1.0` on the
//! same HLS stream, served by `reel-stub`'s cache on loopback. Runs alternate; each figure's
//! median, min and max, and the ratios of medians to gst-play-1.0's, go to stdout.
//!
//! `cargo bench -p reel --bench memory [-- RUNS]` (needs tmux and gst-play-1.0, which
//! `cargo xtask test` installs).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reel_stub::encode::{self, EncodeOptions, Ladder, LadderChoice, Source};
use reel_stub::oca::{Oca, OcaConfig};

/// Length of the benchmark title, seconds.
const SECONDS: u32 = 20;

/// The peak resident memory of process `pid` so far, in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Follows `pid` until it is gone (or `limit` passes); its last peak resident memory, KiB.
fn follow(pid: u32, limit: Duration, mut exited: impl FnMut() -> bool) -> u64 {
    let started = Instant::now();
    let mut peak = 0;
    loop {
        if let Some(kib) = peak_rss_kib(pid) {
            peak = peak.max(kib);
        }
        if exited() {
            return peak;
        }
        assert!(
            started.elapsed() < limit,
            "process {pid} still running after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn follow_child(mut child: Child, what: &str) -> u64 {
    let pid = child.id();
    let mut status = None;
    let peak = follow(pid, Duration::from_secs(u64::from(SECONDS) + 60), || {
        status = child.try_wait().expect("wait");
        status.is_some()
    });
    let status = status.unwrap();
    assert!(status.success(), "{what} exited with {status}");
    peak
}

fn headless(url: &str) -> u64 {
    let child = Command::new(env!("CARGO_BIN_EXE_reel"))
        .args(["play", "--headless", "--no-audio", url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("reel starts");
    follow_child(child, "reel --headless")
}

fn gst_play(url: &str) -> u64 {
    let child = Command::new("gst-play-1.0")
        .args([
            "--no-interactive",
            "--videosink=fakesink sync=true",
            "--audiosink=fakesink sync=true",
            url,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gst-play-1.0 starts (apt-get install gstreamer1.0-plugins-base-apps)");
    follow_child(child, "gst-play-1.0")
}

/// The terminal player in a 160×45 tmux pane (half-block video), quit once the title ended.
fn terminal(url: &str, home: &Path) -> u64 {
    let name = format!("reel-bench-{}", std::process::id());
    let command = format!(
        "exec env HOME={home} XDG_CONFIG_HOME={home}/.config XDG_CACHE_HOME={home}/.cache \
         XDG_DATA_HOME={home}/.local/share TERM=xterm-256color {bin} play --no-audio --no-resume {url}",
        home = home.display(),
        bin = env!("CARGO_BIN_EXE_reel"),
    );
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(args)
            .output()
            .expect("tmux runs (apt-get install tmux)")
    };
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        &name,
        "-x",
        "160",
        "-y",
        "45",
        &command,
    ]);
    assert!(started.status.success(), "tmux starts");
    let pid: u32 = String::from_utf8_lossy(
        &tmux(&["display-message", "-p", "-t", &name, "#{pane_pid}"]).stdout,
    )
    .trim()
    .parse()
    .expect("the pane's pid");
    let begun = Instant::now();
    let mut quit_sent = false;
    let peak = follow(pid, Duration::from_secs(u64::from(SECONDS) + 60), || {
        if !quit_sent && begun.elapsed() > Duration::from_secs(u64::from(SECONDS) + 5) {
            tmux(&["send-keys", "-t", &name, "q"]);
            quit_sent = true;
        }
        !Path::new(&format!("/proc/{pid}")).exists()
    });
    tmux(&["kill-session", "-t", &name]);
    peak
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let mut opts = EncodeOptions::new(Source::Synthetic { seconds: SECONDS }, dir.path(), "demo");
    opts.ladder = LadderChoice::Fixed(Ladder::from_cli("360:750,720:3000,1080:6000", 128).unwrap());
    opts.preset = "ultrafast".into();
    opts.progress = false;
    eprintln!("encoding a {SECONDS} s title up to 1080p…");
    encode::encode(&opts).expect("encode the benchmark title");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let oca = rt
        .block_on(Oca::start(OcaConfig {
            id: "bench".into(),
            root: dir.path().to_path_buf(),
            listen: "127.0.0.1:0".parse().unwrap(),
            admin: None,
        }))
        .unwrap();
    let url = format!("{}/demo/master.m3u8", oca.url());
    let home = tempfile::tempdir().unwrap();

    let (mut reel_headless, mut reel_terminal, mut gst) = (Vec::new(), Vec::new(), Vec::new());
    for run in 1..=runs {
        eprintln!("run {run}/{runs}: reel headless, reel in the terminal, gst-play-1.0");
        reel_headless.push(headless(&url));
        reel_terminal.push(terminal(&url, home.path()));
        gst.push(gst_play(&url));
    }
    let mib = |kib: u64| kib as f64 / 1024.0;
    let gst_median = median(gst.clone());
    println!(
        "peak resident memory (VmHWM) playing a {SECONDS} s 1080p HLS title to its end, {runs} runs"
    );
    for (name, v) in [
        ("reel --headless (decoding)", &reel_headless),
        ("reel in the terminal", &reel_terminal),
        ("gst-play-1.0 (fakesinks)", &gst),
    ] {
        let m = median(v.clone());
        println!(
            "  {name:<28} median {:6.1} MiB (min {:.1}, max {:.1})  ratio to gst-play-1.0 {:.2}",
            mib(m),
            mib(*v.iter().min().unwrap()),
            mib(*v.iter().max().unwrap()),
            m as f64 / gst_median as f64
        );
    }
    rt.block_on(oca.shutdown());
}
