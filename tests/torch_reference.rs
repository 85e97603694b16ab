//! `scripts/torch_reference.py` end to end: it reads a flopcost result file, measures the
//! same GEMM records with PyTorch (or, without it, NumPy on the CPU), and writes a result
//! file that `flopcost validate` accepts (real HDR histograms of the samples) and that
//! `flopcost compare` shows side by side with a "wgpu / vendor library" ratio for every
//! shared record. Without python3 and one of those packages the tests say so and stop.

mod common;

use std::path::Path;
use std::process::Command;

use common::flopcost;
use flopcost::result;
use predicates::prelude::*;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/torch_reference.py");

/// `python3` if it can import torch or numpy; `None` (with a line saying why) otherwise.
fn python() -> Option<&'static str> {
    for module in ["torch", "numpy"] {
        let ok = Command::new("python3")
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            eprintln!("running scripts/torch_reference.py with {module}");
            return Some("python3");
        }
    }
    eprintln!(
        "SKIPPED: no python3 with torch or numpy here, so scripts/torch_reference.py cannot \
         run; install one (pip install numpy) to test it"
    );
    None
}

fn script(py: &str, args: &[&str]) -> std::process::Output {
    Command::new(py)
        .arg(SCRIPT)
        .args(args)
        .env("OPENBLAS_NUM_THREADS", "1")
        .output()
        .expect("python3 runs")
}

#[test]
fn the_python_histograms_decode_in_flopcost() {
    let Some(py) = python() else { return };
    // Values over ten decades, repeats, a sub-ns one (recorded as 1 ns) and an odd one.
    let code = format!(
        "import importlib.util,sys\n\
         s=importlib.util.spec_from_file_location('r', '{SCRIPT}')\n\
         m=importlib.util.module_from_spec(s); s.loader.exec_module(m)\n\
         v=[0.3, 1, 2, 999, 1000, 1023.5, 2047, 2048, 2049, 65537, 1e6, 1e6, 123456789.0, 9.87e9]\n\
         print(m.hdr_encode(v)); print(m.hdr_encode([5e4]*7))"
    );
    let out = Command::new(py).args(["-c", &code]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let h = flopcost::stats::decode_histogram(lines[0]).unwrap();
    assert_eq!(h.len(), 14);
    assert_eq!(h.min(), 1);
    assert!((h.max() as f64 - 9.87e9).abs() <= 1e-3 * 9.87e9);
    assert_eq!(h.count_at(1_000_000), 2);
    // 2048 and 2049 share a bucket (3 significant digits: a unit of 2 from 2048 on).
    assert_eq!((h.count_at(2047), h.count_at(2049)), (1, 2));
    // The same samples through flopcost's own encoder give the same histogram.
    let ours = flopcost::stats::histogram(&[
        0.3,
        1.0,
        2.0,
        999.0,
        1000.0,
        1023.5,
        2047.0,
        2048.0,
        2049.0,
        65537.0,
        1e6,
        1e6,
        123456789.0,
        9.87e9,
    ])
    .unwrap();
    assert!(h.iter_recorded().eq(ours.iter_recorded()));
    let same = flopcost::stats::decode_histogram(lines[1]).unwrap();
    assert_eq!((same.len(), same.count_at(50_000)), (7, 7));
}

#[test]
fn the_reference_reproduces_a_result_file_and_compare_shows_the_ratio() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("wgpu.json");
    let mut precision = "f32";
    if common::gpu()
        .features()
        .contains(wgpu::Features::SHADER_F16)
    {
        precision = "f32,f16";
    }
    flopcost()
        .args([
            "run",
            "--shape",
            "33x65x17",
            "--shape",
            "48",
            "--layout",
            "nn,nt,tn",
            "--precision",
            precision,
            "--kernel",
            "tuned",
            "--time-budget",
            "0.03",
            "--min-samples",
            "3",
            "--no-peaks",
            "--out",
            ours.to_str().unwrap(),
        ])
        .assert()
        .success();
    let theirs = dir.path().join("vendor.json");
    let out = script(
        py,
        &[
            ours.to_str().unwrap(),
            "--out",
            theirs.to_str().unwrap(),
            "--device",
            "cpu",
            "--time-budget",
            "0.02",
            "--max-samples",
            "20",
            "--min-samples",
            "3",
            "--quiet",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    flopcost()
        .args(["validate", theirs.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("ok"));
    let a = result::read(&ours).unwrap();
    let b = result::read(&theirs).unwrap();
    let rt = b.runtime.as_ref().expect("a runtime");
    assert!(["torch", "numpy"].contains(&rt.name.as_str()), "{rt:?}");
    assert!(!rt.version.is_empty() && rt.libraries.contains_key("python"));
    assert!(!b.is_wgpu());
    assert_eq!(b.records.len(), a.records.len());
    for r in &a.records {
        let twin = b
            .records
            .iter()
            .find(|x| {
                (x.precision.as_str(), x.layout, x.m, x.n, x.k)
                    == (r.precision.as_str(), r.layout, r.m, r.n, r.k)
            })
            .unwrap_or_else(|| panic!("{} is not reproduced", r.id));
        assert!(
            twin.verification.passed && twin.tflops.is_some(),
            "{}",
            twin.id
        );
        assert_eq!(twin.verification.tolerance, r.verification.tolerance);
    }
    // Side by side: every shared record gets a wgpu / vendor ratio.
    let cmp = flopcost()
        .args([
            "compare",
            theirs.to_str().unwrap(),
            ours.to_str().unwrap(),
            "--format",
            "json",
        ])
        .assert()
        .success();
    let c: serde_json::Value = serde_json::from_slice(&cmp.get_output().stdout).unwrap();
    assert_eq!(c["vendor"], 0);
    let rows = c["rows"].as_array().unwrap();
    assert_eq!(rows.len(), a.records.len());
    for row in rows {
        let cell = &row["cells"][1];
        let ratio = cell["vs_vendor"].as_f64().expect("a wgpu / vendor ratio");
        let want = cell["tflops"].as_f64().unwrap() / row["cells"][0]["tflops"].as_f64().unwrap();
        assert!((ratio - want).abs() <= 1e-12 * want);
        assert!(row["cells"][0]["vs_vendor"].is_null());
    }
    flopcost()
        .args(["compare", theirs.to_str().unwrap(), ours.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("wgpu / vendor library"));
}

#[test]
fn the_reference_refuses_bad_input_with_exit_2() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.json");
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"schema\": \"something else\"}").unwrap();
    for args in [
        vec!["--shape", "0x4x4", "--out", out.to_str().unwrap()],
        vec!["--shape", "8"],
        vec![junk.to_str().unwrap(), "--out", out.to_str().unwrap()],
        vec![
            "--shape",
            "8",
            "--layout",
            "xx",
            "--out",
            out.to_str().unwrap(),
        ],
        vec![
            "--shape",
            "8",
            "--precision",
            "bf16",
            "--out",
            out.to_str().unwrap(),
        ],
        vec![
            "--shape",
            "8",
            "--device",
            "nope",
            "--out",
            out.to_str().unwrap(),
        ],
    ] {
        let o = script(py, &args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(String::from_utf8_lossy(&o.stderr).starts_with("error: "));
        assert!(!Path::new(&out).exists());
    }
}
