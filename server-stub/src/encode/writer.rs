//! Writes one `cmafmux` output stream to a file and records where the init segment and each
//! fragment (= media segment) landed.
//!
//! `cmafmux` marks its buffers: the init header is `HEADER|DISCONT`, each fragment's header
//! (`moof`) is `HEADER` and carries the fragment's start time and duration, and the media data
//! following it is `DELTA_UNIT`. So the byte offsets of the segments are known as they are
//! written, with no need to parse the file afterwards.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{EncodeError, io_err};
use crate::title::{ByteRange, Layout, Segment, TitleMeta, segment_file_name};

/// Where the init segment and the media segments of a rendition file are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Written {
    /// The init segment.
    pub init: ByteRange,
    /// The media segments in order.
    pub segments: Vec<Segment>,
}

/// Receives the buffers of one `cmafmux` and writes them out (or only counts them).
pub struct RenditionWriter {
    out: Option<BufWriter<File>>,
    path: Option<PathBuf>,
    offset: u64,
    init_len: Option<u64>,
    /// (offset, start ns, duration ns) of each fragment header.
    fragments: Vec<(u64, u64, u64)>,
    /// Presentation time written so far, in ns (for progress).
    pub progress_ns: Arc<AtomicU64>,
}

impl RenditionWriter {
    /// A writer to `path`.
    pub fn to_file(path: &Path) -> Result<Self, EncodeError> {
        let file = File::create(path).map_err(io_err(format!("creating {}", path.display())))?;
        Ok(Self::new(
            Some(BufWriter::new(file)),
            Some(path.to_path_buf()),
        ))
    }

    /// A writer that only counts bytes (for trial encodes).
    pub fn counting() -> Self {
        Self::new(None, None)
    }

    fn new(out: Option<BufWriter<File>>, path: Option<PathBuf>) -> Self {
        RenditionWriter {
            out,
            path,
            offset: 0,
            init_len: None,
            fragments: Vec::new(),
            progress_ns: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Takes one output buffer of `cmafmux`; `segment` maps its timestamps to running time (the
    /// encoder shifts timestamps, the media's decode times start at zero running time).
    pub fn push(
        &mut self,
        buffer: &gst::BufferRef,
        segment: Option<&gst::FormattedSegment<gst::ClockTime>>,
    ) -> std::io::Result<()> {
        let flags = buffer.flags();
        if flags.contains(gst::BufferFlags::HEADER) && !flags.contains(gst::BufferFlags::DELTA_UNIT)
        {
            if flags.contains(gst::BufferFlags::DISCONT) && self.offset == 0 {
                // init segment: nothing to record but its end, which is the first fragment's start
            } else {
                if self.init_len.is_none() {
                    self.init_len = Some(self.offset);
                }
                let start = buffer
                    .pts()
                    .and_then(|pts| segment.map_or(Some(pts), |s| s.to_running_time(pts)))
                    .map_or(0, |t| t.nseconds());
                let duration = buffer.duration().map_or(0, |t| t.nseconds());
                self.fragments.push((self.offset, start, duration));
                self.progress_ns.store(start + duration, Ordering::Relaxed);
            }
        }
        let map = buffer
            .map_readable()
            .map_err(|_| std::io::Error::other("unreadable buffer"))?;
        if let Some(out) = &mut self.out {
            out.write_all(map.as_slice())?;
        }
        self.offset += map.size() as u64;
        Ok(())
    }

    /// Flushes the file and returns the layout of what was written.
    pub fn finish(mut self) -> Result<Written, EncodeError> {
        if let Some(mut out) = self.out.take() {
            let shown = self
                .path
                .as_ref()
                .map_or_else(String::new, |p| p.display().to_string());
            out.flush().map_err(io_err(format!("writing {shown}")))?;
        }
        let Some(init_len) = self.init_len else {
            return Err(EncodeError::Pipeline {
                element: "cmafmux".into(),
                message: "no media fragment was produced (is the source empty?)".into(),
            });
        };
        let mut segments = Vec::with_capacity(self.fragments.len());
        for (i, &(offset, start, duration)) in self.fragments.iter().enumerate() {
            let end = self
                .fragments
                .get(i + 1)
                .map_or(self.offset, |&(next, _, _)| next);
            segments.push(Segment {
                range: ByteRange {
                    offset,
                    length: end - offset,
                },
                start_s: start as f64 / 1e9,
                duration_s: duration as f64 / 1e9,
            });
        }
        // A sliver left at the end (audio frames rarely divide the segment duration) is merged into
        // the segment before it: a CMAF segment may hold several fragments, and a tiny last
        // segment would only cost a request and distort the peak bitrate.
        if segments.len() >= 2 {
            let n = segments.len();
            let last = segments[n - 1];
            let prev = &mut segments[n - 2];
            if last.duration_s < prev.duration_s * 0.25 {
                prev.range.length += last.range.length;
                prev.duration_s += last.duration_s;
                segments.pop();
            }
        }
        Ok(Written {
            init: ByteRange {
                offset: 0,
                length: init_len,
            },
            segments,
        })
    }
}

/// Turns the byte-range layout into the files layout: `<id>/init.mp4` and `<id>/seg_NNNNN.m4s`
/// per rendition, and updates the title's ranges to whole files.
pub fn split_into_files(dir: &Path, title: &mut TitleMeta) -> Result<(), EncodeError> {
    for r in title.video.iter_mut().chain(title.audio.iter_mut()) {
        let single = dir.join(r.media_file());
        let data =
            std::fs::read(&single).map_err(io_err(format!("reading {}", single.display())))?;
        let rdir = dir.join(&r.id);
        std::fs::create_dir_all(&rdir).map_err(io_err(format!("creating {}", rdir.display())))?;
        let slice = |range: &ByteRange| {
            &data[range.offset as usize..(range.offset + range.length) as usize]
        };
        std::fs::write(rdir.join("init.mp4"), slice(&r.init))
            .map_err(io_err("writing init.mp4"))?;
        r.init.offset = 0;
        for (i, s) in r.segments.iter_mut().enumerate() {
            let name = segment_file_name(i + 1);
            std::fs::write(rdir.join(&name), slice(&s.range))
                .map_err(io_err(format!("writing {name}")))?;
            s.range.offset = 0;
        }
        std::fs::remove_file(&single).map_err(io_err(format!("removing {}", single.display())))?;
    }
    title.layout = Layout::Files;
    Ok(())
}
