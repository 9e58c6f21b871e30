//! Reel's delivery stack, the server half of the path: the encoder (`encode`), the cache server
//! (`oca`), the playback API and steering server (`backend`), and `up`, which runs all of it on
//! loopback. The `reel-stub` binary is a thin command line over this library, and the players'
//! demo modes start the same stack in-process.

pub mod backend;
pub mod encode;
pub mod fixtures;
pub mod fuzz;
pub mod manifest;
pub mod oca;
pub mod title;
pub mod up;
