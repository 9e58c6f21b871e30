//! The dialogs: open a manifest URL or a title (with the playback API's catalogue when it can
//! be read), log in to the playback API (the token goes to the OS keyring, as `reel login`
//! does), and the keys help. Each returns what the viewer asked for; the app does the work.

use eframe::egui::{self, Color32, RichText};
use reel_appkit::controls::HELP;

/// What a dialog asks of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Open this URL or title.
    Open(String),
    /// Log in.
    Login {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// Forget the stored token.
    Logout,
}

/// The open dialog.
#[derive(Default)]
pub struct OpenDialog {
    /// Shown.
    pub shown: bool,
    /// What is typed.
    pub text: String,
    /// The catalogue's titles, or why it could not be read; `None` while loading.
    pub titles: Option<Result<Vec<String>, String>>,
}

impl OpenDialog {
    /// Draws the dialog if shown.
    pub fn show(&mut self, ctx: &egui::Context) -> Option<Request> {
        if !self.shown {
            return None;
        }
        let mut request = None;
        let modal = egui::Modal::new(egui::Id::unique("reel-open-dialog")).show(ctx, |ui| {
            ui.set_width(520.0);
            ui.heading("Open");
            ui.label("A manifest URL (HLS .m3u8, DASH .mpd) or a title of the playback API:");
            let edit = ui.add(
                egui::TextEdit::singleline(&mut self.text)
                    .hint_text("http://…/master.m3u8 or a title id")
                    .desired_width(f32::INFINITY),
            );
            edit.request_focus();
            let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            match &self.titles {
                None => {
                    ui.label(RichText::new("reading the catalogue…").weak());
                }
                Some(Ok(titles)) if !titles.is_empty() => {
                    ui.label("Titles:");
                    ui.horizontal_wrapped(|ui| {
                        for t in titles {
                            if ui.button(t).clicked() {
                                request = Some(Request::Open(t.clone()));
                            }
                        }
                    });
                }
                Some(Ok(_)) => {
                    ui.label(RichText::new("the catalogue is empty").weak());
                }
                Some(Err(e)) => {
                    ui.label(RichText::new(format!("catalogue: {e}")).weak());
                }
            }
            ui.separator();
            ui.horizontal(|ui| {
                if ui.button("Open").clicked() || enter {
                    request = Some(Request::Open(self.text.trim().to_owned()));
                }
                if ui.button("Cancel").clicked() {
                    ui.close();
                }
            });
        });
        if request.is_some() || modal.should_close() {
            self.shown = false;
        }
        request
    }
}

/// The login dialog.
#[derive(Default)]
pub struct LoginDialog {
    /// Shown.
    pub shown: bool,
    /// The playback API it logs in to.
    pub backend: String,
    /// User name.
    pub user: String,
    /// Password (cleared after each attempt).
    pub password: String,
    /// A login is under way.
    pub busy: bool,
    /// The last outcome, one line: `Ok` says where the token went, `Err` why it failed.
    pub status: Option<Result<String, String>>,
}

impl LoginDialog {
    /// Draws the dialog if shown.
    pub fn show(&mut self, ctx: &egui::Context) -> Option<Request> {
        if !self.shown {
            return None;
        }
        let mut request = None;
        let modal = egui::Modal::new(egui::Id::unique("reel-login-dialog")).show(ctx, |ui| {
            ui.set_width(440.0);
            ui.heading("Log in");
            ui.label(format!("Playback API: {}", self.backend));
            let mut submit = false;
            egui::Grid::new("login-grid").num_columns(2).show(ui, |ui| {
                ui.label("User");
                ui.add(egui::TextEdit::singleline(&mut self.user).desired_width(260.0));
                ui.end_row();
                ui.label("Password");
                let pw = ui.add(
                    egui::TextEdit::singleline(&mut self.password)
                        .password(true)
                        .desired_width(260.0),
                );
                submit = pw.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.end_row();
            });
            ui.label(
                RichText::new(
                    "The token is kept in the OS keyring; REEL_TOKEN in the environment wins.",
                )
                .weak(),
            );
            match &self.status {
                Some(Ok(line)) => {
                    ui.label(RichText::new(line).color(Color32::from_rgb(90, 200, 90)));
                }
                Some(Err(line)) => {
                    ui.label(RichText::new(line).color(Color32::from_rgb(230, 80, 70)));
                }
                None => {}
            }
            ui.separator();
            ui.horizontal(|ui| {
                let can = !self.busy && !self.user.trim().is_empty();
                if ui.add_enabled(can, egui::Button::new("Log in")).clicked() || (submit && can) {
                    request = Some(Request::Login {
                        user: self.user.trim().to_owned(),
                        password: std::mem::take(&mut self.password),
                    });
                }
                if ui
                    .add_enabled(!self.busy, egui::Button::new("Log out"))
                    .clicked()
                {
                    request = Some(Request::Logout);
                }
                if self.busy {
                    ui.spinner();
                }
                if ui.button("Close").clicked() {
                    ui.close();
                }
            });
        });
        if modal.should_close() {
            self.shown = false;
        }
        request
    }
}

/// The keys help window; `open` is cleared when it is closed.
pub fn help(ctx: &egui::Context, open: &mut bool, demo: bool) {
    egui::Window::new("Keys")
        .open(open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
        .show(ctx, |ui| {
            egui::Grid::new("help-grid").num_columns(2).show(ui, |ui| {
                for (key, what) in HELP
                    .iter()
                    .filter(|(_, what)| demo || !what.starts_with("demo"))
                {
                    let what = if *key == "f" { "fullscreen" } else { what };
                    ui.label(RichText::new(*key).monospace().strong());
                    ui.label(what);
                    ui.end_row();
                }
                for (key, what) in [
                    ("i", "stats panel"),
                    ("Esc", "leave fullscreen"),
                    ("dbl-click", "fullscreen"),
                ] {
                    ui.label(RichText::new(key).monospace().strong());
                    ui.label(what);
                    ui.end_row();
                }
            });
        });
}
