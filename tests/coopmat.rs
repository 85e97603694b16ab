//! The cooperative-matrix (tensor-core) path, executed: every configuration the tuner can
//! emit at odd shapes in all three layouts against the f64 reference, a deliberately
//! wrong kernel caught, `tune --precision f16` choosing among cooperative-matrix
//! candidates, f16 training on them, and `--f16-path auto` taking the path after its
//! check.
//!
//! These tests need an adapter with cooperative matrices. CI runs them on Mesa 26.1's
//! lavapipe (8×8×8 fragments) with
//!
//!     FLOPCOST_REQUIRE_COOPMAT=1 scripts/coopmat-lavapipe.sh cargo test --test coopmat
//!
//! where an adapter without them fails every test. Elsewhere (the stock lavapipe of
//! Debian 12 has none) each test says loudly that it did not run, and why.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use flopcost::kernels::problem::Problem;
use flopcost::kernels::{self, coop};
use flopcost::kernels::{GemmPipeline, KernelConfig, KernelSpec, Variant, tune};
use flopcost::result::{self, validate};
use flopcost::types::{KernelPath, Layout, Precision, Shape};

const TIMEOUT: Duration = Duration::from_secs(120);
const COOPMAT: Variant = Variant {
    precision: Precision::F16,
    coopmat: true,
};

/// The adapter's cooperative-matrix support; `None` (after saying so) where it has none
/// and they are not required.
fn support() -> Option<coop::Support> {
    let gpu = common::gpu();
    match coop::support(gpu) {
        Ok(s) => Some(s),
        Err(why) => {
            if std::env::var_os("FLOPCOST_REQUIRE_COOPMAT").is_some_and(|v| v == "1") {
                panic!(
                    "FLOPCOST_REQUIRE_COOPMAT=1 but the adapter cannot run cooperative \
                     matrices: {why}. Run these tests under scripts/coopmat-lavapipe.sh"
                );
            }
            eprintln!(
                "NOT RUN: {why}. The cooperative-matrix tests need such an adapter: run \
                 `scripts/coopmat-lavapipe.sh cargo test --test coopmat` (CI does)"
            );
            None
        }
    }
}

/// The flopcost binary as a command, through the coopmat driver's loader when this test
/// runs under `scripts/coopmat-lavapipe.sh` (a native child would see no Vulkan device).
fn flopcost() -> Command {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_flopcost"));
    let mut c = match std::env::var_os("FLOPCOST_COOPMAT_RUNNER") {
        Some(runner) => {
            let mut c = Command::new(runner);
            c.arg(bin);
            c
        }
        None => Command::new(bin),
    };
    c.env("NO_COLOR", "1");
    c
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("flopcost starts");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?}: {text}");
    text
}

#[test]
fn every_configuration_the_tuner_can_emit_verifies_at_odd_shapes() {
    let Some(support) = support() else { return };
    let gpu = common::gpu();
    kernels::probe::coopmat(gpu).expect("the cooperative-matrix kernel passes its check");
    let configs = tune::all_candidates_for(gpu, COOPMAT);
    assert!(!configs.is_empty(), "the tuner emits no configuration");
    for &f in &support.frags {
        assert!(configs.iter().any(|c| c.frag == f), "no {f}x{f} candidates");
    }
    let shapes = [
        (1, 1, 1),
        (7, 13, 5),
        (33, 65, 17),
        (127, 1, 255),
        (130, 66, 40),
    ];
    let mut checked = 0;
    for config in &configs {
        let spec = KernelSpec {
            name: format!("test-{config}"),
            config: KernelConfig::Block(config.with_split(1)),
            hidden: true,
            description: "test configuration",
        };
        for layout in Layout::ALL {
            let base = GemmPipeline::new_with(gpu, &spec, layout, COOPMAT).unwrap();
            let pipeline = base.with_split(config.split_k).unwrap();
            for &(m, n, k) in &shapes {
                let shape = Shape::new(m, n, k);
                let problem =
                    Problem::with_precision(gpu, layout, shape, 29, Precision::F16).unwrap();
                let binding = problem.bind(gpu, &pipeline).unwrap();
                let (c, _) = problem
                    .verify(
                        gpu,
                        &pipeline,
                        &binding,
                        Precision::F16.tolerance(),
                        TIMEOUT,
                    )
                    .unwrap();
                assert!(c.passed, "{config} {layout} {shape}: {c:?}");
                checked += 1;
            }
        }
    }
    eprintln!(
        "{checked} products verified: {} configurations ({} fragments, {} lanes) × 3 layouts \
         × 5 shapes",
        configs.len(),
        support.fragments(),
        support.lanes
    );
}

#[test]
fn a_wrong_cooperative_matrix_kernel_is_caught() {
    let Some(support) = support() else { return };
    let gpu = common::gpu();
    let mut config = coop::configs_for(&support)[0];
    config.fault = true;
    let spec = KernelSpec {
        name: "coopmat-faulty".into(),
        config: KernelConfig::Block(config),
        hidden: true,
        description: "skips the first K fragment of every block",
    };
    for layout in Layout::ALL {
        let pipeline = GemmPipeline::new_with(gpu, &spec, layout, COOPMAT).unwrap();
        for (m, n, k) in [(1, 1, 1), (33, 65, 17), (130, 66, 40)] {
            let shape = Shape::new(m, n, k);
            let problem = Problem::with_precision(gpu, layout, shape, 3, Precision::F16).unwrap();
            let binding = problem.bind(gpu, &pipeline).unwrap();
            let (c, _) = problem
                .verify(
                    gpu,
                    &pipeline,
                    &binding,
                    Precision::F16.tolerance(),
                    TIMEOUT,
                )
                .unwrap();
            assert!(!c.passed, "{config} {layout} {shape} passed: {c:?}");
        }
    }
}

#[test]
fn tune_in_f16_chooses_among_cooperative_matrix_candidates() {
    let Some(support) = support() else { return };
    let cache = tempfile::tempdir().unwrap();
    let out = flopcost()
        .args([
            "tune",
            "--precision",
            "f16",
            "--shape",
            "96x80x72",
            "--json",
        ])
        .args(["--budget", "60", "--quiet"])
        .env("FLOPCOST_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let winners: Vec<&serde_json::Value> = match &v {
        serde_json::Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    assert!(!winners.is_empty(), "{v}");
    for w in winners {
        let c = &w["config"];
        assert_eq!(c["coopmat"], true, "not a cooperative-matrix winner: {w}");
        assert_eq!(c["frag"], support.frags[0], "{w}");
        assert!(
            w["candidates_timed"].as_u64().unwrap_or(0) > 1,
            "chosen among one candidate: {w}"
        );
        assert_eq!(w["candidates_failed"], 0, "{w}");
    }
}

#[test]
fn f16_training_runs_on_cooperative_matrices() {
    if support().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("train.json");
    run_ok(
        flopcost()
            .args(["train", "--precision", "f16", "--f16-path", "coopmat"])
            .args(["--steps", "60", "--width", "64", "--target", "0.6", "--out"])
            .arg(&out)
            .env("FLOPCOST_CACHE_DIR", dir.path().join("cache")),
    );
    let file = result::read(&out).unwrap();
    assert!(validate::problems(&file).is_empty());
    let t = file.training.expect("a training section");
    assert_eq!(t.precision, Precision::F16);
    assert_eq!(t.kernel_path, Some(KernelPath::Coopmat));
    assert!(t.gradient_check.passed, "{:?}", t.gradient_check);
    assert!(
        t.loss_end < t.loss_start,
        "{} → {}",
        t.loss_start,
        t.loss_end
    );
    assert!(t.reached_target);
}

#[test]
fn the_automatic_f16_path_takes_cooperative_matrices_after_their_check() {
    let Some(support) = support() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("auto.json");
    run_ok(
        flopcost()
            .args([
                "run",
                "--precision",
                "f16",
                "--kernel",
                "tuned",
                "--no-peaks",
            ])
            .args(["--shape", "33x65x17", "--layout", "nn,nt,tn"])
            .args(["--time-budget", "0.05", "--min-samples", "3", "--out"])
            .arg(&out)
            .env("FLOPCOST_CACHE_DIR", dir.path().join("cache")),
    );
    let file = result::read(&out).unwrap();
    assert!(validate::problems(&file).is_empty());
    assert_eq!(file.records.len(), 3);
    let frag = format!("{0}x{0}x{0} f16->f32", support.frags[0]);
    for r in &file.records {
        assert_eq!(r.kernel.path, Some(KernelPath::Coopmat), "{}", r.id);
        assert!(r.verification.passed && r.tflops.is_some(), "{}", r.id);
        assert_eq!(
            r.kernel.params.get("fragment").and_then(|v| v.as_str()),
            Some(frag.as_str()),
            "{}",
            r.id
        );
    }
    assert!(
        !file.warnings.iter().any(|w| w.contains("shader cores")),
        "{:?}",
        file.warnings
    );
}

#[test]
fn the_cooperative_matrix_peak_runs_below_the_ceiling_and_gives_records_an_efficiency() {
    let Some(support) = support() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("peaks.json");
    run_ok(
        flopcost()
            .args(["run", "--precision", "f16", "--kernel", "tuned"])
            .args([
                "--shape",
                "64",
                "--time-budget",
                "0.05",
                "--min-samples",
                "3",
            ])
            .arg("--out")
            .arg(&out)
            .env("FLOPCOST_CACHE_DIR", dir.path().join("cache")),
    );
    let file = result::read(&out).unwrap();
    assert!(validate::problems(&file).is_empty());
    let peaks = file.peaks.as_ref().expect("peaks are measured by default");
    for &f in &support.frags {
        let m = peaks
            .matrix
            .iter()
            .find(|m| m.fragment == format!("{f}x{f}x{f}") && m.accumulator == Precision::F32)
            .unwrap_or_else(|| panic!("no {f}x{f}x{f} f32-accumulator peak: {:?}", peaks.matrix));
        assert!(m.tflops > 0.0);
        if common::gpu().is_software() {
            // A software adapter emulates the fragments with the CPU's FMAs: a matrix peak
            // far above its FMA peak would be a product the compiler hoisted, not a rate.
            let fma = peaks
                .fma_f32_tflops
                .max(peaks.fma_f16_tflops.unwrap_or(0.0));
            assert!(
                m.tflops < 2.0 * fma,
                "matrix {} vs FMA {fma} TFLOP/s",
                m.tflops
            );
        }
    }
    let r = &file.records[0];
    assert_eq!(r.kernel.path, Some(KernelPath::Coopmat));
    let e = r
        .efficiency
        .expect("a cooperative-matrix record has an efficiency");
    let peak = peaks
        .tflops_for(Precision::F16, Some(KernelPath::Coopmat))
        .unwrap();
    assert!((e - r.tflops.as_ref().unwrap().median / peak).abs() <= 1e-9 * e);
}
