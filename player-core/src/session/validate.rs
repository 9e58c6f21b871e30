//! Segment validation: a downloaded media segment is checked before it reaches the decoder.

use super::packed_audio::{self, PackedAudio};

/// What a downloaded segment turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaFormat {
    /// ISO-BMFF boxes (an fMP4 init or media segment).
    Mp4,
    /// MPEG-TS packets.
    MpegTs,
    /// A WebVTT document.
    WebVtt,
    /// Matroska/WebM elements (a WebM init segment or clusters).
    WebM,
    /// Packed audio: raw audio frames after an optional ID3 tag.
    PackedAudio(PackedAudio),
}

/// Checks that a downloaded media segment looks like what it claims to be, so garbage never
/// reaches the decoder: ISO-BMFF boxes that add up exactly, MPEG-TS packets, or packed audio
/// frames that fill the segment.
pub fn validate_media(data: &[u8]) -> Result<MediaFormat, String> {
    if data.is_empty() {
        return Err("empty segment".into());
    }
    if data[0] == 0x47 {
        let ok = data.len() >= 188 && data.chunks(188).all(|p| p[0] == 0x47);
        return if ok {
            Ok(MediaFormat::MpegTs)
        } else {
            Err("broken MPEG-TS packets".into())
        };
    }
    if data.starts_with(b"WEBVTT") {
        return Ok(MediaFormat::WebVtt);
    }
    if data.starts_with(&EBML_HEADER_ID) || data.starts_with(&CLUSTER_ID) {
        return webm_elements(data).map(|()| MediaFormat::WebM);
    }
    if let Some(packed) = packed_audio::read(data) {
        return packed.map(MediaFormat::PackedAudio);
    }
    let mut rest = data;
    let mut boxes = 0;
    while !rest.is_empty() {
        if rest.len() < 8 {
            return Err(format!("{} stray bytes after the last box", rest.len()));
        }
        let size32 = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as u64;
        let kind = &rest[4..8];
        if !kind.iter().all(|c| c.is_ascii_alphanumeric() || *c == b' ') {
            return Err("not an MP4 box structure (garbage data)".into());
        }
        let size = match size32 {
            1 if rest.len() >= 16 => u64::from_be_bytes(rest[8..16].try_into().expect("8 bytes")),
            0 => rest.len() as u64,
            n => n,
        };
        if size < 8 || size > rest.len() as u64 {
            return Err(format!(
                "truncated: box '{}' claims {size} bytes, {} left",
                String::from_utf8_lossy(kind),
                rest.len()
            ));
        }
        rest = &rest[size as usize..];
        boxes += 1;
    }
    if boxes == 0 {
        return Err("no MP4 box".into());
    }
    Ok(MediaFormat::Mp4)
}

/// The EBML header's ID: a WebM init segment starts with it.
const EBML_HEADER_ID: [u8; 4] = [0x1A, 0x45, 0xDF, 0xA3];
/// A Matroska `Cluster`'s ID: a WebM media segment (DASH SegmentBase subsegment) starts with it.
const CLUSTER_ID: [u8; 4] = [0x1F, 0x43, 0xB6, 0x75];

/// Checks that top-level EBML elements fill the data exactly, as MP4 boxes do above. An init
/// segment ends inside its Matroska `Segment` (its clusters come later), which is allowed for
/// the `Segment` alone; an element of unknown size (live WebM) runs to the end.
fn webm_elements(data: &[u8]) -> Result<(), String> {
    use ebml_iterable::tools::read_vint;
    const SEGMENT_ID: [u8; 4] = [0x18, 0x53, 0x80, 0x67];
    let mut rest = data;
    while !rest.is_empty() {
        let garbage = || "not a WebM element structure (garbage data)".to_string();
        let id_len = match read_vint(rest) {
            Ok(Some((_, len))) if len <= 4 => len,
            _ => return Err(garbage()),
        };
        let (size, size_len) = match read_vint(&rest[id_len..]) {
            Ok(Some(size)) => size,
            Ok(None) => {
                return Err(format!(
                    "truncated: a WebM element's header is cut after {} bytes",
                    rest.len()
                ));
            }
            Err(_) => return Err(garbage()),
        };
        let header = (id_len + size_len) as u64;
        let unknown = size == (1u64 << (7 * size_len)) - 1;
        let is_segment = rest.starts_with(&SEGMENT_ID);
        if unknown || is_segment {
            return Ok(());
        }
        let total = header.saturating_add(size);
        if total > rest.len() as u64 {
            return Err(format!(
                "truncated: a WebM element claims {total} bytes, {} left",
                rest.len()
            ));
        }
        rest = &rest[total as usize..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_validation_catches_garbage_and_truncation() {
        let mut good = Vec::new();
        good.extend_from_slice(&16u32.to_be_bytes());
        good.extend_from_slice(b"moof");
        good.extend_from_slice(&[0; 8]);
        good.extend_from_slice(&8u32.to_be_bytes());
        good.extend_from_slice(b"mdat");
        assert!(validate_media(&good).is_ok());
        assert_eq!(
            validate_media(&good[..20]).unwrap_err(),
            "4 stray bytes after the last box"
        );
        let e = validate_media(&good[..12]).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        let e = validate_media(&[0x13; 400]).unwrap_err();
        assert!(e.contains("garbage"), "{e}");
        assert!(validate_media(&[0x47; 376]).is_ok());
        assert_eq!(validate_media(b"").unwrap_err(), "empty segment");
    }

    #[test]
    fn webm_clusters_must_fill_the_segment() {
        // A cluster: ID, a one-byte size (0x80 | 6), a timestamp element (E7 84 + 4 bytes).
        let cluster = [0x1F, 0x43, 0xB6, 0x75, 0x86, 0xE7, 0x84, 0, 0, 0x07, 0xD0];
        assert_eq!(validate_media(&cluster), Ok(MediaFormat::WebM));
        let two = [cluster, cluster].concat();
        assert_eq!(validate_media(&two), Ok(MediaFormat::WebM));
        let e = validate_media(&two[..17]).unwrap_err();
        assert_eq!(e, "truncated: a WebM element claims 11 bytes, 6 left");
        let e = validate_media(&[&cluster[..], &[0x00, 0x13]].concat()).unwrap_err();
        assert!(e.contains("garbage"), "{e}");
        // An init segment ends inside its Segment.
        let init = [
            &[0x1A, 0x45, 0xDF, 0xA3, 0x80][..],
            &[0x18, 0x53, 0x80, 0x67, 0x01, 0, 0, 0, 0, 0, 0x40, 0],
        ]
        .concat();
        assert_eq!(validate_media(&init), Ok(MediaFormat::WebM));
    }
}
