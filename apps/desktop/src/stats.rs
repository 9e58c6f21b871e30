//! The stats panel: the terminal player's live view of the engine — the ladder with the playing
//! (▶) and target (◎) rung and the ABR's reason, the buffer graph, throughput with the forecast,
//! the pathways with health and penalties, the event log and the QoE summary. Graphs are
//! egui_plot plots. The text comes from [`lines`]' helpers, so the state dump shows what the
//! panel shows.

use eframe::egui::{self, Color32, RichText};
use egui_plot::{AxisHints, GridMark, HLine, Line, Plot, PlotPoints};
use reel_appkit::view::{HISTORY_S, PlayerView};

/// How a row is emphasised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Plain.
    Normal,
    /// In use (playing rung, active pathway).
    Active,
    /// Chosen but not yet in use (target rung).
    Pending,
    /// Something is wrong (down, penalized).
    Bad,
}

impl Tone {
    fn color(self) -> Option<Color32> {
        match self {
            Tone::Normal => None,
            Tone::Active => Some(Color32::from_rgb(90, 200, 90)),
            Tone::Pending => Some(Color32::from_rgb(230, 190, 60)),
            Tone::Bad => Some(Color32::from_rgb(230, 80, 70)),
        }
    }
}

/// The ladder, top rung first: `▶◎ 4  720p 1280×720  3.0 Mb/s  pinned`.
pub fn ladder_rows(view: &PlayerView) -> Vec<(String, Tone)> {
    (0..view.ladder.len())
        .rev()
        .map(|i| {
            let playing = view.playing_rung == Some(i);
            let target = view.target_rung == Some(i);
            let marker = match (playing, target) {
                (true, true) => "▶◎",
                (true, false) => "▶ ",
                (false, true) => " ◎",
                _ => "  ",
            };
            let pin = if view.pinned == Some(i) {
                "  pinned"
            } else {
                ""
            };
            let tone = if playing {
                Tone::Active
            } else if target {
                Tone::Pending
            } else {
                Tone::Normal
            };
            (
                format!("{marker} {} {}{pin}", i + 1, rung_text(view, i)),
                tone,
            )
        })
        .collect()
}

/// A rung with its resolution and bitrate: `720p 1280×720 3.0 Mb/s`.
pub fn rung_text(view: &PlayerView, i: usize) -> String {
    let Some(r) = view.ladder.get(i) else {
        return String::new();
    };
    let label = view.rung_label(i);
    match (r.width, r.height) {
        (Some(w), Some(h)) => match label.split_once(' ') {
            Some((height, bitrate)) if height.ends_with('p') => {
                format!("{height} {w}×{h} {bitrate}")
            }
            _ => format!("{w}×{h} {label}"),
        },
        _ => label,
    }
}

/// Why the target rung: the ABR's reason, or the viewer's pin.
pub fn reason_line(view: &PlayerView) -> String {
    let reason = if view.pinned.is_some() {
        "pinned by you (0 = back to auto)"
    } else if view.abr_reason.is_empty() {
        "-"
    } else {
        &view.abr_reason
    };
    format!("ABR {}: {reason}", view.abr)
}

/// The buffer graph's title.
pub fn buffer_title(view: &PlayerView) -> String {
    format!("buffer {:.1} s", view.buffer_s)
}

/// The throughput graph's title: last measurement and the engine's forecast.
pub fn throughput_title(view: &PlayerView) -> String {
    let last = view.throughput_history.back().map_or(0.0, |p| p.1);
    format!(
        "throughput {last:.0} kb/s, forecast {}",
        view.forecast_kbps
            .map_or("-".into(), |k| format!("{k:.0} kb/s"))
    )
}

/// The pathways in priority order: `● oca-1 up, 2 conn`, `  oca-2 DOWN penalized 28s`.
pub fn pathway_rows(view: &PlayerView) -> Vec<(String, Tone)> {
    view.pathway_rows()
        .into_iter()
        .map(|row| {
            let tone = if row.active {
                Tone::Active
            } else if row.troubled {
                Tone::Bad
            } else {
                Tone::Normal
            };
            let marker = if row.active { "●" } else { "  " };
            (format!("{marker} {}", row.label), tone)
        })
        .collect()
}

/// The QoE summary.
pub fn qoe_rows(view: &PlayerView) -> Vec<String> {
    let q = &view.qoe;
    vec![
        format!(
            "startup {}",
            q.startup_s.map_or("-".into(), |s| format!("{s:.2} s"))
        ),
        format!("bitrate {:.0} kb/s", q.mean_bitrate_kbps),
        format!("stalls {} ({:.1} s)", q.rebuffer_count, q.rebuffer_s),
        format!("switches {}", q.switches),
        format!("retries {}", q.retries),
        format!("QoE_lin {:.1}", q.qoe_lin),
    ]
}

/// An event-log line: `  12.3s switch 2 -> 3: …`.
pub fn log_line(t: f64, line: &str) -> String {
    format!("{t:6.1}s {line}")
}

/// Every text line of the panel (the newest `log` events only), for the state dump.
pub fn lines(view: &PlayerView, log: usize) -> Vec<String> {
    let mut out = vec![format!("ladder ({})", view.format)];
    out.extend(ladder_rows(view).into_iter().map(|r| r.0));
    out.push(reason_line(view));
    out.push(buffer_title(view));
    out.push(throughput_title(view));
    out.push("pathways".into());
    out.extend(pathway_rows(view).into_iter().map(|r| r.0));
    out.push("QoE".into());
    out.extend(qoe_rows(view));
    out.push("events".into());
    let skip = view.log.len().saturating_sub(log);
    out.extend(view.log.iter().skip(skip).map(|(t, l)| log_line(*t, l)));
    out
}

fn row(ui: &mut egui::Ui, text: &str, tone: Tone) {
    let mut rich = RichText::new(text).monospace();
    if let Some(c) = tone.color() {
        rich = rich.color(c);
    }
    if tone == Tone::Active {
        rich = rich.strong();
    }
    ui.add(egui::Label::new(rich).truncate());
}

fn heading(ui: &mut egui::Ui, text: impl Into<String>) {
    ui.add_space(2.0);
    ui.label(RichText::new(text).strong());
}

/// `300k`, `3M`: a throughput axis label.
fn kbps_label(kbps: f64) -> String {
    if kbps >= 1e6 {
        format!("{:.0}G", kbps / 1e6)
    } else if kbps >= 1000.0 {
        format!("{:.0}M", kbps / 1000.0)
    } else {
        format!("{kbps:.0}k")
    }
}

/// A plot of the last [`HISTORY_S`] seconds, not draggable or zoomable.
fn history_plot(id: &str, view: &PlayerView, height: f32) -> Plot<'static> {
    let x_max = view.now_s.max(1.0);
    let x_min = (x_max - HISTORY_S).max(0.0);
    Plot::new(id.to_owned())
        .height(height)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .show_x(false)
        .include_x(x_min)
        .include_x(x_max)
        .x_axis_formatter(|m, _| format!("{:.0}s", m.value))
}

/// The buffer level over time.
fn buffer_plot(ui: &mut egui::Ui, view: &PlayerView) {
    let buffer: PlotPoints = view.buffer_history.iter().map(|p| [p.0, p.1]).collect();
    history_plot("buffer-plot", view, 90.0)
        .include_y(0.0)
        .include_y(10.0)
        .y_axis_formatter(|m, _| format!("{:.0}s", m.value))
        .show(ui, |plot| {
            plot.line(
                Line::new("buffer", buffer)
                    .color(Color32::from_rgb(80, 190, 230))
                    .fill(0.0),
            );
        });
}

/// Measured throughput and the forecast, on a log scale (loopback measures gigabits, the
/// ladder sits at hundreds of kilobits), with the ladder's rungs as faint lines.
fn throughput_plot(ui: &mut egui::Ui, view: &PlayerView) {
    let log = |kbps: f64| kbps.max(1.0).log10();
    let measured: PlotPoints = view
        .throughput_history
        .iter()
        .map(|p| [p.0, log(p.1)])
        .collect();
    let rungs: Vec<f64> = view
        .ladder
        .iter()
        .map(|r| log(r.bitrate as f64 / 1000.0))
        .collect();
    let mut plot = history_plot("throughput-plot", view, 90.0)
        .y_grid_spacer(|input| {
            let (lo, hi) = input.bounds;
            (lo.floor() as i32..=hi.ceil() as i32)
                .map(|d| GridMark {
                    value: f64::from(d),
                    step_size: 1.0,
                })
                .collect()
        })
        .custom_y_axes(vec![
            AxisHints::new_y()
                .formatter(|m, _| kbps_label(10f64.powf(m.value)))
                .label_spacing(10.0..=14.0),
        ]);
    for r in &rungs {
        plot = plot.include_y(*r);
    }
    plot.show(ui, |plot| {
        for (i, r) in rungs.iter().enumerate() {
            plot.hline(
                HLine::new(format!("rung {}", i + 1), *r)
                    .color(Color32::from_gray(75))
                    .width(1.0),
            );
        }
        plot.line(
            Line::new("measured", measured)
                .color(Color32::from_rgb(200, 110, 220))
                .allow_band(false),
        );
        if let Some(f) = view.forecast_kbps {
            plot.hline(
                HLine::new("forecast", log(f))
                    .color(Color32::from_rgb(230, 190, 60))
                    .width(1.5),
            );
        }
    });
}

/// Draws the panel into `ui`.
pub fn show(ui: &mut egui::Ui, view: &PlayerView) {
    heading(ui, format!("ladder ({})", view.format));
    for (text, tone) in ladder_rows(view) {
        row(ui, &text, tone);
    }
    ui.label(
        RichText::new("▶ playing  ◎ target")
            .monospace()
            .weak()
            .size(11.0),
    );
    ui.add(egui::Label::new(reason_line(view)).wrap());

    heading(ui, buffer_title(view));
    ui.add_space(4.0);
    buffer_plot(ui, view);
    heading(ui, throughput_title(view));
    ui.add_space(4.0);
    throughput_plot(ui, view);

    heading(ui, "pathways");
    for (text, tone) in pathway_rows(view) {
        row(ui, &text, tone);
    }
    heading(ui, "QoE");
    egui::Grid::new("qoe-grid")
        .num_columns(6)
        .spacing([10.0, 2.0])
        .show(ui, |ui| {
            for (i, line) in qoe_rows(view).iter().enumerate() {
                let (k, v) = line.split_once(' ').unwrap_or((line, ""));
                let mut value = RichText::new(v).monospace();
                if k == "QoE_lin" {
                    value = value.strong();
                }
                ui.label(RichText::new(k).monospace().weak());
                ui.label(value);
                if i % 3 == 2 {
                    ui.end_row();
                }
            }
        });

    heading(ui, "events");
    egui::ScrollArea::vertical()
        .id_salt("event-log")
        .stick_to_bottom(true)
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for (t, l) in &view.log {
                let tone = if l.starts_with("STALL") || l.starts_with("warning") {
                    Tone::Bad
                } else if l.starts_with("pathway") || l.starts_with("switch") {
                    Tone::Pending
                } else {
                    Tone::Normal
                };
                let mut text = RichText::new(log_line(*t, l)).monospace().size(11.0);
                if let Some(c) = tone.color() {
                    text = text.color(c);
                }
                ui.add(egui::Label::new(text).truncate())
                    .on_hover_text(l.as_str());
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use player_core::events::{PlayerEvent, RenditionInfo, TimedEvent};
    use player_core::presentation::MediaKind;

    #[test]
    fn the_panel_text_names_rungs_pathways_and_qoe() {
        let mut view = PlayerView::new("demo", "reel", true);
        view.on_event(&TimedEvent {
            t_s: 0.1,
            event: PlayerEvent::ManifestLoaded {
                format: "hls".into(),
                duration_s: Some(60.0),
                ladder_kind: MediaKind::Video,
                ladder: vec![RenditionInfo {
                    id: "720p".into(),
                    bitrate: 3_000_000,
                    width: Some(1280),
                    height: Some(720),
                    codecs: None,
                }],
                audio_tracks: vec![],
                text_tracks: vec![],
                pathways: vec!["oca-1".into(), "oca-2".into()],
                rebuffer_weight: 4.3,
            },
        });
        view.active_pathway = Some("oca-2".into());
        view.playing_rung = Some(0);
        let lines = lines(&view, 5);
        assert!(
            lines.contains(&"▶  1 720p 1280×720 3.0 Mb/s".to_string()),
            "{lines:?}"
        );
        assert!(lines.contains(&"● oca-2".to_string()), "{lines:?}");
        assert!(lines.iter().any(|l| l.starts_with("QoE_lin")), "{lines:?}");
        assert!(lines.iter().any(|l| l.starts_with("buffer ")), "{lines:?}");
    }
}
