//! Commands from the viewer or the embedding app (play, pause, seek, bitrate cap and pin,
//! audio and subtitle track, pathway, ABR algorithm, volume, stop), applied to the running
//! session.

use super::{Session, SessionError};
use crate::events::{Command, PlayerEvent, PlayerState};
use crate::presentation::MediaKind;

impl Session {
    /// Applies a command; returns `true` to stop. A command applied is reported with what it
    /// did; one that cannot be (an unknown pathway, track or algorithm) is warned about instead.
    pub(super) fn on_command(&mut self, c: Command) -> Result<bool, SessionError> {
        let applied = match c {
            Command::Stop => return Ok(true),
            Command::Pause => Some(self.pause_for_viewer()),
            Command::Play => {
                self.paused_by_viewer = false;
                if self.state == PlayerState::Paused {
                    self.set_state(PlayerState::Buffering);
                }
                Some("resumed".to_string())
            }
            Command::TogglePause => {
                return self.on_command(if self.paused_by_viewer {
                    Command::Play
                } else {
                    Command::Pause
                });
            }
            Command::Seek(t) => {
                self.seek(t)?;
                Some(format!("seek to {t:.1} s"))
            }
            Command::SeekBy(d) => {
                let t = self.sink.position_s() + d;
                self.seek(t)?;
                Some(format!("seek by {d:+.0} s"))
            }
            Command::CapBitrate(cap) => {
                self.cap_bps = cap;
                Some(match cap {
                    Some(c) => format!("bitrate capped at {} kbit/s", c / 1000),
                    None => "bitrate cap lifted".into(),
                })
            }
            Command::PinRendition(pin) => {
                self.pinned = pin;
                Some(match pin {
                    Some(p) => format!("rung {} pinned", p + 1),
                    None => "automatic rendition choice".into(),
                })
            }
            Command::SetPathway(wanted) => self.set_pathway(wanted),
            Command::SetVolume { volume, muted } => {
                self.sink.set_volume(volume, muted);
                Some(if muted {
                    "muted".to_string()
                } else {
                    format!("volume {:.0} %", volume.clamp(0.0, 1.0) * 100.0)
                })
            }
            Command::SetAbr(name) => self.set_abr(&name),
            Command::SelectAudio(index) => self.select_audio(index)?,
            Command::SelectSubtitles(index) => self.set_subtitles(index),
        };
        if let Some(description) = applied {
            self.emitter
                .emit(PlayerEvent::CommandApplied { description });
        }
        Ok(false)
    }

    fn warn(&self, message: String) {
        self.emitter.emit(PlayerEvent::Warning { message });
    }

    /// Pauses until the viewer resumes (a stall under way ends: the viewer, not the network,
    /// holds playback now).
    fn pause_for_viewer(&mut self) -> String {
        let now = self.now_s();
        if let Some(stalled_s) = self.playback.rebuffer(now) {
            self.emitter.emit(PlayerEvent::StallEnd { stalled_s });
        }
        self.paused_by_viewer = true;
        self.sink.pause();
        self.set_state(PlayerState::Paused);
        "paused".to_string()
    }

    /// Moves to the pathway `wanted`, or (`None`) to the next usable one after the current one,
    /// by putting it first in the priority order.
    fn set_pathway(&mut self, wanted: Option<String>) -> Option<String> {
        let now = self.now_s();
        let mut order = self.pathways.order().to_vec();
        let current = self.pathways.current().map(str::to_owned);
        let target = match wanted {
            Some(id) if order.contains(&id) => id,
            Some(id) => {
                self.warn(format!("there is no pathway {id:?}"));
                return None;
            }
            None => {
                let at = current
                    .as_ref()
                    .and_then(|c| order.iter().position(|p| p == c))
                    .unwrap_or(0);
                let n = order.len().max(1);
                (1..=order.len())
                    .map(|k| order[(at + k) % n].clone())
                    .find(|p| !self.pathways.is_penalized(p, now))?
            }
        };
        if self.pathways.is_penalized(&target, now) {
            self.warn(format!("pathway {target} is penalized after failures"));
            return None;
        }
        order.retain(|p| *p != target);
        order.insert(0, target.clone());
        if let Some(to) = self.pathways.set_priority(order, now) {
            self.emitter.emit(PlayerEvent::PathwaySwitch {
                from: current,
                to,
                reason: "chosen by the viewer".into(),
            });
        }
        self.emit_pathways();
        Some(format!("pathway {target}"))
    }

    /// Switches the ABR algorithm for the next decisions.
    fn set_abr(&mut self, name: &str) -> Option<String> {
        let Some(abr) = abr::by_name(name) else {
            self.warn(format!(
                "unknown ABR algorithm {name:?}: use {}",
                abr::ALGORITHMS.join(", ")
            ));
            return None;
        };
        self.config.abr = abr;
        Some(format!("ABR algorithm {name}"))
    }

    /// Switches to the `index`th audio track of the first period, refetching from the play
    /// position.
    fn select_audio(&mut self, index: usize) -> Result<Option<String>, SessionError> {
        let tracks: Vec<usize> = self.presentation.periods[0]
            .tracks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.kind == MediaKind::Audio)
            .map(|(i, _)| i)
            .collect();
        let Some(&track) = tracks.get(index) else {
            self.warn(format!("there is no audio track {index}"));
            return Ok(None);
        };
        if let Some(s) = self.streams.iter_mut().find(|s| s.kind == MediaKind::Audio) {
            s.parts[0].1 = track;
        }
        self.announce_audio();
        let t = self.sink.position_s();
        self.seek(t)?;
        Ok(Some(format!("audio track {index}")))
    }

    /// Moves playback to `t` (clamped to the title), refetching from there.
    pub(super) fn seek(&mut self, t: f64) -> Result<(), SessionError> {
        let end = if self.duration_s > 0.0 {
            (self.duration_s - 0.5).max(0.0)
        } else {
            f64::MAX
        };
        let t = t.clamp(0.0, end);
        self.epoch += 1;
        self.position_streams(t);
        self.sink.seek(t)?;
        let now = self.now_s();
        if let Some(stalled_s) = self.playback.rebuffer(now) {
            // A seek during a stall ends it (the viewer moved on).
            self.emitter.emit(PlayerEvent::StallEnd { stalled_s });
        }
        if !self.paused_by_viewer {
            self.sink.pause();
            self.set_state(PlayerState::Buffering);
        }
        self.emitter.emit(PlayerEvent::Seeked { position_s: t });
        Ok(())
    }
}
