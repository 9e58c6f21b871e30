//! A sink that decodes nothing and only follows the playback clock: the playhead advances in
//! real time while playing, never past what was pushed.

use std::collections::HashMap;
use std::time::Instant;

use super::{Chunk, Sink, SinkError};
use crate::presentation::MediaKind;

/// Follows the clock over what was pushed; counts one "frame" per `frame_s` of video played.
#[derive(Debug)]
pub struct NullSink {
    buffered_end: HashMap<MediaKind, f64>,
    ended: HashMap<MediaKind, bool>,
    /// Playhead when the clock was last started or set.
    base_s: f64,
    started: Option<Instant>,
    first_started: Option<Instant>,
    frame_s: f64,
    rate: f64,
}

impl NullSink {
    /// A sink counting frames at `fps` (for reports only).
    pub fn new(fps: f64) -> Self {
        NullSink {
            buffered_end: HashMap::new(),
            ended: HashMap::new(),
            base_s: 0.0,
            started: None,
            first_started: None,
            frame_s: 1.0 / fps.max(1.0),
            rate: 1.0,
        }
    }

    /// The same sink playing `rate` times faster than real time (for tests and simulations that
    /// want a long session in a short time; the buffer drains at the same rate).
    pub fn with_rate(mut self, rate: f64) -> Self {
        self.rate = rate.max(0.01);
        self
    }

    fn running_s(&self) -> f64 {
        self.started
            .map_or(0.0, |s| s.elapsed().as_secs_f64() * self.rate)
    }

    /// How far the clock may run: the end of the shortest input still receiving data, or the
    /// end of the longest once every input has ended.
    fn limit(&self) -> f64 {
        let open = self
            .buffered_end
            .iter()
            .filter(|(k, _)| !self.ended.get(*k).copied().unwrap_or(false))
            .map(|(_, &end)| end)
            .reduce(f64::min);
        open.or_else(|| self.buffered_end.values().copied().reduce(f64::max))
            .unwrap_or(0.0)
    }
}

impl Default for NullSink {
    fn default() -> Self {
        NullSink::new(30.0)
    }
}

impl Sink for NullSink {
    fn configure(&mut self, inputs: &[(MediaKind, Option<String>)]) -> Result<(), SinkError> {
        for (kind, _) in inputs {
            self.buffered_end.insert(*kind, self.base_s);
            self.ended.insert(*kind, false);
        }
        Ok(())
    }

    fn push(&mut self, chunk: Chunk) -> Result<(), SinkError> {
        if !chunk.init {
            let end = self.buffered_end.entry(chunk.kind).or_insert(chunk.start_s);
            *end = end.max(chunk.start_s + chunk.duration_s);
        }
        Ok(())
    }

    fn end_of_stream(&mut self, kind: MediaKind) {
        self.ended.insert(kind, true);
    }

    fn play(&mut self) {
        if self.started.is_none() {
            self.started = Some(Instant::now());
            self.first_started.get_or_insert_with(Instant::now);
        }
    }

    fn pause(&mut self) {
        self.base_s = self.position_s();
        self.started = None;
    }

    fn seek(&mut self, position_s: f64) -> Result<(), SinkError> {
        let playing = self.started.is_some();
        self.base_s = position_s;
        self.started = playing.then(Instant::now);
        for end in self.buffered_end.values_mut() {
            *end = position_s;
        }
        for e in self.ended.values_mut() {
            *e = false;
        }
        Ok(())
    }

    fn position_s(&mut self) -> f64 {
        let running = self.running_s();
        let pos = (self.base_s + running).min(self.limit().max(self.base_s));
        if self.started.is_some() && self.base_s + running > pos {
            // The clock ran into the end of the data: hold it there (a stall).
            self.base_s = pos;
            self.started = Some(Instant::now());
        }
        pos
    }

    fn finished(&mut self) -> bool {
        !self.ended.is_empty()
            && self.ended.values().all(|e| *e)
            && self.position_s() >= self.limit() - 1e-6
    }

    fn take_error(&mut self) -> Option<SinkError> {
        None
    }

    fn first_frame_at(&self) -> Option<Instant> {
        // The first "frame" is shown as soon as the clock starts over some data.
        self.first_started.filter(|_| self.limit() > 0.0)
    }

    fn frames_presented(&self) -> u64 {
        let pos = self.base_s + self.running_s();
        (pos.min(self.limit()) / self.frame_s).floor().max(0.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(start_s: f64) -> Chunk {
        Chunk {
            kind: MediaKind::Video,
            data: bytes::Bytes::new(),
            init: false,
            start_s,
            duration_s: 1.0,
            media_offset_s: 0.0,
        }
    }

    #[test]
    fn the_clock_never_passes_the_data() {
        let mut s = NullSink::default();
        s.configure(&[(MediaKind::Video, None)]).unwrap();
        s.push(chunk(0.0)).unwrap();
        assert_eq!(s.position_s(), 0.0, "paused until play");
        s.play();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let p = s.position_s();
        assert!(p > 0.0 && p <= 1.0);
        s.seek(5.0).unwrap();
        assert!((s.position_s() - 5.0).abs() < 0.01, "no data past 5 s yet");
        s.push(chunk(5.0)).unwrap();
        s.end_of_stream(MediaKind::Video);
        assert!(!s.finished());
    }
}
