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
}
