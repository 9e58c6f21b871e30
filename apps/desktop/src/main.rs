//! `reel-desktop`: Reel's desktop player.

use clap::Parser;

/// Reel's desktop player (not built yet).
#[derive(Parser)]
#[command(name = "reel-desktop", version)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _ = Cli::parse();
    let _ = player_core::protocol::Format::Dash;
    eprintln!("reel-desktop: the desktop player is not built yet");
    std::process::exit(2);
}
