//! The block family (`shaders/gemm_block.wgsl`): a BM × BN block of C per workgroup, a
//! TM × TN tile per invocation, vec4 loads, K staged in BK slices through double-buffered
//! workgroup memory, and split-K for shapes with few blocks. The `block` kernel is one
//! fixed configuration; the tuned kernel chooses among [`base_configs`].

use std::sync::Arc;

use anyhow::Result;

use super::blocked::{self, block_of};
use super::config::{BlockConfig, KernelConfig, KernelSpec, PORTABLE_BLOCK, Variant};
use super::family::{Compiled, Geometry, KernelFamily};
use super::precision::shader_source;
use super::shader::{ShaderSource, flag};
use super::support::Caps;
use crate::gpu::Gpu;
use crate::types::{Layout, Precision};

// The block, subgroup and cooperative-matrix kernels share their operands' declarations
// and global loads; the block and subgroup kernels also share B's staging.
const BLOCK_WGSL: &str = concat!(
    include_str!("../../shaders/gemm_block.wgsl"),
    include_str!("../../shaders/gemm_block_common.wgsl"),
    include_str!("../../shaders/gemm_operands.wgsl")
);

/// The most vec4 loads per invocation per operand per K slice (the shader's staging
/// registers).
pub const MAX_LOADS: u32 = 4;

/// The family.
pub struct Block;

/// The family's base configurations in order of preference (the first that fits and
/// fills the device is the untuned default).
pub fn base_configs() -> Vec<BlockConfig> {
    vec![
        // 256 invocations, 8×8 each: the classic large-GPU tile.
        BlockConfig::new(128, 128, 8, 8, 8),
        BlockConfig::new(128, 128, 16, 8, 8),
        BlockConfig::new(128, 256, 8, 8, 8),
        BlockConfig::new(64, 128, 8, 4, 8),
        BlockConfig::new(128, 64, 8, 8, 4),
        BlockConfig::new(64, 64, 16, 8, 8),
        PORTABLE_BLOCK,
        // Few rows: small token batches.
        BlockConfig::new(32, 128, 16, 4, 8),
    ]
}

/// Workgroup size (x, y): one invocation per TM × TN tile.
pub fn workgroup(c: BlockConfig) -> (u32, u32) {
    (c.bn / c.tn.max(1), c.bm / c.tm.max(1))
}

/// Bytes of one staged slice of `width` columns: BK rows, each padded by one vec4.
pub fn slice_bytes(c: BlockConfig, width: u32) -> u64 {
    u64::from(c.bk) * u64::from(width / 4 + 1) * 16
}

/// The tile rules the block and subgroup shaders share: TM and TN of 4 or 8, BK a
/// multiple of 4 up to 64, BM a multiple of TM and BN of TN.
pub fn check_tiles(c: BlockConfig) -> Result<(), String> {
    if !matches!(c.tm, 4 | 8) || !matches!(c.tn, 4 | 8) {
        return Err(format!("TM and TN must be 4 or 8 (got {}, {})", c.tm, c.tn));
    }
    if c.bk == 0 || !c.bk.is_multiple_of(4) || c.bk > 64 {
        return Err(format!(
            "BK must be a multiple of 4 up to 64 (got {})",
            c.bk
        ));
    }
    if c.bm == 0 || c.bn == 0 || !c.bm.is_multiple_of(c.tm) || !c.bn.is_multiple_of(c.tn) {
        return Err("BM must be a multiple of TM and BN of TN".into());
    }
    Ok(())
}

/// What an f16 configuration needs of any adapter.
pub fn check_f16(c: BlockConfig, features: wgpu::Features) -> Result<(), String> {
    if c.precision == Precision::F16 && !features.contains(wgpu::Features::SHADER_F16) {
        return Err("needs f16 in shaders (SHADER_F16), which this adapter lacks".into());
    }
    Ok(())
}

/// The parameters recorded for a block or subgroup configuration.
pub fn params_of(c: BlockConfig, (x, y): (u32, u32)) -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("workgroup_x", x.into()),
        ("workgroup_y", y.into()),
        ("bm", c.bm.into()),
        ("bn", c.bn.into()),
        ("bk", c.bk.into()),
        ("tm", c.tm.into()),
        ("tn", c.tn.into()),
        ("split_k", c.split_k.into()),
        ("subgroup", c.subgroup.into()),
        ("vec4_loads", true.into()),
        ("double_buffered", true.into()),
    ]
}

/// The override constants of the block and subgroup shaders for a layout.
pub fn constants_of(
    c: BlockConfig,
    layout: Layout,
    (wx, wy): (u32, u32),
    (la, lb): (u32, u32),
) -> Vec<(&'static str, f64)> {
    vec![
        ("TRANS_A", flag(layout.trans_a())),
        ("TRANS_B", flag(layout.trans_b())),
        ("WG_X", f64::from(wx)),
        ("WG_Y", f64::from(wy)),
        ("BM", f64::from(c.bm)),
        ("BN", f64::from(c.bn)),
        ("BK", f64::from(c.bk)),
        ("TM", f64::from(c.tm)),
        ("TN", f64::from(c.tn)),
        ("LOADS_A", f64::from(la)),
        ("LOADS_B", f64::from(lb)),
    ]
}

fn loads(c: BlockConfig) -> (u32, u32) {
    let (x, y) = workgroup(c);
    let n = (x * y).max(1);
    ((c.bm * c.bk / 4).div_ceil(n), (c.bk * c.bn / 4).div_ceil(n))
}

fn config(config: &KernelConfig) -> BlockConfig {
    block_of(config).unwrap_or(PORTABLE_BLOCK)
}

impl KernelFamily for Block {
    fn name(&self) -> &'static str {
        "block"
    }

    fn runs(&self, config: &KernelConfig) -> bool {
        block_of(config).is_some_and(|c| !c.subgroup && !c.coopmat)
    }

    fn kernels(&self) -> Vec<KernelSpec> {
        vec![KernelSpec {
            name: "block".into(),
            config: KernelConfig::Block(PORTABLE_BLOCK),
            hidden: false,
            description: "register-blocked 64x64x8, 4x4 per invocation, vec4 loads, \
                          double-buffered (one fixed configuration of the tuned family)",
        }]
    }

    fn geometry(&self, c: &KernelConfig) -> Geometry {
        let c = config(c);
        (workgroup(c), (c.bn, c.bm))
    }

    fn check(&self, c: &KernelConfig, limits: &wgpu::Limits) -> Result<(), String> {
        let c = config(c);
        check_tiles(c)?;
        let bytes = 2 * (slice_bytes(c, c.bm) + slice_bytes(c, c.bn));
        blocked::check_common(c, limits, workgroup(c), loads(c), MAX_LOADS, bytes)
    }

    fn needs(&self, c: &KernelConfig, caps: &Caps, variant: Variant) -> Result<(), String> {
        if variant.coopmat {
            return Err("has no cooperative-matrix variant".into());
        }
        check_f16(config(c), caps.features)
    }

    fn params(&self, c: &KernelConfig) -> Vec<(&'static str, serde_json::Value)> {
        let c = config(c);
        params_of(c, workgroup(c))
    }

    fn candidates(&self, _caps: &Caps, variant: Variant) -> Vec<BlockConfig> {
        if variant.coopmat {
            return Vec::new();
        }
        base_configs()
            .into_iter()
            .map(|c| c.with_precision(variant.precision))
            .collect()
    }

    fn shader(&self, c: &KernelConfig, layout: Layout, _variant: Variant) -> Result<ShaderSource> {
        let c = config(c);
        let constants = constants_of(c, layout, workgroup(c), loads(c));
        let source = shader_source(BLOCK_WGSL, c.precision)?.into_owned();
        Ok(ShaderSource::main(
            format!("block {c} {layout}"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::config::SMALLEST_BLOCK;
    use crate::kernels::subgroup::{self, Subgroup};

    #[test]
    fn base_configurations_satisfy_the_shader_contract() {
        let big = wgpu::Limits {
            max_compute_workgroup_storage_size: 1 << 20,
            max_compute_invocations_per_workgroup: 1024,
            max_compute_workgroup_size_x: 1024,
            max_compute_workgroup_size_y: 1024,
            ..wgpu::Limits::default()
        };
        let check = |c: BlockConfig| {
            let k = KernelConfig::Block(c);
            if c.subgroup {
                Subgroup.check(&k, &big)
            } else {
                Block.check(&k, &big)
            }
        };
        for c in base_configs().into_iter().chain(subgroup::base_configs(8)) {
            assert!(check(c).is_ok(), "{c}: {:?}", check(c));
        }
        // With wider subgroups some subgroup variants break the staging contract and are
        // filtered out on the adapter; some always remain.
        for sg in [4, 16, 32] {
            let ok = subgroup::base_configs(sg)
                .into_iter()
                .filter(|c| check(*c).is_ok())
                .count();
            assert!(ok >= 2, "subgroup size {sg}: {ok} subgroup variants fit");
        }
        // The portable kernel fits WebGPU's default limits.
        let default = wgpu::Limits::default();
        assert!(
            Block
                .check(&KernelConfig::Block(PORTABLE_BLOCK), &default)
                .is_ok()
        );
        assert!(
            Block
                .check(&KernelConfig::Block(SMALLEST_BLOCK), &default)
                .is_ok()
        );
    }
}
