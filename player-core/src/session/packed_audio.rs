//! Packed audio segments (HLS, RFC 8216 §3.4): raw ADTS AAC, MPEG audio (MP3), AC-3 or E-AC-3
//! frames, normally after an ID3v2 tag whose PRIV frame `com.apple.streaming.transportStreamTimestamp`
//! carries the first sample's MPEG-2 timestamp (33 bits, 90 kHz).
//!
//! [`read`] tells such a segment from garbage by walking its frame headers (the decoder does the
//! real parsing); [`PackedAudioClock`] turns the timestamps into presentation times.

use std::io::Cursor;

/// The owner of the ID3 PRIV frame that times a packed audio segment.
pub const TIMESTAMP_OWNER: &str = "com.apple.streaming.transportStreamTimestamp";

/// MPEG-2 timestamps count 90 kHz ticks in 33 bits.
const TICKS_PER_S: f64 = 90_000.0;
const TIMESTAMP_MASK: u64 = (1 << 33) - 1;

/// The audio frames a packed audio segment carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackedCodec {
    /// AAC in ADTS frames.
    Adts,
    /// MPEG-1/2 audio layer I, II or III (MP3).
    MpegAudio,
    /// Dolby Digital.
    Ac3,
    /// Dolby Digital Plus.
    Eac3,
}

impl PackedCodec {
    fn name(self) -> &'static str {
        match self {
            PackedCodec::Adts => "ADTS",
            PackedCodec::MpegAudio => "MPEG audio",
            PackedCodec::Ac3 => "AC-3",
            PackedCodec::Eac3 => "E-AC-3",
        }
    }
}

/// What a packed audio segment holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedAudio {
    /// The frames' codec.
    pub codec: PackedCodec,
    /// The first sample's timestamp (90 kHz, 33 bits), from the ID3 PRIV frame, if there is one.
    pub timestamp: Option<u64>,
    /// Where the audio frames start (after the ID3 tag).
    pub payload_offset: usize,
    /// Audio frames in the segment.
    pub frames: usize,
}

/// Reads `data` as a packed audio segment: `None` when it is not one (it neither starts with an
/// ID3 tag nor with an audio frame's sync word); else the segment, or why it is broken.
pub fn read(data: &[u8]) -> Option<Result<PackedAudio, String>> {
    if data.starts_with(b"ID3") {
        return Some(read_tagged(data));
    }
    let codec = codec_at(data)?;
    Some(walk(codec, data).map(|frames| PackedAudio {
        codec,
        timestamp: None,
        payload_offset: 0,
        frames,
    }))
}

fn read_tagged(data: &[u8]) -> Result<PackedAudio, String> {
    // One tag, or several in a row; the first timestamp found times the segment. A tag whose
    // frames cannot be read costs its timestamp, not the audio: its length is in its header.
    let mut offset = 0;
    let mut timestamp = None;
    while data[offset..].starts_with(b"ID3") {
        let len = id3_len(&data[offset..]).ok_or("truncated ID3 tag")?;
        if timestamp.is_none() {
            timestamp = tag_timestamp(&data[offset..offset + len]);
        }
        offset += len;
    }
    let payload = &data[offset..];
    let codec = codec_at(payload).ok_or("no audio frame after the ID3 tag")?;
    let frames = walk(codec, payload)?;
    Ok(PackedAudio {
        codec,
        timestamp,
        payload_offset: offset,
        frames,
    })
}

/// The transport-stream timestamp a whole ID3 tag carries, if it carries one that can be read.
fn tag_timestamp(tag: &[u8]) -> Option<u64> {
    if !frames_fit(tag) {
        tracing::debug!("packed audio: an ID3 tag whose frames claim more than it holds, not read");
        return None;
    }
    let tag = match id3::Tag::read_from2(Cursor::new(tag)) {
        Ok(tag) => tag,
        Err(e) => {
            tracing::debug!("packed audio: an ID3 tag read in part: {e}");
            e.partial_tag?
        }
    };
    tag.frames()
        .filter_map(|f| match f.content() {
            id3::Content::Private(p) if p.owner_identifier == TIMESTAMP_OWNER => Some(p),
            _ => None,
        })
        .find_map(|p| {
            let bytes: [u8; 8] = p.private_data.get(..8)?.try_into().ok()?;
            Some(u64::from_be_bytes(bytes) & TIMESTAMP_MASK)
        })
}

/// Whether every frame of a whole ID3v2 tag claims no more bytes than the tag holds, and none
/// is compressed, encrypted, unsynchronised or a chapter (`CHAP`, `CTOC`: frames holding
/// frames), and nothing but padding follows the last frame. The id3 crate allocates what a
/// v2.2 or v2.3 frame's header claims before reading it: a 54-byte tag claiming a 2 GB frame
/// took 2 GB, a chapter's inner frame 4 GB, and three bytes after the last frame, read with
/// the footer as a frame header, 3 GB
/// (`tests/fuzz-inputs/media_segment/crash-id3-*.aac`, found by fuzzing). A review found two
/// more ways for the crate's walk and this one to part: an extended header (the two measure it
/// differently) and size bytes with their top bit set (which the crate does not mask). So a tag
/// with any header flag set, or any size byte over 0x7f, is not read either. Packagers write
/// the timestamp tag with no flags and one `PRIV` frame, which needs none of those.
fn frames_fit(tag: &[u8]) -> bool {
    let Some(header) = tag.get(..10) else {
        return false;
    };
    let (version, flags) = (header[3], header[5]);
    let be = |b: &[u8]| b.iter().fold(0usize, |n, &x| (n << 8) | usize::from(x));
    let syncsafe = |b: &[u8]| {
        b.iter()
            .fold(0usize, |n, &x| (n << 7) | usize::from(x & 0x7f))
    };
    if flags != 0 || !(2..=4).contains(&version) || header[6..10].iter().any(|b| b & 0x80 != 0) {
        return false;
    }
    // Frames fill the body the header states.
    let end = tag.len().min(10 + syncsafe(&header[6..10]));
    let mut pos = 10;
    let header_len = if version == 2 { 6 } else { 10 };
    while pos < end {
        if tag[pos] == 0 {
            break; // padding
        }
        // The crate reads a frame header from whatever is left, past the body if need be.
        if pos + header_len > end {
            return false;
        }
        let h = &tag[pos..pos + header_len];
        let size = match version {
            2 => be(&h[3..6]),
            3 => be(&h[4..8]),
            _ => syncsafe(&h[4..8]),
        };
        // v2.3: compression, encryption; v2.4: compression, encryption, unsynchronisation,
        // a data length indicator.
        let encoded = match version {
            3 => h[9] & 0xc0 != 0,
            4 => h[9] & 0x0f != 0,
            _ => false,
        };
        let chapter = matches!(&h[..4], b"CHAP" | b"CTOC");
        let unmasked = version == 4 && h[4..8].iter().any(|b| b & 0x80 != 0);
        if encoded || chapter || unmasked || size > end - pos - header_len {
            return false;
        }
        pos += header_len + size;
    }
    pos <= end
}

/// Length of the ID3v2 tag at the start of `data` (header, body, footer), if all of it is there.
fn id3_len(data: &[u8]) -> Option<usize> {
    let header = data.get(..10)?;
    let body = header[6..10]
        .iter()
        .fold(0usize, |n, &b| (n << 7) | usize::from(b & 0x7f));
    let footer = if header[5] & 0x10 != 0 { 10 } else { 0 };
    let len = 10 + body + footer;
    (len <= data.len()).then_some(len)
}

/// The codec whose frame sync word `data` starts with.
fn codec_at(data: &[u8]) -> Option<PackedCodec> {
    match *data {
        [0xff, b1, ..] if b1 & 0xf6 == 0xf0 => Some(PackedCodec::Adts),
        [0xff, b1, ..] if b1 & 0xe0 == 0xe0 && b1 & 0x06 != 0 => Some(PackedCodec::MpegAudio),
        [0x0b, 0x77, _, _, _, b5, ..] if b5 >> 3 <= 10 => Some(PackedCodec::Ac3),
        [0x0b, 0x77, _, _, _, b5, ..] if (11..=16).contains(&(b5 >> 3)) => Some(PackedCodec::Eac3),
        _ => None,
    }
}

/// Walks the frames of `codec` over `data`, which they must fill exactly (ID3 tags between them,
/// timed metadata, are stepped over); returns their count. AC-3 and E-AC-3 frames may alternate
/// (an E-AC-3 stream with an AC-3 core).
fn walk(codec: PackedCodec, data: &[u8]) -> Result<usize, String> {
    let family = |c: PackedCodec| match c {
        PackedCodec::Eac3 => PackedCodec::Ac3,
        c => c,
    };
    let mut at = 0;
    let mut frames = 0;
    while at < data.len() {
        let rest = &data[at..];
        if rest.starts_with(b"ID3") {
            at += id3_len(rest).ok_or("truncated ID3 tag among the audio frames")?;
            continue;
        }
        if rest.len() < header_len(codec) {
            return Err(format!(
                "truncated: {} bytes after the last {} frame, too few for a header",
                rest.len(),
                codec.name()
            ));
        }
        let len = match codec_at(rest) {
            Some(c) if family(c) == family(codec) => frame_len(c, rest),
            _ => None,
        };
        let Some(len) = len else {
            return Err(format!(
                "no {} frame header at byte {at} of the audio",
                codec.name()
            ));
        };
        if len > rest.len() {
            return Err(format!(
                "truncated: the last {} frame claims {len} bytes, {} left",
                codec.name(),
                rest.len()
            ));
        }
        at += len;
        frames += 1;
    }
    if frames == 0 {
        return Err(format!("no {} frame", codec.name()));
    }
    Ok(frames)
}

/// Bytes of a frame header needed to know the frame's length.
fn header_len(codec: PackedCodec) -> usize {
    match codec {
        PackedCodec::Adts => 7,
        PackedCodec::MpegAudio | PackedCodec::Eac3 => 4,
        PackedCodec::Ac3 => 6,
    }
}

/// The length in bytes of the frame whose header starts `h`, if the header is valid.
fn frame_len(codec: PackedCodec, h: &[u8]) -> Option<usize> {
    match codec {
        PackedCodec::Adts => {
            let h = h.get(..7)?;
            let sample_rate_index = (h[2] >> 2) & 0x0f;
            let len = (usize::from(h[3] & 0x03) << 11)
                | (usize::from(h[4]) << 3)
                | usize::from(h[5] >> 5);
            let header = if h[1] & 0x01 == 0 { 9 } else { 7 };
            (sample_rate_index < 13 && len >= header).then_some(len)
        }
        PackedCodec::MpegAudio => mpeg_audio_frame_len(h.get(..4)?),
        PackedCodec::Ac3 => {
            let h = h.get(..6)?;
            let sample_rate_code = h[4] >> 6;
            let size_code = usize::from(h[4] & 0x3f);
            const KBPS: [u32; 19] = [
                32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 576,
                640,
            ];
            let kbps = *KBPS.get(size_code / 2)?;
            // 1536 samples a frame, counted in 16-bit words; 44.1 kHz pads odd size codes.
            let words = match sample_rate_code {
                0 => kbps * 2,
                1 => kbps * 1000 * 1536 / (16 * 44_100) + (size_code as u32 & 1),
                2 => kbps * 3,
                _ => return None,
            };
            Some(words as usize * 2)
        }
        PackedCodec::Eac3 => {
            let h = h.get(..4)?;
            let words = (usize::from(h[2] & 0x07) << 8) | usize::from(h[3]);
            Some((words + 1) * 2)
        }
    }
}

/// MPEG-1/2/2.5 audio frame length (ISO 11172-3, ISO 13818-3). Free-format frames (no bitrate
/// in the header) have no length to read, and are refused.
fn mpeg_audio_frame_len(h: &[u8]) -> Option<usize> {
    let version = (h[1] >> 3) & 0x03; // 0: 2.5, 1: reserved, 2: MPEG-2, 3: MPEG-1
    let layer = (h[1] >> 1) & 0x03; // 1: III, 2: II, 3: I
    let bitrate_index = usize::from(h[2] >> 4);
    let rate_index = usize::from((h[2] >> 2) & 0x03);
    let padding = u32::from((h[2] >> 1) & 0x01);
    if version == 1 || layer == 0 || bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
        return None;
    }
    const KBPS: [[u32; 14]; 5] = [
        [
            32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
        ], // MPEG-1 I
        [
            32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
        ], // MPEG-1 II
        [
            32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
        ], // MPEG-1 III
        [
            32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
        ], // MPEG-2 I
        [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160], // MPEG-2 II, III
    ];
    let mpeg1 = version == 3;
    let row = match (mpeg1, layer) {
        (true, 3) => 0,
        (true, 2) => 1,
        (true, _) => 2,
        (false, 3) => 3,
        (false, _) => 4,
    };
    let bps = KBPS[row][bitrate_index - 1] * 1000;
    let rate = [44_100, 48_000, 32_000][rate_index]
        / match version {
            3 => 1,
            2 => 2,
            _ => 4,
        };
    let len = match layer {
        3 => (12 * bps / rate + padding) * 4,
        1 if !mpeg1 => 72 * bps / rate + padding,
        _ => 144 * bps / rate + padding,
    };
    Some(len as usize)
}

/// How far a segment's timestamp may place it from where the playlist does before it is taken
/// for a new clock: the rest of the session (buffer level, scheduling, seeking) counts on the
/// playlist's times, and a rounded `#EXTINF` drifts a few milliseconds a segment.
pub const MAX_DRIFT_S: f64 = 0.5;

/// Presentation times of packed audio segments, from their timestamps.
///
/// The first timed segment of a run anchors its timestamp to its place in the playlist; every
/// later one starts where its timestamp says relative to that anchor (across the 33-bit
/// rollover), so consecutive segments join on their own samples rather than on rounded
/// `#EXTINF` durations. A run ends at a seek, a rendition switch or a discontinuity
/// ([`PackedAudioClock::restart`]), or where a timestamp strays more than [`MAX_DRIFT_S`]
/// from the playlist's place.
#[derive(Debug, Clone, Default)]
pub struct PackedAudioClock {
    anchor: Option<(u64, f64)>,
}

impl PackedAudioClock {
    /// Presentation start of a segment the playlist places at `playlist_start_s`, whose first
    /// sample is stamped `timestamp`.
    pub fn start_s(&mut self, timestamp: Option<u64>, playlist_start_s: f64) -> f64 {
        let Some(timestamp) = timestamp else {
            return playlist_start_s;
        };
        if let Some((anchor_ts, anchor_s)) = self.anchor {
            // The signed distance in 33-bit arithmetic: a rollover is a small step forward.
            let ticks = timestamp.wrapping_sub(anchor_ts) & TIMESTAMP_MASK;
            let ticks = if ticks > TIMESTAMP_MASK / 2 {
                ticks as f64 - (TIMESTAMP_MASK + 1) as f64
            } else {
                ticks as f64
            };
            let start = anchor_s + ticks / TICKS_PER_S;
            if (start - playlist_start_s).abs() <= MAX_DRIFT_S {
                return start.max(0.0);
            }
        }
        self.anchor = Some((timestamp, playlist_start_s));
        playlist_start_s
    }

    /// The next segment starts a new run (after a seek, a rendition switch, a discontinuity).
    pub fn restart(&mut self) {
        self.anchor = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use id3::TagLike;

    /// An ID3v2.4 tag carrying the transport-stream timestamp, as packagers write it.
    fn tag(timestamp: u64) -> Vec<u8> {
        let mut tag = id3::Tag::new();
        tag.add_frame(id3::frame::Private {
            owner_identifier: TIMESTAMP_OWNER.into(),
            private_data: timestamp.to_be_bytes().to_vec(),
        });
        let mut out = Vec::new();
        tag.write_to(&mut out, id3::Version::Id3v24).unwrap();
        out
    }

    /// An ADTS frame of `len` bytes (AAC LC, 48 kHz, stereo, no CRC).
    fn adts(len: usize) -> Vec<u8> {
        let mut f = vec![0u8; len];
        f[..7].copy_from_slice(&[
            0xff,
            0xf1,
            0x4c,
            0x80 | ((len >> 11) as u8 & 0x03),
            (len >> 3) as u8,
            ((len as u8 & 0x07) << 5) | 0x1f,
            0xfc,
        ]);
        f
    }

    #[test]
    fn a_tagged_adts_segment_is_read_with_its_timestamp() {
        let mut seg = tag(900_000 + 123);
        let offset = seg.len();
        for len in [200, 371, 9] {
            seg.extend(adts(len));
        }
        let p = read(&seg).unwrap().unwrap();
        assert_eq!(p.codec, PackedCodec::Adts);
        assert_eq!(p.timestamp, Some(900_123));
        assert_eq!(p.payload_offset, offset);
        assert_eq!(p.frames, 3);
        // The 33 bits only: packagers may set the upper 31 to anything.
        let p = read(&[tag(0xdead_0000_0000_0005), adts(20)].concat()).unwrap();
        assert_eq!(p.unwrap().timestamp, Some(5));
    }

    #[test]
    fn broken_packed_audio_says_what_is_wrong() {
        let good = [tag(0), adts(100), adts(100)].concat();
        let e = read(&good[..good.len() - 30]).unwrap().unwrap_err();
        assert!(
            e.contains("truncated: the last ADTS frame claims 100 bytes, 70 left"),
            "{e}"
        );
        let mut garbage = good.clone();
        let second = good.len() - 100;
        garbage[second] = 0x13;
        let e = read(&garbage).unwrap().unwrap_err();
        assert!(e.contains("no ADTS frame header at byte 100"), "{e}");
        let e = read(&[tag(0), vec![0x13; 50]].concat())
            .unwrap()
            .unwrap_err();
        assert_eq!(e, "no audio frame after the ID3 tag");
        let e = read(&tag(0)[..12]).unwrap().unwrap_err();
        assert_eq!(e, "truncated ID3 tag");
        // Neither a tag nor a sync word: not packed audio at all.
        assert!(read(b"moof").is_none());
    }

    #[test]
    fn mpeg_audio_and_dolby_frame_lengths() {
        // MPEG-1 layer III, 128 kbit/s, 44.1 kHz, no padding: 417 bytes; padded: 418.
        assert_eq!(mpeg_audio_frame_len(&[0xff, 0xfb, 0x90, 0x00]), Some(417));
        assert_eq!(mpeg_audio_frame_len(&[0xff, 0xfb, 0x92, 0x00]), Some(418));
        // MPEG-2 layer III, 64 kbit/s, 24 kHz: 72 × 64000 / 24000 = 192.
        assert_eq!(mpeg_audio_frame_len(&[0xff, 0xf3, 0x84, 0x00]), Some(192));
        // MPEG-1 layer II, 192 kbit/s, 48 kHz: 576 bytes.
        assert_eq!(mpeg_audio_frame_len(&[0xff, 0xfd, 0xa4, 0x00]), Some(576));
        // Free format and a reserved version are refused.
        assert_eq!(mpeg_audio_frame_len(&[0xff, 0xfb, 0x00, 0x00]), None);
        assert_eq!(mpeg_audio_frame_len(&[0xff, 0xeb, 0x90, 0x00]), None);
        // AC-3 at 48 kHz, 192 kbit/s (size code 20): 768 bytes; 44.1 kHz, 32 kbit/s, odd code:
        // 70 words.
        let ac3 = |b4: u8| frame_len(PackedCodec::Ac3, &[0x0b, 0x77, 0, 0, b4, 8 << 3]);
        assert_eq!(ac3(20), Some(768));
        assert_eq!(ac3(0x40 | 1), Some(140));
        assert_eq!(ac3(0xc0), None);
        // E-AC-3 states its size in words less one.
        assert_eq!(
            frame_len(PackedCodec::Eac3, &[0x0b, 0x77, 0x01, 0x7f, 0, 16 << 3]),
            Some(768)
        );
    }

    #[test]
    fn the_clock_follows_the_timestamps_across_the_rollover_and_reanchors_at_a_jump() {
        let mut clock = PackedAudioClock::default();
        // No timestamp: the playlist's place.
        assert_eq!(clock.start_s(None, 4.0), 4.0);
        // The first anchors; the next runs on its samples (4.011 s of audio, not the 4 s said).
        let first = TIMESTAMP_MASK - 90_000; // a second before the rollover
        assert_eq!(clock.start_s(Some(first), 8.0), 8.0);
        let next = (first + 360_990) & TIMESTAMP_MASK;
        assert!((clock.start_s(Some(next), 12.0) - 12.011).abs() < 1e-9);
        // A timestamp far from the playlist's place anchors afresh there.
        assert_eq!(clock.start_s(Some(5), 16.0), 16.0);
        assert!((clock.start_s(Some(5 + 360_000), 20.0) - 20.0).abs() < 1e-9);
        // Drift beyond half a second anchors afresh too; so does a restart.
        assert_eq!(clock.start_s(Some(5 + 2 * 360_000 + 46_000), 24.0), 24.0);
        clock.restart();
        assert_eq!(
            clock.start_s(Some(5 + 3 * 360_000 + 46_000 + 900), 28.0),
            28.0
        );
    }

    #[test]
    fn more_tags_and_an_unreadable_tag_cost_no_audio() {
        // Apple's tag, byte for byte: ID3v2.4, one PRIV frame of 0x35 bytes.
        let mut apple = b"ID3\x04\x00\x00\x00\x00\x00\x3fPRIV\x00\x00\x00\x35\x00\x00".to_vec();
        apple.extend(TIMESTAMP_OWNER.as_bytes());
        apple.push(0);
        apple.extend(0x1_0000_0000u64.to_be_bytes());
        assert_eq!(apple.len(), 10 + 0x3f);
        let p = read(&[apple.clone(), tag(7), adts(50)].concat())
            .unwrap()
            .unwrap();
        assert_eq!(p.timestamp, Some(0x1_0000_0000));
        assert_eq!(p.payload_offset, apple.len() + tag(7).len());
        // A tag between frames (timed metadata) is stepped over.
        let p = read(&[tag(0), adts(50), tag(1), adts(50)].concat())
            .unwrap()
            .unwrap();
        assert_eq!(p.frames, 2);
        // Frames the crate refuses (an unknown flag here) lose the timestamp only.
        let mut odd = apple.clone();
        odd[5] = 0x0f;
        let p = read(&[odd, adts(50)].concat()).unwrap().unwrap();
        assert_eq!((p.timestamp, p.frames), (None, 1));
        // A frame claiming more than its tag holds is never handed to the crate, which would
        // allocate the claim: here 2 GB, for a tag of 54 bytes.
        let mut claim = b"ID3\x03\x00\x00\x00\x00\x00\x2cTXXX\x88\x76\x6d\x00\x00\x00".to_vec();
        claim.resize(10 + 0x2c, 0x41);
        assert!(!frames_fit(&claim));
        let p = read(&[claim, adts(50)].concat()).unwrap().unwrap();
        assert_eq!((p.timestamp, p.frames), (None, 1));
        assert!(frames_fit(&apple) && frames_fit(&tag(7)));
        // Nor a tag with an extended header, or a size byte over 0x7f, where the crate's walk
        // and this one part (a review's inputs: 4 GB each).
        let extended = b"ID3\x03\x00\x40\x00\x00\x00\x14\x00\x00\x00\x06\x00\x00TXXX\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00";
        assert!(!frames_fit(extended));
        let unmasked = b"ID3\x03\x00\x10\x00\x00\x00\x80TXXX\xff\xff\xff\xff\x00\x00";
        assert!(!frames_fit(unmasked));
        // Nor is a chapter, whose inner frames the crate reads the same way.
        let mut chapter = b"ID3\x03\x00\x00\x00\x00\x00\x1aCTOC\x00\x00\x00\x10\x00\x00".to_vec();
        chapter.resize(10 + 0x1a, 0);
        assert!(!frames_fit(&chapter));
        // Nor a tag with bytes after its last frame too few for a header: the crate reads one
        // anyway, from past the body.
        let mut short = b"ID3\x03\x00\x00\x00\x00\x00\x0dTXXX\x00\x00\x00\x00\x00\x00abc".to_vec();
        assert!(!frames_fit(&short));
        short[20] = 0;
        assert!(frames_fit(&short), "padding is fine");
        // E-AC-3 with an AC-3 core: the two alternate.
        let ac3 = {
            let mut f = vec![0u8; 768];
            f[..6].copy_from_slice(&[0x0b, 0x77, 0, 0, 20, 8 << 3]);
            f
        };
        let eac3 = {
            let mut f = vec![0u8; 768];
            f[..6].copy_from_slice(&[0x0b, 0x77, 0x01, 0x7f, 0, 16 << 3]);
            f
        };
        let p = read(&[ac3, eac3.clone()].concat()).unwrap().unwrap();
        assert_eq!(p.frames, 2);
        // Cut inside a frame header.
        let e = read(&[tag(0), adts(50), adts(50)[..4].to_vec()].concat())
            .unwrap()
            .unwrap_err();
        assert!(
            e.contains("truncated: 4 bytes after the last ADTS frame"),
            "{e}"
        );
    }
}
