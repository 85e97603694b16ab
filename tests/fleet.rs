//! Fleets: `flopcost fleet DIR` on synthetic folders (outliers, workloads kept apart,
//! hostile files refused by name), `run --adapter all --out-dir`, and a real Slurm job
//! array (`slurm_job_array_runs_the_workload_on_every_task`, run by CI as its own step).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{flopcost, slowed};
use flopcost::result::{self, ResultFile};
use predicates::prelude::*;

fn fixture() -> ResultFile {
    result::read(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lavapipe-vulkan.json"
    )))
    .unwrap()
}

fn write(dir: &Path, name: &str, f: &ResultFile) {
    fs::write(dir.join(name), serde_json::to_vec_pretty(f).unwrap()).unwrap();
}

/// The fixture as measured on `host`, `factor` times slower.
fn on_host(host: &str, factor: f64) -> ResultFile {
    let mut f = if factor == 1.0 {
        let mut f = fixture();
        f.cost = Some(flopcost::cost::price_file(&f, &Default::default()).unwrap());
        f
    } else {
        slowed(fixture(), factor)
    };
    f.host.hostname = Some(host.into());
    f
}

fn summary(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let out = flopcost()
        .arg("fleet")
        .arg(dir)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_slowed_host_is_an_outlier_of_its_model() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "node-a.json", &on_host("node-a", 1.0));
    write(dir.path(), "node-b.json", &on_host("node-b", 1.0));
    write(dir.path(), "node-c.json", &on_host("node-c", 1.0));
    // Twice as slow (the helper scales every time exactly by a power of two).
    write(dir.path(), "node-d.json", &on_host("node-d", 2.0));
    let v = summary(dir.path(), &[]);
    let models = v["workloads"][0]["models"].as_array().unwrap();
    assert_eq!(models.len(), 1, "{v}");
    let m = &models[0];
    assert_eq!(m["hosts"], 4, "{v}");
    let outliers = m["outliers"].as_array().unwrap();
    assert_eq!(outliers.len(), 1, "{m}");
    assert_eq!(outliers[0]["host"], "node-d");
    assert_eq!(outliers[0]["file"], "node-d.json");
    let below = outliers[0]["below_median"].as_f64().unwrap();
    assert!((0.45..0.55).contains(&below), "{below}");
    assert!(m["spread"].as_f64().unwrap() > 0.4);
    // A looser threshold flags nobody.
    let v = summary(dir.path(), &["--threshold", "0.6"]);
    assert!(
        v["workloads"][0]["models"][0]["outliers"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The table names the outlier by host and file.
    flopcost()
        .arg("fleet")
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("node-d (llvmpipe"))
        .stdout(predicate::str::contains("node-d.json"));
    for format in ["markdown", "html"] {
        let out = dir.path().join(format!("fleet.{format}"));
        flopcost()
            .arg("fleet")
            .arg(dir.path())
            .args(["--format", format, "--out"])
            .arg(&out)
            .assert()
            .success();
        assert!(fs::read_to_string(&out).unwrap().contains("node-d"));
    }
}

#[test]
fn files_of_two_workloads_are_summarised_apart() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.json", &on_host("a", 1.0));
    let mut other = on_host("b", 1.0);
    let w = other.workload.as_mut().unwrap();
    w.definition.seed += 1;
    w.digest = w.definition.digest();
    let problems = result::validate::problems(&other);
    assert!(problems.is_empty(), "{problems:?}");
    write(dir.path(), "b.json", &other);
    let v = summary(dir.path(), &[]);
    let groups = v["workloads"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{v}");
    for g in groups {
        assert_eq!(g["models"][0]["files"], 1, "{g}");
    }
    assert_ne!(groups[0]["digest"], groups[1]["digest"]);
}

#[test]
fn hostile_and_unfit_files_are_refused_by_name_and_the_rest_summarised() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.json", &on_host("good", 1.0));
    fs::write(dir.path().join("broken.json"), b"{ not json").unwrap();
    let mut forged = on_host("evil\nok forged", 1.0);
    forged.adapter.name = "x".repeat(5000);
    write(dir.path(), "long.json", &forged);
    let mut exploratory = fixture();
    exploratory.workload = None;
    exploratory.repeatability = None;
    write(dir.path(), "explore.json", &exploratory);
    let v = summary(dir.path(), &[]);
    let refused: Vec<&str> = v["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["file"].as_str().unwrap())
        .collect();
    assert_eq!(refused, ["broken.json", "explore.json", "long.json"], "{v}");
    assert!(
        v["refused"][1]["why"]
            .as_str()
            .unwrap()
            .contains("no named workload")
    );
    assert_eq!(v["workloads"][0]["models"][0]["hosts"], 1);
    // A host name with a line break is printed escaped.
    let dir2 = tempfile::tempdir().unwrap();
    write(dir2.path(), "evil.json", &on_host("evil\nok forged", 1.0));
    let out = flopcost().arg("fleet").arg(dir2.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("\nok forged"), "{text}");
    // Nothing to summarise: exit 2 with every reason.
    let dir3 = tempfile::tempdir().unwrap();
    fs::write(dir3.path().join("broken.json"), b"[]").unwrap();
    flopcost()
        .arg("fleet")
        .arg(dir3.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken.json"));
}

#[test]
fn run_adapter_all_writes_one_file_per_device_into_out_dir() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fleet");
    let run = || {
        flopcost()
            .args(["run", "--adapter", "all", "--out-dir"])
            .arg(&out)
            .args(["--shape", "33", "--no-peaks", "--time-budget", "0.05"])
            .args(["--min-samples", "2", "--quiet"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let first = String::from_utf8_lossy(&run()).into_owned();
    assert!(first.contains("result file"), "{first}");
    let gpu = common::gpu();
    let files = |d: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    };
    let one = files(&out);
    if gpu.is_software() {
        // No GPU: the best software adapter alone, as `run` picks it (lavapipe's Vulkan
        // and GL listings are one device).
        assert_eq!(one.len(), 1, "{one:?}");
    }
    for f in &one {
        let r = result::read(f).unwrap();
        assert!(result::validate::problems(&r).is_empty());
        assert!(r.host.hostname.is_some());
    }
    // A second run into the same folder takes the next free names, never the first's.
    run();
    let two = files(&out);
    assert_eq!(two.len(), 2 * one.len(), "{two:?}");
    assert!(two.iter().any(|p| p.to_string_lossy().ends_with("-2.json")));
}

/// A real Slurm: `scripts/slurm-local.sh` starts munged, slurmctld and slurmd for this
/// host (installing Debian's slurm-wlm packages when missing), the job array of
/// `deploy/slurm/flopcost.sbatch` runs the small workload in two tasks, and `flopcost
/// fleet` summarises their folder. It needs root and a few minutes, so it runs only when
/// FLOPCOST_SLURM_TEST=1 (CI sets it, in its own step); elsewhere it says so.
#[test]
fn slurm_job_array_runs_the_workload_on_every_task() {
    if std::env::var_os("FLOPCOST_SLURM_TEST").is_none_or(|v| v != "1") {
        eprintln!(
            "NOT RUN: the Slurm test needs root and starts daemons; run it with \
             FLOPCOST_SLURM_TEST=1 cargo test --test fleet slurm -- --nocapture (CI does)"
        );
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let slurm = dir.path().join("slurm");
    let results = dir.path().join("fleet-results");
    let script = root.join("scripts/slurm-local.sh");
    let sh = |cmd: &str| -> std::process::Output {
        let out = Command::new("bash")
            .arg("-c")
            .arg(cmd)
            .env("SLURM_DIR", &slurm)
            .env("SLURM_SCRIPT", &script)
            .env("RESULTS", &results)
            .env("SBATCH_FILE", root.join("deploy/slurm/flopcost.sbatch"))
            .env("FLOPCOST_BIN", env!("CARGO_BIN_EXE_flopcost"))
            .output()
            .unwrap();
        eprintln!(
            "$ {cmd}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    struct Stop<'a>(&'a dyn Fn(&str) -> std::process::Output);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            (self.0)("\"$SLURM_SCRIPT\" stop \"$SLURM_DIR\"");
        }
    }
    let started = sh("\"$SLURM_SCRIPT\" start \"$SLURM_DIR\" > \"$SLURM_DIR.env\"");
    let _stop = Stop(&sh);
    assert!(started.status.success(), "Slurm did not start");
    let submitted = sh(
        ". \"$SLURM_DIR.env\" && sbatch --parsable --array=0-1 --chdir=\"$SLURM_DIR\" \
         --export=ALL,FLOPCOST_WORKLOAD=small,FLOPCOST_OUT_DIR=\"$RESULTS\",\
         FLOPCOST_ARGS=--no-peaks \"$SBATCH_FILE\"",
    );
    assert!(submitted.status.success(), "sbatch failed");
    let job = String::from_utf8_lossy(&submitted.stdout)
        .trim()
        .to_string();
    assert!(!job.is_empty());
    let waited = sh(&format!(
        ". \"$SLURM_DIR.env\" && \"$SLURM_SCRIPT\" wait \"$SLURM_DIR\" {job} 1200; \
         cat \"$SLURM_DIR\"/flopcost-*.out 2>/dev/null | tail -40"
    ));
    assert!(waited.status.success(), "the job array did not complete");
    let files: Vec<PathBuf> = fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2, "one result file per task: {files:?}");
    let out = flopcost().arg("fleet").arg(&results).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("flopcost fleet {}:\n{text}", results.display());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("workload small v2"), "{text}");
    assert!(text.contains("tokens/s"), "{text}");
    let v = summary(&results, &[]);
    let m = &v["workloads"][0]["models"][0];
    assert_eq!(m["files"], 2, "{v}");
    assert!(v["refused"].as_array().unwrap().is_empty(), "{v}");
}
