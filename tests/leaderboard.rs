//! The committed leaderboard (`results/README.md`) must be what `flopcost leaderboard
//! results/` generates from the committed result files.

mod common;

use std::path::Path;

use common::flopcost;
use predicates::prelude::*;

#[test]
fn committed_leaderboard_is_up_to_date() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    let committed = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
    let board = flopcost::analysis::leaderboard::build(&dir).unwrap();
    let generated = flopcost::report::leaderboard::render(&board);
    assert!(
        committed == generated,
        "results/README.md is stale; regenerate it with `cargo run -- leaderboard results/`"
    );
}

#[test]
fn leaderboard_writes_and_checks_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for f in ["lavapipe-vulkan.json", "llvmpipe-gl.json"] {
        std::fs::copy(fixtures.join(f), dir.path().join(f)).unwrap();
    }
    flopcost()
        .arg("leaderboard")
        .arg(dir.path())
        .arg("--check")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("stale"));
    flopcost()
        .arg("leaderboard")
        .arg(dir.path())
        .assert()
        .success();
    let page = std::fs::read_to_string(dir.path().join("README.md")).unwrap();
    assert!(page.contains("[llvmpipe-gl.json](llvmpipe-gl.json)"));
    assert!(page.contains("Files without a price"));
    flopcost()
        .arg("leaderboard")
        .arg(dir.path())
        .arg("--check")
        .assert()
        .success();
    // A broken file in the directory is listed as not included, with the reason; the
    // page is still written.
    std::fs::write(dir.path().join("broken.json"), b"{").unwrap();
    flopcost()
        .arg("leaderboard")
        .arg(dir.path())
        .assert()
        .success();
    let page = std::fs::read_to_string(dir.path().join("README.md")).unwrap();
    assert!(page.contains("## Files not included"), "{page}");
    assert!(page.contains("- broken.json: "), "{page}");
    // Files of one workload are ranked together.
    assert!(page.contains("## Workload small v1"), "{page}");
    assert!(
        page.contains("| 1 | [lavapipe-vulkan.json](lavapipe-vulkan.json)"),
        "{page}"
    );
}
