//! `reel-stub encode`: turns a source (a media file, or a synthetic test title) into a ladder of
//! H.264 renditions plus one AAC rendition, packaged as CMAF fMP4 with HLS and DASH manifests over
//! the same files, and subtitle files (or the synthetic title's own) into WebVTT tracks.
//!
//! The work is one GStreamer pipeline: the decoded source is split (`tee`) into one branch per
//! rung, each scaled, encoded by x264 at constant quality under the rung's bitrate cap, and
//! packaged by `cmafmux` (gst-plugins-rs) into one fragment per segment. Keyframes are forced every
//! segment duration with scene-cut detection off, so segment boundaries line up across rungs.

pub mod audio;
pub mod ladder;
mod pipeline;
mod source;
pub mod subtitles;
mod writer;

use std::path::{Path, PathBuf};
use std::time::Instant;

pub use audio::AudioInput;
pub use ladder::{Ladder, LadderError, Rung};
pub use source::Source;
pub use subtitles::SubtitleInput;

use crate::manifest::{Delivery, dash, hls};
use crate::title::{Layout, MediaKind, Rendition, TITLE_FILE, TitleMeta};

/// What to encode and how.
#[derive(Debug, Clone)]
pub struct EncodeOptions {
    /// The input.
    pub source: Source,
    /// Media root; the title is written to `<root>/<title_id>/`.
    pub media_root: PathBuf,
    /// Title identifier (directory name, catalogue id).
    pub title_id: String,
    /// The ladder, or a base ladder to adapt to the title (`auto`).
    pub ladder: LadderChoice,
    /// Segment duration in whole seconds.
    pub segment_duration_s: u32,
    /// Output frame rate.
    pub fps: u32,
    /// How segments are stored.
    pub layout: Layout,
    /// x264 speed preset (`ultrafast` … `veryslow`).
    pub preset: String,
    /// Constant-quality factor given to x264 (CRF-like; lower is better).
    pub quality: u32,
    /// Replace an existing title of the same id.
    pub force: bool,
    /// Draw a progress bar on the terminal.
    pub progress: bool,
    /// Subtitle files to package; without any, a synthetic source gets English and French
    /// tracks of its own.
    pub subtitles: Vec<SubtitleInput>,
    /// Audio files to package, one track per language, in place of the source's audio; without
    /// any, a synthetic source gets English and French tracks of its own.
    pub audio: Vec<AudioInput>,
}

impl EncodeOptions {
    /// Defaults for a source and a media root: default ladder, 4 s segments, 30 fps, byte ranges.
    pub fn new(
        source: Source,
        media_root: impl Into<PathBuf>,
        title_id: impl Into<String>,
    ) -> Self {
        EncodeOptions {
            source,
            media_root: media_root.into(),
            title_id: title_id.into(),
            ladder: LadderChoice::Fixed(Ladder::default()),
            segment_duration_s: 4,
            fps: 30,
            layout: Layout::ByteRanges,
            preset: "veryfast".into(),
            quality: 23,
            force: false,
            progress: false,
            subtitles: Vec::new(),
            audio: Vec::new(),
        }
    }
}

/// A fixed ladder, or `--ladder auto` over a base ladder.
#[derive(Debug, Clone)]
pub enum LadderChoice {
    /// Encode exactly these rungs (minus those taller than the source).
    Fixed(Ladder),
    /// Measure the title and adapt these rungs' bitrates to it.
    Auto(Ladder),
}

/// Errors of an encode.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// GStreamer could not be initialised or an element is missing.
    #[error("GStreamer: {0}")]
    Gst(String),
    /// The pipeline failed while running.
    #[error("encoding failed in {element}: {message}")]
    Pipeline {
        /// The element that posted the error.
        element: String,
        /// What it said.
        message: String,
    },
    /// The source could not be inspected or has no video.
    #[error("source {0}: {1}")]
    Source(String, String),
    /// Bad ladder.
    #[error(transparent)]
    Ladder(#[from] LadderError),
    /// Bad options.
    #[error("{0}")]
    Options(String),
    /// File system trouble.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EncodeError {
    let context = context.into();
    move |source| EncodeError::Io { context, source }
}

/// Initialises GStreamer and registers the statically linked `cmafmux`.
pub fn init_gstreamer() -> Result<(), EncodeError> {
    gst::init().map_err(|e| EncodeError::Gst(e.to_string()))?;
    static REGISTER: std::sync::Once = std::sync::Once::new();
    let mut result = Ok(());
    REGISTER.call_once(|| {
        result = gstfmp4::plugin_register_static()
            .map_err(|e| EncodeError::Gst(format!("cannot register cmafmux: {e}")));
    });
    result
}

/// Encodes a title and writes its files, manifests and `title.json`; returns the description.
pub fn encode(opts: &EncodeOptions) -> Result<TitleMeta, EncodeError> {
    init_gstreamer()?;
    validate(opts)?;
    let started = Instant::now();
    let final_dir = opts.media_root.join(&opts.title_id);
    if final_dir.exists() && !opts.force {
        return Err(EncodeError::Options(format!(
            "title {:?} already exists in {}; pass --force to replace it",
            opts.title_id,
            opts.media_root.display()
        )));
    }
    std::fs::create_dir_all(&opts.media_root)
        .map_err(io_err(format!("creating {}", opts.media_root.display())))?;

    // Subtitle files are read first: a bad one fails before the long encode.
    let mut subtitle_cues = Vec::new();
    for input in &opts.subtitles {
        let cues = subtitles::read(input)?;
        subtitle_cues.push((input.language.clone(), input.name.clone(), cues));
    }
    // Audio files are checked first too.
    for input in &opts.audio {
        source::check_audio_file(&input.path)
            .map_err(|e| EncodeError::Options(format!("audio {}: {e}", input.language)))?;
    }
    let info = opts.source.probe()?;
    let audio_tracks = audio::plan(
        &opts.audio,
        matches!(opts.source, Source::Synthetic { .. }),
        info.has_audio,
    );
    if subtitle_cues.is_empty() && matches!(opts.source, Source::Synthetic { .. }) {
        for (language, name) in subtitles::SYNTHETIC {
            let cues = subtitles::synthetic(language, info.duration_s);
            subtitle_cues.push((language.to_string(), name.to_string(), cues));
        }
    }
    eprintln!(
        "source: {} ({}x{}, {:.1} s, {})",
        opts.source,
        info.width,
        info.height,
        info.duration_s,
        if info.has_audio {
            "with audio"
        } else {
            "no audio"
        }
    );

    let (ladder, ladder_note) = match &opts.ladder {
        LadderChoice::Fixed(l) => (l.clone().validated()?, None),
        LadderChoice::Auto(base) => {
            let (trial_kbps, trial_height) = pipeline::trial_encode(opts, &info)?;
            let auto = ladder::auto_ladder(&base.clone().validated()?, trial_kbps, trial_height);
            eprintln!("ladder auto:");
            for line in &auto.explanation {
                eprintln!("  {line}");
            }
            (auto.ladder, Some(auto.explanation.join("\n")))
        }
    };
    let ladder = ladder.fitted_to_source(info.height);

    remove_stale_partials(&opts.media_root, &opts.title_id);
    let work_dir =
        opts.media_root
            .join(format!(".{}.partial-{}", opts.title_id, std::process::id()));
    if work_dir.exists() {
        std::fs::remove_dir_all(&work_dir).map_err(io_err("clearing an old partial encode"))?;
    }
    std::fs::create_dir_all(&work_dir)
        .map_err(io_err(format!("creating {}", work_dir.display())))?;

    let result = (|| {
        let outputs = pipeline::encode_ladder(opts, &info, &ladder, &audio_tracks, &work_dir)?;
        let mut title = build_title(opts, outputs);
        title.ladder_note = ladder_note;
        if opts.layout == Layout::Files {
            writer::split_into_files(&work_dir, &mut title)?;
        }
        let spans = subtitles::spans(&title);
        for (language, name, cues) in &subtitle_cues {
            let track = subtitles::write_track(&work_dir, language, name, cues, &spans)?;
            title.subtitles.push(track);
        }
        write_manifests(&work_dir, &title)?;
        Ok(title)
    })();
    let title = match result {
        Ok(t) => t,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&work_dir);
            return Err(e);
        }
    };
    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir)
            .map_err(io_err(format!("replacing {}", final_dir.display())))?;
    }
    std::fs::rename(&work_dir, &final_dir).map_err(io_err(format!(
        "moving the title into {}",
        final_dir.display()
    )))?;
    eprintln!(
        "encoded {:?}: {} video rungs + {} audio + {} subtitles, {} segments of {} s, in {:.1} s -> {}",
        title.id,
        title.video.len(),
        title.audio.len(),
        title.subtitles.len(),
        title.video.first().map_or(0, |r| r.segments.len()),
        opts.segment_duration_s,
        started.elapsed().as_secs_f64(),
        final_dir.display()
    );
    Ok(title)
}

/// x264's speed presets, fastest first.
pub const X264_PRESETS: [&str; 10] = [
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
];

fn validate(opts: &EncodeOptions) -> Result<(), EncodeError> {
    let id_ok = !opts.title_id.is_empty()
        && opts
            .title_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !id_ok {
        return Err(EncodeError::Options(format!(
            "title id {:?} must be non-empty ASCII letters, digits, '-' or '_'",
            opts.title_id
        )));
    }
    if !(1..=30).contains(&opts.segment_duration_s) {
        return Err(EncodeError::Options(
            "segment duration must be 1 to 30 seconds".into(),
        ));
    }
    if !(1..=120).contains(&opts.fps) {
        return Err(EncodeError::Options("fps must be 1 to 120".into()));
    }
    if opts.quality > 50 {
        return Err(EncodeError::Options("quality must be 0 to 50".into()));
    }
    let mut languages = std::collections::HashSet::new();
    for input in &opts.audio {
        subtitles::check_language(&input.language)?;
        if !languages.insert(input.language.to_ascii_lowercase()) {
            return Err(EncodeError::Options(format!(
                "two audio files in {:?}: one track per language",
                input.language
            )));
        }
    }
    let mut languages = std::collections::HashSet::new();
    for input in &opts.subtitles {
        subtitles::check_language(&input.language)?;
        if !languages.insert(input.language.to_ascii_lowercase()) {
            return Err(EncodeError::Options(format!(
                "two subtitle files in {:?}: one track per language",
                input.language
            )));
        }
    }
    if !X264_PRESETS.contains(&opts.preset.as_str()) {
        return Err(EncodeError::Options(format!(
            "unknown x264 preset {:?}; use one of {}",
            opts.preset,
            X264_PRESETS.join(", ")
        )));
    }
    Ok(())
}

/// Removes what interrupted encodes of this title left behind (`.ID.partial-PID`).
fn remove_stale_partials(root: &Path, id: &str) {
    let prefix = format!(".{id}.partial-");
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(&prefix) {
            tracing::info!("removing an interrupted encode: {}", e.path().display());
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// What one branch of the pipeline produced.
#[derive(Debug, Clone)]
pub(crate) struct RenditionOutput {
    pub id: String,
    pub kind: MediaKind,
    pub codecs: String,
    pub target_bitrate: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub sample_rate: Option<u32>,
    pub channels: Option<u32>,
    pub language: Option<String>,
    pub name: Option<String>,
    pub written: writer::Written,
}

fn build_title(opts: &EncodeOptions, outputs: Vec<RenditionOutput>) -> TitleMeta {
    let mut video = Vec::new();
    let mut audio = Vec::new();
    for out in outputs {
        let segments = out.written.segments;
        let total_bits: u64 = segments.iter().map(|s| s.range.length * 8).sum();
        let total_s: f64 = segments.iter().map(|s| s.duration_s).sum();
        let peak = segments
            .iter()
            .map(|s| (s.range.length * 8) as f64 / s.duration_s.max(0.001))
            .fold(0.0, f64::max);
        let r = Rendition {
            id: out.id,
            kind: out.kind,
            codecs: out.codecs,
            target_bitrate: out.target_bitrate,
            average_bitrate: (total_bits as f64 / total_s.max(0.001)).round() as u64,
            peak_bitrate: peak.round() as u64,
            width: out.width,
            height: out.height,
            frame_rate: (out.kind == MediaKind::Video).then_some(opts.fps),
            sample_rate: out.sample_rate,
            channels: out.channels,
            language: out.language,
            name: out.name,
            init: out.written.init,
            segments,
        };
        match r.kind {
            MediaKind::Video => video.push(r),
            MediaKind::Audio => audio.push(r),
        }
    }
    video.sort_by_key(|r| r.target_bitrate);
    let duration_s = video
        .iter()
        .chain(audio.iter())
        .filter_map(|r| r.segments.last().map(|s| s.start_s + s.duration_s))
        .fold(0.0, f64::max);
    TitleMeta {
        id: opts.title_id.clone(),
        duration_s,
        segment_duration_s: opts.segment_duration_s as f64,
        layout: opts.layout,
        video,
        audio,
        ladder_note: None,
        subtitles: Vec::new(),
    }
}

/// Writes `title.json`, the HLS playlists, the MPD and the ABR trace-replay title (`abr-title.json`).
pub fn write_manifests(dir: &Path, title: &TitleMeta) -> Result<(), EncodeError> {
    let write = |name: &str, text: String| {
        std::fs::write(dir.join(name), text).map_err(io_err(format!("writing {name}")))
    };
    write(
        TITLE_FILE,
        serde_json::to_string_pretty(title).expect("title serialises"),
    )?;
    write(hls::MULTIVARIANT, hls::multivariant(title, Delivery::Local))?;
    for r in title.renditions() {
        write(&r.playlist_name(), hls::media_playlist(title, r))?;
    }
    for t in &title.subtitles {
        write(&t.playlist_name(), hls::subtitle_playlist(t))?;
    }
    write(dash::MPD, dash::mpd(title, Delivery::Local))?;
    write(
        "abr-title.json",
        serde_json::to_string(&abr_title(title)).expect("serialises"),
    )?;
    Ok(())
}

/// The title in the trace-replay format of ABR-BENCH.md (Sabre's): ladder and every segment's size.
fn abr_title(title: &TitleMeta) -> serde_json::Value {
    let count = title
        .video
        .iter()
        .map(|r| r.segments.len())
        .min()
        .unwrap_or(0);
    let sizes: Vec<Vec<u64>> = (0..count)
        .map(|i| {
            title
                .video
                .iter()
                .map(|r| r.segments[i].range.length * 8)
                .collect()
        })
        .collect();
    serde_json::json!({
        "segment_duration_ms": (title.segment_duration_s * 1000.0).round() as u64,
        "bitrates_kbps": title.video.iter().map(|r| r.average_bitrate / 1000).collect::<Vec<_>>(),
        "segment_sizes_bits": sizes,
    })
}
