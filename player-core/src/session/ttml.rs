//! TTML documents (and IMSC 1, the TTML profile streaming services deliver subtitles in) as
//! cues: every `<p>` under `<body>` timed by its own and its ancestors' `begin`, `end` and
//! `dur` (clock times, frames, ticks or offsets, as `ttp:frameRate` and `ttp:tickRate` say),
//! `<span>`s with their own timing splitting a paragraph into the cues a viewer sees,
//! `<br/>` as a line break, whitespace collapsed as TTML's default `xml:space` does, and the
//! styles a screen draws (`tts:fontStyle` italic, `tts:fontWeight` bold, `tts:textDecoration`
//! underline, inline or by `style` reference) written as WebVTT cue markup, so screens read one
//! kind of cue text. Layout (regions, positions, colours) is left out.

use std::collections::HashMap;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

use super::subtitles::Cue;

/// Elements nested deeper than this make the document refused (no subtitle needs it; a hostile
/// one would make the walk deep).
const MAX_DEPTH: usize = 64;

/// A paragraph cut in more pieces than this (text runs and breaks) is refused: cues are cut
/// at every piece's times, so the cost grows with its square.
const MAX_PIECES: usize = 2048;

/// A parsed element: its name, its attributes by local name, its children.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attrs: HashMap<String, String>,
    children: Vec<Node>,
}

#[derive(Debug)]
enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    fn from_start(e: &BytesStart<'_>) -> Result<Element, String> {
        let mut attrs = HashMap::new();
        for a in e.attributes() {
            let a = a.map_err(|e| format!("not TTML: {e}"))?;
            let value = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| format!("not TTML: {e}"))?;
            let key = a.key.local_name().as_ref().to_owned();
            attrs.insert(key, value.into_owned());
        }
        Ok(Element {
            name: e.local_name().as_ref().to_owned(),
            attrs,
            children: Vec::new(),
        })
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }

    fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }
}

/// The document's root `<tt>` element.
fn parse_tree(body: &[u8]) -> Result<Element, String> {
    let text = std::str::from_utf8(body).map_err(|_| "a TTML document that is not UTF-8")?;
    let mut reader = quick_xml::Reader::from_str(text.trim_start_matches('\u{feff}'));
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    let push =
        |stack: &mut Vec<Element>, root: &mut Option<Element>, node: Node| match stack.last_mut() {
            Some(parent) => parent.children.push(node),
            None => {
                if let Node::Element(e) = node
                    && root.is_none()
                {
                    *root = Some(e);
                }
            }
        };
    loop {
        match reader.read_event().map_err(|e| format!("not TTML: {e}"))? {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("not TTML: elements nested over {MAX_DEPTH} deep"));
                }
                stack.push(Element::from_start(&e)?);
            }
            Event::Empty(e) => {
                let element = Element::from_start(&e)?;
                push(&mut stack, &mut root, Node::Element(element));
            }
            Event::End(_) => {
                let element = stack.pop().ok_or("not TTML: an end tag without a start")?;
                push(&mut stack, &mut root, Node::Element(element));
            }
            Event::Text(t) => {
                let text = t.xml10_content().into_owned();
                push(&mut stack, &mut root, Node::Text(text));
            }
            Event::CData(t) => {
                let text = t.xml10_content().into_owned();
                push(&mut stack, &mut root, Node::Text(text));
            }
            Event::GeneralRef(r) => {
                let text = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => {
                        let name = r.xml10_content();
                        quick_xml::escape::resolve_xml_entity(&name)
                            .ok_or_else(|| format!("not TTML: unknown entity &{name};"))?
                            .to_owned()
                    }
                };
                push(&mut stack, &mut root, Node::Text(text));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("not TTML: the document ends inside an element".into());
    }
    let root = root.ok_or("not TTML: no root element")?;
    if root.name != "tt" {
        return Err(format!(
            "not TTML: the root element is <{}>, not <tt>",
            root.name
        ));
    }
    Ok(root)
}

/// How the document counts frames and ticks.
#[derive(Debug, Clone, Copy)]
struct Clock {
    frame_rate: f64,
    sub_frame_rate: f64,
    tick_rate: f64,
}

impl Clock {
    fn of(tt: &Element) -> Result<Clock, String> {
        let number = |name: &str| -> Result<Option<f64>, String> {
            tt.attr(name)
                .map(|v| {
                    v.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|n| n.is_finite() && *n > 0.0)
                        .ok_or_else(|| format!("not TTML: ttp:{name}=\"{v}\""))
                })
                .transpose()
        };
        let base_rate = number("frameRate")?;
        let multiplier = match tt.attr("frameRateMultiplier") {
            Some(v) => {
                let mut parts = v.split_whitespace().map(str::parse::<f64>);
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(Ok(n)), Some(Ok(d)), None) if n > 0.0 && d > 0.0 => n / d,
                    _ => return Err(format!("not TTML: ttp:frameRateMultiplier=\"{v}\"")),
                }
            }
            None => 1.0,
        };
        let frame_rate = base_rate.unwrap_or(30.0) * multiplier;
        let sub_frame_rate = number("subFrameRate")?.unwrap_or(1.0);
        let tick_rate = match number("tickRate")? {
            Some(t) => t,
            None if base_rate.is_some() => frame_rate * sub_frame_rate,
            None => 1.0,
        };
        // Each factor is a positive number; their product can still be 0 or infinite, and every
        // time counted in frames or ticks would then be 0 or nothing.
        for (what, rate) in [("frame", frame_rate), ("tick", tick_rate)] {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(format!("not TTML: a {what} rate of {rate:e} per second"));
            }
        }
        Ok(Clock {
            frame_rate,
            sub_frame_rate,
            tick_rate,
        })
    }

    /// A TTML time expression in seconds: `01:02:03.5`, `01:02:03:12` (frames), `2.5s`,
    /// `1500ms`, `90f`, `10000t`, `1.5m`, `0.1h`.
    fn seconds(&self, expr: &str) -> Result<f64, String> {
        let bad = || format!("not TTML: bad time expression \"{expr}\"");
        let e = expr.trim();
        let value = if e.contains(':') {
            let parts: Vec<&str> = e.split(':').collect();
            let whole = |s: &str| {
                (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| s.parse::<f64>().ok())
                    .flatten()
            };
            let (h, m) = (
                whole(parts[0]).ok_or_else(bad)?,
                whole(parts[1]).ok_or_else(bad)?,
            );
            let seconds = parts
                .get(2)
                .and_then(|s| s.parse::<f64>().ok().filter(|_| !s.starts_with(['+', '-'])))
                .ok_or_else(bad)?;
            let frames = match parts.get(3) {
                None => 0.0,
                Some(f) => {
                    let (frames, sub) = f.split_once('.').unwrap_or((f, "0"));
                    let (frames, sub) =
                        (whole(frames).ok_or_else(bad)?, whole(sub).ok_or_else(bad)?);
                    (frames + sub / self.sub_frame_rate) / self.frame_rate
                }
            };
            if parts.len() > 4 || m >= 60.0 || seconds >= 61.0 {
                return Err(bad());
            }
            h * 3600.0 + m * 60.0 + seconds + frames
        } else {
            let split = e
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(bad)?;
            let (number, metric) = e.split_at(split);
            let n: f64 = number.parse().map_err(|_| bad())?;
            match metric {
                "h" => n * 3600.0,
                "m" => n * 60.0,
                "s" => n,
                "ms" => n / 1000.0,
                "f" => n / self.frame_rate,
                "t" => n / self.tick_rate,
                _ => return Err(bad()),
            }
        };
        if value.is_finite() {
            Ok(value)
        } else {
            Err(bad())
        }
    }
}

/// The styles a screen draws; `None` where an element says nothing (it inherits).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Style {
    italic: Option<bool>,
    bold: Option<bool>,
    underline: Option<bool>,
}

impl Style {
    /// The style attributes on `e` (a `<style>`, or any content element's inline ones).
    fn inline(e: &Element) -> Style {
        Style {
            italic: e.attr("fontStyle").map(|v| v.trim() != "normal"),
            bold: e.attr("fontWeight").map(|v| v.trim() == "bold"),
            underline: e
                .attr("textDecoration")
                .map(|v| v.split_whitespace().any(|w| w == "underline")),
        }
    }

    /// `self` with what `over` says on top.
    fn with(self, over: Style) -> Style {
        Style {
            italic: over.italic.or(self.italic),
            bold: over.bold.or(self.bold),
            underline: over.underline.or(self.underline),
        }
    }
}

/// The `<style>`s of `<head><styling>`, by `xml:id`, references among them followed.
fn styles(tt: &Element) -> HashMap<String, Style> {
    let defined: HashMap<&str, &Element> = tt
        .child("head")
        .and_then(|h| h.child("styling"))
        .map(|s| {
            s.elements()
                .filter(|e| e.name == "style")
                .filter_map(|e| Some((e.attr("id")?, e)))
                .collect()
        })
        .unwrap_or_default();
    /// Each style resolved once (a reference cycle resolves to nothing more), so a document
    /// referencing styles over and over costs no more than its length.
    fn resolve(
        id: &str,
        defined: &HashMap<&str, &Element>,
        done: &mut HashMap<String, Style>,
    ) -> Style {
        if let Some(style) = done.get(id) {
            return *style;
        }
        let Some(e) = defined.get(id) else {
            return Style::default();
        };
        // Marked before its references are followed: a cycle meets the mark.
        done.insert(id.to_string(), Style::default());
        let mut style = Style::default();
        for r in e.attr("style").unwrap_or_default().split_whitespace() {
            style = style.with(resolve(r, defined, done));
        }
        let style = style.with(Style::inline(e));
        done.insert(id.to_string(), style);
        style
    }
    let mut done = HashMap::new();
    for id in defined.keys() {
        resolve(id, &defined, &mut done);
    }
    done
}

/// A piece of a paragraph's text, or a line break, with when it is shown.
#[derive(Debug, Clone)]
struct Piece {
    begin: f64,
    end: f64,
    /// `None`: a line break.
    text: Option<String>,
    style: Style,
    preserve: bool,
}

/// What a walk down the tree carries.
struct Walk<'a> {
    clock: Clock,
    styles: &'a HashMap<String, Style>,
}

/// The inherited context of an element.
#[derive(Debug, Clone, Copy)]
struct Scope {
    begin: f64,
    end: f64,
    style: Style,
    preserve: bool,
}

impl Walk<'_> {
    /// `e`'s active interval and style within `parent`, or `None` when it is never active.
    fn scope(&self, e: &Element, parent: Scope) -> Result<Option<Scope>, String> {
        let time = |name| e.attr(name).map(|v| self.clock.seconds(v)).transpose();
        let begin = parent.begin + time("begin")?.unwrap_or(0.0);
        let mut end = parent.end;
        if let Some(t) = time("end")? {
            end = end.min(parent.begin + t);
        }
        if let Some(d) = time("dur")? {
            end = end.min(begin + d);
        }
        if begin >= end {
            return Ok(None);
        }
        let mut style = parent.style;
        for r in e.attr("style").unwrap_or_default().split_whitespace() {
            if let Some(s) = self.styles.get(r) {
                style = style.with(*s);
            }
        }
        let style = style.with(Style::inline(e));
        let preserve = match e.attr("space") {
            Some("preserve") => true,
            Some("default") => false,
            _ => parent.preserve,
        };
        Ok(Some(Scope {
            begin,
            end,
            style,
            preserve,
        }))
    }

    /// The paragraphs under `e` (the body, a div) as cues.
    fn block(&self, e: &Element, parent: Scope, cues: &mut Vec<Cue>) -> Result<(), String> {
        let Some(scope) = self.scope(e, parent)? else {
            return Ok(());
        };
        for child in e.elements() {
            match child.name.as_str() {
                "div" => self.block(child, scope, cues)?,
                "p" => {
                    let Some(p) = self.scope(child, scope)? else {
                        continue;
                    };
                    let mut pieces = Vec::new();
                    self.inline(child, p, &mut pieces)?;
                    if pieces.len() > MAX_PIECES {
                        return Err(format!(
                            "not TTML for subtitles: a paragraph in over {MAX_PIECES} pieces"
                        ));
                    }
                    paragraph_cues(p, &pieces, cues);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The pieces of a paragraph or span.
    fn inline(&self, e: &Element, scope: Scope, pieces: &mut Vec<Piece>) -> Result<(), String> {
        for node in &e.children {
            match node {
                Node::Text(text) => pieces.push(Piece {
                    begin: scope.begin,
                    end: scope.end,
                    text: Some(text.clone()),
                    style: scope.style,
                    preserve: scope.preserve,
                }),
                Node::Element(child) => match child.name.as_str() {
                    "span" => {
                        if let Some(s) = self.scope(child, scope)? {
                            self.inline(child, s, pieces)?;
                        }
                    }
                    "br" => {
                        if let Some(s) = self.scope(child, scope)? {
                            pieces.push(Piece {
                                begin: s.begin,
                                end: s.end,
                                text: None,
                                style: s.style,
                                preserve: s.preserve,
                            });
                        }
                    }
                    _ => {}
                },
            }
        }
        Ok(())
    }
}

/// A paragraph's cues: one for each stretch of time in which the same pieces are shown.
fn paragraph_cues(p: Scope, pieces: &[Piece], cues: &mut Vec<Cue>) {
    let mut times: Vec<f64> = vec![p.begin, p.end];
    for piece in pieces {
        times.push(piece.begin);
        times.push(piece.end);
    }
    times.retain(|t| t.is_finite() || *t == f64::INFINITY);
    times.sort_by(f64::total_cmp);
    times.dedup();
    for w in times.windows(2) {
        let (a, b) = (w[0], w[1]);
        let shown: Vec<&Piece> = pieces
            .iter()
            .filter(|piece| piece.begin <= a && piece.end >= b)
            .collect();
        let text = cue_text(&shown);
        if text.is_empty() {
            continue;
        }
        match cues.last_mut() {
            Some(last) if last.text == text && last.end_s == a => last.end_s = b,
            _ => cues.push(Cue {
                start_s: a,
                end_s: b,
                text,
            }),
        }
    }
}

/// The pieces shown together as WebVTT cue text: lines split at the breaks, whitespace
/// collapsed and trimmed at line ends (unless preserved), styles as `<i>`, `<b>`, `<u>`.
fn cue_text(pieces: &[&Piece]) -> String {
    let mut lines: Vec<Vec<(String, Style)>> = vec![Vec::new()];
    for piece in pieces {
        let Some(text) = &piece.text else {
            lines.push(Vec::new());
            continue;
        };
        let line = lines.last_mut().expect("a line");
        let text = if piece.preserve {
            text.clone()
        } else {
            let after_space = line
                .iter()
                .rev()
                .find(|(t, _)| !t.is_empty())
                .is_none_or(|(t, _)| t.ends_with(' '));
            let mut out = String::new();
            for c in text.chars() {
                // XML's whitespace only: a no-break space is text.
                if matches!(c, ' ' | '\t' | '\r' | '\n') {
                    if !(out.ends_with(' ') || (out.is_empty() && after_space)) {
                        out.push(' ');
                    }
                } else {
                    out.push(c);
                }
            }
            out
        };
        match line.last_mut() {
            Some((last, style)) if *style == piece.style => last.push_str(&text),
            _ => line.push((text, piece.style)),
        }
    }
    let mut out: Vec<String> = Vec::new();
    for mut line in lines {
        // Trailing space of the line goes.
        if let Some((last, _)) = line.iter_mut().rev().find(|(t, _)| !t.is_empty()) {
            let trimmed = last.trim_end_matches(' ').len();
            last.truncate(trimmed);
        }
        let mut text = String::new();
        for (t, style) in line.iter().filter(|(t, _)| !t.is_empty()) {
            let escaped = t
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            let tags: Vec<&str> = [
                (style.bold == Some(true), "b"),
                (style.italic == Some(true), "i"),
                (style.underline == Some(true), "u"),
            ]
            .into_iter()
            .filter_map(|(on, tag)| on.then_some(tag))
            .collect();
            for tag in &tags {
                text.push_str(&format!("<{tag}>"));
            }
            text.push_str(&escaped);
            for tag in tags.iter().rev() {
                text.push_str(&format!("</{tag}>"));
            }
        }
        if !text.trim().is_empty() {
            out.push(text);
        }
    }
    out.join("\n")
}

/// The cues of a TTML document, on its own timeline (seconds from its time zero).
pub fn parse_ttml(body: &[u8]) -> Result<Vec<Cue>, String> {
    // Complaints quote the document (quick-xml the text it choked on, an unknown entity or time
    // expression as written): one line of at most 200 characters reaches the viewer.
    read_ttml(body).map_err(|e| {
        let line: Vec<&str> = e.split_whitespace().collect();
        line.join(" ").chars().take(200).collect()
    })
}

fn read_ttml(body: &[u8]) -> Result<Vec<Cue>, String> {
    let tt = parse_tree(body)?;
    if tt.attr("timeBase") == Some("clock") {
        return Err(
            "TTML timed by the wall clock (ttp:timeBase=\"clock\") is not supported".into(),
        );
    }
    let walk = Walk {
        clock: Clock::of(&tt)?,
        styles: &styles(&tt),
    };
    let root = Scope {
        begin: 0.0,
        end: f64::INFINITY,
        style: Style::default(),
        preserve: tt.attr("space") == Some("preserve"),
    };
    let mut cues = Vec::new();
    if let Some(body) = tt.child("body") {
        walk.block(body, root, &mut cues)?;
    }
    cues.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    Ok(cues)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cue(start_s: f64, end_s: f64, text: &str) -> Cue {
        Cue {
            start_s,
            end_s,
            text: text.into(),
        }
    }

    #[test]
    fn ffmpegs_ttml_reads_as_timed_lines() {
        // As `ffmpeg -i in.vtt -f ttml out.ttml` writes it.
        let doc = r#"<?xml version="1.0" encoding="utf-8"?>
<tt xmlns="http://www.w3.org/ns/ttml" xmlns:tts="http://www.w3.org/ns/ttml#styling"
  xmlns:ttp="http://www.w3.org/ns/ttml#parameter" ttp:cellResolution="384 288" xml:lang="">
  <head><layout><region xml:id="Default" tts:origin="3% 0%" tts:extent="97% 97%"/></layout></head>
  <body>
    <div>
      <p
        begin="00:00:01.000"
        end="00:00:02.500"><span region="Default">Seconde 1 &amp; co<br/>ligne 2</span></p>
      <p
        begin="00:00:03.000"
        end="00:00:04.500"><span region="Default">Seconde 3</span></p>
    </div>
  </body>
</tt>"#;
        assert_eq!(
            parse_ttml(doc.as_bytes()).unwrap(),
            [
                cue(1.0, 2.5, "Seconde 1 &amp; co\nligne 2"),
                cue(3.0, 4.5, "Seconde 3")
            ]
        );
    }

    #[test]
    fn imsc_timing_frames_ticks_and_nesting_place_each_cue() {
        let doc = r#"<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter"
            ttp:frameRate="25" ttp:tickRate="10000000">
          <body begin="10s">
            <div begin="00:00:02:00">
              <p begin="0s" dur="25f">frames</p>
              <p begin="20000000t" end="30000000t">ticks</p>
              <p begin="500ms" end="1.5m">minutes</p>
            </div>
            <div end="1s"><p begin="2s" end="3s">never</p></div>
          </body>
        </tt>"#;
        assert_eq!(
            parse_ttml(doc.as_bytes()).unwrap(),
            [
                cue(12.0, 13.0, "frames"),
                cue(12.5, 102.0, "minutes"),
                cue(14.0, 15.0, "ticks"),
            ]
        );
    }

    #[test]
    fn timed_spans_split_a_paragraph_and_styles_become_markup() {
        let doc = r#"<tt xmlns="http://www.w3.org/ns/ttml" xmlns:tts="http://www.w3.org/ns/ttml#styling">
          <head><styling>
            <style xml:id="em" tts:fontStyle="italic"/>
            <style xml:id="strong" style="em" tts:fontWeight="bold"/>
          </styling></head>
          <body><div>
            <p begin="1s" end="4s" style="em">
              Who   <span tts:fontStyle="normal">is</span>
              <span begin="1s" style="strong">there?</span><br/>
              <span tts:textDecoration="underline">a &lt;b&gt;</span>
            </p>
          </div></body>
        </tt>"#;
        assert_eq!(
            parse_ttml(doc.as_bytes()).unwrap(),
            [
                cue(1.0, 2.0, "<i>Who </i>is\n<i><u>a &lt;b&gt;</u></i>"),
                cue(
                    2.0,
                    4.0,
                    "<i>Who </i>is<i> </i><b><i>there?</i></b>\n<i><u>a &lt;b&gt;</u></i>"
                ),
            ]
        );
    }

    #[test]
    fn spaces_between_styled_spans_collapse_to_one_and_no_break_spaces_stay() {
        let doc = "<tt xmlns=\"http://www.w3.org/ns/ttml\" xmlns:tts=\"s\"><body><p begin=\"0s\" end=\"1s\">\
            <span tts:fontStyle=\"italic\">Hello </span>\n  <span tts:fontWeight=\"bold\"> world</span>\
            <br/> <span>a&#160;&#160;b</span></p></body></tt>";
        assert_eq!(
            parse_ttml(doc.as_bytes()).unwrap(),
            [cue(0.0, 1.0, "<i>Hello </i><b>world</b>\na\u{a0}\u{a0}b")]
        );
    }

    #[test]
    fn style_references_cost_no_more_than_the_document_and_cycles_end() {
        let many = vec!["a"; 200].join(" ");
        let doc = format!(
            r#"<tt xmlns="http://www.w3.org/ns/ttml" xmlns:tts="s"><head><styling>
              <style xml:id="a" style="b {many}" tts:fontStyle="italic"/>
              <style xml:id="b" style="a" tts:fontWeight="bold"/>
            </styling></head><body><p begin="0s" end="1s" style="{many}">x</p></body></tt>"#
        );
        // (A cycle is an error of the document's; where it is cut depends on where it is met.)
        let cues = parse_ttml(doc.as_bytes()).unwrap();
        assert!(
            cues.len() == 1 && cues[0].text.contains("<i>x</i>"),
            "{cues:?}"
        );
        let spans = "<span>x</span><br/>".repeat(1100);
        let doc = format!("<tt><body><p>{spans}</p></body></tt>");
        assert!(
            parse_ttml(doc.as_bytes())
                .unwrap_err()
                .contains("over 2048 pieces")
        );
    }

    #[test]
    fn broken_documents_fail_in_one_line() {
        for (doc, error) in [
            ("WEBVTT\n\n00:01.000 --> 00:02.000\nhi", "not TTML: "),
            (
                "<html><body/></html>",
                "the root element is <html>, not <tt>",
            ),
            (
                "<tt><body><p begin=\"1:2\">x</p></body></tt>",
                "bad time expression \"1:2\"",
            ),
            (
                "<tt><body><p begin=\"5 s\">x</p></body></tt>",
                "bad time expression \"5 s\"",
            ),
            ("<tt><body><p>x</p></body>", "ends inside an element"),
            ("<tt ttp:timeBase=\"clock\"/>", "wall clock"),
            (
                "<tt ttp:frameRate=\"30\" ttp:frameRateMultiplier=\"1e300 1e-300\"/>",
                "a frame rate of inf per second",
            ),
            (
                "<tt ttp:frameRate=\"30\" ttp:frameRateMultiplier=\"1e-300 1e300\"/>",
                "a frame rate of 0e0 per second",
            ),
            (
                "<tt ttp:frameRate=\"1e300\" ttp:subFrameRate=\"1e300\"/>",
                "a tick rate of inf per second",
            ),
            (
                "<tt><body><p>&nbsp;</p></body></tt>",
                "unknown entity &nbsp;",
            ),
        ] {
            let e = parse_ttml(doc.as_bytes()).unwrap_err();
            assert!(e.contains(error), "{doc}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
        let deep = "<tt><body>".to_string() + &"<div>".repeat(100);
        assert!(
            parse_ttml(deep.as_bytes())
                .unwrap_err()
                .contains("nested over 64")
        );
        // An empty document has no cues; an untimed paragraph shows throughout.
        assert_eq!(parse_ttml(b"<tt/>").unwrap(), []);
        assert_eq!(
            parse_ttml(b"<tt><body><div><p>always</p></div></body></tt>").unwrap(),
            [cue(0.0, f64::INFINITY, "always")]
        );
    }
}
