//! Training an MLP entirely on the GPU: what a whole training step costs, and proof that
//! it learns.
//!
//! A student MLP (GELU between layers, MSE loss) learns to reproduce a fixed random
//! teacher MLP of the same shape on inputs uniform in [-1, 1), so the answer is known
//! and the loss must fall. The data (a few batches of inputs, and their targets computed
//! by the teacher on the GPU) is made once; each step is one compute pass of forward,
//! loss, backward and optimizer dispatches, timed with GPU timestamps, and the host reads
//! the per-step losses back only every `log_every` steps. Before any of that, one step of
//! a small network is checked against an f64 CPU implementation ([`check`]).

pub mod check;
pub mod net;
pub mod ops;
pub mod optimizer;
pub mod options;
pub mod reference;

pub use net::random_params;
pub use optimizer::{OptimizerConfig, OptimizerKind};
pub use options::{
    DEFAULT_DEPTH, DEFAULT_STEPS, DEFAULT_TARGET_FRACTION, TrainConfig, TrainOptions, check_fits,
    default_learning_rate, default_width, flops_per_step, memory_bytes,
};

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use super::Block;
use super::observe::Observer;
use crate::gpu::Gpu;
use crate::kernels::{KernelSpec, Variant};
use crate::measure::gpu::Meter;
use crate::result::{DenseLayer, GradientCheck, LossPoint, Model, Timing, Training, TrainingData};
use crate::stats;
use crate::types::Layer;
use crate::types::Precision;
use crate::util::{fmt_ns, fmt_sig};
use crate::verify::random_matrix;
use net::{Gemms, Net};

/// Training did not do what it must: the gradient check failed, the loss diverged, or
/// it did not reach its target. The run fails (exit 1) after saving its result file.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TrainingFailed(pub String);

/// What a training run needs from the run it is part of, handed over as values by the
/// runner: the device and its meter, and the run's kernels (every size must fit each of
/// them) and seed.
pub struct Context<'c, 'g> {
    pub gpu: &'g Gpu,
    pub meter: &'c mut Meter<'g>,
    pub kernels: Vec<KernelSpec>,
    pub seed: u64,
}

impl Context<'_, '_> {
    /// The sizes of `options` for this device and these kernels (see
    /// [`TrainOptions::resolve`]).
    pub fn resolve(&self, options: &TrainOptions) -> Result<TrainConfig> {
        options.resolve(
            &self.gpu.limits(),
            self.gpu.info.device_type,
            &self.kernels,
            self.seed,
        )
    }
}

/// One precision to train in: the GEMM kernel it trains with (`None` when no kernel
/// passed verification in it), the precision and path its GEMMs run, and the best GEMM
/// throughput the run measured in that precision (for the section's ratio).
#[derive(Clone, Debug)]
pub struct Trainee {
    pub precision: Precision,
    pub kernel: Option<KernelSpec>,
    pub variant: Variant,
    pub best_gemm_tflops: Option<f64>,
}

/// The suite step: check one step and train in each precision of `trainees`, and report
/// each section. A check or target failure is a [`TrainingFailed`] error; with several
/// precisions the others still train and the failures are reported together.
pub fn run_step(
    ctx: &mut Context,
    cfg: &TrainConfig,
    trainees: &[Trainee],
    obs: &mut dyn Observer,
) -> Result<()> {
    let mut failures = Vec::new();
    for t in trainees {
        if let Err(e) = train_in(ctx, cfg, t, obs) {
            if e.is::<TrainingFailed>() && trainees.len() > 1 {
                // The other precisions still train; the run fails at the end.
                obs.warn(format!("training in {} failed: {e:#}", t.precision));
                failures.push(format!("in {}: {e:#}", t.precision));
            } else {
                return Err(e);
            }
        }
    }
    if !failures.is_empty() {
        return Err(TrainingFailed(failures.join("; ")).into());
    }
    Ok(())
}

/// The MLP layer whose three products choose the kernel to train with, when the options
/// ask for the GEMMs to be measured ([`TrainOptions::measure_gemms`]).
pub fn measured_layer(cfg: &TrainConfig) -> Block {
    let width = cfg.dims[1];
    Block::new(
        "mlp-train",
        &format!("the {width}→{width} layer of the trained MLP"),
        vec![Layer::new("hidden", width, width)],
    )
}

/// What [`probe`] measured on the wall clock: everything a training run does before its
/// first step (kernels, gradient check, network, data and targets), and one step with
/// its share of the loss readbacks.
pub struct Probe {
    pub setup: Duration,
    pub per_step: Duration,
}

/// Prepares the training run of `cfg` with `kernel` in `variant` as [`run_step`] would,
/// and runs `steps` of its steps (at most one readback batch): what a workload's stated
/// duration needs to know of its MLP. Nothing is reported or kept.
pub fn probe(
    ctx: &mut Context,
    cfg: &TrainConfig,
    kernel: &KernelSpec,
    variant: Variant,
    steps: u64,
) -> Result<Probe> {
    let start = Instant::now();
    let gpu = ctx.gpu;
    let (kernels, _) = checked_kernels(gpu, kernel, variant, cfg)?;
    let timeout = Duration::from_secs(120);
    let net = build_net(gpu, &kernels, kernel, variant, cfg)?;
    let setup = start.elapsed();
    let n = steps.clamp(1, cfg.log_every.max(1)).min(cfg.steps);
    let encode = |pass: &mut wgpu::ComputePass<'_>| net.encode_step(pass);
    let t0 = Instant::now();
    ctx.meter.batch(&encode, n as usize, timeout)?;
    net.read_losses(gpu, 0, n, timeout)?;
    Ok(Probe {
        setup,
        per_step: t0.elapsed() / n as u32,
    })
}

/// Checks one step and trains in one precision.
fn train_in(
    ctx: &mut Context,
    cfg: &TrainConfig,
    trainee: &Trainee,
    obs: &mut dyn Observer,
) -> Result<()> {
    let gpu = ctx.gpu;
    let width = cfg.dims[1];
    let (precision, variant) = (trainee.precision, trainee.variant);
    let Some(kernel) = trainee.kernel.clone() else {
        return Err(TrainingFailed(format!(
            "training in {precision} needs a GEMM kernel that passed verification in \
             {precision}, and none did"
        ))
        .into());
    };
    obs.note(format!(
        "training: MLP {} layers × {width} wide, {} tokens per step, {} steps, kernel '{}' \
         ({variant}), {} (lr {})",
        cfg.dims.len() - 1,
        cfg.batch,
        cfg.steps,
        kernel.name,
        cfg.optimizer.kind.as_str(),
        cfg.optimizer.learning_rate
    ));
    obs.started(&format!("training ({precision}): gradient check"));
    let (kernels, checked) = checked_kernels(gpu, &kernel, variant, cfg)?;
    if !checked.passed {
        return Err(TrainingFailed(format!(
            "the gradient check failed: one {precision} step on a {} network differs from the \
             f64 CPU implementation (loss error {:.2e}, gradient error {:.2e}, update error \
             {:.2e}, tolerance {:.0e}); nothing was trained. This is a bug in the training \
             kernels, the GEMM kernel '{}' or the driver: please report it",
            dims_text(&check::CHECK_DIMS),
            checked.loss_rel_error,
            checked.gradient_rel_error,
            checked.update_rel_error,
            checked.tolerance,
            kernel.name
        ))
        .into());
    }
    obs.note(format!(
        "training: one {precision} step of a {} network matches the f64 CPU reference \
         (gradient error {:.1e}, update error {:.1e})",
        dims_text(&check::CHECK_DIMS),
        checked.gradient_rel_error,
        checked.update_rel_error
    ));
    let section = train(
        gpu,
        ctx.meter,
        &kernels,
        &kernel,
        variant,
        cfg,
        checked,
        trainee.best_gemm_tflops,
        obs,
    )?;
    obs.training(&section)?;
    if !section.reached_target {
        return Err(TrainingFailed(format!(
            "the loss did not fall below {} ({} of its start, {}) within {} steps; it ended \
             at {}. Loss curve (step: mean loss):\n{}\nTry more --steps, another --lr or a \
             larger --target",
            fmt_sig(section.target_loss, 3),
            section.target_fraction,
            fmt_sig(section.loss_start, 3),
            section.steps,
            fmt_sig(section.loss_end, 3),
            loss_curve_text(&section)
        ))
        .into());
    }
    Ok(())
}

fn dims_text(dims: &[u32]) -> String {
    dims.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join("→")
}

/// The loss curve, one `step: loss` line per point.
pub fn loss_curve_text(t: &Training) -> String {
    t.loss_curve
        .iter()
        .map(|p| format!("  {:>7}: {}", p.step, fmt_sig(p.loss, 4)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Trains the network of `cfg` and measures every step, in the precision of `kernels`
/// with `gemm` in `variant`.
#[allow(clippy::too_many_arguments)]
pub fn train(
    gpu: &Gpu,
    meter: &mut Meter,
    kernels: &ops::Kernels,
    gemm: &KernelSpec,
    variant: Variant,
    cfg: &TrainConfig,
    gradient_check: GradientCheck,
    best_gemm_tflops: Option<f64>,
    obs: &mut dyn Observer,
) -> Result<Training> {
    let dims = &cfg.dims;
    let (din, dout) = (dims[0], dims[dims.len() - 1]);
    obs.started("training: data and teacher targets");
    let precision = kernels.precision;
    let net = build_net(gpu, kernels, gemm, variant, cfg)?;

    let flops = flops_per_step(dims, cfg.batch);
    let mut times: Vec<f64> = Vec::with_capacity(cfg.steps as usize);
    let mut losses: Vec<f64> = Vec::with_capacity(cfg.steps as usize);
    let mut curve = Vec::new();
    let mut fell_back_at: Option<u64> = None;
    // First batch: fifty times what the run's best GEMM speed predicts, at least a
    // minute; without a speed, room for a slow device (0.1 GFLOP/s). The shaders are
    // compiled already (the gradient check ran them).
    let batch_flops = cfg.log_every as f64 * flops as f64;
    let mut timeout = Duration::from_secs_f64(match best_gemm_tflops {
        Some(t) if t > 0.0 => (50.0 * batch_flops / (t * 1e12)).max(60.0),
        _ => 60.0 + batch_flops / 1e8,
    });
    let encode = |pass: &mut wgpu::ComputePass<'_>| net.encode_step(pass);
    let power_begin = meter.power_begin();
    while (times.len() as u64) < cfg.steps {
        crate::interrupt::check()?;
        let done = times.len() as u64;
        let n = cfg.log_every.min(cfg.steps - done);
        obs.started(&format!(
            "training: steps {}-{} of {}",
            done + 1,
            done + n,
            cfg.steps
        ));
        // Steps cannot be run twice: a batch whose timestamps fail keeps its host time
        // (the meter warns and stays on the host clock).
        let batch = meter
            .batch(&encode, n as usize, timeout)
            .with_context(|| format!("training steps {}-{}", done + 1, done + n))?;
        if batch.fell_back {
            fell_back_at.get_or_insert(done + 1);
        }
        let t = batch.samples_ns;
        let l = net
            .read_losses(gpu, done, n, timeout)
            .context("reading the losses back")?;
        if let Some(i) = l.iter().position(|v| !v.is_finite()) {
            return Err(TrainingFailed(format!(
                "the loss became {} at step {}; the run diverged: lower --lr",
                l[i],
                done + i as u64 + 1
            ))
            .into());
        }
        losses.extend(l.iter().map(|&v| f64::from(v)));
        let mean = l.iter().map(|&v| f64::from(v)).sum::<f64>() / l.len() as f64;
        let mut sorted = t.clone();
        sorted.sort_by(f64::total_cmp);
        let median = stats::median(&sorted);
        times.extend(t);
        curve.push(LossPoint {
            step: done + n,
            loss: mean,
        });
        obs.note(format!(
            "training: step {}/{}: loss {} ({} of start), {} per step",
            done + n,
            cfg.steps,
            fmt_sig(mean, 4),
            fmt_sig(mean / curve[0].loss, 3),
            fmt_ns(median)
        ));
        timeout = Duration::from_secs_f64((10.0 * n as f64 * median * 1e-9).max(30.0));
    }
    let power = meter.power_end(power_begin);
    let counted = net.read_step(gpu, timeout)?;
    if u64::from(counted) != cfg.steps {
        anyhow::bail!(
            "the GPU counted {counted} training steps, {} were submitted; the driver dropped \
             work: check its log, then run again",
            cfg.steps
        );
    }
    gpu.errors.check()?;

    // Host-clock times include launch overhead, so a run whose timestamps failed part
    // way is labelled with the weaker clock.
    anyhow::ensure!(!times.is_empty(), "no training steps were timed");
    let method = if fell_back_at.is_some() {
        crate::types::TimingMethod::HostClock
    } else {
        meter.method()
    };
    let step_time = Timing::from_samples(method, &times, 0)?;
    // Every loss figure comes from the logged curve, so a reader can recompute it: the
    // start is the first logged mean, and the target is reached at the first logged mean
    // at or below it (a window of log_every steps, so one easy batch does not count).
    let loss_start = curve.first().map_or(losses[0], |p| p.loss);
    let target_loss = cfg.target_fraction * loss_start;
    let reached = curve.iter().find(|p| p.loss <= target_loss).map(|p| p.step);
    let loss_end = curve.last().map_or(loss_start, |p| p.loss);
    let tflops = flops as f64 / step_time.median_ns / 1e3;
    Ok(Training {
        precision,
        loss_scale: (precision == Precision::F16).then_some(net.loss_scale),
        kernel_path: Some(variant.path()),
        model: Model {
            kind: "mlp".into(),
            layers: DenseLayer::chain(dims),
            activation: "gelu_tanh".into(),
            loss: "mse".into(),
        },
        parameters: dims
            .windows(2)
            .map(|w| u64::from(w[0]) * u64::from(w[1]) + u64::from(w[1]))
            .sum(),
        tokens_per_step: cfg.batch,
        kernel: gemm.name.clone(),
        optimizer: cfg.optimizer.record(),
        data: TrainingData {
            task: format!(
                "regression onto a fixed random teacher MLP of the same shape (He-uniform \
                 weights, biases in ±0.5); inputs uniform in [-1, 1); {din} inputs, {dout} outputs"
            ),
            batches: cfg.data_batches,
        },
        seed: cfg.seed,
        steps: cfg.steps,
        log_every: cfg.log_every,
        tokens_per_second: f64::from(cfg.batch) / (step_time.median_ns * 1e-9),
        flops_per_step: flops,
        tflops,
        best_gemm_tflops,
        tflops_vs_best_gemm: best_gemm_tflops.map(|b| tflops / b),
        loss_start,
        loss_end,
        target_loss,
        target_fraction: cfg.target_fraction,
        target_window: cfg.log_every,
        steps_to_target: reached,
        seconds_to_target: reached.map(|s| times[..s as usize].iter().sum::<f64>() * 1e-9),
        reached_target: reached.is_some(),
        loss_curve: curve,
        step_time,
        gradient_check,
        power: power.map(|p| p.at_tflops(tflops)),
    })
}

/// The training kernels in `variant`'s precision, and one step of the check network
/// with them and `gemm` against the f64 CPU implementation ([`check`]).
fn checked_kernels(
    gpu: &Gpu,
    gemm: &KernelSpec,
    variant: Variant,
    cfg: &TrainConfig,
) -> Result<(ops::Kernels, GradientCheck)> {
    let kernels = ops::Kernels::new(gpu, variant.precision)?;
    let checked = check::gradient_check(
        gpu,
        &kernels,
        gemm,
        variant,
        &cfg.optimizer,
        cfg.seed,
        Duration::from_secs(120),
    )?;
    Ok((kernels, checked))
}

/// The network of `cfg` on the GPU with its data and the teacher's targets: everything a
/// training run does before its first step.
fn build_net(
    gpu: &Gpu,
    kernels: &ops::Kernels,
    gemm: &KernelSpec,
    variant: Variant,
    cfg: &TrainConfig,
) -> Result<Net> {
    let dims = &cfg.dims;
    let din = dims[0];
    let setup_timeout = Duration::from_secs(300);
    let precision = kernels.precision;
    anyhow::ensure!(
        variant.precision == precision,
        "training kernels and GEMMs differ in precision"
    );
    let gemms = Gemms::new_with(gpu, gemm, variant)?;
    let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
    let xs = (0..cfg.data_batches)
        .map(|p| {
            let x = random_matrix(
                cfg.batch as usize * din as usize,
                cfg.seed,
                0xDA7A_0000 + u64::from(p),
            );
            net::upload_operand(gpu, "inputs", precision, &x, storage)
        })
        .collect::<Result<Vec<_>>>()?;
    // The teacher: He-uniform weights (variance 2/d_in) so its signal survives the
    // GELUs, and biases in ±0.5.
    let mut teacher = random_params(dims, cfg.seed ^ 0x7EAC_4E12, 2f64.sqrt());
    for (l, b) in teacher.b.iter_mut().enumerate() {
        *b = random_matrix(b.len(), cfg.seed, 0x7B1A_0000 + l as u64)
            .iter()
            .map(|v| 0.5 * v)
            .collect();
    }
    let dev = net::Device {
        gpu,
        ops: kernels,
        gemms: &gemms,
    };
    let ts = net::teacher_targets(dev, dims, cfg.batch, &teacher, &xs, setup_timeout)?;
    drop(teacher);
    let init = random_params(dims, cfg.seed, 1.0);
    Net::new(
        dev,
        dims,
        cfg.batch,
        &init,
        &cfg.optimizer,
        net::Data { xs, ts },
        cfg.steps,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flops_skip_the_first_input_gradient() {
        let dims = [128, 128, 128, 128, 128];
        let b = 64u64;
        assert_eq!(
            flops_per_step(&dims, 64),
            6 * b * 4 * 128 * 128 - 2 * b * 128 * 128
        );
        assert_eq!(flops_per_step(&[3, 5], 2), 6 * 2 * 15 - 2 * 2 * 15);
    }

    #[test]
    fn learning_rate_falls_with_width() {
        assert_eq!(default_learning_rate(OptimizerKind::AdamW, 128), 1e-3);
        assert_eq!(default_learning_rate(OptimizerKind::AdamW, 2048), 1.25e-4);
    }
}
