//! WebVTT cue text as the screens draw it: lines of runs, each run italic, bold or underlined
//! as the cue's `<i>`, `<b>` and `<u>` say. The other tags (`<c.yellow>`, `<v Joe>`, `<lang>`,
//! `<ruby>`, timestamps) carry no style a screen draws here and are dropped with their markup;
//! the character references are written out (`&amp;`, `&lt;`, `&gt;`, `&nbsp;`, `&lrm;`,
//! `&rlm;`, and numeric ones); an unknown one stays as written, as browsers leave it.

/// A run of text in one style.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CueRun {
    /// The text, references written out.
    pub text: String,
    /// Inside `<i>`.
    pub italic: bool,
    /// Inside `<b>`.
    pub bold: bool,
    /// Inside `<u>`.
    pub underline: bool,
}

/// The styles open at a point of the cue: how many `<i>`, `<b>`, `<u>` enclose it.
#[derive(Debug, Clone, Copy, Default)]
struct Open {
    italic: u32,
    bold: u32,
    underline: u32,
}

impl Open {
    fn apply(&mut self, tag: &str) {
        let (closing, name) = match tag.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, tag),
        };
        // `<b.loud>`, `<i lang>`: the name ends at a class dot or an annotation.
        let name = name.split(['.', ' ', '\t']).next().unwrap_or_default();
        let count = match name {
            "i" => &mut self.italic,
            "b" => &mut self.bold,
            "u" => &mut self.underline,
            _ => return,
        };
        *count = if closing {
            count.saturating_sub(1)
        } else {
            *count + 1
        };
    }

    fn run(&self) -> CueRun {
        CueRun {
            text: String::new(),
            italic: self.italic > 0,
            bold: self.bold > 0,
            underline: self.underline > 0,
        }
    }
}

/// The cue's lines, each as runs of one style; blank lines dropped. Styles carry across a line
/// break, as in WebVTT.
pub fn styled_lines(text: &str) -> Vec<Vec<CueRun>> {
    let mut open = Open::default();
    let mut lines = Vec::new();
    for line in text.lines() {
        let mut runs: Vec<CueRun> = Vec::new();
        let mut current = open.run();
        let mut rest = line;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('<') {
                let (tag, next) = after.split_once('>').unwrap_or((after, ""));
                open.apply(tag.trim());
                let style = open.run();
                if (style.italic, style.bold, style.underline)
                    != (current.italic, current.bold, current.underline)
                {
                    if !current.text.is_empty() {
                        runs.push(current);
                    }
                    current = style;
                }
                rest = next;
            } else {
                let end = rest.find('<').unwrap_or(rest.len());
                current.text.push_str(&write_out_references(&rest[..end]));
                rest = &rest[end..];
            }
        }
        if !current.text.is_empty() {
            runs.push(current);
        }
        if runs.iter().any(|r| !r.text.trim().is_empty()) {
            lines.push(runs);
        }
    }
    lines
}

/// The cue's lines as plain text (styles dropped), for screens that draw none.
pub fn plain_lines(text: &str) -> Vec<String> {
    styled_lines(text)
        .into_iter()
        .map(|runs| runs.into_iter().map(|r| r.text).collect())
        .collect()
}

/// `text` with its character references written out.
fn write_out_references(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let reference = rest[1..]
            .find(';')
            .filter(|end| *end <= 10)
            .and_then(|end| Some((character(&rest[1..=end])?, end + 2)));
        match reference {
            Some((c, len)) => {
                out.extend(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character `name` (between `&` and `;`) stands for; `Some(None)` for the direction
/// marks, which a screen drawing left to right leaves out.
fn character(name: &str) -> Option<Option<char>> {
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "nbsp" => '\u{a0}',
        "quot" => '"',
        "apos" => '\'',
        "lrm" | "rlm" => return Some(None),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code).filter(|c| !c.is_control() || *c == '\t')?
        }
    };
    Some(Some(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, italic: bool, bold: bool, underline: bool) -> CueRun {
        CueRun {
            text: text.into(),
            italic,
            bold,
            underline,
        }
    }

    #[test]
    fn styles_come_from_i_b_u_and_other_tags_are_dropped() {
        let lines = styled_lines("<v Anne><i>Bonjour</i> &amp; <c.yellow>salut</c></v>");
        assert_eq!(
            lines,
            [vec![
                run("Bonjour", true, false, false),
                run(" & salut", false, false, false)
            ]]
        );
        let lines = styled_lines("<b.loud>Stop<u>!</u></b> <00:00:01.500>now");
        assert_eq!(
            lines,
            [vec![
                run("Stop", false, true, false),
                run("!", false, true, true),
                run(" now", false, false, false)
            ]]
        );
    }

    #[test]
    fn a_style_carries_across_a_line_break_and_blank_lines_go() {
        let lines = styled_lines("<i>one\n\n  \ntwo</i> three");
        assert_eq!(
            lines,
            [
                vec![run("one", true, false, false)],
                vec![
                    run("two", true, false, false),
                    run(" three", false, false, false)
                ]
            ]
        );
    }

    #[test]
    fn references_are_written_out_and_unknown_ones_kept() {
        assert_eq!(
            plain_lines("&lt;3 &#233;t&#xE9; &lrm;x&rlm; a&nbsp;b &bogus; & fin &amp"),
            ["<3 été x a\u{a0}b &bogus; & fin &amp"]
        );
        // A tag left open at the end of the text is dropped, not shown.
        assert_eq!(plain_lines("ok <i"), ["ok "]);
    }
}
