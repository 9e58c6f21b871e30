//! A sliding-window byte-rate meter for `/health`'s `bytes_per_second`.

use std::sync::Mutex;
use std::time::Instant;

const BUCKET_MS: u128 = 100;
const BUCKETS: usize = 30;

/// Bytes sent per second over the last three seconds.
pub struct RateMeter {
    start: Instant,
    buckets: Mutex<(u128, [u64; BUCKETS])>,
}

impl RateMeter {
    /// An empty meter.
    pub fn new() -> Self {
        RateMeter {
            start: Instant::now(),
            buckets: Mutex::new((0, [0; BUCKETS])),
        }
    }

    fn advance(&self, state: &mut (u128, [u64; BUCKETS])) {
        let now = self.start.elapsed().as_millis() / BUCKET_MS;
        let stale = (now - state.0).min(BUCKETS as u128);
        for i in 0..stale {
            state.1[((state.0 + 1 + i) % BUCKETS as u128) as usize] = 0;
        }
        state.0 = now;
    }

    /// Counts `bytes` sent now.
    pub fn add(&self, bytes: u64) {
        let mut s = self.buckets.lock().expect("meter lock");
        self.advance(&mut s);
        let i = (s.0 % BUCKETS as u128) as usize;
        s.1[i] += bytes;
    }

    /// Bytes per second over the window.
    pub fn rate(&self) -> f64 {
        let mut s = self.buckets.lock().expect("meter lock");
        self.advance(&mut s);
        let total: u64 = s.1.iter().sum();
        total as f64 / (BUCKETS as f64 * BUCKET_MS as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_recent_bytes() {
        let m = RateMeter::new();
        m.add(300_000);
        assert!((m.rate() - 100_000.0).abs() < 1.0, "{}", m.rate());
    }
}
