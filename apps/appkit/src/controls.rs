//! The viewer's controls, shared by both players so a key does the same thing everywhere: what
//! each control asks for ([`Action`]), its default key by name ([`DEFAULTS`], rebindable in
//! `config.toml`'s `[keys]`), the help lines, and [`act`], which turns an action into engine
//! commands (or, in the demo, faults on the caches).

use std::collections::BTreeMap;
use std::sync::Arc;

use player_core::{Command, PlayerHandle};
use tokio::sync::mpsc;

use crate::demo::{Chaos, Demo};
use crate::view::PlayerView;

/// What a control asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Toggle pause.
    Pause,
    /// Seek by seconds.
    Seek(i32),
    /// Volume down / up by a step.
    Volume(i8),
    /// Toggle mute.
    Mute,
    /// Toggle video-only (the terminal) or fullscreen (the desktop).
    VideoOnly,
    /// Next ABR algorithm.
    CycleAbr,
    /// Pin rung (1-based on the keyboard, 0-based here).
    Pin(usize),
    /// Back to the ABR (also: volume up when nothing is pinned, as mpv's `0`).
    Auto,
    /// Next pathway.
    NextPathway,
    /// Next subtitle track, off after the last (mpv's `j`).
    CycleSubtitles,
    /// Next audio track, the first after the last (mpv's `#`).
    CycleAudio,
    /// Back to the beginning (after a resume, or any time).
    StartOver,
    /// Help overlay.
    Help,
    /// Quit.
    Quit,
    /// Demo: kill the active cache.
    Kill,
    /// Demo: add 2 s latency to the active cache.
    Latency,
    /// Demo: throttle the active cache to 500 kbit/s.
    Throttle,
    /// Demo: restore all caches.
    Restore,
}

/// Names usable in `config.toml`'s `[keys]`, with their default key.
pub const DEFAULTS: &[(&str, &str, Action)] = &[
    ("pause", "space", Action::Pause),
    ("seek_back", "left", Action::Seek(-10)),
    ("seek_forward", "right", Action::Seek(10)),
    ("seek_back_long", "down", Action::Seek(-60)),
    ("seek_forward_long", "up", Action::Seek(60)),
    ("volume_down", "9", Action::Volume(-1)),
    ("volume_up", "*", Action::Volume(1)),
    ("volume_down_alt", "/", Action::Volume(-1)),
    ("mute", "m", Action::Mute),
    ("video_only", "f", Action::VideoOnly),
    ("cycle_abr", "a", Action::CycleAbr),
    ("auto", "0", Action::Auto),
    ("next_pathway", "p", Action::NextPathway),
    ("subtitles", "j", Action::CycleSubtitles),
    ("audio_track", "#", Action::CycleAudio),
    ("start_over", "b", Action::StartOver),
    ("help", "?", Action::Help),
    ("quit", "q", Action::Quit),
    ("kill", "k", Action::Kill),
    ("latency", "l", Action::Latency),
    ("throttle", "t", Action::Throttle),
    ("restore", "r", Action::Restore),
];

/// A key as `config.toml` names it, whatever the screen toolkit: a single character, or
/// `space`, `left`, `right`, `up`, `down`, `esc`, `enter`, `tab`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyName {
    /// A typed character.
    Char(char),
    /// Space bar.
    Space,
    /// Arrow left.
    Left,
    /// Arrow right.
    Right,
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Escape.
    Esc,
    /// Enter.
    Enter,
    /// Tab.
    Tab,
}

impl KeyName {
    /// Reads a key name; `None` for anything else.
    pub fn parse(name: &str) -> Option<KeyName> {
        Some(match name.to_ascii_lowercase().as_str() {
            "space" | " " => KeyName::Space,
            "left" => KeyName::Left,
            "right" => KeyName::Right,
            "up" => KeyName::Up,
            "down" => KeyName::Down,
            "esc" => KeyName::Esc,
            "enter" => KeyName::Enter,
            "tab" => KeyName::Tab,
            _ => {
                let mut chars = name.chars();
                let c = chars.next()?;
                if chars.next().is_some() {
                    return None;
                }
                KeyName::Char(c)
            }
        })
    }
}

/// The bindings in force: [`DEFAULTS`] with `config.toml`'s `[keys]` overrides; an unknown
/// action or key is reported in one line.
pub fn bindings(overrides: &BTreeMap<String, String>) -> Result<Vec<(KeyName, Action)>, String> {
    if let Some(unknown) = overrides
        .keys()
        .find(|k| !DEFAULTS.iter().any(|(n, _, _)| n == k))
    {
        let names: Vec<&str> = DEFAULTS.iter().map(|d| d.0).collect();
        return Err(format!(
            "config.toml: no action {unknown:?} to bind; actions are {}",
            names.join(", ")
        ));
    }
    DEFAULTS
        .iter()
        .map(|(name, default, action)| {
            let key = overrides.get(*name).map_or(*default, String::as_str);
            KeyName::parse(key)
                .map(|k| (k, *action))
                .ok_or_else(|| format!("config.toml: unknown key {key:?} for {name}"))
        })
        .collect()
}

/// The key bound to the action named `name` in [`DEFAULTS`] (with `config.toml`'s overrides).
pub fn key_of<'a>(overrides: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    overrides.get(name).map(String::as_str).or_else(|| {
        DEFAULTS
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, key, _)| *key)
    })
}

/// Lines of the help overlay.
pub const HELP: &[(&str, &str)] = &[
    ("space", "pause / play"),
    ("← →", "seek 10 s"),
    ("↑ ↓", "seek 1 min"),
    ("9 / *", "volume down / up (/ also down)"),
    ("m", "mute"),
    ("f", "video only / fullscreen"),
    ("a", "next ABR algorithm"),
    ("1–8", "pin a rung"),
    ("0", "back to auto (volume up when nothing is pinned)"),
    ("p", "next pathway (cache)"),
    ("j", "next subtitles (off after the last)"),
    ("#", "next audio language"),
    ("b", "start over from the beginning"),
    ("?", "this help"),
    ("q", "quit"),
    ("k", "demo: kill the active cache"),
    ("l", "demo: add 2 s latency to it"),
    ("t", "demo: throttle it to 500 kbit/s"),
    ("r", "demo: restore all caches"),
];

/// The ABR algorithms `a` cycles through, Reel's own first.
pub const ABR_CYCLE: [&str; 5] = ["reel", "throughput", "bba", "bola", "mpc"];

/// Turns an action into engine commands, or demo faults (their outcome comes back on `notes`).
/// `Quit` is the caller's to handle.
pub fn act(
    action: Action,
    view: &mut PlayerView,
    control: &PlayerHandle,
    demo: Option<&Arc<Demo>>,
    notes: &mpsc::UnboundedSender<String>,
) {
    match action {
        Action::Pause => control.command(Command::TogglePause),
        Action::Seek(by) => control.command(Command::SeekBy(f64::from(by))),
        Action::Volume(step) => {
            view.volume = (view.volume + 0.1 * f64::from(step)).clamp(0.0, 1.0);
            view.muted = false;
            send_volume(view, control);
        }
        Action::Mute => {
            view.muted = !view.muted;
            send_volume(view, control);
        }
        Action::VideoOnly => view.video_only = !view.video_only,
        Action::Help => view.help = !view.help,
        Action::CycleAbr => {
            let next = ABR_CYCLE
                .iter()
                .position(|a| *a == view.abr)
                .map_or(0, |i| (i + 1) % ABR_CYCLE.len());
            select_abr(view, control, ABR_CYCLE[next]);
        }
        Action::Pin(rung) => pin(view, control, Some(rung)),
        Action::Auto => {
            if view.pinned.is_some() {
                pin(view, control, None);
            } else {
                // mpv's `0`: volume up.
                act(Action::Volume(1), view, control, demo, notes);
            }
        }
        Action::NextPathway => control.command(Command::SetPathway(None)),
        Action::CycleSubtitles => cycle_subtitles(view, control),
        Action::CycleAudio => cycle_audio(view, control),
        Action::StartOver => {
            view.resumed_from = None;
            control.command(Command::Seek(0.0));
        }
        Action::Kill | Action::Latency | Action::Throttle | Action::Restore => {
            chaos(action, view, demo, notes);
        }
        Action::Quit => {}
    }
}

/// Sends the view's volume and mute to the engine.
pub fn send_volume(view: &PlayerView, control: &PlayerHandle) {
    control.command(Command::SetVolume {
        volume: view.volume,
        muted: view.muted,
    });
}

/// Switches the ABR algorithm by name.
pub fn select_abr(view: &mut PlayerView, control: &PlayerHandle, name: &str) {
    view.abr = name.to_string();
    control.command(Command::SetAbr(view.abr.clone()));
}

/// Switches to audio track `index` (into the view's `audio_tracks`).
pub fn select_audio(view: &mut PlayerView, control: &PlayerHandle, index: usize) {
    if index >= view.audio_tracks.len() {
        view.note(format!("there is no audio track {}", index + 1));
        return;
    }
    view.audio_track = index;
    control.command(Command::SelectAudio(index));
}

/// Plays the next audio track, the first after the last (mpv's `#`).
pub fn cycle_audio(view: &mut PlayerView, control: &PlayerHandle) {
    if view.audio_tracks.len() < 2 {
        view.note("this title has one audio track");
        return;
    }
    let next = (view.audio_track + 1) % view.audio_tracks.len();
    select_audio(view, control, next);
}

/// Shows the next subtitle track: off → the first → … → the last → off (mpv's `j`).
pub fn cycle_subtitles(view: &mut PlayerView, control: &PlayerHandle) {
    if view.text_tracks.is_empty() {
        view.note("this title has no subtitles");
        return;
    }
    let next = match view.text_track {
        None => Some(0),
        Some(i) if i + 1 < view.text_tracks.len() => Some(i + 1),
        Some(_) => None,
    };
    select_subtitles(view, control, next);
}

/// Shows subtitle track `index` (0-based), or none with `None`.
pub fn select_subtitles(view: &mut PlayerView, control: &PlayerHandle, index: Option<usize>) {
    if let Some(i) = index
        && i >= view.text_tracks.len()
    {
        view.note(format!("there is no subtitle track {}", i + 1));
        return;
    }
    if index.is_none() {
        // Off at once on screen, not when the engine's next event comes.
        view.subtitle = None;
    }
    view.text_track = index;
    control.command(Command::SelectSubtitles(index));
}

/// Pins a rung (0-based), or gives the choice back to the ABR with `None`.
pub fn pin(view: &mut PlayerView, control: &PlayerHandle, rung: Option<usize>) {
    match rung {
        Some(r) if r >= view.ladder.len() => view.note(format!(
            "there is no rung {} (the ladder has {})",
            r + 1,
            view.ladder.len()
        )),
        Some(r) => {
            view.pinned = Some(r);
            control.command(Command::PinRendition(Some(r)));
        }
        None => {
            if view.pinned.take().is_some() {
                control.command(Command::PinRendition(None));
            }
        }
    }
}

fn chaos(
    action: Action,
    view: &mut PlayerView,
    demo: Option<&Arc<Demo>>,
    notes: &mpsc::UnboundedSender<String>,
) {
    let Some(demo) = demo.cloned() else {
        view.note("chaos controls work in the demo only");
        return;
    };
    let Some(cache) = view.active_pathway.clone() else {
        view.note("no active cache yet");
        return;
    };
    let notes = notes.clone();
    tokio::spawn(async move {
        let line = match action {
            Action::Restore => match demo.restore_all().await {
                Ok(()) => "demo: every cache restored".to_string(),
                Err(e) => format!("demo: {e}"),
            },
            _ => {
                let chaos = match action {
                    Action::Kill => Chaos::Kill,
                    Action::Latency => Chaos::Latency,
                    _ => Chaos::Throttle,
                };
                match demo.chaos(&cache, chaos).await {
                    Ok(_) => format!("demo: {} {cache}", chaos.describe()),
                    Err(e) => format!("demo: {e}"),
                }
            }
        };
        let _ = notes.send(line);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_and_overrides() {
        assert_eq!(KeyName::parse("Space"), Some(KeyName::Space));
        assert_eq!(KeyName::parse("*"), Some(KeyName::Char('*')));
        assert_eq!(KeyName::parse("ctrl"), None);
        let b = bindings(&BTreeMap::from([("quit".to_string(), "x".to_string())])).unwrap();
        assert!(b.contains(&(KeyName::Char('x'), Action::Quit)));
        assert!(b.contains(&(KeyName::Space, Action::Pause)));
        assert!(!b.iter().any(|(k, _)| *k == KeyName::Char('q')));
        let unknown = bindings(&BTreeMap::from([("jump".to_string(), "j".to_string())]));
        assert!(unknown.unwrap_err().contains("no action \"jump\""));
        let bad = bindings(&BTreeMap::from([("quit".to_string(), "ctrl".to_string())]));
        assert!(bad.unwrap_err().contains("unknown key \"ctrl\" for quit"));
    }
}
