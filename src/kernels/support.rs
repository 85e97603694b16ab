//! What an adapter offers the kernels, read once from the device ([`Caps`]): its
//! features, limits and description, and its cooperative-matrix configurations; and what
//! they allow: a fixed subgroup size, and the fragment sizes the cooperative-matrix
//! kernel can use ([`support_of`]). Families decide from this what they can run, without
//! an open device, so it can be tested on made-up adapters.

use crate::gpu::Gpu;

/// What the kernels may use of an adapter.
#[derive(Clone, Debug)]
pub struct Caps {
    pub features: wgpu::Features,
    pub limits: wgpu::Limits,
    pub info: wgpu::AdapterInfo,
    /// The cooperative-matrix configurations the adapter reports.
    pub coopmat: Vec<wgpu::CooperativeMatrixProperties>,
}

impl Caps {
    pub fn of(gpu: &Gpu) -> Caps {
        Caps {
            features: gpu.features(),
            limits: gpu.limits(),
            info: gpu.info.clone(),
            coopmat: gpu.adapter.cooperative_matrix_properties(),
        }
    }

    /// The adapter's fixed subgroup size, when it has subgroups and one fixed size.
    pub fn fixed_subgroup(&self) -> Option<u32> {
        (self.features.contains(wgpu::Features::SUBGROUP)
            && self.info.subgroup_min_size == self.info.subgroup_max_size
            && self.info.subgroup_min_size >= 4)
            .then_some(self.info.subgroup_min_size)
    }
}

/// The fragment sizes the cooperative-matrix kernel is written for (M = N = K), in order
/// of preference.
pub const FRAGS: [u32; 2] = [16, 8];

/// What an adapter offers the kernel: its subgroup size, and the fragment sizes (of
/// [`FRAGS`]) it has an f16 × f16 → f32 configuration for, preferred first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Support {
    pub lanes: u32,
    pub frags: Vec<u32>,
}

impl Support {
    /// `16x16x16, 8x8x8` (preferred first).
    pub fn fragments(&self) -> String {
        self.frags
            .iter()
            .map(|f| format!("{f}x{f}x{f}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Why cooperative matrices cannot run on an adapter, or what they would run with.
pub fn support_of(
    features: wgpu::Features,
    properties: &[wgpu::CooperativeMatrixProperties],
    info: &wgpu::AdapterInfo,
) -> Result<Support, String> {
    if !features.contains(wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX) {
        return Err(format!(
            "adapter '{}' has no cooperative matrices (wgpu feature \
             EXPERIMENTAL_COOPERATIVE_MATRIX; on Vulkan, VK_KHR_cooperative_matrix)",
            info.name
        ));
    }
    // What naga, which wgpu 30 translates every shader with, can write: no cooperative
    // matrices in HLSL or GLSL (its writers stop at them), and in MSL only Metal's 8×8
    // simdgroup matrices (tests/translate.rs holds each backend to this).
    let translatable: &[u32] = match info.backend {
        wgpu::Backend::Dx12 | wgpu::Backend::Gl => {
            return Err(format!(
                "adapter '{}' is on {}, where wgpu 30 translates no cooperative matrices \
                 (naga writes none in {})",
                info.name,
                info.backend,
                if info.backend == wgpu::Backend::Dx12 {
                    "HLSL"
                } else {
                    "GLSL"
                }
            ));
        }
        wgpu::Backend::Metal => &[8],
        _ => &FRAGS,
    };
    let frags: Vec<u32> = FRAGS
        .into_iter()
        .filter(|f| translatable.contains(f))
        .filter(|&f| {
            properties.iter().any(|p| {
                p.m_size == f
                    && p.n_size == f
                    && p.k_size == f
                    && p.ab_type == wgpu::CooperativeScalarType::F16
                    && p.cr_type == wgpu::CooperativeScalarType::F32
            })
        })
        .collect();
    if frags.is_empty() {
        let offered: Vec<String> = properties
            .iter()
            .map(|p| {
                format!(
                    "{}x{}x{} {:?}->{:?}",
                    p.m_size, p.n_size, p.k_size, p.ab_type, p.cr_type
                )
            })
            .collect();
        return Err(format!(
            "adapter '{}' has cooperative matrices but neither 16x16x16 nor 8x8x8 f16 -> f32 \
             {}(it offers: {})",
            info.name,
            if info.backend == wgpu::Backend::Metal {
                "as 8x8 Metal simdgroup matrices "
            } else {
                ""
            },
            if offered.is_empty() {
                "none".to_string()
            } else {
                offered.join(", ")
            }
        ));
    }
    if !features.contains(wgpu::Features::SHADER_F16) {
        return Err(format!(
            "adapter '{}' has no f16 in shaders (SHADER_F16)",
            info.name
        ));
    }
    if !features.contains(wgpu::Features::SUBGROUP) {
        return Err(format!(
            "adapter '{}' has no subgroup operations (SUBGROUP), which the kernel uses to \
             find its subgroup",
            info.name
        ));
    }
    if info.subgroup_min_size != info.subgroup_max_size {
        return Err(format!(
            "adapter '{}' has no fixed subgroup size (it reports {}–{})",
            info.name, info.subgroup_min_size, info.subgroup_max_size
        ));
    }
    if info.subgroup_min_size < 4 {
        return Err(format!(
            "adapter '{}' has subgroups of {}, fewer than the kernel's 4",
            info.name, info.subgroup_min_size
        ));
    }
    Ok(Support {
        lanes: info.subgroup_min_size,
        frags,
    })
}

/// [`support_of`] for an adapter's capabilities.
pub fn support_in(caps: &Caps) -> Result<Support, String> {
    support_of(caps.features, &caps.coopmat, &caps.info)
}

/// [`support_of`] for an open device.
pub fn support(gpu: &Gpu) -> Result<Support, String> {
    support_in(&Caps::of(gpu))
}
