//! Headless play: no screen, one line (or JSON object) per engine event on stdout, the QoE report
//! as JSON at the end; the exit code says whether the stream played to the end.

use std::process::ExitCode;

use player_core::sink::{GstSink, GstSinkConfig, NullSink, Sink};
use player_core::{Player, PlayerConfig, PlayerState, Url};

/// Plays `url` headless.
pub async fn play(
    url: Url,
    config: PlayerConfig,
    decode: bool,
    audio: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let sink: Box<dyn Sink> = if decode {
        Box::new(GstSink::new(GstSinkConfig {
            audio_output: audio,
            on_level: None,
            ..GstSinkConfig::default()
        })?)
    } else {
        Box::new(NullSink::default())
    };
    let player = Player::open(url, sink, config);
    let mut events = player.events();
    let printer = tokio::spawn(async move {
        while let Ok(e) = events.recv().await {
            if json {
                println!("{}", serde_json::to_string(&e).unwrap_or_default());
            } else {
                println!("{:7.2}s {}", e.t_s, e.event);
            }
        }
    });
    let outcome = tokio::select! {
        o = player.finished() => o,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("reel: interrupted");
            return Ok(ExitCode::from(130));
        }
    };
    let _ = printer.await;
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "state": outcome.state,
            "frames": outcome.frames,
            "qoe": outcome.qoe,
        }))?
    );
    Ok(match &outcome.state {
        PlayerState::Ended => ExitCode::SUCCESS,
        PlayerState::Failed(reason) => {
            eprintln!("reel: playback failed: {reason}");
            ExitCode::from(1)
        }
        other => {
            eprintln!("reel: playback stopped in state {other:?}");
            ExitCode::from(1)
        }
    })
}
