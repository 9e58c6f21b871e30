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

/// An MPEG-TS HLS stream with muxed video and audio as ffmpeg's HLS muxer writes it into `dir`:
/// `seconds` of a test pattern (H.264, 320×240, 25 fps, a keyframe every second) and a 440 Hz
/// AAC tone, in 2 s segments `NAME0.ts`, … listed by `NAME.m3u8`, the timestamps shifted by
/// `ts_offset_s` — to near 2³³ ticks of 90 kHz (95 443.7 s) for a stream that crosses the
/// 33-bit rollover.
pub fn ffmpeg_ts_hls(dir: &Path, name: &str, seconds: u32, ts_offset_s: f64) -> Result<(), String> {
    let t = seconds.to_string();
    let offset = ts_offset_s.to_string();
    let segments = dir.join(format!("{name}%d.ts"));
    let segments = segments.to_str().ok_or("a non-UTF-8 path")?;
    let playlist = dir.join(format!("{name}.m3u8"));
    let playlist = playlist.to_str().ok_or("a non-UTF-8 path")?;
    #[rustfmt::skip]
    let args = [
        "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", &t,
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac",
        "-output_ts_offset", &offset, "-f", "hls", "-hls_time", "2",
        "-hls_playlist_type", "vod", "-hls_segment_filename", segments, playlist,
    ];
    ffmpeg(&args, playlist)
}

/// Runs ffmpeg with `args` after its quiet flags; `what` names the output in the error.
fn ffmpeg(args: &[&str], what: &str) -> Result<(), String> {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .status()
        .map_err(|e| format!("cannot run ffmpeg: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("ffmpeg could not write {what}: {status}"))
    }
}

/// An on-demand WebM DASH stream as ffmpeg's WebM muxer (`-dash 1`) and its
/// `webm_dash_manifest` writer make it in `dir`: `seconds` of a test pattern in VP9 at
/// 320×180 / 200 kbit/s (`v200.webm`) and 640×360 / 800 kbit/s (`v800.webm`), keyframes every
/// 2 s, and a 440 Hz tone in Opus at 64 kbit/s in 2 s clusters (`a.webm`); `manifest.mpd`
/// addresses each file by `SegmentBase` with its `Cues` as the index.
pub fn ffmpeg_webm_dash(dir: &Path, seconds: u32) -> Result<(), String> {
    let t = seconds.to_string();
    for (name, size, rate) in [("v200", "320x180", "200k"), ("v800", "640x360", "800k")] {
        let out = dir.join(format!("{name}.webm"));
        let out = out.to_str().ok_or("a non-UTF-8 path")?;
        let source = format!("testsrc2=size={size}:rate=25");
        #[rustfmt::skip]
        ffmpeg(&[
            "-f", "lavfi", "-i", &source, "-t", &t, "-an",
            "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", rate,
            "-g", "50", "-keyint_min", "50", "-f", "webm", "-dash", "1", out,
        ], out)?;
    }
    let audio = dir.join("a.webm");
    let audio = audio.to_str().ok_or("a non-UTF-8 path")?;
    #[rustfmt::skip]
    ffmpeg(&[
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", &t, "-vn",
        "-c:a", "libopus", "-b:a", "64k", "-f", "webm", "-dash", "1",
        "-cluster_time_limit", "2000", audio,
    ], audio)?;
    let mut args = Vec::new();
    let inputs: Vec<String> = ["v200", "v800", "a"]
        .iter()
        .map(|n| dir.join(format!("{n}.webm")).to_string_lossy().into_owned())
        .collect();
    for input in &inputs {
        args.extend(["-f", "webm_dash_manifest", "-i", input.as_str()]);
    }
    let manifest = dir.join("manifest.mpd");
    let manifest = manifest.to_str().ok_or("a non-UTF-8 path")?;
    #[rustfmt::skip]
    args.extend([
        "-c", "copy", "-map", "0", "-map", "1", "-map", "2", "-f", "webm_dash_manifest",
        "-adaptation_sets", "id=0,streams=0,1 id=1,streams=2", manifest,
    ]);
    ffmpeg(&args, manifest)
}
