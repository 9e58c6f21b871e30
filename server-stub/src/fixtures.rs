//! Streams as other packagers write them, for testing players against something Reel's own
//! encoder did not make.

use std::path::Path;
use std::process::Command;

/// An audio-only MPEG-TS HLS stream as ffmpeg's HLS muxer writes it into `dir`: `seconds` of a
/// 440 Hz tone at an eighth of full scale (peaks at −18 dB), 48 kHz, encoded by ffmpeg's
/// `encoder` (`aac`, `ac3`, `eac3`, `libmp3lame`) at 128 kbit/s in 4 s segments `a0.ts`, …, a
/// media playlist `audio.m3u8` and a multivariant playlist `master.m3u8` whose one variant
/// declares an audio codec only.
pub fn ffmpeg_audio_only_hls(dir: &Path, encoder: &str, seconds: u32) -> Result<(), String> {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi"])
        .arg("-i")
        .arg(format!(
            "sine=frequency=440:duration={seconds}:sample_rate=48000"
        ))
        .args([
            "-c:a",
            encoder,
            "-b:a",
            "128k",
            "-f",
            "hls",
            "-hls_time",
            "4",
        ])
        .args([
            "-hls_playlist_type",
            "vod",
            "-master_pl_name",
            "master.m3u8",
        ])
        .arg("-hls_segment_filename")
        .arg(dir.join("a%d.ts"))
        .arg(dir.join("audio.m3u8"))
        .status()
        .map_err(|e| format!("cannot run ffmpeg: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "ffmpeg could not write the {encoder} stream: {status}"
        ))
    }
}
