//! (Over 600 lines: the family, its shader contract and their unit tests, with the
//! SPIR-V translation of every configuration.)
//!
//! The cooperative-matrix (tensor-core) GEMM family, `shaders/gemm_coopmat.wgsl`: when an
//! adapter can run it, its configurations, and the shader's contract.
//!
//! A configuration is a [`BlockConfig`] with `coopmat` set: a BM × BN block per
//! workgroup, K staged in slices of BK through double-buffered workgroup memory, and
//! subgroups of `lanes` invocations in a grid over the block, each holding TM × TN
//! accumulator fragments of `frag` × `frag`. Fragments are 16×16 (what NVIDIA's and
//! AMD's Vulkan drivers offer) or 8×8 (Mesa's lavapipe from 26.1, and Apple GPUs through
//! Metal's simdgroup matrices), chosen from the configurations the adapter reports:
//! `frag`×`frag`×`frag` f16 × f16 → f32 ([`support`]). Everywhere else f16 runs on the
//! shader cores and the record says so (`kernel.path`).
//!
//! Like every kernel, a configuration is verified against the f64 reference before it is
//! timed, so a wrong one is discarded, never reported. CI runs every configuration the
//! tuner can emit on lavapipe 26.1 (8×8 fragments; `scripts/coopmat-lavapipe.sh`,
//! `tests/coopmat.rs`).

use std::sync::Arc;

use anyhow::Result;

use super::blocked::{self, block_of};
use super::config::{BlockConfig, KernelConfig, PORTABLE_BLOCK, Variant};
use super::family::{Compiled, Geometry, KernelFamily};
use super::precision::f16_variant;
use super::shader::ShaderSource;
use super::support::Caps;
pub use super::support::{FRAGS, Support, support, support_in, support_of};
use crate::gpu::Gpu;
use crate::types::{Layout, Precision};

/// The kernel, written with f32 operand aliases like the others; it runs only as its f16
/// variant ([`source`]).
const COOPMAT_WGSL: &str = concat!(
    include_str!("../../shaders/gemm_coopmat.wgsl"),
    include_str!("../../shaders/gemm_operands.wgsl")
);

/// Row padding of the staged slices, in f16 elements (16 bytes, which keeps every
/// staged row 16-byte aligned as cooperative loads require).
pub const PAD: u32 = 8;

/// The most vec4<f16> loads per invocation per operand per slice (the shader's staging
/// registers).
pub const MAX_LOADS: u32 = 8;

/// The most accumulator fragments per subgroup (the shader's register array).
pub const MAX_ACCUMULATORS: u32 = 16;

/// Checks that the adapter offers the configuration's fragment size.
pub fn check_support(c: BlockConfig, caps: &Caps) -> Result<(), String> {
    let s = support_in(caps)?;
    if !s.frags.contains(&c.frag) {
        return Err(format!(
            "adapter '{}' has no {f}x{f}x{f} f16 -> f32 cooperative matrices (it has {})",
            caps.info.name,
            s.fragments(),
            f = c.frag
        ));
    }
    Ok(())
}

/// A configuration of the family.
pub const fn config(
    bm: u32,
    bn: u32,
    bk: u32,
    tm: u32,
    tn: u32,
    lanes: u32,
    frag: u32,
) -> BlockConfig {
    let mut c = BlockConfig::new(bm, bn, bk, tm, tn).with_precision(Precision::F16);
    c.coopmat = true;
    c.lanes = lanes;
    c.frag = frag;
    c
}

/// The base configurations for subgroups of `lanes` and fragments of `frag`, in order
/// of preference (the first that fits and fills the device is the untuned default).
pub fn base_configs(lanes: u32, frag: u32) -> Vec<BlockConfig> {
    let shapes: &[(u32, u32, u32, u32, u32)] = if frag == 8 {
        &[
            // 16 subgroups of 2×2 fragments.
            (64, 64, 32, 2, 2),
            // 4 subgroups of 4×4 fragments: more reuse per subgroup.
            (64, 64, 16, 4, 4),
            (64, 64, 32, 4, 4),
            (32, 64, 16, 2, 4),
            (64, 32, 16, 4, 2),
            (32, 32, 32, 2, 2),
            (32, 32, 16, 1, 1),
        ]
    } else {
        &[
            // 8 subgroups of 2×4 fragments: the large-GPU tile.
            (128, 128, 32, 2, 4),
            // 4 subgroups of 4×4 fragments: more reuse per subgroup, fewer subgroups.
            (128, 128, 32, 4, 4),
            (128, 256, 16, 4, 4),
            (256, 128, 16, 4, 4),
            (128, 64, 32, 2, 2),
            (64, 128, 32, 2, 2),
            (64, 64, 32, 2, 2),
            (64, 64, 64, 2, 2),
            // Few rows: small token batches.
            (32, 128, 32, 1, 2),
        ]
    };
    shapes
        .iter()
        .map(|&(bm, bn, bk, tm, tn)| config(bm, bn, bk, tm, tn, lanes, frag))
        .collect()
}

/// The base configurations of every fragment size the adapter offers, preferred first.
pub fn configs_for(s: &Support) -> Vec<BlockConfig> {
    s.frags
        .iter()
        .flat_map(|&f| base_configs(s.lanes, f))
        .collect()
}

/// The shader's source for fragments of `frag`: the f16 variant of
/// `shaders/gemm_coopmat.wgsl`, whose fragment types are spelled `coop_mat16x16`, with
/// `coop_mat8x8` in their place for 8×8 fragments (WGSL has no fragment type generic
/// over its size; every index computation uses the `FRAG` constant).
pub fn source(frag: u32) -> anyhow::Result<String> {
    let f16 = f16_variant(COOPMAT_WGSL)?;
    match frag {
        16 => Ok(f16),
        8 => Ok(f16.replace("coop_mat16x16", "coop_mat8x8")),
        _ => anyhow::bail!("internal error: no {frag}x{frag} cooperative-matrix kernel"),
    }
}

/// Subgroups per workgroup, as (rows, columns) of the grid over the block.
pub fn grid(c: BlockConfig) -> (u32, u32) {
    let f = c.frag.max(1);
    (c.bm / (f * c.tm.max(1)), c.bn / (f * c.tn.max(1)))
}

pub fn subgroups(c: BlockConfig) -> u32 {
    let (m, n) = grid(c);
    m * n
}

pub fn invocations(c: BlockConfig) -> u32 {
    subgroups(c) * c.lanes
}

/// Row stride and element count of one staged slice of A and of B, in f16 elements.
/// Each operand is staged in its storage orientation (see the shader): A as BM rows of BK
/// (stored M×K) or BK rows of BM (stored K×M), B as BK rows of BN (stored K×N) or BN rows
/// of BK (stored N×K), every row padded by [`PAD`].
pub fn staging(c: BlockConfig, trans_a: bool, trans_b: bool) -> ((u32, u32), (u32, u32)) {
    let (a_rows, a_cols) = if trans_a { (c.bk, c.bm) } else { (c.bm, c.bk) };
    let (b_rows, b_cols) = if trans_b { (c.bn, c.bk) } else { (c.bk, c.bn) };
    (
        (a_cols + PAD, a_rows * (a_cols + PAD)),
        (b_cols + PAD, b_rows * (b_cols + PAD)),
    )
}

/// vec4 loads per invocation per slice, for A and B.
pub fn loads(c: BlockConfig) -> (u32, u32) {
    let n = invocations(c).max(1);
    ((c.bm * c.bk / 4).div_ceil(n), (c.bk * c.bn / 4).div_ceil(n))
}

/// Bytes of workgroup memory in the worse of the two orientations: two buffers of each
/// staged slice (f16) and one fragment-sized f32 scratch tile per subgroup.
pub fn workgroup_bytes(c: BlockConfig) -> u64 {
    let mut most = 0;
    for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
        let ((_, a), (_, b)) = staging(c, ta, tb);
        most = most.max(u64::from(a) + u64::from(b));
    }
    2 * 2 * most + 4 * u64::from(c.frag * c.frag) * u64::from(subgroups(c))
}

/// Checks the shader's contract and the adapter's limits; `Err` says why not.
pub fn check(c: BlockConfig, limits: &wgpu::Limits) -> std::result::Result<(), String> {
    if c.precision != Precision::F16 {
        return Err("the cooperative-matrix kernel takes f16 operands only".into());
    }
    if !(1..=4).contains(&c.tm) || !(1..=4).contains(&c.tn) || c.tm * c.tn > MAX_ACCUMULATORS {
        return Err(format!(
            "TM and TN (fragments per subgroup) must be 1..=4 (got {}, {})",
            c.tm, c.tn
        ));
    }
    if !FRAGS.contains(&c.frag) {
        return Err(format!(
            "fragments must be 8x8 or 16x16 (got {0}x{0})",
            c.frag
        ));
    }
    if !matches!(c.bk, 16 | 32 | 64) {
        return Err(format!("BK must be 16, 32 or 64 (got {})", c.bk));
    }
    let f = c.frag;
    if c.bm == 0 || c.bn == 0 || !c.bm.is_multiple_of(f * c.tm) || !c.bn.is_multiple_of(f * c.tn) {
        return Err(format!(
            "BM must be a multiple of {f}·TM and BN of {f}·TN (got {}x{}, {}x{} fragments)",
            c.bm, c.bn, c.tm, c.tn
        ));
    }
    if c.subgroup {
        return Err("the cooperative-matrix kernel has no subgroup-shuffle variant".into());
    }
    if c.lanes < 4 || !c.lanes.is_power_of_two() {
        return Err(format!(
            "subgroups of {} lanes: expected a power of two ≥ 4",
            c.lanes
        ));
    }
    if c.split_k == 0 || c.split_k > 64 {
        return Err(format!("split-K must be 1..=64 (got {})", c.split_k));
    }
    let n = invocations(c);
    if n > limits.max_compute_invocations_per_workgroup || n > limits.max_compute_workgroup_size_x {
        return Err(format!(
            "{} subgroups of {} lanes ({n} invocations) exceed the adapter's limits ({} \
             invocations, x ≤ {})",
            subgroups(c),
            c.lanes,
            limits.max_compute_invocations_per_workgroup,
            limits.max_compute_workgroup_size_x
        ));
    }
    let (la, lb) = loads(c);
    if la > MAX_LOADS || lb > MAX_LOADS {
        return Err(format!(
            "{la} and {lb} vec4 loads per invocation per slice; the shader stages at most \
             {MAX_LOADS}"
        ));
    }
    let bytes = workgroup_bytes(c);
    if bytes > u64::from(limits.max_compute_workgroup_storage_size) {
        return Err(format!(
            "{bytes} bytes of workgroup memory exceed max_compute_workgroup_storage_size ({})",
            limits.max_compute_workgroup_storage_size
        ));
    }
    Ok(())
}

/// What the configuration needs from the adapter beyond limits and cooperative-matrix
/// support: f16, subgroups, and a fixed subgroup size equal to its lanes.
pub fn check_adapter(
    c: BlockConfig,
    features: wgpu::Features,
    info: &wgpu::AdapterInfo,
) -> Result<(), String> {
    for (f, name) in [
        (
            wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX,
            "cooperative matrices",
        ),
        (wgpu::Features::SHADER_F16, "f16 in shaders"),
        (wgpu::Features::SUBGROUP, "subgroup operations"),
    ] {
        if !features.contains(f) {
            return Err(format!("needs {name}, which this adapter lacks"));
        }
    }
    if info.subgroup_min_size != info.subgroup_max_size || info.subgroup_min_size != c.lanes {
        return Err(format!(
            "needs a fixed subgroup size of {} (the adapter reports {}–{})",
            c.lanes, info.subgroup_min_size, info.subgroup_max_size
        ));
    }
    Ok(())
}

/// The shader's override constants for a layout.
pub fn constants(c: BlockConfig, trans_a: bool, trans_b: bool) -> Vec<(&'static str, f64)> {
    let ((a_stride, a_buf), (b_stride, b_buf)) = staging(c, trans_a, trans_b);
    let (la, lb) = loads(c);
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    vec![
        ("FRAG", f64::from(c.frag)),
        ("FAULT", flag(c.fault)),
        ("TRANS_A", flag(trans_a)),
        ("TRANS_B", flag(trans_b)),
        ("BM", f64::from(c.bm)),
        ("BN", f64::from(c.bn)),
        ("BK", f64::from(c.bk)),
        ("TM", f64::from(c.tm)),
        ("TN", f64::from(c.tn)),
        ("LANES", f64::from(c.lanes)),
        ("WG", f64::from(invocations(c))),
        ("LOADS_A", f64::from(la)),
        ("LOADS_B", f64::from(lb)),
        ("A_STRIDE", f64::from(a_stride)),
        ("A_BUF", f64::from(a_buf)),
        ("B_STRIDE", f64::from(b_stride)),
        ("B_BUF", f64::from(b_buf)),
    ]
}

/// The parameters recorded in result files and the tuning cache.
pub fn params(c: BlockConfig) -> Vec<(&'static str, serde_json::Value)> {
    let (gm, gn) = grid(c);
    vec![
        ("workgroup_x", invocations(c).into()),
        ("workgroup_y", 1.into()),
        ("bm", c.bm.into()),
        ("bn", c.bn.into()),
        ("bk", c.bk.into()),
        ("fragments_m", c.tm.into()),
        ("fragments_n", c.tn.into()),
        ("subgroups_m", gm.into()),
        ("subgroups_n", gn.into()),
        ("lanes", c.lanes.into()),
        ("fragment", format!("{0}x{0}x{0} f16->f32", c.frag).into()),
        ("split_k", c.split_k.into()),
        ("vec4_loads", true.into()),
        ("double_buffered", true.into()),
    ]
}

/// Every configuration the tuner can emit for subgroups of `lanes` and fragments of
/// `frag` on an adapter with `limits`: the base configurations that fit, each with and
/// without split-K (`splits`).
pub fn candidates_for(
    limits: &wgpu::Limits,
    lanes: u32,
    frag: u32,
    splits: &[u32],
) -> Vec<BlockConfig> {
    let mut out = Vec::new();
    for b in base_configs(lanes, frag) {
        if check(b, limits).is_ok() {
            out.push(b);
            out.extend(splits.iter().map(|&s| b.with_split(s)));
        }
    }
    out
}

/// The family.
pub struct Coopmat;

fn block(config: &KernelConfig) -> BlockConfig {
    block_of(config).unwrap_or(PORTABLE_BLOCK)
}

impl KernelFamily for Coopmat {
    fn name(&self) -> &'static str {
        "coopmat"
    }

    fn runs(&self, config: &KernelConfig) -> bool {
        block_of(config).is_some_and(|c| c.coopmat)
    }

    fn geometry(&self, c: &KernelConfig) -> Geometry {
        let c = block(c);
        ((invocations(c), 1), (c.bn, c.bm))
    }

    fn check(&self, c: &KernelConfig, limits: &wgpu::Limits) -> Result<(), String> {
        check(block(c), limits)
    }

    fn needs(&self, c: &KernelConfig, caps: &Caps, variant: Variant) -> Result<(), String> {
        let c = block(c);
        if !variant.coopmat {
            return Err("runs on cooperative matrices only".into());
        }
        check_adapter(c, caps.features, &caps.info)?;
        check_support(c, caps)
    }

    fn params(&self, c: &KernelConfig) -> Vec<(&'static str, serde_json::Value)> {
        params(block(c))
    }

    fn candidates(&self, caps: &Caps, variant: Variant) -> Vec<BlockConfig> {
        match support_in(caps) {
            Ok(s) if variant.coopmat => configs_for(&s),
            _ => Vec::new(),
        }
    }

    fn shader(&self, c: &KernelConfig, layout: Layout, _variant: Variant) -> Result<ShaderSource> {
        let c = block(c);
        let constants = constants(c, layout.trans_a(), layout.trans_b());
        Ok(ShaderSource::main(
            format!("coopmat {c} {layout}"),
            source(c.frag)?,
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
        blocked::build(gpu, label, block(c), layout, &s.source, &s.constants)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The limits of the adapter the family is meant for (an NVIDIA H200 through
    /// Vulkan, as wgpu 30 reports them).
    pub fn h200_limits() -> wgpu::Limits {
        wgpu::Limits {
            max_compute_workgroup_storage_size: 49152,
            max_compute_invocations_per_workgroup: 1024,
            max_compute_workgroup_size_x: 1024,
            max_compute_workgroup_size_y: 1024,
            ..wgpu::Limits::default()
        }
    }

    #[test]
    fn base_configurations_fit_a_large_gpu() {
        let fitting: Vec<BlockConfig> = base_configs(32, 16)
            .into_iter()
            .filter(|c| check(*c, &h200_limits()).is_ok())
            .collect();
        assert!(fitting.len() >= 6, "{fitting:?}");
        for c in base_configs(32, 16) {
            if let Err(e) = check(c, &h200_limits()) {
                assert!(e.contains("workgroup memory"), "{c}: {e}");
            }
        }
        // Not within WebGPU's default 16 KiB of workgroup memory, so never offered there.
        assert!(check(base_configs(32, 16)[0], &wgpu::Limits::default()).is_err());
        // 8×8 fragments: all but one configuration fit lavapipe's limits with its subgroups
        // of 8 (the 4×4-fragment 64×64×32 block would need 16 loads per invocation), and
        // all fit with subgroups of 32 (Apple GPUs).
        let lavapipe = wgpu::Limits {
            max_compute_workgroup_storage_size: 32768,
            max_compute_invocations_per_workgroup: 1024,
            max_compute_workgroup_size_x: 1024,
            ..wgpu::Limits::default()
        };
        let fit = |lanes| {
            base_configs(lanes, 8)
                .into_iter()
                .filter(|c| check(*c, &lavapipe).is_ok())
                .count()
        };
        assert_eq!((fit(8), fit(32)), (6, 7));
    }

    #[test]
    fn staging_strides_keep_rows_16_byte_aligned() {
        for c in base_configs(32, 16).into_iter().chain(base_configs(8, 8)) {
            for (ta, tb) in [(false, false), (false, true), (true, false)] {
                let ((sa, ba), (sb, bb)) = staging(c, ta, tb);
                for v in [sa, ba, sb, bb] {
                    assert_eq!(v % 8, 0, "{c} {ta} {tb}: {v} f16 is not 16 bytes aligned");
                }
            }
        }
    }

    #[test]
    fn support_takes_the_8x8_and_16x16_f16_to_f32_configurations() {
        let info = wgpu::AdapterInfo {
            name: "test".into(),
            vendor: 0,
            device: 0,
            device_type: wgpu::DeviceType::DiscreteGpu,
            device_pci_bus_id: String::new(),
            driver: String::new(),
            driver_info: String::new(),
            backend: wgpu::Backend::Vulkan,
            subgroup_min_size: 32,
            subgroup_max_size: 32,
            transient_saves_memory: None,
            limit_bucket: None,
        };
        let all = wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX
            | wgpu::Features::SHADER_F16
            | wgpu::Features::SUBGROUP;
        let prop = |m, ab, cr| wgpu::CooperativeMatrixProperties {
            m_size: m,
            n_size: m,
            k_size: m,
            ab_type: ab,
            cr_type: cr,
            saturating_accumulation: false,
        };
        use wgpu::CooperativeScalarType::{F16, F32};
        let s = support_of(all, &[prop(16, F16, F32)], &info).unwrap();
        assert_eq!((s.lanes, s.frags), (32, vec![16]));
        // lavapipe 26.1: 8×8×8 f16 → f16 and f16 → f32, subgroups of 8.
        let lvp = wgpu::AdapterInfo {
            subgroup_min_size: 8,
            subgroup_max_size: 8,
            ..info.clone()
        };
        let s = support_of(all, &[prop(8, F16, F16), prop(8, F16, F32)], &lvp).unwrap();
        assert_eq!((s.lanes, s.frags.clone()), (8, vec![8]));
        assert_eq!(s.fragments(), "8x8x8");
        assert!(configs_for(&s).iter().all(|c| c.frag == 8 && c.lanes == 8));
        let both = support_of(all, &[prop(8, F16, F32), prop(16, F16, F32)], &info).unwrap();
        assert_eq!(both.frags, vec![16, 8], "16x16 preferred");
        let e = support_of(all, &[prop(8, F32, F32), prop(16, F16, F16)], &info).unwrap_err();
        assert!(e.contains("neither 16x16x16 nor 8x8x8 f16 -> f32"), "{e}");
        assert!(support_of(wgpu::Features::empty(), &[], &info).is_err());
        let varying = wgpu::AdapterInfo {
            subgroup_min_size: 32,
            subgroup_max_size: 64,
            ..info.clone()
        };
        assert!(support_of(all, &[prop(16, F16, F32)], &varying).is_err());
        // What naga can translate decides too: Metal takes 8×8 only, DX12 and GL none.
        let on = |backend| wgpu::AdapterInfo {
            backend,
            ..info.clone()
        };
        let props = [prop(16, F16, F32), prop(8, F16, F32)];
        let metal = support_of(all, &props, &on(wgpu::Backend::Metal)).unwrap();
        assert_eq!(
            metal.frags,
            vec![8],
            "Metal has 8x8 simdgroup matrices only"
        );
        let e = support_of(all, &props[..1], &on(wgpu::Backend::Metal)).unwrap_err();
        assert!(e.contains("8x8 Metal simdgroup"), "{e}");
        for backend in [wgpu::Backend::Dx12, wgpu::Backend::Gl] {
            let e = support_of(all, &props, &on(backend)).unwrap_err();
            assert!(e.contains("translates no cooperative matrices"), "{e}");
        }
    }
}

/// The cooperative-matrix kernels cannot run on any adapter available to the test suite,
/// so each configuration the tuner can emit is compiled the way wgpu would compile it on
/// a Vulkan device that has the feature: parsed, validated with the capabilities wgpu
/// derives from the device's features, specialised with the configuration's override
/// constants, validated again and translated to SPIR-V. Where `spirv-val` (SPIRV-Tools)
/// is installed, the SPIR-V is checked by it too.
#[cfg(test)]
mod shader_tests {
    use super::tests::h200_limits;
    use super::*;
    use crate::types::Layout;

    fn features() -> wgpu::Features {
        crate::gpu::wanted_features() | wgpu::Features::SHADER_F64
    }

    fn validator() -> naga::valid::Validator {
        wgpu_naga_bridge::create_validator(
            features(),
            wgpu::DownlevelFlags::all(),
            naga::valid::ValidationFlags::all(),
        )
    }

    /// SPIR-V for one configuration and layout, as wgpu's Vulkan back end would produce it
    /// for a shader created without runtime checks.
    fn spirv(config: BlockConfig, layout: Layout) -> Result<Vec<u32>, String> {
        let source = super::source(config.frag).map_err(|e| e.to_string())?;
        let source = source.as_str();
        let module = naga::front::wgsl::parse_str(source).map_err(|e| e.emit_to_string(source))?;
        let info = validator()
            .validate(&module)
            .map_err(|e| e.emit_to_string(source))?;
        let constants: naga::back::PipelineConstants =
            constants(config, layout.trans_a(), layout.trans_b())
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
        let (module, info) = naga::back::pipeline_constants::process_overrides(
            &module,
            &info,
            Some((naga::ShaderStage::Compute, "main")),
            &constants,
        )
        .map_err(|e| format!("overrides: {e:?}"))?;
        let info = validator()
            .validate(&module)
            .map_err(|e| e.emit_to_string(source))
            .map(|_| info)?;
        let options = naga::back::spv::Options {
            lang_version: (1, 6),
            flags: naga::back::spv::WriterFlags::empty(),
            bounds_check_policies: naga::proc::BoundsCheckPolicies {
                index: naga::proc::BoundsCheckPolicy::Unchecked,
                buffer: naga::proc::BoundsCheckPolicy::Unchecked,
                image_load: naga::proc::BoundsCheckPolicy::Unchecked,
                binding_array: naga::proc::BoundsCheckPolicy::Unchecked,
            },
            zero_initialize_workgroup_memory:
                naga::back::spv::ZeroInitializeWorkgroupMemoryMode::None,
            force_loop_bounding: false,
            ..naga::back::spv::Options::default()
        };
        let pipeline = naga::back::spv::PipelineOptions {
            shader_stage: naga::ShaderStage::Compute,
            entry_point: "main".into(),
        };
        naga::back::spv::write_vec(&module, &info, &options, Some(&pipeline))
            .map_err(|e| format!("SPIR-V: {e}"))
    }

    /// Runs `spirv-val` on the words when it is installed; `None` when it is not.
    fn spirv_val(words: &[u32]) -> Option<Result<(), String>> {
        let dir = tempfile::tempdir().ok()?;
        let path = dir.path().join("kernel.spv");
        std::fs::write(&path, bytemuck::cast_slice::<u32, u8>(words)).ok()?;
        let out = std::process::Command::new("spirv-val")
            .args(["--target-env", "vulkan1.3"])
            .arg(&path)
            .output()
            .ok()?;
        Some(if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned()
                + &String::from_utf8_lossy(&out.stdout))
        })
    }

    #[test]
    fn every_coopmat_kernel_the_tuner_can_emit_compiles_to_spirv() {
        let mut checked = 0;
        let mut khronos = None;
        let mut rejected = Vec::new();
        for (lanes, frag) in [(32, 16), (64, 16), (16, 16), (8, 8), (32, 8)] {
            let configs = candidates_for(&h200_limits(), lanes, frag, &[2, 4, 8, 16]);
            assert!(
                !configs.is_empty(),
                "no candidates for {lanes} lanes, {frag}x{frag}"
            );
            for config in configs {
                for layout in Layout::ALL {
                    let words =
                        spirv(config, layout).unwrap_or_else(|e| panic!("{config} {layout}: {e}"));
                    // FLOPCOST_DUMP_SPIRV=DIR keeps the modules for inspection.
                    if let Some(dir) = std::env::var_os("FLOPCOST_DUMP_SPIRV") {
                        let name = format!("coopmat-{config}-{layout}.spv").replace('/', "_");
                        let _ = std::fs::write(
                            std::path::Path::new(&dir).join(name),
                            bytemuck::cast_slice::<u32, u8>(&words),
                        );
                    }
                    match spirv_val(&words) {
                        // SPIRV-Tools before 2023.4 do not know SPV_KHR_cooperative_matrix
                        // (its capability is number 6022).
                        Some(Err(e)) if e.contains("Invalid capability operand: 6022") => {
                            khronos = Some(false);
                        }
                        Some(r) => {
                            khronos = Some(true);
                            if let Err(e) = r {
                                rejected.push(format!("{config} {layout}: {e}"));
                            }
                        }
                        None => {}
                    }
                    checked += 1;
                }
            }
        }
        match khronos {
            None => eprintln!(
                "spirv-val (SPIRV-Tools) is not installed: the SPIR-V was produced by naga but \
                 not checked by the Khronos validator"
            ),
            Some(false) => eprintln!(
                "the installed spirv-val predates SPV_KHR_cooperative_matrix: the SPIR-V was \
                 produced by naga but not checked by the Khronos validator"
            ),
            Some(true) => eprintln!("spirv-val accepted every kernel"),
        }
        assert!(
            rejected.is_empty(),
            "spirv-val rejected:\n{}",
            rejected.join("\n")
        );
        eprintln!("{checked} cooperative-matrix kernels validated and translated to SPIR-V");
    }
}
