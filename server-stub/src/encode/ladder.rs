//! The bitrate ladder: which video renditions to encode, from the defaults, a TOML file, the
//! command line, or measured from the title itself (`--ladder auto`).

use std::path::Path;

use serde::{Deserialize, Serialize};

/// One rung of the video ladder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rung {
    /// Frame height in pixels; the width follows the source's aspect ratio.
    pub height: u32,
    /// Bitrate cap in kbit/s (x264 encodes at constant quality under this cap).
    pub bitrate_kbps: u32,
}

impl Rung {
    /// Rendition identifier, e.g. `video_720p`.
    pub fn id(&self) -> String {
        format!("video_{}p", self.height)
    }

    /// Frame width for a source aspect ratio (width / height), rounded to an even number.
    pub fn width_for(&self, aspect: f64) -> u32 {
        let w = (self.height as f64 * aspect).round() as u32;
        (w + 1) & !1
    }
}

/// A ladder file (TOML): `audio_bitrate_kbps` and a list of `[[rung]]` tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ladder {
    /// Video rungs, any order (sorted by bitrate when used).
    #[serde(rename = "rung")]
    pub rungs: Vec<Rung>,
    /// AAC bitrate in kbit/s.
    #[serde(default = "default_audio_kbps")]
    pub audio_bitrate_kbps: u32,
}

fn default_audio_kbps() -> u32 {
    128
}

/// Errors building a ladder.
#[derive(Debug, thiserror::Error)]
pub enum LadderError {
    /// The ladder file could not be read.
    #[error("cannot read ladder file {0}: {1}")]
    Io(String, std::io::Error),
    /// The ladder file is not valid TOML of the expected shape.
    #[error("ladder file {0}: {1}")]
    Toml(String, toml::de::Error),
    /// A `--rungs` item is not `HEIGHT:KBPS`.
    #[error("bad rung {0:?}: expected HEIGHT:KBPS, e.g. 720:3000")]
    BadRung(String),
    /// The ladder is unusable.
    #[error("{0}")]
    Invalid(String),
}

impl Default for Ladder {
    /// Five H.264 rungs from 240p at 300 kbit/s to 1080p at 6 Mbit/s, and 128 kbit/s AAC.
    fn default() -> Self {
        let rung = |height, bitrate_kbps| Rung {
            height,
            bitrate_kbps,
        };
        Ladder {
            rungs: vec![
                rung(240, 300),
                rung(360, 750),
                rung(480, 1500),
                rung(720, 3000),
                rung(1080, 6000),
            ],
            audio_bitrate_kbps: default_audio_kbps(),
        }
    }
}

impl Ladder {
    /// Reads a TOML ladder file.
    pub fn from_file(path: &Path) -> Result<Self, LadderError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| LadderError::Io(shown.clone(), e))?;
        let ladder: Ladder = toml::from_str(&text).map_err(|e| LadderError::Toml(shown, e))?;
        ladder.validated()
    }

    /// Parses `--rungs 240:300,720:3000` (height:kbit/s pairs).
    pub fn from_cli(spec: &str, audio_bitrate_kbps: u32) -> Result<Self, LadderError> {
        let rungs = spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|item| {
                let (h, b) = item
                    .split_once(':')
                    .ok_or_else(|| LadderError::BadRung(item.into()))?;
                let height = h
                    .trim_end_matches('p')
                    .parse()
                    .map_err(|_| LadderError::BadRung(item.into()))?;
                let bitrate_kbps = b.parse().map_err(|_| LadderError::BadRung(item.into()))?;
                Ok(Rung {
                    height,
                    bitrate_kbps,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ladder {
            rungs,
            audio_bitrate_kbps,
        }
        .validated()
    }

    /// Sorts the rungs by bitrate and checks they make sense.
    pub fn validated(mut self) -> Result<Self, LadderError> {
        if self.rungs.is_empty() {
            return Err(LadderError::Invalid("the ladder has no rungs".into()));
        }
        for r in &self.rungs {
            if r.height < 64 || r.height > 4320 || r.height % 2 == 1 {
                return Err(LadderError::Invalid(format!(
                    "rung height {} must be even and within 64..=4320",
                    r.height
                )));
            }
            if !(50..=200_000).contains(&r.bitrate_kbps) {
                return Err(LadderError::Invalid(format!(
                    "rung {}p: {} kbit/s is outside 50..=200000 kbit/s",
                    r.height, r.bitrate_kbps
                )));
            }
        }
        if !(8..=512).contains(&self.audio_bitrate_kbps) {
            return Err(LadderError::Invalid(format!(
                "audio bitrate {} kbit/s is outside 8..=512",
                self.audio_bitrate_kbps
            )));
        }
        self.rungs.sort_by_key(|r| (r.bitrate_kbps, r.height));
        let mut ids: Vec<_> = self.rungs.iter().map(|r| r.height).collect();
        ids.sort();
        ids.dedup();
        if ids.len() != self.rungs.len() {
            return Err(LadderError::Invalid(
                "two rungs have the same height; each height may appear once".into(),
            ));
        }
        Ok(self)
    }

    /// Keeps only the rungs no taller than the source (no upscaling); always keeps the lowest.
    pub fn fitted_to_source(mut self, source_height: u32) -> Self {
        let lowest = self.rungs[0].clone();
        self.rungs.retain(|r| r.height <= source_height);
        if self.rungs.is_empty() {
            self.rungs.push(Rung {
                height: source_height.min(lowest.height) & !1,
                ..lowest
            });
        }
        self
    }
}

/// The outcome of `--ladder auto`: the chosen ladder and one line per rung saying why.
#[derive(Debug, Clone)]
pub struct AutoLadder {
    /// The ladder to encode.
    pub ladder: Ladder,
    /// Human-readable reasoning, one line per rung.
    pub explanation: Vec<String>,
}

/// Height of the constant-quality trial encode that measures a title's complexity.
pub const TRIAL_HEIGHT: u32 = 540;

/// Bits a 540p constant-quality (CRF 23) encode of "typical" content needs, in kbit/s. The default
/// ladder is sized for content around this complexity.
pub const REFERENCE_TRIAL_KBPS: f64 = 1600.0;

/// Chooses rung bitrates from a constant-quality trial encode at `trial_height` (normally
/// [`TRIAL_HEIGHT`], less for smaller sources).
///
/// The bits a rung needs for the same quality are estimated from the trial by scaling with the
/// pixel count to the power 0.75 (bits grow slower than pixels), plus 15 % headroom; each rung then
/// gets that estimate, bounded above by the default ladder's cap and below by 35 % of it so the
/// lowest rungs stay usable. Rungs that end within 15 % of the rung below are dropped, as they would
/// cost storage without giving the player a real choice.
pub fn auto_ladder(base: &Ladder, trial_kbps: f64, trial_height: u32) -> AutoLadder {
    // What typical content would need at the trial's size, for the explanation.
    let typical = REFERENCE_TRIAL_KBPS
        * (trial_height.max(2) as f64 / TRIAL_HEIGHT as f64)
            .powi(2)
            .powf(0.75);
    let complexity = trial_kbps / typical;
    let mut explanation = vec![format!(
        "trial encode at {trial_height}p, constant quality: {trial_kbps:.0} kbit/s \
         (typical content: {typical:.0}); complexity {complexity:.2}"
    )];
    let mut rungs: Vec<Rung> = Vec::new();
    for r in &base.rungs {
        let scale = (r.height as f64 / trial_height.max(2) as f64)
            .powi(2)
            .powf(0.75);
        let needed = trial_kbps * scale * 1.15;
        let cap = r.bitrate_kbps as f64;
        let chosen = needed.clamp(cap * 0.35, cap).round() as u32;
        let why = if needed >= cap {
            "needs more than the cap: kept the cap"
        } else if needed <= cap * 0.35 {
            "very easy: floor of 35 % of the cap"
        } else {
            "estimate below the cap: saved bits"
        };
        if let Some(prev) = rungs.last()
            && (chosen as f64) < prev.bitrate_kbps as f64 * 1.15
        {
            explanation.push(format!(
                "{}p: estimate {:.0} kbit/s is within 15 % of {}p: dropped",
                r.height, needed, prev.height
            ));
            continue;
        }
        explanation.push(format!(
            "{}p: default cap {} kbit/s, estimate {:.0} kbit/s -> {} kbit/s ({why})",
            r.height, r.bitrate_kbps, needed, chosen
        ));
        rungs.push(Rung {
            height: r.height,
            bitrate_kbps: chosen,
        });
    }
    AutoLadder {
        ladder: Ladder {
            rungs,
            audio_bitrate_kbps: base.audio_bitrate_kbps,
        },
        explanation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ladder_spans_240p_300k_to_1080p_6m() {
        let l = Ladder::default().validated().unwrap();
        assert_eq!(l.rungs.len(), 5);
        assert_eq!((l.rungs[0].height, l.rungs[0].bitrate_kbps), (240, 300));
        assert_eq!((l.rungs[4].height, l.rungs[4].bitrate_kbps), (1080, 6000));
    }

    #[test]
    fn cli_rungs_are_parsed_and_sorted() {
        let l = Ladder::from_cli("720p:3000, 240:300", 96).unwrap();
        assert_eq!(l.rungs[0].id(), "video_240p");
        assert_eq!(l.rungs[1].bitrate_kbps, 3000);
        assert_eq!(l.audio_bitrate_kbps, 96);
        let err = Ladder::from_cli("720-3000", 96).unwrap_err().to_string();
        assert!(err.contains("HEIGHT:KBPS"), "{err}");
    }

    #[test]
    fn ladder_file_is_read_from_toml() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ladder.toml");
        std::fs::write(
            &path,
            "audio_bitrate_kbps = 64\n[[rung]]\nheight = 360\nbitrate_kbps = 800\n",
        )
        .unwrap();
        let l = Ladder::from_file(&path).unwrap();
        assert_eq!(
            l.rungs,
            vec![Rung {
                height: 360,
                bitrate_kbps: 800
            }]
        );
        std::fs::write(&path, "[[rung]]\nheight = 'x'\n").unwrap();
        assert!(Ladder::from_file(&path).is_err());
    }

    #[test]
    fn odd_or_duplicate_heights_are_refused() {
        assert!(Ladder::from_cli("241:300", 128).is_err());
        assert!(Ladder::from_cli("240:300,240:600", 128).is_err());
    }

    #[test]
    fn width_follows_aspect_and_is_even() {
        let r = Rung {
            height: 240,
            bitrate_kbps: 300,
        };
        assert_eq!(r.width_for(16.0 / 9.0), 428);
        assert_eq!(r.width_for(4.0 / 3.0), 320);
    }

    #[test]
    fn no_upscaling_past_the_source() {
        let l = Ladder::default().fitted_to_source(720);
        assert_eq!(l.rungs.last().unwrap().height, 720);
        let tiny = Ladder::default().fitted_to_source(144);
        assert_eq!(tiny.rungs.len(), 1);
        assert_eq!(tiny.rungs[0].height, 144);
    }

    #[test]
    fn easy_content_gets_fewer_bits_than_hard_content() {
        let base = Ladder::default();
        let easy = auto_ladder(&base, 300.0, TRIAL_HEIGHT);
        let hard = auto_ladder(&base, 5000.0, TRIAL_HEIGHT);
        let top = |a: &AutoLadder| a.ladder.rungs.last().unwrap().bitrate_kbps;
        assert!(top(&easy) < top(&hard));
        assert_eq!(top(&hard), 6000, "hard content keeps the default cap");
        let easy_total: u32 = easy.ladder.rungs.iter().map(|r| r.bitrate_kbps).sum();
        let default_total: u32 = base.rungs.iter().map(|r| r.bitrate_kbps).sum();
        assert!(
            easy_total * 2 < default_total,
            "{easy_total} vs {default_total}"
        );
        assert!(easy.explanation.len() > base.rungs.len());
        // rungs stay strictly increasing
        for w in easy.ladder.rungs.windows(2) {
            assert!(w[1].bitrate_kbps as f64 >= w[0].bitrate_kbps as f64 * 1.15);
        }
    }
}
