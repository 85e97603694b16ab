//! The subgroup family (`shaders/gemm_subgroup.wgsl`): the block kernel with A shared
//! through subgroup shuffles instead of workgroup memory, on a one-dimensional workgroup.
//! It needs subgroups of one fixed size, which is its BK.

use std::sync::Arc;

use anyhow::Result;

use super::block::{MAX_LOADS, check_f16, check_tiles, constants_of, params_of, slice_bytes};
use super::blocked::{self, block_of};
use super::config::{BlockConfig, KernelConfig, PORTABLE_BLOCK, Variant};
use super::family::{Compiled, Geometry, KernelFamily};
use super::precision::shader_source;
use super::shader::ShaderSource;
use super::support::Caps;
use crate::gpu::Gpu;
use crate::types::Layout;

const SUBGROUP_WGSL: &str = concat!(
    include_str!("../../shaders/gemm_subgroup.wgsl"),
    include_str!("../../shaders/gemm_block_common.wgsl"),
    include_str!("../../shaders/gemm_operands.wgsl")
);

/// The family.
pub struct Subgroup;

/// The family's base configurations for subgroups of `sg` lanes (their BK), in order of
/// preference.
pub fn base_configs(sg: u32) -> Vec<BlockConfig> {
    [(128, 8), (64, 8), (128, 4), (64, 4)]
        .into_iter()
        .map(|(bm, tn)| BlockConfig {
            subgroup: true,
            ..BlockConfig::new(bm, sg * tn, sg, 8, tn)
        })
        .collect()
}

/// A one-dimensional workgroup of one invocation per TM × TN tile.
fn workgroup(c: BlockConfig) -> (u32, u32) {
    let (x, y) = super::block::workgroup(c);
    (x * y, 1)
}

/// vec4 loads of A (none: it is shuffled) and of B per invocation per slice.
fn loads(c: BlockConfig) -> (u32, u32) {
    let (x, _) = workgroup(c);
    (0, (c.bk * c.bn / 4).div_ceil(x.max(1)))
}

fn config(config: &KernelConfig) -> BlockConfig {
    block_of(config).unwrap_or(PORTABLE_BLOCK)
}

impl KernelFamily for Subgroup {
    fn name(&self) -> &'static str {
        "subgroup"
    }

    fn runs(&self, config: &KernelConfig) -> bool {
        block_of(config).is_some_and(|c| c.subgroup && !c.coopmat)
    }

    fn geometry(&self, c: &KernelConfig) -> Geometry {
        let c = config(c);
        (workgroup(c), (c.bn, c.bm))
    }

    fn check(&self, c: &KernelConfig, limits: &wgpu::Limits) -> Result<(), String> {
        let c = config(c);
        check_tiles(c)?;
        if !c.bn.is_multiple_of(c.bk * c.tn) || !c.bk.is_multiple_of(4) {
            return Err(format!(
                "the subgroup variant needs BK = the subgroup size and BN a multiple of BK·TN \
                 (got BK {}, BN {}, TN {})",
                c.bk, c.bn, c.tn
            ));
        }
        let bytes = 2 * slice_bytes(c, c.bn);
        blocked::check_common(c, limits, workgroup(c), loads(c), MAX_LOADS, bytes)
    }

    fn needs(&self, c: &KernelConfig, caps: &Caps, variant: Variant) -> Result<(), String> {
        let c = config(c);
        if variant.coopmat {
            return Err("has no cooperative-matrix variant".into());
        }
        check_f16(c, caps.features)?;
        if !caps.features.contains(wgpu::Features::SUBGROUP) {
            return Err("needs subgroup operations, which this adapter lacks".into());
        }
        let info = &caps.info;
        if info.subgroup_min_size != info.subgroup_max_size || info.subgroup_min_size != c.bk {
            return Err(format!(
                "needs a fixed subgroup size of {} (the adapter reports {}–{})",
                c.bk, info.subgroup_min_size, info.subgroup_max_size
            ));
        }
        Ok(())
    }

    fn params(&self, c: &KernelConfig) -> Vec<(&'static str, serde_json::Value)> {
        let c = config(c);
        params_of(c, workgroup(c))
    }

    fn candidates(&self, caps: &Caps, variant: Variant) -> Vec<BlockConfig> {
        match caps.fixed_subgroup() {
            Some(sg) if !variant.coopmat => base_configs(sg)
                .into_iter()
                .map(|c| c.with_precision(variant.precision))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn shader(&self, c: &KernelConfig, layout: Layout, _variant: Variant) -> Result<ShaderSource> {
        let c = config(c);
        let constants = constants_of(c, layout, workgroup(c), loads(c));
        let source = shader_source(SUBGROUP_WGSL, c.precision)?.into_owned();
        Ok(ShaderSource::main(
            format!("subgroup {c} {layout}"),
            source,
            constants,
        ))
    }

    fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        c: &KernelConfig,
        layout: Layout,
        variant: Variant,
    ) -> Result<Arc<dyn Compiled>> {
        let s = self.shader(c, layout, variant)?;
        blocked::build(gpu, label, config(c), layout, &s.source, &s.constants)
    }
}
