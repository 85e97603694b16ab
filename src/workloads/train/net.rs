//! (Over 600 lines: one network's buffers and its step, which read best in one place.)
//!
//! An MLP on the GPU: its buffers and one training step recorded as a list of
//! dispatches (forward GEMM + bias + GELU per layer, MSE loss, backward with the TN and
//! NT products and the activation and bias gradients, optimizer update, step counter).
//!
//! Layer l maps `dims[l]` to `dims[l + 1]`; weights are stored d_in × d_out, row-major,
//! so the forward product is NN, the input gradient NT (the weights read transposed in
//! place) and the weight gradient TN (the layer's input read transposed in place): the
//! three layouts of a training triplet, with no transposes copied.
//!
//! In f16 ([`Kernels::precision`](super::ops::Kernels)) every GEMM reads f16 operands
//! and writes f32: the weights have f16 copies made from the f32 master weights after
//! each update, the activations between layers and the gradients dZ are stored in f16,
//! and dZ carries a static loss scale (a power of two, [`loss_scale`]) so that small
//! gradients do not flush to zero in f16; the optimizer divides it out.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use anyhow::{Context, Result};

use super::ops::{
    self, Action, Count, Dims, Kernels, LOSS_WORKGROUPS, LossParams, OptParams, ROWS_PER_BLOCK,
    State,
};
use super::optimizer::{OptimizerConfig, OptimizerKind};
use crate::gpu::Gpu;
use crate::kernels::{GemmPipeline, KernelSpec, Variant};
use crate::types::{Layout, Precision, Shape};
use crate::verify::{f16_bits, random_matrix};

const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// The three GEMM pipelines of one kernel.
pub struct Gemms {
    nn: Rc<GemmPipeline>,
    nt: Rc<GemmPipeline>,
    tn: Rc<GemmPipeline>,
}

impl Gemms {
    pub fn new(gpu: &Gpu, spec: &KernelSpec) -> Result<Gemms> {
        Gemms::new_with(gpu, spec, Variant::F32)
    }

    /// The three pipelines for operands in `variant.precision` on its path.
    pub fn new_with(gpu: &Gpu, spec: &KernelSpec, variant: Variant) -> Result<Gemms> {
        Ok(Gemms {
            nn: Rc::new(GemmPipeline::new_with(gpu, spec, Layout::Nn, variant)?),
            nt: Rc::new(GemmPipeline::new_with(gpu, spec, Layout::Nt, variant)?),
            tn: Rc::new(GemmPipeline::new_with(gpu, spec, Layout::Tn, variant)?),
        })
    }
}

/// The static loss scale of a network with `outputs` output values per step (batch ×
/// output width): 1 in f32; in f16 the power of two nearest below n / 2, which makes the
/// scaled loss gradient 2·S·(y − t)/n about as large as the error y − t itself, well
/// inside f16's range (6e-5 to 65504) for errors from 1e-4 to 1e4.
pub fn loss_scale(precision: Precision, outputs: u64) -> f64 {
    match precision {
        Precision::F32 => 1.0,
        Precision::F16 => 2f64.powi((outputs as f64 / 2.0).log2().floor().max(0.0) as i32),
    }
}

/// Bytes of a buffer of `elems` GEMM operands in `precision`, rounded up to whole
/// vec4s (8 bytes in f16), as bindings of the vec4 loads need.
pub fn operand_bytes(precision: Precision, elems: u64) -> u64 {
    (elems * precision.bytes()).div_ceil(8).max(1) * 8
}

/// Uploads host values as GEMM operands: f32 as they are, f16 rounded to nearest.
pub fn upload_operand(
    gpu: &Gpu,
    label: &str,
    precision: Precision,
    values: &[f32],
    usage: wgpu::BufferUsages,
) -> Result<wgpu::Buffer> {
    match precision {
        Precision::F32 => gpu.buffer_init(label, bytemuck::cast_slice(values), usage),
        Precision::F16 => gpu.buffer_init(label, bytemuck::cast_slice(&f16_bits(values)), usage),
    }
}

/// What building a network needs: the device, the training kernels and the GEMMs.
#[derive(Clone, Copy)]
pub struct Device<'a> {
    pub gpu: &'a Gpu,
    pub ops: &'a Kernels,
    pub gemms: &'a Gemms,
}

/// The data batches: `xs[p]` inputs (batch × dims[0]) and `ts[p]` targets
/// (batch × dims[last]).
pub struct Data {
    pub xs: Vec<wgpu::Buffer>,
    pub ts: Vec<wgpu::Buffer>,
}

/// Weights and biases of every layer, as host values (f32, uploaded as they are).
#[derive(Clone, Debug)]
pub struct HostParams {
    pub w: Vec<Vec<f32>>,
    pub b: Vec<Vec<f32>>,
}

/// One buffer per layer for weights-shaped and biases-shaped tensors.
struct Tensors {
    w: Vec<wgpu::Buffer>,
    b: Vec<wgpu::Buffer>,
    /// f16 copies of `w` that the GEMMs read, in f16 only.
    w16: Vec<wgpu::Buffer>,
}

impl Tensors {
    fn upload(gpu: &Gpu, label: &str, p: &HostParams, precision: Precision) -> Result<Tensors> {
        let up = |v: &Vec<f32>| gpu.buffer_init(label, bytemuck::cast_slice(v), STORAGE);
        let w16 = match precision {
            Precision::F32 => Vec::new(),
            Precision::F16 => {
                p.w.iter()
                    .map(|v| upload_operand(gpu, label, precision, v, STORAGE))
                    .collect::<Result<_>>()?
            }
        };
        Ok(Tensors {
            w: p.w.iter().map(up).collect::<Result<_>>()?,
            b: p.b.iter().map(up).collect::<Result<_>>()?,
            w16,
        })
    }

    /// The weights the GEMMs read: the f16 copies in f16, else the weights themselves.
    fn gemm_w(&self) -> &[wgpu::Buffer] {
        if self.w16.is_empty() {
            &self.w
        } else {
            &self.w16
        }
    }

    /// Zero-filled tensors (wgpu zero-initialises new buffers).
    fn zeros(gpu: &Gpu, label: &str, dims: &[u32]) -> Result<Tensors> {
        let mut w = Vec::new();
        let mut b = Vec::new();
        for l in 0..dims.len() - 1 {
            let (din, dout) = (u64::from(dims[l]), u64::from(dims[l + 1]));
            w.push(gpu.buffer(label, 4 * din * dout, STORAGE)?);
            b.push(gpu.buffer(label, 4 * dout, STORAGE)?);
        }
        Ok(Tensors {
            w,
            b,
            w16: Vec::new(),
        })
    }
}

/// Pre-activations Z of every layer and the activations between layers (`act[l]` is the
/// input of layer l + 1).
struct Activations {
    z: Vec<wgpu::Buffer>,
    act: Vec<wgpu::Buffer>,
}

impl Activations {
    fn new(gpu: &Gpu, dims: &[u32], batch: u32, precision: Precision) -> Result<Activations> {
        let layers = dims.len() - 1;
        let elems = |d: u32| u64::from(batch) * u64::from(d);
        Ok(Activations {
            z: (0..layers)
                .map(|l| gpu.buffer("Z", 4 * elems(dims[l + 1]), STORAGE))
                .collect::<Result<_>>()?,
            act: (0..layers - 1)
                .map(|l| {
                    let bytes = operand_bytes(precision, elems(dims[l + 1]));
                    gpu.buffer("activation", bytes, STORAGE)
                })
                .collect::<Result<_>>()?,
        })
    }
}

/// Builds the forward dispatches: per layer the NN product and bias (+ GELU between
/// layers). Layer 0 reads the batch `xs[p]`.
fn forward(
    dev: Device<'_>,
    dims: &[u32],
    batch: u32,
    params: &Tensors,
    acts: &Activations,
    xs: &[wgpu::Buffer],
    uniforms: &mut Vec<wgpu::Buffer>,
) -> Result<Vec<Action>> {
    let Device {
        gpu,
        ops: k,
        gemms: g,
    } = dev;
    let layers = dims.len() - 1;
    let mut out = Vec::new();
    for l in 0..layers {
        let (din, dout) = (dims[l], dims[l + 1]);
        let inputs: Vec<&wgpu::Buffer> = if l == 0 {
            xs.iter().collect()
        } else {
            vec![&acts.act[l - 1]]
        };
        let shape = Shape::new(batch, dout, din);
        out.push(Action::Gemm {
            pipeline: g.nn.clone(),
            bindings: inputs
                .iter()
                .map(|x| g.nn.bind(gpu, shape, x, &params.gemm_w()[l], &acts.z[l]))
                .collect::<Result<_>>()?,
        });
        let u = uniform(gpu, &dims_of(batch, dout), uniforms)?;
        let n = u64::from(batch) * u64::from(dout);
        out.push(if l + 1 < layers {
            Action::op(
                gpu,
                &k.bias_gelu,
                &[vec![
                    (0, &acts.z[l]),
                    (1, &params.b[l]),
                    (2, &acts.act[l]),
                    (3, &u),
                ]],
                (ops::grid(n), 1, 1),
            )
        } else {
            Action::op(
                gpu,
                &k.bias_only,
                &[vec![(0, &acts.z[l]), (1, &params.b[l]), (3, &u)]],
                (ops::grid(n), 1, 1),
            )
        });
    }
    Ok(out)
}

fn dims_of(rows: u32, cols: u32) -> Dims {
    Dims {
        rows,
        cols,
        blocks: rows.div_ceil(ROWS_PER_BLOCK),
        _pad: 0,
    }
}

fn uniform<T: bytemuck::Pod>(
    gpu: &Gpu,
    value: &T,
    keep: &mut Vec<wgpu::Buffer>,
) -> Result<wgpu::Buffer> {
    let b = gpu.buffer_init(
        "train params",
        bytemuck::bytes_of(value),
        wgpu::BufferUsages::UNIFORM,
    )?;
    keep.push(b.clone());
    Ok(b)
}

/// Computes the targets of each batch with a teacher network of the same shape (once,
/// before training; not timed).
pub fn teacher_targets(
    dev: Device<'_>,
    dims: &[u32],
    batch: u32,
    teacher: &HostParams,
    xs: &[wgpu::Buffer],
    timeout: Duration,
) -> Result<Vec<wgpu::Buffer>> {
    let gpu = dev.gpu;
    let precision = dev.ops.precision;
    let params = Tensors::upload(gpu, "teacher weights", teacher, precision)?;
    let acts = Activations::new(gpu, dims, batch, precision)?;
    let mut uniforms = Vec::new();
    let actions = forward(dev, dims, batch, &params, &acts, xs, &mut uniforms)?;
    let out_bytes = 4 * u64::from(batch) * u64::from(dims[dims.len() - 1]);
    let last = &acts.z[dims.len() - 2];
    let mut targets = Vec::new();
    let mut enc = gpu.device.create_command_encoder(&Default::default());
    for p in 0..xs.len() {
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            for a in &actions {
                a.encode(&mut pass, p);
            }
        }
        let t = gpu.buffer("targets", out_bytes, STORAGE)?;
        enc.copy_buffer_to_buffer(last, 0, &t, 0, out_bytes);
        targets.push(t);
    }
    let idx = gpu.queue.submit([enc.finish()]);
    gpu.wait(idx, timeout)
        .context("computing the targets with the teacher network")?;
    Ok(targets)
}

/// A network ready to train: parameters, optimizer state, data, and one step's
/// dispatches.
pub struct Net {
    pub dims: Vec<u32>,
    pub batch: u32,
    params: Tensors,
    grads: Tensors,
    state: wgpu::Buffer,
    losses: wgpu::Buffer,
    actions: Vec<Action>,
    batches: usize,
    next_batch: Cell<usize>,
    /// The loss scale the gradients carry ([`loss_scale`]; 1 in f32).
    pub loss_scale: f64,
    // Kept alive for the bind groups above.
    _keep: Vec<wgpu::Buffer>,
    _moments: (Tensors, Tensors),
}

impl Net {
    /// Uploads the parameters and builds the step; `loss_slots` bounds the steps whose
    /// loss is kept.
    pub fn new(
        dev: Device<'_>,
        dims: &[u32],
        batch: u32,
        init: &HostParams,
        optimizer: &OptimizerConfig,
        data: Data,
        loss_slots: u64,
    ) -> Result<Net> {
        let Device {
            gpu,
            ops: k,
            gemms: g,
        } = dev;
        let Data { xs, ts } = data;
        let precision = k.precision;
        let layers = dims.len() - 1;
        let widest = u64::from(*dims.iter().max().unwrap_or(&1));
        let rows = u64::from(batch);
        let params = Tensors::upload(gpu, "weights", init, precision)?;
        let grads = Tensors::zeros(gpu, "gradients", dims)?;
        let m = Tensors::zeros(gpu, "first moments", dims)?;
        let v = Tensors::zeros(gpu, "second moments", dims)?;
        let acts = Activations::new(gpu, dims, batch, precision)?;
        let dz = gpu.buffer("dZ", operand_bytes(precision, rows * widest), STORAGE)?;
        let da = gpu.buffer("dA", 4 * rows * widest, STORAGE)?;
        let blocks = batch.div_ceil(ROWS_PER_BLOCK);
        let bias_partial =
            gpu.buffer("bias partial sums", 4 * u64::from(blocks) * widest, STORAGE)?;
        let loss_partial =
            gpu.buffer("loss partial sums", 4 * u64::from(LOSS_WORKGROUPS), STORAGE)?;
        let state = gpu.buffer_init(
            "step state",
            bytemuck::bytes_of(&State {
                step: 0,
                bias_correction1: 0.0,
                bias_correction2: 0.0,
                _pad: 0,
            }),
            STORAGE,
        )?;
        let losses = gpu.buffer("losses", 4 * loss_slots.max(1), STORAGE)?;
        let mut keep = Vec::new();

        let mut actions = forward(dev, dims, batch, &params, &acts, &xs, &mut keep)?;

        // Loss and its gradient, dY, into dz.
        let dout = dims[layers];
        let n = rows * u64::from(dout);
        let scale = loss_scale(precision, n);
        let loss_wg = ops::grid(n).min(LOSS_WORKGROUPS);
        let lu = uniform(
            gpu,
            &LossParams {
                n: n as u32,
                workgroups: loss_wg,
                grad_scale: (2.0 * scale / n as f64) as f32,
                inv_n: (1.0 / n as f64) as f32,
            },
            &mut keep,
        )?;
        let y = &acts.z[layers - 1];
        let per_batch: Vec<Vec<(u32, &wgpu::Buffer)>> = ts
            .iter()
            .map(|t| vec![(0, y), (1, t), (2, &dz), (3, &loss_partial), (4, &lu)])
            .collect();
        actions.push(Action::op(gpu, &k.mse, &per_batch, (loss_wg, 1, 1)));
        actions.push(Action::op(
            gpu,
            &k.loss_finish,
            &[vec![
                (3, &loss_partial),
                (4, &lu),
                (5, &state),
                (6, &losses),
            ]],
            (1, 1, 1),
        ));

        // Backward, last layer first; dz holds dZ of the current layer.
        for l in (0..layers).rev() {
            let (din, dout) = (dims[l], dims[l + 1]);
            let inputs: Vec<&wgpu::Buffer> = if l == 0 {
                xs.iter().collect()
            } else {
                vec![&acts.act[l - 1]]
            };
            let shape = Shape::new(din, dout, batch);
            actions.push(Action::Gemm {
                pipeline: g.tn.clone(),
                bindings: inputs
                    .iter()
                    .map(|x| g.tn.bind(gpu, shape, x, &dz, &grads.w[l]))
                    .collect::<Result<_>>()?,
            });
            let du = uniform(gpu, &dims_of(batch, dout), &mut keep)?;
            actions.push(Action::op(
                gpu,
                &k.bias_grad_partial,
                &[vec![(2, &dz), (3, &du), (4, &bias_partial)]],
                (dout.div_ceil(64), blocks, 1),
            ));
            actions.push(Action::op(
                gpu,
                &k.bias_grad_finish,
                &[vec![(3, &du), (4, &bias_partial), (5, &grads.b[l])]],
                (dout.div_ceil(ops::WORKGROUP), 1, 1),
            ));
            if l > 0 {
                // The first layer's input gradient is not needed and not computed.
                let shape = Shape::new(batch, din, dout);
                actions.push(Action::Gemm {
                    pipeline: g.nt.clone(),
                    bindings: vec![g.nt.bind(gpu, shape, &dz, &params.gemm_w()[l], &da)?],
                });
                let au = uniform(gpu, &dims_of(batch, din), &mut keep)?;
                actions.push(Action::op(
                    gpu,
                    &k.gelu_backward,
                    &[vec![(0, &da), (1, &acts.z[l - 1]), (2, &dz), (3, &au)]],
                    (ops::grid(rows * u64::from(din)), 1, 1),
                ));
            }
        }

        // Optimizer: every weight and bias tensor (biases without weight decay).
        let opt_params = |n: u64, decay: bool| OptParams {
            n: n as u32,
            grad_unscale: (1.0 / scale) as f32,
            lr: optimizer.learning_rate as f32,
            weight_decay: if decay {
                optimizer.weight_decay as f32
            } else {
                0.0
            },
            beta1: optimizer.beta1 as f32,
            beta2: optimizer.beta2 as f32,
            one_minus_beta1: (1.0 - optimizer.beta1) as f32,
            one_minus_beta2: (1.0 - optimizer.beta2) as f32,
            eps: optimizer.epsilon as f32,
            _pad1: [0.0; 3],
        };
        for l in 0..layers {
            let (din, dout) = (u64::from(dims[l]), u64::from(dims[l + 1]));
            for (w, gr, mm, vv, n, decay) in [
                (
                    &params.w[l],
                    &grads.w[l],
                    &m.w[l],
                    &v.w[l],
                    din * dout,
                    true,
                ),
                (&params.b[l], &grads.b[l], &m.b[l], &v.b[l], dout, false),
            ] {
                let ou = uniform(gpu, &opt_params(n, decay), &mut keep)?;
                actions.push(match optimizer.kind {
                    OptimizerKind::AdamW => Action::op(
                        gpu,
                        &k.adamw,
                        &[vec![
                            (0, w),
                            (1, gr),
                            (2, mm),
                            (3, vv),
                            (4, &state),
                            (5, &ou),
                        ]],
                        (ops::grid(n), 1, 1),
                    ),
                    OptimizerKind::Sgd => Action::op(
                        gpu,
                        &k.sgd,
                        &[vec![(0, w), (1, gr), (2, mm), (5, &ou)]],
                        (ops::grid(n), 1, 1),
                    ),
                });
            }
            // The f16 copy the next step's GEMMs read.
            if let (Some(cast), Some(w16)) = (&k.cast, params.w16.get(l)) {
                let n = din * dout;
                let cu = uniform(
                    gpu,
                    &Count {
                        n: n as u32,
                        _pad: [0; 3],
                    },
                    &mut keep,
                )?;
                actions.push(Action::op(
                    gpu,
                    cast,
                    &[vec![(0, &params.w[l]), (1, w16), (2, &cu)]],
                    (ops::grid(n), 1, 1),
                ));
            }
        }
        let su = uniform(gpu, &opt_params(0, false), &mut keep)?;
        actions.push(Action::op(
            gpu,
            &k.advance,
            &[vec![(4, &state), (5, &su)]],
            (1, 1, 1),
        ));

        keep.extend([dz, da, bias_partial, loss_partial]);
        keep.extend(acts.z);
        keep.extend(acts.act);
        let batches = xs.len();
        keep.extend(xs);
        keep.extend(ts);
        Ok(Net {
            dims: dims.to_vec(),
            batch,
            params,
            grads,
            state,
            losses,
            actions,
            batches,
            next_batch: Cell::new(0),
            loss_scale: scale,
            _keep: keep,
            _moments: (m, v),
        })
    }

    /// Records one whole training step on the next data batch into `pass`.
    pub fn encode_step(&self, pass: &mut wgpu::ComputePass<'_>) {
        let p = self.next_batch.get();
        self.next_batch.set((p + 1) % self.batches);
        for a in &self.actions {
            a.encode(pass, p);
        }
    }

    /// How many dispatches one step records.
    pub fn dispatches(&self) -> usize {
        self.actions.len()
    }

    /// The losses of steps `first..first + count` (0-based).
    pub fn read_losses(
        &self,
        gpu: &Gpu,
        first: u64,
        count: u64,
        timeout: Duration,
    ) -> Result<Vec<f32>> {
        read_range(gpu, &self.losses, 4 * first, 4 * count, timeout)
    }

    /// The current weights and biases.
    pub fn read_params(&self, gpu: &Gpu, timeout: Duration) -> Result<HostParams> {
        read_tensors(gpu, &self.params, timeout)
    }

    /// The gradients of the last step.
    pub fn read_grads(&self, gpu: &Gpu, timeout: Duration) -> Result<HostParams> {
        read_tensors(gpu, &self.grads, timeout)
    }

    /// Steps run so far, as the GPU counts them.
    pub fn read_step(&self, gpu: &Gpu, timeout: Duration) -> Result<u32> {
        let raw = read_range(gpu, &self.state, 0, 4, timeout)?;
        Ok(raw[0].to_bits())
    }
}

fn read_tensors(gpu: &Gpu, t: &Tensors, timeout: Duration) -> Result<HostParams> {
    let read = |b: &wgpu::Buffer| -> Result<Vec<f32>> {
        Ok(bytemuck::cast_slice(&gpu.read_buffer(b, timeout)?).to_vec())
    };
    Ok(HostParams {
        w: t.w.iter().map(read).collect::<Result<_>>()?,
        b: t.b.iter().map(read).collect::<Result<_>>()?,
    })
}

/// Reads `bytes` bytes of `src` from `offset` (both multiples of 4).
fn read_range(
    gpu: &Gpu,
    src: &wgpu::Buffer,
    offset: u64,
    bytes: u64,
    timeout: Duration,
) -> Result<Vec<f32>> {
    if bytes == 0 {
        return Ok(Vec::new());
    }
    let staging = gpu.buffer(
        "loss readback",
        bytes,
        wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
    )?;
    let mut enc = gpu.device.create_command_encoder(&Default::default());
    enc.copy_buffer_to_buffer(src, offset, &staging, 0, bytes);
    let idx = gpu.queue.submit([enc.finish()]);
    let raw = gpu.map_and_read(&staging, idx, timeout)?;
    Ok(bytemuck::cast_slice(&raw).to_vec())
}

/// Uniform weights in ±gain·√(3/d_in) (variance gain²/d_in) and zero biases.
pub fn random_params(dims: &[u32], seed: u64, gain: f64) -> HostParams {
    let mut w = Vec::new();
    let mut b = Vec::new();
    for (l, d) in dims.windows(2).enumerate() {
        let scale = (gain * (3.0 / f64::from(d[0])).sqrt()) as f32;
        let len = d[0] as usize * d[1] as usize;
        w.push(
            random_matrix(len, seed, 0x7EAC_0000 + l as u64)
                .iter()
                .map(|v| v * scale)
                .collect(),
        );
        b.push(vec![0.0; d[1] as usize]);
    }
    HostParams { w, b }
}
