//! The top-level modules import one way: each may use only the modules listed before it
//! in `flopcost::LAYERS` (the order `lib.rs` documents). This reads every `crate::` path
//! (and every `super::` that climbs out of a module) in `src/` and fails on one that
//! points up, naming the file and line; with the order strict, no two modules can form
//! a cycle.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file below `src/`: `gpu/timing.rs` → [gpu, timing].
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs").to_string();
    if stem != "mod" {
        parts.push(stem);
    }
    parts
}

/// The code of a line without its comment (a `//` not part of `://`).
fn code(line: &str) -> &str {
    let b = line.as_bytes();
    for i in 0..b.len().saturating_sub(1) {
        if b[i] == b'/' && b[i + 1] == b'/' && (i == 0 || b[i - 1] != b':') {
            return &line[..i];
        }
    }
    line
}

/// The top-level modules a line of code names: `crate::x`, `crate::{x, y}`, and
/// `super::` chains that climb to the crate root from a module `depth` levels deep.
fn targets(line: &str, depth: usize) -> Vec<String> {
    let mut out = Vec::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + 7..];
        if let Some(group) = after.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name = ident(item.trim());
                if !name.is_empty() {
                    out.push(name);
                }
            }
        } else {
            out.push(ident(after));
        }
        rest = after;
    }
    // `super::` repeated `depth` times from a module `depth` deep reaches the root.
    if depth > 0 {
        let climb = "super::".repeat(depth);
        let mut rest = line;
        while let Some(i) = rest.find(&climb) {
            let after = &rest[i + climb.len()..];
            if !after.starts_with("super::") {
                let name = ident(after);
                if !name.is_empty() {
                    out.push(name);
                }
            }
            rest = after;
        }
    }
    out
}

#[test]
fn top_level_modules_import_only_the_layers_below_them() {
    let layers = flopcost::LAYERS;
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut violations = Vec::new();
    let mut edges = 0;
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let path = module_path(rel);
        let Some(top) = path.first() else { continue };
        if top == "lib" || top == "main" {
            continue;
        }
        let Some(level) = layers.iter().position(|l| l == top) else {
            violations.push(format!(
                "{}: module `{top}` is not in flopcost::LAYERS; add it where it belongs",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for target in targets(code(line), path.len()) {
                if target == *top || target.is_empty() {
                    continue;
                }
                match layers.iter().position(|l| *l == target) {
                    Some(t) if t < level => edges += 1,
                    Some(_) => violations.push(format!(
                        "{}:{}: `{top}` uses `{target}`, which sits above it in \
                         flopcost::LAYERS",
                        rel.display(),
                        n + 1
                    )),
                    None => {}
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports against the layer order:\n{}",
        violations.join("\n")
    );
    // The test reads something: the layers do use each other downwards.
    assert!(edges > 50, "only {edges} crate:: paths found");
}

#[test]
fn the_scanner_sees_every_form_of_path() {
    assert_eq!(targets("use crate::gpu::Gpu;", 1), ["gpu"]);
    assert_eq!(
        targets("use crate::{types, util::fmt};", 1),
        ["types", "util"]
    );
    assert_eq!(
        targets("let x = super::super::report::fmt();", 2),
        ["report"]
    );
    assert!(targets("use super::mod_b;", 2).is_empty());
    assert_eq!(code("x // see crate::report"), "x ");
    assert_eq!(code("\"https://example.org\""), "\"https://example.org\"");
}
