//! The players' settings: `config.toml` in the platform config directory (`reel config path`
//! prints where). Every field is optional; a missing file means the defaults, a malformed one is
//! an error naming the file and the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where the playback API listens unless the settings say otherwise (`reel-stub up`'s default).
pub const DEFAULT_BACKEND: &str = "http://127.0.0.1:8470";

/// Errors reading the settings.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file exists but cannot be read.
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    /// The file is not valid TOML for these settings.
    #[error("{0}: {1}")]
    Parse(PathBuf, String),
}

/// Forward-buffer sizes, seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BufferSettings {
    /// Needed to start playing.
    pub startup_s: f64,
    /// Needed to resume after a stall.
    pub resume_s: f64,
    /// Fetching resumes when the buffer drains to this.
    pub low_watermark_s: f64,
    /// Fetching pauses when the buffer reaches this.
    pub high_watermark_s: f64,
}

impl Default for BufferSettings {
    fn default() -> Self {
        BufferSettings {
            startup_s: 2.0,
            resume_s: 4.0,
            low_watermark_s: 20.0,
            high_watermark_s: 30.0,
        }
    }
}

/// Everything `config.toml` may set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Playback API base URL.
    pub backend: String,
    /// ABR algorithm at start (`reel`, the default, `throughput`, `bba`, `bola`, `mpc`).
    pub abr: String,
    /// Buffer sizes.
    pub buffer: BufferSettings,
    /// Key overrides: action name → key (e.g. `quit = "x"`, `pause = "p"`).
    pub keys: BTreeMap<String, String>,
    /// Play sound when an audio device exists.
    pub audio: bool,
    /// Resume a title where it was left (the terminal player; `--no-resume` for one play).
    pub resume: bool,
    /// Subtitles to show from the start: the first track whose language starts with this
    /// (`en`, `pt-BR`); none by default (`j` picks one while playing).
    pub subtitle_language: Option<String>,
    /// Audio to play from the start: the first track whose language starts with this; the
    /// stream's default track otherwise.
    pub audio_language: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            backend: DEFAULT_BACKEND.into(),
            abr: player_core::abr::DEFAULT_ALGORITHM.into(),
            buffer: BufferSettings::default(),
            keys: BTreeMap::new(),
            audio: true,
            resume: true,
            subtitle_language: None,
            audio_language: None,
        }
    }
}

impl Settings {
    /// Where the settings file lives on this platform.
    pub fn path() -> Option<PathBuf> {
        crate::project_dirs().map(|d| d.config_dir().join("config.toml"))
    }

    /// Reads the platform settings file (defaults when there is none).
    pub fn load() -> Result<Settings, SettingsError> {
        match Settings::path() {
            Some(p) => Settings::load_from(&p),
            None => Ok(Settings::default()),
        }
    }

    /// Reads settings from `path` (defaults when the file does not exist).
    pub fn load_from(path: &Path) -> Result<Settings, SettingsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(e) => return Err(SettingsError::Read(path.to_path_buf(), e)),
        };
        toml::from_str(&text)
            .map_err(|e| SettingsError::Parse(path.to_path_buf(), e.to_string().trim().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_gives_defaults_and_a_partial_one_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert_eq!(Settings::load_from(&path).unwrap(), Settings::default());
        std::fs::write(
            &path,
            "backend = \"http://10.0.0.1:9000\"\nabr = \"bola\"\n[buffer]\nhigh_watermark_s = 12\n[keys]\nquit = \"x\"\n",
        )
        .unwrap();
        let s = Settings::load_from(&path).unwrap();
        assert_eq!(s.backend, "http://10.0.0.1:9000");
        assert_eq!(s.abr, "bola");
        assert_eq!(s.buffer.high_watermark_s, 12.0);
        assert_eq!(s.buffer.low_watermark_s, 20.0);
        assert_eq!(s.keys["quit"], "x");
        assert!(s.resume, "resume is on unless turned off");
        std::fs::write(&path, "resume = false\naudio_language = \"fr\"\n").unwrap();
        let s = Settings::load_from(&path).unwrap();
        assert!(!s.resume);
        assert_eq!(s.audio_language.as_deref(), Some("fr"));
    }

    #[test]
    fn a_malformed_file_names_itself_and_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "abr = \"reel\"\nbuffer = 3\n").unwrap();
        let e = Settings::load_from(&path).unwrap_err().to_string();
        assert!(e.contains("config.toml"), "{e}");
        assert!(e.contains("line 2"), "{e}");
        std::fs::write(&path, "colour = \"red\"\n").unwrap();
        let e = Settings::load_from(&path).unwrap_err().to_string();
        assert!(e.contains("colour"), "{e}");
    }
}
