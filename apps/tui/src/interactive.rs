//! The interactive player: the engine playing into a GStreamer sink whose frames feed the video
//! pane, the screen redrawn at up to 20 frames per second, keys turned into engine commands (and,
//! in the demo, into faults on the caches). The terminal is restored on every way out: quit,
//! Ctrl-C, SIGTERM, a failed stream, a panic.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossterm::event::{Event, KeyEventKind};
use player_core::sink::{GstSink, GstSinkConfig, NullSink, Sink};
use player_core::{Command, Player, PlayerConfig, PlayerState, Url};
use reel_appkit::api::Client;
use reel_appkit::demo::Demo;
use tokio::sync::mpsc;

use reel_appkit::controls::{self, Action};
use reel_appkit::view::PlayerView;

use crate::keys::Keymap;
use crate::ui;
use crate::video::{FrameSlot, LevelSlot, VideoPane};

/// What to play and how.
pub struct Options {
    /// Manifest URL.
    pub url: Url,
    /// Shown in the title bar.
    pub title: String,
    /// Engine settings.
    pub config: PlayerConfig,
    /// Decode video (and audio); off follows the clock only.
    pub decode: bool,
    /// Sound on the default output (quietly off when there is none).
    pub audio: bool,
    /// The key map.
    pub keys: Keymap,
    /// The key that starts over, as the resume notice names it.
    pub start_over_key: String,
    /// Where a remembered stop resumed the title.
    pub resumed_from: Option<f64>,
    /// Lines for the event log before the first event.
    pub notes: Vec<String>,
    /// The demo stack, for the chaos keys.
    pub demo: Option<Arc<Demo>>,
    /// The playback API, for the caches' health.
    pub api: Option<Client>,
}

/// How the screen session ended.
pub struct Ended {
    /// The engine's final state.
    pub state: PlayerState,
    /// Frames drawn on screen.
    pub frames_drawn: u64,
    /// The stream played to its end by itself (not stopped by the viewer).
    pub played_to_end: bool,
    /// The playhead when the screen closed.
    pub position_s: f64,
    /// The title's duration, if it loaded and is not live.
    pub duration_s: Option<f64>,
}

/// Runs the screen until the viewer quits or the stream ends (then waits for `q`).
pub async fn run(options: Options) -> anyhow::Result<Ended> {
    let slot: FrameSlot = Arc::new(Mutex::new(None));
    let levels: LevelSlot = Arc::new(Mutex::new(None));
    let picker = crate::video::picker();
    let frame_size = VideoPane::frame_size(picker.protocol_type());
    // The sink is made before the screen is taken: it probes the sound device, and on a machine
    // without one the audio library prints to the terminal.
    let sink: Box<dyn Sink> = if options.decode {
        let slot = slot.clone();
        match GstSink::new(GstSinkConfig {
            on_frame: Some(Arc::new(move |frame| {
                *slot.lock().expect("frame slot") = Some(frame);
            })),
            frame_size: Some(frame_size),
            audio_output: options.audio,
            on_level: Some({
                let levels = levels.clone();
                Arc::new(move |level| *levels.lock().expect("level slot") = Some(level))
            }),
        }) {
            Ok(s) => Box::new(s),
            Err(e) => anyhow::bail!("cannot start the decoder: {e}"),
        }
    } else {
        Box::new(NullSink::default())
    };
    let mut terminal = ratatui::init();
    let placeholder = if options.decode {
        "waiting for the first frame…"
    } else {
        "video not decoded (--no-decode)"
    };
    let mut video = VideoPane::new(picker, slot.clone(), levels, placeholder);
    let mut app = PlayerView::new(
        options.title.clone(),
        options.config.abr.name(),
        options.demo.is_some(),
    );
    app.start_over_key = options.start_over_key.clone();
    app.resumed_from = options.resumed_from;
    for note in &options.notes {
        app.note(note.clone());
    }
    if let Some(notice) = app.resume_notice() {
        app.note(notice);
    }
    let player = Player::open(options.url.clone(), sink, options.config);
    let control = player.handle();
    let mut events = player.events();

    // Keys come from a thread blocking on the terminal.
    let (key_tx, mut keys) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        loop {
            match crossterm::event::read() {
                Ok(e) => {
                    tracing::debug!(event = ?e, "terminal event");
                    if key_tx.send(e).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!("cannot read the terminal: {e}");
                    break;
                }
            }
        }
    });
    let (health_tx, mut health) = mpsc::unbounded_channel();
    if let Some(api) = options.api.clone() {
        tokio::spawn(async move {
            loop {
                if let Ok(list) = api.caches().await
                    && health_tx.send(list).is_err()
                {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
    let (note_tx, mut notes) = mpsc::unbounded_channel::<String>();
    let mut redraw = tokio::time::interval(Duration::from_millis(50));
    redraw.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut qoe_tick = tokio::time::interval(Duration::from_secs(1));
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let finished = player.finished();
    tokio::pin!(finished);
    let mut over: Option<PlayerState> = None;
    let result: anyhow::Result<()> = loop {
        tokio::select! {
            outcome = &mut finished, if over.is_none() => {
                // Events still queued (the final state) are read before the end is shown.
                while let Ok(e) = events.try_recv() {
                    app.on_event(&e);
                }
                if let PlayerState::Failed(reason) = &outcome.state {
                    app.error = Some(reason.to_string());
                }
                app.note("session over: press q to quit");
                over = Some(outcome.state);
            }
            e = events.recv(), if over.is_none() => {
                if let Ok(e) = e {
                    app.on_event(&e);
                }
            }
            Some(list) = health.recv() => app.health = list,
            Some(note) = notes.recv() => app.note(note),
            Some(event) = keys.recv() => {
                let Event::Key(key) = event else { continue };
                if key.kind != KeyEventKind::Press {
                    continue;
                }
                let Some(action) = options.keys.action(key) else { continue };
                if action == Action::Quit {
                    break Ok(());
                }
                controls::act(action, &mut app, &control, options.demo.as_ref(), &note_tx);
            }
            _ = qoe_tick.tick() => app.refresh_qoe(),
            _ = redraw.tick() => {
                if let Err(e) = terminal.draw(|f| ui::draw(f, &app, &mut video)) {
                    break Err(e.into());
                }
            }
            _ = tokio::signal::ctrl_c() => break Ok(()),
            _ = terminate.recv() => break Ok(()),
        }
    };
    let played_to_end = over == Some(PlayerState::Ended);
    let state = match over {
        Some(s) => s,
        None => {
            control.command(Command::Stop);
            match tokio::time::timeout(Duration::from_secs(3), &mut finished).await {
                Ok(o) => o.state,
                Err(_) => app.state.clone(),
            }
        }
    };
    ratatui::restore();
    result.map(|()| Ended {
        state,
        frames_drawn: video.frames_drawn,
        played_to_end,
        position_s: app.position_s,
        duration_s: app.duration_s,
    })
}
