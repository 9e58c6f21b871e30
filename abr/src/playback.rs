//! The player's playback model, clock-free: when to fetch (the watermark gate), when to start
//! playing, when a stall begins and when it ends. Time is an argument (seconds on any clock the
//! caller keeps), so the player drives it with the wall clock and trace replay with a simulated
//! one. The rule for abandoning a slow download is [`crate::abandon`].
//!
//! The stall machine: Buffering → Playing once [`BufferPolicy::startup_s`] is buffered (or the
//! whole rest of the title is); Playing → Stalled when the buffer falls to
//! [`BufferPolicy::stall_threshold_s`] before the end; Stalled → Playing at
//! [`BufferPolicy::resume_s`]. A seek, or the viewer's pause, sends it back to Buffering.

/// Buffer thresholds in seconds of media ahead of the playhead.
#[derive(Debug, Clone, PartialEq)]
pub struct BufferPolicy {
    /// Needed to start playing (and after a seek).
    pub startup_s: f64,
    /// Needed to resume after a stall.
    pub resume_s: f64,
    /// At or below this, playback stalls.
    pub stall_threshold_s: f64,
    /// Fetching resumes when the buffer drains to this.
    pub low_watermark_s: f64,
    /// Fetching pauses when the buffer reaches this.
    pub high_watermark_s: f64,
}

impl Default for BufferPolicy {
    fn default() -> Self {
        BufferPolicy {
            startup_s: 2.0,
            resume_s: 4.0,
            stall_threshold_s: 0.05,
            low_watermark_s: 20.0,
            high_watermark_s: 30.0,
        }
    }
}

/// One stream's fetch state: the watermark hysteresis and the recovery after failures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FetchGate {
    /// Reached the high watermark and waiting for the low one.
    pub holding: bool,
    /// Every pathway failed at the lowest rendition: try again at this time, seconds (while
    /// the buffer lasts).
    pub retry_at_s: Option<f64>,
    /// The current segment failed at a higher rendition: stay at or below this one.
    pub force_below: Option<usize>,
}

impl FetchGate {
    /// Whether to fetch another segment with `ahead_s` seconds buffered: fill to the high
    /// watermark, then wait until the buffer drains to the low one.
    pub fn wants_more(&mut self, ahead_s: f64, policy: &BufferPolicy) -> bool {
        if self.holding && ahead_s <= policy.low_watermark_s {
            self.holding = false;
        } else if !self.holding && ahead_s >= policy.high_watermark_s {
            self.holding = true;
        }
        !self.holding
    }

    /// A failed segment waits for its retry time at `now_s`.
    pub fn waiting_to_retry(&self, now_s: f64) -> bool {
        self.retry_at_s.is_some_and(|t| now_s < t)
    }
}

/// Where playback is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Filling the buffer before playing (at the start, after a seek or a pause).
    Buffering,
    /// Playing.
    Playing,
    /// The buffer ran dry while playing; waiting for it to refill.
    Stalled,
}

/// A change of [`Phase`] the caller acts on (start or stop the clock, report it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// Buffering → Playing.
    Started,
    /// Playing → Stalled.
    Stalled,
    /// Stalled → Playing, after a stall of `stalled_s` seconds.
    Resumed { stalled_s: f64 },
}

/// The stall machine (see the module doc).
#[derive(Debug, Clone, PartialEq)]
pub struct Playback {
    phase: Phase,
    stall_started_s: Option<f64>,
}

impl Default for Playback {
    fn default() -> Self {
        Playback {
            phase: Phase::Buffering,
            stall_started_s: None,
        }
    }
}

impl Playback {
    /// Where playback is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Moves on with `buffer_s` seconds buffered at `now_s`; `all_done` when the rest of the
    /// title is downloaded (the buffer then plays out to the end without stalling).
    pub fn step(
        &mut self,
        now_s: f64,
        buffer_s: f64,
        all_done: bool,
        policy: &BufferPolicy,
    ) -> Option<Change> {
        match self.phase {
            Phase::Buffering if buffer_s >= policy.startup_s || all_done => {
                self.phase = Phase::Playing;
                Some(Change::Started)
            }
            Phase::Playing if buffer_s <= policy.stall_threshold_s && !all_done => {
                self.phase = Phase::Stalled;
                self.stall_started_s = Some(now_s);
                Some(Change::Stalled)
            }
            Phase::Stalled if buffer_s >= policy.resume_s || all_done => {
                self.phase = Phase::Playing;
                let started = self.stall_started_s.take().unwrap_or(now_s);
                Some(Change::Resumed {
                    stalled_s: now_s - started,
                })
            }
            _ => None,
        }
    }

    /// Back to Buffering (a seek, or the viewer's pause); a stall under way ends here, and its
    /// length in seconds is returned.
    pub fn rebuffer(&mut self, now_s: f64) -> Option<f64> {
        self.phase = Phase::Buffering;
        self.stall_started_s.take().map(|started| now_s - started)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_to_high_then_waits_for_low() {
        let p = BufferPolicy::default();
        let mut g = FetchGate::default();
        assert!(g.wants_more(0.0, &p));
        assert!(g.wants_more(29.0, &p));
        assert!(!g.wants_more(30.5, &p));
        assert!(!g.wants_more(25.0, &p), "still above the low watermark");
        assert!(g.wants_more(19.0, &p));
    }

    #[test]
    fn a_failed_segment_waits_for_its_retry_time() {
        let g = FetchGate {
            retry_at_s: Some(10.5),
            ..FetchGate::default()
        };
        assert!(g.waiting_to_retry(10.0));
        assert!(!g.waiting_to_retry(10.5));
        assert!(!FetchGate::default().waiting_to_retry(0.0));
    }

    #[test]
    fn starts_at_the_startup_threshold_stalls_when_dry_resumes_at_the_resume_threshold() {
        let p = BufferPolicy::default();
        let mut pb = Playback::default();
        assert_eq!(pb.step(0.5, 1.9, false, &p), None);
        assert_eq!(pb.step(1.0, 2.0, false, &p), Some(Change::Started));
        assert_eq!(pb.step(5.0, 0.5, false, &p), None);
        assert_eq!(pb.step(6.0, 0.05, false, &p), Some(Change::Stalled));
        assert_eq!(pb.phase(), Phase::Stalled);
        assert_eq!(
            pb.step(7.0, 3.9, false, &p),
            None,
            "under the resume threshold"
        );
        assert_eq!(
            pb.step(8.5, 4.0, false, &p),
            Some(Change::Resumed { stalled_s: 2.5 })
        );
        assert_eq!(pb.phase(), Phase::Playing);
    }

    #[test]
    fn the_end_in_the_buffer_starts_and_never_stalls() {
        let p = BufferPolicy::default();
        let mut pb = Playback::default();
        assert_eq!(pb.step(0.0, 0.5, true, &p), Some(Change::Started));
        assert_eq!(pb.step(1.0, 0.0, true, &p), None);
    }

    #[test]
    fn a_seek_or_pause_ends_a_stall_and_buffers_again() {
        let p = BufferPolicy::default();
        let mut pb = Playback::default();
        pb.step(0.0, 3.0, false, &p);
        pb.step(4.0, 0.0, false, &p);
        assert_eq!(pb.rebuffer(5.5), Some(1.5));
        assert_eq!(pb.phase(), Phase::Buffering);
        assert_eq!(pb.rebuffer(6.0), None, "no stall under way");
        assert_eq!(pb.step(7.0, 2.0, false, &p), Some(Change::Started));
    }
}
