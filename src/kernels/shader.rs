//! Compiling a GEMM shader: the bind-group layout entries the kernels use, and the one
//! compile call every family goes through (override constants, no runtime checks).

use anyhow::Result;

use crate::gpu::Gpu;

/// A storage-buffer binding of a compute shader.
pub fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// A uniform-buffer binding of a compute shader.
pub fn uniform_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// One shader as flopcost hands it to wgpu: its WGSL, the override constants it is
/// specialised with, and the compute entry points made from it. Every family, the split-K
/// reduction, the peaks and the training step describe their shaders this way, and
/// compile from the description, so a test can translate each one for every backend
/// exactly as it runs (`tests/translate.rs`).
#[derive(Clone, Debug, PartialEq)]
pub struct ShaderSource {
    /// What it is, e.g. `block 128x128x8 8x8 nt f16`.
    pub label: String,
    pub source: String,
    pub constants: Vec<(&'static str, f64)>,
    pub entries: Vec<&'static str>,
    /// Whether wgpu compiles it with its runtime bounds checks (the training step's
    /// elementwise shaders); the kernels and peaks are compiled without them.
    pub runtime_checks: bool,
}

impl ShaderSource {
    /// A shader with the one entry point `main`.
    pub fn main(
        label: String,
        source: String,
        constants: Vec<(&'static str, f64)>,
    ) -> ShaderSource {
        ShaderSource {
            label,
            source,
            constants,
            entries: vec!["main"],
            runtime_checks: false,
        }
    }
}

/// A boolean override constant.
pub fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// Compiles one GEMM shader with its override constants.
pub fn compile(
    gpu: &Gpu,
    label: &str,
    source: &str,
    constants: &[(&str, f64)],
    bind_layout: &wgpu::BindGroupLayout,
) -> Result<wgpu::ComputePipeline> {
    // SAFETY: with runtime checks off, out-of-bounds indexing is undefined behaviour.
    // Every global access in these shaders is guarded by the M/N/K bounds (vec4 accesses
    // only where the whole vec4 is inside the matrix and the binding is the matrix itself,
    // not the 16-byte placeholder), workgroup and register arrays are indexed within their
    // sizes (each family checks its shader's contract before it compiles), and all loops
    // are bounded by uniform sizes.
    unsafe { gpu.compile_unchecked(label, source, constants, Some(bind_layout)) }
}
