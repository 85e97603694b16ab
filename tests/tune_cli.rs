//! `tune`, `peak` and the tuned kernel in `run`, end to end through the binary: progress
//! and tables, the cache used by a later run (and said so in the record), a corrupt cache
//! ignored with a warning, peaks and efficiencies in the result file.

mod common;

use std::fs;

use common::flopcost;
use flopcost::result::{self, validate};
use predicates::prelude::*;

/// The tuned kernel's record in a run of one shape.
fn tuned_record(out: &std::path::Path) -> flopcost::result::Record {
    let file = result::read(out).unwrap();
    assert!(
        validate::problems(&file).is_empty(),
        "{:?}",
        validate::problems(&file)
    );
    file.records
        .into_iter()
        .find(|r| r.kernel.name == "tuned")
        .expect("a tuned record")
}

#[test]
fn tune_then_run_uses_the_cache_and_a_corrupt_cache_is_ignored() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = cache.path().to_str().unwrap();
    flopcost()
        .env("FLOPCOST_CACHE_DIR", c)
        .args(["tune", "--shape", "40x48x56", "--budget", "3"])
        .assert()
        .success()
        .stdout(predicate::str::contains("best ("))
        .stdout(predicate::str::contains("m64.n64.k64"))
        .stdout(predicate::str::contains("tuning cache:"));
    let files: Vec<_> = fs::read_dir(cache.path()).unwrap().collect();
    assert_eq!(files.len(), 1);
    let cache_file = files[0].as_ref().unwrap().path();

    // A second tune finds the winner cached.
    flopcost()
        .env("FLOPCOST_CACHE_DIR", c)
        .args(["tune", "--shape", "40x48x56", "--json"])
        .assert()
        .success()
        .stderr(predicate::str::contains("cached winner"));

    let run = |name: &str| {
        let out = dir.path().join(name);
        let assert = flopcost()
            .env("FLOPCOST_CACHE_DIR", c)
            .args([
                "run",
                "--shape",
                "40x48x56",
                "--kernel",
                "tuned,naive",
                "--no-peaks",
            ])
            .args(["--time-budget", "0.05", "--min-samples", "3"])
            .args(["--out", out.to_str().unwrap()])
            .assert()
            .success();
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        (tuned_record(&out), stderr)
    };
    let (r, _) = run("cached.json");
    assert_eq!(r.kernel.source.map(|s| s.as_str()), Some("cache"));
    assert_eq!(r.kernel.shape_class.as_deref(), Some("m64.n64.k64"));
    assert!(r.kernel.params.contains_key("bm") && r.kernel.params.contains_key("split_k"));
    assert!(r.verification.passed && r.efficiency.is_none());

    // Edited by hand: ignored with a warning, never trusted.
    let text = fs::read_to_string(&cache_file).unwrap();
    fs::write(&cache_file, text.replacen("\"tm\": ", "\"tm\": 1", 1)).unwrap();
    let (r, stderr) = run("edited.json");
    assert!(
        stderr.contains("tuning cache") && stderr.contains("ignored"),
        "{stderr}"
    );
    // A problem this small is not tuned during a run: the default, and the record says so.
    assert_eq!(r.kernel.source.map(|s| s.as_str()), Some("heuristic"));
}

#[test]
fn peak_reports_fma_and_copy_rates() {
    let out = flopcost()
        .args(["peak", "--json", "--runs", "2"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(v["fma_f32_tflops"].as_f64().unwrap() > 0.0);
    assert!(v["copy_gbps"].as_f64().unwrap() > 0.0);
    assert!(v["fma_f32"]["work_per_run"].as_f64().unwrap() > 0.0);
    let gpu = common::gpu();
    // The FMA peak is the fastest of a family of kernels, and says which.
    let variants = v["fma_f32"]["params"]["variants"].as_object().unwrap();
    assert!(variants.len() >= 10, "{variants:?}");
    let chosen = v["fma_f32"]["params"]["variant"].as_str().unwrap();
    assert!(variants.contains_key(chosen), "{chosen}");
    // Every copy is labelled with how its bytes count.
    assert_eq!(v["copy"]["bytes"], "read_plus_write");
    for k in ["transfer", "upload", "readback"] {
        assert!(v[format!("{k}_gbps")].as_f64().unwrap() > 0.0, "{k}");
        assert_eq!(v[k]["bytes"], "once", "{k}");
        assert_eq!(v[k]["timing_method"], "host_clock", "{k}");
    }
    if gpu.features().contains(wgpu::Features::SHADER_F16) {
        assert!(v["fma_f16_tflops"].as_f64().unwrap() > 0.0);
    } else {
        eprintln!("adapter has no SHADER_F16: checking that the f16 peak is absent");
        assert!(v.get("fma_f16_tflops").is_none());
    }
    flopcost()
        .args(["peak", "--runs", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--runs"));
}

#[test]
fn a_run_records_peaks_and_each_record_its_efficiency() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    flopcost()
        .args(["run", "--shape", "64x48x40", "--time-budget", "0.05"])
        .args(["--min-samples", "3", "--out", out.to_str().unwrap()])
        .assert()
        .success();
    let file = result::read(&out).unwrap();
    assert!(validate::problems(&file).is_empty());
    let peaks = file.peaks.as_ref().expect("peaks are measured by default");
    assert!(peaks.fma_f32_tflops > 0.0 && peaks.copy_gbps > 0.0);
    assert_eq!(file.records.len(), 2, "naive and tuned by default");
    for r in &file.records {
        let e = r.efficiency.expect("every timed record has an efficiency");
        let want = r.tflops.as_ref().unwrap().median / peaks.fma_f32_tflops;
        assert!((e - want).abs() <= 1e-9 * want);
        assert!(r.kernel.source.is_some());
    }
    // A doctored efficiency or peak is caught by validate.
    let mut v: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap();
    v["peaks"]["fma_f32_tflops"] = serde_json::json!(123.0);
    let bad = dir.path().join("bad.json");
    fs::write(&bad, v.to_string()).unwrap();
    flopcost()
        .args(["validate", bad.to_str().unwrap()])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("invalid"));
}
