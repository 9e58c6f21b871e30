//! DASH (ISO/IEC 23009-1) MPD over the same CMAF files as the HLS playlists.
//!
//! Byte-range layout: each Representation has its file as `BaseURL` and a `SegmentList` with the
//! init segment's `range` and one `SegmentURL@mediaRange` per segment. Files layout: a
//! `SegmentTemplate` with `$Number$`. Both carry a `SegmentTimeline` with the exact durations.
//! Steered sessions get one MPD-level `BaseURL` per pathway (`@serviceLocation`) and a DASH-IF
//! `ContentSteering` element. Subtitle tracks are WebVTT sidecars, one `AdaptationSet` each.
//! Written with quick-xml's writer.

use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::{Delivery, iso_duration};
use crate::title::{Layout, MediaKind, Rendition, SubtitleTrack, TitleMeta, segment_file_name};

/// File name of the MPD in a title directory.
pub const MPD: &str = "manifest.mpd";

/// Timescale of the MPD's segment timing (milliseconds).
const TIMESCALE: u64 = 1000;

/// Writes the MPD for a title.
pub fn mpd(title: &TitleMeta, delivery: Delivery<'_>) -> String {
    write_mpd(title, delivery).expect("writing XML to a Vec cannot fail")
}

fn write_mpd(title: &TitleMeta, delivery: Delivery<'_>) -> io::Result<String> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let profile = match title.layout {
        Layout::ByteRanges => "urn:mpeg:dash:profile:isoff-main:2011",
        Layout::Files => "urn:mpeg:dash:profile:isoff-live:2011",
    };
    let duration = iso_duration(title.duration_s);
    let min_buffer = iso_duration(title.segment_duration_s);
    w.create_element("MPD")
        .with_attributes([
            ("xmlns", "urn:mpeg:dash:schema:mpd:2011"),
            ("profiles", profile),
            ("type", "static"),
            ("mediaPresentationDuration", duration.as_str()),
            ("minBufferTime", min_buffer.as_str()),
        ])
        .write_inner_content(|w| {
            if let Delivery::Steered {
                pathways,
                steering_uri,
            } = delivery
            {
                for p in pathways {
                    w.create_element("BaseURL")
                        .with_attribute(("serviceLocation", p.id.as_str()))
                        .write_text_content(BytesText::new(&p.base_url))?;
                }
                if let Some(first) = pathways.first() {
                    w.create_element("ContentSteering")
                        .with_attributes([
                            ("defaultServiceLocation", first.id.as_str()),
                            ("queryBeforeStart", "true"),
                        ])
                        .write_text_content(BytesText::new(steering_uri))?;
                }
            }
            w.create_element("Period")
                .with_attributes([("id", "0"), ("start", "PT0S")])
                .write_inner_content(|w| {
                    write_adaptation_set(w, title, 1, &title.video)?;
                    // One set per audio language: players switch between sets, not within one.
                    let mut id = 2;
                    for a in &title.audio {
                        write_adaptation_set(w, title, id, std::slice::from_ref(a))?;
                        id += 1;
                    }
                    for track in &title.subtitles {
                        write_subtitle_set(w, id, track)?;
                        id += 1;
                    }
                    Ok(())
                })?;
            Ok(())
        })?;
    let mut text = String::from_utf8(w.into_inner()).expect("quick-xml writes UTF-8");
    text.push('\n');
    Ok(text)
}

fn write_adaptation_set(
    w: &mut Writer<Vec<u8>>,
    title: &TitleMeta,
    id: u32,
    renditions: &[Rendition],
) -> io::Result<()> {
    let Some(first) = renditions.first() else {
        return Ok(());
    };
    let id = id.to_string();
    let mut attrs: Vec<(&str, String)> = vec![("id", id)];
    match first.kind {
        MediaKind::Video => {
            let max_w = renditions.iter().filter_map(|r| r.width).max().unwrap_or(0);
            let max_h = renditions
                .iter()
                .filter_map(|r| r.height)
                .max()
                .unwrap_or(0);
            attrs.extend([
                ("contentType", "video".into()),
                ("mimeType", "video/mp4".into()),
                ("segmentAlignment", "true".into()),
                ("startWithSAP", "1".into()),
                ("maxWidth", max_w.to_string()),
                ("maxHeight", max_h.to_string()),
                ("par", "16:9".into()),
            ]);
            if let Some(fps) = first.frame_rate {
                attrs.push(("maxFrameRate", fps.to_string()));
            }
        }
        MediaKind::Audio => attrs.extend([
            ("contentType", "audio".into()),
            ("mimeType", "audio/mp4".into()),
            (
                "lang",
                first.language.clone().unwrap_or_else(|| "und".into()),
            ),
            ("segmentAlignment", "true".into()),
            ("startWithSAP", "1".into()),
        ]),
    }
    if first.kind == MediaKind::Video {
        // `par` is only right for 16:9 sources; drop it otherwise.
        let ratio = first.width.unwrap_or(16) as f64 / first.height.unwrap_or(9).max(1) as f64;
        if (ratio - 16.0 / 9.0).abs() > 0.02 {
            attrs.retain(|(k, _)| *k != "par");
        }
    }
    let main_audio = title.audio.first().map(|a| a.id.as_str());
    w.create_element("AdaptationSet")
        .with_attributes(attrs.iter().map(|(k, v)| (*k, v.as_str())))
        .write_inner_content(|w| {
            if first.kind == MediaKind::Audio {
                w.create_element("Label")
                    .write_text_content(BytesText::new(&super::hls::audio_name(first)))?;
                let role = if main_audio == Some(first.id.as_str()) {
                    "main"
                } else {
                    "dub"
                };
                w.create_element("Role")
                    .with_attributes([("schemeIdUri", "urn:mpeg:dash:role:2011"), ("value", role)])
                    .write_empty()?;
            }
            for r in renditions {
                write_representation(w, title, r)?;
            }
            Ok(())
        })?;
    Ok(())
}

/// A subtitle track as a sidecar: one WebVTT file, the whole title long.
fn write_subtitle_set(w: &mut Writer<Vec<u8>>, id: u32, track: &SubtitleTrack) -> io::Result<()> {
    let id = id.to_string();
    let bandwidth = track.peak_bitrate().to_string();
    w.create_element("AdaptationSet")
        .with_attributes([
            ("id", id.as_str()),
            ("contentType", "text"),
            ("mimeType", "text/vtt"),
            ("lang", track.language.as_str()),
        ])
        .write_inner_content(|w| {
            w.create_element("Label")
                .write_text_content(BytesText::new(&track.name))?;
            w.create_element("Role")
                .with_attributes([
                    ("schemeIdUri", "urn:mpeg:dash:role:2011"),
                    ("value", "subtitle"),
                ])
                .write_empty()?;
            w.create_element("Representation")
                .with_attributes([("id", track.id.as_str()), ("bandwidth", bandwidth.as_str())])
                .write_inner_content(|w| {
                    w.create_element("BaseURL")
                        .write_text_content(BytesText::new(&track.sidecar_file()))?;
                    Ok(())
                })?;
            Ok(())
        })?;
    Ok(())
}

fn write_representation(
    w: &mut Writer<Vec<u8>>,
    title: &TitleMeta,
    r: &Rendition,
) -> io::Result<()> {
    let mut attrs: Vec<(&str, String)> = vec![
        ("id", r.id.clone()),
        ("bandwidth", r.peak_bitrate.to_string()),
        ("codecs", r.codecs.clone()),
    ];
    if let (Some(width), Some(height)) = (r.width, r.height) {
        attrs.extend([
            ("width", width.to_string()),
            ("height", height.to_string()),
            ("sar", "1:1".into()),
        ]);
    }
    if let Some(fps) = r.frame_rate {
        attrs.push(("frameRate", fps.to_string()));
    }
    if let Some(rate) = r.sample_rate {
        attrs.push(("audioSamplingRate", rate.to_string()));
    }
    w.create_element("Representation")
        .with_attributes(attrs.iter().map(|(k, v)| (*k, v.as_str())))
        .write_inner_content(|w| {
            if let Some(channels) = r.channels {
                w.create_element("AudioChannelConfiguration")
                    .with_attributes([
                        (
                            "schemeIdUri",
                            "urn:mpeg:dash:23003:3:audio_channel_configuration:2011",
                        ),
                        ("value", channels.to_string().as_str()),
                    ])
                    .write_empty()?;
            }
            match title.layout {
                Layout::ByteRanges => {
                    w.create_element("BaseURL")
                        .write_text_content(BytesText::new(&r.media_file()))?;
                    let init_range = format!("{}-{}", r.init.offset, r.init.last_byte());
                    w.create_element("SegmentList")
                        .with_attribute(("timescale", TIMESCALE.to_string().as_str()))
                        .write_inner_content(|w| {
                            w.create_element("Initialization")
                                .with_attribute(("range", init_range.as_str()))
                                .write_empty()?;
                            write_timeline(w, r)?;
                            for s in &r.segments {
                                let range = format!("{}-{}", s.range.offset, s.range.last_byte());
                                w.create_element("SegmentURL")
                                    .with_attribute(("mediaRange", range.as_str()))
                                    .write_empty()?;
                            }
                            Ok(())
                        })?;
                }
                Layout::Files => {
                    let media = format!(
                        "{}/{}",
                        r.id,
                        segment_file_name(0).replace("00000", "$Number%05d$")
                    );
                    let init = r.init_path(Layout::Files);
                    w.create_element("SegmentTemplate")
                        .with_attributes([
                            ("timescale", TIMESCALE.to_string().as_str()),
                            ("initialization", init.as_str()),
                            ("media", media.as_str()),
                            ("startNumber", "1"),
                        ])
                        .write_inner_content(|w| write_timeline(w, r))?;
                }
            }
            Ok(())
        })?;
    Ok(())
}

/// `SegmentTimeline` with run-length coded durations in [`TIMESCALE`] units. Times are rounded
/// from each segment's start, so rounding never accumulates.
fn write_timeline(w: &mut Writer<Vec<u8>>, r: &Rendition) -> io::Result<()> {
    let ticks = |s: f64| (s * TIMESCALE as f64).round() as u64;
    let starts: Vec<u64> = r.segments.iter().map(|s| ticks(s.start_s)).collect();
    let durations: Vec<u64> = r
        .segments
        .iter()
        .enumerate()
        .map(|(i, s)| match starts.get(i + 1) {
            Some(next) => next - starts[i],
            None => ticks(s.start_s + s.duration_s) - starts[i],
        })
        .collect();
    w.create_element("SegmentTimeline")
        .write_inner_content(|w| {
            let mut i = 0;
            while i < durations.len() {
                let d = durations[i];
                let run = durations[i..].iter().take_while(|&&x| x == d).count();
                let t = starts[i].to_string();
                let d_text = d.to_string();
                let mut s = w.create_element("S");
                if i == 0 {
                    s = s.with_attribute(("t", t.as_str()));
                }
                s = s.with_attribute(("d", d_text.as_str()));
                let repeat = (run - 1).to_string();
                if run > 1 {
                    s = s.with_attribute(("r", repeat.as_str()));
                }
                s.write_empty()?;
                i += run;
            }
            Ok(())
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::title::tests::sample_title;
    use reel_protocol::Pathway;

    #[test]
    fn byte_range_mpd_parses_and_lists_media_ranges() {
        let t = sample_title(Layout::ByteRanges);
        let text = mpd(&t, Delivery::Local);
        let parsed = dash_mpd_core::parse(&text).expect("our MPD parses");
        let period = &parsed.periods[0];
        assert_eq!(period.adaptations.len(), 3);
        let subtitles = &period.adaptations[2];
        assert_eq!(subtitles.mimeType.as_deref(), Some("text/vtt"));
        assert_eq!(subtitles.lang.as_deref(), Some("en"));
        let sidecar = &subtitles.representations[0];
        assert_eq!(sidecar.BaseURL[0].base, "subtitles_en.vtt");
        assert!(text.contains("<Label>English</Label>"), "{text}");
        // 100 bytes in the 2 s segment.
        assert_eq!(sidecar.bandwidth, Some(400));
        let rep = &period.adaptations[0].representations[1];
        assert_eq!(rep.id.as_deref(), Some("video_720p"));
        assert_eq!(rep.bandwidth, Some(3_300_000));
        let list = rep.SegmentList.as_ref().unwrap();
        assert_eq!(list.segment_urls.len(), 3);
        assert_eq!(
            list.segment_urls[0].mediaRange.as_deref(),
            Some("1000-5999")
        );
        assert_eq!(
            list.Initialization.as_ref().unwrap().range.as_deref(),
            Some("0-999")
        );
        assert!(text.contains("<S t=\"0\" d=\"4000\" r=\"1\"/>"), "{text}");
        assert!(text.contains("<S d=\"2000\"/>"), "{text}");
        assert!(text.contains("mediaPresentationDuration=\"PT10.000S\""));
    }

    #[test]
    fn files_mpd_uses_a_number_template() {
        let t = sample_title(Layout::Files);
        let text = mpd(&t, Delivery::Local);
        assert!(
            text.contains("media=\"video_240p/seg_$Number%05d$.m4s\""),
            "{text}"
        );
        assert!(text.contains("initialization=\"video_240p/init.mp4\""));
        dash_mpd_core::parse(&text).expect("our MPD parses");
    }

    #[test]
    fn steered_mpd_has_a_base_url_per_pathway_and_content_steering() {
        let t = sample_title(Layout::ByteRanges);
        let pathways = vec![
            Pathway {
                id: "oca-a".into(),
                base_url: "http://127.0.0.1:1/demo/".into(),
            },
            Pathway {
                id: "oca-b".into(),
                base_url: "http://127.0.0.1:2/demo/".into(),
            },
        ];
        let text = mpd(
            &t,
            Delivery::Steered {
                pathways: &pathways,
                steering_uri: "http://127.0.0.1:3/v1/steering/s1",
            },
        );
        assert!(text.contains(
            "<ContentSteering defaultServiceLocation=\"oca-a\" queryBeforeStart=\"true\">http://127.0.0.1:3/v1/steering/s1</ContentSteering>"
        ), "{text}");
        let parsed = dash_mpd_core::parse(&text).unwrap();
        assert_eq!(parsed.base_url.len(), 2);
        assert_eq!(parsed.base_url[1].serviceLocation.as_deref(), Some("oca-b"));
    }
}
