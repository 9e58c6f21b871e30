//! Reel's embeddable streaming engine.
//!
//! `player-core` owns manifest loading (HLS and DASH into one presentation model), the session
//! state machine, the scheduler and buffer, HTTP fetching, steering and failover, CMCD, events and
//! commands, and the sinks. It knows no screen and no server. Today it exposes the wire types of
//! the playback API ([`protocol`]) and the ABR interface ([`abr`]); the engine itself is built on
//! top of them.

pub use abr;
pub use reel_protocol as protocol;
