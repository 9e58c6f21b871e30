//! Commands from the viewer or the embedding app (play, pause, seek, bitrate cap and pin,
//! audio track, pathway, ABR algorithm, volume, stop), applied to the running session.

use super::Session;
use crate::events::{Command, PlayerEvent, PlayerState};
use crate::presentation::MediaKind;

impl Session {
    /// Applies a command; returns `true` to stop.
    pub(super) fn on_command(&mut self, c: Command) -> Result<bool, String> {
        let description = match c {
            Command::Stop => return Ok(true),
            Command::Pause => {
                if let Some(s) = self.stall_started.take() {
                    self.emitter.emit(PlayerEvent::StallEnd {
                        stalled_s: s.elapsed().as_secs_f64(),
                    });
                }
                self.paused_by_viewer = true;
                self.sink.pause();
                self.set_state(PlayerState::Paused);
                "paused".to_string()
            }
            Command::Play => {
                self.paused_by_viewer = false;
                if self.state == PlayerState::Paused {
                    self.set_state(PlayerState::Buffering);
                }
                "resumed".to_string()
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
                format!("seek to {t:.1} s")
            }
            Command::SeekBy(d) => {
                let t = self.sink.position_s() + d;
                self.seek(t)?;
                format!("seek by {d:+.0} s")
            }
            Command::CapBitrate(cap) => {
                self.cap_bps = cap;
                match cap {
                    Some(c) => format!("bitrate capped at {} kbit/s", c / 1000),
                    None => "bitrate cap lifted".into(),
                }
            }
            Command::PinRendition(pin) => {
                self.pinned = pin;
                match pin {
                    Some(p) => format!("rung {} pinned", p + 1),
                    None => "automatic rendition choice".into(),
                }
            }
            Command::SetPathway(wanted) => {
                let now = self.now_s();
                let mut order = self.pathways.order().to_vec();
                let current = self.pathways.current().map(str::to_owned);
                let target = match wanted {
                    Some(id) if order.contains(&id) => id,
                    Some(id) => {
                        self.emitter.emit(PlayerEvent::Warning {
                            message: format!("there is no pathway {id:?}"),
                        });
                        return Ok(false);
                    }
                    None => {
                        // The next usable pathway after the current one, in priority order.
                        let at = current
                            .as_ref()
                            .and_then(|c| order.iter().position(|p| p == c))
                            .unwrap_or(0);
                        let n = order.len().max(1);
                        let Some(next) = (1..=order.len())
                            .map(|k| order[(at + k) % n].clone())
                            .find(|p| !self.pathways.is_penalized(p, now))
                        else {
                            return Ok(false);
                        };
                        next
                    }
                };
                if self.pathways.is_penalized(&target, now) {
                    self.emitter.emit(PlayerEvent::Warning {
                        message: format!("pathway {target} is penalized after failures"),
                    });
                    return Ok(false);
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
                format!("pathway {target}")
            }
            Command::SetVolume { volume, muted } => {
                self.sink.set_volume(volume, muted);
                if muted {
                    "muted".to_string()
                } else {
                    format!("volume {:.0} %", volume.clamp(0.0, 1.0) * 100.0)
                }
            }
            Command::SetAbr(name) => {
                let Some(abr) = abr::by_name(&name) else {
                    self.emitter.emit(PlayerEvent::Warning {
                        message: format!(
                            "unknown ABR algorithm {name:?}: use {}",
                            abr::ALGORITHMS.join(", ")
                        ),
                    });
                    return Ok(false);
                };
                self.config.abr = abr;
                format!("ABR algorithm {name}")
            }
            Command::SelectAudio(index) => {
                let tracks: Vec<usize> = self.presentation.periods[0]
                    .tracks
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.kind == MediaKind::Audio)
                    .map(|(i, _)| i)
                    .collect();
                let Some(&track) = tracks.get(index) else {
                    self.emitter.emit(PlayerEvent::Warning {
                        message: format!("there is no audio track {index}"),
                    });
                    return Ok(false);
                };
                if let Some(s) = self.streams.iter_mut().find(|s| s.kind == MediaKind::Audio) {
                    s.parts[0].1 = track;
                }
                let t = self.sink.position_s();
                self.seek(t)?;
                format!("audio track {index}")
            }
        };
        self.emitter
            .emit(PlayerEvent::CommandApplied { description });
        Ok(false)
    }

    pub(super) fn seek(&mut self, t: f64) -> Result<(), String> {
        let end = if self.duration_s > 0.0 {
            (self.duration_s - 0.5).max(0.0)
        } else {
            f64::MAX
        };
        let t = t.clamp(0.0, end);
        self.epoch += 1;
        self.position_streams(t);
        self.sink.seek(t).map_err(|e| e.to_string())?;
        if let Some(s) = self.stall_started.take() {
            // A seek during a stall ends it (the viewer moved on).
            self.emitter.emit(PlayerEvent::StallEnd {
                stalled_s: s.elapsed().as_secs_f64(),
            });
        }
        if !self.paused_by_viewer {
            self.sink.pause();
            self.set_state(PlayerState::Buffering);
        }
        self.emitter.emit(PlayerEvent::Seeked { position_s: t });
        Ok(())
    }
}
