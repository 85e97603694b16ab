//! Outputs made from other people's files stay inert: any string placed in any text field
//! of a result file, or in its file name, comes out of every format as text. For CSV, no
//! cell starts a formula; for Markdown, no HTML and no link but the leaderboard's own
//! links to the files; for HTML, no tag or attribute that flopcost does not write itself
//! and no `javascript:` URL; and nowhere a control character or an invisible direction
//! mark. One property test per format, over hostile pieces and arbitrary text.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use flopcost::analysis::compare;
use flopcost::cost::price::PriceSpec;
use flopcost::report::export::{self, Format};
use flopcost::report::{escape, fleet, leaderboard};
use flopcost::result::{self, ResultFile};
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Pieces a hostile contributor would put in a name: formulas, markup, links, scripts,
/// entities, escapes, direction marks, table breakers.
const PIECES: [&str; 32] = [
    "=cmd|' /C calc'!A0",
    "+1+cmd|x",
    "-2+3",
    "@SUM(A1:A2)",
    "\tTAB",
    "\rCR",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "[click](javascript:alert(3))",
    "![i](javascript:alert(4))",
    "<javascript:alert(5)>",
    "<a@b.c>",
    "https://evil.example/x",
    "www.evil.example",
    "`code`",
    "**bold** _em_ ~~del~~",
    "| forged | row | 999 |",
    "# heading",
    "- item",
    "1. item",
    "&lt;b&gt;",
    "&#x2066;",
    "\\<b>",
    "\u{1b}[2J\u{1b}]0;title\u{7}",
    "\u{2066}\u{2067}\u{2068}\u{2069}\u{061c}",
    "\u{202e}evil\u{202c}",
    "\u{200b}\u{feff}",
    "\"quoted\" 'single'",
    "a,b;c",
    "line\nbreak",
    "<svg onload=alert(6)>",
    "</td></tr><tr><td>",
];

fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => proptest::sample::select(PIECES.to_vec()).prop_map(String::from),
        1 => "\\PC{0,12}",
        1 => any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ];
    proptest::collection::vec(piece, 1..4).prop_map(|v| v.concat())
}

/// The fixture with `text` in every free-text field a reader shows.
fn with_text(name: &str, text: &str) -> ResultFile {
    let mut f = result::read(&fixture(name)).unwrap();
    f.adapter.name = text.to_string();
    f.adapter.backend = text.to_string();
    f.adapter.device_type = text.to_string();
    f.adapter.driver = text.to_string();
    f.adapter.driver_info = text.to_string();
    f.host.hostname = Some(text.to_string());
    f.host.cpu = text.to_string();
    f.warnings.push(text.to_string());
    assert!(
        result::validate::problems(&f).is_empty(),
        "{:?}",
        result::validate::problems(&f)
    );
    f
}

/// A file name holding `text` (no separator or NUL, within a file name's length).
fn file_name(text: &str) -> String {
    let mut name: String = text
        .chars()
        .filter(|&c| c != '/' && c != '\0')
        .take(60)
        .collect();
    while name.len() > 150 {
        name.pop();
    }
    format!("{name}.json")
}

/// No control character but the line break, and no invisible mark, anywhere.
fn no_hidden_characters(what: &str, out: &str) -> Result<(), TestCaseError> {
    if let Some(c) = out
        .chars()
        .find(|&c| (c.is_control() && c != '\n') || flopcost::util::fmt::is_invisible_mark(c))
    {
        return Err(TestCaseError::fail(format!(
            "{what}: {:?} in the output",
            c
        )));
    }
    Ok(())
}

/// The cells of a CSV document (RFC 4180).
fn csv_cells(text: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') if cell.is_empty() => quoted = true,
            (false, ',' | '\n') => cells.push(std::mem::take(&mut cell)),
            (false, c) => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

fn csv_is_inert(out: &str) -> Result<(), TestCaseError> {
    for cell in csv_cells(out) {
        if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && cell.parse::<f64>().is_err() {
            return Err(TestCaseError::fail(format!("CSV formula cell {cell:?}")));
        }
    }
    Ok(())
}

/// No HTML, image or link in Markdown, but links to the `allowed` targets.
fn markdown_is_inert(what: &str, out: &str, allowed: &[String]) -> Result<(), TestCaseError> {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    for event in Parser::new_ext(out, opts) {
        match event {
            Event::Html(h) | Event::InlineHtml(h) if !h.starts_with("<!-- Generated by") => {
                return Err(TestCaseError::fail(format!("{what}: HTML {h:?}")));
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                return Err(TestCaseError::fail(format!("{what}: image {dest_url:?}")));
            }
            Event::Start(Tag::Link { dest_url, .. })
                if !allowed.iter().any(|a| **a == *dest_url) =>
            {
                return Err(TestCaseError::fail(format!("{what}: link {dest_url:?}")));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The tag and attribute names of an HTML document, and its attribute values.
fn html_tokens(out: &str) -> (BTreeSet<String>, BTreeSet<String>, Vec<String>) {
    let (mut tags, mut attrs, mut values) = (BTreeSet::new(), BTreeSet::new(), Vec::new());
    let b = out.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        let end = out[i..].find('>').map_or(b.len(), |e| i + e);
        let inner = &out[i + 1..end];
        let inner = inner.trim_start_matches('/');
        let mut parts = inner.split_whitespace();
        if let Some(t) = parts.next() {
            tags.insert(t.to_ascii_lowercase());
        }
        for p in parts {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            attrs.insert(name.to_ascii_lowercase());
            values.push(value.trim_matches(['"', '\'']).to_ascii_lowercase());
        }
        i = end + 1;
    }
    (tags, attrs, values)
}

fn html_is_inert(what: &str, out: &str, benign: &str) -> Result<(), TestCaseError> {
    let (tags, attrs, values) = html_tokens(out);
    let (ok_tags, ok_attrs, _) = html_tokens(benign);
    if let Some(t) = tags.difference(&ok_tags).next() {
        return Err(TestCaseError::fail(format!("{what}: tag <{t}>")));
    }
    if let Some(a) = attrs.difference(&ok_attrs).next() {
        return Err(TestCaseError::fail(format!("{what}: attribute {a}")));
    }
    if let Some(v) = values.iter().find(|v| v.contains("javascript:")) {
        return Err(TestCaseError::fail(format!("{what}: URL {v}")));
    }
    Ok(())
}

/// Two files in a folder, the second carrying `text` in its fields and its name.
fn folder(text: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("base.json");
    fs::copy(fixture("lavapipe-vulkan.json"), &a).unwrap();
    let b = dir.path().join(file_name(text));
    let file = with_text("llvmpipe-gl.json", text);
    fs::write(&b, serde_json::to_vec_pretty(&file).unwrap()).unwrap();
    (dir, a, b)
}

/// The fleet summary of a folder, made as `flopcost fleet` makes it.
fn fleet_of(dir: &Path) -> flopcost::analysis::fleet::Fleet {
    let folder = flopcost::analysis::ingest::folder(dir, &PriceSpec::default()).unwrap();
    flopcost::analysis::fleet::build(folder, 0.1).unwrap()
}

/// The comparison of the two files, read as `flopcost compare` reads them.
fn comparison(a: &Path, b: &Path) -> compare::Comparison {
    let files: Vec<PathBuf> = vec![a.to_path_buf(), b.to_path_buf()];
    let inputs = flopcost::analysis::ingest::files(&files, &PriceSpec::default()).unwrap();
    compare::build(&inputs, 0, None).unwrap()
}

fn benign_html() -> &'static str {
    static PAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PAGE.get_or_init(|| {
        let (_d, a, b) = folder("benign");
        let c = comparison(&a, &b);
        export::exporter(Format::Html).render(&c).unwrap()
    })
}

fn benign_fleet_html() -> &'static str {
    static PAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PAGE.get_or_init(|| {
        let (d, _, _) = folder("benign");
        fleet::html(&fleet_of(d.path()))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn csv_has_no_formula_cell(text in hostile()) {
        let (_d, a, b) = folder(&text);
        let out = export::exporter(Format::Csv).render(&comparison(&a, &b)).unwrap();
        no_hidden_characters("csv", &out)?;
        csv_is_inert(&out)?;
    }

    #[test]
    fn markdown_has_no_html_or_link(text in hostile()) {
        let (d, a, b) = folder(&text);
        let out = export::exporter(Format::Markdown).render(&comparison(&a, &b)).unwrap();
        no_hidden_characters("compare markdown", &out)?;
        markdown_is_inert("compare markdown", &out, &[])?;
        let page = leaderboard::render(&flopcost::analysis::leaderboard::build(d.path()).unwrap());
        no_hidden_characters("leaderboard", &page)?;
        let targets: Vec<String> = ["base.json".to_string(), file_name(&text)]
            .iter()
            .map(|n| escape::markdown_link_target(n))
            .collect();
        markdown_is_inert("leaderboard", &page, &targets)?;
        let f = fleet_of(d.path());
        let md = fleet::markdown(&f);
        no_hidden_characters("fleet markdown", &md)?;
        markdown_is_inert("fleet markdown", &md, &[])?;
    }

    #[test]
    fn html_has_no_tag_of_its_own(text in hostile()) {
        let (d, a, b) = folder(&text);
        let out = export::exporter(Format::Html).render(&comparison(&a, &b)).unwrap();
        no_hidden_characters("compare html", &out)?;
        html_is_inert("compare html", &out, benign_html())?;
        let f = fleet_of(d.path());
        let page = fleet::html(&f);
        no_hidden_characters("fleet html", &page)?;
        html_is_inert("fleet html", &page, benign_fleet_html())?;
    }

    #[test]
    fn terminal_output_has_no_escape_or_mark(text in hostile()) {
        let (d, a, b) = folder(&text);
        let out = export::exporter(Format::Table).render(&comparison(&a, &b)).unwrap();
        no_hidden_characters("compare table", &out)?;
        let f = fleet_of(d.path());
        no_hidden_characters("fleet table", &fleet::table(&f))?;
    }
}

/// One escaped cell of each format, as the closing note shows them.
#[test]
fn one_hostile_name_in_each_format() {
    let text = "=cmd|' /C calc'!A0 <script>alert(1)</script> [click](javascript:alert(3)) \u{2066}";
    let (d, a, b) = folder(text);
    let c = comparison(&a, &b);
    let csv = export::exporter(Format::Csv).render(&c).unwrap();
    assert!(csv.contains("'=cmd|' /C calc'!A0"), "{csv}");
    let md = export::exporter(Format::Markdown).render(&c).unwrap();
    assert!(md.contains("\\<script\\>alert\\(1\\)\\</script\\>"), "{md}");
    let html = export::exporter(Format::Html).render(&c).unwrap();
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("\\u{2066}"));
    let page = leaderboard::render(&flopcost::analysis::leaderboard::build(d.path()).unwrap());
    assert!(
        page.contains("\\[click\\]\\(javascript:alert\\(3\\)\\)"),
        "{page}"
    );
}
