//! Keyboard: the terminal player's bindings ([`controls::DEFAULTS`], with `config.toml`'s `[keys]`
//! overrides) read from egui's input — named keys (space, arrows, esc, enter, tab) from key
//! events, characters (`9`, `*`, `/`, `?`, letters) from text events so the keyboard layout and
//! Shift are honoured — plus the desktop's own: `i` the stats panel, Esc out of fullscreen.

use std::collections::BTreeMap;

use eframe::egui;
use reel_appkit::controls::{Action, DEFAULTS};

/// A key as the settings name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySpec {
    /// A key without a character (space counts here).
    Named(egui::Key),
    /// A typed character.
    Char(char),
}

/// What a key press asks of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// One of the players' shared actions.
    Act(Action),
    /// Show or hide the stats panel.
    ToggleStats,
    /// Esc: leave fullscreen, close the help.
    Escape,
}

/// Reads a key name from the settings: a single character, or `space`, `left`, `right`, `up`,
/// `down`, `esc`, `enter`, `tab`.
pub fn parse_key(name: &str) -> Option<KeySpec> {
    use egui::Key;
    Some(KeySpec::Named(match name.to_ascii_lowercase().as_str() {
        "space" | " " => Key::Space,
        "left" => Key::ArrowLeft,
        "right" => Key::ArrowRight,
        "up" => Key::ArrowUp,
        "down" => Key::ArrowDown,
        "esc" => Key::Escape,
        "enter" => Key::Enter,
        "tab" => Key::Tab,
        _ => {
            let mut chars = name.chars();
            let c = chars.next()?;
            if chars.next().is_some() {
                return None;
            }
            return Some(KeySpec::Char(c));
        }
    }))
}

/// The key map in force.
pub struct Keymap {
    bindings: Vec<(KeySpec, Action)>,
}

impl Keymap {
    /// Defaults with the settings' overrides; unknown names or keys are reported in one line.
    pub fn new(overrides: &BTreeMap<String, String>) -> Result<Keymap, String> {
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
        let mut bindings = Vec::new();
        for (name, key, action) in DEFAULTS {
            let key = match overrides.get(*name) {
                Some(k) => parse_key(k)
                    .ok_or_else(|| format!("config.toml: unknown key {k:?} for {name}"))?,
                None => parse_key(key).expect("default keys parse"),
            };
            bindings.push((key, *action));
        }
        Ok(Keymap { bindings })
    }

    /// What a key does: its binding, else digits 1–8 pin a rung, `i` the stats, Esc.
    pub fn input(&self, key: KeySpec) -> Option<Input> {
        if let Some((_, a)) = self.bindings.iter().find(|(k, _)| *k == key) {
            return Some(Input::Act(*a));
        }
        match key {
            KeySpec::Char(c @ '1'..='8') => {
                Some(Input::Act(Action::Pin(c as usize - '1' as usize)))
            }
            KeySpec::Char('i') => Some(Input::ToggleStats),
            KeySpec::Named(egui::Key::Escape) => Some(Input::Escape),
            _ => None,
        }
    }

    /// What a key named as in the settings does (`k`, `right`, `3`…), for scripted input.
    pub fn by_name(&self, name: &str) -> Option<Input> {
        parse_key(name).and_then(|k| self.input(k))
    }

    /// Takes the key presses this map knows out of egui's input (so a focused button does not
    /// also see them) and returns what they ask, in order. Ctrl-Q and Ctrl-C quit.
    pub fn take(&self, events: &mut Vec<egui::Event>) -> Vec<Input> {
        let mut inputs = Vec::new();
        events.retain(|e| {
            let found = match e {
                egui::Event::Key {
                    key,
                    pressed: true,
                    modifiers,
                    ..
                } => {
                    if modifiers.command && matches!(key, egui::Key::Q | egui::Key::C) {
                        Some(Input::Act(Action::Quit))
                    } else if modifiers.any() && !modifiers.shift_only() {
                        None
                    } else {
                        self.input(KeySpec::Named(*key))
                    }
                }
                egui::Event::Text(text) => {
                    let mut chars = text.chars();
                    match (chars.next(), chars.next()) {
                        (Some(c), None) if c != ' ' => self.input(KeySpec::Char(c)),
                        _ => None,
                    }
                }
                _ => None,
            };
            match found {
                Some(i) => {
                    inputs.push(i);
                    false
                }
                None => true,
            }
        });
        inputs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(key: egui::Key) -> egui::Event {
        egui::Event::Key {
            key,
            physical_key: None,
            pressed: true,
            repeat: false,
            modifiers: egui::Modifiers::NONE,
        }
    }

    #[test]
    fn the_terminal_players_keys_work_and_overrides_apply() {
        let map = Keymap::new(&BTreeMap::new()).unwrap();
        let mut events = vec![
            key(egui::Key::Space),
            egui::Event::Text(" ".into()),
            key(egui::Key::ArrowRight),
            egui::Event::Text("*".into()),
            egui::Event::Text("3".into()),
            egui::Event::Text("0".into()),
            egui::Event::Text("i".into()),
            egui::Event::Text("x".into()),
            key(egui::Key::Escape),
        ];
        let inputs = map.take(&mut events);
        assert_eq!(
            inputs,
            [
                Input::Act(Action::Pause),
                Input::Act(Action::Seek(10)),
                Input::Act(Action::Volume(1)),
                Input::Act(Action::Pin(2)),
                Input::Act(Action::Auto),
                Input::ToggleStats,
                Input::Escape,
            ]
        );
        // What the map does not know stays for the widgets.
        assert_eq!(events.len(), 2);
        assert_eq!(map.by_name("k"), Some(Input::Act(Action::Kill)));
        assert_eq!(map.by_name("up"), Some(Input::Act(Action::Seek(60))));

        let map = Keymap::new(&BTreeMap::from([("quit".to_string(), "x".to_string())])).unwrap();
        assert_eq!(map.by_name("x"), Some(Input::Act(Action::Quit)));
        assert_eq!(map.by_name("q"), None);
        assert!(Keymap::new(&BTreeMap::from([("jump".to_string(), "j".to_string())])).is_err());
        assert!(Keymap::new(&BTreeMap::from([("quit".to_string(), "ctrl".to_string())])).is_err());
    }
}
