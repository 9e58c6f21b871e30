//! The smallest embedding of Reel's engine: open a URL, play it, print every event, then the QoE.
//!
//! ```sh
//! cargo run -p player-core --example embed -- http://127.0.0.1:8471/demo/master.m3u8
//! ```

use player_core::sink::{GstSink, GstSinkConfig};
use player_core::{Player, PlayerConfig, Url};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).ok_or("usage: embed MANIFEST_URL")?;
    let sink = GstSink::new(GstSinkConfig::default())?;
    let player = Player::open(Url::parse(&url)?, Box::new(sink), PlayerConfig::default());

    let mut events = player.events();
    let printer = tokio::spawn(async move {
        while let Ok(e) = events.recv().await {
            println!("{:7.2}s {:?}", e.t_s, e.event);
        }
    });

    let outcome = player.finished().await;
    printer.await?;
    println!(
        "{:?}: {} frames, QoE {:?}",
        outcome.state, outcome.frames, outcome.qoe
    );
    Ok(())
}
