//! Training on a real adapter: one step against the f64 CPU implementation, the loss
//! falling on a tiny model, training layers split to fit small buffer limits, and the
//! `train` command end to end.

mod common;

use std::fs;
use std::time::Duration;

use common::flopcost;
use flopcost::kernels::{self, Variant};
use flopcost::result::{self, Record, Training, TripletBlock, validate};
use flopcost::types::Layer;
use flopcost::types::{Layout, Precision};
use flopcost::workloads::Block;
use flopcost::workloads::runner::{Observer, RunSettings, Runner};
use flopcost::workloads::train::{
    self, OptimizerConfig, TrainConfig, check::gradient_check, ops::Kernels,
};
use predicates::prelude::*;

const TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Default)]
struct Collect {
    records: Vec<Record>,
    triplets: Vec<TripletBlock>,
    training: Option<Training>,
}

impl Observer for Collect {
    fn planned(&mut self, _count: u64) {}
    fn started(&mut self, _label: &str) {}
    fn finished(&mut self, record: &Record) -> anyhow::Result<()> {
        self.records.push(record.clone());
        Ok(())
    }
    fn skipped(&mut self, label: &str, why: &str) {
        panic!("{label} was skipped: {why}");
    }
    fn warn(&mut self, _message: String) {}
    fn triplets(&mut self, block: &TripletBlock) -> anyhow::Result<()> {
        self.triplets.push(block.clone());
        Ok(())
    }
    fn training(&mut self, section: &Training) -> anyhow::Result<()> {
        self.training = Some(section.clone());
        Ok(())
    }
}

fn kernel(name: &str) -> kernels::KernelSpec {
    kernels::lookup(&[name.to_string()]).unwrap().remove(0)
}

#[test]
fn one_step_matches_the_f64_reference_with_every_kernel_and_optimizer() {
    let gpu = common::gpu();
    let ops = Kernels::new(gpu, Precision::F32).unwrap();
    for k in kernels::default_kernels() {
        for opt in [OptimizerConfig::adamw(1e-3), OptimizerConfig::sgd(0.05)] {
            let c = gradient_check(gpu, &ops, &k, Variant::F32, &opt, 5, TIMEOUT).unwrap();
            assert!(
                c.passed,
                "{} {:?}: loss {:.2e}, gradients {:.2e}, updates {:.2e}",
                k.name, opt.kind, c.loss_rel_error, c.gradient_rel_error, c.update_rel_error
            );
            assert!(c.gradient_rel_error < 1e-5 && c.update_rel_error < 1e-5);
        }
    }
}

#[test]
fn one_f16_step_matches_the_f64_reference_that_rounds_like_it() {
    let gpu = common::gpu();
    if !gpu.features().contains(wgpu::Features::SHADER_F16) {
        eprintln!(
            "adapter '{}' has no SHADER_F16: f16 training is refused there (tested in \
             tests/f16.rs), nothing to check here",
            gpu.info.name
        );
        return;
    }
    let ops = Kernels::new(gpu, Precision::F16).unwrap();
    let f16 = Variant::simt(Precision::F16);
    for k in kernels::default_kernels() {
        for opt in [OptimizerConfig::adamw(1e-3), OptimizerConfig::sgd(0.05)] {
            let c = gradient_check(gpu, &ops, &k, f16, &opt, 5, TIMEOUT).unwrap();
            assert!(
                c.passed && c.tolerance == flopcost::verify::F16_TOLERANCE,
                "{} {:?}: loss {:.2e}, gradients {:.2e}, updates {:.2e}",
                k.name,
                opt.kind,
                c.loss_rel_error,
                c.gradient_rel_error,
                c.update_rel_error
            );
        }
    }
    // A wrong product is still caught in f16.
    let c = gradient_check(
        gpu,
        &ops,
        &kernel("faulty"),
        f16,
        &OptimizerConfig::adamw(1e-3),
        5,
        TIMEOUT,
    )
    .unwrap();
    assert!(!c.passed && c.gradient_rel_error > 1e-2, "{c:?}");
}

#[test]
fn the_gradient_check_catches_a_wrong_product() {
    // `faulty` drops the last term of every dot product.
    let gpu = common::gpu();
    let ops = Kernels::new(gpu, Precision::F32).unwrap();
    let c = gradient_check(
        gpu,
        &ops,
        &kernel("faulty"),
        Variant::F32,
        &OptimizerConfig::adamw(1e-3),
        5,
        TIMEOUT,
    )
    .unwrap();
    assert!(!c.passed && c.gradient_rel_error > 1e-2, "{c:?}");
}

#[test]
fn the_loss_falls_on_a_tiny_model() {
    let gpu = common::gpu();
    let mut precisions = vec![Precision::F32];
    if gpu.features().contains(wgpu::Features::SHADER_F16) {
        precisions.push(Precision::F16);
    }
    for precision in precisions {
        loss_falls(precision);
    }
}

fn loss_falls(precision: Precision) {
    let gpu = common::gpu();
    let ops = Kernels::new(gpu, precision).unwrap();
    let variant = Variant::simt(precision);
    let mut meter = flopcost::measure::gpu::Meter::new(gpu, true).unwrap();
    let check = gradient_check(
        gpu,
        &ops,
        &kernel("tiled"),
        variant,
        &OptimizerConfig::adamw(1e-3),
        1,
        TIMEOUT,
    )
    .unwrap();
    let cfg = TrainConfig {
        dims: vec![24, 40, 40, 24],
        batch: 48,
        steps: 120,
        log_every: 40,
        target_fraction: 0.7,
        optimizer: OptimizerConfig::adamw(3e-3),
        data_batches: 3,
        seed: 2,
    };
    let mut obs = Collect::default();
    let t = train::train(
        gpu,
        &mut meter,
        &ops,
        &kernel("tiled"),
        variant,
        &cfg,
        check,
        Some(1.0),
        &mut obs,
    )
    .unwrap();
    assert_eq!(t.precision, precision);
    assert_eq!(t.loss_scale.is_some(), precision == Precision::F16);
    assert!(t.loss_start.is_finite() && t.loss_start > 0.0);
    assert!(
        t.loss_end < 0.5 * t.loss_start,
        "{} → {}",
        t.loss_start,
        t.loss_end
    );
    assert!(t.reached_target && t.steps_to_target.unwrap() <= 120);
    assert_eq!(t.step_time.samples, 120);
    assert_eq!(t.loss_curve.len(), 3);
    assert_eq!(t.parameters, 24 * 40 + 40 + 40 * 40 + 40 + 40 * 24 + 24);
    assert_eq!(
        t.flops_per_step,
        6 * 48 * (24 * 40 + 40 * 40 + 40 * 24) - 2 * 48 * 24 * 40
    );
    assert!((t.tflops - t.flops_per_step as f64 / t.step_time.median_ns / 1e3).abs() < 1e-12);
}

#[test]
fn layers_over_the_buffer_limit_run_split_and_verified() {
    let gpu = common::gpu();
    let settings = RunSettings {
        seed: 4,
        time_budget: Duration::from_millis(30),
        total_budget: Duration::from_secs(60),
        max_samples: 5,
        min_samples: 2,
        timestamps: true,
        dispatch_timeout: None,
    };
    // 16 KiB per operand: the 96×200 weights (75 KiB) split into pieces.
    let mut runner = Runner::new(gpu, vec![kernel("tiled")], settings)
        .unwrap()
        .with_operand_limit(16 << 10);
    let block = Block::new(
        "split",
        "test block",
        vec![Layer::new("up", 96, 200), Layer::new("down", 200, 96)],
    );
    let mut obs = Collect::default();
    runner
        .run_layers(&block, Some(33), false, 1.0, &mut obs)
        .unwrap();
    assert_eq!(obs.records.len(), 6);
    for r in &obs.records {
        assert!(r.verification.passed && r.tflops.is_some(), "{}", r.id);
        let bytes = 4 * u64::from(r.m.max(r.n)) * u64::from(r.k.max(r.m.min(r.n)));
        if bytes > 16 << 10 {
            assert!(r.shards.unwrap_or(1) > 1, "{} was not split", r.id);
        }
    }
    assert!(
        obs.records
            .iter()
            .any(|r| r.layout == Layout::Tn && r.shards.is_some())
    );
    assert_eq!(obs.triplets.len(), 1);
    let t = &obs.triplets[0];
    assert_eq!(t.layers.len(), 2);
    assert_eq!(t.total.flops, block.training_flops(33));
    assert!(runner.failures.is_empty());
}

fn train_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "train",
        "--depth",
        "2",
        "--width",
        "32",
        "--batch",
        "64",
        "--time-budget",
        "0.03",
        "--out",
        out,
    ];
    v.extend_from_slice(extra);
    v
}

#[test]
fn train_writes_a_valid_result_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("train.json");
    let o = out.to_str().unwrap();
    flopcost()
        .args(train_args(
            o,
            &[
                "--steps",
                "80",
                "--log-every",
                "20",
                "--target",
                "0.8",
                "--lr",
                "0.01",
            ],
        ))
        .assert()
        .success()
        .stdout(predicate::str::contains("training: MLP 32→32→32"))
        .stdout(predicate::str::contains("TFLOP/s training"))
        .stdout(predicate::str::contains("reached at step"))
        .stderr(predicate::str::contains("matches the f64 CPU reference"));
    let file = result::read(&out).unwrap();
    assert!(file.complete);
    assert_eq!(file.settings.suite, "train");
    let t = file.training.as_ref().expect("a training section");
    assert!(t.reached_target && t.loss_end < t.loss_start);
    assert_eq!(
        (t.steps, t.tokens_per_step, t.loss_curve.len()),
        (80, 64, 4)
    );
    assert!(t.gradient_check.passed);
    // The layer's three GEMMs with each kernel, and their step cost.
    assert_eq!(file.records.len(), 3 * kernels::default_kernels().len());
    assert_eq!(file.triplets.len(), kernels::default_kernels().len());
    assert!(t.tflops_vs_best_gemm.is_some());
    assert!(
        validate::problems(&file).is_empty(),
        "{:?}",
        validate::problems(&file)
    );
    flopcost()
        .args(["validate", o])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("ok"));

    // Tampered sections are caught.
    let text = fs::read_to_string(&out).unwrap();
    for (path, value) in [
        ("/training/tflops", serde_json::json!(123.0)),
        ("/training/flops_per_step", serde_json::json!(7)),
        ("/training/steps_to_target", serde_json::json!(9999)),
        ("/training/loss_end", serde_json::json!(-1.0)),
        ("/triplets/0/total/step_ns", serde_json::json!(1.0)),
        (
            "/triplets/0/layers/0/record_ids/0",
            serde_json::json!("nope"),
        ),
    ] {
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        *v.pointer_mut(path).unwrap() = value;
        let bad = dir.path().join("bad.json");
        fs::write(&bad, v.to_string()).unwrap();
        let assert = flopcost()
            .args(["validate", bad.to_str().unwrap()])
            .assert()
            .code(2);
        let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
        assert!(stdout.starts_with("invalid"), "{path}: {stdout}");
    }
}

#[test]
fn train_fails_with_the_loss_curve_when_the_target_is_missed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("missed.json");
    let o = out.to_str().unwrap();
    flopcost()
        .args(train_args(
            o,
            &["--steps", "6", "--log-every", "3", "--target", "0.0001"],
        ))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Loss curve"))
        .stderr(predicate::str::contains("      6: "));
    let file = result::read(&out).unwrap();
    let t = file.training.as_ref().unwrap();
    assert!(!t.reached_target && t.steps_to_target.is_none());
    assert!(
        file.warnings
            .iter()
            .any(|w| w.starts_with("training failed"))
    );
    assert!(validate::problems(&file).is_empty());
}

#[test]
fn bad_training_input_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never.json");
    let o = out.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["run", "--suite", "llm", "--tokens", "0", "--out", o],
        vec!["run", "--suite", "llm", "--tokens", "-5", "--out", o],
        vec!["run", "--suite", "llm", "--tokens", "abc", "--out", o],
        vec!["run", "--suite", "llm", "--tokens", "1.5", "--out", o],
        vec!["run", "--suite", "llm", "--tokens", "99999999", "--out", o],
        vec!["run", "--suite", "llm", "--tokens", "1048576", "--out", o],
        vec!["run", "--shape", "64", "--tokens", "64", "--out", o],
        vec!["train", "--width", "0", "--out", o],
        vec!["train", "--width", "60000", "--out", o],
        vec!["train", "--steps", "0", "--out", o],
        vec!["train", "--target", "2", "--out", o],
        vec!["train", "--lr", "0", "--out", o],
        vec!["train", "--optimizer", "lion", "--out", o],
    ];
    for args in cases {
        let assert = flopcost().args(&args).assert().code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert!(!stderr.trim().is_empty(), "{args:?}: no message");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!out.exists(), "{args:?} wrote a file");
    }
}
