//! Drawing: the full layout (video beside the ladder, then buffer graph, throughput sparkline,
//! pathways, event log and QoE), a compact one for small terminals, video-only, the help overlay
//! and a plain message when the terminal is too small to draw anything useful.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Chart, Clear, Dataset, GraphType, List, ListItem, Paragraph, Sparkline, Wrap,
};

use crate::video::VideoPane;
use player_core::presentation::MediaKind;
use reel_appkit::controls::HELP;
use reel_appkit::view::{HISTORY_S, PlayerView, clock};

/// Smallest terminal the player draws in.
pub const MIN_SIZE: (u16, u16) = (40, 12);
/// Below this the compact layout is used.
const FULL_SIZE: (u16, u16) = (100, 30);

/// Draws one frame.
pub fn draw(f: &mut Frame<'_>, app: &PlayerView, video: &mut VideoPane) {
    let area = f.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let text = format!(
            "terminal too small ({}x{}): Reel needs at least {}x{}",
            area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
        );
        f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    if app.video_only {
        let [screen, status] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
        let screen = subtitled(f, app, screen);
        video.render(f, screen, app.ladder_kind == MediaKind::Audio);
        f.render_widget(Paragraph::new(status_line(app)), status);
    } else if area.width < FULL_SIZE.0 || area.height < FULL_SIZE.1 {
        compact(f, app, video, area);
    } else {
        full(f, app, video, area);
    }
    if let Some(error) = &app.error {
        let width = area.width.saturating_sub(4).min(100);
        let popup = Rect::new(
            area.x + (area.width - width) / 2,
            area.y + area.height / 2 - 2,
            width,
            4,
        );
        f.render_widget(Clear, popup);
        f.render_widget(
            Paragraph::new(vec![
                Line::from(format!("playback failed: {error}")).red().bold(),
                Line::from("press q to quit"),
            ])
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" error ")),
            popup,
        );
    }
    if app.help {
        help(f, app, area);
    }
}

/// Rows under the picture for subtitles.
const SUBTITLE_ROWS: u16 = 2;

/// With a subtitle track on, draws the text on screen now in the bottom rows of `area`, under
/// the picture (as a letterbox would hold it), and returns what is left for the picture.
fn subtitled(f: &mut Frame<'_>, app: &PlayerView, area: Rect) -> Rect {
    if app.text_track.is_none() || area.height < SUBTITLE_ROWS + 3 {
        return area;
    }
    let [picture, text] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(SUBTITLE_ROWS)]).areas(area);
    let lines: Vec<Line> = app
        .subtitle_lines()
        .into_iter()
        .rev()
        .take(SUBTITLE_ROWS as usize)
        .rev()
        .map(|l| Line::from(l).bold().centered())
        .collect();
    f.render_widget(Paragraph::new(lines), text);
    picture
}

fn title_bar(app: &PlayerView) -> Line<'static> {
    let state = format!("{:?}", app.state);
    let time = match app.duration_s {
        Some(d) => format!("{} / {}", clock(app.position_s), clock(d)),
        None => format!("{} (live)", clock(app.position_s)),
    };
    let mut spans = vec![
        Span::styled(" Reel ", Style::new().bold().reversed()),
        Span::raw(format!(" {} ", app.title)),
        Span::styled(format!(" {state} "), state_style(app)),
        Span::raw(format!(" {time}  ABR {} ", app.abr)),
    ];
    if let Some(notice) = app.resume_notice() {
        spans.push(Span::styled(format!(" {notice} "), Style::new().bold()));
    }
    if app.muted {
        spans.push(Span::raw(" muted "));
    } else {
        spans.push(Span::raw(format!(" vol {:.0}% ", app.volume * 100.0)));
    }
    if app.demo {
        spans.push(Span::styled(
            " demo: k kill  l latency  t throttle  r restore ",
            Style::new().dim(),
        ));
    }
    spans.push(Span::styled(" ? help ", Style::new().dim()));
    Line::from(spans)
}

fn state_style(app: &PlayerView) -> Style {
    use player_core::PlayerState::*;
    match app.state {
        Playing => Style::new().fg(Color::Black).bg(Color::Green),
        Stalled | Failed(_) => Style::new().fg(Color::White).bg(Color::Red),
        Buffering | Loading => Style::new().fg(Color::Black).bg(Color::Yellow),
        _ => Style::new().reversed(),
    }
}

fn status_line(app: &PlayerView) -> Line<'static> {
    let rung = app.playing_rung.map_or("-".into(), |r| {
        format!("rung {} {}", r + 1, app.rung_label(r))
    });
    Line::from(format!(
        " {:?} {}  {}  buffer {:.1} s  {}  via {}",
        app.state,
        clock(app.position_s),
        rung,
        app.buffer_s,
        app.forecast_kbps
            .map_or("throughput -".into(), |k| format!("throughput {k:.0} kb/s")),
        app.active_pathway.as_deref().unwrap_or("-"),
    ))
}

fn full(f: &mut Frame<'_>, app: &PlayerView, video: &mut VideoPane, area: Rect) {
    let [top, main, graphs, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Percentage(50),
        Constraint::Length(9),
        Constraint::Min(6),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(title_bar(app)), top);
    let [video_area, ladder_area] =
        Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(main);
    let ladder_is_audio = app.ladder_kind == MediaKind::Audio;
    let title = if video.audio_only(ladder_is_audio) {
        " audio "
    } else {
        " video "
    };
    let block = Block::bordered().title(title);
    let inner = block.inner(video_area);
    f.render_widget(block, video_area);
    let inner = subtitled(f, app, inner);
    video.render(f, inner, ladder_is_audio);
    ladder(f, app, ladder_area);
    let [buffer_area, throughput_area, pathways_area] = Layout::horizontal([
        Constraint::Percentage(35),
        Constraint::Percentage(35),
        Constraint::Percentage(30),
    ])
    .areas(graphs);
    buffer_graph(f, app, buffer_area);
    throughput(f, app, throughput_area);
    pathways(f, app, pathways_area);
    let [log_area, qoe_area] =
        Layout::horizontal([Constraint::Percentage(70), Constraint::Percentage(30)]).areas(bottom);
    event_log(f, app, log_area);
    qoe(f, app, qoe_area);
}

fn compact(f: &mut Frame<'_>, app: &PlayerView, video: &mut VideoPane, area: Rect) {
    let [top, screen, info, log] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(4),
        Constraint::Length(3),
        Constraint::Length(3),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(title_bar(app)), top);
    let screen = subtitled(f, app, screen);
    video.render(f, screen, app.ladder_kind == MediaKind::Audio);
    let target = app
        .target_rung
        .map_or("-".into(), |r| format!("{} {}", r + 1, app.rung_label(r)));
    let lines = vec![
        status_line(app),
        Line::from(format!(" target rung {target}: {}", app.abr_reason)),
        Line::from(format!(
            " pathways {}  QoE {:.1}  stalls {}",
            app.pathway_order
                .iter()
                .map(|p| if Some(p) == app.active_pathway.as_ref() {
                    format!("[{p}]")
                } else {
                    p.clone()
                })
                .collect::<Vec<_>>()
                .join(" "),
            app.qoe.qoe_lin,
            app.qoe.rebuffer_count
        )),
    ];
    f.render_widget(Paragraph::new(lines), info);
    let recent: Vec<Line> = app
        .log
        .iter()
        .rev()
        .take(log.height as usize)
        .rev()
        .map(|(t, l)| Line::from(format!(" {t:6.1}s {l}")))
        .collect();
    f.render_widget(Paragraph::new(recent).style(Style::new().dim()), log);
}

fn ladder(f: &mut Frame<'_>, app: &PlayerView, area: Rect) {
    let block = Block::bordered().title(format!(" ladder ({}) ", app.format));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [list_area, reason_area] = Layout::vertical([
        Constraint::Length(app.ladder.len() as u16 + 1),
        Constraint::Min(1),
    ])
    .areas(inner);
    let items: Vec<ListItem> = (0..app.ladder.len())
        .rev()
        .map(|i| {
            let playing = app.playing_rung == Some(i);
            let target = app.target_rung == Some(i);
            let marker = match (playing, target) {
                (true, true) => "▶◎",
                (true, false) => "▶ ",
                (false, true) => " ◎",
                _ => "  ",
            };
            let pin = if app.pinned == Some(i) { " pinned" } else { "" };
            let style = if playing {
                Style::new().bold().fg(Color::Green)
            } else if target {
                Style::new().fg(Color::Yellow)
            } else {
                Style::new()
            };
            ListItem::new(Line::styled(
                format!("{marker} {} {}{pin}", i + 1, app.rung_label(i)),
                style,
            ))
        })
        .collect();
    f.render_widget(List::new(items), list_area);
    let reason = if app.pinned.is_some() {
        "pinned by you (0 = back to auto)".to_string()
    } else {
        app.abr_reason.clone()
    };
    f.render_widget(
        Paragraph::new(vec![
            Line::from("▶ playing  ◎ target").dim(),
            Line::from(format!("{}: {reason}", app.abr)),
        ])
        .wrap(Wrap { trim: true }),
        reason_area,
    );
}

fn buffer_graph(f: &mut Frame<'_>, app: &PlayerView, area: Rect) {
    let points: Vec<(f64, f64)> = app.buffer_history.iter().copied().collect();
    let x_max = app.now_s.max(1.0);
    let x_min = (x_max - HISTORY_S).max(0.0);
    let y_max = points.iter().map(|p| p.1).fold(10.0_f64, f64::max).ceil();
    let data = [Dataset::default()
        .marker(symbols::Marker::Braille)
        .graph_type(GraphType::Line)
        .style(Style::new().fg(Color::Cyan))
        .data(&points)];
    let chart = Chart::new(data.to_vec())
        .block(Block::bordered().title(format!(" buffer {:.1} s ", app.buffer_s)))
        .x_axis(Axis::default().bounds([x_min, x_max]))
        .y_axis(
            Axis::default()
                .bounds([0.0, y_max])
                .labels(["0".to_string(), format!("{y_max:.0}s")]),
        );
    f.render_widget(chart, area);
}

fn throughput(f: &mut Frame<'_>, app: &PlayerView, area: Rect) {
    let values: Vec<u64> = app
        .throughput_history
        .iter()
        .map(|(_, k)| *k as u64)
        .collect();
    let last = app.throughput_history.back().map_or(0.0, |p| p.1);
    let title = format!(
        " throughput {last:.0} kb/s, forecast {} ",
        app.forecast_kbps
            .map_or("-".into(), |k| format!("{k:.0} kb/s"))
    );
    let width = area.width.saturating_sub(2) as usize;
    let shown = &values[values.len().saturating_sub(width)..];
    f.render_widget(
        Sparkline::default()
            .block(Block::bordered().title(title))
            .data(shown)
            .style(Style::new().fg(Color::Magenta)),
        area,
    );
}

fn pathways(f: &mut Frame<'_>, app: &PlayerView, area: Rect) {
    let items: Vec<ListItem> = app
        .pathway_rows()
        .into_iter()
        .map(|row| {
            let line = format!("{} {}", if row.active { "●" } else { " " }, row.label);
            let style = if row.active {
                Style::new().bold().fg(Color::Green)
            } else if row.troubled {
                Style::new().fg(Color::Red)
            } else {
                Style::new()
            };
            ListItem::new(Line::styled(line, style))
        })
        .collect();
    f.render_widget(
        List::new(items).block(Block::bordered().title(" pathways ")),
        area,
    );
}

fn event_log(f: &mut Frame<'_>, app: &PlayerView, area: Rect) {
    let rows = area.height.saturating_sub(2) as usize;
    let lines: Vec<Line> = app
        .log
        .iter()
        .rev()
        .take(rows)
        .rev()
        .map(|(t, l)| {
            let style = if l.starts_with("STALL") || l.starts_with("warning") {
                Style::new().fg(Color::Red)
            } else if l.starts_with("pathway") || l.starts_with("switch") {
                Style::new().fg(Color::Yellow)
            } else {
                Style::new()
            };
            Line::styled(format!("{t:6.1}s {l}"), style)
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" events ")),
        area,
    );
}

fn qoe(f: &mut Frame<'_>, app: &PlayerView, area: Rect) {
    let q = &app.qoe;
    let lines = vec![
        Line::from(format!(
            "startup   {}",
            q.startup_s.map_or("-".into(), |s| format!("{s:.2} s"))
        )),
        Line::from(format!("bitrate   {:.0} kb/s", q.mean_bitrate_kbps)),
        Line::from(format!(
            "stalls    {} ({:.1} s)",
            q.rebuffer_count, q.rebuffer_s
        )),
        Line::from(format!("switches  {}", q.switches)),
        Line::from(format!("retries   {}", q.retries)),
        Line::from(format!("QoE_lin   {:.1}", q.qoe_lin)).add_modifier(Modifier::BOLD),
    ];
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" QoE ")),
        area,
    );
}

fn help(f: &mut Frame<'_>, app: &PlayerView, area: Rect) {
    let rows: Vec<Line> = HELP
        .iter()
        .filter(|(_, what)| app.demo || !what.starts_with("demo"))
        .map(|(key, what)| Line::from(format!(" {key:<7} {what}")))
        .collect();
    let height = (rows.len() as u16 + 2).min(area.height);
    let width = 60.min(area.width);
    let popup = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    f.render_widget(Clear, popup);
    f.render_widget(
        Paragraph::new(rows)
            .alignment(Alignment::Left)
            .block(Block::bordered().title(" keys (? to close) ")),
        popup,
    );
}
