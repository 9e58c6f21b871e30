//! The window: the video in the middle, the controls bar under it, the stats panel at the side
//! (toggled with `i`), a title line with the one-line error or status above; fullscreen shows
//! the video alone. Work that waits (starting the demo stack, resolving a title, logging in)
//! runs on the tokio runtime and comes back as a [`Reply`]; engine events, frames and the
//! caches' health arrive through [`Playback`]. Nothing here panics on a bad URL, a dead backend
//! or a missing keyring: each ends as one line in the window.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eframe::egui::{self, Color32, RichText};
use player_core::PlayerState;
use player_core::presentation::MediaKind;
use player_core::protocol::Format;
use reel_appkit::api::{Client, ClientError};
use reel_appkit::controls::{self, Action};
use reel_appkit::demo::{DEMO_USER, Demo, DemoConfig};
use reel_appkit::open;
use reel_appkit::resume::Resume;
use reel_appkit::settings::Settings;
use reel_appkit::token;
use reel_appkit::view::PlayerView;
use tokio::sync::mpsc;

use crate::bar::{self, BarState, UiCommand};
use crate::dialogs::{self, LoginDialog, OpenDialog, Request};
use crate::dump::{Dumper, KeyScript, StateDump};
use crate::keys::{Input, Keymap};
use crate::playback::{Playback, Target};
use crate::stats;
use crate::subtitles;
use crate::video::VideoTexture;

/// How the window starts.
pub struct Options {
    /// A URL or title to play at once.
    pub target: Option<String>,
    /// Start the demo stack in-process and play its title.
    pub demo: Option<DemoConfig>,
    /// The playback API.
    pub backend: String,
    /// Manifest format asked of the playback API.
    pub format: Format,
    /// ABR algorithm (default: the settings').
    pub abr: Option<String>,
    /// Sound on the default output.
    pub audio: bool,
    /// Where the first title starts, in seconds (taken by the first playback); otherwise a
    /// title resumes where it was left.
    pub start: Option<f64>,
    /// Resume titles where they were left and remember where they are left.
    pub resume: bool,
    /// Open with the stats panel shown.
    pub stats: bool,
    /// Open fullscreen.
    pub fullscreen: bool,
    /// Test hook: write the state dump here.
    pub dump: Option<PathBuf>,
    /// Test hook: read key names from here.
    pub keys_from: Option<PathBuf>,
    /// `config.toml`.
    pub settings: Settings,
    /// The key map.
    pub keymap: Keymap,
    /// What `main` needs once the window is closed.
    pub exit: Arc<Mutex<Exit>>,
}

/// Handed back to `main` when the window closes.
#[derive(Default)]
pub struct Exit {
    /// The one line to print when playback failed.
    pub failure: Option<String>,
    /// The demo stack, to shut down.
    pub demo: Option<Arc<Demo>>,
    /// Where the title playing was left, to remember: the store, position, duration, and
    /// whether it played to its end.
    pub bookmark: Option<(Resume, f64, f64, bool)>,
}

/// Results of work done on the runtime.
enum Reply {
    /// The demo stack started (with the demo login's token) and its title resolved.
    Demo(Result<(Arc<Demo>, String, Target), String>),
    /// A target resolved (for open number `.0`).
    Opened(u64, Result<Target, String>),
    /// A login: the token, and where it went (`Err`: the keyring could not keep it).
    LoggedIn(Result<(String, Result<String, String>), String>),
    /// A logout's outcome line.
    LoggedOut(Result<String, String>),
    /// The catalogue's titles.
    Titles(Result<Vec<String>, String>),
    /// Background work with nothing to report (it logged what went wrong).
    Noted,
}

/// The playhead between the engine's once-a-second reports.
struct Playhead {
    reported: f64,
    at: Instant,
}

/// The desktop player.
pub struct DesktopApp {
    opts: Options,
    view: PlayerView,
    video: VideoTexture,
    /// Where the subtitle was drawn in the last paint, if one was.
    subtitle_rect: Option<egui::Rect>,
    playback: Option<Playback>,
    /// Where the title playing is remembered.
    resume: Option<Resume>,
    demo: Option<Arc<Demo>>,
    /// A token in hand for this window only (the demo's, or one the keyring could not keep).
    session_token: Option<String>,
    backend: String,
    error: Option<String>,
    status: Option<String>,
    stats_shown: bool,
    fullscreen: bool,
    seen_fullscreen: Option<bool>,
    open_dialog: OpenDialog,
    login_dialog: LoginDialog,
    replies_tx: mpsc::UnboundedSender<Reply>,
    replies: mpsc::UnboundedReceiver<Reply>,
    notes_tx: mpsc::UnboundedSender<String>,
    notes: mpsc::UnboundedReceiver<String>,
    opening: u64,
    playhead: Playhead,
    qoe_at: Instant,
    started: Instant,
    dumper: Option<Dumper>,
    script: Option<KeyScript>,
    window_title: String,
    ctx: egui::Context,
}

fn one_line(s: impl std::fmt::Display) -> String {
    s.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

impl DesktopApp {
    /// The app, starting whatever `opts` asks (the demo, a target, or the open dialog).
    pub fn new(ctx: egui::Context, opts: Options) -> DesktopApp {
        let (replies_tx, replies) = mpsc::unbounded_channel();
        let (notes_tx, notes) = mpsc::unbounded_channel();
        let abr = opts
            .abr
            .clone()
            .unwrap_or_else(|| opts.settings.abr.clone());
        let demo_mode = opts.demo.is_some();
        let mut app = DesktopApp {
            view: PlayerView::new("", abr, demo_mode),
            video: VideoTexture::default(),
            subtitle_rect: None,
            playback: None,
            resume: None,
            demo: None,
            session_token: None,
            backend: opts.backend.clone(),
            error: None,
            status: None,
            stats_shown: opts.stats,
            fullscreen: opts.fullscreen,
            seen_fullscreen: None,
            open_dialog: OpenDialog::default(),
            login_dialog: LoginDialog::default(),
            replies_tx,
            replies,
            notes_tx,
            notes,
            opening: 0,
            playhead: Playhead {
                reported: 0.0,
                at: Instant::now(),
            },
            qoe_at: Instant::now(),
            started: Instant::now(),
            dumper: opts.dump.clone().map(Dumper::new),
            script: opts.keys_from.clone().map(KeyScript::new),
            window_title: String::new(),
            ctx,
            opts,
        };
        if let Some(config) = app.opts.demo.clone() {
            app.start_demo(config);
        } else if let Some(target) = app.opts.target.clone() {
            app.open(target);
        } else {
            app.status = Some("nothing is playing: open a URL or a title (Open…)".into());
            app.show_open_dialog();
        }
        app
    }

    fn spawn(&self, work: impl Future<Output = Reply> + Send + 'static) {
        let (tx, ctx) = (self.replies_tx.clone(), self.ctx.clone());
        tokio::spawn(async move {
            let _ = tx.send(work.await);
            ctx.request_repaint();
        });
    }

    fn start_demo(&mut self, config: DemoConfig) {
        self.status = Some(
            "starting the demo stack (the first run encodes the demo title: about two minutes)…"
                .into(),
        );
        let player_config = match open::player_config(&self.opts.settings, self.opts.abr.as_deref())
        {
            Ok(c) => c,
            Err(e) => return self.fail(e),
        };
        let format = self.opts.format;
        let (resume, explicit_start) = (self.opts.resume, self.opts.start.is_some());
        self.spawn(async move {
            let started = async {
                let demo = Demo::start(&config).await.map_err(one_line)?;
                let login = demo
                    .api()
                    .login(DEMO_USER.0, DEMO_USER.1)
                    .await
                    .map_err(one_line)?;
                let title = demo
                    .title()
                    .ok_or("the demo's media directory has no title")?
                    .to_owned();
                let backend = demo.api().base().as_str().trim_end_matches('/').to_owned();
                let mut config = player_config;
                let opened = open::resolve_with_token(
                    &title,
                    &backend,
                    format,
                    Some(&login.token),
                    &mut config,
                )
                .await
                .map_err(one_line)?;
                let target = Target::new(opened, format!("{title} (demo)"), config)
                    .resume(resume, explicit_start)
                    .await;
                Ok::<_, String>((Arc::new(demo), login.token, target))
            };
            Reply::Demo(started.await)
        });
    }

    /// Resolves `target` (URL or title) and plays it.
    fn open(&mut self, target: String) {
        let target = target.trim().to_owned();
        self.error = None;
        self.opening += 1;
        let number = self.opening;
        let mut config = match open::player_config(&self.opts.settings, self.opts.abr.as_deref()) {
            Ok(c) => c,
            Err(e) => return self.fail(e),
        };
        self.status = Some(format!("opening {target}…"));
        let (backend, format, token) = (
            self.backend.clone(),
            self.opts.format,
            self.session_token.clone(),
        );
        let (resume, explicit_start) = (self.opts.resume, self.opts.start.is_some());
        self.spawn(async move {
            let resolved =
                open::resolve_with_token(&target, &backend, format, token.as_deref(), &mut config)
                    .await
                    .map_err(one_line);
            let resolved = match resolved {
                Ok(opened) => {
                    let title = opened.title.clone();
                    Ok(Target::new(opened, title, config)
                        .resume(resume, explicit_start)
                        .await)
                }
                Err(e) => Err(e),
            };
            Reply::Opened(number, resolved)
        });
    }

    /// Where the title playing was left, for its resume store: only a title that loaded and
    /// is not live (it has a duration) is remembered.
    fn bookmark(&self) -> Option<(Resume, f64, f64, bool)> {
        let resume = self.resume.clone()?;
        let duration = self.view.duration_s?;
        self.playback.as_ref()?;
        let ended = self.view.state == PlayerState::Ended;
        Some((resume, self.view.position_s, duration, ended))
    }

    fn fail(&mut self, e: impl std::fmt::Display) {
        let line = one_line(e);
        tracing::warn!("{line}");
        self.error = Some(line);
        self.status = None;
    }

    fn play(&mut self, mut target: Target) {
        if let Some(start) = self.opts.start.take() {
            target.config.start_at_s = start;
        }
        // The old session stops as its Playback drops; where it was left is remembered.
        if let Some((resume, position, duration, ended)) = self.bookmark() {
            self.spawn(async move {
                for problem in resume.remember(position, duration, ended).await {
                    tracing::warn!("{problem}");
                }
                Reply::Noted
            });
        }
        self.playback = None;
        self.resume = target.resume.take();
        let mut view = PlayerView::new(
            target.title.clone(),
            target.config.abr.name(),
            self.demo.is_some(),
        );
        view.volume = self.view.volume;
        view.muted = self.view.muted;
        view.help = self.view.help;
        view.resumed_from = target.resumed_from;
        view.start_over_key = controls::key_of(&self.opts.settings.keys, "start_over")
            .unwrap_or("b")
            .to_owned();
        for note in &target.notes {
            view.note(note.clone());
        }
        self.view = view;
        self.video.clear();
        self.error = None;
        match Playback::start(target, self.opts.audio, &self.ctx) {
            Ok(p) => {
                if self.view.muted || self.view.volume < 1.0 {
                    controls::send_volume(&self.view, &p.handle);
                }
                self.playback = Some(p);
                // One line saying where it resumed and how to start over, while near there.
                self.status = self.view.resume_notice();
            }
            Err(e) => self.fail(e),
        }
    }

    fn show_open_dialog(&mut self) {
        self.open_dialog.shown = true;
        self.open_dialog.titles = None;
        let (backend, token) = (self.backend.clone(), self.session_token.clone());
        self.spawn(async move {
            let titles = async {
                let client = Client::new(&backend).map_err(one_line)?;
                let token = match token {
                    Some(t) => t,
                    None => open::stored_token(&backend).await.map_err(one_line)?,
                };
                let catalogue = client.titles(&token).await.map_err(one_line)?;
                Ok(catalogue.titles.into_iter().map(|t| t.id).collect())
            };
            Reply::Titles(titles.await)
        });
    }

    fn login(&mut self, user: String, password: String) {
        self.login_dialog.busy = true;
        self.login_dialog.status = None;
        let backend = self.backend.clone();
        self.spawn(async move {
            let done = async {
                let client = Client::new(&backend).map_err(one_line)?;
                let answer = client.login(&user, &password).await.map_err(|e| match e {
                    ClientError::Unauthorized(m) => format!("login refused: {m}"),
                    other => one_line(other),
                })?;
                let (b, t) = (backend.clone(), answer.token.clone());
                let stored = match tokio::task::spawn_blocking(move || token::store(&b, &t)).await {
                    Ok(Ok(())) => Ok(format!(
                        "logged in to {backend} as {user}; the token is in the OS keyring"
                    )),
                    Ok(Err(e)) => Err(format!(
                        "logged in as {user}, but {e}; the token is kept for this window only"
                    )),
                    Err(e) => Err(format!("logged in as {user}, but the keyring failed: {e}")),
                };
                Ok((answer.token, stored))
            };
            Reply::LoggedIn(done.await)
        });
    }

    fn logout(&mut self) {
        self.session_token = None;
        let backend = self.backend.clone();
        self.spawn(async move {
            let b = backend.clone();
            let line = match tokio::task::spawn_blocking(move || token::delete(&b)).await {
                Ok(Ok(true)) => Ok(format!("logged out of {backend}")),
                Ok(Ok(false)) => Ok(format!("no token stored for {backend}")),
                Ok(Err(e)) => Err(one_line(e)),
                Err(e) => Err(one_line(e)),
            };
            Reply::LoggedOut(line)
        });
    }

    fn on_reply(&mut self, reply: Reply) {
        match reply {
            Reply::Demo(Ok((demo, token, target))) => {
                self.backend = demo.api().base().as_str().trim_end_matches('/').to_owned();
                self.session_token = Some(token);
                self.demo = Some(demo);
                self.play(target);
            }
            Reply::Demo(Err(e)) => self.fail(e),
            Reply::Opened(number, _) if number != self.opening => {}
            Reply::Opened(_, Ok(target)) => self.play(target),
            Reply::Opened(_, Err(e)) => self.fail(e),
            Reply::LoggedIn(result) => {
                self.login_dialog.busy = false;
                match result {
                    Ok((token, stored)) => {
                        if stored.is_err() {
                            self.session_token = Some(token);
                        }
                        self.login_dialog.status = Some(stored);
                    }
                    Err(e) => self.login_dialog.status = Some(Err(e)),
                }
            }
            Reply::LoggedOut(line) => self.login_dialog.status = Some(line),
            Reply::Titles(titles) => self.open_dialog.titles = Some(titles),
            Reply::Noted => {}
        }
    }

    /// Carries out a shared action (or the desktop's reading of it).
    fn act(&mut self, action: Action) {
        match action {
            Action::Quit => self.ctx.send_viewport_cmd(egui::ViewportCommand::Close),
            Action::VideoOnly => self.set_fullscreen(!self.fullscreen),
            Action::Help => self.view.help = !self.view.help,
            _ => match &self.playback {
                Some(p) => controls::act(
                    action,
                    &mut self.view,
                    &p.handle,
                    self.demo.as_ref(),
                    &self.notes_tx,
                ),
                None => self.view.note("nothing is playing"),
            },
        }
    }

    fn set_fullscreen(&mut self, on: bool) {
        self.fullscreen = on;
        self.ctx
            .send_viewport_cmd(egui::ViewportCommand::Fullscreen(on));
    }

    fn on_input(&mut self, input: Input) {
        match input {
            Input::Act(a) => self.act(a),
            Input::ToggleStats => self.stats_shown = !self.stats_shown,
            Input::Escape => {
                if self.fullscreen {
                    self.set_fullscreen(false);
                } else {
                    self.view.help = false;
                }
            }
        }
    }

    fn on_command(&mut self, command: UiCommand) {
        let handle = self.playback.as_ref().map(|p| p.handle.clone());
        match command {
            UiCommand::Act(a) => self.act(a),
            UiCommand::ToggleStats => self.stats_shown = !self.stats_shown,
            UiCommand::ToggleFullscreen => self.set_fullscreen(!self.fullscreen),
            UiCommand::Open => self.show_open_dialog(),
            UiCommand::Login => {
                self.login_dialog.shown = true;
                self.login_dialog.backend = self.backend.clone();
                self.login_dialog.status = None;
            }
            UiCommand::SeekTo(t) => {
                if let Some(h) = handle {
                    h.command(player_core::Command::Seek(t));
                    self.playhead = Playhead {
                        reported: t,
                        at: Instant::now(),
                    };
                }
            }
            UiCommand::Volume(v) => {
                self.view.volume = v.clamp(0.0, 1.0);
                self.view.muted = false;
                if let Some(h) = handle {
                    controls::send_volume(&self.view, &h);
                }
            }
            UiCommand::Pin(rung) => {
                if let Some(h) = handle {
                    controls::pin(&mut self.view, &h, rung);
                }
            }
            UiCommand::Abr(name) => {
                if let Some(h) = handle {
                    controls::select_abr(&mut self.view, &h, &name);
                }
            }
            UiCommand::Audio(i) => {
                if let Some(h) = handle {
                    controls::select_audio(&mut self.view, &h, i);
                }
            }
            UiCommand::Subtitles(i) => {
                if let Some(h) = handle {
                    controls::select_subtitles(&mut self.view, &h, i);
                }
            }
        }
    }

    /// Takes in everything that arrived since the last frame.
    fn pump(&mut self) {
        while let Ok(reply) = self.replies.try_recv() {
            self.on_reply(reply);
        }
        while let Ok(note) = self.notes.try_recv() {
            self.view.note(note);
        }
        if let Some(p) = &mut self.playback {
            p.pump(&mut self.view);
        }
        if self.qoe_at.elapsed() >= Duration::from_secs(1) {
            self.qoe_at = Instant::now();
            self.view.refresh_qoe();
        }
        if self.view.position_s != self.playhead.reported {
            self.playhead = Playhead {
                reported: self.view.position_s,
                at: Instant::now(),
            };
        }
        let title = if self.view.title.is_empty() {
            "Reel".to_string()
        } else {
            format!("Reel — {}", self.view.title)
        };
        if title != self.window_title {
            self.ctx
                .send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.window_title = title;
        }
    }

    /// The playhead as shown: the engine's last report, advanced while playing.
    fn position(&self) -> f64 {
        let p = self.playhead.reported;
        if self.view.state == PlayerState::Playing {
            let ahead = self.playhead.at.elapsed().as_secs_f64().min(1.5);
            let end = self.view.duration_s.unwrap_or(f64::INFINITY);
            (p + ahead).min(end)
        } else {
            p
        }
    }

    /// The error line: the newest problem, in one line.
    fn error_line(&self) -> Option<String> {
        self.error.clone().or_else(|| {
            self.view
                .error
                .as_ref()
                .map(|e| format!("playback failed: {}", one_line(e)))
        })
    }

    fn placeholder(&self) -> String {
        if self.playback.is_none() {
            return self.status.clone().unwrap_or_default();
        }
        match &self.view.state {
            PlayerState::Failed(_) => "playback failed".into(),
            PlayerState::Ended => "the end".into(),
            _ => "waiting for the first frame…".into(),
        }
    }

    fn title_line(&self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label(
                RichText::new(" Reel ")
                    .strong()
                    .background_color(Color32::from_gray(70)),
            );
            if !self.view.title.is_empty() {
                ui.label(&self.view.title);
            }
            if let Some(error) = self.error_line() {
                ui.add(
                    egui::Label::new(
                        RichText::new(format!("Error: {error}"))
                            .color(Color32::from_rgb(240, 90, 80))
                            .strong(),
                    )
                    .truncate(),
                )
                .on_hover_text(error);
            } else if let Some(status) = &self.status {
                ui.add(egui::Label::new(RichText::new(status).weak()).truncate());
            }
        });
    }

    fn write_dump(&mut self) {
        let Some(dumper) = &self.dumper else { return };
        if !dumper.due() {
            return;
        }
        let ppp = self.ctx.pixels_per_point();
        let origin = self
            .ctx
            .input(|i| i.viewport().inner_rect)
            .map_or(egui::Pos2::ZERO, |r| r.min);
        let to_px = |r: egui::Rect| {
            [
                (origin.x + r.min.x) * ppp,
                (origin.y + r.min.y) * ppp,
                r.width() * ppp,
                r.height() * ppp,
            ]
        };
        let video_rect_px = self.video.rect.map(to_px);
        let dump = StateDump {
            t_s: self.started.elapsed().as_secs_f64(),
            frames_presented: self.video.presented,
            first_frame_pts_s: self.video.first_pts_s,
            frame_size: self.video.frame_size(),
            video_rect_px,
            state: bar::state_name(&self.view.state).to_owned(),
            title: self.view.title.clone(),
            position_s: self.view.position_s,
            duration_s: self.view.duration_s,
            buffer_s: self.view.buffer_s,
            playing_rung: self.view.playing_rung.map(|r| r + 1),
            target_rung: self.view.target_rung.map(|r| r + 1),
            pinned_rung: self.view.pinned.map(|r| r + 1),
            active_pathway: self.view.active_pathway.clone(),
            stats_shown: self.stats_shown && !self.fullscreen,
            stats: if self.stats_shown && !self.fullscreen {
                stats::lines(&self.view, 12)
            } else {
                Vec::new()
            },
            error: self.error_line(),
            status: self.status.clone(),
            fullscreen: self.fullscreen,
            keys_read: self.script.as_ref().map_or(0, |s| s.read),
            audio_only: self.video.audio_only,
            level_peaks_db: self.video.meter.bars().iter().map(|b| b.peak_db).collect(),
            audio_track: self.view.audio_tracks.get(self.view.audio_track).cloned(),
            subtitle_track: self
                .view
                .text_track
                .and_then(|i| self.view.text_tracks.get(i))
                .cloned(),
            subtitle_lines: if self.subtitle_rect.is_some() {
                self.view.subtitle_lines()
            } else {
                Vec::new()
            },
            subtitle_rect_px: self.subtitle_rect.map(to_px),
        };
        if let Some(dumper) = &mut self.dumper {
            dumper.write(&dump);
        }
    }
}

impl eframe::App for DesktopApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.pump();
        // The resume notice goes once the playhead moved on (or the viewer started over).
        let notice_shown = self
            .status
            .as_deref()
            .is_some_and(|s| s.starts_with("resumed at "));
        if notice_shown && self.view.resume_notice().is_none() {
            self.status = None;
        }
        if let Some(p) = &self.playback {
            self.video.upload(&ctx, &p.slot);
            self.video.take_level(&p.levels);
        }

        // Keys: not while typing in a dialog.
        let typing = ctx.text_edit_focused() || self.open_dialog.shown || self.login_dialog.shown;
        let mut inputs = if typing {
            Vec::new()
        } else {
            ctx.input_mut(|i| self.opts.keymap.take(&mut i.events))
        };
        if let Some(script) = &mut self.script {
            for name in script.poll() {
                match self.opts.keymap.by_name(&name) {
                    Some(input) => inputs.push(input),
                    None => tracing::warn!("--keys-from: {name:?} is no key"),
                }
            }
        }
        for input in inputs {
            self.on_input(input);
        }

        let mut commands = Vec::new();
        if !self.fullscreen {
            egui::Panel::top("title").show(ui, |ui| self.title_line(ui));
            egui::Panel::bottom("controls").show(ui, |ui| {
                ui.add_space(4.0);
                let state = BarState {
                    view: &self.view,
                    position_s: self.position(),
                    stats: self.stats_shown,
                    fullscreen: self.fullscreen,
                    playing: self.playback.is_some(),
                };
                commands.extend(bar::show(ui, &state));
                if self.demo.is_some() {
                    ui.separator();
                    bar::chaos_row(ui, &self.view, &mut commands);
                }
                ui.add_space(2.0);
            });
            if self.stats_shown {
                egui::Panel::right("stats")
                    .resizable(true)
                    .default_size(430.0)
                    .min_size(280.0)
                    .show(ui, |ui| stats::show(ui, &self.view));
            }
        }
        let placeholder = self.placeholder();
        let ladder_is_audio = self.view.ladder_kind == MediaKind::Audio;
        let fullscreen_error = self.fullscreen.then(|| self.error_line()).flatten();
        let subtitle = self.view.subtitle_runs();
        egui::CentralPanel::no_frame().show(ui, |ui| {
            let response = self.video.show(ui, &placeholder, ladder_is_audio);
            let picture = match self.video.rect {
                Some(r) if !self.video.audio_only => r,
                _ => response.rect,
            };
            self.subtitle_rect =
                subtitles::paint(&ui.painter_at(response.rect), picture, &subtitle);
            if response.double_clicked() {
                commands.push(UiCommand::ToggleFullscreen);
            }
            if let Some(error) = fullscreen_error {
                ui.painter().text(
                    response.rect.left_top() + egui::vec2(12.0, 12.0),
                    egui::Align2::LEFT_TOP,
                    format!("Error: {error}"),
                    egui::FontId::proportional(16.0),
                    Color32::from_rgb(240, 90, 80),
                );
            }
        });

        if let Some(Request::Open(target)) = self.open_dialog.show(&ctx) {
            self.open(target);
        }
        match self.login_dialog.show(&ctx) {
            Some(Request::Login { user, password }) => self.login(user, password),
            Some(Request::Logout) => self.logout(),
            Some(Request::Open(_)) | None => {}
        }
        if self.view.help {
            let mut open = true;
            dialogs::help(&ctx, &mut open, self.demo.is_some());
            self.view.help = open;
        }
        for command in commands {
            self.on_command(command);
        }
        // Fullscreen changed by the window manager (not by us) is followed.
        let seen = ctx.input(|i| i.viewport().fullscreen);
        if seen != self.seen_fullscreen {
            if let (Some(_), Some(f)) = (self.seen_fullscreen, seen) {
                self.fullscreen = f;
            }
            self.seen_fullscreen = seen;
        }
        self.write_dump();
        let next = if self.view.state == PlayerState::Playing {
            Duration::from_millis(100)
        } else {
            Duration::from_millis(250)
        };
        ctx.request_repaint_after(next);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        let failure = self.error_line();
        let bookmark = self.bookmark();
        self.playback = None;
        let mut exit = self.opts.exit.lock().expect("exit slot");
        exit.failure = failure;
        exit.demo = self.demo.take();
        exit.bookmark = bookmark;
    }
}
