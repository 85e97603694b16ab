//! Every kernel in every layout at odd shapes, on a real adapter, against the f64
//! reference; and a deliberately wrong kernel must be caught.

mod common;

use std::time::Duration;

use flopcost::kernels::problem::Problem;
use flopcost::kernels::{self, GemmPipeline, KernelConfig, KernelSpec, TileConfig};
use flopcost::types::{Layout, Shape};
use flopcost::verify::F32_TOLERANCE;

const TIMEOUT: Duration = Duration::from_secs(120);

/// Shapes that are not multiples of any tile, plus degenerate ones.
const ODD_SHAPES: [(u32, u32, u32); 10] = [
    (1, 1, 1),
    (7, 13, 5),
    (33, 65, 17),
    (127, 1, 255),
    (1, 127, 3),
    (65, 64, 63),
    (64, 64, 64),
    (130, 70, 129),
    (17, 200, 1),
    (200, 3, 40),
];

fn tiled(bm: u32, bn: u32, bk: u32, tm: u32, tn: u32) -> KernelSpec {
    KernelSpec {
        name: format!("tiled-{bm}x{bn}x{bk}-{tm}x{tn}"),
        config: KernelConfig::Tiled(TileConfig { bm, bn, bk, tm, tn }),
        hidden: false,
        description: "test configuration",
    }
}

fn check_kernel(spec: &KernelSpec) {
    let gpu = common::gpu();
    for layout in Layout::ALL {
        let pipeline = GemmPipeline::new(gpu, spec, layout).expect("kernel compiles");
        for (m, n, k) in ODD_SHAPES {
            let shape = Shape::new(m, n, k);
            let problem = Problem::new(gpu, layout, shape, 11).unwrap();
            let binding = problem.bind(gpu, &pipeline).unwrap();
            let (check, _) = problem
                .verify(gpu, &pipeline, &binding, F32_TOLERANCE, TIMEOUT)
                .unwrap();
            assert!(
                check.passed,
                "{} {layout} {shape}: rel error {:?}, {} unwritten",
                spec.name, check.rel_error, check.unwritten_entries
            );
            assert!(check.full, "small shapes are checked in full");
        }
    }
}

#[test]
fn registered_kernels_are_correct_in_all_layouts_at_odd_shapes() {
    let listed: Vec<KernelSpec> = kernels::registry()
        .into_iter()
        .filter(|k| !k.hidden)
        .collect();
    for spec in kernels::default_kernels() {
        assert!(
            listed.contains(&spec),
            "default kernel {} is listed",
            spec.name
        );
    }
    for spec in listed {
        check_kernel(&spec);
    }
}

#[test]
fn other_tile_configurations_are_correct() {
    // Non-square tiles, uneven per-invocation blocks, BK larger and smaller than 16.
    for spec in [
        tiled(32, 32, 8, 2, 2),
        tiled(64, 32, 4, 8, 2),
        tiled(16, 64, 32, 1, 4),
    ] {
        check_kernel(&spec);
    }
}

#[test]
fn a_wrong_kernel_fails_verification() {
    let gpu = common::gpu();
    let faulty = kernels::lookup(&["faulty".to_string()]).unwrap().remove(0);
    for layout in Layout::ALL {
        let pipeline = GemmPipeline::new(gpu, &faulty, layout).unwrap();
        for shape in [
            Shape::new(33, 65, 17),
            Shape::new(1, 1, 1),
            Shape::new(600, 500, 400),
        ] {
            let problem = Problem::new(gpu, layout, shape, 5).unwrap();
            let binding = problem.bind(gpu, &pipeline).unwrap();
            let (check, _) = problem
                .verify(gpu, &pipeline, &binding, F32_TOLERANCE, TIMEOUT)
                .unwrap();
            assert!(!check.passed, "{layout} {shape}: the faulty kernel passed");
            assert!(check.rel_error.unwrap() > 100.0 * F32_TOLERANCE);
        }
    }
}

#[test]
fn one_wrong_interior_tile_of_a_large_product_is_always_caught() {
    // Large enough to be checked on a sample, not in full; the kernel is right except in
    // one interior 16×16 tile. Edges plus 1024 random entries would miss that tile about
    // a third of the time (1 − (1 − 1/cells)^1024 with 1,122 cells here); one entry in
    // every cell never does, whatever the seed.
    let gpu = common::gpu();
    let faulty = kernels::lookup(&["faulty-tile".to_string()])
        .unwrap()
        .remove(0);
    let right = kernels::lookup(&["naive".to_string()]).unwrap().remove(0);
    let shape = Shape::new(528, 544, 256);
    assert!(!flopcost::verify::checks_in_full(shape));
    for seed in [1, 2, 3] {
        let problem = Problem::new(gpu, Layout::Nn, shape, seed).unwrap();
        for (spec, should_pass) in [(&faulty, false), (&right, true)] {
            let pipeline = GemmPipeline::new(gpu, spec, Layout::Nn).unwrap();
            let binding = problem.bind(gpu, &pipeline).unwrap();
            let (check, _) = problem
                .verify(gpu, &pipeline, &binding, F32_TOLERANCE, TIMEOUT)
                .unwrap();
            assert!(!check.full, "the check of {shape} is sampled");
            assert_eq!(
                check.passed, should_pass,
                "seed {seed}, kernel {}: {:?}",
                spec.name, check.rel_error
            );
        }
    }
}

#[test]
fn an_unwritten_output_is_caught() {
    // Binding a problem to a pipeline but dispatching for a smaller shape leaves part
    // of C at its NaN poison.
    let gpu = common::gpu();
    let spec = kernels::lookup(&["naive".to_string()]).unwrap().remove(0);
    let pipeline = GemmPipeline::new(gpu, &spec, Layout::Nn).unwrap();
    let problem = Problem::new(gpu, Layout::Nn, Shape::new(40, 40, 8), 3).unwrap();
    let smaller = pipeline
        .bind(
            gpu,
            Shape::new(20, 40, 8),
            &problem.a,
            &problem.b,
            &problem.c,
        )
        .unwrap();
    let (check, _) = problem
        .verify(gpu, &pipeline, &smaller, F32_TOLERANCE, TIMEOUT)
        .unwrap();
    assert!(!check.passed);
    assert_eq!(check.unwritten_entries, 20 * 40);
}
