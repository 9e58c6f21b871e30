//! DASH `SegmentBase`: the `sidx` box (parsed with mp4-atom) turned into byte-range segments.

use mp4_atom::{Decode, Sidx};

use crate::presentation::{ByteRange, Resource, Segment};

/// Whether an index body starts with a `sidx` box.
pub fn is_sidx(body: &[u8]) -> bool {
    body.get(4..8) == Some(b"sidx")
}

/// The segments a `sidx` (the bytes of `index`, fetched from `media`) describes.
pub fn segments(
    body: &[u8],
    index: &ByteRange,
    media: &str,
    init: Option<Resource>,
    time_offset_s: f64,
) -> Result<Vec<Segment>, String> {
    let mut buf = body;
    let sidx =
        Sidx::decode(&mut buf).map_err(|e| format!("the index is not a valid sidx box: {e}"))?;
    if sidx.timescale == 0 {
        return Err("the sidx has a timescale of 0".into());
    }
    if sidx.references.iter().any(|r| r.reference_type) {
        return Err("hierarchical sidx (references to other sidx boxes) is not supported".into());
    }
    let ts = sidx.timescale as f64;
    // Offsets and times add up in u64: a box claiming more is refused, not wrapped.
    let past_u64 = || "the sidx places its segments past 2^64".to_string();
    let mut offset = index
        .offset
        .checked_add(index.length)
        .and_then(|o| o.checked_add(sidx.first_offset))
        .ok_or_else(past_u64)?;
    let mut time = sidx.earliest_presentation_time;
    let mut out = Vec::with_capacity(sidx.references.len());
    for (i, r) in sidx.references.iter().enumerate() {
        let length = r.referenced_size as u64;
        let resource = Resource {
            uri: media.to_string(),
            range: Some(ByteRange { offset, length }),
        };
        let start_s = time as f64 / ts - time_offset_s;
        let duration_s = r.subsegment_duration as f64 / ts;
        out.push(Segment {
            init: init.clone(),
            media_offset_s: -time_offset_s,
            ..Segment::new(i as u64 + 1, start_s, duration_s, resource)
        });
        offset = offset.checked_add(length).ok_or_else(past_u64)?;
        time = time
            .checked_add(r.subsegment_duration as u64)
            .ok_or_else(past_u64)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mp4_atom::{Encode, SegmentReference};

    #[test]
    fn references_become_consecutive_ranges() {
        let sidx = Sidx {
            reference_id: 1,
            timescale: 1000,
            earliest_presentation_time: 0,
            first_offset: 0,
            references: [5000u32, 7000]
                .iter()
                .map(|&size| SegmentReference {
                    reference_type: false,
                    referenced_size: size,
                    subsegment_duration: 4000,
                    starts_with_sap: true,
                    sap_type: 1,
                    sap_delta_time: 0,
                })
                .collect(),
        };
        let mut bytes = Vec::new();
        sidx.encode(&mut bytes).unwrap();
        let index = ByteRange {
            offset: 800,
            length: bytes.len() as u64,
        };
        let segs = segments(&bytes, &index, "v.mp4", None, 0.0).unwrap();
        assert_eq!(segs.len(), 2);
        assert_eq!(
            segs[0].resource.range.unwrap().offset,
            800 + bytes.len() as u64
        );
        assert_eq!(segs[1].resource.range.unwrap().length, 7000);
        assert_eq!(segs[1].start_s, 4.0);
        assert!(is_sidx(&bytes));
        assert!(!is_sidx(b"garbage!"));
        assert!(segments(b"garbage!", &index, "v.mp4", None, 0.0).is_err());
    }
}
