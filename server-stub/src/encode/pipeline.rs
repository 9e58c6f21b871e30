//! The GStreamer pipelines of the encoder: the full ladder encode, and the short constant-quality
//! trial encode that measures a title's complexity for `--ladder auto`.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use gst::prelude::*;

use super::audio::{AudioSource, AudioTrack};
use super::ladder::{Ladder, Rung, TRIAL_HEIGHT};
use super::source::{self, SourceInfo, make};
use super::writer::RenditionWriter;
use super::{EncodeError, EncodeOptions, RenditionOutput};
use crate::title::MediaKind;

/// How much of the title the trial encode looks at.
const TRIAL_SECONDS: f64 = 32.0;

fn gst_err(e: impl std::fmt::Display) -> EncodeError {
    EncodeError::Gst(e.to_string())
}

/// One branch's sink side: the writer fed by an appsink, and the parser whose caps give the codec.
struct Branch {
    id: String,
    /// An audio track's language and name.
    language: Option<String>,
    name: Option<String>,
    kind: MediaKind,
    target_bitrate: u64,
    width: Option<u32>,
    height: Option<u32>,
    parser: gst::Element,
    writer: Arc<Mutex<Option<RenditionWriter>>>,
    progress: Arc<std::sync::atomic::AtomicU64>,
}

fn appsink_for(writer: Arc<Mutex<Option<RenditionWriter>>>) -> Result<gst::Element, EncodeError> {
    let sink = gst_app::AppSink::builder().sync(false).build();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let mut guard = writer.lock().expect("writer lock");
                let w = guard.as_mut().ok_or(gst::FlowError::Flushing)?;
                let segment = sample
                    .segment()
                    .and_then(|s| s.downcast_ref::<gst::ClockTime>());
                if let Some(list) = sample.buffer_list() {
                    for b in list.iter() {
                        w.push(b, segment).map_err(|_| gst::FlowError::Error)?;
                    }
                } else if let Some(b) = sample.buffer() {
                    w.push(b, segment).map_err(|_| gst::FlowError::Error)?;
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    Ok(sink.upcast())
}

fn cmafmux(segment_s: u32) -> Result<gst::Element, EncodeError> {
    gst::ElementFactory::make("cmafmux")
        .property(
            "fragment-duration",
            gst::ClockTime::from_seconds(segment_s.into()),
        )
        .build()
        .map_err(|_| EncodeError::Gst("cmafmux is not registered".into()))
}

fn queue() -> Result<gst::Element, EncodeError> {
    gst::ElementFactory::make("queue")
        .property("max-size-bytes", 0u32)
        .property("max-size-time", 0u64)
        .property("max-size-buffers", 16u32)
        .build()
        .map_err(gst_err)
}

/// Adds `tee ! queue ! videoscale ! caps ! x264enc ! caps ! h264parse ! cmafmux ! appsink`.
#[allow(clippy::too_many_arguments)]
fn add_video_branch(
    pipeline: &gst::Pipeline,
    tee: &gst::Element,
    opts: &EncodeOptions,
    rung: &Rung,
    width: u32,
    quality: u32,
    bitrate_kbps: u32,
    writer: RenditionWriter,
) -> Result<Branch, EncodeError> {
    let q = queue()?;
    let scale = make("videoscale")?;
    let size = gst::ElementFactory::make("capsfilter")
        .property(
            "caps",
            gst::Caps::builder("video/x-raw")
                .field("width", width as i32)
                .field("height", rung.height as i32)
                .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
                .build(),
        )
        .build()
        .map_err(gst_err)?;
    let gop = opts.fps * opts.segment_duration_s;
    let enc = make("x264enc")?;
    enc.set_property_from_str("pass", "qual");
    enc.set_property("quantizer", quality);
    enc.set_property("bitrate", bitrate_kbps);
    enc.set_property("vbv-buf-capacity", 1000u32);
    enc.set_property("key-int-max", gop);
    enc.set_property("bframes", 0u32);
    enc.set_property_from_str("speed-preset", &opts.preset);
    enc.set_property("option-string", format!("scenecut=0:keyint-min={gop}"));
    let profile = if rung.height >= 720 { "high" } else { "main" };
    let h264_caps = gst::ElementFactory::make("capsfilter")
        .property(
            "caps",
            gst::Caps::builder("video/x-h264")
                .field("profile", profile)
                .build(),
        )
        .build()
        .map_err(gst_err)?;
    let parse = make("h264parse")?;
    let mux = cmafmux(opts.segment_duration_s)?;
    let progress = writer.progress_ns.clone();
    let writer = Arc::new(Mutex::new(Some(writer)));
    let sink = appsink_for(writer.clone())?;
    let chain = [&q, &scale, &size, &enc, &h264_caps, &parse, &mux, &sink];
    pipeline.add_many(chain).map_err(gst_err)?;
    gst::Element::link_many(chain).map_err(gst_err)?;
    tee.link(&q).map_err(gst_err)?;
    Ok(Branch {
        id: rung.id(),
        language: None,
        name: None,
        kind: MediaKind::Video,
        target_bitrate: bitrate_kbps as u64 * 1000,
        width: Some(width),
        height: Some(rung.height),
        parser: parse,
        writer,
        progress,
    })
}

/// The best AAC encoder installed, with its bitrate property set.
fn aac_encoder(bitrate_kbps: u32) -> Result<gst::Element, EncodeError> {
    for factory in ["fdkaacenc", "avenc_aac", "voaacenc"] {
        if let Ok(enc) = gst::ElementFactory::make(factory).build() {
            enc.set_property("bitrate", (bitrate_kbps * 1000) as i32);
            return Ok(enc);
        }
    }
    Err(EncodeError::Gst(
        "no AAC encoder (fdkaacenc, avenc_aac or voaacenc); install gstreamer1.0-libav".into(),
    ))
}

/// Adds `tee ! queue ! aacenc ! aacparse ! cmafmux ! appsink` for `track`.
fn add_audio_branch(
    pipeline: &gst::Pipeline,
    tee: &gst::Element,
    opts: &EncodeOptions,
    bitrate_kbps: u32,
    track: &AudioTrack,
    writer: RenditionWriter,
) -> Result<Branch, EncodeError> {
    let q = queue()?;
    let enc = aac_encoder(bitrate_kbps)?;
    let parse = make("aacparse")?;
    let mux = cmafmux(opts.segment_duration_s)?;
    let progress = writer.progress_ns.clone();
    let writer = Arc::new(Mutex::new(Some(writer)));
    let sink = appsink_for(writer.clone())?;
    let chain = [&q, &enc, &parse, &mux, &sink];
    pipeline.add_many(chain).map_err(gst_err)?;
    gst::Element::link_many(chain).map_err(gst_err)?;
    tee.link(&q).map_err(gst_err)?;
    Ok(Branch {
        id: track.id.clone(),
        language: track.language.clone(),
        name: track.name.clone(),
        kind: MediaKind::Audio,
        target_bitrate: bitrate_kbps as u64 * 1000,
        width: None,
        height: None,
        parser: parse,
        writer,
        progress,
    })
}

/// Runs a pipeline to EOS, showing progress; `stop_at_s` sends EOS once every branch got there.
fn run(
    pipeline: &gst::Pipeline,
    branches: &[Branch],
    duration_s: f64,
    label: &str,
    show: bool,
    stop_at_s: Option<f64>,
) -> Result<(), EncodeError> {
    let bar = if show {
        indicatif::ProgressBar::new((duration_s * 1000.0).max(1.0) as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>10} [{elapsed_precise}] {wide_bar} {percent:>3}% media {pos}/{len} ms, eta {eta}",
        )
        .expect("valid template"),
    );
    bar.set_message(label.to_string());
    pipeline.set_state(gst::State::Playing).map_err(|_| {
        pipeline_error(pipeline)
            .unwrap_or_else(|| EncodeError::Gst("the pipeline would not start".into()))
    })?;
    let bus = pipeline.bus().expect("pipelines have a bus");
    let mut eos_sent = false;
    // Watchdog: an encode whose output stops moving for this long has hung.
    let stuck_after = std::time::Duration::from_secs(60);
    let mut last_progress = (0u64, std::time::Instant::now());
    let result = loop {
        let msg = bus.timed_pop_filtered(
            gst::ClockTime::from_mseconds(200),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        );
        let done_ns = branches
            .iter()
            .map(|b| b.progress.load(Ordering::Relaxed))
            .min()
            .unwrap_or(0);
        bar.set_position(done_ns / 1_000_000);
        // Any branch moving counts: the fast ones (audio, small rungs) finish long before the
        // top rung does.
        let moved: u64 = branches
            .iter()
            .map(|b| b.progress.load(Ordering::Relaxed))
            .sum();
        if moved != last_progress.0 {
            last_progress = (moved, std::time::Instant::now());
        } else if last_progress.1.elapsed() > stuck_after {
            break Err(EncodeError::Pipeline {
                element: "pipeline".into(),
                message: format!(
                    "no progress for {} s at {:.1} s of media; giving up",
                    stuck_after.as_secs(),
                    done_ns as f64 / 1e9
                ),
            });
        }
        if let Some(limit) = stop_at_s
            && !eos_sent
            && done_ns as f64 / 1e9 >= limit
        {
            pipeline.send_event(gst::event::Eos::new());
            eos_sent = true;
        }
        match msg.as_ref().map(|m| m.view()) {
            Some(gst::MessageView::Eos(_)) => break Ok(()),
            Some(gst::MessageView::Error(err)) => {
                break Err(EncodeError::Pipeline {
                    element: err
                        .src()
                        .map_or_else(|| "pipeline".into(), |s| s.path_string().to_string()),
                    message: format!(
                        "{}{}",
                        err.error(),
                        err.debug().map_or_else(String::new, |d| format!(" ({d})"))
                    ),
                });
            }
            _ => {}
        }
    };
    bar.finish_and_clear();
    result
}

fn pipeline_error(pipeline: &gst::Pipeline) -> Option<EncodeError> {
    let bus = pipeline.bus()?;
    let msg = bus.timed_pop_filtered(
        gst::ClockTime::from_mseconds(100),
        &[gst::MessageType::Error],
    )?;
    if let gst::MessageView::Error(err) = msg.view() {
        return Some(EncodeError::Pipeline {
            element: err
                .src()
                .map_or_else(|| "pipeline".into(), |s| s.path_string().to_string()),
            message: err.error().to_string(),
        });
    }
    None
}

fn codec_string(parser: &gst::Element) -> Option<String> {
    let caps = parser.static_pad("src")?.current_caps()?;
    gst_pbutils::functions::codec_utils_caps_get_mime_codec(&caps)
        .ok()
        .map(|s| s.to_string())
}

/// Encodes every rung and each audio track into `dir`, one file per rendition.
pub fn encode_ladder(
    opts: &EncodeOptions,
    info: &SourceInfo,
    ladder: &Ladder,
    audio_tracks: &[AudioTrack],
    dir: &Path,
) -> Result<Vec<RenditionOutput>, EncodeError> {
    let pipeline = gst::Pipeline::with_name("reel-encode");
    // The source's own audio is decoded only when a track is made of it.
    let mut main = info.clone();
    main.has_audio &= audio_tracks.iter().any(|t| t.source == AudioSource::Main);
    let outputs = opts.source.add_to(&pipeline, &main, opts.fps, None)?;
    let mut branches = Vec::new();
    for rung in &ladder.rungs {
        let writer = RenditionWriter::to_file(&dir.join(format!("{}.mp4", rung.id())))?;
        branches.push(add_video_branch(
            &pipeline,
            &outputs.video,
            opts,
            rung,
            rung.width_for(info.aspect()),
            opts.quality,
            rung.bitrate_kbps,
            writer,
        )?);
    }
    for track in audio_tracks {
        let tee = match &track.source {
            AudioSource::Main => match &outputs.audio {
                Some(tee) => tee.clone(),
                None => continue,
            },
            other => source::add_audio(&pipeline, other, info, opts.fps)?,
        };
        let writer = RenditionWriter::to_file(&dir.join(format!("{}.mp4", track.id)))?;
        branches.push(add_audio_branch(
            &pipeline,
            &tee,
            opts,
            ladder.audio_bitrate_kbps,
            track,
            writer,
        )?);
    }
    let audio_count = branches
        .iter()
        .filter(|b| b.kind == MediaKind::Audio)
        .count();
    eprintln!(
        "encoding {} video rungs ({}) + {}, {} s segments, x264 {}",
        ladder.rungs.len(),
        ladder
            .rungs
            .iter()
            .map(|r| format!("{}p@{}k", r.height, r.bitrate_kbps))
            .collect::<Vec<_>>()
            .join(" "),
        match audio_count {
            0 => "no audio".to_string(),
            1 => format!("AAC@{}k", ladder.audio_bitrate_kbps),
            n => format!("{n} AAC tracks @{}k", ladder.audio_bitrate_kbps),
        },
        opts.segment_duration_s,
        opts.preset
    );
    let result = run(
        &pipeline,
        &branches,
        info.duration_s,
        "encoding",
        opts.progress,
        None,
    );
    let codecs: Vec<Option<String>> = branches.iter().map(|b| codec_string(&b.parser)).collect();
    let _ = pipeline.set_state(gst::State::Null);
    result?;
    let mut out = Vec::new();
    for (b, codec) in branches.into_iter().zip(codecs) {
        let writer = b
            .writer
            .lock()
            .expect("writer lock")
            .take()
            .expect("writer present until finished");
        let fallback = match b.kind {
            MediaKind::Video => "avc1.4d401f",
            MediaKind::Audio => "mp4a.40.2",
        };
        out.push(RenditionOutput {
            id: b.id,
            kind: b.kind,
            codecs: codec.unwrap_or_else(|| fallback.into()),
            target_bitrate: b.target_bitrate,
            width: b.width,
            height: b.height,
            sample_rate: (b.kind == MediaKind::Audio).then_some(48_000),
            channels: (b.kind == MediaKind::Audio).then_some(2),
            language: b.language,
            name: b.name,
            written: writer.finish()?,
        });
    }
    Ok(out)
}

/// Encodes the first [`TRIAL_SECONDS`] at [`TRIAL_HEIGHT`] at constant quality with no cap and
/// returns the bitrate it needed, in kbit/s.
pub fn trial_encode(opts: &EncodeOptions, info: &SourceInfo) -> Result<(f64, u32), EncodeError> {
    let pipeline = gst::Pipeline::with_name("reel-trial");
    let limit = if info.duration_s > 0.0 {
        info.duration_s.min(TRIAL_SECONDS)
    } else {
        TRIAL_SECONDS
    };
    let mut no_audio = info.clone();
    no_audio.has_audio = false;
    let outputs = opts
        .source
        .add_to(&pipeline, &no_audio, opts.fps, Some(limit))?;
    let rung = Rung {
        height: TRIAL_HEIGHT.min(info.height) & !1,
        bitrate_kbps: 100_000,
    };
    let branch = add_video_branch(
        &pipeline,
        &outputs.video,
        opts,
        &rung,
        rung.width_for(info.aspect()),
        opts.quality,
        rung.bitrate_kbps,
        RenditionWriter::counting(),
    )?;
    eprintln!(
        "ladder auto: trial encode of {limit:.0} s at {}p, constant quality {}",
        rung.height, opts.quality
    );
    let branches = [branch];
    let result = run(
        &pipeline,
        &branches,
        limit,
        "measuring",
        opts.progress,
        Some(limit),
    );
    let _ = pipeline.set_state(gst::State::Null);
    result?;
    let writer = branches[0]
        .writer
        .lock()
        .expect("writer lock")
        .take()
        .expect("writer present");
    let written = writer.finish()?;
    let bits: u64 = written.segments.iter().map(|s| s.range.length * 8).sum();
    let seconds: f64 = written.segments.iter().map(|s| s.duration_s).sum();
    Ok((bits as f64 / seconds.max(0.1) / 1000.0, rung.height))
}
