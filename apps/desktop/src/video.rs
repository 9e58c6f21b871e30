//! The video area: the newest frame GStreamer's appsink handed over, uploaded into one texture
//! (replaced in place with `TextureHandle::set`, never a new texture per frame) and drawn as
//! large as fits with its aspect ratio kept, on black. Counts the frames it presented. A title
//! without a picture gets a level meter there instead.

use std::sync::{Arc, Mutex};

use eframe::egui;
use player_core::sink::{AudioLevel, VideoFrame};
use reel_appkit::level::LevelMeter;

/// Where the decoder leaves the newest frame for the window (older ones are dropped).
pub type FrameSlot = Arc<Mutex<Option<VideoFrame>>>;

/// Where the decoder leaves the newest audio level for the window.
pub type LevelSlot = Arc<Mutex<Option<AudioLevel>>>;

/// The texture and what has been shown.
#[derive(Default)]
pub struct VideoTexture {
    texture: Option<egui::TextureHandle>,
    size: [usize; 2],
    fresh: bool,
    /// Frames uploaded and painted.
    pub presented: u64,
    /// Presentation time of the frame on screen.
    pub pts_s: Option<f64>,
    /// Presentation time of the first frame shown of this stream.
    pub first_pts_s: Option<f64>,
    /// Where the picture (or the level meter) was painted last (points, window coordinates).
    pub rect: Option<egui::Rect>,
    /// The newest audio level.
    pub meter: LevelMeter,
    /// The level meter took the picture's place in the last paint.
    pub audio_only: bool,
}

/// The largest rectangle of `size`'s aspect ratio centred in `area`.
pub fn fit(area: egui::Rect, size: [usize; 2]) -> egui::Rect {
    let (w, h) = (size[0].max(1) as f32, size[1].max(1) as f32);
    let scale = (area.width() / w).min(area.height() / h);
    egui::Rect::from_center_size(area.center(), egui::vec2(w * scale, h * scale))
}

impl VideoTexture {
    /// Uploads the newest frame from `slot`, if a new one came; `true` when it did.
    pub fn upload(&mut self, ctx: &egui::Context, slot: &FrameSlot) -> bool {
        let Some(frame) = slot.lock().expect("frame slot").take() else {
            return false;
        };
        let size = [frame.width as usize, frame.height as usize];
        if frame.rgba.len() != size[0] * size[1] * 4 {
            tracing::warn!(?size, bytes = frame.rgba.len(), "malformed frame skipped");
            return false;
        }
        // Video is opaque: premultiplied and straight alpha are the same, and this is cheaper.
        let image = egui::ColorImage::from_rgba_premultiplied(size, &frame.rgba);
        match &mut self.texture {
            Some(texture) => texture.set(image, egui::TextureOptions::LINEAR),
            None => {
                self.texture =
                    Some(ctx.load_texture("reel-video", image, egui::TextureOptions::LINEAR));
            }
        }
        self.size = size;
        self.pts_s = Some(frame.pts_s);
        self.first_pts_s.get_or_insert(frame.pts_s);
        self.fresh = true;
        true
    }

    /// Takes the newest audio level from `slot`, if one came.
    pub fn take_level(&mut self, slot: &LevelSlot) {
        if let Some(level) = slot.lock().expect("level slot").take() {
            self.meter.update(level, self.frame_size().is_some());
        }
    }

    /// Forgets the picture (a new stream is opening); the texture is kept for reuse.
    pub fn clear(&mut self) {
        self.meter = LevelMeter::default();
        self.size = [0, 0];
        self.pts_s = None;
        self.first_pts_s = None;
        self.fresh = false;
    }

    /// The frame's size in pixels, once one came.
    pub fn frame_size(&self) -> Option<[usize; 2]> {
        (self.size[0] > 0).then_some(self.size)
    }

    /// Paints the video (or `placeholder` before the first frame, or the level meter for a
    /// title without a picture; `ladder_is_audio` when its ladder is an audio one) into all of
    /// `ui`'s space.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        placeholder: &str,
        ladder_is_audio: bool,
    ) -> egui::Response {
        let (area, response) = ui.allocate_exact_size(ui.available_size(), egui::Sense::click());
        let painter = ui.painter_at(area);
        painter.rect_filled(area, 0.0, egui::Color32::BLACK);
        self.audio_only = self
            .meter
            .audio_only(ladder_is_audio, self.frame_size().is_some());
        if self.audio_only {
            self.rect = Some(self.paint_meter(&painter, area));
            return response;
        }
        match (&self.texture, self.frame_size()) {
            (Some(texture), Some(size)) => {
                let rect = fit(area, size);
                painter.image(
                    texture.id(),
                    rect,
                    egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                    egui::Color32::WHITE,
                );
                self.rect = Some(rect);
                if self.fresh {
                    self.fresh = false;
                    self.presented += 1;
                }
            }
            _ => {
                self.rect = None;
                painter.text(
                    area.center(),
                    egui::Align2::CENTER_CENTER,
                    placeholder,
                    egui::FontId::proportional(18.0),
                    egui::Color32::GRAY,
                );
            }
        }
        response
    }

    /// The level meter centred in `area`: a bar per channel with its peak in dB. Returns the
    /// rectangle it fills, heading included.
    fn paint_meter(&self, painter: &egui::Painter, area: egui::Rect) -> egui::Rect {
        let bars = self.meter.bars();
        let width = (area.width() * 0.6).min(640.0);
        let (bar_h, gap) = (28.0, 14.0);
        let height = bars.len().max(1) as f32 * (bar_h + gap) - gap;
        let block = egui::Rect::from_center_size(area.center(), egui::vec2(width, height));
        painter.text(
            block.center_top() - egui::vec2(0.0, 28.0),
            egui::Align2::CENTER_BOTTOM,
            "audio only: no picture",
            egui::FontId::proportional(18.0),
            egui::Color32::GRAY,
        );
        for (i, bar) in bars.iter().enumerate() {
            let top = block.top() + i as f32 * (bar_h + gap);
            let track =
                egui::Rect::from_min_size(egui::pos2(block.left(), top), egui::vec2(width, bar_h));
            painter.rect_filled(track, 3.0, egui::Color32::from_gray(40));
            let mut filled = track;
            filled.set_width(width * bar.fill as f32);
            painter.rect_filled(filled, 3.0, egui::Color32::from_rgb(70, 190, 90));
            let label = if bar.fill > 0.0 {
                format!("{}  {:.1} dB", bar.name, bar.peak_db)
            } else {
                format!("{}  silent", bar.name)
            };
            painter.text(
                track.left_center() + egui::vec2(8.0, 0.0),
                egui::Align2::LEFT_CENTER,
                label,
                egui::FontId::monospace(15.0),
                egui::Color32::WHITE,
            );
        }
        egui::Rect::from_min_max(
            block.left_top() - egui::vec2(0.0, 52.0),
            block.right_bottom() + egui::vec2(0.0, 12.0),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_keep_their_aspect_ratio() {
        let area = egui::Rect::from_min_size(egui::pos2(0.0, 0.0), egui::vec2(1000.0, 500.0));
        let r = fit(area, [1280, 720]);
        assert!((r.width() / r.height() - 16.0 / 9.0).abs() < 1e-3);
        assert_eq!(r.height(), 500.0);
        assert_eq!(r.center(), area.center());
        let r = fit(area, [640, 640]);
        assert_eq!((r.width(), r.height()), (500.0, 500.0));
    }
}
