//! Where an MPEG-TS segment's media starts relative to its clock. `tsdemux`, fed in time
//! format, lays the first program clock reference (PCR) of what it is pushed on the buffer's
//! timestamp, so the first frame comes out that much after it — ffmpeg's muxer, for one, stamps
//! frames 0.7 s after the clock. Players lay a segment's first frame on the playlist's time;
//! the sink stamps each segment that much earlier so that `tsdemux` does the same.

/// 90 kHz ticks that the 33-bit timestamps wrap at.
const WRAP: i64 = 1 << 33;
const PACKET: usize = 188;

/// Seconds from the first PCR in `data` to the earliest first PTS of its elementary streams,
/// when the segment has both (across a 33-bit rollover between them too).
pub fn media_lead_s(data: &[u8]) -> Option<f64> {
    let mut pcr: Option<i64> = None;
    let mut first_pts: Vec<(u16, i64)> = Vec::new();
    for packet in data.chunks_exact(PACKET) {
        if packet[0] != 0x47 {
            return None;
        }
        let pid = u16::from_be_bytes([packet[1] & 0x1f, packet[2]]);
        let unit_start = packet[1] & 0x40 != 0;
        let control = (packet[3] >> 4) & 0x3;
        let mut payload = 4;
        if control & 0x2 != 0 {
            let length = usize::from(packet[4]);
            if pcr.is_none() && length >= 7 && packet[5] & 0x10 != 0 {
                let b = &packet[6..11];
                pcr = Some(
                    (i64::from(b[0]) << 25)
                        | (i64::from(b[1]) << 17)
                        | (i64::from(b[2]) << 9)
                        | (i64::from(b[3]) << 1)
                        | (i64::from(b[4]) >> 7),
                );
            }
            payload = 5 + length;
        }
        if control & 0x1 == 0 || !unit_start || payload + 14 > PACKET {
            continue;
        }
        if first_pts.iter().any(|(p, _)| *p == pid) {
            continue;
        }
        if let Some(pts) = pes_pts(&packet[payload..]) {
            first_pts.push((pid, pts));
        }
    }
    let pcr = pcr?;
    first_pts
        .iter()
        .map(|(_, pts)| {
            // The difference in (−2³², 2³²]: the clock and the frames may sit either side of a
            // rollover.
            let d = (pts - pcr).rem_euclid(WRAP);
            if d > WRAP / 2 { d - WRAP } else { d }
        })
        .min()
        .map(|ticks| ticks as f64 / 90_000.0)
        .filter(|s| s.abs() <= 10.0)
}

/// The PTS of an audio or video PES packet starting `payload`.
fn pes_pts(payload: &[u8]) -> Option<i64> {
    if payload.len() < 14 || payload[..3] != [0, 0, 1] {
        return None;
    }
    let stream_id = payload[3];
    let media = matches!(stream_id, 0xC0..=0xEF | 0xBD);
    if !media || payload[7] & 0x80 == 0 {
        return None;
    }
    let p = &payload[9..14];
    Some(
        (i64::from(p[0] >> 1 & 0x07) << 30)
            | (i64::from(p[1]) << 22)
            | (i64::from(p[2] >> 1) << 15)
            | (i64::from(p[3]) << 7)
            | (i64::from(p[4]) >> 1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet on `pid` with a PCR of `pcr` ticks.
    fn pcr_packet(pid: u16, pcr: i64) -> Vec<u8> {
        let mut p = vec![0x47, (pid >> 8) as u8, pid as u8, 0x20, 183, 0x10];
        p.extend([
            (pcr >> 25) as u8,
            (pcr >> 17) as u8,
            (pcr >> 9) as u8,
            (pcr >> 1) as u8,
            ((pcr & 1) << 7) as u8 | 0x7e,
            0,
        ]);
        p.resize(PACKET, 0xff);
        p
    }

    /// A packet on `pid` starting a PES packet of `stream_id` with a PTS of `pts` ticks.
    fn pes_packet(pid: u16, stream_id: u8, pts: i64) -> Vec<u8> {
        let mut p = vec![0x47, 0x40 | (pid >> 8) as u8, pid as u8, 0x10];
        p.extend([0, 0, 1, stream_id, 0, 0, 0x80, 0x80, 5]);
        p.extend([
            0x21 | ((pts >> 29) & 0x0e) as u8,
            (pts >> 22) as u8,
            ((pts >> 14) as u8) | 1,
            (pts >> 7) as u8,
            ((pts << 1) as u8) | 1,
        ]);
        p.resize(PACKET, 0);
        p
    }

    #[test]
    fn the_lead_is_from_the_first_clock_to_the_earliest_stream() {
        let mut ts = pcr_packet(0x100, 63_000);
        ts.extend(pes_packet(0x100, 0xE0, 129_600));
        ts.extend(pes_packet(0x101, 0xC0, 126_000));
        // A later frame of the video stream does not count.
        ts.extend(pes_packet(0x100, 0xE0, 100_000));
        assert_eq!(media_lead_s(&ts), Some(0.7));
    }

    #[test]
    fn the_lead_is_kept_across_the_33_bit_rollover() {
        let pcr = WRAP - 9_000; // 0.1 s before the wrap
        let mut ts = pcr_packet(0x100, pcr);
        ts.extend(pes_packet(0x100, 0xE0, 54_000)); // 0.6 s after it
        let lead = media_lead_s(&ts).unwrap();
        assert!((lead - 0.7).abs() < 1e-9, "{lead}");
    }

    #[test]
    fn a_segment_without_a_clock_or_a_frame_has_no_lead() {
        assert_eq!(media_lead_s(&pcr_packet(0x100, 0)), None);
        assert_eq!(media_lead_s(&pes_packet(0x100, 0xE0, 0)), None);
        assert_eq!(media_lead_s(b"not a transport stream"), None);
    }
}
