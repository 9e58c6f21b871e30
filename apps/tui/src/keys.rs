//! Key bindings: mpv's where mpv has one (space, arrows, 9/0, m, f, q), Reel's own for the
//! engine (`a` ABR, digits pin a rung, `p` pathway) and the demo's chaos keys; any of them can be
//! rebound in `config.toml` (`[keys] quit = "x"`).

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use reel_appkit::controls::{self, Action, KeyName};

/// The key map in force.
pub struct Keymap {
    bindings: Vec<(KeyCode, Action)>,
}

fn key_code(key: KeyName) -> KeyCode {
    match key {
        KeyName::Char(c) => KeyCode::Char(c),
        KeyName::Space => KeyCode::Char(' '),
        KeyName::Left => KeyCode::Left,
        KeyName::Right => KeyCode::Right,
        KeyName::Up => KeyCode::Up,
        KeyName::Down => KeyCode::Down,
        KeyName::Esc => KeyCode::Esc,
        KeyName::Enter => KeyCode::Enter,
        KeyName::Tab => KeyCode::Tab,
    }
}

impl Keymap {
    /// Defaults with the settings' overrides; unknown names or keys are reported.
    pub fn new(overrides: &BTreeMap<String, String>) -> Result<Keymap, String> {
        let bindings = controls::bindings(overrides)?
            .into_iter()
            .map(|(k, a)| (key_code(k), a))
            .collect();
        Ok(Keymap { bindings })
    }

    /// The action of a key press, if any. Digits 1–8 pin rungs; Ctrl-C quits.
    pub fn action(&self, key: KeyEvent) -> Option<Action> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Some(Action::Quit);
        }
        if let Some((_, a)) = self.bindings.iter().find(|(k, _)| *k == key.code) {
            return Some(*a);
        }
        match key.code {
            KeyCode::Char(c @ '1'..='8') => Some(Action::Pin(c as usize - '1' as usize)),
            KeyCode::Esc => Some(Action::Help),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn defaults_follow_mpv_and_overrides_apply() {
        let map = Keymap::new(&BTreeMap::new()).unwrap();
        assert_eq!(map.action(key(KeyCode::Char(' '))), Some(Action::Pause));
        assert_eq!(map.action(key(KeyCode::Right)), Some(Action::Seek(10)));
        assert_eq!(map.action(key(KeyCode::Up)), Some(Action::Seek(60)));
        assert_eq!(map.action(key(KeyCode::Char('3'))), Some(Action::Pin(2)));
        assert_eq!(map.action(key(KeyCode::Char('0'))), Some(Action::Auto));
        assert_eq!(
            map.action(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        let map = Keymap::new(&BTreeMap::from([("quit".to_string(), "x".to_string())])).unwrap();
        assert_eq!(map.action(key(KeyCode::Char('x'))), Some(Action::Quit));
        assert_eq!(map.action(key(KeyCode::Char('q'))), None);
        assert!(Keymap::new(&BTreeMap::from([("jump".to_string(), "j".to_string())])).is_err());
    }
}
