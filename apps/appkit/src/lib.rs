//! What Reel's players (the terminal `reel` and `reel-desktop`) share, so they behave the same:
//! [`settings`] (the `config.toml` in the platform config directory), [`token`] (the login token
//! in the OS keyring, or `REEL_TOKEN` where no keyring runs), [`api`] (the playback API client),
//! [`open`] (a URL or a title to a playable target), [`resume`] (where each title was left), [`view`] (what the screens show, built from
//! the engine's events), [`controls`] (what each key or button does), [`cue_text`] (subtitle text as screens draw it) and [`demo`] (the whole
//! `reel-stub` stack in-process, with the caches' fault controls).

pub mod api;
pub mod controls;
pub mod cue_text;
pub mod demo;
pub mod level;
pub mod open;
pub mod resume;
pub mod settings;
pub mod token;
pub mod view;

/// Platform directories for Reel (`~/.config/reel`, `~/.cache/reel` on Linux).
pub fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "reel")
}

/// Sends `tracing` logs to `file_name` in the platform cache directory (`~/.cache/reel`), never
/// over the screen; `RUST_LOG` overrides `default_filter`. Returns the file's path, or `None`
/// when it cannot be opened (then nothing is logged).
pub fn log_to_file(file_name: &str, default_filter: &str) -> Option<std::path::PathBuf> {
    let dir = project_dirs()?.cache_dir().to_path_buf();
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join(file_name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ok()?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .init();
    Some(path)
}
