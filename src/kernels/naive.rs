//! The naive family (`shaders/gemm_naive.wgsl`): one output per invocation, read straight
//! from global memory. It is the baseline every other kernel is compared with and, with a
//! deliberate fault, the proof that verification catches a wrong kernel.

use std::sync::Arc;

use anyhow::Result;

use super::config::{Fault, KernelConfig, KernelSpec, Variant};
use super::family::{Compiled, Geometry, KernelFamily};
use super::precision::shader_source;
use super::shader::{ShaderSource, flag};
use super::single;
use crate::gpu::Gpu;
use crate::types::Layout;

const NAIVE_WGSL: &str = include_str!("../../shaders/gemm_naive.wgsl");

/// The family.
pub struct Naive;

/// The workgroup: 16×16 invocations, one output each.
const WORKGROUP: (u32, u32) = (16, 16);

impl KernelFamily for Naive {
    fn name(&self) -> &'static str {
        "naive"
    }

    fn runs(&self, config: &KernelConfig) -> bool {
        matches!(config, KernelConfig::Naive { .. })
    }

    fn kernels(&self) -> Vec<KernelSpec> {
        vec![
            KernelSpec {
                name: "naive".into(),
                config: KernelConfig::Naive { fault: Fault::None },
                hidden: false,
                description: "one output per invocation from global memory (baseline)",
            },
            KernelSpec {
                name: "faulty".into(),
                config: KernelConfig::Naive {
                    fault: Fault::LastTerm,
                },
                hidden: true,
                description: "naive with the last K term dropped: verification must reject it",
            },
            KernelSpec {
                name: "faulty-tile".into(),
                config: KernelConfig::Naive {
                    fault: Fault::OneTile,
                },
                hidden: true,
                description: "naive with one interior 16x16 tile wrong: verification must \
                              reject it even where it checks a sample",
            },
        ]
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
        config: &KernelConfig,
        layout: Layout,
        variant: Variant,
    ) -> Result<ShaderSource> {
        let fault = match config {
            KernelConfig::Naive { fault } => *fault,
            _ => Fault::None,
        };
        let constants = vec![
            ("TRANS_A", flag(layout.trans_a())),
            ("TRANS_B", flag(layout.trans_b())),
            ("WG_X", f64::from(WORKGROUP.0)),
            ("WG_Y", f64::from(WORKGROUP.1)),
            ("FAULT", f64::from(fault.code())),
        ];
        let source = shader_source(NAIVE_WGSL, variant.precision)?.into_owned();
        let label = format!(
            "naive {layout} {}{}",
            variant.precision,
            match fault {
                Fault::None => String::new(),
                f => format!(" fault {}", f.code()),
            }
        );
        Ok(ShaderSource::main(label, source, constants))
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
        let label = format!("{label}-{layout}-{}", variant.precision);
        single::build(gpu, &label, &s.source, &s.constants, WORKGROUP)
    }
}
