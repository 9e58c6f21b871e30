//! Live streams: the live edge and window, and the reloaded manifest merged into the playing one.

use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;

use super::{Session, SessionError};
use crate::events::PlayerEvent;
use crate::manifest;
use crate::presentation::{Presentation, Segment, SegmentIndex};

/// Live manifest reloads in flight (at most one).
pub(super) type Reloads =
    FuturesUnordered<BoxFuture<'static, Result<Presentation, manifest::ManifestError>>>;

impl Session {
    /// Reloads a live manifest when its reload interval is up (from the current pathway).
    pub(super) fn request_reload(&self, reloads: &mut Reloads) {
        if !self.presentation.live
            || !reloads.is_empty()
            || self.reload_due.is_none_or(|t| Instant::now() < t)
        {
            return;
        }
        let fetcher = self.fetcher.clone();
        let url = self.presentation.url.clone();
        let pathway = self.pathways.current().map(str::to_owned);
        reloads.push(Box::pin(async move {
            manifest::load(&fetcher, &url, pathway.as_deref()).await
        }));
    }

    /// End of the newest segment every stream has (live edge).
    pub(super) fn live_edge_s(&self) -> f64 {
        self.streams
            .iter()
            .filter_map(|s| self.track(s).representations.first())
            .filter_map(|r| r.segment_list().last().map(Segment::end_s))
            .fold(f64::INFINITY, f64::min)
            .min(f64::MAX)
    }

    /// Start of the oldest segment every stream still has (live window).
    pub(super) fn live_window_start_s(&self) -> f64 {
        self.streams
            .iter()
            .filter_map(|s| self.track(s).representations.first())
            .filter_map(|r| r.segment_list().first().map(|s| s.start_s))
            .fold(0.0, f64::max)
    }

    /// Takes a reloaded live manifest: new segments are appended (times kept continuous by
    /// matching segment numbers), and the end of the stream is noticed.
    pub(super) fn on_reload(
        &mut self,
        reloaded: Result<Presentation, manifest::ManifestError>,
    ) -> Result<(), SessionError> {
        let interval = self.presentation.reload_interval_s.unwrap_or(4.0).max(1.0);
        self.reload_due = Some(Instant::now() + Duration::from_secs_f64(interval));
        let fresh = match reloaded {
            Ok(p) => p,
            Err(e) => {
                self.reload_failures += 1;
                if self.reload_failures >= 5 {
                    return Err(SessionError::Manifest(format!(
                        "the live manifest could not be reloaded: {e}"
                    )));
                }
                self.emitter.emit(PlayerEvent::Warning {
                    message: format!("live manifest reload failed ({e}); trying again"),
                });
                return Ok(());
            }
        };
        self.reload_failures = 0;
        merge_live(&mut self.presentation, fresh);
        if self.presentation.live {
            self.check_live_edge_moves(interval)?;
        }
        if !self.presentation.live {
            self.duration_s = self.presentation.duration_s.unwrap_or(self.duration_s);
            self.emitter.emit(PlayerEvent::Warning {
                message: "the live stream has ended; playing to its last segment".into(),
            });
        }
        Ok(())
    }
}

impl Session {
    /// Ends a live stream whose edge has not moved for
    /// [`super::PlayerConfig::live_stuck_target_durations`] target durations: its source has
    /// stopped, and waiting at the edge would show a spinner for ever.
    fn check_live_edge_moves(&mut self, target_s: f64) -> Result<(), SessionError> {
        let (edge, now) = (self.live_edge_s(), Instant::now());
        match self.live_edge_moved {
            Some((last, _)) if edge <= last + 1e-6 => {}
            _ => {
                self.live_edge_moved = Some((edge, now));
                return Ok(());
            }
        }
        let window = self.config.live_stuck_target_durations * target_s;
        let since = self
            .live_edge_moved
            .map_or(0.0, |(_, at)| (now - at).as_secs_f64());
        if since >= window {
            let window = if window.fract() == 0.0 {
                format!("{window:.0} s")
            } else {
                format!("{window:.1} s")
            };
            return Err(SessionError::Manifest(format!(
                "live stream stalled: no new segment in {window}"
            )));
        }
        Ok(())
    }
}

/// Copies the segment lists of a reloaded live presentation into the current one, shifting the
/// new times so segments seen before keep their start (HLS playlists restart time at their first
/// segment), and takes its live flag. A reload with another shape (tracks, renditions) is ignored.
fn merge_live(current: &mut Presentation, fresh: Presentation) {
    let same_shape = current.periods.len() == fresh.periods.len()
        && current.periods.iter().zip(&fresh.periods).all(|(a, b)| {
            a.tracks.len() == b.tracks.len()
                && a.tracks
                    .iter()
                    .zip(&b.tracks)
                    .all(|(x, y)| x.representations.len() == y.representations.len())
        });
    if !same_shape {
        tracing::warn!("a live reload changed the stream's shape; keeping the old one");
        return;
    }
    for (pa, pb) in current.periods.iter_mut().zip(fresh.periods) {
        for (ta, tb) in pa.tracks.iter_mut().zip(pb.tracks) {
            for (ra, rb) in ta.representations.iter_mut().zip(tb.representations) {
                let SegmentIndex::Listed(mut new) = rb.segments else {
                    continue;
                };
                let old = ra.segment_list();
                let shift = new
                    .iter()
                    .find_map(|n| {
                        old.iter()
                            .find(|o| o.number == n.number)
                            .map(|o| o.start_s - n.start_s)
                    })
                    .or_else(|| {
                        // No overlap: continue right after the last known segment.
                        old.last()
                            .zip(new.first())
                            .map(|(o, n)| o.end_s() - n.start_s)
                    })
                    .unwrap_or(0.0);
                for s in &mut new {
                    s.start_s += shift;
                }
                ra.segments = SegmentIndex::Listed(new);
            }
        }
    }
    current.live = fresh.live;
    if !fresh.live {
        current.duration_s = current
            .periods
            .iter()
            .flat_map(|p| p.tracks.iter())
            .filter_map(|t| t.representations.first())
            .filter_map(|r| r.segment_list().last().map(Segment::end_s))
            .reduce(f64::max);
    }
}
