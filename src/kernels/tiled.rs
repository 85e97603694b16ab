//! The tiled family (`shaders/gemm_tiled.wgsl`): tiles of A and B staged in workgroup
//! memory, a register block of C per invocation.

use std::sync::Arc;

use anyhow::Result;

use super::config::{KernelConfig, KernelSpec, TileConfig, Variant};
use super::family::{Compiled, Geometry, KernelFamily};
use super::precision::shader_source;
use super::shader::{ShaderSource, flag};
use super::single;
use crate::gpu::Gpu;
use crate::types::Layout;

const TILED_WGSL: &str = include_str!("../../shaders/gemm_tiled.wgsl");

/// The default tile of `tiled`: 64×64 blocks, 4×4 per invocation (256 invocations),
/// BK = 16 (8 KiB of workgroup memory, within WebGPU's 16 KiB default).
pub const DEFAULT_TILE: TileConfig = TileConfig {
    bm: 64,
    bn: 64,
    bk: 16,
    tm: 4,
    tn: 4,
};

/// The family.
pub struct Tiled;

fn tile(config: &KernelConfig) -> TileConfig {
    match config {
        KernelConfig::Tiled(t) => *t,
        _ => DEFAULT_TILE,
    }
}

fn workgroup(t: TileConfig) -> (u32, u32) {
    (t.bn / t.tn.max(1), t.bm / t.tm.max(1))
}

/// Bytes of workgroup memory (with the one-word row padding of the shader).
fn workgroup_bytes(t: TileConfig) -> u64 {
    4 * u64::from(t.bk) * u64::from(t.bm + 1 + t.bn + 1)
}

impl KernelFamily for Tiled {
    fn name(&self) -> &'static str {
        "tiled"
    }

    fn runs(&self, config: &KernelConfig) -> bool {
        matches!(config, KernelConfig::Tiled(_))
    }

    fn kernels(&self) -> Vec<KernelSpec> {
        vec![KernelSpec {
            name: "tiled".into(),
            config: KernelConfig::Tiled(DEFAULT_TILE),
            hidden: false,
            description: "workgroup-memory tiles 64x64x16, 4x4 register block per invocation",
        }]
    }

    fn geometry(&self, config: &KernelConfig) -> Geometry {
        let t = tile(config);
        (workgroup(t), (t.bn, t.bm))
    }

    fn check(&self, config: &KernelConfig, limits: &wgpu::Limits) -> Result<(), String> {
        let t = tile(config);
        if t.tm == 0 || t.tn == 0 || t.tm > 8 || t.tn > 8 {
            return Err(format!("TM and TN must be 1..=8 (got {}, {})", t.tm, t.tn));
        }
        if t.bk == 0 || !t.bm.is_multiple_of(t.tm) || !t.bn.is_multiple_of(t.tn) {
            return Err("BM must be a multiple of TM and BN of TN, BK ≥ 1".into());
        }
        let (x, y) = workgroup(t);
        if x * y > limits.max_compute_invocations_per_workgroup
            || x > limits.max_compute_workgroup_size_x
            || y > limits.max_compute_workgroup_size_y
        {
            return Err(format!(
                "workgroup {x}×{y} exceeds the adapter's max_compute_invocations_per_workgroup \
                 ({})",
                limits.max_compute_invocations_per_workgroup
            ));
        }
        if workgroup_bytes(t) > u64::from(limits.max_compute_workgroup_storage_size) {
            return Err(format!(
                "{} bytes of workgroup memory exceed max_compute_workgroup_storage_size ({})",
                workgroup_bytes(t),
                limits.max_compute_workgroup_storage_size
            ));
        }
        Ok(())
    }

    fn params(&self, config: &KernelConfig) -> Vec<(&'static str, serde_json::Value)> {
        let t = tile(config);
        let (x, y) = workgroup(t);
        vec![
            ("workgroup_x", x.into()),
            ("workgroup_y", y.into()),
            ("bm", t.bm.into()),
            ("bn", t.bn.into()),
            ("bk", t.bk.into()),
            ("tm", t.tm.into()),
            ("tn", t.tn.into()),
        ]
    }

    fn shader(
        &self,
        config: &KernelConfig,
        layout: Layout,
        variant: Variant,
    ) -> Result<ShaderSource> {
        let t = tile(config);
        let (wx, wy) = workgroup(t);
        let constants = vec![
            ("TRANS_A", flag(layout.trans_a())),
            ("TRANS_B", flag(layout.trans_b())),
            ("WG_X", f64::from(wx)),
            ("WG_Y", f64::from(wy)),
            ("BM", f64::from(t.bm)),
            ("BN", f64::from(t.bn)),
            ("BK", f64::from(t.bk)),
            ("TM", f64::from(t.tm)),
            ("TN", f64::from(t.tn)),
        ];
        let source = shader_source(TILED_WGSL, variant.precision)?.into_owned();
        let label = format!(
            "tiled {}x{}x{} {}x{} {layout} {}",
            t.bm, t.bn, t.bk, t.tm, t.tn, variant.precision
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
        let t = tile(config);
        let s = self.shader(config, layout, variant)?;
        let label = format!("{label}-{layout}-{}", variant.precision);
        single::build(gpu, &label, &s.source, &s.constants, (t.bn, t.bm))
    }
}
