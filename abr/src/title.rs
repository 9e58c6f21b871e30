//! A title for trace replay: the ladder and every segment's size (ABR-BENCH.md's title JSON, the
//! format Sabre uses and `reel-stub encode` writes as `abr-title.json`).

use serde::{Deserialize, Serialize};

/// Ladder and segment sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Title {
    /// Segment duration in ms.
    pub segment_duration_ms: f64,
    /// Bitrate of each rendition, kbit/s, lowest first.
    pub bitrates_kbps: Vec<f64>,
    /// `segment_sizes_bits[segment][rendition]`.
    pub segment_sizes_bits: Vec<Vec<f64>>,
}

/// Errors reading a title.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TitleError {
    /// Not JSON of the expected shape.
    #[error("title: {0}")]
    Json(String),
    /// Shapes do not match.
    #[error("title: {0}")]
    Invalid(String),
}

impl Title {
    /// Parses and checks the JSON form.
    pub fn from_json(text: &str) -> Result<Self, TitleError> {
        let t: Title = serde_json::from_str(text).map_err(|e| TitleError::Json(e.to_string()))?;
        t.check()?;
        Ok(t)
    }

    /// Checks the shapes: a non-empty increasing ladder, one size per rendition per segment.
    pub fn check(&self) -> Result<(), TitleError> {
        if self.bitrates_kbps.is_empty() || self.segment_sizes_bits.is_empty() {
            return Err(TitleError::Invalid("empty ladder or no segments".into()));
        }
        if self.segment_duration_ms <= 0.0 {
            return Err(TitleError::Invalid(
                "segment duration must be positive".into(),
            ));
        }
        if self.bitrates_kbps.windows(2).any(|w| w[1] <= w[0]) {
            return Err(TitleError::Invalid("bitrates must increase".into()));
        }
        if let Some(i) = self
            .segment_sizes_bits
            .iter()
            .position(|s| s.len() != self.bitrates_kbps.len() || s.iter().any(|&b| b <= 0.0))
        {
            return Err(TitleError::Invalid(format!(
                "segment {i} does not have one positive size per rendition"
            )));
        }
        Ok(())
    }

    /// The first `n` segments (the suites cut titles to a length).
    pub fn truncated(mut self, n: usize) -> Self {
        self.segment_sizes_bits.truncate(n.max(1));
        self
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.segment_sizes_bits.len()
    }

    /// Whether there is no segment.
    pub fn is_empty(&self) -> bool {
        self.segment_sizes_bits.is_empty()
    }

    /// Ladder in bit/s.
    pub fn ladder_bps(&self) -> Vec<u64> {
        self.bitrates_kbps
            .iter()
            .map(|k| (k * 1000.0) as u64)
            .collect()
    }
}
