//! The session's side of subtitles: the track chosen (by `PlayerConfig::subtitle_language`, or
//! the viewer's command), its index and segments (after their init segment, for fragmented MP4
//! tracks) fetched from the current pathway beside the media, and the text under the playhead
//! reported as it changes.

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;

use super::Session;
use super::subtitles::{Next, Subtitles, TextFormat};
use crate::events::PlayerEvent;
use crate::manifest;
use crate::presentation::{MediaKind, Resource, Segment, SegmentIndex};

/// Subtitle requests in flight: one for the track shown, and any left over from a track left.
pub(super) type TextFetches = FuturesUnordered<BoxFuture<'static, TextFetch>>;

/// A finished subtitle request.
pub(super) struct TextFetch {
    /// The selection it was made for; those of an earlier one are dropped.
    generation: u64,
    result: TextResult,
}

/// A segment's bytes, after its init segment's when that was fetched first.
type TextBodies = (Option<(Resource, Bytes)>, Bytes);

enum TextResult {
    Index(Result<Vec<Segment>, String>),
    Segment(usize, Result<TextBodies, String>),
}

impl Session {
    /// The first period's subtitle tracks, by index among its tracks (the order of
    /// `ManifestLoaded::text_tracks`), each with its format or why it is not shown.
    fn text_tracks(&self) -> Vec<(usize, Result<TextFormat, String>)> {
        self.presentation.periods[0]
            .tracks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.kind == MediaKind::Text)
            .map(|(i, t)| {
                let rep = t.representations.first();
                let format = TextFormat::of(
                    rep.and_then(|r| r.mime_type.as_deref()),
                    rep.and_then(|r| r.codecs.as_deref()),
                );
                (i, format)
            })
            .collect()
    }

    /// Chooses subtitles at the start: the track in the configured language, else none.
    pub(super) fn choose_subtitles(&mut self) {
        let tracks = &self.presentation.periods[0].tracks;
        let index = self.config.subtitle_language.as_deref().and_then(|wanted| {
            let wanted = wanted.to_ascii_lowercase();
            self.text_tracks().iter().position(|(t, format)| {
                format.is_ok()
                    && tracks[*t]
                        .language
                        .as_deref()
                        .is_some_and(|l| l.to_ascii_lowercase().starts_with(&wanted))
            })
        });
        self.set_subtitles(index);
    }

    /// Shows the `index`th subtitle track, or (`None`) none; what was done, or `None` (with a
    /// warning) when there is no such track.
    pub(super) fn set_subtitles(&mut self, index: Option<usize>) -> Option<String> {
        let tracks = self.text_tracks();
        let track = match index {
            Some(i) => match tracks.get(i) {
                Some((t, Ok(format))) => Some((*t, *format)),
                Some((_, Err(why))) => {
                    self.emitter.emit(PlayerEvent::Warning {
                        message: format!("subtitle track {i} is not shown: {why}"),
                    });
                    return None;
                }
                None => {
                    self.emitter.emit(PlayerEvent::Warning {
                        message: format!("there is no subtitle track {i}"),
                    });
                    return None;
                }
            },
            None => None,
        };
        self.subtitle_generation += 1;
        if self.subtitles.as_ref().is_some_and(Subtitles::showing) {
            let position_s = self.sink.position_s();
            self.emitter.emit(PlayerEvent::Subtitle {
                text: None,
                position_s,
            });
        }
        let period = &self.presentation.periods[0];
        self.subtitles = track.map(|(t, format)| {
            let listed = match period.tracks[t]
                .representations
                .first()
                .map(|r| &r.segments)
            {
                Some(SegmentIndex::Listed(s)) => Some(s.clone()),
                _ => None,
            };
            Subtitles::new(t, format, listed)
        });
        let language = track.and_then(|(t, _)| period.tracks[t].language.clone());
        let description = match (index, &language) {
            (None, _) => "subtitles off".to_string(),
            (Some(i), Some(l)) => format!("subtitles {l} (track {i})"),
            (Some(i), None) => format!("subtitles track {i}"),
        };
        self.emitter
            .emit(PlayerEvent::SubtitlesSelected { index, language });
        Some(description)
    }

    /// Starts the next subtitle request, when one is due and none is in flight for the track
    /// shown (one for a track left is dropped when it ends).
    pub(super) fn schedule_subtitles(&mut self, fetches: &mut TextFetches) {
        if self.subtitles.is_none() {
            return;
        }
        let t = self.sink.position_s();
        let now = self.now_s();
        let pathway = self.pathways.current().map(str::to_owned);
        let Some(subs) = &mut self.subtitles else {
            return;
        };
        let Some(next) = subs.next_fetch(t, now) else {
            return;
        };
        let rep = self.presentation.periods[0].tracks[subs.track]
            .representations
            .first()
            .cloned();
        let fetcher = self.fetcher.clone();
        let generation = self.subtitle_generation;
        let segment = match next {
            Next::Segment(n) => subs
                .segment(n)
                .cloned()
                .map(|s| (n, s, subs.init_needed(n))),
            Next::Index => None,
        };
        fetches.push(Box::pin(async move {
            let result = match (rep, segment) {
                (None, _) => TextResult::Index(Err("the track has no representation".into())),
                (Some(rep), None) => TextResult::Index(
                    manifest::load_text_index(&fetcher, &rep, pathway.as_deref())
                        .await
                        .map_err(|e| e.to_string()),
                ),
                (Some(rep), Some((n, segment, init))) => {
                    // Subtitles declare no bitrate: a cue file is held to the floor.
                    let most = fetcher.config().min_segment_limit_bytes;
                    let get = |resource: Resource| {
                        let (fetcher, rep, pathway) = (&fetcher, &rep, pathway.as_deref());
                        async move {
                            match rep.url(&resource, pathway) {
                                Some(url) => fetcher
                                    .get(&url)
                                    .range(resource.range)
                                    .limit(
                                        "subtitle segment",
                                        resource.range.map_or(most, |r| r.length),
                                    )
                                    .send()
                                    .await
                                    .map(|r| r.body)
                                    .map_err(|e| e.to_string()),
                                None => Err(format!("{} has no URL", resource.uri)),
                            }
                        }
                    };
                    let init = match init {
                        Some(resource) => get(resource.clone())
                            .await
                            .map(|bytes| Some((resource, bytes)))
                            .map_err(|e| format!("init segment: {e}")),
                        None => Ok(None),
                    };
                    let bodies = match init {
                        Ok(init) => get(segment.resource).await.map(|body| (init, body)),
                        Err(e) => Err(e),
                    };
                    TextResult::Segment(n, bodies)
                }
            };
            TextFetch { generation, result }
        }));
    }

    /// A subtitle request ended: the index or cues go in; a failure is retried, and warned
    /// about when given up on (the title plays on without those subtitles).
    pub(super) fn on_text_fetched(&mut self, done: TextFetch) {
        if done.generation != self.subtitle_generation {
            return;
        }
        let now = self.now_s();
        let Some(subs) = &mut self.subtitles else {
            return;
        };
        let warning = match done.result {
            TextResult::Index(Ok(segments)) => {
                subs.indexed(segments);
                None
            }
            TextResult::Index(Err(e)) => subs
                .index_failed(now)
                .then(|| format!("subtitles unavailable: {e}")),
            TextResult::Segment(n, Ok((init, body))) => subs
                .fetched(n, init.as_ref().map(|(r, b)| (r.clone(), &b[..])), &body)
                .err()
                .map(|e| format!("subtitle segment {} skipped: {e}", n + 1)),
            TextResult::Segment(n, Err(e)) => subs
                .failed(n, now)
                .then(|| format!("subtitle segment {} skipped: {e}", n + 1)),
        };
        if let Some(message) = warning {
            self.emitter.emit(PlayerEvent::Warning { message });
        }
    }

    /// Reports the subtitle text under the playhead when it changes.
    pub(super) fn show_subtitles(&mut self) {
        if self.subtitles.is_none() {
            return;
        }
        let position_s = self.sink.position_s();
        if let Some(text) = self
            .subtitles
            .as_mut()
            .and_then(|s| s.changed_text(position_s))
        {
            self.emitter
                .emit(PlayerEvent::Subtitle { text, position_s });
        }
    }
}
