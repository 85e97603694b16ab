//! The binary end to end on a real adapter: runs, result files, validation, exit codes.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::flopcost;
use flopcost::result::{self, validate};
use predicates::prelude::*;

fn small_run(out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut args = vec![
        "run",
        "--shape",
        "33x65x17",
        "--time-budget",
        "0.05",
        "--min-samples",
        "3",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    flopcost().args(&args).assert()
}

#[test]
fn quick_suite_writes_a_valid_result_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("quick.json");
    flopcost()
        .args(["run", "--suite", "quick", "--out", out.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("TFLOP/s median"))
        .stdout(predicate::str::contains("result file:"))
        .stderr(predicate::str::contains("adapter 0:"));
    let file = result::read(&out).unwrap();
    assert!(file.complete);
    assert_eq!(file.settings.suite, "quick");
    // 5 problems plus one training triplet, each with both kernels.
    assert_eq!(file.records.len(), 16);
    assert!(
        file.records
            .iter()
            .all(|r| r.verification.passed && r.tflops.is_some())
    );
    for layout in ["nn", "nt", "tn"] {
        assert!(file.records.iter().any(|r| r.layout.as_str() == layout));
    }
    assert!(validate::problems(&file).is_empty());
    assert!(!file.host.cpu.is_empty() && file.host.logical_cores >= 1);
    assert!(!file.adapter.limits.is_empty() && !file.adapter.features.is_empty());
    flopcost()
        .args(["validate", out.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("ok"));
}

#[test]
fn bad_input_exits_2_with_a_message_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never.json");
    let o = out.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["run", "--no-such-flag"],
        vec!["run", "--shape", "0x5x5", "--out", o],
        vec!["run", "--shape", "-3x5x5", "--out", o],
        vec!["run", "--shape", "axbxc", "--out", o],
        vec!["run", "--shape", "5x5", "--out", o],
        vec!["run", "--shape", "5x5x1.5", "--out", o],
        vec!["run", "--shape", "100000x100000x2", "--out", o],
        vec!["run", "--shape", "9000x9000x9000", "--out", o],
        vec!["run", "--kernel", "nope", "--out", o],
        vec!["run", "--suite", "nope", "--out", o],
        vec!["run", "--layout", "xy", "--out", o],
        vec!["run", "--time-budget", "0", "--out", o],
        vec!["run", "--adapter", "99", "--out", o],
        vec!["run", "--adapter", "no-such-gpu", "--out", o],
        vec!["run", "--shape", "8", "--out", "/nonexistent-dir/x.json"],
        vec!["validate"],
    ];
    for args in cases {
        let assert = flopcost().args(&args).assert().code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert!(!stderr.trim().is_empty(), "{args:?}: no message");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!out.exists(), "{args:?} wrote a file");
    }
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn limits_are_named_when_a_shape_is_too_large() {
    flopcost()
        .args(["run", "--shape", "100000x100000x2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("max_buffer_size"));
    // 9000² floats = 324 MB: over lavapipe's 128 MiB binding limit, under its buffer limit.
    let gpu = common::gpu();
    if gpu.limits().max_storage_buffer_binding_size < 9000 * 9000 * 4 {
        flopcost()
            .args(["run", "--shape", "9000x9000x9000"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("max_storage_buffer_binding_size"));
    }
}

#[test]
fn existing_output_is_kept_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    small_run(&out, &[]).success();
    let before = fs::read(&out).unwrap();
    small_run(&out, &[])
        .code(2)
        .stderr(predicate::str::contains("--force"));
    assert_eq!(
        fs::read(&out).unwrap(),
        before,
        "file changed without --force"
    );
    small_run(&out, &["--force", "--seed", "9"]).success();
    let after = result::read(&out).unwrap();
    assert_eq!(after.settings.seed, 9);
    // No temporary files are left behind.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn failed_verification_is_recorded_untimed_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("faulty.json");
    flopcost()
        .args(["run", "--kernel", "faulty,naive", "--shape", "33x65x17"])
        .args(["--time-budget", "0.05", "--out", out.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("verification failed"));
    let file = result::read(&out).unwrap();
    assert!(file.complete);
    let bad = file
        .records
        .iter()
        .find(|r| r.kernel.name == "faulty")
        .unwrap();
    assert!(!bad.verification.passed);
    assert!(bad.timing.is_none() && bad.tflops.is_none());
    let good = file
        .records
        .iter()
        .find(|r| r.kernel.name == "naive")
        .unwrap();
    assert!(good.verification.passed && good.tflops.is_some());
    assert!(validate::problems(&file).is_empty());
}

#[test]
fn validate_rejects_broken_files_one_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    small_run(&good, &[]).success();
    let text = fs::read_to_string(&good).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();

    let write = |name: &str, bytes: &[u8]| -> PathBuf {
        let p = dir.path().join(name);
        fs::write(&p, bytes).unwrap();
        p
    };
    let mut bad = vec![
        write("empty.json", b""),
        write("text.json", b"hello"),
        write("truncated.json", &text.as_bytes()[..text.len() / 2]),
        write("binary.json", &[0xff, 0x00, 0x12, 0x80]),
        write(
            "deep.json",
            &("[".repeat(10_000) + &"]".repeat(10_000)).into_bytes(),
        ),
        write(
            "other.json",
            br#"{"schema": "something/else", "records": []}"#,
        ),
        write("future.json", br#"{"schema": "flopcost/result/v9"}"#),
        write("missing.json", br#"{"schema": "flopcost/result/v1"}"#),
        dir.path().join("does-not-exist.json"),
    ];
    value["records"][0]["tflops"]["median"] = serde_json::json!(1e9);
    bad.push(write("inconsistent.json", value.to_string().as_bytes()));
    value = serde_json::from_str(&text).unwrap();
    value["records"][0]["flops"] = serde_json::json!(12345);
    bad.push(write("flops.json", value.to_string().as_bytes()));
    value = serde_json::from_str(&text).unwrap();
    value["records"][0]["verification"]["passed"] = serde_json::json!(false);
    bad.push(write("unverified.json", value.to_string().as_bytes()));

    for path in &bad {
        let assert = flopcost()
            .args(["validate", path.to_str().unwrap()])
            .assert()
            .code(2);
        let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
        assert_eq!(stdout.lines().count(), 1, "{}: {stdout}", path.display());
        assert!(
            stdout.starts_with("invalid"),
            "{}: {stdout}",
            path.display()
        );
    }
    // All at once: one line per file, exit 2 because some are bad.
    let mut args = vec!["validate".to_string(), good.display().to_string()];
    args.extend(bad.iter().map(|p| p.display().to_string()));
    let assert = flopcost().args(&args).assert().code(2);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert_eq!(stdout.lines().count(), bad.len() + 1);
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok")).count(), 1);
}

#[test]
fn default_output_goes_to_results_local() {
    let dir = tempfile::tempdir().unwrap();
    flopcost()
        .current_dir(dir.path())
        .args([
            "run",
            "--shape",
            "16",
            "--time-budget",
            "0.02",
            "--min-samples",
            "2",
        ])
        .assert()
        .success();
    let files: Vec<_> = fs::read_dir(dir.path().join("results/local"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0].ends_with(".json") && files[0].contains("202"),
        "{files:?}"
    );
}

#[test]
fn devices_lists_adapters_as_a_table_and_as_json() {
    flopcost()
        .arg("devices")
        .assert()
        .success()
        .stdout(predicate::str::contains("timestamps"));
    let out = flopcost().args(["devices", "--json"]).assert().success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let list = v.as_array().unwrap();
    assert!(!list.is_empty());
    assert_eq!(list.iter().filter(|a| a["default"] == true).count(), 1);
    for a in list {
        assert!(
            a["limits"]["max_storage_buffer_binding_size"]
                .as_u64()
                .unwrap()
                > 0
        );
        assert!(a["name"].as_str().is_some() && a["driver_info"].as_str().is_some());
    }
}

#[test]
fn help_shows_examples() {
    flopcost()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"));
    flopcost()
        .args(["run", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--time-budget"));
}

#[test]
fn workloads_lists_the_mixed_and_the_f32_workloads_with_digests() {
    let out = flopcost().args(["workloads", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list: Vec<(String, u64, String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            let digest = w["digest"].as_str().unwrap().to_string();
            assert!(
                digest.starts_with("fnv1a64:") && digest.len() == 24,
                "{digest}"
            );
            (
                w["name"].as_str().unwrap().into(),
                w["version"].as_u64().unwrap(),
                w["precision"].as_str().unwrap().into(),
                digest,
            )
        })
        .collect();
    let names: Vec<(&str, u64, &str)> = list
        .iter()
        .map(|(n, v, p, _)| (n.as_str(), *v, p.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("small", 2, "f16"),
            ("decoder-8b", 2, "f16"),
            ("small-f32", 1, "f32"),
            ("decoder-8b-f32", 1, "f32")
        ]
    );
    // decoder-8b v2: a Llama-3-8B layer with attention and the LM head, 32 layers a model.
    let d = &v[1]["definition"];
    assert_eq!(d["attention"]["kv_heads"], 8);
    assert_eq!(d["lm_head"]["d_out"], 128_256);
    assert_eq!(d["model"]["layers"], 32);
    flopcost()
        .arg("workloads")
        .assert()
        .success()
        .stdout(predicate::str::contains(list[0].3.as_str()))
        .stdout(predicate::str::contains("decoder-8b-f32"))
        .stdout(predicate::str::contains("f32 accumulation"));
}

#[test]
fn a_mixed_precision_workload_on_an_adapter_without_f16_names_its_f32_counterpart() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gl.json");
    flopcost()
        .args([
            "run",
            "--workload",
            "small",
            "--backend",
            "gl",
            "--no-peaks",
            "--out",
        ])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("small-f32"))
        .stderr(predicate::str::contains("SHADER_F16"));
    assert!(!out.exists());
}
