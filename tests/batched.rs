//! Batched GEMMs (attention's products over heads) in one dispatch: every kernel family,
//! every base configuration of the tuned family with and without split-K, in every layout,
//! at odd shapes, for batches of 3 and 5 and for grouped-query attention (B shared by 2
//! and by 4 consecutive products), against the f64 reference of every product. A binding
//! told a wrong batch stride must fail verification. On an adapter with cooperative
//! matrices (Mesa 26.1's lavapipe through `scripts/coopmat-lavapipe.sh`) the
//! cooperative-matrix configurations run too, and `FLOPCOST_REQUIRE_COOPMAT=1` makes
//! their absence a failure.

mod common;

use std::time::Duration;

use flopcost::kernels::problem::Problem;
use flopcost::kernels::{self, GemmPipeline, KernelConfig, KernelSpec, Variant, coop, tune};
use flopcost::types::{Batch, Layout, Precision, Shape, Strides};

const TIMEOUT: Duration = Duration::from_secs(120);

/// Shapes that are not multiples of any tile.
const SHAPES: [(u32, u32, u32); 3] = [(7, 13, 5), (33, 65, 17), (130, 66, 40)];

/// Batches of 3 and 5, and grouped-query attention sharing B by 2 and by 4.
const BATCHES: [(u32, u32); 4] = [(3, 1), (5, 1), (4, 2), (8, 4)];

fn verify(pipeline: &GemmPipeline, layout: Layout, shape: Shape, batch: Batch, what: &str) {
    let gpu = common::gpu();
    let precision = pipeline.variant.precision;
    let problem = Problem::batched(gpu, layout, shape, batch, 7, precision, None).unwrap();
    let binding = problem.bind(gpu, pipeline).unwrap();
    let (check, _) = problem
        .verify(gpu, pipeline, &binding, precision.tolerance(), TIMEOUT)
        .unwrap();
    assert!(
        check.passed,
        "{what} {layout} {}{shape}: {}",
        batch.prefix(),
        check.failure()
    );
}

fn every_batch(pipeline: &GemmPipeline, layout: Layout, what: &str) {
    for (m, n, k) in SHAPES {
        for (count, share) in BATCHES {
            verify(
                pipeline,
                layout,
                Shape::new(m, n, k),
                Batch::new(count, share),
                what,
            );
        }
    }
}

fn block(config: flopcost::kernels::BlockConfig) -> KernelSpec {
    KernelSpec {
        name: format!("test-{config}"),
        config: KernelConfig::Block(config),
        hidden: true,
        description: "test configuration",
    }
}

/// Every base configuration of `variant`, and its split-K variant, in every layout.
fn the_tuned_family(variant: Variant) {
    let gpu = common::gpu();
    let bases: Vec<_> = tune::fitting_bases_for(gpu, variant);
    assert!(!bases.is_empty(), "no {variant} configuration fits");
    for base in bases {
        for layout in Layout::ALL {
            let pipeline = GemmPipeline::new_with(gpu, &block(base), layout, variant).unwrap();
            every_batch(&pipeline, layout, &base.to_string());
            let split = pipeline.with_split(2).unwrap();
            every_batch(&split, layout, &base.with_split(2).to_string());
        }
    }
}

#[test]
fn the_naive_and_tiled_kernels_run_batches() {
    let gpu = common::gpu();
    for spec in kernels::lookup(&["naive".into(), "tiled".into()]).unwrap() {
        for layout in Layout::ALL {
            let pipeline = GemmPipeline::new(gpu, &spec, layout).unwrap();
            every_batch(&pipeline, layout, &spec.name);
        }
    }
}

#[test]
fn every_f32_configuration_of_the_tuned_family_runs_batches() {
    the_tuned_family(Variant::F32);
}

#[test]
fn every_f16_configuration_of_the_tuned_family_runs_batches() {
    let gpu = common::gpu();
    if !gpu.features().contains(wgpu::Features::SHADER_F16) {
        eprintln!("NOT RUN: adapter '{}' has no f16 in shaders", gpu.info.name);
        return;
    }
    the_tuned_family(Variant::simt(Precision::F16));
}

#[test]
fn every_cooperative_matrix_configuration_runs_batches() {
    let gpu = common::gpu();
    if let Err(why) = coop::support(gpu) {
        assert!(
            std::env::var_os("FLOPCOST_REQUIRE_COOPMAT").is_none(),
            "FLOPCOST_REQUIRE_COOPMAT is set but {why}"
        );
        eprintln!(
            "NOT RUN: {why}; run `scripts/coopmat-lavapipe.sh cargo test --test batched` for \
             Mesa 26.1's lavapipe, which has them"
        );
        return;
    }
    the_tuned_family(Variant::COOPMAT);
}

#[test]
fn the_tuned_kernel_chooses_for_batches() {
    let gpu = common::gpu();
    let tuned = kernels::lookup(&["tuned".into()]).unwrap().remove(0);
    for layout in Layout::ALL {
        let pipeline = GemmPipeline::new(gpu, &tuned, layout).unwrap();
        every_batch(&pipeline, layout, "tuned");
    }
}

#[test]
fn a_wrong_batch_stride_is_caught() {
    let gpu = common::gpu();
    let spec = kernels::lookup(&["tuned".into()]).unwrap().remove(0);
    let shape = Shape::new(33, 65, 17);
    for layout in Layout::ALL {
        let pipeline = GemmPipeline::new(gpu, &spec, layout).unwrap();
        let problem = Problem::batched(
            gpu,
            layout,
            shape,
            Batch::new(4, 2),
            3,
            Precision::F32,
            None,
        )
        .unwrap();
        let right = Strides::of(shape);
        for wrong in [
            Strides {
                a: right.a + 4,
                ..right
            },
            Strides {
                b: right.b - 4,
                ..right
            },
            Strides { a: 0, ..right },
        ] {
            let binding = problem.bind_with(gpu, &pipeline, wrong).unwrap();
            let (check, _) = problem
                .verify(
                    gpu,
                    &pipeline,
                    &binding,
                    Precision::F32.tolerance(),
                    TIMEOUT,
                )
                .unwrap();
            assert!(!check.passed, "{layout}: strides {wrong:?} were not caught");
        }
        let binding = problem.bind(gpu, &pipeline).unwrap();
        let (check, _) = problem
            .verify(
                gpu,
                &pipeline,
                &binding,
                Precision::F32.tolerance(),
                TIMEOUT,
            )
            .unwrap();
        assert!(check.passed, "{layout}: {}", check.failure());
    }
}
