//! One playing stream: the engine opened on a GStreamer sink whose frames land in the window's
//! frame slot (each asking for a repaint), its events forwarded off the broadcast channel so the
//! window never lags behind it, the caches' health polled every second when a playback API is
//! known, and the session's end reported. Dropping it stops the session.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use eframe::egui;
use player_core::protocol::CacheState;
use player_core::sink::{GstSink, GstSinkConfig};
use player_core::{Command, Player, PlayerConfig, PlayerHandle, PlayerState, TimedEvent, Url};
use reel_appkit::api::Client;
use reel_appkit::open::Opened;
use reel_appkit::resume::{RemoteBookmark, Resume, ResumeStore};
use reel_appkit::view::PlayerView;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::video::{FrameSlot, LevelSlot};

/// Something ready to play.
pub struct Target {
    /// The manifest.
    pub url: Url,
    /// What the window calls it.
    pub title: String,
    /// Engine settings (pathway order and content id already seeded).
    pub config: PlayerConfig,
    /// The playback API, for the caches' health.
    pub api: Option<Client>,
    /// Where the title was left and is remembered (off with `--no-resume`).
    pub resume: Option<Resume>,
    /// Where it resumed, when it did.
    pub resumed_from: Option<f64>,
    /// Lines for the event log (a store that could not be read).
    pub notes: Vec<String>,
    /// The token the title was opened with, for its bookmark at the playback API.
    token: Option<String>,
}

impl Target {
    /// `opened`, shown as `title`, played with `config`.
    pub fn new(opened: Opened, title: String, config: PlayerConfig) -> Target {
        Target {
            url: opened.url,
            title,
            config,
            api: opened.api,
            resume: None,
            resumed_from: None,
            notes: Vec::new(),
            token: opened.token,
        }
    }

    /// Looks up where the title was left, here and at the playback API, and starts there
    /// unless `explicit_start`; remembers it later unless resuming is off.
    pub async fn resume(mut self, enabled: bool, explicit_start: bool) -> Target {
        if !enabled {
            return self;
        }
        let remote = match (&self.api, self.token.take(), &self.config.content_id) {
            (Some(api), Some(token), Some(title)) => Some(RemoteBookmark {
                api: api.clone(),
                token,
                title: title.clone(),
            }),
            _ => None,
        };
        let resume = Resume::new(
            ResumeStore::platform(),
            self.config.content_id.as_deref(),
            &self.url,
            remote,
        );
        if !explicit_start {
            let (at, problems) = resume.position().await;
            self.notes.extend(problems);
            if let Some(at) = at {
                self.config.start_at_s = at;
                self.resumed_from = Some(at);
            }
        }
        self.resume = Some(resume);
        self
    }
}

/// The running session.
pub struct Playback {
    /// Sends commands to the engine.
    pub handle: PlayerHandle,
    /// The decoder's newest frame.
    pub slot: FrameSlot,
    /// The newest audio level.
    pub levels: LevelSlot,
    events: mpsc::UnboundedReceiver<TimedEvent>,
    health: mpsc::UnboundedReceiver<Vec<CacheState>>,
    finished: Option<oneshot::Receiver<PlayerState>>,
    /// The final state, once the session is over.
    pub outcome: Option<PlayerState>,
    poller: Option<tokio::task::JoinHandle<()>>,
}

impl Playback {
    /// Opens `target`; frames and events wake the window through `ctx`. Needs the runtime
    /// entered on this thread.
    pub fn start(target: Target, audio: bool, ctx: &egui::Context) -> Result<Playback, String> {
        let slot: FrameSlot = Arc::new(Mutex::new(None));
        let levels: LevelSlot = Arc::new(Mutex::new(None));
        let sink = {
            let (level_slot, level_ctx) = (levels.clone(), ctx.clone());
            let (slot, ctx) = (slot.clone(), ctx.clone());
            GstSink::new(GstSinkConfig {
                on_frame: Some(Arc::new(move |frame| {
                    *slot.lock().expect("frame slot") = Some(frame);
                    ctx.request_repaint();
                })),
                frame_size: None,
                audio_output: audio,
                on_level: Some(Arc::new(move |level| {
                    *level_slot.lock().expect("level slot") = Some(level);
                    level_ctx.request_repaint();
                })),
            })
            .map_err(|e| format!("cannot start the decoder: {e}"))?
        };
        tracing::info!(url = %target.url, title = %target.title, "opening");
        let player = Player::open(target.url, Box::new(sink), target.config);
        let handle = player.handle();
        let mut rx = player.events();

        let (event_tx, events) = mpsc::unbounded_channel();
        let waker = ctx.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(e) => {
                        if event_tx.send(e).is_err() {
                            break;
                        }
                        waker.request_repaint();
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!("the window missed {n} engine events");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });

        let (done_tx, finished) = oneshot::channel();
        let waker = ctx.clone();
        tokio::spawn(async move {
            let outcome = player.finished().await;
            tracing::info!(state = ?outcome.state, frames = outcome.frames, "session over");
            let _ = done_tx.send(outcome.state);
            waker.request_repaint();
        });

        let (health_tx, health) = mpsc::unbounded_channel();
        let poller = target.api.map(|api| {
            let waker = ctx.clone();
            tokio::spawn(async move {
                loop {
                    if let Ok(list) = api.caches().await {
                        if health_tx.send(list).is_err() {
                            break;
                        }
                        waker.request_repaint();
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            })
        });
        Ok(Playback {
            handle,
            slot,
            levels,
            events,
            health,
            finished: Some(finished),
            outcome: None,
            poller,
        })
    }

    /// Feeds what arrived since the last call into `view`.
    pub fn pump(&mut self, view: &mut PlayerView) {
        while let Ok(e) = self.events.try_recv() {
            view.on_event(&e);
        }
        while let Ok(list) = self.health.try_recv() {
            view.health = list;
        }
        if let Some(rx) = &mut self.finished
            && let Ok(state) = rx.try_recv()
        {
            self.finished = None;
            // Events still queued (the final state) are read before the end is shown.
            while let Ok(e) = self.events.try_recv() {
                view.on_event(&e);
            }
            if let PlayerState::Failed(reason) = &state {
                view.error.get_or_insert_with(|| reason.to_string());
            }
            view.note("session over");
            view.refresh_qoe();
            self.outcome = Some(state);
        }
    }
}

impl Drop for Playback {
    fn drop(&mut self) {
        self.handle.command(Command::Stop);
        if let Some(poller) = self.poller.take() {
            poller.abort();
        }
    }
}
