//! The README's two commands, runnable on a fresh Debian or Ubuntu machine:
//!
//! - `cargo xtask demo [ARGS]`: installs what is missing, then runs the demo: `reel demo ARGS`,
//!   the terminal player over the whole delivery stack started in-process on loopback.
//! - `cargo xtask test`: installs what is missing, then checks formatting and lints and runs the
//!   whole test suite.
//!
//! Missing Debian packages are installed with apt-get when running as root; otherwise the exact
//! command to run is printed. This crate has no dependencies so it builds before any of them are
//! installed.

use std::process::{Command, ExitCode};

/// Needed to build and run Reel: GStreamer with its development files and the plugins the encoder
/// and the players use (x264 is in -ugly, AAC in -libav, HLS/DASH demuxers in -bad).
const RUNTIME_PACKAGES: &[&str] = &[
    "pkg-config",
    "libgstreamer1.0-dev",
    "libgstreamer-plugins-base1.0-dev",
    "gstreamer1.0-plugins-base",
    "gstreamer1.0-plugins-good",
    "gstreamer1.0-plugins-bad",
    "gstreamer1.0-plugins-ugly",
    "gstreamer1.0-libav",
    "gstreamer1.0-tools",
    // HTTPS: the root certificates the fetcher verifies caches against.
    "ca-certificates",
    // The playback API keeps bookmarks in SQLite (rusqlite links the system library).
    "libsqlite3-dev",
    // reel-desktop: OpenGL through Mesa (software rendering where there is no GPU), EGL for
    // Wayland, and the X11 libraries winit loads at run time.
    "libgl1-mesa-dri",
    "libglx-mesa0",
    "libegl-mesa0",
    "libegl1",
    "libx11-xcb1",
    "libxcursor1",
    "libxrandr2",
    "libxi6",
    "libxkbcommon-x11-0",
];

/// Needed by the tests on top: ffprobe (in ffmpeg) checks that other software reads our output;
/// nginx serves as a real CDN pathway in the chaos suite; tmux drives the terminal player; Xvfb
/// (with xauth) gives the desktop player a display and ImageMagick's `import` screenshots it.
/// gst-play-1.0 (in -base-apps) is what the memory benchmark measures Reel against; openssl
/// makes the self-signed certificate of the HTTPS test.
const TEST_PACKAGES: &[&str] = &[
    "openssl",
    "ffmpeg",
    "nginx",
    "tmux",
    "xvfb",
    "xauth",
    "imagemagick",
    "gstreamer1.0-plugins-base-apps",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(&args[1..]),
        Some("test") => test(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask demo [reel demo options] | cargo xtask test [cargo test options]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn demo(extra: &[String]) -> Result<(), String> {
    ensure_packages(RUNTIME_PACKAGES)?;
    let mut args = vec!["run", "--quiet", "--package", "reel", "--", "demo"];
    args.extend(extra.iter().map(String::as_str));
    run("cargo", &args)
}

fn test(extra: &[String]) -> Result<(), String> {
    let mut wanted = RUNTIME_PACKAGES.to_vec();
    wanted.extend(TEST_PACKAGES);
    ensure_packages(&wanted)?;
    if has_cargo_component("fmt") {
        run("cargo", &["fmt", "--all", "--", "--check"])?;
    } else {
        eprintln!(
            "xtask: rustfmt is not installed; skipping the format check (rustup component add rustfmt)"
        );
    }
    if has_cargo_component("clippy") {
        run(
            "cargo",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        )?;
    } else {
        eprintln!("xtask: clippy is not installed; skipping lints (rustup component add clippy)");
    }
    let mut args = vec!["test", "--workspace"];
    args.extend(extra.iter().map(String::as_str));
    run_tests(&args)
}

/// Runs `cargo test`, passing its output through, and closes with one summary line over all the
/// test binaries (cargo's own last line is that of the last binary, often a doc-test run of 0).
fn run_tests(args: &[&str]) -> Result<(), String> {
    use std::io::BufRead;
    eprintln!("xtask: running cargo {}", args.join(" "));
    let mut child = Command::new("cargo")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start cargo: {e}"))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let (mut passed, mut failed, mut ignored) = (0u64, 0u64, 0u64);
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.map_err(|e| format!("reading cargo's output: {e}"))?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            for part in rest.split(';') {
                let mut words = part.split_whitespace().rev();
                let (Some(kind), Some(n)) = (words.next(), words.next()) else {
                    continue;
                };
                let n: u64 = n.parse().unwrap_or(0);
                match kind {
                    "passed" => passed += n,
                    "failed" => failed += n,
                    "ignored" => ignored += n,
                    _ => {}
                }
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for cargo: {e}"))?;
    println!("summary: {passed} passed, {failed} failed, {ignored} skipped");
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo {} failed ({status})", args.join(" ")))
    }
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("xtask: running {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .status()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} {} failed ({status})", args.join(" ")))
    }
}

fn has_cargo_component(name: &str) -> bool {
    Command::new("cargo")
        .args([name, "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Installs the Debian packages that are not installed yet (as root), or prints the command.
fn ensure_packages(packages: &[&str]) -> Result<(), String> {
    if Command::new("dpkg-query")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!(
            "xtask: not a Debian-based system; make sure these are installed: {}",
            packages.join(" ")
        );
        return Ok(());
    }
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !is_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.join(" ");
    if !is_root() {
        return Err(format!(
            "missing system packages; install them with:\n  sudo apt-get update && sudo apt-get install -y --no-install-recommends {list}"
        ));
    }
    eprintln!("xtask: installing missing system packages: {list}");
    let apt = |args: &[&str]| -> Result<(), String> {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|e| format!("cannot run apt-get: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("apt-get {} failed ({status})", args.join(" ")))
        }
    };
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend(&missing);
    apt(&install)
}

fn is_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
