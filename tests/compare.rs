//! `flopcost compare` and its output formats, on fixed fixture files (two real runs, on
//! lavapipe and on llvmpipe GL) so the snapshots are deterministic.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::flopcost;
use flopcost::cost::{PriceFile, PriceSpec};
use flopcost::report::compare::{self, Comparison, Input};
use flopcost::report::export::{self, Format};
use flopcost::result;
use predicates::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn comparison(priced: bool) -> Comparison {
    let inputs: Vec<Input> = ["lavapipe-vulkan.json", "llvmpipe-gl.json"]
        .iter()
        .map(|n| Input {
            path: format!("tests/fixtures/{n}"),
            file: result::read(&fixture(n)).unwrap(),
        })
        .collect();
    let spec = PriceSpec {
        price_file: priced.then(|| PriceFile::read(&fixture("prices.toml")).unwrap()),
        ..PriceSpec::default()
    };
    compare::build(&inputs, 0, &spec, None).unwrap()
}

#[test]
fn table_snapshot() {
    let text = export::exporter(Format::Table)
        .render(&comparison(true))
        .unwrap();
    insta::assert_snapshot!("compare_table", text);
}

#[test]
fn markdown_snapshot() {
    let text = export::exporter(Format::Markdown)
        .render(&comparison(true))
        .unwrap();
    insta::assert_snapshot!("compare_markdown", text);
}

#[test]
fn long_file_names_become_machine_numbers_in_column_names() {
    let short = comparison(false);
    let (header, _) = export::row_cells(&short);
    assert!(header.contains(&"llvmpipe-gl / lavapipe-vulkan [95% CI]".to_string()));
    let mut long = short.clone();
    long.machines[1].label = "llvmpipe-llvm-15-0-6-256-bits-gl-standard-20261129T013539Z".into();
    let (header, _) = export::row_cells(&long);
    assert!(
        header.contains(&"#2 / #1 [95% CI]".to_string()),
        "{header:?}"
    );
    assert!(header.contains(&"#1 TFLOP/s".to_string()), "{header:?}");
    assert!(header.iter().all(|h| !h.contains("llvmpipe")), "{header:?}");
}

#[test]
fn unpriced_files_say_how_to_give_a_price() {
    let c = comparison(false);
    let v = &c.verdicts[0];
    assert!(v.cost_ratio.is_none());
    assert!(v.sentence.contains("cost is unknown"), "{}", v.sentence);
    assert!(c.machines.iter().all(|m| m.usd_per_hour.is_none()));
    assert!(c.notes.iter().any(|n| n.contains("--usd-per-hour")));
}

#[test]
fn ratios_match_the_records_and_intervals_bracket_them() {
    let c = comparison(true);
    assert_eq!(c.rows.len(), 7);
    for r in &c.rows {
        let (a, b) = (r.cells[0].as_ref().unwrap(), r.cells[1].as_ref().unwrap());
        let ratio = b.ratio.unwrap();
        assert!((ratio - b.tflops / a.tflops).abs() < 1e-12);
        let i = b.interval.unwrap();
        // The histogram keeps 3 significant digits: allow that much slack.
        assert!(i.low <= ratio * 1.002 && ratio <= i.high * 1.002, "{r:?}");
        // Same price on both sides: cost per PFLOP is inversely proportional to speed.
        let cost = b.usd_per_pflop.unwrap() / a.usd_per_pflop.unwrap();
        assert!((cost * ratio - 1.0).abs() < 1e-9);
    }
    let v = &c.verdicts[0];
    assert!((v.cost_ratio.unwrap() * v.speed_ratio - 1.0).abs() < 1e-9);
    assert!(
        v.sentence
            .starts_with("llvmpipe-gl does this training work at "),
        "{}",
        v.sentence
    );
    assert!(v.sentence.contains("the cost of lavapipe-vulkan ("));
    assert!(v.sentence.contains("× its speed (95% interval: cost "));
}

#[test]
fn cli_prints_the_table_json_and_html() {
    let a = fixture("lavapipe-vulkan.json");
    let b = fixture("llvmpipe-gl.json");
    let prices = fixture("prices.toml");
    flopcost()
        .arg("compare")
        .args([&a, &b])
        .arg("--price-file")
        .arg(&prices)
        .assert()
        .success()
        .stdout(predicate::str::contains("does this training work at"))
        .stdout(predicate::str::contains("Matched records (7 shapes)"));
    let out = flopcost()
        .arg("compare")
        .args([&a, &b])
        .args(["--format", "json", "--baseline", "2"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["baseline"], 1);
    assert_eq!(v["machines"].as_array().unwrap().len(), 2);
    assert_eq!(v["verdicts"][0]["machine"], 0);

    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("c.html");
    flopcost()
        .arg("compare")
        .args([&a, &b])
        .arg("--price-file")
        .arg(&prices)
        .args(["--format", "html", "--out"])
        .arg(&html)
        .assert()
        .success();
    let page = fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_eq!(page.matches("<svg").count(), 2, "two charts");
    // Nothing is loaded from elsewhere: no script, stylesheet link, image or font URL.
    for needle in [
        "<script", "<link", "<img", "src=", "href=", "url(", "@import",
    ] {
        assert!(!page.contains(needle), "the page contains {needle}");
    }
    // An existing page is kept without --force.
    flopcost()
        .arg("compare")
        .args([&a, &b])
        .args(["--format", "html", "--out"])
        .arg(&html)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--force"));
}

/// A copy of a fixture keeping only the records whose shape passes `keep`.
fn filtered(dir: &Path, name: &str, keep: impl Fn(&result::Record) -> bool) -> PathBuf {
    let mut f = result::read(&fixture(name)).unwrap();
    f.records.retain(|r| keep(r));
    let p = dir.join(format!("filtered-{name}"));
    fs::write(&p, serde_json::to_vec(&f).unwrap()).unwrap();
    p
}

#[test]
fn unmatched_records_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let a = fixture("lavapipe-vulkan.json");
    let b = filtered(dir.path(), "llvmpipe-gl.json", |r| r.m != 256);
    flopcost()
        .arg("compare")
        .args([&a, &b])
        .assert()
        .success()
        .stdout(predicate::str::contains("Unmatched records"))
        .stdout(predicate::str::contains(
            "lavapipe-vulkan (in no other file): gemm-nn-256x256x256-tiled",
        ));
}

#[test]
fn bad_inputs_exit_2_with_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixture("lavapipe-vulkan.json");
    let text = fs::read_to_string(&good).unwrap();
    let write = |name: &str, bytes: &[u8]| -> PathBuf {
        let p = dir.path().join(name);
        fs::write(&p, bytes).unwrap();
        p
    };
    let disjoint_a = filtered(dir.path(), "lavapipe-vulkan.json", |r| r.m == 256);
    let disjoint_b = filtered(dir.path(), "llvmpipe-gl.json", |r| r.m == 512);
    let mut negative: serde_json::Value = serde_json::from_str(&text).unwrap();
    negative["records"][0]["timing"]["median_ns"] = serde_json::json!(-5.0);
    let cases: Vec<(PathBuf, &str)> = vec![
        (write("empty.json", b""), "empty"),
        (write("text.json", b"hello"), "not valid JSON"),
        (
            write("truncated.json", &text.as_bytes()[..text.len() / 2]),
            "not valid JSON",
        ),
        (
            write("binary.json", &[0xff, 0x00, 0x12, 0x80]),
            "not valid JSON",
        ),
        (
            write(
                "deep.json",
                &("[".repeat(10_000) + &"]".repeat(10_000)).into_bytes(),
            ),
            "not valid JSON",
        ),
        (write("other.json", br#"{"schema": "else/v1"}"#), "schema"),
        (
            write("future.json", br#"{"schema": "flopcost/result/v9"}"#),
            "different version",
        ),
        (
            write("missing.json", br#"{"schema": "flopcost/result/v1"}"#),
            "missing field",
        ),
        (
            write("negative.json", negative.to_string().as_bytes()),
            "not a valid result file",
        ),
        (disjoint_b.clone(), "shares no records"),
    ];
    for (path, why) in &cases {
        let base = if path == &disjoint_b {
            &disjoint_a
        } else {
            &good
        };
        let assert = flopcost()
            .arg("compare")
            .args([base, path])
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert_eq!(stderr.lines().count(), 1, "{}: {stderr}", path.display());
        assert!(
            stderr.contains(&path.display().to_string()) && stderr.contains(why),
            "{}: {stderr}",
            path.display()
        );
        assert!(!stderr.contains("panicked"));
    }
    // Bad flags and a bad price file.
    let bad_prices = write("prices.toml", b"[\"llvmpipe\"]\nusd_per_hour = -3\n");
    for args in [
        vec!["--baseline", "3"],
        vec!["--baseline", "nope.json"],
        vec!["--format", "html"],
        vec!["--price-file", bad_prices.to_str().unwrap()],
        vec!["--kernel", "no-such-kernel"],
    ] {
        let assert = flopcost()
            .arg("compare")
            .args([&good, &fixture("llvmpipe-gl.json")])
            .args(&args)
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
    flopcost().args(["compare"]).arg(&good).assert().code(2);
}
