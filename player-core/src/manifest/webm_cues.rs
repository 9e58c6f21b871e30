//! DASH `SegmentBase` over WebM: the `Cues` element (read with webm-iterable) turned into
//! byte-range segments, one per cluster, placed and timed by what the init segment says about the
//! Matroska `Segment` (where its data starts, where it ends, its timestamp scale and duration).

use webm_iterable::WebmIterator;
use webm_iterable::matroska_spec::{Master, MatroskaSpec};

use crate::presentation::{ByteRange, Resource, Segment};

/// The EBML ID of `Cues`, the first bytes of a WebM index.
const CUES_ID: [u8; 4] = [0x1C, 0x53, 0xBB, 0x6B];
/// The EBML header's ID: an init segment starts with it.
const EBML_HEADER_ID: [u8; 4] = [0x1A, 0x45, 0xDF, 0xA3];
/// The EBML ID of the Matroska `Segment`.
const SEGMENT_ID: [u8; 4] = [0x18, 0x53, 0x80, 0x67];

/// Whether an index body is WebM `Cues`.
pub fn is_cues(body: &[u8]) -> bool {
    body.starts_with(&CUES_ID)
}

/// What the init segment says about the Matroska `Segment` the clusters live in.
#[derive(Debug, Clone, PartialEq)]
pub struct WebmHead {
    /// File offset of the Segment's first child: cluster positions count from here.
    pub data_offset: u64,
    /// File offset just past the Segment, when its size is written.
    pub end: Option<u64>,
    /// Nanoseconds per timestamp unit (`TimestampScale`, 1 ms unless stated).
    pub timestamp_scale_ns: u64,
    /// `Duration`, in seconds, when stated.
    pub duration_s: Option<f64>,
}

/// Reads where the Matroska `Segment` starts and ends (after the EBML header) and its `Info`
/// from an init segment.
pub fn read_head(init: &[u8]) -> Result<WebmHead, String> {
    let no_segment = || "the WebM init segment holds no Matroska Segment".to_string();
    let (ebml_size, ebml_size_len) = element_size(init, &EBML_HEADER_ID).ok_or_else(no_segment)?;
    let segment_at = (EBML_HEADER_ID.len() + ebml_size_len) as u64 + ebml_size;
    let rest = usize::try_from(segment_at)
        .ok()
        .and_then(|at| init.get(at..))
        .ok_or_else(no_segment)?;
    let (size, size_len) = element_size(rest, &SEGMENT_ID).ok_or_else(no_segment)?;
    let data_offset = segment_at + (SEGMENT_ID.len() + size_len) as u64;
    let unknown = size == (1u64 << (7 * size_len)) - 1;
    // The Segment's children, each of which must fit in what there is (a reader trusting a
    // claimed size would allocate it).
    let children = &rest[SEGMENT_ID.len() + size_len..];
    let mut tags = WebmIterator::new(children, &[]);
    tags.emit_master_end_when_eof(false);
    tags.set_max_allowable_tag_size(Some(children.len()));
    let mut timestamp_scale_ns = 1_000_000;
    let mut duration = None;
    for tag in &mut tags {
        match tag.map_err(|e| format!("the WebM init segment is malformed: {e}"))? {
            MatroskaSpec::TimestampScale(ns) => timestamp_scale_ns = ns,
            MatroskaSpec::Duration(d) => duration = Some(d),
            MatroskaSpec::Info(Master::End) => break,
            _ => {}
        }
    }
    if timestamp_scale_ns == 0 {
        return Err("the WebM TimestampScale is 0".into());
    }
    Ok(WebmHead {
        data_offset,
        end: (!unknown).then(|| data_offset.saturating_add(size)),
        timestamp_scale_ns,
        duration_s: duration
            .map(|d| d * timestamp_scale_ns as f64 / 1e9)
            .filter(|d| d.is_finite() && *d > 0.0),
    })
}

/// The size (and the length of its vint) of the element with this ID at the start of `data`.
fn element_size(data: &[u8], id: &[u8]) -> Option<(u64, usize)> {
    if !data.starts_with(id) {
        return None;
    }
    ebml_iterable::tools::read_vint(&data[id.len()..])
        .ok()
        .flatten()
}

/// The segments the `Cues` (the bytes of `index`, fetched from `media`) describe: one per
/// cluster a cue points at, ending where the next begins; the last ends at the `Cues` when they
/// follow it, else at the end of the Segment.
pub fn segments(
    head: &WebmHead,
    cues: &[u8],
    index: &ByteRange,
    media: &str,
    init: Option<Resource>,
    time_offset_s: f64,
) -> Result<Vec<Segment>, String> {
    // (cluster offset in the file, cue time in timestamp units)
    let mut points: Vec<(u64, u64)> = Vec::new();
    let mut time = None;
    // The Cues element must be whole: cut short, its last cue points would be lost silently.
    match element_size(cues, &CUES_ID) {
        Some((size, len)) if (CUES_ID.len() + len) as u64 + size <= cues.len() as u64 => {}
        _ => return Err("the WebM Cues are cut short".into()),
    }
    let mut tags = WebmIterator::new(cues, &[]);
    tags.emit_master_end_when_eof(false);
    tags.set_max_allowable_tag_size(Some(cues.len()));
    for tag in &mut tags {
        match tag.map_err(|e| format!("the WebM Cues are malformed: {e}"))? {
            MatroskaSpec::CuePoint(Master::Start) => time = None,
            MatroskaSpec::CueTime(t) => time = Some(t),
            MatroskaSpec::CueClusterPosition(p) => {
                let t = time.ok_or("a WebM cue point has no CueTime")?;
                points.push((head.data_offset.saturating_add(p), t));
            }
            _ => {}
        }
    }
    if points.is_empty() {
        return Err("the WebM Cues point at no cluster".into());
    }
    // Cues of several tracks may point at one cluster: it starts at the earliest.
    points.sort_unstable();
    points.dedup_by_key(|p| p.0);
    let last = points.last().expect("not empty").0;
    let end = if index.offset > last {
        index.offset
    } else {
        head.end.ok_or(
            "the WebM Segment has no size and the Cues precede the clusters: \
             where the last cluster ends is unknown",
        )?
    };
    let scale = head.timestamp_scale_ns as f64 / 1e9;
    let mut out = Vec::with_capacity(points.len());
    for (i, &(offset, t)) in points.iter().enumerate() {
        let next = points.get(i + 1);
        let stop = next.map_or(end, |n| n.0);
        if stop <= offset {
            return Err(format!(
                "a WebM cluster at byte {offset} ends at {stop}: the Cues do not fit the file"
            ));
        }
        let start_s = t as f64 * scale;
        let end_s = match next {
            Some(n) => n.1 as f64 * scale,
            None => head
                .duration_s
                .filter(|d| *d > start_s)
                .or_else(|| out.last().map(|s: &Segment| start_s + s.duration_s))
                .ok_or("the WebM file states no Duration: its last cluster has no end")?,
        };
        if end_s <= start_s {
            return Err(format!(
                "WebM cue times go backwards at {start_s} s: the Cues are not in order"
            ));
        }
        let length = stop - offset;
        let resource = Resource {
            uri: media.to_string(),
            range: Some(ByteRange { offset, length }),
        };
        out.push(Segment {
            init: init.clone(),
            media_offset_s: -time_offset_s,
            ..Segment::new(
                i as u64 + 1,
                start_s - time_offset_s,
                end_s - start_s,
                resource,
            )
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One EBML element: its ID, its size as an 8-byte vint, its body.
    fn element(id: &[u8], body: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        out.push(0x01);
        out.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
        out.extend_from_slice(body);
        out
    }

    fn uint(id: &[u8], v: u64) -> Vec<u8> {
        element(id, &v.to_be_bytes())
    }

    /// An init segment: EBML header, then a Segment of `size` bytes holding Info.
    fn init(size: Option<u64>, duration_ms: Option<f64>) -> Vec<u8> {
        let mut out = element(&EBML_HEADER_ID, &element(&[0x42, 0x82], b"webm"));
        out.extend_from_slice(&SEGMENT_ID);
        match size {
            Some(s) => {
                out.push(0x01);
                out.extend_from_slice(&s.to_be_bytes()[1..]);
            }
            None => out.extend_from_slice(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
        }
        let mut info = uint(&[0x2A, 0xD7, 0xB1], 1_000_000);
        if let Some(d) = duration_ms {
            info.extend(element(&[0x44, 0x89], &d.to_be_bytes()));
        }
        out.extend(element(&[0x15, 0x49, 0xA9, 0x66], &info));
        out
    }

    fn cues(points: &[(u64, u64)]) -> Vec<u8> {
        let mut body = Vec::new();
        for &(time, cluster) in points {
            let mut point = uint(&[0xB3], time);
            let mut position = uint(&[0xF7], 1);
            position.extend(uint(&[0xF1], cluster));
            point.extend(element(&[0xB7], &position));
            body.extend(element(&[0xBB], &point));
        }
        element(&CUES_ID, &body)
    }

    #[test]
    fn cues_after_the_clusters_become_consecutive_ranges_up_to_the_cues() {
        let init = init(Some(100_000), Some(6000.0));
        let head = read_head(&init).unwrap();
        // The EBML header (26 bytes), then the Segment's ID and 8-byte size.
        assert_eq!(head.data_offset, 26 + 12);
        assert_eq!(head.end, Some(38 + 100_000));
        assert_eq!(head.duration_s, Some(6.0));
        let body = cues(&[(0, 400), (2000, 5000), (4000, 9000)]);
        assert!(is_cues(&body));
        let index = ByteRange {
            offset: 38 + 20_000,
            length: body.len() as u64,
        };
        let segs = segments(&head, &body, &index, "v.webm", None, 0.0).unwrap();
        let ranges: Vec<_> = segs.iter().map(|s| s.resource.range.unwrap()).collect();
        assert_eq!(
            ranges,
            [
                ByteRange {
                    offset: 438,
                    length: 4600
                },
                ByteRange {
                    offset: 5038,
                    length: 4000
                },
                ByteRange {
                    offset: 9038,
                    length: 11_000
                },
            ]
        );
        let times: Vec<_> = segs.iter().map(|s| (s.start_s, s.duration_s)).collect();
        assert_eq!(times, [(0.0, 2.0), (2.0, 2.0), (4.0, 2.0)]);
    }

    #[test]
    fn cues_before_the_clusters_end_the_last_at_the_segments_end() {
        let head = read_head(&init(Some(30_000), None)).unwrap();
        let body = cues(&[(0, 1000), (2500, 8000)]);
        let index = ByteRange {
            offset: 100,
            length: body.len() as u64,
        };
        let segs = segments(&head, &body, &index, "a.webm", None, 1.0).unwrap();
        assert_eq!(segs[1].resource.range.unwrap().length, 22_000);
        // No Duration: the last cluster is taken to be as long as the one before.
        assert_eq!(
            (segs[1].start_s, segs[1].duration_s),
            (2.5 - 1.0, 2.5),
            "{segs:?}"
        );
        // A live-written Segment of unknown size leaves the last cluster without an end.
        let open = read_head(&init(None, None)).unwrap();
        assert_eq!(open.end, None);
        let e = segments(&open, &body, &index, "a.webm", None, 0.0).unwrap_err();
        assert!(e.contains("where the last cluster ends is unknown"), "{e}");
    }

    #[test]
    fn broken_heads_and_cues_fail_in_one_line() {
        let e = read_head(b"\x1A\x45\xDF\xA3\x80").unwrap_err();
        assert_eq!(e, "the WebM init segment holds no Matroska Segment");
        let head = read_head(&init(Some(30_000), Some(4000.0))).unwrap();
        let index = ByteRange {
            offset: 20_000,
            length: 10,
        };
        let empty = element(&CUES_ID, &[]);
        let e = segments(&head, &empty, &index, "a.webm", None, 0.0).unwrap_err();
        assert_eq!(e, "the WebM Cues point at no cluster");
        let whole = cues(&[(0, 10), (2000, 500)]);
        let e = segments(
            &head,
            &whole[..whole.len() - 3],
            &index,
            "a.webm",
            None,
            0.0,
        );
        assert_eq!(e.unwrap_err(), "the WebM Cues are cut short");
        // An element claiming gigabytes it does not have is refused, not allocated.
        let huge = element(&CUES_ID, &[0xEC, 0x08, 0xE0, 0, 0, 0]);
        assert!(segments(&head, &huge, &index, "a.webm", None, 0.0).is_err());
        // Two clusters at one time: the second has no length of time.
        let same_time = cues(&[(0, 10), (0, 500)]);
        let e = segments(&head, &same_time, &index, "a.webm", None, 0.0).unwrap_err();
        assert!(e.contains("cue times go backwards"), "{e}");
    }
}
