//! The description of one encoded title (`title.json`), written by the encoder and read by the
//! backend and the manifest writers.
//!
//! It is the single source of truth for a title's files: every rendition with its init segment and
//! the byte range (or file) and timing of every media segment. The HLS and DASH manifests are
//! generated from it, so both formats always describe the same bytes.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// File name of the title description inside a title's directory.
pub const TITLE_FILE: &str = "title.json";

/// How a title's segments are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// One file per rendition; segments are byte ranges of it.
    #[default]
    ByteRanges,
    /// One directory per rendition holding `init.mp4` and one `seg_NNNNN.m4s` per segment.
    Files,
}

/// Whether a rendition carries video or audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// H.264 video.
    Video,
    /// AAC audio.
    Audio,
}

/// A byte range inside a file: `length` bytes from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ByteRange {
    /// First byte.
    pub offset: u64,
    /// Number of bytes.
    pub length: u64,
}

impl ByteRange {
    /// Inclusive end, as written in DASH `mediaRange` and HTTP `Range`.
    pub fn last_byte(&self) -> u64 {
        self.offset + self.length - 1
    }
}

/// One media segment (a CMAF fragment: `moof` + `mdat`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Where the segment sits in the rendition's file (byte-range layout), or its size (files layout,
    /// where `offset` is 0).
    pub range: ByteRange,
    /// Presentation start in seconds.
    pub start_s: f64,
    /// Duration in seconds.
    pub duration_s: f64,
}

/// One rendition: a single track in one CMAF file (or one directory of segment files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rendition {
    /// Identifier, unique in the title, used in file names (`video_720p`).
    pub id: String,
    /// Video or audio.
    pub kind: MediaKind,
    /// RFC 6381 codec string (`avc1.4d401f`, `mp4a.40.2`).
    pub codecs: String,
    /// The bitrate the encoder was asked for (the rung's cap), in bit/s.
    pub target_bitrate: u64,
    /// Mean bitrate over the whole rendition, in bit/s.
    pub average_bitrate: u64,
    /// Highest bitrate of any one segment, in bit/s (HLS `BANDWIDTH`, DASH `@bandwidth`).
    pub peak_bitrate: u64,
    /// Frame size (video only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub width: Option<u32>,
    /// Frame size (video only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub height: Option<u32>,
    /// Frames per second (video only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub frame_rate: Option<u32>,
    /// Sample rate (audio only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sample_rate: Option<u32>,
    /// Channel count (audio only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub channels: Option<u32>,
    /// Language of an audio track (BCP 47), when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub language: Option<String>,
    /// What menus call an audio track (`English`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    /// The init segment (`ftyp` + `moov`).
    pub init: ByteRange,
    /// Media segments in presentation order.
    pub segments: Vec<Segment>,
}

impl Rendition {
    /// Path of the rendition's single file (byte-range layout), relative to the title directory.
    pub fn media_file(&self) -> String {
        format!("{}.mp4", self.id)
    }

    /// Path of the init segment relative to the title directory.
    pub fn init_path(&self, layout: Layout) -> String {
        match layout {
            Layout::ByteRanges => self.media_file(),
            Layout::Files => format!("{}/init.mp4", self.id),
        }
    }

    /// Path of media segment `index` (0-based) relative to the title directory.
    pub fn segment_path(&self, layout: Layout, index: usize) -> String {
        match layout {
            Layout::ByteRanges => self.media_file(),
            Layout::Files => format!("{}/{}", self.id, segment_file_name(index + 1)),
        }
    }

    /// Name of the rendition's HLS media playlist.
    pub fn playlist_name(&self) -> String {
        format!("{}.m3u8", self.id)
    }

    /// Longest segment duration in seconds.
    pub fn max_segment_duration_s(&self) -> f64 {
        self.segments
            .iter()
            .map(|s| s.duration_s)
            .fold(0.0, f64::max)
    }
}

/// One subtitle track in WebVTT: whole in one file (`ID.vtt`, the DASH sidecar) and cut into
/// one file per segment (`ID/seg_NNNNN.vtt`) for HLS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubtitleTrack {
    /// Identifier, unique in the title, used in file names (`subtitles_en`).
    pub id: String,
    /// BCP 47 language tag (`en`, `pt-BR`).
    pub language: String,
    /// What menus call it (`English`).
    pub name: String,
    /// The HLS segments in presentation order; `range.length` is each file's size.
    pub segments: Vec<Segment>,
}

impl SubtitleTrack {
    /// The whole track's file, relative to the title directory.
    pub fn sidecar_file(&self) -> String {
        format!("{}.vtt", self.id)
    }

    /// Path of HLS segment `index` (0-based) relative to the title directory.
    pub fn segment_path(&self, index: usize) -> String {
        format!("{}/seg_{:05}.vtt", self.id, index + 1)
    }

    /// Name of the track's HLS media playlist.
    pub fn playlist_name(&self) -> String {
        format!("{}.m3u8", self.id)
    }

    /// Highest bitrate of any one segment, in bit/s (DASH `@bandwidth`).
    pub fn peak_bitrate(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| (s.range.length * 8) as f64 / s.duration_s.max(0.001))
            .fold(0.0, f64::max)
            .ceil() as u64
    }
}

/// File name of media segment number `number` (1-based) in the files layout.
pub fn segment_file_name(number: usize) -> String {
    format!("seg_{number:05}.m4s")
}

/// A whole encoded title.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TitleMeta {
    /// Identifier (the directory name).
    pub id: String,
    /// Presentation duration in seconds.
    pub duration_s: f64,
    /// Nominal segment duration in seconds.
    pub segment_duration_s: f64,
    /// How segments are stored.
    pub layout: Layout,
    /// Video renditions, lowest bitrate first.
    pub video: Vec<Rendition>,
    /// Audio renditions, one per language (the first is the default).
    pub audio: Vec<Rendition>,
    /// How the ladder was chosen, for people reading the file.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ladder_note: Option<String>,
    /// Subtitle tracks, in the order menus list them.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub subtitles: Vec<SubtitleTrack>,
}

/// Errors reading a title description.
#[derive(Debug, thiserror::Error)]
pub enum TitleError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The description contradicts itself.
    #[error("{path}: {reason}")]
    Inconsistent {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The file is not a valid title description.
    #[error("{path} is not a valid title description: {source}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        source: serde_json::Error,
    },
}

impl TitleMeta {
    /// Reads `title.json` from a title directory.
    pub fn load(title_dir: &Path) -> Result<Self, TitleError> {
        let path = title_dir.join(TITLE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| TitleError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut title: TitleMeta =
            serde_json::from_str(&text).map_err(|source| TitleError::Parse {
                path: path.display().to_string(),
                source,
            })?;
        title.check().map_err(|reason| TitleError::Inconsistent {
            path: path.display().to_string(),
            reason,
        })?;
        if let Some(dir) = title_dir.file_name() {
            title.id = dir.to_string_lossy().into_owned();
        }
        Ok(title)
    }

    /// Checks what the manifest writers rely on: non-empty ranges, segments in time order.
    pub fn check(&self) -> Result<(), String> {
        for t in &self.subtitles {
            let spans_ok = !t.segments.is_empty()
                && t.segments
                    .iter()
                    .all(|s| s.duration_s > 0.0 && s.range.length > 0);
            if t.id.is_empty() || t.language.is_empty() || !spans_ok {
                return Err(format!(
                    "subtitle track {:?} lacks an id, a language or segments",
                    t.id
                ));
            }
        }
        for r in self.renditions() {
            if r.init.length == 0 {
                return Err(format!("rendition {} has an empty init segment", r.id));
            }
            if r.segments.is_empty() {
                return Err(format!("rendition {} has no segment", r.id));
            }
            for w in r.segments.windows(2) {
                if w[1].start_s < w[0].start_s {
                    return Err(format!("rendition {}: segments out of time order", r.id));
                }
            }
            if let Some(s) = r
                .segments
                .iter()
                .find(|s| s.range.length == 0 || s.duration_s.is_nan() || s.duration_s <= 0.0)
            {
                return Err(format!(
                    "rendition {}: segment at {:.3} s is empty",
                    r.id, s.start_s
                ));
            }
        }
        Ok(())
    }

    /// Every rendition, video first.
    pub fn renditions(&self) -> impl Iterator<Item = &Rendition> {
        self.video.iter().chain(self.audio.iter())
    }

    /// The catalogue entry the playback API shows for this title.
    pub fn catalogue_entry(&self) -> reel_protocol::Title {
        reel_protocol::Title {
            id: self.id.clone(),
            duration_s: self.duration_s,
            ladder: self
                .video
                .iter()
                .map(|r| reel_protocol::LadderRung {
                    id: r.id.clone(),
                    width: r.width.unwrap_or(0),
                    height: r.height.unwrap_or(0),
                    bitrate: r.average_bitrate,
                })
                .collect(),
            formats: vec![reel_protocol::Format::Hls, reel_protocol::Format::Dash],
        }
    }
}

/// Lists the titles (directories holding a `title.json`) under a media root, sorted by id.
/// Directories whose description does not parse are skipped with a warning.
pub fn scan_media_root(root: &Path) -> std::io::Result<Vec<TitleMeta>> {
    let mut titles = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() || !entry.path().join(TITLE_FILE).exists() {
            continue;
        }
        match TitleMeta::load(&entry.path()) {
            Ok(mut t) => {
                // The directory is what URLs address: its name is the id.
                t.id = entry.file_name().to_string_lossy().into_owned();
                titles.push(t);
            }
            Err(e) => tracing::warn!("skipping title: {e}"),
        }
    }
    titles.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(titles)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small two-rung title with audio, for manifest tests.
    pub(crate) fn sample_title(layout: Layout) -> TitleMeta {
        let seg = |i: u64, len: u64, d: f64| Segment {
            range: ByteRange {
                offset: if layout == Layout::Files {
                    0
                } else {
                    1000 + i * 10_000
                },
                length: len,
            },
            start_s: i as f64 * 4.0,
            duration_s: d,
        };
        let video = |id: &str, w: u32, h: u32, br: u64| Rendition {
            id: id.into(),
            kind: MediaKind::Video,
            codecs: "avc1.4d401f".into(),
            target_bitrate: br,
            average_bitrate: br * 9 / 10,
            peak_bitrate: br * 11 / 10,
            width: Some(w),
            height: Some(h),
            frame_rate: Some(30),
            sample_rate: None,
            channels: None,
            language: None,
            name: None,
            init: ByteRange {
                offset: 0,
                length: 1000,
            },
            segments: vec![seg(0, 5000, 4.0), seg(1, 6000, 4.0), seg(2, 2000, 2.0)],
        };
        TitleMeta {
            id: "demo".into(),
            duration_s: 10.0,
            segment_duration_s: 4.0,
            layout,
            video: vec![
                video("video_240p", 426, 240, 300_000),
                video("video_720p", 1280, 720, 3_000_000),
            ],
            audio: vec![Rendition {
                id: "audio_aac".into(),
                kind: MediaKind::Audio,
                codecs: "mp4a.40.2".into(),
                target_bitrate: 128_000,
                average_bitrate: 128_000,
                peak_bitrate: 130_000,
                width: None,
                height: None,
                frame_rate: None,
                sample_rate: Some(48_000),
                channels: Some(2),
                language: None,
                name: None,
                init: ByteRange {
                    offset: 0,
                    length: 700,
                },
                segments: vec![
                    seg(0, 64_000, 4.0),
                    seg(1, 64_000, 4.0),
                    seg(2, 32_000, 2.0),
                ],
            }],
            ladder_note: None,
            subtitles: vec![SubtitleTrack {
                id: "subtitles_en".into(),
                language: "en".into(),
                name: "English".into(),
                segments: [(0.0, 4.0), (4.0, 4.0), (8.0, 2.0)]
                    .map(|(start_s, duration_s)| Segment {
                        range: ByteRange {
                            offset: 0,
                            length: 100,
                        },
                        start_s,
                        duration_s,
                    })
                    .to_vec(),
            }],
        }
    }

    #[test]
    fn paths_follow_the_layout() {
        let t = sample_title(Layout::Files);
        let r = &t.video[0];
        assert_eq!(r.init_path(Layout::Files), "video_240p/init.mp4");
        assert_eq!(r.segment_path(Layout::Files, 0), "video_240p/seg_00001.m4s");
        assert_eq!(r.segment_path(Layout::ByteRanges, 5), "video_240p.mp4");
    }

    #[test]
    fn title_json_round_trips() {
        let t = sample_title(Layout::ByteRanges);
        let json = serde_json::to_string(&t).unwrap();
        let back: TitleMeta = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        assert!(json.contains("\"layout\":\"byte-ranges\""));
    }
}
