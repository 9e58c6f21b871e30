//! Scheduling and request building: which stream fetches next and at which rendition (the ABR's
//! choice, then the viewer's cap or pin and any forced step down), and the request itself —
//! init and media, in one request when they sit side by side, with CMCD, a time budget taken
//! from the buffer, abandonment of a download that would outlast it, and the AES-128 key of an
//! encrypted segment.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use abr::ThroughputSample;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use reqwest::header::HeaderMap;
use url::Url;

use super::{Emitter, Session, Stream};
use crate::cmcd::{CmcdRequest, CmcdSession, SegmentRequest};
use crate::events::{PlayerEvent, PlayerState};
use crate::fetch::{FetchError, Fetcher, Progress};
use crate::presentation::{ByteRange, MediaKind, Representation, Resource, Segment};

/// The downloads in flight.
pub(super) type InFlight = FuturesUnordered<BoxFuture<'static, Fetch>>;

/// A finished request: what was asked for, and what came back.
pub(super) struct Fetch {
    pub(super) kind: MediaKind,
    /// The pathway the request went to (`None`: the default, unsteered location).
    pub(super) pathway: Option<String>,
    pub(super) epoch: u64,
    pub(super) part: usize,
    pub(super) rendition: usize,
    pub(super) segment: Segment,
    pub(super) result: Result<Downloaded, FetchError>,
}

/// What a segment request brought back.
#[derive(Clone)]
pub(super) struct Downloaded {
    /// The init segment, when the rendition has one (fetched, or from the cache).
    pub(super) init: Option<Bytes>,
    pub(super) media: Bytes,
    pub(super) sample: ThroughputSample,
    /// The AES-128 key (its URL, the key) and IV the media is encrypted with, when it is.
    pub(super) key: Option<(Url, Bytes, [u8; 16])>,
}

/// Keys fetched this session, by URL: a key serves every segment until the playlist rotates it.
pub(super) type KeyCache = Arc<Mutex<HashMap<Url, Bytes>>>;

impl Session {
    /// Starts the next download of every stream that wants one.
    pub(super) fn schedule(&mut self, inflight: &mut InFlight) {
        let position = self.sink.position_s();
        for i in 0..self.streams.len() {
            if self.streams[i].in_flight || self.streams[i].done {
                continue;
            }
            if self.streams[i].gate.waiting_to_retry(self.now_s()) {
                continue;
            }
            if self
                .segment_at(&self.streams[i], self.streams[i].rendition)
                .is_none()
            {
                // This part is exhausted: next period, the end, or (live) wait for a reload.
                let s = &mut self.streams[i];
                if s.part + 1 < s.parts.len() {
                    s.part += 1;
                    s.rendition = 0;
                } else if !self.presentation.live {
                    s.done = true;
                    let kind = s.kind;
                    self.sink.end_of_stream(kind);
                }
                continue;
            }
            let ahead = self.streams[i].buffered_end_s - position;
            if !self.streams[i].gate.wants_more(ahead, &self.config.buffer) {
                continue;
            }
            let rendition = if self.streams[i].kind == self.adaptive_kind() {
                self.choose_rendition(i, ahead)
            } else {
                0
            };
            self.start_fetch(i, rendition, inflight);
        }
    }

    fn choose_rendition(&mut self, i: usize, buffer_s: f64) -> usize {
        let ladder = self.ladder(&self.streams[i]);
        let last = self.streams[i].pushed_init.as_ref().map(|p| p.rendition);
        let (upcoming, segment_duration_s, segment) = self.upcoming_sizes(i, 5);
        let decision = self.config.abr.choose(&abr::Context {
            ladder: &ladder,
            buffer_s,
            max_buffer_s: self.config.buffer.high_watermark_s,
            segment_duration_s,
            history: &self.history,
            last_choice: last,
            segment,
            upcoming_sizes_bits: &upcoming,
            rebuffer_weight: self.config.rebuffer_weight,
        });
        let mut choice = decision.rendition.min(ladder.len().saturating_sub(1));
        let mut reason = decision.reason;
        if let Some(cap) = self.cap_bps {
            let allowed = ladder.iter().rposition(|&b| b <= cap).unwrap_or(0);
            if choice > allowed {
                choice = allowed;
                reason = format!("{reason}; capped at {} kbit/s", cap / 1000);
            }
        }
        if let Some(pin) = self.pinned {
            choice = pin.min(ladder.len().saturating_sub(1));
            reason = "pinned by the viewer".into();
        }
        if let Some(limit) = self.streams[i].gate.force_below
            && choice > limit
        {
            choice = limit;
            reason = format!("{reason}; the segment failed at a higher rendition");
        }
        let stream = &self.streams[i];
        let segment = self.segment_at(stream, choice).map_or(0, |s| s.number);
        self.emitter.emit(PlayerEvent::AbrDecision {
            segment,
            rendition: choice,
            bitrate: ladder.get(choice).copied().unwrap_or(0),
            algorithm: self.config.abr.name().into(),
            reason: reason.clone(),
        });
        if last != Some(choice) {
            self.emitter.emit(PlayerEvent::RenditionSwitch {
                from: last,
                to: choice,
                reason,
            });
        }
        choice
    }

    /// Sizes (bits) of the next `n` segments of stream `i` at every rendition — from the manifest
    /// or index where known, else bitrate × duration — with the nominal segment duration and the
    /// index of the next segment.
    fn upcoming_sizes(&self, i: usize, n: usize) -> (Vec<Vec<f64>>, f64, usize) {
        let stream = &self.streams[i];
        let track = self.track(stream);
        let lists: Vec<&[Segment]> = track
            .representations
            .iter()
            .map(|r| r.segment_list())
            .collect();
        let first = lists[0]
            .iter()
            .position(|s| s.start_s + s.duration_s / 2.0 > stream.next_start_s)
            .unwrap_or(lists[0].len());
        let duration = lists[0].get(first).map_or(4.0, |s| s.duration_s.max(0.1));
        let sizes = (first..(first + n).min(lists[0].len()))
            .map(|k| {
                track
                    .representations
                    .iter()
                    .zip(&lists)
                    .map(|(r, list)| {
                        list.get(k)
                            .and_then(|s| s.size.map(|b| b as f64 * 8.0))
                            .unwrap_or(r.nominal_bitrate() as f64 * duration)
                    })
                    .collect()
            })
            .collect();
        (sizes, duration, first)
    }

    fn segment_at(&self, stream: &Stream, rendition: usize) -> Option<Segment> {
        let track = self.track(stream);
        let rep = track
            .representations
            .get(rendition.min(track.representations.len() - 1))?;
        next_segment(rep.segment_list(), stream.next_start_s).cloned()
    }

    /// Where stream `i`'s next segment can be fetched, for the `wanted` rendition: there, else
    /// at the highest rendition below it that has the segment with media (a rendition may lack
    /// it: unaddressable, shorter after a live reload, or an `EXT-X-GAP`). Never above: `wanted`
    /// already holds the viewer's cap or pin and any step down after a failure. `Err` with the
    /// segment when it is a gap at every rendition up to `wanted`.
    fn fetchable(&self, i: usize, wanted: usize) -> Option<Result<(usize, Segment), Segment>> {
        let stream = &self.streams[i];
        let reps = &self.track(stream).representations;
        let wanted = wanted.min(reps.len() - 1);
        let mut gap = None;
        for r in (0..=wanted).rev() {
            let Some(segment) = next_segment(reps[r].segment_list(), stream.next_start_s) else {
                continue;
            };
            if !segment.gap {
                return Some(Ok((r, segment.clone())));
            }
            gap.get_or_insert_with(|| segment.clone());
        }
        gap.map(Err)
    }

    /// Starts the download of stream `i`'s next segment at `rendition` (or another rendition that
    /// has it: [`Session::fetchable`]), first skipping segments that are gaps everywhere.
    fn start_fetch(&mut self, i: usize, rendition: usize, inflight: &mut InFlight) {
        while let Some(Err(gap)) = self.fetchable(i, rendition) {
            self.skip_segment(
                i,
                &gap,
                "no media at this rendition or below (EXT-X-GAP)".into(),
            );
        }
        let Some(request) = self.plan_request(i, rendition) else {
            return;
        };
        self.starved = false;
        self.streams[i].in_flight = true;
        inflight.push(Box::pin(
            request.run(self.fetcher.clone(), self.emitter.clone()),
        ));
    }

    /// Everything the download of stream `i`'s next segment needs, taken from the session.
    fn plan_request(&mut self, i: usize, rendition: usize) -> Option<Request> {
        let pathway = self.pathways.current().map(str::to_owned);
        let position_s = self.sink.position_s();
        let throughput = self.throughput_estimate();
        let (wanted, (rendition, segment)) = (rendition, self.fetchable(i, rendition)?.ok()?);
        let stream = &self.streams[i];
        let track = self.track(stream);
        if self
            .segment_at(stream, wanted)
            .is_some_and(|s| s.gap && s.number == segment.number)
        {
            self.emitter.emit(PlayerEvent::Downswitch {
                segment: segment.number,
                from: wanted,
                to: rendition,
                reason: "no media at this rendition (EXT-X-GAP)".into(),
            });
        }
        let rep = &track.representations[rendition];
        let media_url = rep.url(&segment.resource, pathway.as_deref());
        let init = segment
            .init
            .as_ref()
            .and_then(|init| rep.url(init, pathway.as_deref()).map(|u| (u, init.range)));
        let cached_init = init
            .as_ref()
            .and_then(|(u, r)| self.init_cache.get(&init_cache_key(u, *r)).cloned());
        let key = segment.key.as_ref().map(|k| {
            let resource = Resource {
                uri: k.uri.clone(),
                range: None,
            };
            (rep.url(&resource, pathway.as_deref()), k.uri.clone(), k.iv)
        });
        let buffer_s = (stream.buffered_end_s - position_s).max(0.0);
        let cmcd = self.cmcd.clone().map(|session| {
            let next = next_segment(rep.segment_list(), segment.end_s());
            let next_url = next.and_then(|n| rep.url(&n.resource, pathway.as_deref()));
            let request = CmcdRequest::for_segment(&SegmentRequest {
                kind: stream.kind,
                bitrate_bps: rep.nominal_bitrate(),
                top_bitrate_bps: track
                    .representations
                    .iter()
                    .map(Representation::nominal_bitrate)
                    .max()
                    .unwrap_or(0),
                duration_s: segment.duration_s,
                buffer_s,
                throughput_bps: throughput,
                url: media_url.as_ref(),
                next_url: next_url.as_ref(),
                next_range: next.and_then(|n| n.resource.range),
                starved: self.starved,
                startup: !self.first_frame_seen || self.state == PlayerState::Buffering,
            });
            (session, request)
        });
        // A segment asked for by byte range may not run past it (more is the server's fault,
        // [`BYTE_RANGE`]); any other may be a few times what its rendition declares, or the
        // track's top rendition when it declares nothing (HLS audio renditions).
        let declared = match rep.bandwidth {
            0 => track.representations.iter().map(|r| r.bandwidth).max(),
            bps => Some(bps),
        };
        let size_limit = segment.resource.range.map_or_else(
            || {
                self.fetcher
                    .config()
                    .segment_limit(declared.unwrap_or(0), segment.duration_s)
            },
            |r| r.length,
        );
        Some(Request {
            size_limit,
            kind: stream.kind,
            part: stream.part,
            epoch: self.epoch,
            can_abandon: stream.kind == self.adaptive_kind() && rendition > 0,
            rendition,
            segment,
            pathway,
            media_url,
            init,
            cached_init,
            key,
            keys: self.keys.clone(),
            buffer_s,
            cmcd,
        })
    }
}

/// What a body over its limit is called when it is the content's fault (a segment far larger
/// than its rendition declares: the same on every pathway, so none is blamed, and a lower
/// rendition is tried) …
pub(super) const OVERSIZED_SEGMENT: &str = "segment";
/// … and when it is the server's (more bytes than a byte range asked for, a key page: another
/// pathway may do better).
const BYTE_RANGE: &str = "byte range";

/// One segment request, planned: it owns what it needs, so it runs apart from the session.
struct Request {
    kind: MediaKind,
    part: usize,
    epoch: u64,
    rendition: usize,
    segment: Segment,
    /// The pathway it goes to (`None`: the default, unsteered location).
    pathway: Option<String>,
    /// `None` when the segment's URL cannot be resolved (the download fails, saying so).
    media_url: Option<Url>,
    /// The init segment's URL and byte range, when the rendition has one.
    init: Option<(Url, Option<ByteRange>)>,
    /// The init segment, when an earlier request already fetched it.
    cached_init: Option<Bytes>,
    /// The segment's key: its URL (`None` when it cannot be resolved), URI and IV.
    key: Option<(Option<Url>, String, [u8; 16])>,
    keys: KeyCache,
    /// Media buffered ahead of the play position when the request was planned, seconds.
    buffer_s: f64,
    /// A download too slow for the buffer may be abandoned (video above the lowest rendition).
    can_abandon: bool,
    /// Largest body accepted for the segment (and for its init segment), bytes.
    size_limit: u64,
    cmcd: Option<(CmcdSession, CmcdRequest)>,
}

impl Request {
    /// Downloads, and reports what was asked for with what came back.
    async fn run(self, fetcher: Fetcher, emitter: Emitter) -> Fetch {
        let result = self.download(&fetcher, &emitter).await;
        Fetch {
            kind: self.kind,
            pathway: self.pathway,
            epoch: self.epoch,
            part: self.part,
            rendition: self.rendition,
            segment: self.segment,
            result,
        }
    }

    /// Time budget: a request may not outlast the buffer (less a margin) before the session
    /// moves to another pathway; with no buffer to protect, the configured timeouts apply.
    fn budget(&self) -> Option<Duration> {
        (self.buffer_s > 1.5).then(|| Duration::from_secs_f64(self.buffer_s - 1.0))
    }

    /// The URL and headers a request for `url` goes out with, CMCD included.
    fn with_cmcd(&self, url: &Url, init: bool) -> (Url, HeaderMap) {
        match &self.cmcd {
            None => (url.clone(), HeaderMap::new()),
            Some((session, request)) if init => session.apply(url, &request.for_init()),
            Some((session, request)) => session.apply(url, request),
        }
    }

    /// The byte range of the init segment and the media segment together, when the init
    /// directly precedes the media in the same file (the byte-range layout) and is not cached:
    /// one request for both saves a round trip at start-up and on every rendition switch.
    fn init_and_media_range(&self, media_url: &Url) -> Option<(ByteRange, usize)> {
        let (init_url, Some(init_range)) = self.init.as_ref()? else {
            return None;
        };
        let media_range = self.segment.resource.range?;
        (self.cached_init.is_none()
            && init_url == media_url
            && init_range.offset + init_range.length == media_range.offset)
            .then_some((
                ByteRange {
                    offset: init_range.offset,
                    length: init_range.length + media_range.length,
                },
                init_range.length as usize,
            ))
    }

    /// Abandons a download that would outlast the buffer by far (the next request goes lower),
    /// once it has run long enough to judge; `first_byte` is when its first bytes arrived.
    fn progress(&self, bytes: u64, elapsed: Duration, first_byte: Duration) -> Progress {
        let Some(total) = self.segment.size else {
            return Progress::Continue;
        };
        let rule = abr::abandon::AbandonRule::default();
        if self.can_abandon
            && rule.should_abandon(
                elapsed.as_secs_f64(),
                first_byte.as_secs_f64(),
                bytes,
                total,
                self.buffer_s,
            )
        {
            Progress::Abandon
        } else {
            Progress::Continue
        }
    }

    /// The init segment (unless cached) and the media segment, with retries within the budget.
    async fn download(
        &self,
        fetcher: &Fetcher,
        emitter: &Emitter,
    ) -> Result<Downloaded, FetchError> {
        let Some(media_url) = &self.media_url else {
            return Err(FetchError::Body {
                url: self.segment.resource.uri.clone(),
                reason: "cannot resolve the segment URL".into(),
            });
        };
        let on_retry = |attempt: u32, e: &FetchError| {
            emitter.emit(PlayerEvent::Retry {
                url: media_url.to_string(),
                attempt,
                error: e.to_string(),
            })
        };
        let budget = self.budget();
        // The key first: a media download is not thrown away for a key that cannot be had.
        let key = self.fetch_key(fetcher, budget).await?;
        if let Some((both, split)) = self.init_and_media_range(media_url) {
            let (url, headers) = self.with_cmcd(media_url, false);
            let fetched = fetcher
                .get(&url)
                .range(Some(both))
                .limit(BYTE_RANGE, both.length)
                .headers(headers)
                .budget(budget)
                .on_retry(on_retry)
                .send()
                .await?;
            return Ok(Downloaded {
                init: Some(fetched.body.slice(..split)),
                media: fetched.body.slice(split..),
                sample: fetched.sample,
                key,
            });
        }
        let init = match (&self.init, &self.cached_init) {
            (_, Some(bytes)) => Some(bytes.clone()),
            (Some((url, range)), None) => {
                let (url, headers) = self.with_cmcd(url, true);
                let fetched = fetcher
                    .get(&url)
                    .range(*range)
                    .limit(
                        BYTE_RANGE,
                        range.map_or(fetcher.config().min_segment_limit_bytes, |r| r.length),
                    )
                    .headers(headers)
                    .budget(budget)
                    .on_retry(on_retry)
                    .send()
                    .await?;
                Some(fetched.body)
            }
            (None, None) => None,
        };
        let (url, headers) = self.with_cmcd(media_url, false);
        // When each attempt's first bytes arrived: a retry counts its bytes from zero again.
        let (mut first_byte, mut received) = (Duration::ZERO, 0);
        let media = fetcher
            .get(&url)
            .range(self.segment.resource.range)
            .limit(
                match self.segment.resource.range {
                    Some(_) => BYTE_RANGE,
                    None => OVERSIZED_SEGMENT,
                },
                self.size_limit,
            )
            .headers(headers)
            .budget(budget)
            .on_progress(|bytes, elapsed| {
                if received == 0 || bytes <= received {
                    first_byte = elapsed;
                }
                received = bytes;
                self.progress(bytes, elapsed, first_byte)
            })
            .on_retry(on_retry)
            .send()
            .await?;
        Ok(Downloaded {
            init,
            media: media.body,
            sample: media.sample,
            key,
        })
    }

    /// The segment's AES-128 key (fetched like any request, on the same pathway, once a
    /// session) and IV, when it is encrypted.
    async fn fetch_key(
        &self,
        fetcher: &Fetcher,
        budget: Option<Duration>,
    ) -> Result<Option<(Url, Bytes, [u8; 16])>, FetchError> {
        let Some((url, uri, iv)) = &self.key else {
            return Ok(None);
        };
        let Some(url) = url else {
            return Err(FetchError::Body {
                url: uri.clone(),
                reason: "cannot resolve the key URL".into(),
            });
        };
        let cached = self.keys.lock().expect("key cache").get(url).cloned();
        let key = match cached {
            Some(key) => key,
            None => {
                // A key is 16 bytes: a page of anything else is not read past 1 KiB.
                let key = fetcher
                    .get(url)
                    .limit("key", 1024)
                    .budget(budget)
                    .send()
                    .await?
                    .body;
                // An error page served with 200 is not kept as the key.
                if key.len() != 16 {
                    return Err(FetchError::Body {
                        url: url.to_string(),
                        reason: format!("an AES-128 key is 16 bytes, this one {}", key.len()),
                    });
                }
                self.keys
                    .lock()
                    .expect("key cache")
                    .insert(url.clone(), key.clone());
                key
            }
        };
        Ok(Some((url.clone(), key, *iv)))
    }
}

/// The first segment from `start_s` on (a segment counts once most of it lies after `start_s`,
/// which tolerates small misalignments between renditions and rounding in manifests).
pub(super) fn next_segment(segments: &[Segment], start_s: f64) -> Option<&Segment> {
    segments
        .iter()
        .find(|s| s.start_s + s.duration_s / 2.0 > start_s)
}

pub(super) fn init_cache_key(url: &Url, range: Option<ByteRange>) -> String {
    match range {
        Some(r) => format!("{url}#{}-{}", r.offset, r.length),
        None => url.to_string(),
    }
}
