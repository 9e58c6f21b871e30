//! `reel`: Reel's terminal player.

use clap::Parser;

/// Reel's terminal player. Playback arrives with the engine; for now use `reel-stub up` to run
/// the delivery stack and play its URLs with any HLS or DASH player.
#[derive(Parser)]
#[command(name = "reel", version)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _ = Cli::parse();
    let _ = player_core::protocol::Format::Hls;
    eprintln!(
        "reel: the terminal player is not built yet; run `cargo xtask demo` for the delivery stack"
    );
    std::process::exit(2);
}
