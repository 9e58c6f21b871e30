//! Subtitles: the chosen text track's cues, fetched a little ahead of the playhead (HLS WebVTT
//! segments, or a DASH sidecar, WebVTT or TTML, which is one segment the title long), WebVTT
//! placed on the presentation timeline by `X-TIMESTAMP-MAP`, and the text on screen at the
//! playhead. Pure logic: the session fetches what [`Subtitles::next_fetch`] asks for and passes
//! the time in.

use subtp::vtt::{VttBlock, VttDescription, WebVtt};

use super::mp4_text::{self, Mp4TextInit, Mp4TextKind};
use crate::presentation::{Resource, Segment};

/// Seconds of subtitles fetched ahead of the playhead.
const AHEAD_S: f64 = 30.0;
/// A segment that failed this many times is skipped (the title plays on without it).
const MAX_TRIES: u32 = 3;
/// Seconds before a failed segment is asked for again.
const RETRY_S: f64 = 2.0;

/// One cue on the presentation timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    /// When it appears, seconds.
    pub start_s: f64,
    /// When it goes, seconds.
    pub end_s: f64,
    /// Its lines, as written (WebVTT tags such as `<i>` left in), joined by `\n`.
    pub text: String,
}

/// How a text track is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFormat {
    /// WebVTT documents (`text/vtt`).
    WebVtt,
    /// TTML documents, IMSC 1 among them (`application/ttml+xml`).
    Ttml,
    /// Fragmented MP4 segments after an init segment (`application/mp4`, `wvtt` or `stpp`).
    Mp4(Mp4TextKind),
}

impl TextFormat {
    /// The format of a track with this MIME type and codecs, or why it is not shown.
    pub fn of(mime_type: Option<&str>, codecs: Option<&str>) -> Result<TextFormat, String> {
        let mime = mime_type.unwrap_or_default().trim().to_ascii_lowercase();
        let codecs = codecs.unwrap_or_default().trim().to_ascii_lowercase();
        match mime.as_str() {
            "text/vtt" => Ok(TextFormat::WebVtt),
            "application/ttml+xml" => Ok(TextFormat::Ttml),
            "application/mp4" if codecs.starts_with("wvtt") => {
                Ok(TextFormat::Mp4(Mp4TextKind::Wvtt))
            }
            "application/mp4" if codecs.starts_with("stpp") => {
                Ok(TextFormat::Mp4(Mp4TextKind::Stpp))
            }
            "" => Err("a subtitle track with no MIME type is not read".into()),
            other if codecs.is_empty() => Err(format!("{other} subtitles are not read")),
            other => Err(format!("{other} ({codecs}) subtitles are not read")),
        }
    }
}

/// Where a segment of the track stands.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fetched {
    /// Not yet: failed `tries` times, asked for again from `retry_at_s`.
    No { tries: u32, retry_at_s: f64 },
    /// Its cues are in.
    Yes,
    /// Given up on.
    Skipped,
}

/// What to fetch next for the selected track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Its segment index (an HLS WebVTT media playlist).
    Index,
    /// Its segment `n`.
    Segment(usize),
}

/// The selected text track: its segments and which of them are in, its cues, the text on screen.
#[derive(Debug, Clone)]
pub struct Subtitles {
    /// The track, by index among the first period's tracks.
    pub track: usize,
    format: TextFormat,
    /// Its segments, once its index is in.
    segments: Option<Vec<Segment>>,
    index: Fetched,
    fetched: Vec<Fetched>,
    in_flight: bool,
    cues: Vec<Cue>,
    /// The first `X-TIMESTAMP-MAP` met (MPEGTS, LOCAL seconds): cue times count on the
    /// presentation timeline as that document maps them.
    origin: Option<(u64, f64)>,
    shown: Option<String>,
    /// The init segment read last (fragmented MP4 tracks), and where it came from.
    init: Option<(Resource, Mp4TextInit)>,
}

const NOT_YET: Fetched = Fetched::No {
    tries: 0,
    retry_at_s: 0.0,
};

impl Subtitles {
    /// Nothing fetched yet of `track`, written in `format`; `segments` when its index is known
    /// already (a DASH sidecar).
    pub fn new(track: usize, format: TextFormat, segments: Option<Vec<Segment>>) -> Self {
        let mut s = Subtitles {
            track,
            format,
            segments: None,
            index: NOT_YET,
            fetched: Vec::new(),
            in_flight: false,
            cues: Vec::new(),
            origin: None,
            shown: None,
            init: None,
        };
        if let Some(segments) = segments.filter(|s| !s.is_empty()) {
            s.indexed(segments);
        }
        s
    }

    /// What to fetch next for playhead `t` at session time `now_s`, when nothing is in flight:
    /// the index, then the first segment not yet in whose span meets the next [`AHEAD_S`].
    pub fn next_fetch(&mut self, t: f64, now_s: f64) -> Option<Next> {
        if self.in_flight {
            return None;
        }
        let due = |f: &Fetched| matches!(f, Fetched::No { retry_at_s, .. } if *retry_at_s <= now_s);
        let next = match &self.segments {
            None => due(&self.index).then_some(Next::Index)?,
            Some(segments) => {
                segments
                    .iter()
                    .zip(&self.fetched)
                    .enumerate()
                    .find_map(|(i, (s, f))| {
                        (due(f) && s.end_s() > t && s.start_s < t + AHEAD_S)
                            .then_some(Next::Segment(i))
                    })?
            }
        };
        self.in_flight = true;
        Some(next)
    }

    /// Segment `n`, as listed in the index.
    pub fn segment(&self, n: usize) -> Option<&Segment> {
        self.segments.as_ref()?.get(n)
    }

    /// The init segment to fetch before segment `n`, when its track needs one not read yet.
    pub fn init_needed(&self, n: usize) -> Option<Resource> {
        if !matches!(self.format, TextFormat::Mp4(_)) {
            return None;
        }
        let wanted = self.segment(n)?.init.as_ref()?;
        match &self.init {
            Some((read, _)) if read == wanted => None,
            _ => Some(wanted.clone()),
        }
    }

    /// The index came.
    pub fn indexed(&mut self, segments: Vec<Segment>) {
        self.in_flight = false;
        self.index = Fetched::Yes;
        self.fetched = vec![NOT_YET; segments.len()];
        self.segments = Some(segments);
    }

    /// The index failed at `now_s`: asked for again later, or given up on after [`MAX_TRIES`]
    /// (`true`: the track stays empty).
    pub fn index_failed(&mut self, now_s: f64) -> bool {
        self.in_flight = false;
        retry(&mut self.index, now_s)
    }

    /// Segment `n` came: its cues join the track's (a cue repeated in the next segment, as a
    /// packager writes one that spans the boundary, is kept once). Unreadable, it is skipped
    /// rather than asked for again: it would not read better.
    ///
    /// `init` is the init segment fetched before it, when [`Subtitles::init_needed`] asked.
    pub fn fetched(
        &mut self,
        n: usize,
        init: Option<(Resource, &[u8])>,
        body: &[u8],
    ) -> Result<(), String> {
        self.in_flight = false;
        if let Some((from, bytes)) = init {
            match mp4_text::parse_init(bytes) {
                Ok(read) => self.init = Some((from, read)),
                Err(e) => {
                    // Every segment after this init segment would fail the same way.
                    let segments = self.segments.as_deref().unwrap_or_default();
                    for (f, s) in self.fetched.iter_mut().zip(segments) {
                        if s.init.as_ref() == Some(&from) {
                            *f = Fetched::Skipped;
                        }
                    }
                    return Err(format!("init segment: {e}"));
                }
            }
        }
        let parsed = self.parse(n, body);
        if let Some(f) = self.fetched.get_mut(n) {
            *f = if parsed.is_ok() {
                Fetched::Yes
            } else {
                Fetched::Skipped
            };
        }
        for cue in parsed? {
            if !self.cues.contains(&cue) {
                self.cues.push(cue);
            }
        }
        self.cues.sort_by(|a, b| {
            a.start_s
                .total_cmp(&b.start_s)
                .then(a.end_s.total_cmp(&b.end_s))
        });
        Ok(())
    }

    /// The cues of segment `n`, as the track's format is read.
    fn parse(&mut self, n: usize, body: &[u8]) -> Result<Vec<Cue>, String> {
        match self.format {
            TextFormat::WebVtt => parse_webvtt(body, &mut self.origin),
            TextFormat::Ttml => super::ttml::parse_ttml(body),
            TextFormat::Mp4(_) => {
                let start_s = self.segment(n).map_or(0.0, |s| s.start_s);
                match &self.init {
                    Some((_, init)) => mp4_text::parse_segment(init, body, start_s),
                    None => Err("a fragmented MP4 segment with no init segment".into()),
                }
            }
        }
    }

    /// Segment `n` failed at `now_s`: asked for again later, or skipped after [`MAX_TRIES`]
    /// (`true`).
    pub fn failed(&mut self, n: usize, now_s: f64) -> bool {
        self.in_flight = false;
        self.fetched.get_mut(n).is_some_and(|f| retry(f, now_s))
    }

    /// Whether some text is on screen.
    pub fn showing(&self) -> bool {
        self.shown.is_some()
    }

    /// The text on screen at playhead `t` (the cues showing then, one per line), when it
    /// differs from what was last returned.
    pub fn changed_text(&mut self, t: f64) -> Option<Option<String>> {
        let lines: Vec<&str> = self
            .cues
            .iter()
            .filter(|c| c.start_s <= t && t < c.end_s)
            .map(|c| c.text.as_str())
            .collect();
        let text = (!lines.is_empty()).then(|| lines.join("\n"));
        if text == self.shown {
            return None;
        }
        self.shown = text.clone();
        Some(text)
    }
}

/// Counts a failure: `true` when that was the last try.
fn retry(f: &mut Fetched, now_s: f64) -> bool {
    let Fetched::No { tries, .. } = *f else {
        return false;
    };
    let tries = tries + 1;
    *f = if tries >= MAX_TRIES {
        Fetched::Skipped
    } else {
        Fetched::No {
            tries,
            retry_at_s: now_s + RETRY_S,
        }
    };
    tries >= MAX_TRIES
}

/// The cues of one WebVTT document on the presentation timeline. The document's
/// `X-TIMESTAMP-MAP` says which media time (`MPEGTS`, 90 kHz) its cue time `LOCAL` is; the
/// track's first map (`origin`, set here when unset) is taken to put cue times on the
/// presentation timeline, and a later map that says otherwise (a packager writing one pair per
/// segment, a discontinuity) shifts its cues by the difference, across the 33-bit rollover.
pub fn parse_webvtt(body: &[u8], origin: &mut Option<(u64, f64)>) -> Result<Vec<Cue>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "a WebVTT file that is not UTF-8")?;
    let mut text = text.trim_start_matches('\u{feff}').replace("\r\n", "\n");
    // A document may end right after its last line; the parser wants a blank line.
    if !text.ends_with("\n\n") {
        text.push_str(if text.ends_with('\n') { "\n" } else { "\n\n" });
    }
    let doc = WebVtt::parse(&text).map_err(|e| format!("not WebVTT: {e}"))?;
    let mut offset_s = 0.0;
    if let Some(VttDescription::Below(header)) = &doc.header.description
        && let Some(map) = header
            .lines()
            .find_map(|l| l.trim().strip_prefix("X-TIMESTAMP-MAP="))
    {
        let (mpegts, local_s) = timestamp_map(map)?;
        let (origin_mpegts, origin_local_s) = *origin.get_or_insert((mpegts, local_s));
        // The difference in 33-bit MPEG-TS ticks, as the nearer of the two ways round.
        const WRAP: i64 = 1 << 33;
        let ticks = (mpegts.wrapping_sub(origin_mpegts) % (WRAP as u64)) as i64;
        let ticks = if ticks >= WRAP / 2 {
            ticks - WRAP
        } else {
            ticks
        };
        offset_s = ticks as f64 / 90_000.0 - (local_s - origin_local_s);
    }
    let seconds = |t: subtp::vtt::VttTimestamp| {
        f64::from(t.hours) * 3600.0
            + f64::from(t.minutes) * 60.0
            + f64::from(t.seconds)
            + f64::from(t.milliseconds) / 1000.0
    };
    // To the millisecond, so that a cue repeated in the next segment compares equal.
    let ms = |s: f64| (s * 1000.0).round() / 1000.0;
    Ok(doc
        .blocks
        .into_iter()
        .filter_map(|b| match b {
            VttBlock::Que(c) => Some(Cue {
                start_s: ms(seconds(c.timings.start) + offset_s),
                end_s: ms(seconds(c.timings.end) + offset_s),
                text: c.payload.join("\n"),
            }),
            _ => None,
        })
        .filter(|c| c.end_s > c.start_s)
        .collect())
}

/// `MPEGTS:900000,LOCAL:00:00:00.000` → (900000, 0.0).
fn timestamp_map(value: &str) -> Result<(u64, f64), String> {
    let bad = || format!("a bad X-TIMESTAMP-MAP {value:?}");
    let mut mpegts = None;
    let mut local = None;
    for part in value.split(',') {
        match part.trim().split_once(':') {
            Some(("MPEGTS", v)) => mpegts = v.trim().parse::<u64>().ok(),
            Some(("LOCAL", v)) => local = cue_time(v.trim()),
            _ => {}
        }
    }
    Ok((mpegts.ok_or_else(bad)?, local.ok_or_else(bad)?))
}

/// A WebVTT timestamp (`hh:mm:ss.ttt` or `mm:ss.ttt`) in seconds.
fn cue_time(v: &str) -> Option<f64> {
    let fields: Vec<&str> = v.split(':').collect();
    let (h, m, s) = match fields.as_slice() {
        [h, m, s] => (h.parse::<f64>().ok()?, m.parse::<f64>().ok()?, *s),
        [m, s] => (0.0, m.parse::<f64>().ok()?, *s),
        _ => return None,
    };
    Some(h * 3600.0 + m * 60.0 + s.parse::<f64>().ok()?).filter(|t| t.is_finite() && *t >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presentation::Resource;

    fn segment(start_s: f64, duration_s: f64) -> Segment {
        let whole = Resource {
            uri: String::new(),
            range: None,
        };
        Segment::new(0, start_s, duration_s, whole)
    }

    const FIRST: &[u8] = b"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000\n\n\
        00:00:01.000 --> 00:00:02.500\nHello\n\n00:00:03.500 --> 00:00:04.500\n<i>across</i>\n";
    const SECOND: &[u8] =
        b"\xEF\xBB\xBFWEBVTT\r\nX-TIMESTAMP-MAP=LOCAL:00:00:00.000,MPEGTS:900000\r\n\r\n\
        00:00:03.500 --> 00:00:04.500\r\n<i>across</i>\r\n\r\n\
        00:00:04.000 --> 00:00:05.000\r\ntwo\r\nlines";

    #[test]
    fn cues_are_placed_by_the_timestamp_map_against_the_tracks_first() {
        let mut origin = None;
        let cues = parse_webvtt(FIRST, &mut origin).unwrap();
        assert_eq!(origin, Some((900_000, 0.0)));
        assert_eq!((cues[0].start_s, cues[0].end_s), (1.0, 2.5));
        assert_eq!(cues[1].text, "<i>across</i>");
        // A later document mapping cue time 0 to 10 s of media time.
        let later = b"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:1800000,LOCAL:00:00:00.000\n\n\
            00:00:01.000 --> 00:00:02.000\nlater\n";
        let cues = parse_webvtt(later, &mut origin).unwrap();
        assert_eq!((cues[0].start_s, cues[0].end_s), (11.0, 12.0));
        // A packager writing one map per segment, the first one fetched being the fourth
        // segment's: the same mapping, so cue times stay as written.
        let mut origin = None;
        let fourth = b"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:1980000,LOCAL:00:00:12.000\n\n\
            00:00:12.500 --> 00:00:13.000\nfourth\n";
        let cues = parse_webvtt(fourth, &mut origin).unwrap();
        assert_eq!((cues[0].start_s, cues[0].end_s), (12.5, 13.0));
        let first = b"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000\n\n\
            00:00:00.500 --> 00:00:01.000\nfirst\n";
        let cues = parse_webvtt(first, &mut origin).unwrap();
        assert_eq!((cues[0].start_s, cues[0].end_s), (0.5, 1.0));
        // Across the 33-bit rollover, 1 s later.
        let mut origin = None;
        let before = format!(
            "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{},LOCAL:00:00:00.000\n\n",
            (1u64 << 33) - 45_000
        );
        parse_webvtt(before.as_bytes(), &mut origin).unwrap();
        let after = b"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:45000,LOCAL:00:00:00.000\n\n\
            00:00:02.000 --> 00:00:03.000\nwrapped\n";
        let cues = parse_webvtt(after, &mut origin).unwrap();
        assert_eq!((cues[0].start_s, cues[0].end_s), (3.0, 4.0));
        // No map: cue times are presentation times.
        let plain = b"WEBVTT\n\n00:00:07.000 --> 00:00:08.000\nplain\n";
        assert_eq!(parse_webvtt(plain, &mut None).unwrap()[0].start_s, 7.0);
    }

    #[test]
    fn other_packagers_documents_are_read_and_garbage_refused() {
        // A byte order mark, CRLF line ends, no newline at the end.
        let cues = parse_webvtt(SECOND, &mut None).unwrap();
        assert_eq!(cues.len(), 2);
        assert_eq!(cues[1].text, "two\nlines");
        let e = parse_webvtt(b"\x00\x01garbage", &mut None).unwrap_err();
        assert!(e.starts_with("not WebVTT"), "{e}");
        let e = parse_webvtt(b"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:x\n\n", &mut None).unwrap_err();
        assert!(e.starts_with("a bad X-TIMESTAMP-MAP"), "{e}");
    }

    #[test]
    fn tracks_are_read_by_their_mime_type_or_refused_in_one_line() {
        assert_eq!(
            TextFormat::of(Some("text/vtt"), None),
            Ok(TextFormat::WebVtt)
        );
        assert_eq!(
            TextFormat::of(Some("application/ttml+xml"), Some("stpp.ttml.im1t")),
            Ok(TextFormat::Ttml)
        );
        assert_eq!(
            TextFormat::of(Some("application/mp4"), Some("wvtt")),
            Ok(TextFormat::Mp4(Mp4TextKind::Wvtt))
        );
        assert_eq!(
            TextFormat::of(Some("application/mp4"), Some("stpp.ttml.im1t")),
            Ok(TextFormat::Mp4(Mp4TextKind::Stpp))
        );
        for (mime, codecs, error) in [
            (
                Some("application/mp4"),
                Some("tx3g"),
                "application/mp4 (tx3g) subtitles are not read",
            ),
            (Some("text/srt"), None, "text/srt subtitles are not read"),
            (None, Some("wvtt"), "no MIME type"),
        ] {
            let e = TextFormat::of(mime, codecs).unwrap_err();
            assert!(e.contains(error), "{e}");
        }
    }

    #[test]
    fn a_ttml_sidecar_shows_its_cues() {
        let doc = br#"<tt xmlns="http://www.w3.org/ns/ttml"><body><div>
            <p begin="00:00:01.000" end="00:00:02.500">one</p>
            <p begin="3s" end="4s">two</p></div></body></tt>"#;
        let mut subs = Subtitles::new(0, TextFormat::Ttml, Some(vec![segment(0.0, 60.0)]));
        assert_eq!(subs.next_fetch(0.0, 0.0), Some(Next::Segment(0)));
        subs.fetched(0, None, doc).unwrap();
        assert_eq!(subs.changed_text(0.5), None);
        assert_eq!(subs.changed_text(1.0), Some(Some("one".into())));
        assert_eq!(subs.changed_text(2.5), Some(None));
        assert_eq!(subs.changed_text(3.5), Some(Some("two".into())));
        let mut broken = Subtitles::new(0, TextFormat::Ttml, Some(vec![segment(0.0, 60.0)]));
        broken.next_fetch(0.0, 0.0);
        let e = broken.fetched(0, None, b"WEBVTT\n").unwrap_err();
        assert!(e.starts_with("not TTML"), "{e}");
    }

    #[test]
    fn a_broken_init_segment_skips_every_segment_after_it_at_once() {
        let init = Resource {
            uri: "init.mp4".into(),
            range: None,
        };
        let segments: Vec<Segment> = (0..3)
            .map(|i| {
                let mut s = segment(f64::from(i) * 4.0, 4.0);
                s.init = Some(init.clone());
                s
            })
            .collect();
        let mut subs = Subtitles::new(
            0,
            TextFormat::Mp4(Mp4TextKind::Wvtt),
            Some(segments.clone()),
        );
        assert_eq!(subs.next_fetch(0.0, 0.0), Some(Next::Segment(0)));
        assert_eq!(subs.init_needed(0), Some(init.clone()));
        let e = subs
            .fetched(0, Some((init, b"not an init segment")), b"")
            .unwrap_err();
        assert!(e.starts_with("init segment: "), "{e}");
        assert_eq!(
            subs.next_fetch(0.0, 10.0),
            None,
            "nothing more is asked for"
        );
        // A track whose segments need no init segment asks for none.
        let webvtt = Subtitles::new(0, TextFormat::WebVtt, Some(segments));
        assert_eq!(webvtt.init_needed(0), None);
    }

    #[test]
    fn the_index_then_segments_ahead_of_the_playhead_are_fetched_and_retried_then_skipped() {
        let segments: Vec<Segment> = (0..20).map(|i| segment(f64::from(i) * 4.0, 4.0)).collect();
        let mut subs = Subtitles::new(0, TextFormat::WebVtt, None);
        assert_eq!(subs.next_fetch(5.0, 0.0), Some(Next::Index));
        assert_eq!(subs.next_fetch(5.0, 0.0), None, "one at a time");
        assert!(!subs.index_failed(0.0));
        assert_eq!(
            subs.next_fetch(5.0, 1.0),
            None,
            "the index waits after a failure"
        );
        assert_eq!(subs.next_fetch(5.0, 2.0), Some(Next::Index));
        subs.indexed(segments.clone());
        assert_eq!(subs.next_fetch(5.0, 2.0), Some(Next::Segment(1)));
        assert_eq!(subs.segment(1).unwrap().start_s, 4.0);
        subs.fetched(1, None, FIRST).unwrap();
        assert_eq!(subs.next_fetch(5.0, 2.0), Some(Next::Segment(2)));
        assert!(!subs.failed(2, 10.0));
        assert_eq!(
            subs.next_fetch(5.0, 10.0),
            Some(Next::Segment(3)),
            "the failed one waits"
        );
        subs.fetched(3, None, SECOND).unwrap();
        assert_eq!(
            subs.next_fetch(5.0, 12.0),
            Some(Next::Segment(2)),
            "then is retried"
        );
        assert!(!subs.failed(2, 12.0));
        assert_eq!(subs.next_fetch(5.0, 14.0), Some(Next::Segment(2)));
        assert!(subs.failed(2, 14.0), "skipped after the third failure");
        assert_eq!(subs.next_fetch(5.0, 20.0), Some(Next::Segment(4)));
        subs.failed(4, 20.0);
        // Nothing past the next 30 s is fetched.
        let mut far = Subtitles::new(0, TextFormat::WebVtt, Some(segments.clone()));
        for i in 0..8 {
            assert_eq!(far.next_fetch(0.0, 0.0), Some(Next::Segment(i)));
            far.fetched(i, None, b"WEBVTT\n\n").unwrap();
        }
        assert_eq!(far.next_fetch(0.0, 0.0), None);
        // An unreadable segment is skipped, with the reason.
        let mut bad = Subtitles::new(0, TextFormat::WebVtt, Some(segments[..2].to_vec()));
        assert_eq!(bad.next_fetch(0.0, 0.0), Some(Next::Segment(0)));
        assert!(bad.fetched(0, None, b"junk").is_err());
        assert_eq!(bad.next_fetch(0.0, 0.0), Some(Next::Segment(1)));
        // An index that never comes leaves the track empty.
        let mut gone = Subtitles::new(0, TextFormat::WebVtt, None);
        for now in [0.0, 2.0] {
            assert_eq!(gone.next_fetch(0.0, now), Some(Next::Index));
            assert!(!gone.index_failed(now));
        }
        assert_eq!(gone.next_fetch(0.0, 4.0), Some(Next::Index));
        assert!(gone.index_failed(4.0));
        assert_eq!(gone.next_fetch(0.0, 100.0), None);
    }

    #[test]
    fn the_text_on_screen_changes_with_the_cues_under_the_playhead() {
        let two = vec![segment(0.0, 4.0), segment(4.0, 4.0)];
        let mut subs = Subtitles::new(0, TextFormat::WebVtt, Some(two));
        subs.fetched(0, None, FIRST).unwrap();
        subs.fetched(1, None, SECOND).unwrap();
        // The cue in both documents is kept once.
        assert_eq!(subs.cues.len(), 3);
        let mut seen = Vec::new();
        for tenth in 0..60 {
            if let Some(text) = subs.changed_text(f64::from(tenth) / 10.0) {
                seen.push((tenth, text));
            }
        }
        assert_eq!(
            seen,
            [
                (10, Some("Hello".to_string())),
                (25, None),
                (35, Some("<i>across</i>".to_string())),
                (40, Some("<i>across</i>\ntwo\nlines".to_string())),
                (45, Some("two\nlines".to_string())),
                (50, None),
            ]
        );
    }
}
