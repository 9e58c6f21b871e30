//! The title's audio tracks: the source's own audio, or the files given with
//! `--audio LANG[:NAME]=FILE,…` (each in its language, in place of the source's), or, for the
//! synthetic title, an English and a French track whose tones are a fifth apart. Each becomes
//! one AAC rendition; the manifests offer them as alternatives (HLS `EXT-X-MEDIA` in one audio
//! group, DASH one `AdaptationSet` per language with `@lang`).

use std::path::PathBuf;

use super::EncodeError;
use super::subtitles::parse_labelled;

/// An audio file to package as a track in a language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioInput {
    /// BCP 47 language tag (`en`, `pt-BR`).
    pub language: String,
    /// What menus call it (`English`); the language tag unless given.
    pub name: String,
    /// A file GStreamer can decode audio from (its video, if any, is ignored).
    pub path: PathBuf,
}

impl AudioInput {
    /// Parses a comma-separated list of `LANG[:NAME]=FILE` (`en:English=a.m4a,fr=b.wav`).
    pub fn parse_list(spec: &str) -> Result<Vec<AudioInput>, EncodeError> {
        Ok(parse_labelled(spec, "audio", "en=english.m4a")?
            .into_iter()
            .map(|(language, name, path)| AudioInput {
                language,
                name,
                path,
            })
            .collect())
    }
}

/// The synthetic title's tracks: language, name, and the factor on the scene tones.
pub const SYNTHETIC: [(&str, &str, f64); 2] = [("en", "English", 1.0), ("fr", "Français", 1.5)];

/// Where a track's sound comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum AudioSource {
    /// The source's own audio (the synthetic title's tones as they are).
    Main,
    /// An audio file.
    File(PathBuf),
    /// The synthetic title's tones times this factor.
    Tones(f64),
}

/// One audio track to encode.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioTrack {
    /// Rendition id: `audio_aac` for the first, `audio_aac_<language>` for the others.
    pub id: String,
    /// Its language, when known.
    pub language: Option<String>,
    /// What menus call it.
    pub name: Option<String>,
    /// Where its sound comes from.
    pub source: AudioSource,
}

/// The rendition id of track `index` in `language`.
fn track_id(index: usize, language: Option<&str>) -> String {
    match (index, language) {
        (0, _) | (_, None) => "audio_aac".into(),
        (_, Some(l)) => format!("audio_aac_{}", l.to_ascii_lowercase().replace('-', "_")),
    }
}

/// The tracks of a title: the `inputs` given; else, for the synthetic source, its English and
/// French tracks; else the source's own audio, if it has any.
pub fn plan(inputs: &[AudioInput], synthetic: bool, source_has_audio: bool) -> Vec<AudioTrack> {
    if !inputs.is_empty() {
        return inputs
            .iter()
            .enumerate()
            .map(|(i, input)| AudioTrack {
                id: track_id(i, Some(&input.language)),
                language: Some(input.language.clone()),
                name: Some(input.name.clone()),
                source: AudioSource::File(input.path.clone()),
            })
            .collect();
    }
    if synthetic {
        return SYNTHETIC
            .iter()
            .enumerate()
            .map(|(i, (language, name, factor))| AudioTrack {
                id: track_id(i, Some(language)),
                language: Some(language.to_string()),
                name: Some(name.to_string()),
                source: if i == 0 {
                    AudioSource::Main
                } else {
                    AudioSource::Tones(*factor)
                },
            })
            .collect();
    }
    if source_has_audio {
        return vec![AudioTrack {
            id: track_id(0, None),
            language: None,
            name: None,
            source: AudioSource::Main,
        }];
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_parse_with_languages_and_names() {
        let inputs = AudioInput::parse_list("en:English=a.m4a, pt-BR=b.wav,").unwrap();
        assert_eq!(
            inputs,
            [
                AudioInput {
                    language: "en".into(),
                    name: "English".into(),
                    path: "a.m4a".into()
                },
                AudioInput {
                    language: "pt-BR".into(),
                    name: "pt-BR".into(),
                    path: "b.wav".into()
                }
            ]
        );
        for bad in ["a.m4a", "e n=a.m4a"] {
            assert!(AudioInput::parse_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_plan_is_the_files_given_else_two_synthetic_tracks_else_the_sources() {
        let inputs = AudioInput::parse_list("de=a.m4a,pt-BR=b.m4a").unwrap();
        let ids: Vec<_> = plan(&inputs, true, true)
            .into_iter()
            .map(|t| (t.id, t.source))
            .collect();
        assert_eq!(
            ids,
            [
                ("audio_aac".to_string(), AudioSource::File("a.m4a".into())),
                (
                    "audio_aac_pt_br".to_string(),
                    AudioSource::File("b.m4a".into())
                )
            ]
        );
        let synthetic = plan(&[], true, true);
        assert_eq!(synthetic[0].source, AudioSource::Main);
        assert_eq!(synthetic[1].source, AudioSource::Tones(1.5));
        assert_eq!(synthetic[1].language.as_deref(), Some("fr"));
        assert_eq!(plan(&[], false, true)[0].language, None);
        assert!(plan(&[], false, false).is_empty());
    }
}
