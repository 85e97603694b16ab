//! Shared helpers for integration tests: the binary under test and one device per test
//! process (lavapipe in CI).
#![allow(dead_code)]

use std::sync::OnceLock;

use flopcost::gpu::{Gpu, adapter};

/// The `flopcost` binary, with no colour or terminal tricks, and a tuning cache in a
/// temporary directory of this test process (never the user's).
pub fn flopcost() -> assert_cmd::Command {
    static CACHE: OnceLock<tempfile::TempDir> = OnceLock::new();
    let cache = CACHE.get_or_init(|| tempfile::tempdir().expect("temporary directory"));
    let mut c = assert_cmd::Command::cargo_bin("flopcost").expect("binary builds");
    c.env("NO_COLOR", "1");
    c.env("FLOPCOST_CACHE_DIR", cache.path());
    c
}

/// The device tests run on: `FLOPCOST_TEST_ADAPTER` (index or name) or the best one.
/// Tests need a real adapter; without one they fail with the remedy, never pass silently.
pub fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| {
        let selector = std::env::var("FLOPCOST_TEST_ADAPTER")
            .map(|s| adapter::AdapterSelector::parse(&s))
            .unwrap_or(adapter::AdapterSelector::Best);
        let filter = adapter::BackendFilter::All;
        let choice = adapter::choose(adapter::enumerate(filter), &selector, filter)
            .unwrap_or_else(|e| panic!("tests need a GPU adapter: {e:#}"));
        eprintln!("testing on adapter: {}", choice.entry.info.name);
        Gpu::open(choice.entry).expect("device opens")
    })
}
