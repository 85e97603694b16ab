//! One escaping rule per output format. Every string that comes from a result file, a file
//! name or a driver (adapter, backend, device type, host, workload, kernel, record ids,
//! roles, warnings, problem messages) goes through the rule of the format it is written
//! in, so that it stays text wherever the output is opened: a terminal, a spreadsheet, a
//! Markdown renderer or a browser. Each rule starts from [`terminal`]'s, so control
//! characters and the invisible direction marks (U+061C, U+200B–U+200F, U+2028–U+202E,
//! U+2060–U+206F, U+FEFF) are shown escaped in every format, never passed through.

use crate::util::clean;

/// Text for a terminal: control characters (escape sequences, line breaks) and the
/// invisible direction marks shown escaped (`\u{1b}`), on one line.
pub fn terminal(s: &str) -> String {
    clean(s)
}

/// A line for a terminal, as [`terminal`], keeping its indentation.
pub fn terminal_line(s: &str) -> String {
    let indent = s.len() - s.trim_start_matches(' ').len();
    format!("{}{}", &s[..indent], clean(s))
}

/// Text for Markdown (GitHub's and CommonMark), inline: in a table cell, or after a list
/// marker or other text of the line. Every character that could start markup is
/// backslash-escaped, so no tag, link, image, emphasis, code span or table cell comes out
/// of it: `\` `` ` `` `*` `_` `[` `]` `(` `)` `<` `>` `|` `~` `&` `@` everywhere, `:` before
/// `/` (a `scheme://` autolink) and the `.` of `www.` (GitHub's bare-domain links).
pub fn markdown(s: &str) -> String {
    escape_markdown(&clean(s), false)
}

/// Text for Markdown at the start of a line (a list item's text, a line of its own): as
/// [`markdown`], and a `#`, `+`, `-` or `=` or a number's `.` at the start is escaped too,
/// since it would open a heading, a list or a rule.
pub fn markdown_line(s: &str) -> String {
    escape_markdown(&clean(s), true)
}

fn escape_markdown(s: &str, line_start: bool) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + s.len() / 4);
    let leading_digits = chars.iter().take_while(|c| c.is_ascii_digit()).count();
    for (i, &ch) in chars.iter().enumerate() {
        let escape = match ch {
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '<' | '>' | '|' | '~' | '&' | '@' => {
                true
            }
            ':' => chars.get(i + 1) == Some(&'/'),
            '#' | '+' | '-' | '=' => line_start && i == 0,
            '.' => {
                (line_start && i > 0 && i == leading_digits)
                    || (i >= 3 && chars[i - 3..i].iter().all(|c| c.eq_ignore_ascii_case(&'w')))
            }
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// A digest as a Markdown code span. A digest is `fnv1a64:` and hex digits (a file's must
/// be that of its definition); anything else is shown as escaped text, since a code span
/// cannot escape its own backticks.
pub fn markdown_digest(digest: &str) -> String {
    if digest
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == ':')
    {
        format!("`{digest}`")
    } else {
        markdown(digest)
    }
}

/// A file name as the target of a Markdown link: every byte but letters, digits and
/// `-._~` percent-encoded, so the target is a relative path with no scheme (`javascript:`
/// becomes `javascript%3A`) and no character that ends the link.
pub fn markdown_link_target(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Text for HTML, in an element or a quoted attribute: `&`, `<`, `>`, `"` and `'` as
/// entities. (A direction mark written as an entity would still act on the page, so it is
/// shown escaped as text instead, by [`terminal`]'s rule.)
pub fn html(s: &str) -> String {
    let s = clean(s);
    let mut out = String::with_capacity(s.len() + 16);
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// A CSV cell of text (RFC 4180): a cell that a spreadsheet would read as a formula (one
/// starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is prefixed with `'`, as
/// OWASP advises against formula injection; a plain number is a number and stays as it is.
/// Quoted where it holds a comma or a quote.
pub fn csv(s: &str) -> String {
    let s = clean(s);
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err();
    let s = if formula { format!("'{s}") } else { s };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_keeps_hostile_text_inert() {
        assert_eq!(csv("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(csv("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv("-2+3"), "'-2+3");
        assert_eq!(csv("-0.25"), "-0.25");
        assert_eq!(csv("a,b"), "\"a,b\"");
        assert_eq!(csv("\tx"), "\\tx");
        assert_eq!(
            markdown("<script>alert(1)</script>"),
            "\\<script\\>alert\\(1\\)\\</script\\>"
        );
        assert_eq!(
            markdown("[click](javascript:alert(3))"),
            "\\[click\\]\\(javascript:alert\\(3\\)\\)"
        );
        assert_eq!(markdown("see https://x.org"), "see https\\://x.org");
        assert_eq!(markdown("# a"), "# a");
        assert_eq!(markdown_line("# a"), "\\# a");
        assert_eq!(markdown_line("1. a"), "1\\. a");
        assert_eq!(markdown_line("- a"), "\\- a");
        assert_eq!(markdown("a.b 1.5"), "a.b 1.5");
        assert_eq!(markdown("www.x.org"), "www\\.x.org");
        assert_eq!(markdown("a\\"), "a\\\\");
        assert_eq!(markdown_link_target("a|b c.json"), "a%7Cb%20c.json");
        assert_eq!(markdown_link_target("javascript:x"), "javascript%3Ax");
        assert_eq!(
            html("<img src=x onerror='a'>"),
            "&lt;img src=x onerror=&#39;a&#39;&gt;"
        );
        for f in [terminal, markdown, markdown_line, html, csv] {
            let out = f("a\u{2066}b\u{061c}c\u{202e}d\u{1b}[2J");
            assert!(
                !out.chars()
                    .any(|c| c.is_control() || matches!(c, '\u{2066}' | '\u{061c}' | '\u{202e}')),
                "{out:?}"
            );
        }
    }
}
