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

// ---- Files within a folder: no circle among the files of `kernels/`, `result/` and
// `workloads/`. Every path a file names (`use` lines, with their `{...}` groups over
// several lines, and paths in code) is resolved to the file it reaches: `crate::`,
// `super::` and `self::` paths to a module, and a name re-exported by a `mod.rs`
// (`pub use x::Name;`, `pub use x::*;`) to the file that defines it. A `mod.rs` that only
// declares and re-exports its children adds no edge; test modules (`#[cfg(test)] mod`)
// are skipped. The graph must be acyclic.

use std::collections::BTreeMap;

/// The code of a file: comments, string contents and `#[cfg(test)] mod ... { }` blocks
/// removed, one entry per line (so line numbers stay right).
fn code_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip_depth: Option<i32> = None;
    let mut depth = 0i32;
    let mut pending_test = false;
    let mut in_block_comment = false;
    // A string may run over several lines (`\` continuations, raw strings are not used).
    let mut in_str = false;
    for line in text.lines() {
        let mut c = String::new();
        let b: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < b.len() {
            if in_block_comment {
                if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    in_block_comment = false;
                    i += 2;
                } else {
                    i += 1;
                }
                continue;
            }
            if in_str {
                if b[i] == '\\' {
                    i += 2;
                    continue;
                }
                if b[i] == '"' {
                    in_str = false;
                    c.push('"');
                }
                i += 1;
                continue;
            }
            match (b[i], b.get(i + 1)) {
                ('/', Some('/')) => break,
                ('/', Some('*')) => {
                    in_block_comment = true;
                    i += 2;
                    continue;
                }
                ('"', _) => {
                    in_str = true;
                    c.push('"');
                }
                ('\'', _) if b.get(i + 2) == Some(&'\'') => {
                    c.push_str("' '");
                    i += 3;
                    continue;
                }
                (ch, _) => c.push(ch),
            }
            i += 1;
        }
        let trimmed = c.trim();
        if trimmed.starts_with("#[cfg(test)]") {
            pending_test = true;
        }
        let opens = c.matches('{').count() as i32;
        let closes = c.matches('}').count() as i32;
        if skip_depth.is_none() && pending_test && trimmed.contains("mod ") && opens > 0 {
            skip_depth = Some(depth);
            pending_test = false;
        } else if pending_test && !trimmed.is_empty() && !trimmed.starts_with("#[") {
            pending_test = trimmed.contains("mod ") && !trimmed.ends_with(';');
        }
        depth += opens - closes;
        match skip_depth {
            Some(d) => {
                out.push(String::new());
                if depth <= d {
                    skip_depth = None;
                }
            }
            None => out.push(c),
        }
    }
    out
}

/// Every path a piece of code names, as written: `crate::a::b`, `super::x::Y`,
/// `self::z`, with `{...}` groups expanded (`use super::{a, b::C};` gives `super::a` and
/// `super::b::C`).
fn paths_in(code: &str) -> Vec<String> {
    fn expand(prefix: &str, rest: &str, out: &mut Vec<String>) {
        // `rest` starts just after `prefix::{`.
        let mut depth = 0;
        let mut item = String::new();
        for ch in rest.chars() {
            match ch {
                '{' => {
                    depth += 1;
                    item.push(ch);
                }
                '}' if depth == 0 => break,
                '}' => {
                    depth -= 1;
                    item.push(ch);
                }
                ',' if depth == 0 => {
                    push(prefix, &item, out);
                    item.clear();
                }
                c => item.push(c),
            }
        }
        push(prefix, &item, out);
    }
    fn push(prefix: &str, item: &str, out: &mut Vec<String>) {
        let item: String = item.split_whitespace().collect::<Vec<_>>().join("");
        let item = item.split(" as ").next().unwrap_or("").to_string();
        if item.is_empty() {
            return;
        }
        if let Some(i) = item.find("::{") {
            expand(&format!("{prefix}::{}", &item[..i]), &item[i + 3..], out);
        } else if item != "self" {
            out.push(format!("{prefix}::{item}"));
        } else {
            out.push(prefix.to_string());
        }
    }
    let mut out = Vec::new();
    let b = code.as_bytes();
    let mut i = 0;
    while i < code.len() {
        let at = &code[i..];
        let starts = ["crate::", "super::", "self::"]
            .iter()
            .any(|p| at.starts_with(p))
            && (i == 0
                || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b':'));
        if !starts {
            i += at.chars().next().map_or(1, char::len_utf8);
            continue;
        }
        let len = at
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(at.len());
        let path = at[..len].trim_end_matches(':').to_string();
        if at[len..].starts_with('{') && at[..len].ends_with("::") {
            expand(&path, &at[len + 1..], &mut out);
        } else {
            out.push(path);
        }
        i += len.max(1);
    }
    out
}

/// One file of a folder: its module path and its code.
struct Node {
    rel: PathBuf,
    module: Vec<String>,
    is_mod: bool,
    lines: Vec<String>,
}

/// What each `mod.rs` re-exports: name → the child module it comes from, and the
/// children it re-exports everything of (`pub use x::*`).
fn reexports(node: &Node) -> (BTreeMap<String, String>, Vec<String>) {
    let (mut names, mut globs) = (BTreeMap::new(), Vec::new());
    let text = node.lines.join("\n");
    for stmt in text.split(';') {
        let s = stmt.trim();
        let Some(rest) = s.strip_prefix("pub use ") else {
            continue;
        };
        let rest: String = rest.split_whitespace().collect::<Vec<_>>().join("");
        let Some((child, items)) = rest.split_once("::") else {
            continue;
        };
        if matches!(child, "crate" | "super" | "self") {
            continue;
        }
        let items = items.trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',') {
            let name = item.rsplit("::").next().unwrap_or("");
            let name = name.split(" as ").last().unwrap_or(name);
            if name == "*" {
                globs.push(child.to_string());
            } else if !name.is_empty() {
                names.insert(name.to_string(), child.to_string());
            }
        }
    }
    (names, globs)
}

fn defines(node: &Node, name: &str) -> bool {
    node.lines.iter().any(|l| {
        let t = l.trim_start();
        [
            "pub struct ",
            "pub enum ",
            "pub fn ",
            "pub const ",
            "pub static ",
            "pub trait ",
            "pub type ",
            "pub const fn ",
            "pub(crate) fn ",
        ]
        .iter()
        .any(|p| {
            t.strip_prefix(p).is_some_and(|r| {
                r.starts_with(name)
                    && !r[name.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            })
        })
    })
}

/// The file a path written in `from` reaches, if it is one of `nodes`.
fn resolve(nodes: &[Node], from: &Node, path: &str) -> Option<usize> {
    let mut segs: Vec<String> = Vec::new();
    let mut parts = path.split("::").peekable();
    match parts.next()? {
        "crate" => {}
        "self" => segs = from.module.clone(),
        "super" => {
            segs = from.module.clone();
            segs.pop();
            while parts.peek() == Some(&"super") {
                parts.next();
                segs.pop();
            }
        }
        _ => return None,
    }
    let rest: Vec<String> = parts.map(String::from).collect();
    segs.extend(rest.iter().cloned());
    // The longest prefix that is a file of the folder.
    let mut found = None;
    for n in (1..=segs.len()).rev() {
        if let Some(i) = nodes.iter().position(|x| x.module == segs[..n]) {
            found = Some((i, n));
            break;
        }
    }
    let (mut i, mut n) = found?;
    // A name a `mod.rs` re-exports reaches the file that defines it (following
    // re-exports down through nested `mod.rs` files).
    while nodes[i].is_mod && n < segs.len() {
        let (names, globs) = reexports(&nodes[i]);
        let name = segs[n].clone();
        let child = names.get(&name).cloned().or_else(|| {
            globs.iter().find_map(|g| {
                let mut m = nodes[i].module.clone();
                m.push(g.clone());
                nodes
                    .iter()
                    .position(|x| x.module == m)
                    .filter(|&c| defines(&nodes[c], &name))
                    .map(|_| g.clone())
            })
        });
        let Some(child) = child else { break };
        let mut m = nodes[i].module.clone();
        m.push(child);
        let Some(j) = nodes.iter().position(|x| x.module == m) else {
            break;
        };
        // The path goes on in the child with the same name.
        let rest = segs[n..].to_vec();
        n = m.len();
        segs = m;
        segs.extend(rest);
        i = j;
    }
    Some(i)
}

/// The files of `src/<folder>`, and their edges to one another (with the line of each).
fn folder_graph(folder: &str) -> (Vec<Node>, BTreeMap<(usize, usize), String>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src.join(folder), &mut files);
    files.sort();
    let nodes: Vec<Node> = files
        .iter()
        .map(|f| {
            let rel = f.strip_prefix(&src).unwrap().to_path_buf();
            Node {
                module: module_path(&rel),
                is_mod: rel.file_name().is_some_and(|n| n == "mod.rs"),
                lines: code_lines(&std::fs::read_to_string(f).unwrap()),
                rel,
            }
        })
        .collect();
    let mut edges = BTreeMap::new();
    for (a, node) in nodes.iter().enumerate() {
        // Bare paths to a child module from its `mod.rs` (`tune::X`), and to modules a
        // file brought into scope with `use` are covered by the `use` line itself.
        let children: Vec<String> = if node.is_mod {
            nodes
                .iter()
                .filter(|c| {
                    c.module.len() == node.module.len() + 1 && c.module.starts_with(&node.module)
                })
                .map(|c| c.module.last().unwrap().clone())
                .collect()
        } else {
            Vec::new()
        };
        for (n, line) in node.lines.iter().enumerate() {
            let t = line.trim_start();
            // Declarations and re-exports of a mod.rs are not uses.
            if node.is_mod
                && (t.starts_with("pub mod ")
                    || t.starts_with("mod ")
                    || t.starts_with("pub use ")
                    || t.starts_with("pub(crate) use "))
            {
                continue;
            }
            let mut targets: Vec<usize> = paths_in(line)
                .iter()
                .filter_map(|p| resolve(&nodes, node, p))
                .collect();
            for child in &children {
                let pat = format!("{child}::");
                let mut rest = line.as_str();
                while let Some(i) = rest.find(&pat) {
                    let before = rest[..i].chars().last();
                    if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                        let mut m = node.module.clone();
                        m.push(child.clone());
                        if let Some(j) = nodes.iter().position(|x| x.module == m) {
                            targets.push(j);
                        }
                    }
                    rest = &rest[i + pat.len()..];
                }
            }
            for b in targets {
                if b != a {
                    edges
                        .entry((a, b))
                        .or_insert_with(|| format!("{}:{}", node.rel.display(), n + 1));
                }
            }
        }
    }
    (nodes, edges)
}

/// A cycle of the graph, as the files and lines of its edges, if there is one.
fn find_cycle(n: usize, edges: &BTreeMap<(usize, usize), String>) -> Option<Vec<(usize, usize)>> {
    let succ = |a: usize| edges.keys().filter(move |(x, _)| *x == a).map(|(_, y)| *y);
    let mut state = vec![0u8; n];
    let mut stack: Vec<usize> = Vec::new();
    fn dfs(
        v: usize,
        succ: &dyn Fn(usize) -> Vec<usize>,
        state: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state[v] = 1;
        stack.push(v);
        for w in succ(v) {
            if state[w] == 1 {
                let at = stack.iter().position(|&x| x == w).unwrap();
                let mut cyc = stack[at..].to_vec();
                cyc.push(w);
                return Some(cyc);
            }
            if state[w] == 0
                && let Some(c) = dfs(w, succ, state, stack)
            {
                return Some(c);
            }
        }
        stack.pop();
        state[v] = 2;
        None
    }
    let succ_vec = |a: usize| succ(a).collect::<Vec<_>>();
    for v in 0..n {
        if state[v] == 0
            && let Some(c) = dfs(v, &succ_vec, &mut state, &mut stack)
        {
            return Some(c.windows(2).map(|w| (w[0], w[1])).collect());
        }
    }
    None
}

fn assert_no_circle(folder: &str) -> usize {
    let (nodes, edges) = folder_graph(folder);
    if let Some(cycle) = find_cycle(nodes.len(), &edges) {
        let steps: Vec<String> = cycle
            .iter()
            .map(|&(a, b)| {
                format!(
                    "{} uses {} ({})",
                    nodes[a].rel.display(),
                    nodes[b].rel.display(),
                    edges[&(a, b)]
                )
            })
            .collect();
        // Every group of files that reach one another, to show all that must change.
        let n = nodes.len();
        let mut reach = vec![vec![false; n]; n];
        for &(a, b) in edges.keys() {
            reach[a][b] = true;
        }
        for k in 0..n {
            let via = reach[k].clone();
            for row in reach.iter_mut() {
                if row[k] {
                    for (r, v) in row.iter_mut().zip(&via) {
                        *r |= *v;
                    }
                }
            }
        }
        let mut groups: Vec<Vec<String>> = Vec::new();
        let mut seen = vec![false; n];
        for i in 0..n {
            if seen[i] || !reach[i][i] {
                continue;
            }
            let g: Vec<usize> = (0..n).filter(|&j| reach[i][j] && reach[j][i]).collect();
            for &j in &g {
                seen[j] = true;
            }
            groups.push(
                g.iter()
                    .map(|&j| nodes[j].rel.display().to_string())
                    .collect(),
            );
        }
        let groups: Vec<String> = groups.iter().map(|g| g.join(", ")).collect();
        panic!(
            "a circle among the files of src/{folder}/:\n  {}\nfiles that reach one another: \
             \n  {}",
            steps.join("\n  "),
            groups.join("\n  ")
        );
    }
    edges.len()
}

#[test]
fn the_files_of_kernels_import_one_way() {
    let edges = assert_no_circle("kernels");
    assert!(edges > 20, "only {edges} edges among kernels/ files");
}

#[test]
fn the_files_of_result_import_one_way() {
    let edges = assert_no_circle("result");
    assert!(edges > 10, "only {edges} edges among result/ files");
}

#[test]
fn the_files_of_workloads_import_one_way() {
    let edges = assert_no_circle("workloads");
    assert!(edges > 30, "only {edges} edges among workloads/ files");
}

#[test]
fn the_files_of_analysis_import_one_way() {
    let edges = assert_no_circle("analysis");
    assert!(edges > 10, "only {edges} edges among analysis/ files");
}

#[test]
fn the_file_scanner_resolves_groups_reexports_and_climbs() {
    assert_eq!(
        paths_in("use super::{a, b::{C, D}, self};"),
        ["super::a", "super::b::C", "super::b::D", "super"]
    );
    assert_eq!(
        paths_in("let x = crate::kernels::tune::heuristic(g);"),
        ["crate::kernels::tune::heuristic"]
    );
    let lines = code_lines("fn a() {}\n#[cfg(test)]\nmod tests {\n    use super::x;\n}\nfn b() {}");
    assert_eq!(lines[3], "");
    assert_eq!(lines[5], "fn b() {}");
    assert_eq!(
        code_lines("let s = \"crate::x\"; // super::y")[0],
        "let s = \"\"; "
    );
}
