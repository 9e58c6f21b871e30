//! Keyboard: the terminal player's bindings ([`controls::DEFAULTS`], with `config.toml`'s `[keys]`
//! overrides) read from egui's input — named keys (space, arrows, esc, enter, tab) from key
//! events, characters (`9`, `*`, `/`, `?`, letters) from text events so the keyboard layout and
//! Shift are honoured — plus the desktop's own: `i` the stats panel, Esc out of fullscreen.

use std::collections::BTreeMap;

use eframe::egui;
use reel_appkit::controls::{self, Action, KeyName};

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

/// Reads a key name from the settings (as [`KeyName::parse`]) as this window sees keys.
pub fn parse_key(name: &str) -> Option<KeySpec> {
    KeyName::parse(name).map(key_spec)
}

fn key_spec(key: KeyName) -> KeySpec {
    use egui::Key;
    KeySpec::Named(match key {
        KeyName::Char(c) => return KeySpec::Char(c),
        KeyName::Space => Key::Space,
        KeyName::Left => Key::ArrowLeft,
        KeyName::Right => Key::ArrowRight,
        KeyName::Up => Key::ArrowUp,
        KeyName::Down => Key::ArrowDown,
        KeyName::Esc => Key::Escape,
        KeyName::Enter => Key::Enter,
        KeyName::Tab => Key::Tab,
    })
}

/// The key map in force.
pub struct Keymap {
    bindings: Vec<(KeySpec, Action)>,
}

impl Keymap {
    /// Defaults with the settings' overrides; unknown names or keys are reported in one line.
    pub fn new(overrides: &BTreeMap<String, String>) -> Result<Keymap, String> {
        let bindings = controls::bindings(overrides)?
            .into_iter()
            .map(|(k, a)| (key_spec(k), a))
            .collect();
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
