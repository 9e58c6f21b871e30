//! Encoder inputs: a media file GStreamer can decode, or the built-in synthetic title.
//!
//! The synthetic title cycles through scenes of very different visual complexity (a still test
//! card, a ball moving over black, a moving zone plate, full-frame noise), each with its own tone,
//! so segment sizes vary the way they do for real content.

use std::fmt;
use std::path::PathBuf;

use gst::prelude::*;

use super::EncodeError;
use super::audio::AudioSource;

/// Frame size of the synthetic title.
pub const SYNTHETIC_SIZE: (u32, u32) = (1920, 1080);

/// Seconds each synthetic scene lasts.
pub const SCENE_SECONDS: u64 = 8;

/// The synthetic scenes, in order: (videotestsrc pattern, tone in Hz, description).
pub const SCENES: [(&str, f64, &str); 4] = [
    ("smpte100", 440.0, "still test card"),
    ("ball", 554.4, "smooth motion"),
    ("zone-plate", 659.3, "moving detail"),
    ("snow", 880.0, "high-detail noise"),
];

/// An encoder input.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The built-in synthetic title of this many seconds.
    Synthetic {
        /// Length in seconds.
        seconds: u32,
    },
    /// A file any installed GStreamer demuxer and decoder can read.
    File(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Synthetic { seconds } => write!(f, "synthetic {seconds} s"),
            Source::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// What the encoder needs to know about a source before building the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    /// Display width (after pixel aspect ratio).
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Whether there is an audio stream to encode.
    pub has_audio: bool,
    /// Duration in seconds (0 when unknown).
    pub duration_s: f64,
}

impl SourceInfo {
    /// Width over height.
    pub fn aspect(&self) -> f64 {
        self.width as f64 / self.height.max(1) as f64
    }
}

/// The elements a source adds to a pipeline: raw I420 video at the output frame rate, and
/// 48 kHz stereo audio when the source has audio. Both are `tee`s to branch from.
pub struct SourceOutputs {
    /// Tee carrying raw video.
    pub video: gst::Element,
    /// Tee carrying raw audio.
    pub audio: Option<gst::Element>,
}

pub(crate) fn make(factory: &str) -> Result<gst::Element, EncodeError> {
    gst::ElementFactory::make(factory).build().map_err(|_| {
        EncodeError::Gst(format!(
            "element {factory:?} is missing; install the GStreamer plugins listed in README.md"
        ))
    })
}

impl Source {
    /// Inspects the source: frame size, audio presence, duration.
    pub fn probe(&self) -> Result<SourceInfo, EncodeError> {
        match self {
            Source::Synthetic { seconds } => {
                if *seconds == 0 {
                    return Err(EncodeError::Options(
                        "--synthetic needs at least 1 second".into(),
                    ));
                }
                Ok(SourceInfo {
                    width: SYNTHETIC_SIZE.0,
                    height: SYNTHETIC_SIZE.1,
                    has_audio: true,
                    duration_s: *seconds as f64,
                })
            }
            Source::File(path) => probe_file(path),
        }
    }

    /// Adds the source to `pipeline`, producing raw video at `fps`. `limit_s` stops the synthetic
    /// source early (files are stopped by the caller).
    pub fn add_to(
        &self,
        pipeline: &gst::Pipeline,
        info: &SourceInfo,
        fps: u32,
        limit_s: Option<f64>,
    ) -> Result<SourceOutputs, EncodeError> {
        let video_tee = make("tee")?;
        let audio_tee = if info.has_audio {
            Some(make("tee")?)
        } else {
            None
        };
        pipeline
            .add(&video_tee)
            .map_err(|e| EncodeError::Gst(e.to_string()))?;
        if let Some(t) = &audio_tee {
            pipeline
                .add(t)
                .map_err(|e| EncodeError::Gst(e.to_string()))?;
        }
        let video_head = video_head(pipeline, fps, &video_tee)?;
        let audio_head = match &audio_tee {
            Some(t) => Some(audio_head(pipeline, t)?),
            None => None,
        };
        match self {
            Source::Synthetic { seconds } => {
                let seconds = limit_s.map_or(*seconds as f64, |l| l.min(*seconds as f64));
                add_synthetic(pipeline, seconds, fps, &video_head, audio_head.as_ref())?;
            }
            Source::File(path) => add_file(pipeline, path, video_head, audio_head)?,
        }
        Ok(SourceOutputs {
            video: video_tee,
            audio: audio_tee,
        })
    }
}

fn link_all(pipeline: &gst::Pipeline, chain: &[&gst::Element]) -> Result<(), EncodeError> {
    for e in chain {
        if e.parent().is_none() {
            pipeline
                .add(*e)
                .map_err(|err| EncodeError::Gst(err.to_string()))?;
        }
    }
    gst::Element::link_many(chain.iter().copied())
        .map_err(|e| EncodeError::Gst(format!("linking the source: {e}")))
}

/// `videoconvert ! videorate ! video/x-raw,format=I420,framerate=fps ! tee`; returns its head.
fn video_head(
    pipeline: &gst::Pipeline,
    fps: u32,
    tee: &gst::Element,
) -> Result<gst::Element, EncodeError> {
    let convert = make("videoconvert")?;
    let rate = make("videorate")?;
    let caps = gst::ElementFactory::make("capsfilter")
        .property(
            "caps",
            gst::Caps::builder("video/x-raw")
                .field("format", "I420")
                .field("framerate", gst::Fraction::new(fps as i32, 1))
                .build(),
        )
        .build()
        .map_err(|e| EncodeError::Gst(e.to_string()))?;
    link_all(pipeline, &[&convert, &rate, &caps, tee])?;
    Ok(convert)
}

/// `audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=2 ! tee`; returns its head.
fn audio_head(pipeline: &gst::Pipeline, tee: &gst::Element) -> Result<gst::Element, EncodeError> {
    let convert = make("audioconvert")?;
    let resample = make("audioresample")?;
    let caps = gst::ElementFactory::make("capsfilter")
        .property(
            "caps",
            gst::Caps::builder("audio/x-raw")
                .field("rate", 48_000i32)
                .field("channels", 2i32)
                .build(),
        )
        .build()
        .map_err(|e| EncodeError::Gst(e.to_string()))?;
    link_all(pipeline, &[&convert, &resample, &caps, tee])?;
    Ok(convert)
}

fn add_synthetic(
    pipeline: &gst::Pipeline,
    seconds: f64,
    fps: u32,
    video_head: &gst::Element,
    audio_head: Option<&gst::Element>,
) -> Result<(), EncodeError> {
    let frames = (seconds * fps as f64).round().max(1.0) as i32;
    let video = gst::ElementFactory::make("videotestsrc")
        .property("num-buffers", frames)
        .property("is-live", false)
        .build()
        .map_err(|e| EncodeError::Gst(e.to_string()))?;
    video.set_property_from_str("pattern", SCENES[0].0);
    video.set_property("kx2", 20i32);
    video.set_property("ky2", 20i32);
    video.set_property("kt", 1i32);
    let caps = gst::ElementFactory::make("capsfilter")
        .property(
            "caps",
            gst::Caps::builder("video/x-raw")
                .field("width", SYNTHETIC_SIZE.0 as i32)
                .field("height", SYNTHETIC_SIZE.1 as i32)
                .field("framerate", gst::Fraction::new(fps as i32, 1))
                .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
                .build(),
        )
        .build()
        .map_err(|e| EncodeError::Gst(e.to_string()))?;
    link_all(pipeline, &[&video, &caps, video_head])?;
    switch_scenes(&video, |src, scene| {
        src.set_property_from_str("pattern", SCENES[scene].0)
    });

    if let Some(audio_head) = audio_head {
        add_tones(pipeline, seconds, fps, audio_head, 1.0)?;
    }
    Ok(())
}

/// The synthetic title's sound: each scene's tone times `factor`, into `head`.
fn add_tones(
    pipeline: &gst::Pipeline,
    seconds: f64,
    fps: u32,
    head: &gst::Element,
    factor: f64,
) -> Result<(), EncodeError> {
    let frames = (seconds * fps as f64).round().max(1.0) as i32;
    // One audio buffer per video frame, so both end together.
    let samples_per_buffer = (48_000 / fps).max(1) as i32;
    let audio = gst::ElementFactory::make("audiotestsrc")
        .property("num-buffers", frames)
        .property("samplesperbuffer", samples_per_buffer)
        .property("is-live", false)
        .property("volume", 0.2f64)
        .property("freq", SCENES[0].1 * factor)
        .build()
        .map_err(|e| EncodeError::Gst(e.to_string()))?;
    let caps = gst::ElementFactory::make("capsfilter")
        .property(
            "caps",
            gst::Caps::builder("audio/x-raw")
                .field("rate", 48_000i32)
                .build(),
        )
        .build()
        .map_err(|e| EncodeError::Gst(e.to_string()))?;
    link_all(pipeline, &[&audio, &caps, head])?;
    switch_scenes(&audio, move |src, scene| {
        src.set_property("freq", SCENES[scene].1 * factor)
    });
    Ok(())
}

/// Adds an audio track that is not the source's own: returns the tee carrying its 48 kHz
/// stereo sound, cut at the title's end (`info.duration_s`).
pub fn add_audio(
    pipeline: &gst::Pipeline,
    source: &AudioSource,
    info: &SourceInfo,
    fps: u32,
) -> Result<gst::Element, EncodeError> {
    let tee = make("tee")?;
    pipeline
        .add(&tee)
        .map_err(|e| EncodeError::Gst(e.to_string()))?;
    let head = audio_head(pipeline, &tee)?;
    match source {
        AudioSource::Main => {
            return Err(EncodeError::Gst(
                "the source's own audio comes with the source".into(),
            ));
        }
        AudioSource::Tones(factor) => add_tones(pipeline, info.duration_s, fps, &head, *factor)?,
        AudioSource::File(path) => {
            cut_at(&head, info.duration_s);
            add_audio_file(pipeline, path, head)?;
        }
    }
    Ok(tee)
}

/// Ends what flows into `head` at `end_s` (nothing when the end is unknown): a longer audio
/// file must not make more segments than the picture has.
fn cut_at(head: &gst::Element, end_s: f64) {
    if end_s <= 0.0 {
        return;
    }
    let end = gst::ClockTime::from_nseconds((end_s * 1e9) as u64);
    let ended = std::sync::atomic::AtomicBool::new(false);
    let pad = head.static_pad("sink").expect("converters have a sink pad");
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let past = info
            .buffer()
            .and_then(|b| b.pts())
            .is_some_and(|pts| pts >= end);
        if !past {
            return gst::PadProbeReturn::Ok;
        }
        // The end goes downstream; this buffer and any after it then meet an ended pad, and
        // the file's decoder stops as it would at its own end.
        if !ended.swap(true, std::sync::atomic::Ordering::Relaxed) {
            pad.send_event(gst::event::Eos::new());
        }
        gst::PadProbeReturn::Ok
    });
}

/// Checks an audio file before the encode: GStreamer reads it and finds sound in it.
pub fn check_audio_file(path: &std::path::Path) -> Result<(), String> {
    let uri = file_uri(path).map_err(|e| e.to_string())?;
    let discoverer = gst_pbutils::Discoverer::new(gst::ClockTime::from_seconds(20))
        .map_err(|e| e.to_string())?;
    let info = discoverer
        .discover_uri(&uri)
        .map_err(|e| format!("GStreamer cannot read {}: {e}", path.display()))?;
    if info.audio_streams().is_empty() {
        return Err(format!("{} has no audio stream", path.display()));
    }
    Ok(())
}

/// A `uridecodebin` reading `path`, added to `pipeline`; its pads are the caller's to link.
fn add_decoder(
    pipeline: &gst::Pipeline,
    path: &std::path::Path,
) -> Result<gst::Element, EncodeError> {
    let decode = gst::ElementFactory::make("uridecodebin")
        .property("uri", file_uri(path)?)
        .build()
        .map_err(|e| EncodeError::Gst(e.to_string()))?;
    pipeline
        .add(&decode)
        .map_err(|e| EncodeError::Gst(e.to_string()))?;
    Ok(decode)
}

/// Decodes the first audio stream of `path` into `head`; its other streams go nowhere.
fn add_audio_file(
    pipeline: &gst::Pipeline,
    path: &std::path::Path,
    head: gst::Element,
) -> Result<(), EncodeError> {
    let decode = add_decoder(pipeline, path)?;
    let sink = head.static_pad("sink").expect("converters have a sink pad");
    let no_more = sink.clone();
    decode.connect_no_more_pads(move |_| {
        if !no_more.is_linked() {
            tracing::warn!("an audio file's sound was never decoded; ending its track");
            no_more.send_event(gst::event::Eos::new());
        }
    });
    let weak = pipeline.downgrade();
    decode.connect_pad_added(move |_, pad| {
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let audio = caps
            .structure(0)
            .is_some_and(|s| s.name().starts_with("audio/"));
        if audio && !sink.is_linked() {
            if let Err(e) = pad.link(&sink) {
                tracing::warn!("cannot link a decoded audio file: {e:?}");
            }
        } else if let Some(pipeline) = weak.upgrade() {
            discard(&pipeline, pad);
        }
    });
    Ok(())
}

/// Links `pad` to a fakesink of its own, so a stream nobody wants does not stop the others.
fn discard(pipeline: &gst::Pipeline, pad: &gst::Pad) {
    let Ok(sink) = gst::ElementFactory::make("fakesink")
        .property("sync", false)
        .property("async", false)
        .build()
    else {
        return;
    };
    if pipeline.add(&sink).is_ok() {
        let _ = sink.sync_state_with_parent();
        if let Some(sinkpad) = sink.static_pad("sink") {
            let _ = pad.link(&sinkpad);
        }
    }
}

/// Calls `apply(source, scene)` whenever a buffer leaving `src` starts a new scene.
fn switch_scenes(src: &gst::Element, apply: impl Fn(&gst::Element, usize) + Send + Sync + 'static) {
    let weak = src.downgrade();
    let current = std::sync::atomic::AtomicUsize::new(0);
    let pad = src.static_pad("src").expect("test sources have a src pad");
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(pts) = info.buffer().and_then(|b| b.pts()) {
            let scene = ((pts.seconds() / SCENE_SECONDS) % SCENES.len() as u64) as usize;
            if current.swap(scene, std::sync::atomic::Ordering::Relaxed) != scene
                && let Some(src) = weak.upgrade()
            {
                apply(&src, scene);
            }
        }
        gst::PadProbeReturn::Ok
    });
}

fn file_uri(path: &std::path::Path) -> Result<String, EncodeError> {
    let abs = std::fs::canonicalize(path).map_err(|e| {
        EncodeError::Source(path.display().to_string(), format!("cannot open: {e}"))
    })?;
    gst::glib::filename_to_uri(&abs, None)
        .map(|u| u.to_string())
        .map_err(|e| EncodeError::Source(path.display().to_string(), e.to_string()))
}

fn probe_file(path: &std::path::Path) -> Result<SourceInfo, EncodeError> {
    let shown = path.display().to_string();
    let uri = file_uri(path)?;
    let discoverer = gst_pbutils::Discoverer::new(gst::ClockTime::from_seconds(20))
        .map_err(|e| EncodeError::Gst(e.to_string()))?;
    let info = discoverer.discover_uri(&uri).map_err(|e| {
        EncodeError::Source(shown.clone(), format!("GStreamer cannot read it: {e}"))
    })?;
    let video = info.video_streams();
    let Some(v) = video.first() else {
        return Err(EncodeError::Source(shown, "it has no video stream".into()));
    };
    let par = v.par();
    let width = (v.width() as f64 * par.numer() as f64 / par.denom().max(1) as f64).round() as u32;
    Ok(SourceInfo {
        width,
        height: v.height(),
        has_audio: !info.audio_streams().is_empty(),
        duration_s: info.duration().map_or(0.0, |d| d.nseconds() as f64 / 1e9),
    })
}

fn add_file(
    pipeline: &gst::Pipeline,
    path: &std::path::Path,
    video_head: gst::Element,
    audio_head: Option<gst::Element>,
) -> Result<(), EncodeError> {
    let decode = add_decoder(pipeline, path)?;
    // A stream the probe saw but uridecodebin never exposes (no decoder) must not keep its
    // branch waiting forever: once all pads are out, unlinked heads get EOS.
    let heads: Vec<gst::Element> = std::iter::once(video_head.clone())
        .chain(audio_head.clone())
        .collect();
    decode.connect_no_more_pads(move |_| {
        for head in &heads {
            if let Some(sink) = head.static_pad("sink")
                && !sink.is_linked()
            {
                tracing::warn!("a source stream was never decoded; ending its branch");
                sink.send_event(gst::event::Eos::new());
            }
        }
    });
    let weak = pipeline.downgrade();
    decode.connect_pad_added(move |_, pad| {
        let Some(caps) = pad.current_caps().or_else(|| Some(pad.query_caps(None))) else {
            return;
        };
        let Some(name) = caps.structure(0).map(|s| s.name().to_string()) else {
            return;
        };
        let head = if name.starts_with("video/") {
            Some(&video_head)
        } else if name.starts_with("audio/") {
            audio_head.as_ref()
        } else {
            None
        };
        match head {
            Some(head) => {
                let sink = head.static_pad("sink").expect("converters have a sink pad");
                if !sink.is_linked()
                    && let Err(e) = pad.link(&sink)
                {
                    tracing::warn!("cannot link decoded {name}: {e:?}");
                }
            }
            // The source's audio when `--audio` files replace it, or a stream of no use.
            None => {
                if let Some(pipeline) = weak.upgrade() {
                    discard(&pipeline, pad);
                }
            }
        }
    });
    Ok(())
}
