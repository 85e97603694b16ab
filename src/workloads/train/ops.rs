//! The elementwise, loss and optimizer kernels of a training step (`shaders/train_*.wgsl`)
//! and one recorded step: a list of dispatches encoded into one compute pass.
//!
//! The GEMMs go through the kernel API ([`GemmPipeline`]); everything else is a small
//! WGSL entry point whose bind group layout wgpu derives from the shader.

use std::rc::Rc;

use anyhow::{Result, bail};

use crate::gpu::Gpu;
use crate::kernels::precision::f16_variant;
use crate::kernels::{GemmBinding, GemmPipeline, ShaderSource};
use crate::types::Precision;

const FORWARD_WGSL: &str = include_str!("../../../shaders/train_forward.wgsl");
const BACKWARD_WGSL: &str = include_str!("../../../shaders/train_backward.wgsl");
const LOSS_WGSL: &str = include_str!("../../../shaders/train_loss.wgsl");
const OPTIM_WGSL: &str = include_str!("../../../shaders/train_optim.wgsl");
const CAST_WGSL: &str = include_str!("../../../shaders/train_cast.wgsl");

/// Invocations per workgroup of the one-dimensional entry points.
pub const WORKGROUP: u32 = 256;
/// Rows summed per workgroup by `bias_grad_partial` (`ROWS_PER_BLOCK` in the shader).
pub const ROWS_PER_BLOCK: u32 = 256;
/// Workgroups of the loss reduction (and entries of its partial-sum buffer).
pub const LOSS_WORKGROUPS: u32 = 256;

/// The training entry points, compiled once per device and precision. In f16 the
/// entry points that write a GEMM operand (activations, dZ, dY) write f16, and `cast`
/// makes the f16 copies of the weights.
pub struct Kernels {
    pub precision: Precision,
    /// f32 → f16 (f16 only).
    pub cast: Option<wgpu::ComputePipeline>,
    pub bias_gelu: wgpu::ComputePipeline,
    pub bias_only: wgpu::ComputePipeline,
    pub gelu_backward: wgpu::ComputePipeline,
    pub bias_grad_partial: wgpu::ComputePipeline,
    pub bias_grad_finish: wgpu::ComputePipeline,
    pub mse: wgpu::ComputePipeline,
    pub loss_finish: wgpu::ComputePipeline,
    pub adamw: wgpu::ComputePipeline,
    pub sgd: wgpu::ComputePipeline,
    pub advance: wgpu::ComputePipeline,
}

/// The training step's shaders in `precision`, as [`Kernels::new`] compiles them: the
/// forward, backward and loss entry points (their f16 variant in f16), the optimizer and,
/// in f16, the cast to f16. None has override constants.
pub fn shaders(precision: Precision) -> Result<Vec<ShaderSource>> {
    let variant = |src: &'static str| -> Result<String> {
        match precision {
            Precision::F32 => Ok(src.to_string()),
            Precision::F16 => f16_variant(src),
        }
    };
    let shader = |name: &str, source: String, entries: &[&'static str]| ShaderSource {
        label: format!("{name} {precision}"),
        source,
        constants: Vec::new(),
        entries: entries.to_vec(),
        runtime_checks: true,
    };
    let mut out = vec![
        shader(
            "train_forward",
            variant(FORWARD_WGSL)?,
            &["bias_gelu", "bias_only"],
        ),
        shader(
            "train_backward",
            variant(BACKWARD_WGSL)?,
            &["gelu_backward", "bias_grad_partial", "bias_grad_finish"],
        ),
        shader("train_loss", variant(LOSS_WGSL)?, &["mse", "finish"]),
        shader(
            "train_optim",
            OPTIM_WGSL.to_string(),
            &["adamw", "sgd", "advance"],
        ),
    ];
    if precision == Precision::F16 {
        out.push(shader("train_cast", CAST_WGSL.to_string(), &["to_f16"]));
    }
    Ok(out)
}

impl Kernels {
    pub fn new(gpu: &Gpu, precision: Precision) -> Result<Kernels> {
        let shaders = shaders(precision)?;
        let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = |name: &str| {
            let s = shaders
                .iter()
                .find(|s| s.label.starts_with(name))
                .expect("every training shader is listed");
            gpu.device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(name),
                    source: wgpu::ShaderSource::Wgsl(s.source.clone().into()),
                })
        };
        let fwd = module("train_forward");
        let bwd = module("train_backward");
        let loss = module("train_loss");
        let optim = module("train_optim");
        let cast = (precision == Precision::F16).then(|| module("train_cast"));
        let pipeline = |m: &wgpu::ShaderModule, entry: &str| {
            gpu.device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(entry),
                    layout: None,
                    module: m,
                    entry_point: Some(entry),
                    compilation_options: Default::default(),
                    cache: None,
                })
        };
        let k = Kernels {
            precision,
            cast: cast.as_ref().map(|m| pipeline(m, "to_f16")),
            bias_gelu: pipeline(&fwd, "bias_gelu"),
            bias_only: pipeline(&fwd, "bias_only"),
            gelu_backward: pipeline(&bwd, "gelu_backward"),
            bias_grad_partial: pipeline(&bwd, "bias_grad_partial"),
            bias_grad_finish: pipeline(&bwd, "bias_grad_finish"),
            mse: pipeline(&loss, "mse"),
            loss_finish: pipeline(&loss, "finish"),
            adamw: pipeline(&optim, "adamw"),
            sgd: pipeline(&optim, "sgd"),
            advance: pipeline(&optim, "advance"),
        };
        if let Some(e) = pollster::block_on(scope.pop()) {
            bail!("the training shaders failed to compile: {e}");
        }
        Ok(k)
    }
}

/// The uniform block of `to_f16`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Count {
    pub n: u32,
    pub _pad: [u32; 3],
}

/// Workgroups for a grid-stride loop over `n` elements.
pub fn grid(n: u64) -> u32 {
    n.div_ceil(u64::from(WORKGROUP)).clamp(1, 65535) as u32
}

/// One dispatch of a step. Those that read the current data batch hold one binding per
/// batch; the step picks `batch % len`.
pub enum Action {
    Gemm {
        pipeline: Rc<GemmPipeline>,
        bindings: Vec<GemmBinding>,
    },
    Op {
        pipeline: wgpu::ComputePipeline,
        groups: Vec<wgpu::BindGroup>,
        workgroups: (u32, u32, u32),
    },
}

impl Action {
    /// An elementwise dispatch with one bind group per batch (or one for all).
    pub fn op(
        gpu: &Gpu,
        pipeline: &wgpu::ComputePipeline,
        bindings: &[Vec<(u32, &wgpu::Buffer)>],
        workgroups: (u32, u32, u32),
    ) -> Action {
        let layout = pipeline.get_bind_group_layout(0);
        let groups = bindings
            .iter()
            .map(|entries| gpu.bind_group("training op", &layout, entries))
            .collect();
        Action::Op {
            pipeline: pipeline.clone(),
            groups,
            workgroups,
        }
    }

    /// Records this dispatch for data batch `batch`.
    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>, batch: usize) {
        match self {
            Action::Gemm { pipeline, bindings } => {
                pipeline.encode(pass, &bindings[batch % bindings.len()])
            }
            Action::Op {
                pipeline,
                groups,
                workgroups: (x, y, z),
            } => {
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, &groups[batch % groups.len()], &[]);
                pass.dispatch_workgroups(*x, *y, *z);
            }
        }
    }
}

/// Uniform blocks of the shaders (`Dims`, `LossParams`, `OptParams`, `State`).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Dims {
    pub rows: u32,
    pub cols: u32,
    pub blocks: u32,
    pub _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LossParams {
    pub n: u32,
    pub workgroups: u32,
    pub grad_scale: f32,
    pub inv_n: f32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct OptParams {
    pub n: u32,
    /// 1 / the loss scale the gradients carry (1 in f32).
    pub grad_unscale: f32,
    pub lr: f32,
    pub weight_decay: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub one_minus_beta1: f32,
    pub one_minus_beta2: f32,
    pub eps: f32,
    pub _pad1: [f32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct State {
    pub step: u32,
    pub bias_correction1: f32,
    pub bias_correction2: f32,
    pub _pad: u32,
}
