//! `reel`: Reel's terminal player. Plays HLS and DASH in the terminal — video drawn with the
//! terminal's graphics protocol or true-colour half-blocks — and shows what the engine is doing
//! (rung and reason, buffer, throughput, pathways, events, QoE). `reel demo` runs the whole stack
//! in-process with chaos keys; `--headless` prints events instead of drawing.

mod headless;
mod interactive;
mod keys;
mod ui;
mod video;

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use player_core::cmcd::CmcdMode;
use player_core::protocol::Format;
use player_core::{PlayerConfig, PlayerState, Url};
use reel_appkit::api::{Client, ClientError};
use reel_appkit::demo::{Demo, DemoConfig};
use reel_appkit::resume::{self, Resume, ResumeStore};
use reel_appkit::settings::Settings;
use reel_appkit::{controls, open, token, view};

#[derive(Parser)]
#[command(
    name = "reel",
    version,
    about = "Reel: adaptive streaming in the terminal, with the engine's decisions in plain sight"
)]
struct Cli {
    /// Playback API URL (default: `backend` in config.toml, else http://127.0.0.1:8470).
    #[arg(long, global = true, env = "REEL_BACKEND")]
    backend: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play a manifest URL, or a title from the playback API (after `reel login`).
    Play(PlayArgs),
    /// Start the whole stack in-process on loopback and play its demo title, chaos keys on.
    Demo(DemoArgs),
    /// List the titles of the playback API.
    Titles,
    /// Log in to the playback API; the token goes to the OS keyring.
    Login(LoginArgs),
    /// Forget the stored token.
    Logout,
    /// Settings file.
    Config {
        #[command(subcommand)]
        what: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print where config.toml is read from.
    Path,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Hls,
    Dash,
}

#[derive(Clone, Copy, ValueEnum)]
enum CmcdArg {
    Headers,
    Query,
    Off,
}

#[derive(clap::Args)]
struct PlayOptions {
    /// No screen: print one line per event and the QoE report as JSON at the end.
    #[arg(long)]
    headless: bool,
    /// Print every event as a JSON line (headless).
    #[arg(long, requires = "headless")]
    json: bool,
    /// Do not decode: follow the playback clock only (no video, no sound).
    #[arg(long)]
    no_decode: bool,
    /// No sound (it is also off, quietly, when there is no audio device).
    #[arg(long)]
    no_audio: bool,
    /// Start at this position, in seconds (instead of where the title was left).
    #[arg(long, value_name = "SECONDS")]
    start: Option<f64>,
    /// Do not resume where the title was left, nor remember where it is left this time.
    #[arg(long)]
    no_resume: bool,
    /// Prefer this pathway (cache).
    #[arg(long)]
    pathway: Option<String>,
    /// ABR algorithm: reel, throughput, bba, bola or mpc (default: `abr` in config.toml, else reel).
    #[arg(long)]
    abr: Option<String>,
    /// Manifest format asked of the playback API.
    #[arg(long, value_enum, default_value = "hls")]
    format: FormatArg,
    /// CMCD on requests.
    #[arg(long, value_enum, default_value = "headers")]
    cmcd: CmcdArg,
}

#[derive(clap::Args)]
struct PlayArgs {
    /// A manifest URL (HLS .m3u8, DASH .mpd) or a title id from `reel titles`.
    target: String,
    #[command(flatten)]
    options: PlayOptions,
}

#[derive(clap::Args)]
struct DemoArgs {
    /// Media directory (default: the platform data directory; the demo title is encoded there
    /// on first run).
    #[arg(long)]
    media: Option<std::path::PathBuf>,
    /// First port of the stack (0: any free ports).
    #[arg(long, default_value_t = 0)]
    port_base: u16,
    #[command(flatten)]
    options: PlayOptions,
}

#[derive(clap::Args)]
struct LoginArgs {
    /// User name (asked when missing).
    #[arg(long)]
    user: Option<String>,
    /// Read the password from stdin instead of asking.
    #[arg(long)]
    password_stdin: bool,
    /// Print the token on stdout instead of storing it (for `export REEL_TOKEN=$(…)`).
    #[arg(long)]
    print_token: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("reel: {e}");
            return ExitCode::from(2);
        }
    };
    let log = reel_appkit::log_to_file("reel.log", "info");
    let backend = cli
        .backend
        .clone()
        .unwrap_or_else(|| settings.backend.clone());
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("reel: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Play(args) => play(args, &settings, &backend).await,
            Command::Demo(args) => demo(args, &settings).await,
            Command::Titles => titles(&backend).await,
            Command::Login(args) => login(args, &backend).await,
            Command::Logout => logout(&backend).await,
            Command::Config {
                what: ConfigCommand::Path,
            } => {
                match Settings::path() {
                    Some(p) => println!("{}", p.display()),
                    None => println!("no config directory on this platform"),
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(code) => code,
        Err(e) => {
            if log.is_some() {
                tracing::error!("{e:#}");
            }
            eprintln!("reel: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn player_config(options: &PlayOptions, settings: &Settings) -> anyhow::Result<PlayerConfig> {
    let mut config = open::player_config(settings, options.abr.as_deref())?;
    config.start_at_s = options.start.unwrap_or(0.0);
    config.pathway = options.pathway.clone();
    config.cmcd = match options.cmcd {
        CmcdArg::Headers => CmcdMode::Headers,
        CmcdArg::Query => CmcdMode::Query,
        CmcdArg::Off => CmcdMode::Off,
    };
    Ok(config)
}

fn format_of(f: FormatArg) -> Format {
    match f {
        FormatArg::Hls => Format::Hls,
        FormatArg::Dash => Format::Dash,
    }
}

fn explain(e: ClientError) -> anyhow::Error {
    match e {
        ClientError::Unauthorized(m) => {
            anyhow::anyhow!("{m}: the token is missing, wrong or expired; run `reel login`")
        }
        other => other.into(),
    }
}

async fn play(args: PlayArgs, settings: &Settings, backend: &str) -> anyhow::Result<ExitCode> {
    let mut config = player_config(&args.options, settings)?;
    let opened = open::resolve(
        &args.target,
        backend,
        format_of(args.options.format),
        &mut config,
    )
    .await?;
    // A title of the playback API is bookmarked there too, for the viewer's other players.
    let remote = match (&opened.api, &opened.token, &config.content_id) {
        (Some(api), Some(token), Some(title)) => Some(resume::RemoteBookmark {
            api: api.clone(),
            token: token.clone(),
            title: title.clone(),
        }),
        _ => None,
    };
    run_player(
        opened.url,
        opened.title,
        config,
        &args.options,
        settings,
        None,
        opened.api,
        remote,
    )
    .await
}

async fn demo(args: DemoArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let demo = Demo::start(&DemoConfig {
        media: args.media.clone(),
        port_base: args.port_base,
        progress: std::io::stderr().is_terminal(),
    })
    .await?;
    let session = demo.session(format_of(args.options.format)).await?;
    let mut config = player_config(&args.options, settings)?;
    config.pathway_order = session.pathways.iter().map(|p| p.id.clone()).collect();
    config.content_id = demo.title().map(String::from);
    let title = format!("{} (demo)", demo.title().unwrap_or("demo"));
    let url = Url::parse(&session.manifest_url).context("the demo's manifest URL")?;
    let api = demo.api().clone();
    let demo = Arc::new(demo);
    let code = run_player(
        url,
        title,
        config,
        &args.options,
        settings,
        Some(demo.clone()),
        Some(api),
        None,
    )
    .await;
    if let Ok(demo) = Arc::try_unwrap(demo) {
        demo.shutdown().await;
    }
    code
}

/// Plays on the screen (or headless); resumes where the title was left, on this machine or at
/// the playback API (`remote`), and remembers where it is left.
#[allow(clippy::too_many_arguments)]
async fn run_player(
    url: Url,
    title: String,
    config: PlayerConfig,
    options: &PlayOptions,
    settings: &Settings,
    demo: Option<Arc<Demo>>,
    api: Option<Client>,
    remote: Option<resume::RemoteBookmark>,
) -> anyhow::Result<ExitCode> {
    let audio = settings.audio && !options.no_audio;
    if options.headless {
        return headless::play(url, config, !options.no_decode, audio, options.json).await;
    }
    if !std::io::stdout().is_terminal() {
        anyhow::bail!("stdout is not a terminal: use --headless to play without a screen");
    }
    let keys = keys::Keymap::new(&settings.keys).map_err(anyhow::Error::msg)?;
    // Where this title was left: resumed unless a start is asked for, remembered at the end.
    let mut config = config;
    let mut notes = Vec::new();
    let memory = (settings.resume && !options.no_resume).then(|| {
        Resume::new(
            ResumeStore::platform(),
            config.content_id.as_deref(),
            &url,
            remote,
        )
    });
    let mut resumed_from = None;
    if let Some(memory) = &memory
        && options.start.is_none()
    {
        let (at, problems) = memory.position().await;
        notes.extend(problems);
        if let Some(at) = at {
            config.start_at_s = at;
            resumed_from = Some(at);
        }
    }
    let ended = interactive::run(interactive::Options {
        url,
        title,
        config,
        decode: !options.no_decode,
        audio,
        keys,
        start_over_key: controls::key_of(&settings.keys, "start_over")
            .unwrap_or("b")
            .to_owned(),
        resumed_from,
        notes,
        demo,
        api,
    })
    .await?;
    tracing::info!(frames = ended.frames_drawn, state = ?ended.state, "screen closed");
    // Only a title that loaded (VOD: it has a duration) is remembered, so a failed open keeps
    // what was there.
    if let (Some(memory), Some(duration)) = (&memory, ended.duration_s) {
        for problem in memory
            .remember(ended.position_s, duration, ended.played_to_end)
            .await
        {
            eprintln!("reel: {problem}");
        }
    }
    match ended.state {
        PlayerState::Failed(reason) => {
            eprintln!("reel: playback failed: {reason}");
            Ok(ExitCode::from(1))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

async fn titles(backend: &str) -> anyhow::Result<ExitCode> {
    let client = Client::new(backend)?;
    let token = open::stored_token(backend).await?;
    let catalogue = client.titles(&token).await.map_err(explain)?;
    if catalogue.titles.is_empty() {
        println!("no titles at {backend}");
    }
    for t in catalogue.titles {
        let top = t.ladder.iter().max_by_key(|r| r.bitrate);
        println!(
            "{:<20} {:>8}  {} rungs{}",
            t.id,
            view::clock(t.duration_s),
            t.ladder.len(),
            top.map_or(String::new(), |r| format!(
                ", up to {}p {:.1} Mb/s",
                r.height,
                r.bitrate as f64 / 1e6
            ))
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn ask(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

async fn login(args: LoginArgs, backend: &str) -> anyhow::Result<ExitCode> {
    let user = match args.user {
        Some(u) => u,
        None => ask("user: ")?,
    };
    let password = if args.password_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    } else {
        rpassword::prompt_password("password: ")?
    };
    let client = Client::new(backend)?;
    let answer = client.login(&user, &password).await.map_err(|e| match e {
        ClientError::Unauthorized(m) => anyhow::anyhow!("login refused: {m}"),
        other => other.into(),
    })?;
    if args.print_token {
        println!("{}", answer.token);
        return Ok(ExitCode::SUCCESS);
    }
    let (b, t) = (backend.to_owned(), answer.token.clone());
    match tokio::task::spawn_blocking(move || token::store(&b, &t)).await? {
        Ok(()) => {
            eprintln!("logged in to {backend} as {user}; the token is in the OS keyring");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("reel: {e}");
            eprintln!(
                "reel: the token was not stored; use: export {}=$(reel login --user {user} --print-token)",
                token::TOKEN_ENV
            );
            Ok(ExitCode::from(1))
        }
    }
}

async fn logout(backend: &str) -> anyhow::Result<ExitCode> {
    let b = backend.to_owned();
    match tokio::task::spawn_blocking(move || token::delete(&b)).await? {
        Ok(true) => eprintln!("logged out of {backend}"),
        Ok(false) => eprintln!("no token stored for {backend}"),
        Err(e) => {
            eprintln!("reel: {e}");
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_names_every_abr_and_the_same_default_as_the_code() {
        use clap::CommandFactory;
        let mut cli = Cli::command();
        for sub in ["play", "demo"] {
            let help = cli
                .find_subcommand_mut(sub)
                .expect("the subcommand")
                .render_long_help()
                .to_string();
            for name in player_core::abr::ALGORITHMS {
                assert!(help.contains(name), "{sub}: {name} in {help}");
            }
            let default = format!("else {})", player_core::abr::DEFAULT_ALGORITHM);
            assert!(help.contains(&default), "{sub}: {help}");
        }
        let settings = reel_appkit::settings::Settings::default();
        assert_eq!(settings.abr, player_core::abr::DEFAULT_ALGORITHM);
        assert_eq!(
            player_core::PlayerConfig::default().abr.name(),
            player_core::abr::DEFAULT_ALGORITHM
        );
    }
}
