//! The GStreamer sink: one `appsrc` per media kind (seekable, in time format) into `decodebin`,
//! then video into the app's sink (an appsink handing RGBA frames to a callback, or a fake sink)
//! and audio into the default output (or a fake sink). The pipeline clock is the playback clock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;
use gst_app::{AppSrc, AppStreamType};

use super::timeline::MediaTimeline;
use super::ts_clock;
use super::{AudioLevel, Chunk, Sink, SinkError};
use crate::presentation::MediaKind;

/// A decoded video frame for an app to draw.
#[derive(Debug, Clone)]
pub struct VideoFrame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// RGBA pixels, row after row (stride = width × 4).
    pub rgba: Vec<u8>,
    /// Presentation time in seconds.
    pub pts_s: f64,
}

/// Callback receiving decoded frames.
pub type FrameCallback = Arc<dyn Fn(VideoFrame) + Send + Sync>;

/// Callback receiving the audio level about twenty times a second while audio plays.
pub type LevelCallback = Arc<dyn Fn(AudioLevel) + Send + Sync>;

/// How often the audio level is measured.
const LEVEL_INTERVAL: gst::ClockTime = gst::ClockTime::from_mseconds(50);

/// How the GStreamer sink outputs media.
#[derive(Clone, Default)]
pub struct GstSinkConfig {
    /// Decoded frames go to this callback (scaled to `frame_size` when given); without it video
    /// is decoded into a fake sink.
    pub on_frame: Option<FrameCallback>,
    /// Size frames are scaled to for `on_frame`.
    pub frame_size: Option<(u32, u32)>,
    /// Play audio on the default output device; otherwise audio is decoded and discarded.
    pub audio_output: bool,
    /// The audio level goes to this callback (a level meter where there is no picture).
    pub on_level: Option<LevelCallback>,
}

impl std::fmt::Debug for GstSinkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GstSinkConfig")
            .field("on_frame", &self.on_frame.is_some())
            .field("frame_size", &self.frame_size)
            .field("audio_output", &self.audio_output)
            .field("on_level", &self.on_level.is_some())
            .finish()
    }
}

/// Decodes with GStreamer, paced by the pipeline clock.
pub struct GstSink {
    config: GstSinkConfig,
    pipeline: gst::Pipeline,
    sources: HashMap<MediaKind, AppSrc>,
    /// Each input's media timeline on the presentation's.
    timelines: HashMap<MediaKind, MediaTimeline>,
    frames: Arc<AtomicU64>,
    first_frame: Arc<std::sync::OnceLock<std::time::Instant>>,
    /// The first audio buffer out, and whether the video input turned out to hold no video (an
    /// audio-only media playlist): then that buffer is the start of playback.
    first_audio: Arc<std::sync::OnceLock<std::time::Instant>>,
    video_absent: Arc<AtomicBool>,
    volume: Option<gst::Element>,
    eos: bool,
    error: Option<SinkError>,
    last_position: f64,
    /// The sound output found at creation, by factory name (only looked for when audio output
    /// is wanted).
    sound_sink: Option<String>,
}

/// A decoded frame's presentation time: its timestamp as stream time in its segment (the two
/// differ where media times do not follow the presentation's, see `MediaTimeline`).
fn presentation_time_s(sample: &gst::Sample, buffer: &gst::BufferRef) -> f64 {
    let Some(pts) = buffer.pts() else {
        return 0.0;
    };
    sample
        .segment()
        .and_then(|s| s.downcast_ref::<gst::ClockTime>())
        .and_then(|s| s.to_stream_time(pts))
        .unwrap_or(pts)
        .nseconds() as f64
        / 1e9
}

/// How far one MPEG-TS segment's clock lead may differ from the one in force before the
/// timeline is laid anew (a muxer samples its clock per packet: leads jitter by milliseconds).
const TS_LEAD_TOLERANCE_S: f64 = 0.1;

fn gst_err(e: impl std::fmt::Display) -> SinkError {
    SinkError::Setup(e.to_string())
}

/// Initialises GStreamer (idempotent).
pub fn init() -> Result<(), SinkError> {
    gst::init().map_err(|e| SinkError::Setup(format!("GStreamer cannot start: {e}")))
}

/// The sound output to play on, by factory name, if one really plays: one buffer of silence
/// is prerolled into `autoaudiosink`, and the sink it settled on is kept unless it complained (it
/// falls back to a silent sink with a warning when, say, a sound server refuses it). The pipeline
/// then makes that sink directly, so the search, and the audio library's complaints about missing
/// devices, happen only here.
fn probe_sound_output() -> Option<String> {
    let pipeline =
        gst::parse::launch("audiotestsrc wave=silence num-buffers=1 ! autoaudiosink name=out")
            .ok()?
            .downcast::<gst::Pipeline>()
            .ok()?;
    let prerolled = pipeline.set_state(gst::State::Paused).is_ok()
        && pipeline.state(gst::ClockTime::from_seconds(2)).0.is_ok();
    let chosen = pipeline
        .by_name("out")
        .and_then(|out| out.downcast::<gst::Bin>().ok())
        .and_then(|bin| bin.children().into_iter().next())
        .and_then(|child| child.factory())
        .map(|f| f.name().to_string());
    let complained = pipeline.bus().is_some_and(|bus| {
        bus.iter().any(|m| {
            matches!(
                m.view(),
                gst::MessageView::Warning(_) | gst::MessageView::Error(_)
            )
        })
    });
    let _ = pipeline.set_state(gst::State::Null);
    chosen.filter(|name| prerolled && !complained && name != "fakesink")
}

/// The caps a decoder must accept for an RFC 6381 codec string, if Reel knows the codec.
fn codec_caps(codec: &str) -> Option<gst::Caps> {
    let c = codec.trim();
    let prefix = c.split('.').next().unwrap_or("");
    let caps = match prefix {
        "avc1" | "avc3" => gst::Caps::builder("video/x-h264").build(),
        "hvc1" | "hev1" => gst::Caps::builder("video/x-h265").build(),
        "vp09" | "vp9" => gst::Caps::builder("video/x-vp9").build(),
        "vp8" => gst::Caps::builder("video/x-vp8").build(),
        "vorbis" => gst::Caps::builder("audio/x-vorbis").build(),
        "av01" => gst::Caps::builder("video/x-av1").build(),
        "mp4a" => gst::Caps::builder("audio/mpeg")
            .field("mpegversion", 4i32)
            .build(),
        "ac-3" => gst::Caps::builder("audio/x-ac3").build(),
        "ec-3" => gst::Caps::builder("audio/x-eac3").build(),
        "opus" | "Opus" => gst::Caps::builder("audio/x-opus").build(),
        "flac" | "fLaC" => gst::Caps::builder("audio/x-flac").build(),
        "ac-4" => gst::Caps::builder("audio/x-ac4").build(),
        _ => return None,
    };
    Some(caps)
}

/// Fails with a clear message when no installed decoder takes one of `codecs` (comma-separated).
pub fn check_decodable(codecs: &str) -> Result<(), SinkError> {
    init()?;
    let decoders = gst::ElementFactory::factories_with_type(
        gst::ElementFactoryType::DECODER,
        gst::Rank::MARGINAL,
    );
    for codec in codecs.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let Some(caps) = codec_caps(codec) else {
            continue; // unknown to us: let decodebin try
        };
        let found = decoders.iter().any(|f| f.can_sink_any_caps(&caps));
        if !found {
            return Err(SinkError::Setup(format!(
                "no GStreamer decoder for codec {codec} ({}); install a plugin that decodes it \
                 (gstreamer1.0-libav, gstreamer1.0-plugins-bad)",
                caps.structure(0).map_or("?", |s| s.name().as_str())
            )));
        }
    }
    Ok(())
}

impl GstSink {
    /// A sink with this output configuration; the pipeline is built by [`Sink::configure`].
    ///
    /// The sound device is probed here, once: on a machine without one, the audio library may
    /// print its complaints to the terminal, and a caller drawing a full-screen interface creates
    /// the sink before taking the screen so that they do not land on it.
    pub fn new(config: GstSinkConfig) -> Result<Self, SinkError> {
        init()?;
        let sound_sink = if config.audio_output {
            probe_sound_output()
        } else {
            None
        };
        let pipeline = gst::Pipeline::with_name("reel-player");
        if let Some(callback) = config.on_level.clone() {
            // Level messages go straight to the callback, from the streaming thread, as the
            // audio reaches the sink; the rest stay on the bus for `poll_bus`.
            let bus = pipeline.bus().expect("a pipeline has a bus");
            bus.set_sync_handler(move |_, message| match level_of(message) {
                Some(level) => {
                    callback(level);
                    gst::BusSyncReply::Drop
                }
                None => gst::BusSyncReply::Pass,
            });
        }
        Ok(GstSink {
            sound_sink,
            config,
            pipeline,
            sources: HashMap::new(),
            timelines: HashMap::new(),
            frames: Arc::new(AtomicU64::new(0)),
            first_frame: Arc::new(std::sync::OnceLock::new()),
            first_audio: Arc::new(std::sync::OnceLock::new()),
            video_absent: Arc::new(AtomicBool::new(false)),
            volume: None,
            eos: false,
            error: None,
            last_position: 0.0,
        })
    }

    fn video_output(&self) -> Result<gst::Element, SinkError> {
        let bin = gst::Bin::new();
        let convert = make("videoconvert")?;
        let queue = frame_queue()?;
        let sink: gst::Element = match &self.config.on_frame {
            Some(callback) => {
                let mut caps = gst::Caps::builder("video/x-raw").field("format", "RGBA");
                if let Some((w, h)) = self.config.frame_size {
                    caps = caps.field("width", w as i32).field("height", h as i32);
                }
                let appsink = gst_app::AppSink::builder()
                    .caps(&caps.build())
                    .max_buffers(1)
                    .drop(true)
                    .build();
                appsink.set_property("enable-last-sample", false);
                let callback = callback.clone();
                appsink.set_callbacks(
                    gst_app::AppSinkCallbacks::builder()
                        .new_sample(move |s| {
                            let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                            if let (Some(buffer), Some(caps)) = (sample.buffer(), sample.caps())
                                && let Ok(info) = gst_video::VideoInfo::from_caps(caps)
                                && let Ok(map) = buffer.map_readable()
                            {
                                let (w, h) = (info.width(), info.height());
                                let stride = info.stride()[0] as usize;
                                let mut rgba = Vec::with_capacity((w * h * 4) as usize);
                                for row in 0..h as usize {
                                    let start = row * stride;
                                    rgba.extend_from_slice(&map[start..start + w as usize * 4]);
                                }
                                callback(VideoFrame {
                                    width: w,
                                    height: h,
                                    rgba,
                                    pts_s: presentation_time_s(&sample, buffer),
                                });
                            }
                            Ok(gst::FlowSuccess::Ok)
                        })
                        .build(),
                );
                appsink.upcast()
            }
            None => gst::ElementFactory::make("fakesink")
                .property("sync", true)
                .property("enable-last-sample", false)
                .build()
                .map_err(gst_err)?,
        };
        let frames = self.frames.clone();
        let first = self.first_frame.clone();
        sink.static_pad("sink")
            .expect("sinks have a sink pad")
            .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                first.get_or_init(std::time::Instant::now);
                frames.fetch_add(1, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            });
        let scale = make("videoscale")?;
        // Scaled first, then converted: a frame for the terminal is converted to RGBA at its
        // small size, never at the decoded size (8 MB a frame at 1080p).
        bin.add_many([&queue, &scale, &convert, &sink])
            .map_err(gst_err)?;
        gst::Element::link_many([&queue, &scale, &convert, &sink]).map_err(gst_err)?;
        let pad = gst::GhostPad::with_target(&queue.static_pad("sink").expect("queue sink pad"))
            .map_err(gst_err)?;
        bin.add_pad(&pad).map_err(gst_err)?;
        Ok(bin.upcast())
    }

    /// The audio branch; `starts_playback` when there is no video, so that its first buffer
    /// out marks the start of playback.
    fn audio_output(&mut self, starts_playback: bool) -> Result<gst::Element, SinkError> {
        let bin = gst::Bin::new();
        let queue = make("queue")?;
        let convert = make("audioconvert")?;
        let resample = make("audioresample")?;
        let volume = make("volume")?;
        // No sound device (servers, CI): a silent sink that keeps the clock.
        let device = self
            .sound_sink
            .as_deref()
            .and_then(|name| gst::ElementFactory::make(name).build().ok());
        let sink = match device {
            Some(s) => s,
            None => gst::ElementFactory::make("fakesink")
                .property("sync", true)
                .build()
                .map_err(gst_err)?,
        };
        let first = if starts_playback {
            self.first_frame.clone()
        } else {
            self.first_audio.clone()
        };
        sink.static_pad("sink")
            .expect("sinks have a sink pad")
            .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                first.get_or_init(std::time::Instant::now);
                gst::PadProbeReturn::Ok
            });
        let mut chain = vec![queue.clone(), convert];
        if self.config.on_level.is_some() {
            let level = gst::ElementFactory::make("level")
                .property("interval", LEVEL_INTERVAL.nseconds())
                .property("post-messages", true)
                .build()
                .map_err(|_| SinkError::Setup("GStreamer element \"level\" is missing".into()))?;
            chain.push(level);
        }
        chain.extend([resample, volume.clone(), sink]);
        bin.add_many(&chain).map_err(gst_err)?;
        gst::Element::link_many(&chain).map_err(gst_err)?;
        let pad = gst::GhostPad::with_target(&queue.static_pad("sink").expect("queue sink pad"))
            .map_err(gst_err)?;
        bin.add_pad(&pad).map_err(gst_err)?;
        self.volume = Some(volume);
        Ok(bin.upcast())
    }

    fn poll_bus(&mut self) {
        let Some(bus) = self.pipeline.bus() else {
            return;
        };
        while let Some(msg) = bus.pop() {
            match msg.view() {
                gst::MessageView::Eos(_) => self.eos = true,
                gst::MessageView::Error(e) => {
                    let element = e
                        .src()
                        .map_or_else(|| "pipeline".to_string(), |s| s.name().to_string());
                    self.error = Some(SinkError::Decode(format!("{element}: {}", e.error())));
                }
                _ => {}
            }
        }
    }
}

/// The audio level a `level` element's message carries.
fn level_of(message: &gst::Message) -> Option<AudioLevel> {
    let gst::MessageView::Element(element) = message.view() else {
        return None;
    };
    let s = element.structure().filter(|s| s.name() == "level")?;
    let channels = |field: &str| -> Vec<f64> {
        s.get::<gst::glib::ValueArray>(field)
            .map(|values| values.iter().filter_map(|v| v.get::<f64>().ok()).collect())
            .unwrap_or_default()
    };
    Some(AudioLevel {
        peak_db: channels("peak"),
        rms_db: channels("rms"),
    })
}

/// Frame sizes up to which a video decoder runs on one thread: libav decodes 1080p H.264
/// several times faster than real time on one core, and every frame thread it adds keeps
/// its own set of reference frames (about 20 MB each at 1080p). Above it, libav picks.
const ONE_THREAD_MAX_PIXELS: u64 = 1920 * 1088;

/// Gives a libav video decoder one thread for frames up to 1080p: the decoder's input caps are
/// read as they arrive (the decoder opens with the thread count set at that moment, and again
/// when the rendition changes size).
fn limit_decoder_threads(element: &gst::Element) {
    let is_video_decoder = element.factory().is_some_and(|f| {
        f.has_type(gst::ElementFactoryType::DECODER | gst::ElementFactoryType::MEDIA_VIDEO)
    });
    if !is_video_decoder || element.find_property("max-threads").is_none() {
        return;
    }
    let Some(pad) = element.static_pad("sink") else {
        return;
    };
    let decoder = element.downgrade();
    pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        if let Some(gst::PadProbeData::Event(event)) = &info.data
            && let gst::EventView::Caps(caps) = event.view()
            && let Some(s) = caps.caps().structure(0)
            && let (Ok(w), Ok(h)) = (s.get::<i32>("width"), s.get::<i32>("height"))
            && let Some(decoder) = decoder.upgrade()
        {
            let pixels = u64::from(w.unsigned_abs()) * u64::from(h.unsigned_abs());
            let threads: i32 = if pixels <= ONE_THREAD_MAX_PIXELS {
                1
            } else {
                0
            };
            decoder.set_property("max-threads", threads);
        }
        gst::PadProbeReturn::Ok
    });
}

/// Makes `matroskademux` send on the segment its `appsrc` sends it. Pushed data, it ignores
/// the time segment it is given (it expects bytes) and starts its own at the first cluster it
/// has seen since it was created, so a start position or seek inside a WebM cluster would show
/// the frames before the target, a seek back before that first cluster would clip the frames
/// asked for, and the position would count from the cluster. Its time segments are replaced by
/// the upstream one, as demuxers that follow the upstream segment (qtdemux, tsdemux) would send.
/// Both count media time: a WebM index with a time offset is refused when the manifest loads.
fn follow_upstream_segment(element: &gst::Element) {
    if element
        .factory()
        .is_none_or(|f| f.name() != "matroskademux")
    {
        return;
    }
    let Some(sink) = element.static_pad("sink") else {
        return;
    };
    let upstream: Arc<Mutex<Option<gst::Segment>>> = Arc::default();
    let record = upstream.clone();
    sink.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        if let Some(gst::PadProbeData::Event(event)) = &info.data
            && let gst::EventView::Segment(s) = event.view()
            && s.segment().format() == gst::Format::Time
        {
            *record.lock().expect("segment lock") = Some(s.segment().clone());
        }
        gst::PadProbeReturn::Ok
    });
    element.connect_pad_added(move |_, pad| {
        let upstream = upstream.clone();
        pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
            let replaced = match (&info.data, upstream.lock().expect("segment lock").as_ref()) {
                (Some(gst::PadProbeData::Event(event)), Some(up))
                    if matches!(event.view(), gst::EventView::Segment(_)) =>
                {
                    tracing::trace!(segment = ?up, "WebM output follows the upstream segment");
                    Some(
                        gst::event::Segment::builder(up)
                            .seqnum(event.seqnum())
                            .build(),
                    )
                }
                _ => None,
            };
            if let Some(event) = replaced {
                info.data = Some(gst::PadProbeData::Event(event));
            }
            gst::PadProbeReturn::Ok
        });
    });
}

/// Whether a WebM demuxer is in the pipeline (it cannot seek pushed data itself).
fn has_webm_demuxer(pipeline: &gst::Pipeline) -> bool {
    pipeline
        .iterate_recurse()
        .into_iter()
        .flatten()
        .any(|e| e.factory().is_some_and(|f| f.name() == "matroskademux"))
}

/// The queue between the decoder and the video output: the decoder runs one frame ahead of
/// the clock, on its own thread, instead of up to a `queue`'s default 10 MB (three 1080p
/// frames).
fn frame_queue() -> Result<gst::Element, SinkError> {
    gst::ElementFactory::make("queue")
        .property("max-size-buffers", 1u32)
        .property("max-size-bytes", 0u32)
        .property("max-size-time", 0u64)
        .build()
        .map_err(|_| SinkError::Setup("GStreamer element \"queue\" is missing".into()))
}

fn make(factory: &str) -> Result<gst::Element, SinkError> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|_| SinkError::Setup(format!("GStreamer element {factory:?} is missing")))
}

impl Sink for GstSink {
    fn configure(&mut self, inputs: &[(MediaKind, Option<String>)]) -> Result<(), SinkError> {
        let has_video = inputs.iter().any(|(kind, _)| *kind == MediaKind::Video);
        let has_audio = inputs.iter().any(|(kind, _)| *kind == MediaKind::Audio);
        for (kind, codecs) in inputs {
            if let Some(c) = codecs {
                check_decodable(c)?;
            }
            if *kind == MediaKind::Text {
                continue;
            }
            let src = AppSrc::builder()
                .name(format!("src-{kind:?}").to_lowercase())
                .format(gst::Format::Time)
                .stream_type(AppStreamType::Seekable)
                .is_live(false)
                .max_bytes(0)
                .block(false)
                .build();
            // Segments given with samples are sent downstream: see `MediaTimeline`.
            src.set_property("handle-segment-change", true);
            src.set_callbacks(
                gst_app::AppSrcCallbacks::builder()
                    .seek_data(|_, _| true)
                    .build(),
            );
            let decode = make("decodebin")?;
            if let Some(bin) = decode.downcast_ref::<gst::Bin>() {
                bin.connect_deep_element_added(|_, _, element| {
                    limit_decoder_threads(element);
                    follow_upstream_segment(element);
                });
            }
            self.pipeline
                .add_many([src.upcast_ref::<gst::Element>(), &decode])
                .map_err(gst_err)?;
            src.link(&decode).map_err(gst_err)?;
            // A video input with no audio input beside it may carry audio muxed in (MPEG-TS),
            // or only audio (a media playlist given directly): it gets an audio branch too, and
            // whichever branch the stream has no pad for is removed once the pads are known.
            let mut outputs = vec![(
                *kind,
                match kind {
                    MediaKind::Video => self.video_output()?,
                    _ => self.audio_output(!has_video)?,
                },
            )];
            if *kind == MediaKind::Video && !has_audio {
                outputs.push((MediaKind::Audio, self.audio_output(false)?));
            }
            for (_, output) in &outputs {
                self.pipeline.add(output).map_err(gst_err)?;
            }
            let linked: Vec<(MediaKind, gst::glib::WeakRef<gst::Element>)> = outputs
                .iter()
                .map(|(kind, output)| (*kind, output.downgrade()))
                .collect();
            let for_pads = linked.clone();
            decode.connect_pad_added(move |_, pad| {
                let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
                let name = caps
                    .structure(0)
                    .map(|s| s.name().to_string())
                    .unwrap_or_default();
                for (kind, output) in &for_pads {
                    let matches = match kind {
                        MediaKind::Video => name.starts_with("video/"),
                        _ => name.starts_with("audio/"),
                    };
                    if let Some(output) = output.upgrade()
                        && let Some(sink) = output.static_pad("sink")
                        && matches
                        && !sink.is_linked()
                    {
                        let _ = pad.link(&sink);
                        return;
                    }
                }
            });
            if linked.len() > 1 {
                let pipeline = self.pipeline.downgrade();
                let video_absent = self.video_absent.clone();
                let pruned = AtomicBool::new(false);
                // Once, at the first set of pads (a later set, after a rendition switch, must
                // find both branches still there), and off the streaming thread.
                decode.connect_no_more_pads(move |_| {
                    if pruned.swap(true, Ordering::Relaxed) {
                        return;
                    }
                    let Some(pipeline) = pipeline.upgrade() else {
                        return;
                    };
                    let linked = linked.clone();
                    let video_absent = video_absent.clone();
                    pipeline.call_async(move |pipeline| {
                        for (kind, output) in &linked {
                            let Some(output) = output.upgrade() else {
                                continue;
                            };
                            if output.static_pad("sink").is_some_and(|p| p.is_linked()) {
                                continue;
                            }
                            // Nothing will reach it: left in, it would hold the preroll forever.
                            let _ = output.set_locked_state(true);
                            let _ = output.set_state(gst::State::Null);
                            let _ = pipeline.remove(&output);
                            if *kind == MediaKind::Video {
                                video_absent.store(true, Ordering::Relaxed);
                            }
                        }
                    });
                });
            }
            self.sources.insert(*kind, src);
        }
        self.pipeline
            .set_state(gst::State::Paused)
            .map_err(|e| SinkError::Setup(format!("the pipeline would not start: {e}")))?;
        Ok(())
    }

    fn push(&mut self, chunk: Chunk) -> Result<(), SinkError> {
        self.poll_bus();
        if let Some(e) = self.error.clone() {
            return Err(e);
        }
        let Some(src) = self.sources.get(&chunk.kind) else {
            return Ok(());
        };
        // tsdemux lays a segment's first clock reference on its timestamp, its frames that much
        // later: see `ts_clock`. They are laid back onto the playlist's time like any offset.
        let (offset_s, tolerance_s) = match ts_clock::media_lead_s(&chunk.data) {
            Some(lead_s) if !chunk.init => (chunk.media_offset_s - lead_s, TS_LEAD_TOLERANCE_S),
            _ => (chunk.media_offset_s, 0.0),
        };
        let mut buffer = gst::Buffer::from_slice(chunk.data);
        let mut new_segment = None;
        if !chunk.init {
            let b = buffer.get_mut().expect("a new buffer is writable");
            b.set_pts(gst::ClockTime::from_nseconds(
                (chunk.start_s.max(0.0) * 1e9) as u64,
            ));
            b.set_duration(gst::ClockTime::from_nseconds(
                (chunk.duration_s.max(0.0) * 1e9) as u64,
            ));
            new_segment = self.timelines.entry(chunk.kind).or_default().chunk(
                chunk.start_s,
                offset_s,
                tolerance_s,
            );
        }
        let pushed = match new_segment {
            Some(s) => {
                let ns = |s: f64| gst::ClockTime::from_nseconds((s.max(0.0) * 1e9) as u64);
                let mut segment = gst::FormattedSegment::<gst::ClockTime>::new();
                segment.set_start(ns(s.start_s));
                segment.set_position(ns(s.start_s));
                segment.set_time(ns(s.time_s));
                segment.set_base(ns(s.base_s));
                tracing::debug!(kind = ?chunk.kind, ?s, "media timeline offset changed");
                let sample = gst::Sample::builder()
                    .buffer(&buffer)
                    .segment(&segment)
                    .build();
                src.push_sample(&sample)
            }
            None => src.push_buffer(buffer),
        };
        pushed
            .map(|_| ())
            .map_err(|e| SinkError::Decode(format!("the pipeline refused data: {e:?}")))
    }

    fn end_of_stream(&mut self, kind: MediaKind) {
        if let Some(src) = self.sources.get(&kind) {
            let _ = src.end_of_stream();
        }
    }

    fn play(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Playing);
    }

    fn pause(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Paused);
    }

    /// Before the pipeline has prerolled (a start position, the live edge) decodebin has no
    /// pads yet, so a seek sent to the pipeline, which travels upstream from the sinks, has no
    /// path to the sources and fails. Then each source is seeked directly: it starts its time
    /// segment at the target, and the decoders drop whatever decodes before it, so the first
    /// frame shown is the one asked for. Once prerolled, the pipeline is seeked as a whole.
    fn seek(&mut self, position_s: f64) -> Result<(), SinkError> {
        self.eos = false;
        let target = gst::ClockTime::from_nseconds((position_s.max(0.0) * 1e9) as u64);
        let flags = gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE;
        // A demuxer that cannot seek pushed data itself (matroskademux, which never gets the
        // WebM index) refuses the pipeline's seek: then too the sources are seeked directly.
        let prerolled = self.pipeline.current_state() >= gst::State::Paused;
        let at_sources = !prerolled
            || match self.pipeline.seek_simple(flags, target) {
                Ok(()) => false,
                Err(e) if has_webm_demuxer(&self.pipeline) => {
                    tracing::debug!("the pipeline refused a seek ({e}); seeking its sources");
                    true
                }
                Err(e) => return Err(SinkError::Setup(format!("seek failed: {e}"))),
            };
        if at_sources {
            for (kind, src) in &self.sources {
                let seek = gst::event::Seek::new(
                    1.0,
                    flags,
                    gst::SeekType::Set,
                    target,
                    gst::SeekType::None,
                    gst::ClockTime::NONE,
                );
                if !src.send_event(seek) {
                    return Err(SinkError::Setup(format!(
                        "seek failed: the {kind:?} input would not start at {position_s:.3} s"
                    )));
                }
            }
        }
        self.last_position = position_s;
        for kind in self.sources.keys() {
            self.timelines
                .insert(*kind, MediaTimeline::after_seek(position_s));
        }
        Ok(())
    }

    fn position_s(&mut self) -> f64 {
        self.poll_bus();
        if let Some(p) = self.pipeline.query_position::<gst::ClockTime>() {
            self.last_position = p.nseconds() as f64 / 1e9;
        }
        self.last_position
    }

    fn finished(&mut self) -> bool {
        self.poll_bus();
        self.eos
    }

    fn take_error(&mut self) -> Option<SinkError> {
        self.poll_bus();
        self.error.take()
    }

    fn first_frame_at(&self) -> Option<std::time::Instant> {
        self.first_frame.get().copied().or_else(|| {
            self.video_absent
                .load(Ordering::Relaxed)
                .then(|| self.first_audio.get().copied())
                .flatten()
        })
    }

    fn frames_presented(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    fn set_volume(&mut self, volume: f64, muted: bool) {
        if let Some(v) = &self.volume {
            v.set_property("volume", volume.clamp(0.0, 1.0));
            v.set_property("mute", muted);
        }
    }
}

impl Drop for GstSink {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h264_and_aac_are_decodable_and_unknown_codecs_are_named() {
        check_decodable("avc1.4d401f,mp4a.40.2").unwrap();
        // Codecs Reel does not map are left to decodebin.
        check_decodable("xyz1.0").unwrap();
    }

    /// The decoder's thread count once caps of this size reached it.
    fn threads_for(width: i32, height: i32) -> i32 {
        init().unwrap();
        let decoder = gst::ElementFactory::make("avdec_h264").build().unwrap();
        limit_decoder_threads(&decoder);
        decoder.set_property("max-threads", 7i32);
        let caps = gst::Caps::builder("video/x-h264")
            .field("stream-format", "avc")
            .field("alignment", "au")
            .field("width", width)
            .field("height", height)
            .build();
        let pad = decoder.static_pad("sink").unwrap();
        pad.set_active(true).unwrap();
        // Whether the decoder accepts these caps without codec data does not matter here: the
        // probe reads them on their way in.
        let _ = pad.send_event(gst::event::Caps::new(&caps));
        decoder.property::<i32>("max-threads")
    }

    #[test]
    fn video_decoders_run_on_one_thread_up_to_1080p_and_libav_picks_above() {
        assert_eq!(threads_for(1920, 1080), 1);
        assert_eq!(threads_for(640, 360), 1);
        assert_eq!(threads_for(3840, 2160), 0, "4K: libav's own thread count");
    }
}
