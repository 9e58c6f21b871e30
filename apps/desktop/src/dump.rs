//! Test hooks. `--dump-state PATH` writes what the window shows as JSON every half second
//! (frames presented, the video's rectangle on screen, the state, the rung, the stats panel's
//! text lines, the error line, the level meter, the subtitle drawn and where), replaced atomically so a reader never sees half a file.
//! `--keys-from PATH` reads key names (as `config.toml` names them: `k`, `right`, `3`…), one a
//! line, as the file grows, and presses them — a test's hand on the keyboard.

use std::io::{BufRead, Seek};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

/// What the window shows, for a test to read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StateDump {
    /// Seconds since the window opened.
    pub t_s: f64,
    /// Frames uploaded and painted.
    pub frames_presented: u64,
    /// Presentation time of the first frame painted of the stream playing, seconds.
    pub first_frame_pts_s: Option<f64>,
    /// The newest frame's size in pixels.
    pub frame_size: Option<[usize; 2]>,
    /// Where the picture is on the screen, in pixels: x, y, width, height.
    pub video_rect_px: Option<[f32; 4]>,
    /// Session state (`Playing`, `Paused`, …).
    pub state: String,
    /// Title or URL.
    pub title: String,
    /// Playhead, seconds.
    pub position_s: f64,
    /// Duration, when known.
    pub duration_s: Option<f64>,
    /// Seconds buffered.
    pub buffer_s: f64,
    /// Rung at the playhead (1-based, as shown).
    pub playing_rung: Option<usize>,
    /// Rung the ABR chose last (1-based).
    pub target_rung: Option<usize>,
    /// Rung pinned by the viewer (1-based).
    pub pinned_rung: Option<usize>,
    /// The pathway in use.
    pub active_pathway: Option<String>,
    /// The stats panel is shown.
    pub stats_shown: bool,
    /// The stats panel's text lines.
    pub stats: Vec<String>,
    /// The error line, if one is shown.
    pub error: Option<String>,
    /// The status line (what the window is doing), if one is shown.
    pub status: Option<String>,
    /// The window is fullscreen.
    pub fullscreen: bool,
    /// Key names read from `--keys-from` so far.
    pub keys_read: usize,
    /// The level meter takes the picture's place (a title without video).
    pub audio_only: bool,
    /// The newest audio level's peak per channel, dB of full scale.
    pub level_peaks_db: Vec<f64>,
    /// The audio track playing (its name in the menu), if the title has any.
    pub audio_track: Option<String>,
    /// The subtitle track shown (its name in the menu), if any.
    pub subtitle_track: Option<String>,
    /// The subtitle lines drawn over the picture now (markup dropped).
    pub subtitle_lines: Vec<String>,
    /// Where they are drawn, boxes included, in pixels: x, y, width, height.
    pub subtitle_rect_px: Option<[f32; 4]>,
}

/// Writes the dump at most every half second.
pub struct Dumper {
    path: PathBuf,
    last: Option<Instant>,
}

impl Dumper {
    /// A dumper writing to `path`.
    pub fn new(path: PathBuf) -> Dumper {
        Dumper { path, last: None }
    }

    /// `true` when a dump is due.
    pub fn due(&self) -> bool {
        self.last
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(500))
    }

    /// Writes `dump` (through a temporary file and a rename).
    pub fn write(&mut self, dump: &StateDump) {
        self.last = Some(Instant::now());
        let tmp = self.path.with_extension("tmp");
        let result = serde_json::to_vec_pretty(dump)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&tmp, bytes))
            .and_then(|()| std::fs::rename(&tmp, &self.path));
        if let Err(e) = result {
            tracing::warn!("cannot write the state dump {}: {e}", self.path.display());
        }
    }
}

/// Reads key names from a file as it grows.
pub struct KeyScript {
    path: PathBuf,
    offset: u64,
    last: Option<Instant>,
    /// Key names read so far.
    pub read: usize,
}

impl KeyScript {
    /// Follows `path` (which may not exist yet).
    pub fn new(path: PathBuf) -> KeyScript {
        KeyScript {
            path,
            offset: 0,
            last: None,
            read: 0,
        }
    }

    /// New complete lines since the last call (checked at most every 200 ms).
    pub fn poll(&mut self) -> Vec<String> {
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_millis(200))
        {
            return Vec::new();
        }
        self.last = Some(Instant::now());
        match read_from(&self.path, self.offset) {
            Ok((lines, offset)) => {
                self.offset = offset;
                self.read += lines.len();
                lines
            }
            Err(_) => Vec::new(),
        }
    }
}

/// Complete lines of `path` from byte `offset`, trimmed and non-empty, and the offset after them.
fn read_from(path: &Path, offset: u64) -> std::io::Result<(Vec<String>, u64)> {
    let mut file = std::io::BufReader::new(std::fs::File::open(path)?);
    file.seek(std::io::SeekFrom::Start(offset))?;
    let mut lines = Vec::new();
    let mut at = offset;
    loop {
        let mut line = String::new();
        let n = file.read_line(&mut line)?;
        if n == 0 || !line.ends_with('\n') {
            break;
        }
        at += n as u64;
        let line = line.trim();
        if !line.is_empty() {
            lines.push(line.to_owned());
        }
    }
    Ok((lines, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_script_is_read_line_by_line_as_it_grows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        let mut script = KeyScript::new(path.clone());
        assert!(script.poll().is_empty());
        std::fs::write(&path, "k\nrig").unwrap();
        script.last = None;
        assert_eq!(script.poll(), ["k"]);
        std::fs::write(&path, "k\nright\n\n3\n").unwrap();
        script.last = None;
        assert_eq!(script.poll(), ["right", "3"]);
        assert_eq!(script.read, 3);
    }
}
