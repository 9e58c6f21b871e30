//! The video area: the newest frame GStreamer's appsink handed over, uploaded into one texture
//! (replaced in place with `TextureHandle::set`, never a new texture per frame) and drawn as
//! large as fits with its aspect ratio kept, on black. Counts the frames it presented.

use std::sync::{Arc, Mutex};

use eframe::egui;
use player_core::sink::VideoFrame;

/// Where the decoder leaves the newest frame for the window (older ones are dropped).
pub type FrameSlot = Arc<Mutex<Option<VideoFrame>>>;

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
    /// Where the picture was painted last (points, window coordinates).
    pub rect: Option<egui::Rect>,
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

    /// Forgets the picture (a new stream is opening); the texture is kept for reuse.
    pub fn clear(&mut self) {
        self.size = [0, 0];
        self.pts_s = None;
        self.first_pts_s = None;
        self.fresh = false;
    }

    /// The frame's size in pixels, once one came.
    pub fn frame_size(&self) -> Option<[usize; 2]> {
        (self.size[0] > 0).then_some(self.size)
    }

    /// Paints the video (or `placeholder` before the first frame) into all of `ui`'s space.
    pub fn show(&mut self, ui: &mut egui::Ui, placeholder: &str) -> egui::Response {
        let (area, response) = ui.allocate_exact_size(ui.available_size(), egui::Sense::click());
        let painter = ui.painter_at(area);
        painter.rect_filled(area, 0.0, egui::Color32::BLACK);
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
