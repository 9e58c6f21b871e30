//! `reel`: Reel's terminal player. Today it plays headless: one line per engine event, then the
//! QoE report as JSON; the exit code says whether the stream played to the end.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use player_core::events::PlayerEvent;
use player_core::sink::{GstSink, GstSinkConfig, NullSink, Sink};
use player_core::{Player, PlayerConfig, PlayerState, Url};

#[derive(Parser)]
#[command(
    name = "reel",
    version,
    about = "Reel: adaptive streaming in the terminal"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play an HLS or DASH stream.
    Play(PlayArgs),
}

#[derive(clap::Args)]
struct PlayArgs {
    /// Manifest URL (HLS .m3u8 or DASH .mpd).
    url: String,
    /// No screen: print one line per event and the QoE report as JSON at the end.
    #[arg(long)]
    headless: bool,
    /// Do not decode: follow the playback clock only (fast, no GStreamer pipeline).
    #[arg(long)]
    no_decode: bool,
    /// Play sound on the default output (headless runs are silent by default).
    #[arg(long)]
    audio: bool,
    /// Print every event as a JSON line instead of text.
    #[arg(long)]
    json: bool,
    /// Start at this position, in seconds.
    #[arg(long, default_value_t = 0.0)]
    start: f64,
    /// Prefer this pathway (cache) when the manifest offers several.
    #[arg(long)]
    pathway: Option<String>,
    /// ABR algorithm: throughput (default), reel, bba, bola or mpc.
    #[arg(long, default_value = "throughput")]
    abr: String,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Play(args) => play(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("reel: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn play(args: PlayArgs) -> anyhow::Result<ExitCode> {
    if !args.headless {
        anyhow::bail!("the terminal screen is not built yet; run with --headless");
    }
    let url =
        Url::parse(&args.url).map_err(|e| anyhow::anyhow!("{:?} is not a URL: {e}", args.url))?;
    let sink: Box<dyn Sink> = if args.no_decode {
        Box::new(NullSink::default())
    } else {
        Box::new(GstSink::new(GstSinkConfig {
            audio_output: args.audio,
            ..GstSinkConfig::default()
        })?)
    };
    let abr = player_core::abr::by_name(&args.abr).ok_or_else(|| {
        anyhow::anyhow!(
            "unknown ABR algorithm {:?}; use one of {}",
            args.abr,
            player_core::abr::ALGORITHMS.join(", ")
        )
    })?;
    let config = PlayerConfig {
        abr,
        start_at_s: args.start,
        pathway: args.pathway.clone(),
        ..PlayerConfig::default()
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let outcome = runtime.block_on(async {
        let player = Player::open(url, sink, config);
        let mut events = player.events();
        let json = args.json;
        let printer = tokio::spawn(async move {
            while let Ok(e) = events.recv().await {
                if json {
                    println!("{}", serde_json::to_string(&e).unwrap_or_default());
                } else {
                    println!("{:7.2}s {}", e.t_s, describe(&e.event));
                }
            }
        });
        let stop = player_stop_on_ctrl_c();
        let outcome = tokio::select! {
            o = player.finished() => o,
            _ = stop => {
                eprintln!("reel: interrupted");
                return None;
            }
        };
        let _ = printer.await;
        Some(outcome)
    });
    let Some(outcome) = outcome else {
        return Ok(ExitCode::from(130));
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "state": outcome.state,
            "frames": outcome.frames,
            "qoe": outcome.qoe,
        }))?
    );
    match &outcome.state {
        PlayerState::Ended => Ok(ExitCode::SUCCESS),
        PlayerState::Failed(reason) => {
            eprintln!("reel: playback failed: {reason}");
            Ok(ExitCode::from(1))
        }
        other => {
            eprintln!("reel: playback stopped in state {other:?}");
            Ok(ExitCode::from(1))
        }
    }
}

async fn player_stop_on_ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

/// One human-readable line for an event.
fn describe(e: &PlayerEvent) -> String {
    match e {
        PlayerEvent::State { state } => format!("state {state:?}"),
        PlayerEvent::ManifestLoaded {
            format,
            duration_s,
            ladder,
            pathways,
            ..
        } => format!(
            "{format} manifest, {}, ladder {}{}",
            duration_s.map_or("live".into(), |d| format!("{d:.1} s")),
            ladder
                .iter()
                .map(|r| format!("{}p@{}k", r.height.unwrap_or(0), r.bitrate / 1000))
                .collect::<Vec<_>>()
                .join(" "),
            if pathways.is_empty() {
                String::new()
            } else {
                format!(", pathways {}", pathways.join(" > "))
            }
        ),
        PlayerEvent::AbrDecision {
            segment,
            rendition,
            bitrate,
            algorithm,
            reason,
        } => format!(
            "abr {algorithm}: segment {segment} -> rung {rendition} ({} kbit/s): {reason}",
            bitrate / 1000
        ),
        PlayerEvent::RenditionSwitch { from, to, reason } => {
            format!(
                "switch {} -> {to}: {reason}",
                from.map_or("-".into(), |f| f.to_string())
            )
        }
        PlayerEvent::SegmentFetched {
            kind,
            segment,
            rendition,
            bytes,
            download_s,
            pathway,
            ..
        } => format!(
            "{kind:?} segment {segment} rung {rendition}: {} KB in {:.0} ms ({:.0} kbit/s){}",
            bytes / 1000,
            download_s * 1000.0,
            *bytes as f64 * 8.0 / download_s.max(1e-6) / 1000.0,
            pathway
                .as_ref()
                .map_or(String::new(), |p| format!(" from {p}"))
        )
        .to_lowercase(),
        PlayerEvent::Retry {
            url,
            attempt,
            error,
        } => format!("retry {attempt} of {url}: {error}"),
        PlayerEvent::Downswitch {
            segment,
            from,
            to,
            reason,
        } => {
            format!("segment {segment}: rung {from} failed, trying rung {to}: {reason}")
        }
        PlayerEvent::StallStart { position_s } => format!("STALL at {position_s:.2} s"),
        PlayerEvent::StallEnd { stalled_s } => format!("stall over after {stalled_s:.2} s"),
        PlayerEvent::FirstFrame { startup_s } => format!("first frame after {startup_s:.3} s"),
        PlayerEvent::Position {
            position_s,
            buffer_s,
            throughput_bps,
        } => format!(
            "position {position_s:.1} s, buffer {buffer_s:.1} s{}",
            throughput_bps.map_or(String::new(), |t| format!(
                ", throughput {:.0} kbit/s",
                t / 1000.0
            ))
        ),
        PlayerEvent::Seeked { position_s } => format!("seeked to {position_s:.1} s"),
        PlayerEvent::CommandApplied { description } => description.clone(),
        PlayerEvent::Warning { message } => format!("warning: {message}"),
    }
}
