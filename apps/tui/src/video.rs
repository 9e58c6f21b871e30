//! The video pane: the newest decoded frame (GStreamer's appsink, scaled down in the pipeline)
//! drawn with the terminal's graphics protocol when it has one (kitty, sixel, iTerm2) and with
//! true-colour half-blocks otherwise, through ratatui-image. A title without a picture shows a
//! level meter there instead.

use std::sync::{Arc, Mutex};

use player_core::sink::{AudioLevel, VideoFrame};
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Style};
use ratatui::widgets::{LineGauge, Paragraph};
use ratatui_image::picker::{Picker, ProtocolType};
use ratatui_image::protocol::Protocol;
use ratatui_image::{Image, Resize};
use reel_appkit::level::LevelMeter;

/// The terminal's graphics protocol (kitty, sixel, iTerm2), asked once before the screen starts;
/// half-blocks inside tmux/screen (whose passthrough is unreliable and which may leave the query
/// unanswered, and an unanswered query would swallow key presses), or when `REEL_GRAPHICS=halfblocks`.
pub fn picker() -> Picker {
    let wanted = std::env::var("REEL_GRAPHICS").unwrap_or_default();
    let multiplexer = std::env::var_os("TMUX").is_some()
        || std::env::var("TERM").is_ok_and(|t| t.starts_with("screen") || t.starts_with("tmux"));
    if wanted == "halfblocks" || (multiplexer && wanted.is_empty()) {
        return Picker::halfblocks();
    }
    let mut picker = Picker::from_query_stdio().unwrap_or_else(|_| Picker::halfblocks());
    match wanted.as_str() {
        "kitty" => picker.set_protocol_type(ProtocolType::Kitty),
        "sixel" => picker.set_protocol_type(ProtocolType::Sixel),
        "iterm2" => picker.set_protocol_type(ProtocolType::Iterm2),
        _ => {}
    }
    picker
}

/// Where the decoder leaves the newest frame for the screen.
pub type FrameSlot = Arc<Mutex<Option<VideoFrame>>>;

/// Where the decoder leaves the newest audio level for the screen.
pub type LevelSlot = Arc<Mutex<Option<AudioLevel>>>;

/// The pane's state between draws.
pub struct VideoPane {
    picker: Picker,
    slot: FrameSlot,
    levels: LevelSlot,
    meter: LevelMeter,
    shown: Option<(Protocol, Rect)>,
    last: Option<VideoFrame>,
    /// Frames drawn so far.
    pub frames_drawn: u64,
    placeholder: String,
}

impl VideoPane {
    /// A pane drawing with `picker`'s protocol; frames arrive in `slot`, audio levels in
    /// `levels`.
    pub fn new(
        picker: Picker,
        slot: FrameSlot,
        levels: LevelSlot,
        placeholder: impl Into<String>,
    ) -> VideoPane {
        VideoPane {
            picker,
            slot,
            levels,
            meter: LevelMeter::default(),
            shown: None,
            last: None,
            frames_drawn: 0,
            placeholder: placeholder.into(),
        }
    }

    /// The size frames should be decoded at for this terminal's protocol.
    pub fn frame_size(protocol: ProtocolType) -> (u32, u32) {
        match protocol {
            ProtocolType::Halfblocks => (320, 180),
            _ => (640, 360),
        }
    }

    /// Whether the title plays without a picture (the meter takes its place); `ladder_is_audio`
    /// when the title's ladder is an audio one.
    pub fn audio_only(&mut self, ladder_is_audio: bool) -> bool {
        let fresh = self.levels.lock().expect("level slot").take();
        if let Some(level) = fresh {
            self.meter.update(level, self.shown.is_some());
        }
        self.meter.audio_only(ladder_is_audio, self.shown.is_some())
    }

    /// Draws the newest frame into `area` (or the placeholder before the first one, or the level
    /// meter for a title without a picture).
    pub fn render(&mut self, f: &mut Frame<'_>, area: Rect, ladder_is_audio: bool) {
        if area.width == 0 || area.height == 0 {
            return;
        }
        if self.audio_only(ladder_is_audio) {
            self.render_meter(f, area);
            return;
        }
        let fresh = self.slot.lock().expect("frame slot").take();
        let new_frame = fresh.is_some();
        if fresh.is_some() {
            self.last = fresh;
        }
        // Rebuild on a new frame, or on a resize (a paused picture keeps showing).
        let resized = self.shown.as_ref().is_some_and(|(_, a)| *a != area);
        if (new_frame || resized)
            && let Some(frame) = &self.last
            && let Some(image) =
                image::RgbaImage::from_raw(frame.width, frame.height, frame.rgba.clone())
            && let Ok(protocol) = self.picker.new_protocol(
                image::DynamicImage::ImageRgba8(image),
                area.as_size(),
                Resize::Scale(None),
            )
        {
            self.shown = Some((protocol, area));
            if new_frame {
                self.frames_drawn += 1;
            }
        }
        match &self.shown {
            Some((protocol, _)) => {
                let size = protocol.size();
                // Centre the picture in the pane.
                let x = area.x + area.width.saturating_sub(size.width) / 2;
                let y = area.y + area.height.saturating_sub(size.height) / 2;
                let at = Rect::new(
                    x,
                    y,
                    size.width.min(area.width),
                    size.height.min(area.height),
                );
                f.render_widget(Image::new(protocol), at);
            }
            None => f.render_widget(
                Paragraph::new(self.placeholder.as_str())
                    .alignment(Alignment::Center)
                    .style(Style::new().dim()),
                Rect::new(area.x, area.y + area.height / 2, area.width, 1),
            ),
        }
    }

    /// The level meter: a bar per channel, its peak in dB.
    fn render_meter(&self, f: &mut Frame<'_>, area: Rect) {
        let bars = self.meter.bars();
        let rows = 2 + bars.len() as u16;
        let top = area.y + area.height.saturating_sub(rows) / 2;
        let heading = Rect::new(area.x, top, area.width, 1);
        f.render_widget(
            Paragraph::new("♪ audio only: no picture")
                .alignment(Alignment::Center)
                .style(Style::new().dim()),
            heading,
        );
        let width = area.width.saturating_sub(4).min(60);
        let x = area.x + (area.width - width) / 2;
        for (i, bar) in bars.iter().enumerate() {
            let at = Rect::new(x, top + 2 + i as u16, width, 1).intersection(area);
            let label = if bar.fill > 0.0 {
                format!("{} {:>6.1} dB ", bar.name, bar.peak_db)
            } else {
                format!("{}   silent  ", bar.name)
            };
            f.render_widget(
                LineGauge::default()
                    .ratio(bar.fill)
                    .label(label)
                    .filled_style(Style::new().fg(Color::Green))
                    .unfilled_style(Style::new().dim()),
                at,
            );
        }
    }
}
