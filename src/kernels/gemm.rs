//! Compiling a GEMM kernel for one layout and binding one problem's buffers to it.
//!
//! A [`GemmBinding`] is everything one GEMM needs: its bind groups, its own parameter
//! buffer and, for split-K, a workspace of partial sums and a second dispatch that adds
//! them up. [`GemmPipeline::encode`] records all of its dispatches into one compute pass;
//! wgpu orders dispatches within a pass (it inserts the barrier between the split-K
//! product and its reduction).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::{Result, bail};

use super::block::BlockConfig;
use super::precision::{Variant, shader_source};
use super::{Family, KernelSpec, coop, tune};
use crate::gpu::Gpu;
use crate::types::{Layout, Precision, Shape};

const NAIVE_WGSL: &str = include_str!("../../shaders/gemm_naive.wgsl");
const TILED_WGSL: &str = include_str!("../../shaders/gemm_tiled.wgsl");
// The block, subgroup and cooperative-matrix kernels share their operands' declarations
// and global loads; the block and subgroup kernels also share B's staging.
const BLOCK_WGSL: &str = concat!(
    include_str!("../../shaders/gemm_block.wgsl"),
    include_str!("../../shaders/gemm_block_common.wgsl"),
    include_str!("../../shaders/gemm_operands.wgsl")
);
const SUBGROUP_WGSL: &str = concat!(
    include_str!("../../shaders/gemm_subgroup.wgsl"),
    include_str!("../../shaders/gemm_block_common.wgsl"),
    include_str!("../../shaders/gemm_operands.wgsl")
);
/// The cooperative-matrix kernel, written with f32 operand aliases like the others; it
/// runs only as its f16 variant.
pub(crate) const COOPMAT_WGSL: &str = concat!(
    include_str!("../../shaders/gemm_coopmat.wgsl"),
    include_str!("../../shaders/gemm_operands.wgsl")
);
const REDUCE_WGSL: &str = include_str!("../../shaders/gemm_splitk_reduce.wgsl");

/// Invocations per workgroup of the split-K reduction.
const REDUCE_WG: u32 = 256;

/// The uniform block of the naive and tiled shaders (`struct Params`).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Params {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub _pad: u32,
}

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
    _pad: u32,
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

/// One kernel compiled for one layout.
pub struct GemmPipeline {
    pub spec: KernelSpec,
    pub layout: Layout,
    /// Operand precision and path.
    pub variant: Variant,
    kind: Kind,
}

enum Kind {
    /// The naive and tiled shaders: one dispatch, four bindings.
    Simple {
        pipeline: wgpu::ComputePipeline,
        bind_layout: wgpu::BindGroupLayout,
    },
    /// One configuration of the block family (`pipe` is compiled for its base
    /// configuration; split-K factors share it).
    Block {
        pipe: Arc<BlockPipeline>,
        config: BlockConfig,
    },
    /// The tuned kernel: the configuration is chosen per shape at bind time, from the
    /// adapter's tuning cache or the heuristic default, and compiled on first use.
    Auto {
        table: tune::Table,
        compiled: Mutex<HashMap<BlockConfig, Arc<BlockPipeline>>>,
    },
    // (The precision and path of `Auto` are the pipeline's `variant`.)
}

/// One dispatch of a binding.
struct Dispatch {
    pipeline: wgpu::ComputePipeline,
    group: wgpu::BindGroup,
    size: (u32, u32, u32),
}

/// One problem's buffers bound to a pipeline.
pub struct GemmBinding {
    steps: Vec<Dispatch>,
    /// Parameter blocks and the split-K workspace, kept alive with the bind groups.
    _buffers: Vec<wgpu::Buffer>,
    /// Workgroups of the main dispatch.
    pub dispatch: (u32, u32, u32),
    config: Option<BlockConfig>,
    splits: u32,
}

impl GemmBinding {
    /// The block configuration that runs, for the block and tuned kernels.
    pub fn config(&self) -> Option<BlockConfig> {
        self.config
    }

    /// K splits actually used (1: no split-K).
    pub fn splits(&self) -> u32 {
        self.splits
    }
}

fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
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

fn uniform_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
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

/// The bind group layout of the naive and tiled shaders: A, B read-only; C read-write;
/// params.
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

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// Compiles one GEMM shader with its override constants.
fn compile(
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
    // sizes (the Rust side enforces each shader's contract in `TileConfig::check` and
    // `BlockConfig::check`), and all loops are bounded by uniform sizes.
    unsafe { gpu.compile_unchecked(label, source, constants, Some(bind_layout)) }
}

/// One block configuration compiled for one layout, with what binding it needs. The
/// main shader does not depend on the split-K factor, so one compiled pipeline serves
/// every split of a base configuration.
pub(crate) struct BlockPipeline {
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
    fn new(gpu: &Gpu, name: &str, config: BlockConfig, layout: Layout) -> Result<BlockPipeline> {
        if let Err(why) = config.check(&gpu.limits()) {
            bail!("kernel '{name}' ({config}) does not fit this adapter: {why}");
        }
        if let Err(why) = config.check_adapter(gpu.features(), &gpu.info) {
            bail!("kernel '{name}' ({config}) cannot run on this adapter: {why}");
        }
        if config.coopmat
            && let Err(why) = coop::check_support(config, gpu)
        {
            bail!("kernel '{name}' ({config}) cannot run on this adapter: {why}");
        }
        let (wx, wy) = config.workgroup();
        let (la, lb) = config.loads();
        let mut constants: Vec<(&str, f64)> = vec![
            ("TRANS_A", flag(layout.trans_a())),
            ("TRANS_B", flag(layout.trans_b())),
            ("WG_X", f64::from(wx)),
            ("WG_Y", f64::from(wy)),
            ("BM", f64::from(config.bm)),
            ("BN", f64::from(config.bn)),
            ("BK", f64::from(config.bk)),
            ("TM", f64::from(config.tm)),
            ("TN", f64::from(config.tn)),
            ("LOADS_A", f64::from(la)),
            ("LOADS_B", f64::from(lb)),
        ];
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
        let source = if config.coopmat {
            constants = coop::constants(config, layout.trans_a(), layout.trans_b());
            std::borrow::Cow::Owned(coop::source(config.frag)?)
        } else if config.subgroup {
            shader_source(SUBGROUP_WGSL, config.precision)?
        } else {
            shader_source(BLOCK_WGSL, config.precision)?
        };
        let base = config.with_split(1);
        let label = format!("{name}-{base}-{layout}");
        let main = compile(gpu, &label, &source, &constants, &main_layout)?;
        let storage = wgpu::BufferUsages::STORAGE;
        Ok(BlockPipeline {
            base,
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
        let p = compile(
            gpu,
            "split-k reduce",
            REDUCE_WGSL,
            &[("WG", f64::from(REDUCE_WG))],
            &l,
        )?;
        *slot = Some((p.clone(), l.clone()));
        Ok((p, l))
    }

    fn bind(
        &self,
        gpu: &Gpu,
        cfg: BlockConfig,
        shape: Shape,
        a: &wgpu::Buffer,
        b: &wgpu::Buffer,
        c: &wgpu::Buffer,
    ) -> Result<GemmBinding> {
        debug_assert_eq!(cfg.with_split(1), self.base);
        let limits = gpu.limits();
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let (splits, k_split) = cfg.splits_for(shape, max_binding);
        let Shape { m, n, k } = shape;
        let aligned_a = if self.layout.trans_a() {
            m % 4 == 0
        } else {
            k % 4 == 0
        };
        let aligned_b = if self.layout.trans_b() {
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
            _pad: 0,
        };
        let ubuf = gpu.buffer_init(
            "gemm params",
            bytemuck::bytes_of(&params),
            wgpu::BufferUsages::UNIFORM,
        )?;
        let workspace = if splits > 1 {
            Some(gpu.buffer(
                "split-k workspace",
                u64::from(splits) * shape.c_len() * 4,
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
        let dispatch = (n.div_ceil(cfg.bn), m.div_ceil(cfg.bm), splits);
        let mut steps = vec![Dispatch {
            pipeline: self.main.clone(),
            group,
            size: dispatch,
        }];
        let mut buffers = vec![ubuf];
        if let Some(ws) = workspace {
            let (pipeline, layout) = self.reduce(gpu)?;
            let len = u32::try_from(shape.c_len())?;
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
            _buffers: buffers,
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

impl GemmPipeline {
    /// Compiles `spec` for `layout`. Shaders are created without runtime bounds checks:
    /// every kernel guards its own global indices, and the odd-shape tests cover them.
    ///
    /// For the tuned kernel ([`Family::Tuned`]) this reads the adapter's tuning cache; the
    /// configuration for each shape is chosen (and compiled) when a problem is bound.
    pub fn new(gpu: &Gpu, spec: &KernelSpec, layout: Layout) -> Result<GemmPipeline> {
        GemmPipeline::new_with(gpu, spec, layout, Variant::F32)
    }

    /// [`GemmPipeline::new`] for operands in `variant.precision`, on cooperative matrices
    /// when `variant.coopmat` (the tuned kernel, or a cooperative-matrix configuration of
    /// the block family, only).
    pub fn new_with(
        gpu: &Gpu,
        spec: &KernelSpec,
        layout: Layout,
        variant: Variant,
    ) -> Result<GemmPipeline> {
        if let Err(why) = spec.check(&gpu.limits()) {
            bail!("kernel '{}' does not fit this adapter: {why}", spec.name);
        }
        if variant.precision == Precision::F16
            && !gpu.features().contains(wgpu::Features::SHADER_F16)
        {
            bail!(
                "kernel '{}' in f16 needs f16 in shaders (SHADER_F16), which adapter '{}' lacks",
                spec.name,
                gpu.info.name
            );
        }
        if variant.coopmat && variant.precision != Precision::F16 {
            bail!("cooperative matrices take f16 operands only");
        }
        let kind = match spec.family {
            Family::Naive { .. } | Family::Tiled(_) if variant.coopmat => {
                bail!("kernel '{}' has no cooperative-matrix variant", spec.name)
            }
            Family::Naive { .. } | Family::Tiled(_) => {
                simple(gpu, spec, layout, variant.precision)?
            }
            Family::Block(config) => {
                if config.coopmat != variant.coopmat {
                    bail!(
                        "kernel '{}' ({config}) is not a {} kernel",
                        spec.name,
                        variant.path().as_str()
                    );
                }
                let config = config.with_precision(variant.precision);
                Kind::Block {
                    pipe: Arc::new(BlockPipeline::new(gpu, &spec.name, config, layout)?),
                    config,
                }
            }
            Family::Tuned => {
                if variant.coopmat
                    && let Err(why) = coop::support(gpu)
                {
                    bail!("kernel '{}' on cooperative matrices: {why}", spec.name);
                }
                Kind::Auto {
                    table: tune::Table::load_quiet(gpu),
                    compiled: Mutex::new(HashMap::new()),
                }
            }
        };
        Ok(GemmPipeline {
            spec: spec.clone(),
            layout,
            variant,
            kind,
        })
    }

    /// Binds one problem's buffers. `a`, `b` and `c` hold op(A), op(B) and C in the
    /// storage order of the layout; `c` must hold M·N floats. May allocate internal
    /// buffers (parameters, a split-K workspace).
    pub fn bind(
        &self,
        gpu: &Gpu,
        shape: Shape,
        a: &wgpu::Buffer,
        b: &wgpu::Buffer,
        c: &wgpu::Buffer,
    ) -> Result<GemmBinding> {
        match &self.kind {
            Kind::Simple {
                pipeline,
                bind_layout,
            } => {
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
                let group = gpu.bind_buffers("gemm", bind_layout, &[a, b, c, &ubuf]);
                let dispatch = self.spec.dispatch(shape);
                Ok(GemmBinding {
                    steps: vec![Dispatch {
                        pipeline: pipeline.clone(),
                        group,
                        size: dispatch,
                    }],
                    _buffers: vec![ubuf],
                    dispatch,
                    config: None,
                    splits: 1,
                })
            }
            Kind::Block { pipe, config } => pipe.bind(gpu, *config, shape, a, b, c),
            Kind::Auto { table, compiled } => {
                let config = table.choose(gpu, self.layout, shape, self.variant).config;
                let base = config.with_split(1);
                let existing = compiled.lock().ok().and_then(|m| m.get(&base).cloned());
                let p = match existing {
                    Some(p) => p,
                    None => {
                        let p = Arc::new(BlockPipeline::new(
                            gpu,
                            &self.spec.name,
                            config,
                            self.layout,
                        )?);
                        if let Ok(mut m) = compiled.lock() {
                            m.insert(base, p.clone());
                        }
                        p
                    }
                };
                p.bind(gpu, config, shape, a, b, c)
            }
        }
    }

    /// The same compiled block kernel with another split-K factor (1..=64); `None` for
    /// other kernels. Compiles nothing.
    pub fn with_split(&self, split_k: u32) -> Option<GemmPipeline> {
        let Kind::Block { pipe, config } = &self.kind else {
            return None;
        };
        if !(1..=64).contains(&split_k) {
            return None;
        }
        let config = config.with_split(split_k);
        let mut spec = self.spec.clone();
        spec.family = Family::Block(config);
        Some(GemmPipeline {
            spec,
            layout: self.layout,
            variant: self.variant,
            kind: Kind::Block {
                pipe: pipe.clone(),
                config,
            },
        })
    }

    /// Records one whole GEMM (all of its dispatches) into a compute pass.
    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>, binding: &GemmBinding) {
        for d in &binding.steps {
            let (x, y, z) = d.size;
            pass.set_pipeline(&d.pipeline);
            pass.set_bind_group(0, &d.group, &[]);
            pass.dispatch_workgroups(x, y, z);
        }
    }
}

fn simple(gpu: &Gpu, spec: &KernelSpec, layout: Layout, precision: Precision) -> Result<Kind> {
    let ((wx, wy), _) = spec.geometry();
    let mut constants: Vec<(&str, f64)> = vec![
        ("TRANS_A", flag(layout.trans_a())),
        ("TRANS_B", flag(layout.trans_b())),
        ("WG_X", f64::from(wx)),
        ("WG_Y", f64::from(wy)),
    ];
    let source = match spec.family {
        Family::Naive { fault } => {
            constants.push(("FAULT", f64::from(fault.code())));
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
        Family::Block(_) | Family::Tuned => {
            bail!("kernel '{}' is not a single-dispatch kernel", spec.name)
        }
    };
    let label = format!("{}-{}-{}", spec.name, layout, precision);
    let source = shader_source(source, precision)?;
    let bind_layout = bind_group_layout(&gpu.device);
    let pipeline = compile(gpu, &label, &source, &constants, &bind_layout)?;
    Ok(Kind::Simple {
        pipeline,
        bind_layout,
    })
}
