//! One whole training step on a small network with odd, unequal layer sizes, compared
//! with the f64 CPU implementation in [`super::reference`]: the loss, every gradient and
//! every parameter's update must agree within f32 tolerance before any training is
//! timed.

use std::time::Duration;

use anyhow::{Context, Result};

use super::net::{Data, Device, Gemms, HostParams, Net};
use super::ops::Kernels;
use super::reference::{Mlp, OptState};
use super::{OptimizerConfig, OptimizerKind, random_params};
use crate::gpu::Gpu;
use crate::gpu::timing::Timer;
use crate::kernels::KernelSpec;
use crate::result::{DenseLayer, GradientCheck};
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
/// The largest relative error that passes: the f32 GEMM tolerance.
pub const TOLERANCE: f64 = verify::F32_TOLERANCE;

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

/// Runs the check with `gemm` and the optimizer's kind and constants (at a learning
/// rate for updates of [`CHECK_UPDATE_SIZE`]).
pub fn gradient_check(
    gpu: &Gpu,
    kernels: &Kernels,
    gemm: &KernelSpec,
    optimizer: &OptimizerConfig,
    seed: u64,
    timeout: Duration,
) -> Result<GradientCheck> {
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
    let want = mlp.loss_and_grads(&x64, &t64, rows as usize);
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
    let xb = gpu.buffer_init("check inputs", bytemuck::cast_slice(&x), storage)?;
    let tb = gpu.buffer_init("check targets", bytemuck::cast_slice(&t), storage)?;
    let gemms = Gemms::new(gpu, gemm)?;
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
    Timer::host()
        .run_once(gpu, &|pass| net.encode_step(pass), timeout)
        .context("running the checked step")?;
    let grads = net.read_grads(gpu, timeout)?;
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
    let passed = [loss_rel_error, gradient_rel_error, update_rel_error]
        .iter()
        .all(|e| e.is_finite() && *e <= TOLERANCE);
    Ok(GradientCheck {
        layers: dims
            .windows(2)
            .map(|w| DenseLayer {
                d_in: w[0],
                d_out: w[1],
            })
            .collect(),
        tokens: rows,
        learning_rate: opt.learning_rate,
        loss_rel_error,
        gradient_rel_error,
        update_rel_error,
        tolerance: TOLERANCE,
        passed,
    })
}
