//! The level meter shown where an audio-only title has no picture: when a title counts as audio
//! only, and how each channel's level maps onto a bar. Both players draw it.

use player_core::sink::AudioLevel;

/// The quietest level the meter shows, dB of full scale: an empty bar.
pub const FLOOR_DB: f64 = -60.0;

/// Levels measured with no picture shown before a title counts as audio only (about a second:
/// at the start of a video title the sound may come a moment before the first frame).
const LEVELS_BEFORE_AUDIO_ONLY: u32 = 20;

/// One channel's bar.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelBar {
    /// `L`, `R`, `M` (mono) or the channel's number.
    pub name: String,
    /// The bar's filled share, 0 at [`FLOOR_DB`] and below, 1 at full scale.
    pub fill: f64,
    /// The peak, dB of full scale.
    pub peak_db: f64,
}

/// The newest level, and how long sound has played with no picture.
#[derive(Debug, Clone, Default)]
pub struct LevelMeter {
    latest: Option<AudioLevel>,
    without_picture: u32,
}

impl LevelMeter {
    /// Takes a new measurement; `picture` says whether a video frame has been shown.
    pub fn update(&mut self, level: AudioLevel, picture: bool) {
        self.without_picture = if picture {
            0
        } else {
            self.without_picture.saturating_add(1)
        };
        self.latest = Some(level);
    }

    /// Whether the meter takes the picture's place: no frame shown, and the ladder is an audio
    /// one or sound has played for a while without a frame (a media playlist given directly
    /// says nothing of its kind).
    pub fn audio_only(&self, ladder_is_audio: bool, picture: bool) -> bool {
        !picture && (ladder_is_audio || self.without_picture >= LEVELS_BEFORE_AUDIO_ONLY)
    }

    /// A bar per channel of the newest measurement (none before the first).
    pub fn bars(&self) -> Vec<ChannelBar> {
        let Some(level) = &self.latest else {
            return Vec::new();
        };
        let count = level.peak_db.len();
        level
            .peak_db
            .iter()
            .enumerate()
            .map(|(i, &db)| ChannelBar {
                name: match (count, i) {
                    (1, _) => "M".into(),
                    (2, 0) => "L".into(),
                    (2, _) => "R".into(),
                    _ => (i + 1).to_string(),
                },
                fill: ((db - FLOOR_DB) / -FLOOR_DB).clamp(0.0, 1.0),
                peak_db: db.max(FLOOR_DB - 0.1),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(peaks: &[f64]) -> AudioLevel {
        AudioLevel {
            peak_db: peaks.to_vec(),
            rms_db: peaks.to_vec(),
        }
    }

    #[test]
    fn bars_span_sixty_db_and_name_their_channels() {
        let mut m = LevelMeter::default();
        assert!(m.bars().is_empty());
        m.update(level(&[-18.0, 0.0]), false);
        let bars = m.bars();
        assert_eq!((bars[0].name.as_str(), bars[1].name.as_str()), ("L", "R"));
        assert!((bars[0].fill - 0.7).abs() < 1e-9);
        assert_eq!(bars[1].fill, 1.0);
        // Digital silence is −∞ dB (−700 as GStreamer reports it): an empty bar.
        m.update(level(&[-700.0]), false);
        let bars = m.bars();
        assert_eq!((bars[0].name.as_str(), bars[0].fill), ("M", 0.0));
        assert_eq!(bars[0].peak_db, -60.1);
    }

    #[test]
    fn a_title_is_audio_only_by_its_ladder_or_after_a_second_of_sound_without_picture() {
        let mut m = LevelMeter::default();
        assert!(m.audio_only(true, false));
        assert!(!m.audio_only(true, true));
        for _ in 0..19 {
            m.update(level(&[-20.0]), false);
        }
        assert!(
            !m.audio_only(false, false),
            "sound just before the first frame"
        );
        m.update(level(&[-20.0]), false);
        assert!(m.audio_only(false, false));
        m.update(level(&[-20.0]), true);
        assert!(!m.audio_only(false, true));
    }
}
