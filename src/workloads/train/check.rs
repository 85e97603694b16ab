//! One whole training step on a small network with odd, unequal layer sizes, compared
//! with the f64 CPU implementation in [`super::reference`]: the loss, every gradient and
//! every parameter's update must agree within f32 tolerance before any training is
//! timed. In f16 the CPU implementation rounds to f16 at the same places as the GPU
//! (every GEMM operand) and uses the same loss scale, so what is left is f32 against f64
//! arithmetic and the odd value that rounds to a neighbouring f16; the tolerance is the
//! f16 GEMM tolerance.

use std::time::Duration;

use anyhow::{Context, Result};

use super::net::random_params;
use super::net::{Data, Device, Gemms, HostParams, Net, loss_scale, upload_operand};
use super::ops::Kernels;
use super::optimizer::{OptimizerConfig, OptimizerKind};
use super::reference::{Mlp, OptState};
use crate::gpu::Gpu;
use crate::kernels::{KernelSpec, Variant};
use crate::result::{DenseLayer, GradientCheck};
use crate::types::Precision;
use crate::verify::{self, random_matrix};

/// Layer sizes of the checked network: no two equal, none a multiple of a tile, so a
/// swapped dimension or a missed edge shows.
pub const CHECK_DIMS: [u32; 4] = [19, 37, 45, 23];
/// Tokens of the checked batch.
pub const CHECK_TOKENS: u32 = 29;
/// Typical size of the checked step's parameter updates: far above the f32 rounding of
/// the weights they change (about 1e-8 here), whatever rate the training itself uses.
/// AdamW moves each parameter by about its learning rate, so that is 1e-2; SGD moves it
/// by the rate times the gradient, so the rate is 1e-2 over the gradients' RMS.
pub const CHECK_UPDATE_SIZE: f64 = 1e-2;
/// The largest relative error that passes in f32: the f32 GEMM tolerance.
pub const TOLERANCE: f64 = verify::F32_TOLERANCE;

/// The largest relative error that passes in f16: the f16 GEMM tolerance.
pub const F16_TOLERANCE: f64 = verify::F16_TOLERANCE;

/// Relative Frobenius error of `got` against `want`, over all tensors together.
fn rel_error(got: &[Vec<f64>], want: &[Vec<f64>]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for (g, w) in got.iter().zip(want) {
        for (a, b) in g.iter().zip(w) {
            num += (a - b) * (a - b);
            den += b * b;
        }
    }
    if den > 0.0 {
        (num / den).sqrt()
    } else {
        num.sqrt()
    }
}

fn to64(v: &[Vec<f32>]) -> Vec<Vec<f64>> {
    v.iter()
        .map(|x| x.iter().map(|&e| f64::from(e)).collect())
        .collect()
}

/// Runs the check with `gemm` (in `variant`, whose precision is that of `kernels`) and
/// the optimizer's kind and constants (at a learning rate for updates of
/// [`CHECK_UPDATE_SIZE`]).
pub fn gradient_check(
    gpu: &Gpu,
    kernels: &Kernels,
    gemm: &KernelSpec,
    variant: Variant,
    optimizer: &OptimizerConfig,
    seed: u64,
    timeout: Duration,
) -> Result<GradientCheck> {
    anyhow::ensure!(
        variant.precision == kernels.precision,
        "the gradient check's GEMMs and training kernels differ in precision"
    );
    let precision = kernels.precision;
    let dims = CHECK_DIMS;
    let rows = CHECK_TOKENS;
    let layers = dims.len() - 1;
    let mut init = random_params(&dims, seed ^ 0xC4EC, 1.0);
    // Biases that are not zero, so the bias paths are checked too.
    for (l, b) in init.b.iter_mut().enumerate() {
        *b = random_matrix(b.len(), seed, 0xB1A5 + l as u64)
            .iter()
            .map(|v| 0.1 * v)
            .collect();
    }
    let x = random_matrix((rows * dims[0]) as usize, seed, 0xC4EC_0001);
    let t = random_matrix((rows * dims[layers]) as usize, seed, 0xC4EC_0002);
    let mut mlp = Mlp {
        dims: dims.iter().map(|&d| d as usize).collect(),
        w: to64(&init.w),
        b: to64(&init.b),
    };
    let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let t64: Vec<f64> = t.iter().map(|&v| f64::from(v)).collect();
    let scale = loss_scale(precision, u64::from(rows) * u64::from(dims[layers]));
    let half = (precision == Precision::F16).then_some(scale);
    let want = mlp.loss_and_grads_with(&x64, &t64, rows as usize, half);
    let rms = {
        let all: Vec<f64> = want.w.iter().chain(&want.b).flatten().copied().collect();
        (all.iter().map(|g| g * g).sum::<f64>() / all.len() as f64).sqrt()
    };
    let opt = OptimizerConfig {
        learning_rate: match optimizer.kind {
            OptimizerKind::AdamW => CHECK_UPDATE_SIZE,
            OptimizerKind::Sgd => CHECK_UPDATE_SIZE / rms.max(1e-12),
        },
        ..optimizer.clone()
    };
    let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
    let xb = upload_operand(gpu, "check inputs", precision, &x, storage)?;
    let tb = gpu.buffer_init("check targets", bytemuck::cast_slice(&t), storage)?;
    let gemms = Gemms::new_with(gpu, gemm, variant)?;
    let dev = Device {
        gpu,
        ops: kernels,
        gemms: &gemms,
    };
    let data = Data {
        xs: vec![xb],
        ts: vec![tb],
    };
    let net = Net::new(dev, &dims, rows, &init, &opt, data, 1)?;
    crate::measure::gpu::run_untimed(gpu, &|pass| net.encode_step(pass), timeout)
        .context("running the checked step")?;
    anyhow::ensure!(
        net.loss_scale == scale,
        "the network's loss scale is not the check's"
    );
    let mut grads = net.read_grads(gpu, timeout)?;
    // The GPU's gradients carry the loss scale (a power of two: dividing is exact).
    for g in grads.w.iter_mut().chain(grads.b.iter_mut()) {
        for v in g.iter_mut() {
            *v = (f64::from(*v) / scale) as f32;
        }
    }
    let after = net.read_params(gpu, timeout)?;
    let loss = f64::from(net.read_losses(gpu, 0, 1, timeout)?[0]);

    let before = mlp.clone();
    mlp.step(&want, &opt, &mut OptState::default());

    let mut got_g = to64(&grads.w);
    got_g.extend(to64(&grads.b));
    let mut want_g = want.w.clone();
    want_g.extend(want.b.clone());
    let delta = |new: &HostParams| -> Vec<Vec<f64>> {
        let mut d = Vec::new();
        for (n, o) in to64(&new.w).iter().zip(&before.w) {
            d.push(n.iter().zip(o).map(|(a, b)| a - b).collect());
        }
        for (n, o) in to64(&new.b).iter().zip(&before.b) {
            d.push(n.iter().zip(o).map(|(a, b)| a - b).collect());
        }
        d
    };
    let got_d = delta(&after);
    let mut want_d = Vec::new();
    for (n, o) in mlp.w.iter().zip(&before.w) {
        want_d.push(n.iter().zip(o).map(|(a, b)| a - b).collect());
    }
    for (n, o) in mlp.b.iter().zip(&before.b) {
        want_d.push(n.iter().zip(o).map(|(a, b)| a - b).collect());
    }
    let loss_rel_error = ((loss - want.loss) / want.loss).abs();
    let gradient_rel_error = rel_error(&got_g, &want_g);
    let update_rel_error = rel_error(&got_d, &want_d);
    let tolerance = match precision {
        Precision::F32 => TOLERANCE,
        Precision::F16 => F16_TOLERANCE,
    };
    let passed = [loss_rel_error, gradient_rel_error, update_rel_error]
        .iter()
        .all(|e| e.is_finite() && *e <= tolerance);
    Ok(GradientCheck {
        layers: DenseLayer::chain(&dims),
        tokens: rows,
        learning_rate: opt.learning_rate,
        loss_rel_error,
        gradient_rel_error,
        update_rel_error,
        tolerance,
        passed,
    })
}
