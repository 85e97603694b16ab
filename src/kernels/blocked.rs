//! What the register-blocked kernels share (the block, subgroup and cooperative-matrix
//! families): seven bindings (A, B, C, the uniform block, and vec4 views of A, B and C
//! or 16-byte placeholders where a view may not be read), split-K with its workspace and
//! reduction dispatch, and the checks of a block configuration that all three make.
//!
//! The main shader does not depend on the split-K factor, so one compiled pipeline
//! serves every split of a base configuration.

use std::sync::{Arc, Mutex};

use anyhow::{Result, bail};

use super::config::{BlockConfig, KernelConfig};
use super::family::{Compiled, Dispatch, GemmBinding};
use super::shader::{ShaderSource, compile, storage_entry, uniform_entry};
use crate::gpu::Gpu;
use crate::types::{Batch, Layout, Shape, Strides};

const REDUCE_WGSL: &str = include_str!("../../shaders/gemm_splitk_reduce.wgsl");

/// Invocations per workgroup of the split-K reduction.
const REDUCE_WG: u32 = 256;

/// The uniform block of the block family (`struct Params` in gemm_block.wgsl).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct BlockParams {
    m: u32,
    n: u32,
    k: u32,
    k_split: u32,
    aligned_a: u32,
    aligned_b: u32,
    aligned_c: u32,
    splits: u32,
    batch_a: u32,
    batch_b: u32,
    share_b: u32,
    c_len: u32,
}

/// The uniform block of gemm_splitk_reduce.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ReduceParams {
    len: u32,
    splits: u32,
    row: u32,
    aligned: u32,
}

/// One block configuration compiled for one layout, with what binding it needs. The
/// main shader does not depend on the split-K factor, so one compiled pipeline serves
/// every split of a base configuration.
pub struct BlockPipeline {
    base: BlockConfig,
    layout: Layout,
    main: wgpu::ComputePipeline,
    main_layout: wgpu::BindGroupLayout,
    /// The split-K reduction, compiled on first use.
    reduce: Mutex<Option<(wgpu::ComputePipeline, wgpu::BindGroupLayout)>>,
    /// 16-byte placeholders for vec4 bindings the shader will not read (see
    /// gemm_block.wgsl); one read-only and one read-write, so they never alias.
    dummy_ro: wgpu::Buffer,
    dummy_rw: wgpu::Buffer,
}

impl BlockPipeline {
    /// Compiles `source` (a register-blocked kernel, specialised by `constants`) for
    /// `layout`; the family has checked the configuration.
    pub fn new(
        gpu: &Gpu,
        label: &str,
        base: BlockConfig,
        layout: Layout,
        source: &str,
        constants: &[(&str, f64)],
    ) -> Result<BlockPipeline> {
        let main_layout = gpu
            .device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("gemm block"),
                entries: &[
                    storage_entry(0, true),
                    storage_entry(1, true),
                    storage_entry(2, false),
                    uniform_entry(3),
                    storage_entry(4, true),
                    storage_entry(5, true),
                    storage_entry(6, false),
                ],
            });
        let main = compile(gpu, label, source, constants, &main_layout)?;
        let storage = wgpu::BufferUsages::STORAGE;
        Ok(BlockPipeline {
            base: base.with_split(1),
            layout,
            main,
            main_layout,
            reduce: Mutex::new(None),
            dummy_ro: gpu.buffer("vec4 placeholder", 16, storage)?,
            dummy_rw: gpu.buffer("vec4 placeholder", 16, storage)?,
        })
    }

    /// The split-K reduction, compiled on first use.
    fn reduce(&self, gpu: &Gpu) -> Result<(wgpu::ComputePipeline, wgpu::BindGroupLayout)> {
        let mut slot = self
            .reduce
            .lock()
            .map_err(|_| anyhow::anyhow!("split-K pipeline lock poisoned"))?;
        if let Some(r) = slot.as_ref() {
            return Ok(r.clone());
        }
        let l = gpu
            .device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("gemm split-k reduce"),
                entries: &[
                    storage_entry(0, true),
                    storage_entry(1, false),
                    uniform_entry(2),
                    storage_entry(3, true),
                    storage_entry(4, false),
                ],
            });
        let s = reduce_shader();
        let p = compile(gpu, &s.label, &s.source, &s.constants, &l)?;
        *slot = Some((p.clone(), l.clone()));
        Ok((p, l))
    }

    fn bind_config(
        &self,
        gpu: &Gpu,
        cfg: BlockConfig,
        shape: Shape,
        batch: Batch,
        strides: Strides,
        [a, b, c]: [&wgpu::Buffer; 3],
    ) -> Result<GemmBinding> {
        debug_assert_eq!(cfg.with_split(1), self.base);
        let limits = gpu.limits();
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let c_len = shape.c_len() * u64::from(batch.count);
        let (mut splits, mut k_split) = cfg.splits_for(shape, c_len, max_binding);
        // Workgroup z is product · splits + split: fewer splits where that would exceed
        // the adapter's dispatch limit.
        while splits > 1
            && u64::from(splits) * u64::from(batch.count)
                > u64::from(limits.max_compute_workgroups_per_dimension)
        {
            (splits, k_split) = cfg
                .with_split(splits - 1)
                .splits_for(shape, c_len, max_binding);
        }
        let Shape { m, n, k } = shape;
        // The vec4 path needs each row, and each product's operand, to start on a vec4.
        let aligned_a = strides.a.is_multiple_of(4)
            && if self.layout.trans_a() {
                m % 4 == 0
            } else {
                k % 4 == 0
            };
        let aligned_b = strides.b.is_multiple_of(4)
            && if self.layout.trans_b() {
                k % 4 == 0
            } else {
                n % 4 == 0
            };
        let aligned_c = n % 4 == 0;
        let params = BlockParams {
            m,
            n,
            k,
            k_split,
            aligned_a: aligned_a.into(),
            aligned_b: aligned_b.into(),
            aligned_c: aligned_c.into(),
            splits,
            batch_a: u32::try_from(strides.a)?,
            batch_b: u32::try_from(strides.b)?,
            share_b: batch.share_b,
            c_len: u32::try_from(c_len)?,
        };
        let ubuf = gpu.buffer_init(
            "gemm params",
            bytemuck::bytes_of(&params),
            wgpu::BufferUsages::UNIFORM,
        )?;
        let workspace = if splits > 1 {
            Some(gpu.buffer(
                "split-k workspace",
                u64::from(splits) * c_len * 4,
                wgpu::BufferUsages::STORAGE,
            )?)
        } else {
            None
        };
        let target = workspace.as_ref().unwrap_or(c);
        let entries = [
            a,
            b,
            target,
            &ubuf,
            pick(aligned_a, a, &self.dummy_ro),
            pick(aligned_b, b, &self.dummy_ro),
            pick(aligned_c, target, &self.dummy_rw),
        ];
        let group = gpu.bind_buffers("gemm", &self.main_layout, &entries);
        let dispatch = (n.div_ceil(cfg.bn), m.div_ceil(cfg.bm), splits * batch.count);
        let mut steps = vec![Dispatch {
            pipeline: self.main.clone(),
            group,
            size: dispatch,
        }];
        let mut buffers = vec![ubuf];
        if let Some(ws) = workspace {
            let (pipeline, layout) = self.reduce(gpu)?;
            let len = u32::try_from(c_len)?;
            let groups = len.div_ceil(4).div_ceil(REDUCE_WG);
            let x = groups.min(limits.max_compute_workgroups_per_dimension);
            let y = groups.div_ceil(x);
            let aligned = len % 4 == 0;
            let rp = ReduceParams {
                len,
                splits,
                row: x * REDUCE_WG,
                aligned: aligned.into(),
            };
            let rbuf = gpu.buffer_init(
                "split-k params",
                bytemuck::bytes_of(&rp),
                wgpu::BufferUsages::UNIFORM,
            )?;
            let entries = [
                &ws,
                c,
                &rbuf,
                pick(aligned, &ws, &self.dummy_ro),
                pick(aligned, c, &self.dummy_rw),
            ];
            steps.push(Dispatch {
                pipeline,
                group: gpu.bind_buffers("gemm split-k reduce", &layout, &entries),
                size: (x, y, 1),
            });
            buffers.push(rbuf);
            buffers.push(ws);
        }
        Ok(GemmBinding {
            steps,
            buffers,
            dispatch,
            config: Some(cfg),
            splits,
        })
    }
}

/// `buf` when the vec4 binding may be read, else the placeholder.
fn pick<'a>(yes: bool, buf: &'a wgpu::Buffer, dummy: &'a wgpu::Buffer) -> &'a wgpu::Buffer {
    if yes { buf } else { dummy }
}

impl Compiled for BlockPipeline {
    fn bind(
        &self,
        gpu: &Gpu,
        config: &KernelConfig,
        shape: Shape,
        batch: Batch,
        strides: Strides,
        buffers: [&wgpu::Buffer; 3],
    ) -> Result<GemmBinding> {
        let KernelConfig::Block(cfg) = config else {
            bail!("internal error: a register-blocked kernel bound without a block configuration");
        };
        self.bind_config(gpu, *cfg, shape, batch, strides, buffers)
    }
}

/// The split-K reduction's shader.
pub fn reduce_shader() -> ShaderSource {
    ShaderSource::main(
        "split-k reduce".into(),
        REDUCE_WGSL.into(),
        vec![("WG", f64::from(REDUCE_WG))],
    )
}

/// Compiles a register-blocked kernel for `layout`.
pub fn build(
    gpu: &Gpu,
    label: &str,
    base: BlockConfig,
    layout: Layout,
    source: &str,
    constants: &[(&str, f64)],
) -> Result<Arc<dyn Compiled>> {
    Ok(Arc::new(BlockPipeline::new(
        gpu, label, base, layout, source, constants,
    )?))
}

/// The checks every register-blocked configuration shares: split-K within 1..=64, the
/// workgroup (`x`×`y` invocations) within the adapter's limits, at most `max_loads` vec4
/// loads per invocation per operand per slice (the shader's staging registers), and
/// `bytes` of workgroup memory within the adapter's.
pub fn check_common(
    c: BlockConfig,
    limits: &wgpu::Limits,
    (x, y): (u32, u32),
    (la, lb): (u32, u32),
    max_loads: u32,
    bytes: u64,
) -> Result<(), String> {
    if c.split_k == 0 || c.split_k > 64 {
        return Err(format!("split-K must be 1..=64 (got {})", c.split_k));
    }
    if x * y > limits.max_compute_invocations_per_workgroup
        || x > limits.max_compute_workgroup_size_x
        || y > limits.max_compute_workgroup_size_y
    {
        return Err(format!(
            "workgroup {x}×{y} exceeds the adapter's limits ({} invocations, {}×{})",
            limits.max_compute_invocations_per_workgroup,
            limits.max_compute_workgroup_size_x,
            limits.max_compute_workgroup_size_y
        ));
    }
    if la > max_loads || lb > max_loads {
        return Err(format!(
            "{la} and {lb} vec4 loads per invocation per slice; the shader stages at most \
             {max_loads}"
        ));
    }
    if bytes > u64::from(limits.max_compute_workgroup_storage_size) {
        return Err(format!(
            "{bytes} bytes of workgroup memory exceed max_compute_workgroup_storage_size ({})",
            limits.max_compute_workgroup_storage_size
        ));
    }
    Ok(())
}

/// The block configuration of a kernel configuration, for the register-blocked families.
pub fn block_of(config: &KernelConfig) -> Option<BlockConfig> {
    match config {
        KernelConfig::Block(c) => Some(*c),
        _ => None,
    }
}
