//! Reel's embeddable streaming engine.
//!
//! `player-core` plays HLS and DASH: it loads a manifest into one presentation model
//! ([`presentation`]), runs a session ([`Player`]) whose scheduler keeps the forward buffer
//! between watermarks and asks an [`abr::Abr`] for each video segment's rendition, fetches over
//! HTTP with timeouts, retries and throughput samples ([`fetch`]), and hands the media to a
//! [`sink::Sink`] — GStreamer decoding (feature `gstreamer`, on by default) or a clock-only
//! [`sink::NullSink`]. Every decision is a [`PlayerEvent`]; the QoE report is computed from them.
//!
//! ```no_run
//! use player_core::{Player, PlayerConfig, sink::NullSink};
//!
//! # async fn demo() {
//! let url = url::Url::parse("http://127.0.0.1:8471/demo/master.m3u8").unwrap();
//! let player = Player::open(url, Box::new(NullSink::default()), PlayerConfig::default());
//! let mut events = player.events();
//! tokio::spawn(async move {
//!     while let Ok(e) = events.recv().await {
//!         println!("{:6.2}s {:?}", e.t_s, e.event);
//!     }
//! });
//! let outcome = player.finished().await;
//! println!("{:?}, QoE {:.1}", outcome.state, outcome.qoe.qoe_lin);
//! # }
//! ```

pub mod cmcd;
pub mod events;
pub mod fetch;
pub mod fuzz;
pub mod manifest;
pub mod pathways;
pub mod presentation;
pub mod qoe;
pub mod session;
pub mod sink;
pub mod steering;

pub use abr;
pub use abr::playback::BufferPolicy;
pub use events::{Command, PlayerEvent, PlayerState, TimedEvent};
pub use reel_protocol as protocol;
pub use session::{Player, PlayerConfig, PlayerHandle, SessionError, SessionOutcome};
pub use url::Url;
