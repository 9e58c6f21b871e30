//! Subtitle tracks: SRT or WebVTT files read with subtp and written as WebVTT, whole (the DASH
//! sidecar) and cut into segments for HLS, each with the `X-TIMESTAMP-MAP` header that ties its
//! cue times to the media timeline; and the synthetic title's own tracks.

use std::path::{Path, PathBuf};

use subtp::srt::{SrtTimestamp, SubRip};
use subtp::vtt::{VttBlock, VttCue, VttDescription, VttHeader, VttTimestamp, VttTimings, WebVtt};

use super::{EncodeError, io_err};
use crate::title::{ByteRange, Segment, SubtitleTrack, TitleMeta};

/// The header line every HLS WebVTT segment carries: cue time 0 is media time 0 (the title's
/// CMAF timeline starts at 0), in the 90 kHz units RFC 8216 §3.5 counts in.
const TIMESTAMP_MAP: &str = "X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000";

/// A subtitle file to package, from `--subtitles LANG[:NAME]=FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubtitleInput {
    /// BCP 47 language tag (`en`, `pt-BR`).
    pub language: String,
    /// What menus call it (`English`); the language tag unless given.
    pub name: String,
    /// An `.srt` or `.vtt` file.
    pub path: PathBuf,
}

impl SubtitleInput {
    /// Parses a comma-separated list of `LANG[:NAME]=FILE` (`en:English=a.vtt,fr=b.srt`).
    pub fn parse_list(spec: &str) -> Result<Vec<SubtitleInput>, EncodeError> {
        Ok(parse_labelled(spec, "subtitles", "en=a.vtt")?
            .into_iter()
            .map(|(language, name, path)| SubtitleInput {
                language,
                name,
                path,
            })
            .collect())
    }
}

/// A comma-separated list of `LANG[:NAME]=FILE` as (language, name, file); the name is the
/// language unless given. `what` and `example` go in the error (`subtitles`, `en=a.vtt`).
pub(crate) fn parse_labelled(
    spec: &str,
    what: &str,
    example: &str,
) -> Result<Vec<(String, String, PathBuf)>, EncodeError> {
    spec.split(',')
        .filter(|item| !item.trim().is_empty())
        .map(|item| {
            let (label, path) = item.split_once('=').ok_or_else(|| {
                EncodeError::Options(format!(
                    "{what} {item:?}: expected LANG=FILE, as in {example}"
                ))
            })?;
            let (language, name) = label.split_once(':').unwrap_or((label, label));
            let language = language.trim();
            check_language(language)?;
            Ok((
                language.to_string(),
                name.trim().to_string(),
                PathBuf::from(path.trim()),
            ))
        })
        .collect()
}

/// A well-formed BCP 47 (RFC 5646) language tag, as HLS `LANGUAGE` and DASH `@lang` need.
pub(crate) fn check_language(language: &str) -> Result<(), EncodeError> {
    oxilangtag::LanguageTag::parse(language)
        .map(|_| ())
        .map_err(|e| {
            EncodeError::Options(format!(
                "subtitle language {language:?} is not a language tag such as en or pt-BR: {e}"
            ))
        })
}

/// Reads an input's cues, in time order. An SRT file is converted: its timings and text carry
/// over; WebVTT cue settings and identifiers are kept as written.
pub fn read(input: &SubtitleInput) -> Result<Vec<VttCue>, EncodeError> {
    let path = input.path.display();
    let text = std::fs::read_to_string(&input.path).map_err(io_err(format!("reading {path}")))?;
    let text = lenient(&text);
    let text = text.as_str();
    let extension = input
        .path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let mut cues: Vec<VttCue> = match extension.as_deref() {
        Some("srt") => SubRip::parse(text)
            .map_err(|e| EncodeError::Options(format!("subtitles {path}: not SubRip: {e}")))?
            .subtitles
            .into_iter()
            .map(|s| VttCue {
                timings: VttTimings {
                    start: from_srt(s.start),
                    end: from_srt(s.end),
                },
                payload: s.text.iter().map(|line| srt_text(line)).collect(),
                ..VttCue::default()
            })
            .collect(),
        Some("vtt") => WebVtt::parse(text)
            .map_err(|e| EncodeError::Options(format!("subtitles {path}: not WebVTT: {e}")))?
            .blocks
            .into_iter()
            .filter_map(|b| match b {
                VttBlock::Que(mut cue) => {
                    cue.timings.start = from_millis(millis(cue.timings.start));
                    cue.timings.end = from_millis(millis(cue.timings.end));
                    Some(cue)
                }
                _ => None,
            })
            .collect(),
        _ => {
            return Err(EncodeError::Options(format!(
                "subtitles {path}: neither .srt nor .vtt"
            )));
        }
    };
    if cues.is_empty() {
        return Err(EncodeError::Options(format!("subtitles {path}: no cues")));
    }
    if let Some(c) = cues
        .iter()
        .find(|c| millis(c.timings.end) < millis(c.timings.start))
    {
        return Err(EncodeError::Options(format!(
            "subtitles {path}: a cue ends before it starts ({})",
            c.timings
        )));
    }
    cues.sort_by_key(|c| c.timings.start);
    Ok(cues)
}

/// What other tools write and the strict parser would refuse for no good reason: a byte order
/// mark, CRLF, blank lines holding spaces, no newline at the end.
fn lenient(text: &str) -> String {
    let mut out: String = text
        .trim_start_matches('\u{feff}')
        .lines()
        .map(|l| if l.trim().is_empty() { "" } else { l })
        .collect::<Vec<_>>()
        .join("\n");
    out.push_str("\n\n");
    out
}

/// One SRT text line as WebVTT: its `<i>`, `<b>` and `<u>` kept; `<font>` tags and `{\…}`
/// overrides dropped; any other `<`, any `&` and a `-->` (which would end the cue) escaped.
fn srt_text(line: &str) -> String {
    const KEPT: [&str; 6] = ["<i>", "</i>", "<b>", "</b>", "<u>", "</u>"];
    let mut out = String::new();
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        let lower = rest.to_ascii_lowercase();
        if let Some(tag) = KEPT.iter().find(|t| lower.starts_with(*t)) {
            out.push_str(tag);
            rest = &rest[tag.len()..];
        } else if (lower.starts_with("<font") || lower.starts_with("</font"))
            && let Some(end) = rest.find('>')
        {
            rest = &rest[end + 1..];
        } else if rest.starts_with("{\\")
            && let Some(end) = rest.find('}')
        {
            rest = &rest[end + 1..];
        } else if rest.starts_with("-->") {
            out.push_str("--&gt;");
            rest = &rest[3..];
        } else {
            match c {
                '<' => out.push_str("&lt;"),
                '&' => out.push_str("&amp;"),
                _ => out.push(c),
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn from_srt(t: SrtTimestamp) -> VttTimestamp {
    from_millis(
        u64::from(t.hours) * 3_600_000
            + u64::from(t.minutes) * 60_000
            + u64::from(t.seconds) * 1000
            + u64::from(t.milliseconds),
    )
}

/// A timestamp in milliseconds (fields past their range, as `00:00:75,000`, carried over).
fn millis(t: VttTimestamp) -> u64 {
    u64::from(t.hours) * 3_600_000
        + u64::from(t.minutes) * 60_000
        + u64::from(t.seconds) * 1000
        + u64::from(t.milliseconds)
}

/// A timestamp with every field in its range.
fn from_millis(ms: u64) -> VttTimestamp {
    std::time::Duration::from_millis(ms).into()
}

fn seconds(t: VttTimestamp) -> f64 {
    millis(t) as f64 / 1000.0
}

fn timestamp(s: f64) -> VttTimestamp {
    from_millis((s.max(0.0) * 1000.0).round() as u64)
}

/// The synthetic title's subtitle tracks: (language, name) of each.
pub const SYNTHETIC: [(&str, &str); 2] = [("en", "English"), ("fr", "Français")];

/// The synthetic title's subtitles in `language` (`en` or `fr`): a cue of 1.5 s every 2 s
/// naming the second it starts at, so a test can tell which cue is on screen.
pub fn synthetic(language: &str, duration_s: f64) -> Vec<VttCue> {
    let word = if language == "fr" {
        "Seconde"
    } else {
        "Second"
    };
    (0..)
        .map(|i| f64::from(i) * 2.0)
        .take_while(|start| *start < duration_s)
        .map(|start| VttCue {
            timings: VttTimings {
                start: timestamp(start),
                end: timestamp((start + 1.5).min(duration_s)),
            },
            payload: vec![format!("{word} {start}")],
            ..VttCue::default()
        })
        .collect()
}

/// Where a title's subtitle segments start and end: where its video segments do (so a player
/// fetches them alike), the last one running to the end of the title; without video, every
/// `segment_duration_s`.
pub fn spans(title: &TitleMeta) -> Vec<(f64, f64)> {
    let mut spans: Vec<(f64, f64)> = match title.video.first() {
        Some(v) => v
            .segments
            .iter()
            .map(|s| (s.start_s, s.start_s + s.duration_s))
            .collect(),
        None => {
            let step = title.segment_duration_s.max(1.0);
            let count = (title.duration_s / step).ceil().max(1.0) as usize;
            (0..count)
                .map(|i| {
                    (
                        i as f64 * step,
                        ((i + 1) as f64 * step).min(title.duration_s),
                    )
                })
                .collect()
        }
    };
    if let Some(last) = spans.last_mut() {
        last.1 = last.1.max(title.duration_s);
    }
    spans
}

/// Writes one track into `dir`: the whole file (`ID.vtt`) and one WebVTT segment per span
/// (`ID/seg_NNNNN.vtt`, the video's segments), each holding the cues that overlap it.
pub fn write_track(
    dir: &Path,
    language: &str,
    name: &str,
    cues: &[VttCue],
    spans: &[(f64, f64)],
) -> Result<SubtitleTrack, EncodeError> {
    let mut track = SubtitleTrack {
        id: format!("subtitles_{language}"),
        language: language.to_string(),
        name: name.to_string(),
        segments: Vec::new(),
    };
    let document = |header: VttHeader, cues: Vec<VttCue>| {
        WebVtt {
            header,
            blocks: cues.into_iter().map(VttBlock::Que).collect(),
        }
        .render()
    };
    let whole = document(VttHeader::default(), cues.to_vec());
    let sidecar = dir.join(track.sidecar_file());
    std::fs::write(&sidecar, whole).map_err(io_err(format!("writing {}", sidecar.display())))?;
    std::fs::create_dir_all(dir.join(&track.id)).map_err(io_err(format!(
        "creating {}",
        dir.join(&track.id).display()
    )))?;
    for (i, &(start_s, end_s)) in spans.iter().enumerate() {
        let overlapping: Vec<VttCue> = cues
            .iter()
            .filter(|c| seconds(c.timings.start) < end_s && seconds(c.timings.end) > start_s)
            .cloned()
            .collect();
        let header = VttHeader {
            description: Some(VttDescription::Below(TIMESTAMP_MAP.into())),
        };
        let text = document(header, overlapping);
        let path = dir.join(track.segment_path(i));
        std::fs::write(&path, &text).map_err(io_err(format!("writing {}", path.display())))?;
        track.segments.push(Segment {
            range: ByteRange {
                offset: 0,
                length: text.len() as u64,
            },
            start_s,
            duration_s: end_s - start_s,
        });
    }
    Ok(track)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(dir: &Path, name: &str, text: &str) -> SubtitleInput {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        SubtitleInput {
            language: "en".into(),
            name: "English".into(),
            path,
        }
    }

    fn cue_lines(cues: &[VttCue]) -> Vec<String> {
        cues.iter()
            .map(|c| format!("{} {}", c.timings, c.payload.join("|")))
            .collect()
    }

    #[test]
    fn a_list_of_lang_file_pairs_is_parsed_and_bad_tags_refused() {
        let list = SubtitleInput::parse_list("en:English=a.vtt, pt-BR=b.srt").unwrap();
        assert_eq!(list[0].name, "English");
        assert_eq!(list[1].name, "pt-BR");
        assert_eq!(list[1].language, "pt-BR");
        assert_eq!(list[1].path, PathBuf::from("b.srt"));
        let e = SubtitleInput::parse_list("a.vtt").unwrap_err().to_string();
        assert_eq!(e, "subtitles \"a.vtt\": expected LANG=FILE, as in en=a.vtt");
        for bad in ["e n=a.vtt", "en-=a.vtt", "en--US=a.vtt"] {
            let e = SubtitleInput::parse_list(bad).unwrap_err().to_string();
            assert!(e.contains("not a language tag"), "{bad}: {e}");
        }
    }

    #[test]
    fn srt_is_converted_and_webvtt_kept_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let srt = "\u{feff}2\r\n00:00:05,000 --> 00:00:06,500\r\nLater\r\n\r\n\
                   1\r\n00:00:01,000 --> 00:00:02,000\r\nHello,\r\nworld\r\n";
        let cues = read(&input(dir.path(), "a.srt", srt)).unwrap();
        assert_eq!(
            cue_lines(&cues),
            [
                "00:00:01.000 --> 00:00:02.000 Hello,|world",
                "00:00:05.000 --> 00:00:06.500 Later"
            ]
        );
        let vtt = "WEBVTT\n\nintro\n00:00:01.000 --> 00:00:02.000 align:start\n<i>Hi</i>\n";
        let cues = read(&input(dir.path(), "a.vtt", vtt)).unwrap();
        assert_eq!(cues[0].identifier.as_deref(), Some("intro"));
        assert!(cues[0].to_string().contains("align:start"), "{}", cues[0]);
        assert_eq!(cues[0].payload, ["<i>Hi</i>"]);
    }

    #[test]
    fn what_other_tools_write_is_read_and_made_valid_webvtt() {
        let dir = tempfile::tempdir().unwrap();
        // Spaces on the blank line, no newline at the end, seconds past 59, markup WebVTT
        // does not have, a bare '<' and '&', and an arrow that would end the cue.
        let srt = "1\n00:00:01,000 --> 00:00:75,500\n{\\an8}<font color=\"red\">I <3 R&D</font> <i>now</i>\n  \n\
                   2\n00:01:20,000 --> 00:01:21,000\nA --> B";
        let cues = read(&input(dir.path(), "odd.srt", srt)).unwrap();
        assert_eq!(
            cue_lines(&cues),
            [
                "00:00:01.000 --> 00:01:15.500 I &lt;3 R&amp;D <i>now</i>",
                "00:01:20.000 --> 00:01:21.000 A --&gt; B"
            ]
        );
    }

    #[test]
    fn unreadable_subtitles_fail_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let e = read(&input(dir.path(), "empty.vtt", "WEBVTT\n\n"))
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("empty.vtt: no cues"), "{e}");
        let e = read(&input(dir.path(), "bad.srt", "1\nnot a time\nHi\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.srt: not SubRip"), "{e}");
        let e = read(&input(dir.path(), "a.ass", "[Script Info]\n"))
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("a.ass: neither .srt nor .vtt"), "{e}");
        let missing = SubtitleInput {
            language: "en".into(),
            name: "en".into(),
            path: dir.path().join("missing.vtt"),
        };
        assert!(read(&missing).unwrap_err().to_string().contains("reading"));
    }

    #[test]
    fn a_track_is_written_whole_and_cut_into_timestamped_segments() {
        let dir = tempfile::tempdir().unwrap();
        let cues = [
            (0.0, 1.5, "first"),
            (3.5, 4.5, "across"),
            (12.5, 13.0, "last"),
        ]
        .map(|(start, end, text)| VttCue {
            timings: VttTimings {
                start: timestamp(start),
                end: timestamp(end),
            },
            payload: vec![text.to_string()],
            ..VttCue::default()
        });
        let spans = [(0.0, 4.0), (4.0, 8.0), (8.0, 12.0), (12.0, 14.0)];
        let track = write_track(dir.path(), "en", "English", &cues, &spans).unwrap();
        assert_eq!(track.id, "subtitles_en");
        let spans: Vec<(f64, f64)> = track
            .segments
            .iter()
            .map(|s| (s.start_s, s.duration_s))
            .collect();
        assert_eq!(spans, [(0.0, 4.0), (4.0, 4.0), (8.0, 4.0), (12.0, 2.0)]);
        let segment = |i: usize| {
            let text = std::fs::read_to_string(dir.path().join(track.segment_path(i))).unwrap();
            assert_eq!(text.len() as u64, track.segments[i].range.length);
            assert!(
                text.starts_with("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n"),
                "{text}"
            );
            let parsed = WebVtt::parse(&text).unwrap();
            parsed
                .blocks
                .iter()
                .map(|b| match b {
                    VttBlock::Que(c) => c.payload.join("|"),
                    _ => String::new(),
                })
                .collect::<Vec<_>>()
        };
        // A cue across a segment boundary is in both segments, at its own times.
        assert_eq!(segment(0), ["first", "across"]);
        assert_eq!(segment(1), ["across"]);
        // A segment without cues is still a WebVTT document.
        assert_eq!(segment(2), Vec::<String>::new());
        assert_eq!(segment(3), ["last"]);
        let whole = std::fs::read_to_string(dir.path().join("subtitles_en.vtt")).unwrap();
        assert!(whole.starts_with("WEBVTT\n\n"), "{whole}");
        assert_eq!(WebVtt::parse(&whole).unwrap().blocks.len(), 3);
    }

    #[test]
    fn the_synthetic_track_names_the_second_each_cue_starts_at() {
        let cues = synthetic("fr", 5.0);
        assert_eq!(
            cue_lines(&cues),
            [
                "00:00:00.000 --> 00:00:01.500 Seconde 0",
                "00:00:02.000 --> 00:00:03.500 Seconde 2",
                "00:00:04.000 --> 00:00:05.000 Seconde 4"
            ]
        );
    }
}
