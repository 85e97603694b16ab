//! Kernels of one dispatch and four bindings (A and B read-only, C, the `Params`
//! uniform), as the naive and tiled families are: compiled once per layout, bound by
//! writing the shape into a parameter block.

use std::sync::Arc;

use anyhow::Result;

use super::config::KernelConfig;
use super::family::{Compiled, Dispatch, GemmBinding};
use super::shader::{compile, storage_entry, uniform_entry};
use crate::gpu::Gpu;
use crate::types::{Batch, Shape, Strides};

/// The uniform block of these shaders (`struct Params`).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Params {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub share_b: u32,
    pub batch_a: u32,
    pub batch_b: u32,
    pub _pad: [u32; 2],
}

/// The bind group layout of these shaders: A, B read-only; C read-write; params.
pub fn bind_group_layout(device: &wgpu::Device) -> wgpu::BindGroupLayout {
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("gemm"),
        entries: &[
            storage_entry(0, true),
            storage_entry(1, true),
            storage_entry(2, false),
            uniform_entry(3),
        ],
    })
}

/// A one-dispatch kernel compiled for one layout.
pub struct Single {
    pipeline: wgpu::ComputePipeline,
    bind_layout: wgpu::BindGroupLayout,
    /// The block of C (columns, rows) one workgroup covers.
    block: (u32, u32),
}

/// Compiles a one-dispatch kernel whose workgroups each cover a `block` of C.
pub fn build(
    gpu: &Gpu,
    label: &str,
    source: &str,
    constants: &[(&str, f64)],
    block: (u32, u32),
) -> Result<Arc<dyn Compiled>> {
    let bind_layout = bind_group_layout(&gpu.device);
    let pipeline = compile(gpu, label, source, constants, &bind_layout)?;
    Ok(Arc::new(Single {
        pipeline,
        bind_layout,
        block,
    }))
}

impl Compiled for Single {
    fn bind(
        &self,
        gpu: &Gpu,
        _config: &KernelConfig,
        shape: Shape,
        batch: Batch,
        strides: Strides,
        [a, b, c]: [&wgpu::Buffer; 3],
    ) -> Result<GemmBinding> {
        let params = Params {
            m: shape.m,
            n: shape.n,
            k: shape.k,
            share_b: batch.share_b,
            batch_a: u32::try_from(strides.a)?,
            batch_b: u32::try_from(strides.b)?,
            _pad: [0; 2],
        };
        let ubuf = gpu.buffer_init(
            "gemm params",
            bytemuck::bytes_of(&params),
            wgpu::BufferUsages::UNIFORM,
        )?;
        let group = gpu.bind_buffers("gemm", &self.bind_layout, &[a, b, c, &ubuf]);
        let (bx, by) = self.block;
        let dispatch = (shape.n.div_ceil(bx), shape.m.div_ceil(by), batch.count);
        Ok(GemmBinding {
            steps: vec![Dispatch {
                pipeline: self.pipeline.clone(),
                group,
                size: dispatch,
            }],
            buffers: vec![ubuf],
            dispatch,
            config: None,
            splits: 1,
        })
    }
}
