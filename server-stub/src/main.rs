//! `reel-stub`: encode titles, run cache servers, the playback API, or all of it at once.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use reel_stub::backend::{BackendConfig, BackendServer, auth};
use reel_stub::encode::{self, EncodeOptions, Ladder, LadderChoice, Source};
use reel_stub::oca::{Oca, OcaConfig};
use reel_stub::title::Layout;
use reel_stub::up::{Stack, UpConfig, default_bookmarks_db, default_media_dir};

#[derive(Parser)]
#[command(
    name = "reel-stub",
    version,
    about = "Reel's delivery stack: encoder, caches (OCAs), playback API and steering"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Encode a title into an H.264/AAC ladder packaged as CMAF with HLS and DASH manifests.
    Encode(EncodeArgs),
    /// Serve a media tree as a cache ("OCA"), with optional fault controls.
    Oca(OcaArgs),
    /// Run the playback API and the content-steering server.
    Backend(BackendArgs),
    /// Run everything on loopback: a demo title, three caches and the backend.
    Up(UpArgs),
}

#[derive(clap::Args)]
struct OcaArgs {
    /// Directory to serve (the media root).
    #[arg(long)]
    root: PathBuf,
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:8471")]
    listen: SocketAddr,
    /// Cache identifier (its pathway id).
    #[arg(long, default_value = "oca-1")]
    id: String,
    /// Enable the fault-control admin endpoint on this address.
    #[arg(long, value_name = "ADDR")]
    admin: Option<SocketAddr>,
}

#[derive(clap::Args)]
struct BackendArgs {
    /// Media root (the tree the caches serve).
    #[arg(long)]
    media: PathBuf,
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:8470")]
    listen: SocketAddr,
    /// A cache as ID=URL; repeat for each, in order of preference.
    #[arg(long = "oca", value_name = "ID=URL", required = true, value_parser = parse_oca)]
    ocas: Vec<(String, String)>,
    /// TOML users file (`[[user]]` tables with name and password); default: the demo user.
    #[arg(long)]
    users: Option<PathBuf>,
    /// Token signing secret (default: random at each start).
    #[arg(long, env = "REEL_TOKEN_SECRET", hide_env_values = true)]
    token_secret: Option<String>,
    /// Steering manifest TTL in seconds.
    #[arg(long, default_value_t = 10)]
    steering_ttl: u64,
    /// SQLite file keeping the users' bookmarks (default: in memory, lost at exit).
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
}

#[derive(clap::Args)]
struct UpArgs {
    /// Media root (default: the platform data directory).
    #[arg(long)]
    media: Option<PathBuf>,
    /// Backend port; caches use the following ports, their admin endpoints the ones after.
    /// 0 picks free ports.
    #[arg(long, default_value_t = 8470)]
    port_base: u16,
    /// Number of caches.
    #[arg(long, default_value_t = 3)]
    caches: usize,
    /// Length of the demo title encoded on first run, in seconds.
    #[arg(long, default_value_t = 120)]
    demo_seconds: u32,
    /// Start, print the URLs and a playback session, then stop (a smoke test).
    #[arg(long)]
    check: bool,
    /// SQLite file keeping the users' bookmarks (default: bookmarks.sqlite in the platform data
    /// directory).
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
}

fn parse_oca(s: &str) -> Result<(String, String), String> {
    let (id, url) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not ID=URL"))?;
    // HLS PATHWAY-ID allows [A-Za-z0-9._-] only.
    let id_ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !id_ok {
        return Err(format!(
            "cache id {id:?} may only hold letters, digits, '.', '_' and '-'"
        ));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!("{s:?} is not ID=URL with an http(s) URL"));
    }
    Ok((id.to_string(), url.to_string()))
}

#[derive(clap::Args)]
struct EncodeArgs {
    /// Media file to encode (anything GStreamer decodes).
    #[arg(
        long,
        conflicts_with = "synthetic",
        required_unless_present = "synthetic"
    )]
    input: Option<PathBuf>,
    /// Encode the built-in synthetic title of this many seconds instead of a file.
    #[arg(long, value_name = "SECONDS")]
    synthetic: Option<u32>,
    /// Media root; the title goes to OUT/TITLE/.
    #[arg(long, short, default_value = "media")]
    out: PathBuf,
    /// Title identifier (default: the input's file stem, or "demo").
    #[arg(long)]
    title: Option<String>,
    /// `default`, `auto` (measure the title and adapt the bitrates), or a TOML ladder file.
    #[arg(long, default_value = "default")]
    ladder: String,
    /// Rungs as HEIGHT:KBPS pairs, e.g. `240:300,720:3000` (overrides the ladder's rungs).
    #[arg(long)]
    rungs: Option<String>,
    /// AAC bitrate in kbit/s (default 128, or the ladder file's).
    #[arg(long)]
    audio_kbps: Option<u32>,
    /// Segment duration in seconds.
    #[arg(long, default_value_t = 4)]
    segment: u32,
    /// Output frame rate.
    #[arg(long, default_value_t = 30)]
    fps: u32,
    /// `byte-ranges`: one file per rendition; `files`: one file per segment.
    #[arg(long, value_enum, default_value_t = LayoutArg::ByteRanges)]
    layout: LayoutArg,
    /// x264 speed preset.
    #[arg(long, default_value = "veryfast")]
    preset: String,
    /// x264 constant-quality factor (lower is better) under each rung's bitrate cap.
    #[arg(long, default_value_t = 23)]
    quality: u32,
    /// Subtitle files as LANG[:NAME]=FILE, e.g. `en:English=a.vtt,fr=b.srt` (SRT is converted
    /// to WebVTT). Without any, the synthetic title gets English and French tracks of its own.
    #[arg(long, value_name = "LANG[:NAME]=FILE,...")]
    subtitles: Option<String>,
    /// Audio tracks as LANG[:NAME]=FILE, e.g. `en:English=en.m4a,fr=fr.wav`, in place of the
    /// source's own sound (any file GStreamer decodes; its picture is ignored). Without any,
    /// the synthetic title gets English and French tracks of its own.
    #[arg(long, value_name = "LANG[:NAME]=FILE,...")]
    audio: Option<String>,
    /// Replace the title if it exists.
    #[arg(long)]
    force: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LayoutArg {
    ByteRanges,
    Files,
}

fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

fn main() {
    init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Encode(args) => run_encode(args),
        Command::Oca(args) => runtime().and_then(|rt| rt.block_on(run_oca(args))),
        Command::Backend(args) => runtime().and_then(|rt| rt.block_on(run_backend(args))),
        Command::Up(args) => runtime().and_then(|rt| rt.block_on(run_up(args))),
    };
    if let Err(e) = result {
        eprintln!("reel-stub: {e:#}");
        std::process::exit(1);
    }
}

fn run_encode(args: EncodeArgs) -> anyhow::Result<()> {
    let source = match (&args.input, args.synthetic) {
        (Some(path), _) => Source::File(path.clone()),
        (None, Some(seconds)) => Source::Synthetic { seconds },
        (None, None) => unreachable!("clap requires one of them"),
    };
    let title = args.title.clone().unwrap_or_else(|| match &args.input {
        Some(p) => p
            .file_stem()
            .map(|s| {
                s.to_string_lossy()
                    .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_")
            })
            .unwrap_or_else(|| "title".into()),
        None => "demo".into(),
    });
    let mut base = match args.ladder.as_str() {
        "default" | "auto" => Ladder::default(),
        path => Ladder::from_file(std::path::Path::new(path))?,
    };
    if let Some(kbps) = args.audio_kbps {
        base.audio_bitrate_kbps = kbps;
    }
    let base = match &args.rungs {
        Some(spec) => Ladder::from_cli(spec, base.audio_bitrate_kbps)?,
        None => base,
    };
    let mut opts = EncodeOptions::new(source, &args.out, title);
    opts.ladder = if args.ladder == "auto" {
        LadderChoice::Auto(base)
    } else {
        LadderChoice::Fixed(base)
    };
    opts.segment_duration_s = args.segment;
    opts.fps = args.fps;
    opts.layout = match args.layout {
        LayoutArg::ByteRanges => Layout::ByteRanges,
        LayoutArg::Files => Layout::Files,
    };
    opts.preset = args.preset;
    opts.quality = args.quality;
    opts.force = args.force;
    opts.progress = true;
    if let Some(spec) = &args.subtitles {
        opts.subtitles = encode::SubtitleInput::parse_list(spec)?;
    }
    if let Some(spec) = &args.audio {
        opts.audio = encode::AudioInput::parse_list(spec)?;
    }
    encode::encode(&opts).context("encode failed")?;
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("cannot start the async runtime")
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler installs");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

async fn run_oca(args: OcaArgs) -> anyhow::Result<()> {
    let oca = Oca::start(OcaConfig {
        id: args.id,
        root: args.root,
        listen: args.listen,
        admin: args.admin,
    })
    .await?;
    println!("cache {} serving on {}", oca.id(), oca.url());
    if let Some(admin) = oca.admin_addr {
        println!("fault controls on http://{admin}/admin/faults");
    }
    stop_signal().await;
    oca.shutdown().await;
    Ok(())
}

async fn run_backend(args: BackendArgs) -> anyhow::Result<()> {
    let mut config = BackendConfig::new(args.media, args.listen, args.ocas);
    if let Some(path) = &args.users {
        config.users = auth::load_users(path).map_err(anyhow::Error::msg)?;
    }
    config.token_secret = args.token_secret.map(String::into_bytes);
    config.steering_ttl_s = args.steering_ttl;
    config.bookmarks_db = args.db;
    let backend = BackendServer::start(config).await?;
    println!("playback API and steering on {}", backend.url());
    stop_signal().await;
    backend.shutdown().await;
    Ok(())
}

async fn run_up(args: UpArgs) -> anyhow::Result<()> {
    let mut config = UpConfig::new(args.media.unwrap_or_else(default_media_dir));
    config.port_base = args.port_base;
    config.caches = args.caches;
    config.demo_seconds = args.demo_seconds;
    config.bookmarks_db = Some(args.db.unwrap_or_else(default_bookmarks_db));
    let stack = Stack::start(&config).await?;
    println!("Reel delivery stack on loopback");
    println!("  media        {}", config.media.display());
    if let Some(db) = &config.bookmarks_db {
        println!("  bookmarks    {}", db.display());
    }
    println!(
        "  playback API {}   (demo login: {} / {})",
        stack.backend.url(),
        auth::DEMO_USER.0,
        auth::DEMO_USER.1
    );
    for c in &stack.caches {
        println!(
            "  cache {:<6} {}   fault controls: http://{}/admin/faults",
            c.id(),
            c.url(),
            c.admin_addr.map_or_else(String::new, |a| a.to_string())
        );
    }
    for t in &stack.titles {
        println!(
            "  title {:<6} {:.0} s, {} video rungs ({})",
            t.id,
            t.duration_s,
            t.video.len(),
            t.video
                .iter()
                .map(|r| format!(
                    "{}p {} kbit/s",
                    r.height.unwrap_or(0),
                    r.average_bitrate / 1000
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(title) = stack.titles.first() {
        match sample_session(&stack.backend.url(), &title.id).await {
            Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
            Err(e) => eprintln!("reel-stub: could not open a sample playback session: {e:#}"),
        }
    }
    if args.check {
        stack.shutdown().await;
        return Ok(());
    }
    println!("Press Ctrl-C to stop.");
    stop_signal().await;
    println!("stopping");
    stack.shutdown().await;
    Ok(())
}

/// Logs in as the demo user and opens an HLS and a DASH session, over HTTP like any client.
async fn sample_session(api: &str, title: &str) -> anyhow::Result<Vec<String>> {
    use reel_protocol::{Format, LoginRequest, LoginResponse, PlaybackRequest, PlaybackResponse};
    let client = reqwest::Client::new();
    let login: LoginResponse = client
        .post(format!("{api}/v1/login"))
        .json(&LoginRequest {
            user: auth::DEMO_USER.0.into(),
            password: auth::DEMO_USER.1.into(),
        })
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let mut lines = vec![String::new(), format!("Playback sessions for {title:?}:")];
    for format in [Format::Hls, Format::Dash] {
        let session: PlaybackResponse = client
            .post(format!("{api}/v1/playback"))
            .bearer_auth(&login.token)
            .json(&PlaybackRequest {
                title: title.into(),
                format,
            })
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        lines.push(format!("  {format:?}: {}", session.manifest_url));
        lines.push(format!(
            "    pathways: {}",
            session
                .pathways
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>()
                .join(" > ")
        ));
        lines.push(format!("    steering: {}", session.steering_uri));
        if format == Format::Hls {
            lines.push(format!(
                "    play it: gst-launch-1.0 playbin uri={}",
                session.manifest_url
            ));
        }
    }
    Ok(lines)
}
