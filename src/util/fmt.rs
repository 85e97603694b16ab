//! Numbers and durations as people read them.

/// `v` with `sig` significant digits, without scientific notation for everyday values.
pub fn fmt_sig(v: f64, sig: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let mag = v.abs().log10().floor() as i32;
    let decimals = (sig as i32 - 1 - mag).clamp(0, 12) as usize;
    format!("{v:.decimals$}")
}

/// A number as given, short whatever its size: plain between 1e-4 and 1e15, otherwise in
/// scientific notation (`1e300`, never three hundred digits).
pub fn fmt_num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() || (1e-4..1e15).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// `0.80×`.
pub fn fmt_ratio(r: f64) -> String {
    format!("{r:.2}×")
}

/// `(−20%)`, `(+3%)`, `(±0%)`.
pub fn fmt_change(r: f64) -> String {
    let pct = ((r - 1.0) * 100.0).round();
    if pct < 0.0 {
        format!("−{}%", -pct)
    } else if pct > 0.0 {
        format!("+{pct}%")
    } else {
        "±0%".into()
    }
}

/// A dash for a missing figure.
pub const NONE: &str = "—";

/// US dollars: `$0.00138`, `$12.3`, `$1235`, `$3.40e9`.
pub fn fmt_usd(v: f64) -> String {
    if !v.is_finite() {
        return NONE.into();
    }
    if v.abs() >= 1e6 {
        format!("${v:.2e}")
    } else {
        format!("${}", fmt_sig(v, 3))
    }
}

/// A duration given in hours, in the unit that reads best.
pub fn fmt_hours(h: f64) -> String {
    const DAY: f64 = 24.0;
    const YEAR: f64 = 24.0 * 365.25;
    if !h.is_finite() {
        NONE.into()
    } else if h < 1.0 / 60.0 {
        format!("{} s", fmt_sig(h * 3600.0, 3))
    } else if h < 1.0 {
        format!("{} min", fmt_sig(h * 60.0, 3))
    } else if h < 2.0 * DAY {
        format!("{} h", fmt_sig(h, 3))
    } else if h < 2.0 * YEAR {
        format!("{} days", fmt_sig(h / DAY, 3))
    } else if h < 1e6 * YEAR {
        format!("{} years", fmt_sig(h / YEAR, 3))
    } else {
        format!("{:.2e} years", h / YEAR)
    }
}

/// A number with 3 significant digits, in scientific notation from a million on.
pub fn fmt_big(v: f64) -> String {
    if v.abs() >= 1e6 {
        format!("{v:.2e}")
    } else {
        fmt_sig(v, 3)
    }
}

/// A duration in ns with a readable unit.
pub fn fmt_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{} s", fmt_sig(ns / 1e9, 3))
    } else if ns >= 1e6 {
        format!("{} ms", fmt_sig(ns / 1e6, 3))
    } else if ns >= 1e3 {
        format!("{} µs", fmt_sig(ns / 1e3, 3))
    } else {
        format!("{} ns", fmt_sig(ns, 3))
    }
}

/// A relative error in scientific notation, or `NaN` when it was not finite.
pub fn fmt_err(e: Option<f64>) -> String {
    match e {
        Some(e) => format!("{e:.1e}"),
        None => "NaN".into(),
    }
}

/// A byte count with a binary unit.
pub fn fmt_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Text from a file or a driver made safe to print on one line: every control character
/// (a line break, an ANSI escape, a carriage return, a backspace) is shown escaped (`\n`,
/// `\u{1b}`), as are the invisible marks ([`is_invisible_mark`]), and runs of other whitespace become
/// one space, so no file can forge or erase a line of flopcost's output.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for ch in s.chars() {
        if ch.is_control() || is_invisible_mark(ch) {
            // `\n`, `\t`, `\u{1b}`: visible, and never a line break or an escape sequence.
            out.extend(ch.escape_default());
            space = false;
            continue;
        }
        if ch.is_whitespace() {
            if !space {
                out.push(' ');
            }
            space = true;
            continue;
        }
        space = false;
        {
            out.push(ch);
        }
    }
    out.trim().to_string()
}

/// The invisible marks that reorder or hide text: the Arabic letter mark (U+061C), zero
/// widths and direction marks (U+200B–U+200F), line and paragraph separators, embeddings
/// and overrides (U+2028–U+202E), isolates and invisible operators (U+2060–U+206F), and
/// the byte-order mark (U+FEFF).
pub fn is_invisible_mark(ch: char) -> bool {
    matches!(
        ch,
        '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}'
    )
}

/// Text on one line: runs of whitespace (line breaks included) become one space.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_readably() {
        assert_eq!(fmt_sig(0.002134, 3), "0.00213");
        assert_eq!(fmt_sig(45.678, 3), "45.7");
        assert_eq!(fmt_sig(1234.6, 3), "1235");
        assert_eq!(fmt_ns(1.5e6), "1.50 ms");
        assert_eq!(fmt_ns(2.5e9), "2.50 s");
        assert_eq!(fmt_ns(750.0), "750 ns");
        assert_eq!(fmt_err(Some(3.14e-7)), "3.1e-7");
        assert_eq!(fmt_err(None), "NaN");
        assert_eq!(fmt_bytes(512), "512 B");
        assert_eq!(fmt_num(1e300), "1e300");
        assert_eq!(fmt_num(5e-324), "5e-324");
        assert_eq!(fmt_num(0.25), "0.25");
        assert_eq!(fmt_bytes(3 << 20), "3.0 MiB");
        assert_eq!(
            clean("a\nok   fake.json\x1b[2K"),
            "a\\nok fake.json\\u{1b}[2K"
        );
        assert_eq!(clean("  tidy  "), "tidy");
    }
}
