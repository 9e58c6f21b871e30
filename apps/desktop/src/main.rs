//! `reel-desktop`: Reel's desktop player. A window (eframe/egui on OpenGL) with the video
//! decoded by GStreamer, the controls a desktop player has, and the terminal player's live view
//! of the engine in a stats panel; `--demo` runs the whole stub stack in-process with chaos
//! buttons. The tokio runtime runs on its own threads; egui keeps the main thread.

mod app;
mod bar;
mod dialogs;
mod dump;
mod keys;
mod playback;
mod stats;
mod subtitles;
mod video;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use eframe::egui;
use player_core::protocol::Format;
use reel_appkit::demo::DemoConfig;
use reel_appkit::settings::Settings;

#[derive(Parser)]
#[command(
    name = "reel-desktop",
    version,
    about = "Reel's desktop player: adaptive streaming in a window, with the engine's decisions in plain sight"
)]
struct Cli {
    /// A manifest URL (HLS .m3u8, DASH .mpd) or a title of the playback API (after `reel login`).
    #[arg(conflicts_with = "demo")]
    target: Option<String>,
    /// Start the whole stack in-process on loopback and play its demo title, chaos buttons on.
    #[arg(long)]
    demo: bool,
    /// Demo: media directory (default: the platform data directory; the demo title is encoded
    /// there on first run).
    #[arg(long, requires = "demo")]
    media: Option<PathBuf>,
    /// Demo: first port of the stack (0: any free ports).
    #[arg(long, default_value_t = 0, requires = "demo")]
    port_base: u16,
    /// Playback API URL (default: `backend` in config.toml, else http://127.0.0.1:8470).
    #[arg(long, env = "REEL_BACKEND")]
    backend: Option<String>,
    /// ABR algorithm: reel, throughput, bba, bola or mpc (default: `abr` in config.toml, else reel).
    #[arg(long)]
    abr: Option<String>,
    /// Manifest format asked of the playback API.
    #[arg(long, value_enum, default_value = "hls")]
    format: FormatArg,
    /// No sound (it is also off, quietly, when there is no audio device).
    #[arg(long)]
    no_audio: bool,
    /// Start the first title at this position, in seconds (instead of where it was left).
    #[arg(long, value_name = "SECONDS", value_parser = parse_start)]
    start: Option<f64>,
    /// Do not resume titles where they were left, nor remember where they are left.
    #[arg(long)]
    no_resume: bool,
    /// Open with the stats panel shown (`i` toggles it).
    #[arg(long)]
    stats: bool,
    /// Open fullscreen.
    #[arg(long)]
    fullscreen: bool,
    /// Window size, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x720", value_parser = parse_size)]
    size: (f32, f32),
    /// Test hook: write what the window shows (frames presented, rung, stats text, error) as
    /// JSON to this file every half second.
    #[arg(long, value_name = "PATH")]
    dump_state: Option<PathBuf>,
    /// Test hook: press the keys named in this file (one a line, as config.toml names them:
    /// `k`, `right`, `3`…), read as it grows.
    #[arg(long, value_name = "PATH")]
    keys_from: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Hls,
    Dash,
}

fn parse_size(s: &str) -> Result<(f32, f32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{s:?} is not WIDTHxHEIGHT"))?;
    let dim = |v: &str| {
        v.trim()
            .parse::<u16>()
            .ok()
            .filter(|n| *n >= 200)
            .map(f32::from)
            .ok_or_else(|| format!("{v:?} is not a size of at least 200 pixels"))
    };
    Ok((dim(w)?, dim(h)?))
}

fn parse_start(v: &str) -> Result<f64, String> {
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .ok_or_else(|| format!("{v:?} is not a position in seconds (0 or more)"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("reel-desktop: {e}");
            return ExitCode::from(2);
        }
    };
    let keymap = match keys::Keymap::new(&settings.keys) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("reel-desktop: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(abr) = &cli.abr
        && player_core::abr::by_name(abr).is_none()
    {
        eprintln!(
            "reel-desktop: unknown ABR algorithm {abr:?}; use one of {}",
            player_core::abr::ALGORITHMS.join(", ")
        );
        return ExitCode::from(2);
    }
    reel_appkit::log_to_file(
        "reel-desktop.log",
        "info,winit=warn,eframe=warn,egui_glow=warn",
    );
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("reel-desktop: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    // Spawning from the window's thread lands on the runtime's workers.
    let guard = runtime.enter();

    let exit = Arc::new(Mutex::new(app::Exit::default()));
    let options = app::Options {
        target: cli.target.clone(),
        demo: cli.demo.then(|| DemoConfig {
            media: cli.media.clone(),
            port_base: cli.port_base,
            progress: false,
        }),
        backend: cli
            .backend
            .clone()
            .unwrap_or_else(|| settings.backend.clone()),
        format: match cli.format {
            FormatArg::Hls => Format::Hls,
            FormatArg::Dash => Format::Dash,
        },
        abr: cli.abr.clone(),
        audio: settings.audio && !cli.no_audio,
        start: cli.start,
        resume: settings.resume && !cli.no_resume,
        stats: cli.stats,
        fullscreen: cli.fullscreen,
        dump: cli.dump_state.clone(),
        keys_from: cli.keys_from.clone(),
        settings,
        keymap,
        exit: exit.clone(),
    };
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Reel")
            .with_app_id("reel-desktop")
            .with_inner_size([cli.size.0, cli.size.1])
            .with_min_inner_size([480.0, 320.0])
            .with_fullscreen(cli.fullscreen),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    let result = eframe::run_native(
        "reel-desktop",
        native,
        Box::new(move |cc| Ok(Box::new(app::DesktopApp::new(cc.egui_ctx.clone(), options)))),
    );
    let (failure, demo, bookmark) = {
        let mut exit = exit.lock().expect("exit slot");
        (exit.failure.take(), exit.demo.take(), exit.bookmark.take())
    };
    if let Some((resume, position, duration, ended)) = bookmark {
        for problem in runtime.block_on(resume.remember(position, duration, ended)) {
            eprintln!("reel-desktop: {problem}");
        }
    }
    if let Some(demo) = demo.and_then(Arc::into_inner) {
        runtime.block_on(demo.shutdown());
    }
    drop(guard);
    runtime.shutdown_timeout(Duration::from_secs(2));
    if let Err(e) = result {
        let line = e.to_string().lines().next().unwrap_or_default().to_owned();
        tracing::error!("cannot open a window: {line}");
        eprintln!("reel-desktop: cannot open a window: {line}");
        return ExitCode::from(2);
    }
    match failure {
        Some(line) => {
            tracing::info!("closed after a failure: {line}");
            eprintln!("reel-desktop: {line}");
            ExitCode::from(1)
        }
        None => ExitCode::SUCCESS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_names_every_abr_and_the_same_default_as_the_code() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        for name in player_core::abr::ALGORITHMS {
            assert!(help.contains(name), "{name} in {help}");
        }
        let default = format!("else {})", player_core::abr::DEFAULT_ALGORITHM);
        assert!(help.contains(&default), "{help}");
    }

    #[test]
    fn sizes_parse_and_nonsense_is_refused() {
        assert_eq!(parse_size("1280x720"), Ok((1280.0, 720.0)));
        assert!(parse_size("12x720").is_err());
        assert!(parse_size("big").is_err());
    }
}
