//! When to abandon a download in flight: the rule the player applies to every video segment
//! above the lowest rendition, and the realistic replay mode applies too — one rule, one place.
//!
//! A download is abandoned once it has run [`AbandonRule::min_elapsed_s`] and its projected
//! total time both outlasts the buffer it started with by more than
//! [`AbandonRule::buffer_margin_s`] and is more than [`AbandonRule::min_slowdown`] times what has
//! elapsed (so a download nearly done is left to finish). The projection is the wait for the
//! first byte plus the body at the rate it has arrived since: the wait is a round trip, paid
//! once, and spreading it over the whole body would make every download on a long path (a
//! satellite link, 400–1200 ms) look hopeless in its first second. The player then fetches the
//! same segment one rendition lower and gives the ABR what the partial download measured.

/// The abandonment rule's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbandonRule {
    /// Judge no download before it has run this long, seconds.
    pub min_elapsed_s: f64,
    /// Abandon when the projected download outlasts the starting buffer by more than this, s.
    pub buffer_margin_s: f64,
    /// … and the projection is more than this many times the time elapsed.
    pub min_slowdown: f64,
}

impl Default for AbandonRule {
    fn default() -> Self {
        AbandonRule {
            min_elapsed_s: 1.0,
            buffer_margin_s: 2.0,
            min_slowdown: 2.0,
        }
    }
}

impl AbandonRule {
    /// Whether to abandon a download of `total_bytes` that has received `bytes` in `elapsed_s`,
    /// its first byte after `first_byte_s`, started with `buffer_s` seconds buffered.
    pub fn should_abandon(
        &self,
        elapsed_s: f64,
        first_byte_s: f64,
        bytes: u64,
        total_bytes: u64,
        buffer_s: f64,
    ) -> bool {
        if elapsed_s < self.min_elapsed_s || bytes == 0 || bytes >= total_bytes {
            return false;
        }
        let first_byte_s = first_byte_s.clamp(0.0, elapsed_s);
        let projected_s =
            first_byte_s + (elapsed_s - first_byte_s) * total_bytes as f64 / bytes as f64;
        projected_s > buffer_s + self.buffer_margin_s && projected_s > self.min_slowdown * elapsed_s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abandons_only_hopeless_downloads_once_judged() {
        let rule = AbandonRule::default();
        // A tenth of the segment in 2 s: 20 s projected against 5 s of buffer.
        assert!(rule.should_abandon(2.0, 0.0, 100, 1000, 5.0));
        // Too early to judge.
        assert!(!rule.should_abandon(0.5, 0.0, 1, 1000, 0.0));
        // Slow, but the buffer covers it.
        assert!(!rule.should_abandon(2.0, 0.0, 100, 1000, 25.0));
        // Nearly done: 2.5 s projected after 2 s.
        assert!(!rule.should_abandon(2.0, 0.0, 800, 1000, 0.0));
        // Nothing yet received is not judged (the first-byte timeout handles it).
        assert!(!rule.should_abandon(3.0, 0.0, 0, 1000, 0.0));
    }

    #[test]
    fn a_long_round_trip_is_paid_once_not_projected_over_the_body() {
        let rule = AbandonRule::default();
        // A 1 s round trip, then a twentieth of the segment in 0.2 s: the body needs 4 s more,
        // 5 s in all, within 5 s of buffer and its margin. Spread over the body, the wait
        // would have projected 24 s.
        assert!(!rule.should_abandon(1.2, 1.0, 50, 1000, 5.0));
        assert!(rule.should_abandon(1.2, 0.0, 50, 1000, 5.0));
        // A slow body after the same wait is still abandoned: 1 + 0.5 × 40 = 21 s.
        assert!(rule.should_abandon(1.5, 1.0, 25, 1000, 5.0));
    }
}
