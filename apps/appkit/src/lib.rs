//! What Reel's players (the terminal `reel` and `reel-desktop`) share, so they behave the same:
//! [`settings`] (the `config.toml` in the platform config directory), [`token`] (the login token
//! in the OS keyring, or `REEL_TOKEN` where no keyring runs), [`api`] (the playback API client),
//! [`open`] (a URL or a title to a playable target), [`view`] (what the screens show, built from
//! the engine's events), [`controls`] (what each key or button does) and [`demo`] (the whole
//! `reel-stub` stack in-process, with the caches' fault controls).

pub mod api;
pub mod controls;
pub mod demo;
pub mod open;
pub mod settings;
pub mod token;
pub mod view;

/// Platform directories for Reel (`~/.config/reel`, `~/.cache/reel` on Linux).
pub fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "reel")
}
