//! Compiling a GEMM kernel for one layout and binding one problem's buffers to it.

use anyhow::{Result, bail};

use super::{Family, KernelSpec, Layout, Shape};
use crate::gpu::Gpu;

const NAIVE_WGSL: &str = include_str!("../../shaders/gemm_naive.wgsl");
const TILED_WGSL: &str = include_str!("../../shaders/gemm_tiled.wgsl");

/// The uniform block every GEMM shader reads (`struct Params`).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Params {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub _pad: u32,
}

/// One kernel compiled for one layout.
pub struct GemmPipeline {
    pub spec: KernelSpec,
    pub layout: Layout,
    pipeline: wgpu::ComputePipeline,
    bind_layout: wgpu::BindGroupLayout,
}

/// The bind group layout every GEMM shader uses: A, B read-only; C read-write; params.
pub fn bind_group_layout(device: &wgpu::Device) -> wgpu::BindGroupLayout {
    let storage = |binding, read_only| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    };
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("gemm"),
        entries: &[
            storage(0, true),
            storage(1, true),
            storage(2, false),
            wgpu::BindGroupLayoutEntry {
                binding: 3,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            },
        ],
    })
}

impl GemmPipeline {
    /// Compiles `spec` for `layout`. The shader is created without runtime bounds checks:
    /// every kernel guards its own global indices, and the odd-shape tests cover them.
    pub fn new(gpu: &Gpu, spec: &KernelSpec, layout: Layout) -> Result<GemmPipeline> {
        if let Err(why) = spec.check(&gpu.limits()) {
            bail!("kernel '{}' does not fit this adapter: {why}", spec.name);
        }
        let ((wx, wy), _) = spec.geometry();
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        let mut constants: Vec<(&str, f64)> = vec![
            ("TRANS_A", flag(layout.trans_a())),
            ("TRANS_B", flag(layout.trans_b())),
            ("WG_X", f64::from(wx)),
            ("WG_Y", f64::from(wy)),
        ];
        let source = match spec.family {
            Family::Naive { fault } => {
                constants.push(("FAULT", flag(fault)));
                NAIVE_WGSL
            }
            Family::Tiled(t) => {
                constants.extend([
                    ("BM", f64::from(t.bm)),
                    ("BN", f64::from(t.bn)),
                    ("BK", f64::from(t.bk)),
                    ("TM", f64::from(t.tm)),
                    ("TN", f64::from(t.tn)),
                ]);
                TILED_WGSL
            }
        };
        let label = format!("{}-{}", spec.name, layout);
        let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
        // SAFETY: with runtime checks off, out-of-bounds indexing is undefined behaviour.
        // Every global access in these shaders is guarded by the M/N/K bounds, workgroup
        // arrays are indexed within their override-derived sizes (the Rust side enforces
        // the WG_X = BN/TN, WG_Y = BM/TM contract in `TileConfig::check`), and all loops
        // are bounded by uniform sizes.
        let module = unsafe {
            gpu.device.create_shader_module_trusted(
                wgpu::ShaderModuleDescriptor {
                    label: Some(&label),
                    source: wgpu::ShaderSource::Wgsl(source.into()),
                },
                wgpu::ShaderRuntimeChecks::unchecked(),
            )
        };
        let bind_layout = bind_group_layout(&gpu.device);
        let layout_obj = gpu
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(&label),
                bind_group_layouts: &[Some(&bind_layout)],
                immediate_size: 0,
            });
        let pipeline = gpu
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&label),
                layout: Some(&layout_obj),
                module: &module,
                entry_point: Some("main"),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &constants,
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            });
        if let Some(e) = pollster::block_on(scope.pop()) {
            bail!("kernel '{label}' failed to compile: {e}");
        }
        Ok(GemmPipeline {
            spec: spec.clone(),
            layout,
            pipeline,
            bind_layout,
        })
    }

    /// Binds one problem's buffers. `c` must hold M·N floats.
    pub fn bind(
        &self,
        gpu: &Gpu,
        shape: Shape,
        a: &wgpu::Buffer,
        b: &wgpu::Buffer,
        c: &wgpu::Buffer,
    ) -> Result<GemmBinding> {
        let params = Params {
            m: shape.m,
            n: shape.n,
            k: shape.k,
            _pad: 0,
        };
        let ubuf = gpu.buffer_init(
            "gemm params",
            bytemuck::bytes_of(&params),
            wgpu::BufferUsages::UNIFORM,
        )?;
        let group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("gemm"),
            layout: &self.bind_layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: a.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: b.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: c.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: ubuf.as_entire_binding(),
                },
            ],
        });
        Ok(GemmBinding {
            group,
            _params: ubuf,
            dispatch: self.spec.dispatch(shape),
        })
    }

    /// Records one GEMM into a compute pass.
    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>, binding: &GemmBinding) {
        let (x, y, z) = binding.dispatch;
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &binding.group, &[]);
        pass.dispatch_workgroups(x, y, z);
    }
}

/// One problem's buffers bound to a pipeline.
pub struct GemmBinding {
    group: wgpu::BindGroup,
    _params: wgpu::Buffer,
    pub dispatch: (u32, u32, u32),
}
