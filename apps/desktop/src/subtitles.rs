//! Subtitles over the picture, as mature players draw them by default: white text on a
//! translucent black box per line, centred near the bottom of the picture, sized by the
//! picture's height, italics and underline as the cue says. egui's font has no bold face, so
//! bold is drawn a second time, a pixel to the right (synthetic bold, as font renderers do).

use eframe::egui::{self, Color32, FontId, Stroke, text::LayoutJob, text::TextFormat};
use reel_appkit::cue_text::CueRun;

/// The box behind each line.
const BACKING: Color32 = Color32::from_black_alpha(180);

/// Text height for a picture `height` points tall: about 1/20 of it (mpv's and YouTube's
/// default size), readable in a small window, not huge in fullscreen.
pub fn text_size(height: f32) -> f32 {
    (height / 20.0).clamp(13.0, 52.0)
}

/// One line as a layout job; with `bold_only`, the runs that are not bold are transparent (the
/// second pass of synthetic bold, glyphs at the same places).
fn line_job(runs: &[CueRun], size: f32, width: f32, bold_only: bool) -> LayoutJob {
    let mut job = LayoutJob::default();
    job.wrap.max_width = width;
    // Rows of a wrapped line are centred too, around x = 0 of the galley.
    job.halign = egui::Align::Center;
    for run in runs {
        let color = if bold_only && !run.bold {
            Color32::TRANSPARENT
        } else {
            Color32::WHITE
        };
        let format = TextFormat {
            font_id: FontId::proportional(size),
            color,
            italics: run.italic,
            underline: if run.underline && !bold_only {
                Stroke::new((size / 16.0).max(1.0), Color32::WHITE)
            } else {
                Stroke::NONE
            },
            ..TextFormat::default()
        };
        job.append(&run.text, 0.0, format);
    }
    job
}

/// Paints `lines` over `picture`; returns the rectangle the text and its boxes cover, or
/// `None` when there is nothing to draw.
pub fn paint(
    painter: &egui::Painter,
    picture: egui::Rect,
    lines: &[Vec<CueRun>],
) -> Option<egui::Rect> {
    if lines.is_empty() {
        return None;
    }
    let size = text_size(picture.height());
    let pad = egui::vec2(size * 0.35, size * 0.1);
    let width = picture.width() * 0.9;
    let galleys: Vec<_> = lines
        .iter()
        .map(|runs| {
            let text = painter.layout_job(line_job(runs, size, width, false));
            let bold = runs
                .iter()
                .any(|r| r.bold)
                .then(|| painter.layout_job(line_job(runs, size, width, true)));
            (text, bold)
        })
        .collect();
    let height: f32 = galleys.iter().map(|(g, _)| g.size().y + 2.0 * pad.y).sum();
    // The bottom line sits a twentieth of the picture above its bottom edge.
    let mut top = picture.bottom() - picture.height() / 20.0 - height;
    let mut covered: Option<egui::Rect> = None;
    for (galley, bold) in galleys {
        let origin = egui::pos2(picture.center().x, top + pad.y);
        let text = galley.rect.translate(origin.to_vec2());
        let backing = text.expand2(pad);
        painter.rect_filled(backing, size * 0.15, BACKING);
        painter.galley(origin, galley, Color32::WHITE);
        if let Some(bold) = bold {
            painter.galley(origin + egui::vec2(1.0, 0.0), bold, Color32::WHITE);
        }
        covered = Some(covered.map_or(backing, |c| c.union(backing)));
        top = backing.bottom();
    }
    covered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_follows_the_picture_height_within_bounds() {
        assert_eq!(text_size(720.0), 36.0);
        assert_eq!(text_size(120.0), 13.0);
        assert_eq!(text_size(2160.0), 52.0);
    }

    #[test]
    fn lines_are_centred_near_the_bottom_of_the_picture() {
        let ctx = egui::Context::default();
        let picture = egui::Rect::from_min_size(egui::pos2(100.0, 50.0), egui::vec2(800.0, 450.0));
        let mut covered = None;
        let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
            let painter = ui.painter().clone();
            let lines = reel_appkit::cue_text::styled_lines("<i>Seconde</i> <b>4</b>\nsuite");
            covered = paint(&painter, picture, &lines);
            assert_eq!(paint(&painter, picture, &[]), None);
        });
        // The font atlas upload is the renderer's; nothing renders here.
        output.textures_delta.clear();
        let covered = covered.expect("two lines drawn");
        assert!(
            (covered.center().x - picture.center().x).abs() < 1.0,
            "{covered:?}"
        );
        assert!(covered.bottom() < picture.bottom() - 20.0, "{covered:?}");
        assert!(covered.top() > picture.center().y, "{covered:?}");
        let line = text_size(picture.height());
        assert!(covered.height() > 2.0 * line, "two lines: {covered:?}");
    }
}
