//! HLS (RFC 8216) playlists: one multivariant playlist and one media playlist per rendition, with
//! `EXT-X-MAP` init segments and, in the byte-range layout, `EXT-X-BYTERANGE` segments, and one
//! WebVTT media playlist per subtitle track (a `SUBTITLES` group). Written with m3u8-rs.

use std::collections::HashMap;

use m3u8_rs::{
    AlternativeMedia, AlternativeMediaType, ByteRange, ExtTag, Map, MasterPlaylist, MediaPlaylist,
    MediaPlaylistType, MediaSegment, QuotedOrUnquoted, Resolution, VariantStream,
};

use super::Delivery;
use crate::title::{Layout, Rendition, SubtitleTrack, TitleMeta};

/// File name of the multivariant playlist in a title directory.
pub const MULTIVARIANT: &str = "master.m3u8";

/// HLS audio group id for a pathway (each pathway gets its own group so its audio URIs point at
/// its own cache).
fn audio_group(pathway: Option<&str>) -> String {
    match pathway {
        Some(p) => format!("audio-{p}"),
        None => "audio".into(),
    }
}

/// What menus call an audio track: its name, else its language, else "Main".
pub(crate) fn audio_name(a: &Rendition) -> String {
    a.name
        .clone()
        .or_else(|| a.language.clone())
        .unwrap_or_else(|| "Main".into())
}

/// HLS subtitles group id for a pathway (one per pathway, as for audio).
fn subtitles_group(pathway: Option<&str>) -> String {
    match pathway {
        Some(p) => format!("subtitles-{p}"),
        None => "subtitles".into(),
    }
}

/// The multivariant playlist: every video rendition (and the audio and subtitles groups) once per
/// pathway.
pub fn multivariant(title: &TitleMeta, delivery: Delivery<'_>) -> String {
    let mut playlist = MasterPlaylist {
        version: Some(6),
        independent_segments: true,
        ..Default::default()
    };
    let locations: Vec<(Option<&str>, String)> = match delivery {
        Delivery::Local => vec![(None, String::new())],
        Delivery::Steered {
            pathways,
            steering_uri,
        } => {
            if let Some(first) = pathways.first() {
                playlist.unknown_tags.push(ExtTag {
                    tag: "X-CONTENT-STEERING".into(),
                    rest: Some(format!(
                        "SERVER-URI=\"{steering_uri}\",PATHWAY-ID=\"{}\"",
                        first.id
                    )),
                });
            }
            pathways
                .iter()
                .map(|p| (Some(p.id.as_str()), p.base_url.clone()))
                .collect()
        }
    };
    let audio = title.audio.first();
    // Variants carry the largest audio track's bitrate: any of them may play beside the video.
    let audio_peak = title.audio.iter().map(|a| a.peak_bitrate).max();
    let audio_average = title.audio.iter().map(|a| a.average_bitrate).max();
    for (pathway, base) in &locations {
        for (i, a) in title.audio.iter().enumerate() {
            playlist.alternatives.push(AlternativeMedia {
                media_type: AlternativeMediaType::Audio,
                uri: Some(format!("{base}{}", a.playlist_name())),
                group_id: audio_group(*pathway),
                language: Some(a.language.clone().unwrap_or_else(|| "und".into())),
                name: audio_name(a),
                default: i == 0,
                autoselect: true,
                channels: a.channels.map(|c| c.to_string()),
                ..Default::default()
            });
        }
        for t in &title.subtitles {
            playlist.alternatives.push(AlternativeMedia {
                media_type: AlternativeMediaType::Subtitles,
                uri: Some(format!("{base}{}", t.playlist_name())),
                group_id: subtitles_group(*pathway),
                language: Some(t.language.clone()),
                name: t.name.clone(),
                default: false,
                autoselect: true,
                ..Default::default()
            });
        }
        let subtitles = (!title.subtitles.is_empty()).then(|| subtitles_group(*pathway));
        for v in &title.video {
            let mut other = HashMap::new();
            if let Some(p) = pathway {
                other.insert(
                    "PATHWAY-ID".to_string(),
                    QuotedOrUnquoted::Quoted(p.to_string()),
                );
            }
            let codecs = match audio {
                Some(a) => format!("{},{}", v.codecs, a.codecs),
                None => v.codecs.clone(),
            };
            playlist.variants.push(VariantStream {
                uri: format!("{base}{}", v.playlist_name()),
                bandwidth: v.peak_bitrate + audio_peak.unwrap_or(0),
                average_bandwidth: Some(v.average_bitrate + audio_average.unwrap_or(0)),
                codecs: Some(codecs),
                resolution: match (v.width, v.height) {
                    (Some(width), Some(height)) => Some(Resolution {
                        width: width.into(),
                        height: height.into(),
                    }),
                    _ => None,
                },
                frame_rate: v.frame_rate.map(f64::from),
                audio: audio.map(|_| audio_group(*pathway)),
                subtitles: subtitles.clone(),
                other_attributes: (!other.is_empty()).then_some(other),
                ..Default::default()
            });
        }
    }
    let mut out = Vec::new();
    playlist
        .write_to(&mut out)
        .expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("m3u8-rs writes UTF-8")
}

/// The media playlist of one rendition; URIs are relative to the title directory.
pub fn media_playlist(title: &TitleMeta, rendition: &Rendition) -> String {
    let layout = title.layout;
    let byte_range = |r: &crate::title::ByteRange| ByteRange {
        length: r.length,
        offset: Some(r.offset),
    };
    let segments = rendition
        .segments
        .iter()
        .enumerate()
        .map(|(i, s)| MediaSegment {
            uri: rendition.segment_path(layout, i),
            duration: s.duration_s as f32,
            byte_range: (layout == Layout::ByteRanges).then(|| byte_range(&s.range)),
            map: (i == 0).then(|| Map {
                uri: rendition.init_path(layout),
                byte_range: (layout == Layout::ByteRanges).then(|| byte_range(&rendition.init)),
                other_attributes: Default::default(),
            }),
            ..Default::default()
        })
        .collect();
    let playlist = MediaPlaylist {
        version: Some(6),
        // RFC 8216 §4.3.3.1: each EXTINF, rounded to the nearest integer, is at most the target.
        target_duration: rendition.max_segment_duration_s().round().max(1.0) as u64,
        media_sequence: 0,
        segments,
        end_list: true,
        playlist_type: Some(MediaPlaylistType::Vod),
        independent_segments: true,
        ..Default::default()
    };
    write_media(playlist)
}

/// The WebVTT media playlist of a subtitle track; URIs are relative to the title directory.
pub fn subtitle_playlist(track: &SubtitleTrack) -> String {
    let segments = track
        .segments
        .iter()
        .enumerate()
        .map(|(i, s)| MediaSegment {
            uri: track.segment_path(i),
            duration: s.duration_s as f32,
            ..Default::default()
        })
        .collect();
    let longest = track
        .segments
        .iter()
        .map(|s| s.duration_s)
        .fold(0.0, f64::max);
    write_media(MediaPlaylist {
        version: Some(6),
        target_duration: longest.round().max(1.0) as u64,
        media_sequence: 0,
        segments,
        end_list: true,
        playlist_type: Some(MediaPlaylistType::Vod),
        ..Default::default()
    })
}

fn write_media(playlist: MediaPlaylist) -> String {
    let mut out = Vec::new();
    playlist
        .write_to(&mut out)
        .expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("m3u8-rs writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::title::tests::sample_title;
    use reel_protocol::Pathway;

    #[test]
    fn local_multivariant_lists_each_rung_once_with_audio() {
        let t = sample_title(Layout::ByteRanges);
        let text = multivariant(&t, Delivery::Local);
        let parsed = m3u8_rs::parse_master_playlist_res(text.as_bytes()).unwrap();
        assert_eq!(parsed.variants.len(), 2);
        let top = &parsed.variants[1];
        assert_eq!(top.uri, "video_720p.m3u8");
        assert_eq!(top.bandwidth, 3_300_000 + 130_000);
        assert_eq!(top.codecs.as_deref(), Some("avc1.4d401f,mp4a.40.2"));
        assert_eq!(top.audio.as_deref(), Some("audio"));
        assert_eq!(parsed.alternatives.len(), 2);
        let subtitles = &parsed.alternatives[1];
        assert_eq!(subtitles.media_type, AlternativeMediaType::Subtitles);
        assert_eq!(subtitles.uri.as_deref(), Some("subtitles_en.m3u8"));
        assert_eq!(subtitles.language.as_deref(), Some("en"));
        assert_eq!(subtitles.name, "English");
        assert!(subtitles.autoselect && !subtitles.default);
        assert_eq!(top.subtitles.as_deref(), Some("subtitles"));
        assert!(!text.contains("PATHWAY-ID"));
        assert!(!text.contains("CONTENT-STEERING"));
    }

    #[test]
    fn steered_multivariant_has_one_uri_set_per_pathway() {
        let t = sample_title(Layout::ByteRanges);
        let pathways = vec![
            Pathway {
                id: "oca-b".into(),
                base_url: "http://127.0.0.1:2/demo/".into(),
            },
            Pathway {
                id: "oca-a".into(),
                base_url: "http://127.0.0.1:1/demo/".into(),
            },
        ];
        let text = multivariant(
            &t,
            Delivery::Steered {
                pathways: &pathways,
                steering_uri: "http://127.0.0.1:3/v1/steering/s1",
            },
        );
        assert!(text.contains(
            "#EXT-X-CONTENT-STEERING:SERVER-URI=\"http://127.0.0.1:3/v1/steering/s1\",PATHWAY-ID=\"oca-b\""
        ));
        let parsed = m3u8_rs::parse_master_playlist_res(text.as_bytes()).unwrap();
        assert_eq!(parsed.variants.len(), 4);
        assert_eq!(
            parsed.variants[0].uri,
            "http://127.0.0.1:2/demo/video_240p.m3u8"
        );
        assert_eq!(parsed.variants[0].audio.as_deref(), Some("audio-oca-b"));
        assert_eq!(text.matches("PATHWAY-ID=\"oca-a\"").count(), 2);
        assert_eq!(
            parsed.alternatives[2].uri.as_deref(),
            Some("http://127.0.0.1:1/demo/audio_aac.m3u8")
        );
        assert_eq!(
            parsed.alternatives[3].uri.as_deref(),
            Some("http://127.0.0.1:1/demo/subtitles_en.m3u8")
        );
        assert_eq!(parsed.alternatives[3].group_id, "subtitles-oca-a");
        assert_eq!(
            parsed.variants[3].subtitles.as_deref(),
            Some("subtitles-oca-a")
        );
    }

    #[test]
    fn subtitle_playlist_lists_one_webvtt_file_per_segment() {
        let t = sample_title(Layout::ByteRanges);
        let text = subtitle_playlist(&t.subtitles[0]);
        let parsed = m3u8_rs::parse_media_playlist_res(text.as_bytes()).unwrap();
        let uris: Vec<&str> = parsed.segments.iter().map(|s| s.uri.as_str()).collect();
        assert_eq!(
            uris,
            [
                "subtitles_en/seg_00001.vtt",
                "subtitles_en/seg_00002.vtt",
                "subtitles_en/seg_00003.vtt"
            ]
        );
        assert_eq!(parsed.target_duration, 4);
        assert!(parsed.end_list);
        assert!(!text.contains("EXT-X-MAP"), "{text}");
    }

    #[test]
    fn byte_range_media_playlist_addresses_one_file() {
        let t = sample_title(Layout::ByteRanges);
        let text = media_playlist(&t, &t.video[0]);
        assert!(
            text.contains("#EXT-X-MAP:URI=\"video_240p.mp4\",BYTERANGE=\"1000@0\""),
            "{text}"
        );
        assert!(text.contains("#EXT-X-BYTERANGE:5000@1000"), "{text}");
        assert!(text.contains("#EXT-X-ENDLIST"));
        let parsed = m3u8_rs::parse_media_playlist_res(text.as_bytes()).unwrap();
        assert_eq!(parsed.segments.len(), 3);
        assert_eq!(parsed.target_duration, 4);
    }

    #[test]
    fn files_media_playlist_names_each_segment() {
        let t = sample_title(Layout::Files);
        let text = media_playlist(&t, &t.audio[0]);
        assert!(
            text.contains("#EXT-X-MAP:URI=\"audio_aac/init.mp4\"\n"),
            "{text}"
        );
        assert!(text.contains("audio_aac/seg_00003.m4s"));
        assert!(!text.contains("BYTERANGE"));
    }
}
