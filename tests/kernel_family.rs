//! Adding a kernel family touches its own file and one registration line: this file is
//! such a family, outside the crate, registered with `Registry::with` (a built-in one is
//! a line in `kernels::registry::FAMILIES`). It is the naive shader on a wide 32×8
//! workgroup, configured by name; the registry lists it, looks it up, judges its limits,
//! records its parameters, and a `GemmPipeline` built through it verifies against the f64
//! reference on a real adapter in every layout.

mod common;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use flopcost::gpu::Gpu;
use flopcost::kernels::family::Geometry;
use flopcost::kernels::precision::shader_source;
use flopcost::kernels::problem::Problem;
use flopcost::kernels::{
    Compiled, GemmPipeline, KernelConfig, KernelFamily, KernelSpec, Registry, ShaderSource,
    Variant, single,
};
use flopcost::types::{Layout, Shape};

/// The example family: the naive kernel's shader with a 32×8 workgroup.
struct Wide;

const WORKGROUP: (u32, u32) = (32, 8);
const NAME: &str = "wide-naive";

impl KernelFamily for Wide {
    fn name(&self) -> &'static str {
        "wide"
    }

    fn runs(&self, config: &KernelConfig) -> bool {
        *config == KernelConfig::Named(NAME)
    }

    fn kernels(&self) -> Vec<KernelSpec> {
        vec![KernelSpec {
            name: NAME.into(),
            config: KernelConfig::Named(NAME),
            hidden: false,
            description: "the naive kernel on a 32x8 workgroup (an example family)",
        }]
    }

    fn geometry(&self, _config: &KernelConfig) -> Geometry {
        (WORKGROUP, WORKGROUP)
    }

    fn check(&self, _config: &KernelConfig, limits: &wgpu::Limits) -> Result<(), String> {
        if limits.max_compute_invocations_per_workgroup < WORKGROUP.0 * WORKGROUP.1 {
            return Err("needs 256 invocations per workgroup".into());
        }
        Ok(())
    }

    fn params(&self, _config: &KernelConfig) -> Vec<(&'static str, serde_json::Value)> {
        vec![
            ("workgroup_x", WORKGROUP.0.into()),
            ("workgroup_y", WORKGROUP.1.into()),
        ]
    }

    fn shader(
        &self,
        _config: &KernelConfig,
        layout: Layout,
        variant: Variant,
    ) -> Result<ShaderSource> {
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        let constants = vec![
            ("TRANS_A", flag(layout.trans_a())),
            ("TRANS_B", flag(layout.trans_b())),
            ("WG_X", f64::from(WORKGROUP.0)),
            ("WG_Y", f64::from(WORKGROUP.1)),
        ];
        let source = shader_source(
            include_str!("../shaders/gemm_naive.wgsl"),
            variant.precision,
        )?;
        Ok(ShaderSource::main(
            format!("{NAME} {layout}"),
            source.into_owned(),
            constants,
        ))
    }

    fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        config: &KernelConfig,
        layout: Layout,
        variant: Variant,
    ) -> Result<Arc<dyn Compiled>> {
        let s = self.shader(config, layout, variant)?;
        single::build(gpu, label, &s.source, &s.constants, WORKGROUP)
    }
}

static WIDE: Wide = Wide;

#[test]
fn a_family_from_its_own_file_is_listed_checked_and_verified() {
    let registry = Registry::default().with(&WIDE);
    let spec = registry
        .lookup(&[NAME.to_string()])
        .expect("the registry finds the new kernel")
        .remove(0);
    assert!(registry.kernels().iter().any(|k| k.name == NAME));
    assert!(
        Registry::default().lookup(&[NAME.to_string()]).is_err(),
        "not a built-in kernel"
    );
    assert_eq!(registry.dispatch(&spec, Shape::new(9, 70, 3)), (3, 2, 1));
    assert_eq!(registry.params(&spec)["workgroup_x"], 32);
    let gpu = common::gpu();
    assert!(registry.check(&spec, &gpu.limits()).is_ok());
    for layout in Layout::ALL {
        let pipeline = GemmPipeline::new_in(&registry, gpu, &spec, layout, Variant::F32)
            .expect("the new kernel compiles");
        for (m, n, k) in [(7, 13, 5), (33, 65, 17), (130, 66, 40)] {
            let shape = Shape::new(m, n, k);
            let problem = Problem::new(gpu, layout, shape, 5).unwrap();
            let binding = problem.bind(gpu, &pipeline).unwrap();
            let (check, _) = problem
                .verify(
                    gpu,
                    &pipeline,
                    &binding,
                    flopcost::verify::F32_TOLERANCE,
                    Duration::from_secs(60),
                )
                .unwrap();
            assert!(check.passed, "{layout} {shape}: {:?}", check.rel_error);
        }
    }
    let coop = GemmPipeline::new_in(
        &registry,
        gpu,
        &spec,
        Layout::Nn,
        Variant {
            precision: flopcost::types::Precision::F16,
            coopmat: true,
        },
    );
    assert!(
        coop.is_err(),
        "what a family needs is asked before it builds"
    );
}
