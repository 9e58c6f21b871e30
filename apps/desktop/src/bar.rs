//! The controls under the video: a seek bar showing the buffered range, play/pause, the time,
//! volume and mute, the quality menu (auto or a pinned rung, each with its resolution and
//! bitrate), the ABR, audio and subtitle menus, the stats and fullscreen toggles, open and login
//! — and in the demo the chaos buttons. Drawing only: what the viewer asked comes back as
//! [`UiCommand`]s for the app to carry out.

use eframe::egui::{self, Color32, RichText};
use player_core::PlayerState;
use reel_appkit::controls::{ABR_CYCLE, Action};
use reel_appkit::view::{PlayerView, clock};

use crate::stats::rung_text;

/// What a control asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum UiCommand {
    /// One of the players' shared actions (pause, chaos, …).
    Act(Action),
    /// Seek to a position, seconds.
    SeekTo(f64),
    /// Set the volume, 0..=1.
    Volume(f64),
    /// Pin a rung (0-based), or `None` for auto.
    Pin(Option<usize>),
    /// Switch the ABR algorithm.
    Abr(String),
    /// Switch the audio track.
    Audio(usize),
    /// Show a subtitle track, or none.
    Subtitles(Option<usize>),
    /// Show or hide the stats panel.
    ToggleStats,
    /// Enter or leave fullscreen.
    ToggleFullscreen,
    /// The open dialog.
    Open,
    /// The login dialog.
    Login,
}

/// What the bar needs besides the view.
pub struct BarState<'a> {
    /// The engine's model.
    pub view: &'a PlayerView,
    /// The playhead as shown (interpolated between the engine's reports).
    pub position_s: f64,
    /// The stats panel is shown.
    pub stats: bool,
    /// The window is fullscreen.
    pub fullscreen: bool,
    /// A stream is open.
    pub playing: bool,
}

/// A seek bar: the played part, the buffered range ahead of the playhead, a handle; click or
/// drag to seek (the seek is sent when the drag ends).
fn seek_bar(ui: &mut egui::Ui, s: &BarState<'_>, out: &mut Vec<UiCommand>) {
    let width = ui.available_width();
    let (rect, response) =
        ui.allocate_exact_size(egui::vec2(width, 18.0), egui::Sense::click_and_drag());
    let duration = s.view.duration_s.filter(|d| *d > 0.0);
    let painter = ui.painter_at(rect);
    let track = egui::Rect::from_center_size(rect.center(), egui::vec2(rect.width(), 6.0));
    painter.rect_filled(track, 3.0, Color32::from_gray(60));
    let Some(duration) = duration else {
        return;
    };
    let x_of = |t: f64| track.left() + track.width() * (t / duration).clamp(0.0, 1.0) as f32;
    let mut shown = s.position_s;
    let pointer_t = response
        .interact_pointer_pos()
        .or_else(|| response.hover_pos())
        .map(|p| f64::from((p.x - track.left()) / track.width()).clamp(0.0, 1.0) * duration);
    if response.dragged()
        && let Some(t) = pointer_t
    {
        shown = t;
    }
    let buffered = egui::Rect::from_min_max(
        egui::pos2(x_of(s.view.position_s), track.top()),
        egui::pos2(x_of(s.view.position_s + s.view.buffer_s), track.bottom()),
    );
    painter.rect_filled(buffered, 3.0, Color32::from_gray(130));
    let played = egui::Rect::from_min_max(track.min, egui::pos2(x_of(shown), track.bottom()));
    painter.rect_filled(played, 3.0, Color32::from_rgb(70, 140, 230));
    painter.circle_filled(
        egui::pos2(x_of(shown), track.center().y),
        7.0,
        Color32::from_rgb(230, 230, 240),
    );
    if let Some(t) = pointer_t {
        response.clone().on_hover_text_at_pointer(clock(t));
    }
    if (response.clicked() || response.drag_stopped())
        && let Some(t) = pointer_t
    {
        out.push(UiCommand::SeekTo(t));
    }
}

fn quality_menu(ui: &mut egui::Ui, view: &PlayerView, out: &mut Vec<UiCommand>) {
    let current = match view.pinned {
        Some(r) => format!("Quality: {}", view.rung_label(r)),
        None => match view.playing_rung {
            Some(r) => format!("Quality: auto ({})", view.rung_label(r)),
            None => "Quality: auto".into(),
        },
    };
    ui.menu_button(current, |ui| {
        let auto = match view.playing_rung {
            Some(r) if view.pinned.is_none() => format!("Auto (now {})", rung_text(view, r)),
            _ => "Auto".into(),
        };
        if ui.radio(view.pinned.is_none(), auto).clicked() {
            out.push(UiCommand::Pin(None));
        }
        for i in (0..view.ladder.len()).rev() {
            let playing = if view.playing_rung == Some(i) {
                "  ▶"
            } else {
                ""
            };
            let text = format!("{}  {}{playing}", i + 1, rung_text(view, i));
            if ui.radio(view.pinned == Some(i), text).clicked() {
                out.push(UiCommand::Pin(Some(i)));
            }
        }
    });
}

fn tracks_menus(ui: &mut egui::Ui, view: &PlayerView, out: &mut Vec<UiCommand>) {
    let audio = view
        .audio_tracks
        .get(view.audio_track)
        .map_or("Audio".to_string(), |a| format!("Audio: {a}"));
    ui.add_enabled_ui(!view.audio_tracks.is_empty(), |ui| {
        ui.menu_button(audio, |ui| {
            for (i, name) in view.audio_tracks.iter().enumerate() {
                if ui.radio(view.audio_track == i, name).clicked() {
                    out.push(UiCommand::Audio(i));
                }
            }
        })
    });
    let subtitles = match view.text_track.and_then(|i| view.text_tracks.get(i)) {
        Some(name) => format!("Subtitles: {name}"),
        None => "Subtitles: off".to_string(),
    };
    ui.add_enabled_ui(!view.text_tracks.is_empty(), |ui| {
        ui.menu_button(subtitles, |ui| {
            if ui.radio(view.text_track.is_none(), "Off").clicked() {
                out.push(UiCommand::Subtitles(None));
            }
            for (i, name) in view.text_tracks.iter().enumerate() {
                if ui.radio(view.text_track == Some(i), name).clicked() {
                    out.push(UiCommand::Subtitles(Some(i)));
                }
            }
        })
        .response
        .on_hover_text("j: next track, off after the last");
    });
}

fn abr_menu(ui: &mut egui::Ui, view: &PlayerView, out: &mut Vec<UiCommand>) {
    ui.menu_button(format!("ABR: {}", view.abr), |ui| {
        for name in ABR_CYCLE {
            if ui.radio(view.abr == name, name).clicked() {
                out.push(UiCommand::Abr(name.into()));
            }
        }
    });
}

/// The chaos buttons of the demo, acting on the active cache.
pub fn chaos_row(ui: &mut egui::Ui, view: &PlayerView, out: &mut Vec<UiCommand>) {
    ui.horizontal(|ui| {
        let cache = view.active_pathway.as_deref().unwrap_or("-");
        ui.label(RichText::new(format!("Demo chaos on the active cache ({cache}):")).strong());
        let has = view.active_pathway.is_some();
        let buttons = [
            (
                "Kill",
                "k",
                Action::Kill,
                "refuse connections, cut open ones",
            ),
            (
                "Slow +2 s",
                "l",
                Action::Latency,
                "2 s before every response",
            ),
            (
                "Throttle",
                "t",
                Action::Throttle,
                "500 kbit/s per connection",
            ),
        ];
        for (label, key, action, tip) in buttons {
            if ui
                .add_enabled(has, egui::Button::new(format!("{label} ({key})")))
                .on_hover_text(tip)
                .clicked()
            {
                out.push(UiCommand::Act(action));
            }
        }
        if ui
            .button("Restore all (r)")
            .on_hover_text("clear every fault on every cache")
            .clicked()
        {
            out.push(UiCommand::Act(Action::Restore));
        }
    });
}

/// The state in one word.
pub fn state_name(state: &PlayerState) -> &'static str {
    match state {
        PlayerState::Idle => "Idle",
        PlayerState::Loading => "Loading",
        PlayerState::Buffering => "Buffering",
        PlayerState::Playing => "Playing",
        PlayerState::Paused => "Paused",
        PlayerState::Stalled => "Stalled",
        PlayerState::Ended => "Ended",
        PlayerState::Failed(_) => "Failed",
    }
}

/// Draws the bar; returns what the viewer asked.
pub fn show(ui: &mut egui::Ui, s: &BarState<'_>) -> Vec<UiCommand> {
    let mut out = Vec::new();
    let view = s.view;
    seek_bar(ui, s, &mut out);
    ui.horizontal(|ui| {
        let paused = matches!(view.state, PlayerState::Paused);
        let label = if paused { "Play" } else { "Pause" };
        if ui
            .add_enabled(s.playing, egui::Button::new(label))
            .on_hover_text("space")
            .clicked()
        {
            out.push(UiCommand::Act(Action::Pause));
        }
        let time = match view.duration_s {
            Some(d) => format!("{} / {}", clock(s.position_s), clock(d)),
            None if !view.format.is_empty() => format!("{} (live)", clock(s.position_s)),
            None => clock(s.position_s),
        };
        ui.label(RichText::new(time).monospace());
        ui.label(RichText::new(state_name(&view.state)).weak());
        ui.separator();
        let mute = if view.muted { "Unmute" } else { "Mute" };
        if ui.button(mute).on_hover_text("mute (m)").clicked() {
            out.push(UiCommand::Act(Action::Mute));
        }
        let mut volume = view.volume;
        if ui
            .add(
                egui::Slider::new(&mut volume, 0.0..=1.0)
                    .show_value(false)
                    .trailing_fill(true),
            )
            .on_hover_text(format!("volume {:.0}% (9 / *)", view.volume * 100.0))
            .changed()
        {
            out.push(UiCommand::Volume(volume));
        }
        ui.separator();
        quality_menu(ui, view, &mut out);
        abr_menu(ui, view, &mut out);
        tracks_menus(ui, view, &mut out);
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let full = if s.fullscreen {
                "Leave fullscreen"
            } else {
                "Fullscreen"
            };
            if ui.button(full).on_hover_text("f, Esc to leave").clicked() {
                out.push(UiCommand::ToggleFullscreen);
            }
            if ui
                .selectable_label(s.stats, "Stats")
                .on_hover_text("i")
                .clicked()
            {
                out.push(UiCommand::ToggleStats);
            }
            if ui.button("Help").on_hover_text("?").clicked() {
                out.push(UiCommand::Act(Action::Help));
            }
            if ui.button("Login…").clicked() {
                out.push(UiCommand::Login);
            }
            if ui.button("Open…").clicked() {
                out.push(UiCommand::Open);
            }
        });
    });
    out
}
