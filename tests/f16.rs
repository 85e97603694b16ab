//! f16 GEMMs on a real adapter: every kernel on the shader cores in every layout at odd
//! shapes against the f64 reference of the f16-rounded inputs; the refusals (f16 on an
//! adapter without it, cooperative matrices asked for on one without them) and the
//! automatic fallback; and `run`, `tune` and `train` in f16 end to end.
//!
//! Cooperative-matrix kernels cannot run on lavapipe (it has none); where the test
//! adapter has them, the tests check that they are chosen instead of the refusal.

mod common;

use std::time::Duration;

use common::flopcost;
use flopcost::kernels::problem::Problem;
use flopcost::kernels::{
    self, BlockConfig, GemmPipeline, KernelConfig, KernelSpec, Variant, coop, tune,
};
use flopcost::result::{self, validate};
use flopcost::types::{Layout, Precision, Shape};
use flopcost::verify::F16_TOLERANCE;
use predicates::prelude::*;

const TIMEOUT: Duration = Duration::from_secs(120);

/// Not multiples of any tile or of 4 (the vec4 paths' edges), degenerate ones, and
/// aligned ones (the vec4 paths themselves).
const ODD_SHAPES: [(u32, u32, u32); 8] = [
    (1, 1, 1),
    (7, 13, 5),
    (33, 65, 17),
    (127, 1, 255),
    (1, 127, 3),
    (130, 70, 129),
    (64, 64, 64),
    (200, 3, 40),
];

fn has_f16() -> bool {
    let gpu = common::gpu();
    let yes = gpu.features().contains(wgpu::Features::SHADER_F16);
    if !yes {
        eprintln!(
            "adapter '{}' has no SHADER_F16: f16 kernels cannot run here; the refusal is \
             tested instead (f16_is_refused_where_the_adapter_lacks_it)",
            gpu.info.name
        );
    }
    yes
}

fn check(pipeline: &GemmPipeline, layout: Layout, shape: Shape, label: &str) {
    let gpu = common::gpu();
    let problem = Problem::with_precision(gpu, layout, shape, 23, Precision::F16).unwrap();
    let binding = problem.bind(gpu, pipeline).unwrap();
    let (check, _) = problem
        .verify(gpu, pipeline, &binding, F16_TOLERANCE, TIMEOUT)
        .unwrap();
    assert!(
        check.passed && check.full,
        "{label} {layout} {shape} f16: rel error {:?}, {} unwritten",
        check.rel_error,
        check.unwritten_entries
    );
    // The inputs' rounding is in the reference: what is left is f32 accumulation.
    assert!(
        check.rel_error.unwrap() < 1e-5,
        "{label} {layout} {shape} f16: rel error {:?} is more than f32 accumulation",
        check.rel_error
    );
}

#[test]
fn every_kernel_is_correct_in_f16_on_the_shader_cores() {
    if !has_f16() {
        return;
    }
    let gpu = common::gpu();
    let f16 = Variant::simt(Precision::F16);
    for spec in kernels::registry().into_iter().filter(|k| !k.hidden) {
        for layout in Layout::ALL {
            let pipeline = GemmPipeline::new_with(gpu, &spec, layout, f16).unwrap();
            assert_eq!(pipeline.variant, f16);
            for (m, n, k) in ODD_SHAPES {
                check(&pipeline, layout, Shape::new(m, n, k), &spec.name);
            }
        }
    }
}

#[test]
fn every_f16_configuration_the_tuner_can_emit_is_correct() {
    if !has_f16() {
        return;
    }
    let gpu = common::gpu();
    let f16 = Variant::simt(Precision::F16);
    let all = tune::all_candidates_for(gpu, f16);
    assert!(!all.is_empty());
    assert!(
        all.iter()
            .all(|c| c.precision == Precision::F16 && !c.coopmat)
    );
    for config in all {
        let spec = KernelSpec {
            name: format!("test-{config}"),
            config: KernelConfig::Block(config.with_split(1)),
            hidden: true,
            description: "test configuration",
        };
        for layout in Layout::ALL {
            let base = GemmPipeline::new_with(gpu, &spec, layout, f16).unwrap();
            let pipeline = base.with_split(config.split_k).unwrap();
            // Split-K variants on shapes that split; the others on odd shapes.
            let shapes: &[(u32, u32, u32)] = if config.split_k > 1 {
                &[(37, 45, 300)]
            } else {
                &[(33, 65, 17), (130, 70, 129)]
            };
            for &(m, n, k) in shapes {
                check(&pipeline, layout, Shape::new(m, n, k), &config.to_string());
            }
        }
    }
}

#[test]
fn cooperative_matrices_run_only_where_the_adapter_offers_them() {
    let gpu = common::gpu();
    let coopmat = Variant {
        precision: Precision::F16,
        coopmat: true,
    };
    match coop::support(gpu) {
        Err(why) => {
            eprintln!(
                "adapter '{}' cannot run cooperative matrices ({why}): checking that they are \
                 never offered or compiled here",
                gpu.info.name
            );
            assert!(tune::all_candidates_for(gpu, coopmat).is_empty());
            let tuned = kernels::lookup(&["tuned".to_string()]).unwrap().remove(0);
            let err = GemmPipeline::new_with(gpu, &tuned, Layout::Nn, coopmat)
                .err()
                .expect("refused");
            assert!(format!("{err:#}").contains("cooperative"), "{err:#}");
            let config: BlockConfig = coop::base_configs(32, 16)[0];
            let spec = KernelSpec {
                name: "coop".into(),
                config: KernelConfig::Block(config),
                hidden: true,
                description: "test configuration",
            };
            assert!(GemmPipeline::new_with(gpu, &spec, Layout::Nn, coopmat).is_err());
            assert!(kernels::probe::coopmat(gpu).is_err());
        }
        Ok(support) => {
            eprintln!(
                "adapter '{}' has cooperative matrices ({} fragments, {} lanes): running \
                 every configuration the tuner can emit",
                gpu.info.name,
                support.fragments(),
                support.lanes
            );
            kernels::probe::coopmat(gpu).expect("the cooperative-matrix kernel passes its check");
            for config in tune::all_candidates_for(gpu, coopmat) {
                let spec = KernelSpec {
                    name: format!("test-{config}"),
                    config: KernelConfig::Block(config.with_split(1)),
                    hidden: true,
                    description: "test configuration",
                };
                for layout in Layout::ALL {
                    let base = GemmPipeline::new_with(gpu, &spec, layout, coopmat).unwrap();
                    let pipeline = base.with_split(config.split_k).unwrap();
                    for (m, n, k) in [(33, 65, 17), (150, 140, 129), (64, 64, 64)] {
                        let shape = Shape::new(m, n, k);
                        let problem =
                            Problem::with_precision(gpu, layout, shape, 23, Precision::F16)
                                .unwrap();
                        let binding = problem.bind(gpu, &pipeline).unwrap();
                        let (c, _) = problem
                            .verify(gpu, &pipeline, &binding, F16_TOLERANCE, TIMEOUT)
                            .unwrap();
                        assert!(c.passed, "{config} {layout} {shape}: {c:?}");
                    }
                }
            }
        }
    }
}

fn run_json(args: &[&str]) -> (result::ResultFile, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let mut all = vec!["run", "--out", out.to_str().unwrap(), "--no-peaks"];
    all.extend_from_slice(args);
    let assert = flopcost().args(&all).assert().success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    let file = result::read(&out).unwrap();
    let problems = validate::problems(&file);
    assert!(problems.is_empty(), "{problems:?}");
    (file, stderr)
}

#[test]
fn run_in_f32_and_f16_records_precision_path_and_the_fallback() {
    if !has_f16() {
        return;
    }
    let (file, stderr) = run_json(&[
        "--shape",
        "33x65x17",
        "--layout",
        "nn,tn",
        "--precision",
        "f32,f16",
        "--kernel",
        "naive,tuned",
        "--time-budget",
        "0.05",
        "--min-samples",
        "3",
    ]);
    assert_eq!(file.records.len(), 8);
    assert_eq!(file.settings.precisions, [Precision::F32, Precision::F16]);
    assert_eq!(file.settings.f16_path.map(|p| p.as_str()), Some("auto"));
    assert_eq!(file.runtime.as_ref().map(|r| r.name.as_str()), Some("wgpu"));
    for r in &file.records {
        assert!(r.verification.passed && r.tflops.is_some(), "{}", r.id);
        let want = if r.precision == Precision::F16 {
            F16_TOLERANCE
        } else {
            flopcost::verify::F32_TOLERANCE
        };
        assert_eq!(r.verification.tolerance, want);
        assert_eq!(
            r.id.ends_with("-f16"),
            r.precision == Precision::F16,
            "{}",
            r.id
        );
    }
    let f16: Vec<_> = file
        .records
        .iter()
        .filter(|r| r.precision == Precision::F16)
        .collect();
    assert_eq!(f16.len(), 4);
    let gpu = common::gpu();
    match coop::support(gpu) {
        Err(_) => {
            // The automatic choice fell back to the shader cores and says why.
            assert!(
                f16.iter()
                    .all(|r| r.kernel.path.map(|p| p.as_str()) == Some("simt"))
            );
            let why = file
                .warnings
                .iter()
                .find(|w| w.contains("cooperative matrices"))
                .expect("a warning says why f16 runs on the shader cores");
            assert!(why.contains("kernel.path simt"), "{why}");
            assert!(stderr.contains("cooperative matrices"), "{stderr}");
        }
        Ok(_) => {
            let tuned = f16.iter().find(|r| r.kernel.name == "tuned").unwrap();
            assert_eq!(tuned.kernel.path.map(|p| p.as_str()), Some("coopmat"));
        }
    }
}

#[test]
fn asking_for_cooperative_matrices_without_them_is_refused() {
    let gpu = common::gpu();
    if coop::support(gpu).is_ok() {
        eprintln!(
            "adapter '{}' has cooperative matrices: --f16-path coopmat runs there (checked by \
             cooperative_matrices_run_only_where_the_adapter_offers_them)",
            gpu.info.name
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never.json");
    let mut cmd = flopcost();
    cmd.args([
        "run",
        "--shape",
        "16",
        "--precision",
        "f16",
        "--f16-path",
        "coopmat",
        "--out",
        out.to_str().unwrap(),
    ]);
    let expect = if gpu.features().contains(wgpu::Features::SHADER_F16) {
        "--f16-path coopmat"
    } else {
        "SHADER_F16"
    };
    cmd.assert()
        .code(2)
        .stderr(predicate::str::contains(expect))
        .stderr(predicate::str::contains("panicked").not());
    assert!(!out.exists(), "a refused run writes no file");
    // The same for tuning and training.
    for sub in [
        vec![
            "tune",
            "--shape",
            "16",
            "--precision",
            "f16",
            "--f16-path",
            "coopmat",
        ],
        vec![
            "train",
            "--depth",
            "1",
            "--width",
            "8",
            "--steps",
            "1",
            "--precision",
            "f16",
            "--f16-path",
            "coopmat",
        ],
    ] {
        flopcost().args(&sub).assert().code(2);
    }
}

#[test]
fn precision_flags_are_checked_before_any_gpu_work() {
    for args in [
        vec!["run", "--shape", "8", "--precision", "f64"],
        vec!["run", "--shape", "8", "--precision", ""],
        vec!["run", "--shape", "8", "--f16-path", "simt"],
        vec![
            "run",
            "--shape",
            "8",
            "--precision",
            "f16",
            "--f16-path",
            "tensor",
        ],
        vec![
            "run",
            "--shape",
            "8",
            "--precision",
            "f16",
            "--f16-path",
            "coopmat",
            "--kernel",
            "naive",
        ],
        vec!["train", "--precision", "bf16"],
        vec!["tune", "--precision", "f16,f8"],
    ] {
        flopcost()
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("panicked").not());
    }
}

#[test]
fn f16_is_refused_where_the_adapter_lacks_it() {
    // llvmpipe's GL adapter has no f16 in shaders; use any adapter that lacks it.
    let entries = flopcost::gpu::adapter::enumerate(flopcost::gpu::BackendFilter::All);
    let Some(e) = entries
        .iter()
        .find(|e| !e.adapter.features().contains(wgpu::Features::SHADER_F16))
    else {
        eprintln!("every adapter here has SHADER_F16: the refusal cannot be exercised");
        return;
    };
    let index = e.index.to_string();
    flopcost()
        .args([
            "run",
            "--adapter",
            &index,
            "--shape",
            "8",
            "--precision",
            "f32,f16",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("SHADER_F16"))
        .stderr(predicate::str::contains("--precision f32"));
}

#[test]
fn triplets_and_training_run_in_f16_end_to_end() {
    if !has_f16() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("train.json");
    flopcost()
        .args([
            "train",
            "--depth",
            "2",
            "--width",
            "24",
            "--batch",
            "32",
            "--steps",
            "150",
            "--log-every",
            "50",
            "--target",
            "0.7",
            "--lr",
            "0.003",
            "--kernel",
            "tuned",
            "--time-budget",
            "0.05",
            "--precision",
            "f32,f16",
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("in f16"));
    let file = result::read(&out).unwrap();
    assert!(validate::problems(&file).is_empty());
    let trainings: Vec<_> = file.trainings().collect();
    assert_eq!(trainings.len(), 2);
    assert_eq!(
        (
            trainings[0].precision.as_str(),
            trainings[1].precision.as_str()
        ),
        ("f32", "f16")
    );
    let t16 = trainings[1];
    assert!(t16.reached_target && t16.loss_scale.is_some_and(|s| s >= 1.0));
    assert_eq!(t16.gradient_check.tolerance, F16_TOLERANCE);
    assert!(t16.gradient_check.passed);
    // One triplet summary per precision, each made of records of its precision.
    let precisions: Vec<&str> = file.triplets.iter().map(|b| b.precision.as_str()).collect();
    assert_eq!(precisions, ["f32", "f16"]);
    // The cost section is per precision when there are several.
    let cost = file.cost.as_ref().unwrap();
    assert!(cost.by_precision.contains_key("f16") && cost.by_precision.contains_key("f32"));
    let f16_cost = &cost.by_precision["f16"];
    assert_eq!(f16_cost.throughput.training_tflops, Some(t16.tflops));
}

#[test]
fn tuning_f16_caches_it_apart_from_f32() {
    if !has_f16() {
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut all = vec!["tune", "--shape", "40x70x50", "--budget", "30", "--quiet"];
        all.extend_from_slice(args);
        flopcost()
            .env("FLOPCOST_CACHE_DIR", cache.path())
            .args(&all)
            .assert()
            .success()
    };
    run(&["--precision", "f32,f16", "--json"]);
    let json = String::from_utf8(
        run(&["--precision", "f16", "--json"])
            .get_output()
            .stdout
            .clone(),
    )
    .unwrap();
    let entries: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let precisions: Vec<&str> = entries
        .iter()
        .map(|e| e["precision"].as_str().unwrap())
        .collect();
    assert!(
        precisions.contains(&"f32") && precisions.contains(&"f16"),
        "{precisions:?}"
    );
    let f16 = entries.iter().find(|e| e["precision"] == "f16").unwrap();
    assert_eq!(f16["config"]["precision"], "f16");
    // A cached f16 winner is reported as cached, not tuned again.
    run(&["--precision", "f16"]).stderr(predicate::str::contains("cached winner"));
}
