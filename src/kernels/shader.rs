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
