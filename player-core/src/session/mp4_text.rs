//! Subtitles carried in fragmented MP4 (ISO/IEC 14496-30), as DASH packagers write them:
//! `wvtt` (each sample holds `vttc` cue boxes, their text in `payl`, or an empty `vtte`) and
//! `stpp` (each sample is a whole TTML document, timed on the track's media timeline). The init
//! segment gives the sample entry and the `mdhd` timescale (and `trex` defaults); each media
//! segment's `moof`s give the sample times (`tfdt`, `trun` durations and composition offsets,
//! `tfhd` defaults) and sizes, cutting the `mdat` that follows each. Times are placed by the
//! segment's start in the manifest (the first sample's decode time is the segment's start), as
//! dash.js does, so a presentation time offset or a packager's odd `tfdt` base does not move
//! the cues off the picture.

use mp4_atom::{Atom, Codec, Decode, DecodeMaybe, FourCC, Header, Moof, Moov};

use super::subtitles::Cue;
use super::ttml::parse_ttml;

/// Which kind of MP4 text track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mp4TextKind {
    /// WebVTT in MP4.
    Wvtt,
    /// TTML in MP4 (IMSC 1 among it).
    Stpp,
}

/// A text fragment of more samples than this is refused (a count is only a number; each
/// sample is an allocation).
const MAX_SAMPLES: usize = 65_536;

/// What the init segment says about the text track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mp4TextInit {
    /// The sample entry.
    pub kind: Mp4TextKind,
    /// Ticks per second of the track's times.
    pub timescale: u32,
    /// The track's id, to find its fragments.
    track_id: u32,
    /// `trex` defaults, for fragments that give neither per-sample nor `tfhd` values.
    default_duration: Option<u32>,
    default_size: Option<u32>,
}

/// A box in a byte string: its kind, the whole box, its body.
type BoxAt<'a> = (FourCC, &'a [u8], &'a [u8]);

/// The top-level boxes of `bytes`.
fn boxes(bytes: &[u8]) -> Result<Vec<BoxAt<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let mut buf = rest;
        let header = Header::decode_maybe(&mut buf)
            .map_err(|e| format!("not an MP4 box structure: {e}"))?
            .ok_or("not an MP4 box structure: a box header is cut short")?;
        let header_len = rest.len() - buf.len();
        let body_len = header.size.unwrap_or(buf.len());
        if body_len > buf.len() {
            return Err(format!(
                "not an MP4 box structure: the {} box runs {} bytes past the end",
                header.kind,
                body_len - buf.len()
            ));
        }
        out.push((
            header.kind,
            &rest[..header_len + body_len],
            &buf[..body_len],
        ));
        rest = &rest[header_len + body_len..];
    }
    Ok(out)
}

/// Decodes a whole box (header included).
fn decode_atom<T: Atom>(whole: &[u8]) -> Result<T, String> {
    T::decode(&mut &whole[..]).map_err(|e| format!("a broken {} box: {e}", T::KIND))
}

/// Reads a text track's init segment.
pub fn parse_init(bytes: &[u8]) -> Result<Mp4TextInit, String> {
    let moov = boxes(bytes)?
        .into_iter()
        .find(|(kind, _, _)| *kind == Moov::KIND)
        .ok_or("the init segment has no moov box")?;
    let moov: Moov = decode_atom(moov.1)?;
    let trak = moov.trak.first().ok_or("the init segment has no track")?;
    let timescale = trak.mdia.mdhd.timescale;
    if timescale == 0 {
        return Err("the text track's timescale is 0".into());
    }
    let kind = trak
        .mdia
        .minf
        .stbl
        .stsd
        .codecs
        .iter()
        .find_map(|c| match c {
            Codec::Wvtt(_) => Some(Ok(Mp4TextKind::Wvtt)),
            Codec::Unknown(kind, _) if *kind == FourCC::new(b"stpp") => Some(Ok(Mp4TextKind::Stpp)),
            Codec::Unknown(kind, _) => Some(Err(format!(
                "the text track's samples are {kind}, not wvtt or stpp"
            ))),
            _ => None,
        })
        .ok_or("the text track's samples are neither wvtt nor stpp")??;
    let trex = moov.mvex.as_ref().and_then(|m| {
        m.trex
            .iter()
            .find(|t| t.track_id == trak.tkhd.track_id)
            .or(m.trex.first())
    });
    Ok(Mp4TextInit {
        kind,
        timescale,
        track_id: trak.tkhd.track_id,
        default_duration: trex.map(|t| t.default_sample_duration).filter(|d| *d > 0),
        default_size: trex.map(|t| t.default_sample_size).filter(|s| *s > 0),
    })
}

/// One sample: its bytes and its presentation interval in media seconds.
struct Sample<'a> {
    bytes: &'a [u8],
    start_s: f64,
    end_s: f64,
    /// Its decode time, seconds (the first sample's places the segment).
    decode_s: f64,
}

/// The samples of a media segment, in order.
fn samples<'a>(init: &Mp4TextInit, bytes: &'a [u8]) -> Result<Vec<Sample<'a>>, String> {
    let ts = f64::from(init.timescale);
    let mut out = Vec::new();
    let mut moof: Option<(usize, Moof)> = None;
    let mut next_decode: u64 = 0;
    // Where a box starts in `bytes`.
    let at = |slice: &[u8]| slice.as_ptr() as usize - bytes.as_ptr() as usize;
    for (kind, whole, body) in boxes(bytes)? {
        if kind == Moof::KIND {
            moof = Some((at(whole), decode_atom(whole)?));
            continue;
        }
        if kind != FourCC::new(b"mdat") {
            continue;
        }
        let Some((moof_at, fragment)) = moof.take() else {
            return Err("an mdat box with no moof before it".into());
        };
        // The text track's fragment (a segment may carry others).
        let Some(traf) = fragment
            .traf
            .iter()
            .find(|t| t.tfhd.track_id == init.track_id)
            .or(fragment.traf.first())
        else {
            continue;
        };
        if let Some(tfdt) = &traf.tfdt {
            next_decode = tfdt.base_media_decode_time;
        }
        let default_duration = traf.tfhd.default_sample_duration.or(init.default_duration);
        let default_size = traf.tfhd.default_sample_size.or(init.default_size);
        let count: usize = traf.trun.iter().map(|t| t.samples.len()).sum();
        // Every sample takes a byte at least, or a tick: a count past that is a lie that
        // would cost memory, not text.
        if count > MAX_SAMPLES {
            return Err(format!("a text fragment of over {MAX_SAMPLES} samples"));
        }
        let (mdat_start, mdat_end) = (at(body), at(body) + body.len());
        let mut cursor = mdat_start;
        for trun in &traf.trun {
            if let Some(offset) = trun.data_offset {
                // Counted from the moof (`default-base-is-moof`, as CMAF writes it).
                cursor = usize::try_from(moof_at as i64 + i64::from(offset))
                    .ok()
                    .filter(|c| (mdat_start..=mdat_end).contains(c))
                    .ok_or("a text run's data offset points outside its mdat")?;
            }
            for entry in trun.samples.iter() {
                let duration = entry
                    .duration
                    .or(default_duration)
                    .ok_or("a text sample with no duration")?;
                let size = match entry.size.or(default_size) {
                    Some(s) => s as usize,
                    // One sample and no size: the rest of the mdat.
                    None if count == 1 => mdat_end - cursor,
                    None => return Err("text samples with no sizes".into()),
                };
                if size > mdat_end - cursor {
                    return Err("the text samples' sizes run past their mdat".into());
                }
                let sample = &bytes[cursor..cursor + size];
                cursor += size;
                let start = next_decode as f64 + entry.cts.unwrap_or(0) as f64;
                out.push(Sample {
                    bytes: sample,
                    start_s: start / ts,
                    end_s: (start + f64::from(duration)) / ts,
                    decode_s: next_decode as f64 / ts,
                });
                next_decode = next_decode.saturating_add(u64::from(duration));
            }
        }
    }
    Ok(out)
}

/// The cues of one `wvtt` sample between `start_s` and `end_s`: one per `vttc` box (an empty
/// `vtte` sample has none).
fn wvtt_cues(sample: &[u8], start_s: f64, end_s: f64) -> Result<Vec<Cue>, String> {
    let mut cues = Vec::new();
    for (kind, _, body) in boxes(sample)? {
        if kind != FourCC::new(b"vttc") {
            continue;
        }
        let text = boxes(body)?
            .into_iter()
            .find(|(k, _, _)| *k == FourCC::new(b"payl"))
            .map(|(_, _, payload)| {
                std::str::from_utf8(payload)
                    .map(|t| t.trim_end_matches(['\0', '\n', '\r']).to_owned())
                    .map_err(|_| "a wvtt cue that is not UTF-8".to_string())
            })
            .transpose()?
            .unwrap_or_default();
        if !text.trim().is_empty() {
            cues.push(Cue {
                start_s,
                end_s,
                text: text.replace("\r\n", "\n"),
            });
        }
    }
    Ok(cues)
}

/// The cues of a media segment starting at `segment_start_s` on the presentation timeline.
pub fn parse_segment(
    init: &Mp4TextInit,
    bytes: &[u8],
    segment_start_s: f64,
) -> Result<Vec<Cue>, String> {
    let samples = samples(init, bytes)?;
    let Some(first) = samples.first() else {
        return Ok(Vec::new());
    };
    let offset_s = segment_start_s - first.decode_s;
    let mut cues = Vec::new();
    for sample in &samples {
        let (start_s, end_s) = (sample.start_s + offset_s, sample.end_s + offset_s);
        match init.kind {
            Mp4TextKind::Wvtt => cues.extend(wvtt_cues(sample.bytes, start_s, end_s)?),
            Mp4TextKind::Stpp => {
                // A document's times are on the track's media timeline; each is shown within
                // its sample only (a cue without an end would cover the next documents').
                let doc = trim_padding(sample.bytes);
                if doc.is_empty() {
                    continue;
                }
                for mut cue in parse_ttml(doc)? {
                    cue.start_s = (cue.start_s + offset_s).max(start_s);
                    cue.end_s = (cue.end_s + offset_s).min(end_s);
                    if cue.start_s < cue.end_s {
                        cues.push(cue);
                    }
                }
            }
        }
    }
    // A cue spanning samples is written once in each: kept as one.
    let mut merged: Vec<Cue> = Vec::new();
    for cue in cues {
        match merged
            .iter_mut()
            .rev()
            .find(|m| m.text == cue.text && (m.end_s - cue.start_s).abs() < 1e-6)
        {
            Some(m) => m.end_s = cue.end_s,
            None => merged.push(cue),
        }
    }
    Ok(merged)
}

/// A document with the NULs and whitespace some packagers pad samples with removed.
fn trim_padding(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, 0 | b' ' | b'\n' | b'\r' | b'\t'))
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A box: size, kind, body.
    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    fn full(kind: &[u8; 4], version_flags: u32, body: &[u8]) -> Vec<u8> {
        let mut b = version_flags.to_be_bytes().to_vec();
        b.extend_from_slice(body);
        bx(kind, &b)
    }

    /// A moof + mdat with `samples` (duration in ticks, bytes), decode time `base`.
    fn fragment(base: u64, samples: &[(u32, Vec<u8>)]) -> Vec<u8> {
        let tfhd = full(b"tfhd", 0x02_0000, &1u32.to_be_bytes());
        let tfdt = full(b"tfdt", 0x0100_0000, &base.to_be_bytes());
        let mut trun = (samples.len() as u32).to_be_bytes().to_vec();
        for (duration, bytes) in samples {
            trun.extend_from_slice(&duration.to_be_bytes());
            trun.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        }
        let trun = full(b"trun", 0x000300, &trun);
        let traf = bx(b"traf", &[tfhd, tfdt, trun].concat());
        let mfhd = full(b"mfhd", 0, &1u32.to_be_bytes());
        let moof = bx(b"moof", &[mfhd, traf].concat());
        let data: Vec<u8> = samples.iter().flat_map(|(_, b)| b.clone()).collect();
        [moof, bx(b"mdat", &data)].concat()
    }

    fn cue_box(text: &str) -> Vec<u8> {
        bx(b"vttc", &bx(b"payl", text.as_bytes()))
    }

    fn cue(start_s: f64, end_s: f64, text: &str) -> Cue {
        Cue {
            start_s,
            end_s,
            text: text.into(),
        }
    }

    const WVTT: Mp4TextInit = Mp4TextInit {
        kind: Mp4TextKind::Wvtt,
        timescale: 1000,
        track_id: 1,
        default_duration: None,
        default_size: None,
    };

    #[test]
    fn wvtt_samples_are_cues_placed_by_the_segment_start() {
        // Decode times from 100 s on the media timeline; the manifest places the segment at 4 s.
        let segment = fragment(
            100_000,
            &[
                (1500, cue_box("<i>one</i>")),
                (500, bx(b"vtte", &[])),
                (1500, [cue_box("two"), cue_box("deux")].concat()),
                (500, bx(b"vtte", &[])),
            ],
        );
        assert_eq!(
            parse_segment(&WVTT, &segment, 4.0).unwrap(),
            [
                cue(4.0, 5.5, "<i>one</i>"),
                cue(6.0, 7.5, "two"),
                cue(6.0, 7.5, "deux")
            ]
        );
        // A cue written again in the next sample is one cue.
        let split = fragment(0, &[(1000, cue_box("long")), (1000, cue_box("long"))]);
        assert_eq!(
            parse_segment(&WVTT, &split, 0.0).unwrap(),
            [cue(0.0, 2.0, "long")]
        );
    }

    #[test]
    fn stpp_documents_are_clipped_to_their_samples() {
        let init = Mp4TextInit {
            kind: Mp4TextKind::Stpp,
            ..WVTT
        };
        let doc = |body: &str| {
            format!(r#"<tt xmlns="http://www.w3.org/ns/ttml"><body><div>{body}</div></body></tt>"#)
                .into_bytes()
        };
        let mut padded = doc(r#"<p begin="10s">open ended</p>"#);
        padded.extend_from_slice(b"\0\0\n");
        let segment = fragment(
            8_000,
            &[
                (2000, doc(r#"<p begin="8.5s" end="9.5s">a</p>"#)),
                (2000, padded),
            ],
        );
        assert_eq!(
            parse_segment(&init, &segment, 8.0).unwrap(),
            [cue(8.5, 9.5, "a"), cue(10.0, 12.0, "open ended")]
        );
    }

    #[test]
    fn broken_segments_fail_in_one_line() {
        let good = fragment(0, &[(1000, cue_box("x"))]);
        for (bytes, error) in [
            (good[..good.len() - 3].to_vec(), "runs 3 bytes past the end"),
            (bx(b"mdat", b"xx"), "an mdat box with no moof before it"),
            (b"WEBVTT\n".to_vec(), "not an MP4 box structure"),
        ] {
            let e = parse_segment(&WVTT, &bytes, 0.0).unwrap_err();
            assert!(e.contains(error), "{e}");
        }
        // A sample count that would cost gigabytes, with a default size of 0.
        let tfhd = full(
            b"tfhd",
            0x02_0018,
            &[1u32, 1, 0].map(u32::to_be_bytes).concat(),
        );
        let trun = full(b"trun", 0, &u32::MAX.to_be_bytes());
        let traf = bx(b"traf", &[tfhd, trun].concat());
        let moof = bx(
            b"moof",
            &[full(b"mfhd", 0, &1u32.to_be_bytes()), traf].concat(),
        );
        let lie = [moof, bx(b"mdat", &[])].concat();
        let e = parse_segment(&WVTT, &lie, 0.0).unwrap_err();
        assert!(e.contains("over 65536 samples"), "{e}");
        // No moov in the init segment.
        assert!(
            parse_init(&bx(b"ftyp", b"iso6"))
                .unwrap_err()
                .contains("no moov")
        );
        // An empty segment has no cues.
        assert_eq!(parse_segment(&WVTT, &[], 0.0).unwrap(), []);
    }
}
