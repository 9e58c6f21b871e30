//! When to abandon a download in flight: the rule the player applies to every video segment
//! above the lowest rendition, and the realistic replay mode applies too — one rule, one place.
//!
//! A download is abandoned once it has run [`AbandonRule::min_elapsed_s`] and its projected
//! total time both outlasts the buffer it started with by more than
//! [`AbandonRule::buffer_margin_s`] and is more than [`AbandonRule::min_slowdown`] times what has
//! elapsed (so a download nearly done is left to finish). The player then fetches the same
//! segment one rendition lower and gives the ABR what the partial download measured.

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
    /// started with `buffer_s` seconds buffered.
    pub fn should_abandon(
        &self,
        elapsed_s: f64,
        bytes: u64,
        total_bytes: u64,
        buffer_s: f64,
    ) -> bool {
        if elapsed_s < self.min_elapsed_s || bytes == 0 || bytes >= total_bytes {
            return false;
        }
        let projected_s = elapsed_s * total_bytes as f64 / bytes as f64;
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
        assert!(rule.should_abandon(2.0, 100, 1000, 5.0));
        // Too early to judge.
        assert!(!rule.should_abandon(0.5, 1, 1000, 0.0));
        // Slow, but the buffer covers it.
        assert!(!rule.should_abandon(2.0, 100, 1000, 25.0));
        // Nearly done: 2.5 s projected after 2 s.
        assert!(!rule.should_abandon(2.0, 800, 1000, 0.0));
        // Nothing yet received is not judged (the first-byte timeout handles it).
        assert!(!rule.should_abandon(3.0, 0, 1000, 0.0));
    }
}
