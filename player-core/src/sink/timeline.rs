//! One input's media timeline laid onto the presentation timeline: where a chunk's media
//! timestamps stop agreeing with its presentation times (a DASH period whose media starts at 0
//! wherever the period starts), the decoders get a new time segment that maps the one onto the
//! other and keeps the running time — the clock the outputs are paced by — going on unbroken.
//! Pure arithmetic, in seconds; the GStreamer sink turns it into segment events.

/// The time segment in force on an input: media time `start_s` is presentation time `time_s`
/// and running time `base_s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeSegment {
    /// Media time where the segment starts.
    pub start_s: f64,
    /// The presentation time (GStreamer's stream time) of `start_s`.
    pub time_s: f64,
    /// The running time of `start_s`.
    pub base_s: f64,
}

/// The mapping in force on one input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MediaTimeline {
    /// Presentation time less media time.
    offset_s: f64,
    segment: TimeSegment,
}

impl Default for MediaTimeline {
    fn default() -> Self {
        MediaTimeline::after_seek(0.0)
    }
}

impl MediaTimeline {
    /// The mapping after a flushing seek to `position_s` (or at the start): the input's own
    /// segment starts there, media and presentation times agreeing, running time from 0.
    pub fn after_seek(position_s: f64) -> MediaTimeline {
        MediaTimeline {
            offset_s: 0.0,
            segment: TimeSegment {
                start_s: position_s,
                time_s: position_s,
                base_s: 0.0,
            },
        }
    }

    /// A chunk starting at presentation time `start_s` whose media is offset by `offset_s`: the
    /// new segment to send first, when the offset changed by more than `tolerance_s`. It starts
    /// at the chunk (or where the segment in force starts, if later: a seek target inside the
    /// chunk), at the running time the segment in force gives that instant.
    pub fn chunk(&mut self, start_s: f64, offset_s: f64, tolerance_s: f64) -> Option<TimeSegment> {
        if (offset_s - self.offset_s).abs() <= tolerance_s.max(1e-6) {
            return None;
        }
        let at_s = start_s.max(self.segment.time_s);
        self.segment = TimeSegment {
            start_s: (at_s - offset_s).max(0.0),
            time_s: at_s,
            base_s: self.segment.base_s + (at_s - self.segment.time_s),
        };
        self.offset_s = offset_s;
        Some(self.segment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_whose_media_starts_over_is_mapped_without_breaking_the_clock() {
        let mut t = MediaTimeline::default();
        // Period 1 (0–8 s): media and presentation agree.
        assert_eq!(t.chunk(0.0, 0.0, 0.0), None);
        assert_eq!(t.chunk(4.0, 0.0, 0.0), None);
        // Period 2 from 8 s, its media from 0: media 0 is presentation 8, running time 8.
        let s = t.chunk(8.0, 8.0, 0.0).unwrap();
        assert_eq!(
            s,
            TimeSegment {
                start_s: 0.0,
                time_s: 8.0,
                base_s: 8.0
            }
        );
        assert_eq!(t.chunk(12.0, 8.0, 0.0), None);
        // Period 3 from 16 s, media from 100 s.
        let s = t.chunk(16.0, -84.0, 0.0).unwrap();
        assert_eq!((s.start_s, s.time_s, s.base_s), (100.0, 16.0, 16.0));
    }

    #[test]
    fn after_a_seek_into_an_offset_period_the_segment_starts_at_the_target() {
        // Seek to 10 s, inside a chunk at 8–12 s of a period offset by 8 s.
        let mut t = MediaTimeline::after_seek(10.0);
        let s = t.chunk(8.0, 8.0, 0.0).unwrap();
        assert_eq!((s.start_s, s.time_s, s.base_s), (2.0, 10.0, 0.0));
        // A lead that jitters within the tolerance keeps the segment.
        assert_eq!(t.chunk(12.0, 8.05, 0.1), None);
        // Back into a period without offset: running time goes on from there.
        let s = t.chunk(16.0, 0.0, 0.0).unwrap();
        assert_eq!((s.start_s, s.time_s, s.base_s), (16.0, 16.0, 6.0));
    }
}
