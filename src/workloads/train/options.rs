//! What to train and how large: the options a run or a named workload gives, the sizes
//! chosen for a device when they are left open, and the checks that a given size fits.

use anyhow::Result;

use super::ops;
use super::optimizer::{OptimizerConfig, OptimizerKind};
use crate::error::input_error;
use crate::kernels::KernelSpec;
use crate::types::Shape;
use crate::workloads::shard;

/// What to train; sizes left `None` are chosen for the device.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOptions {
    /// Dense layers.
    pub depth: Option<u32>,
    /// Width of every layer (inputs and outputs too).
    pub width: Option<u32>,
    /// Tokens (samples) per step.
    pub batch: Option<u32>,
    pub steps: u64,
    /// The host reads the losses back every this many steps.
    pub log_every: u64,
    /// The loss must fall below this fraction of its start within `steps`.
    pub target_fraction: f64,
    pub optimizer: OptimizerKind,
    /// Default: [`default_learning_rate`].
    pub learning_rate: Option<f64>,
    /// Distinct data batches.
    pub data_batches: u32,
    /// Verify and time the model layer's three GEMMs with every kernel first, and train
    /// with the kernel whose three products take least (what `flopcost train` does);
    /// otherwise the kernel with the best median throughput of the run so far is used.
    pub measure_gemms: bool,
}

impl Default for TrainOptions {
    fn default() -> TrainOptions {
        TrainOptions {
            depth: None,
            width: None,
            batch: None,
            steps: DEFAULT_STEPS,
            log_every: 25,
            target_fraction: DEFAULT_TARGET_FRACTION,
            optimizer: OptimizerKind::AdamW,
            learning_rate: None,
            data_batches: 8,
            measure_gemms: false,
        }
    }
}

/// Steps of a default run. On the default models of 128 to 512 wide the loss falls
/// to 0.3 of its start in about 100 steps, so this leaves a margin of three.
pub const DEFAULT_STEPS: u64 = 300;
/// The default target: the loss must fall below this fraction of its start.
pub const DEFAULT_TARGET_FRACTION: f64 = 0.3;
/// Layers of a default model.
pub const DEFAULT_DEPTH: u32 = 4;

/// A resolved training run.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Layer l maps dims[l] to dims[l + 1].
    pub dims: Vec<u32>,
    pub batch: u32,
    pub steps: u64,
    pub log_every: u64,
    pub target_fraction: f64,
    pub optimizer: OptimizerConfig,
    pub data_batches: u32,
    pub seed: u64,
}

/// Default width for a kind of device: small on a software rasteriser (a step in tens
/// of milliseconds), 1024 on integrated GPUs, 2048 elsewhere (a step of about 0.2
/// TFLOP).
pub fn default_width(device: wgpu::DeviceType) -> u32 {
    match device {
        wgpu::DeviceType::Cpu => 128,
        wgpu::DeviceType::IntegratedGpu => 1024,
        _ => 2048,
    }
}

/// Default learning rate: AdamW 1e-3 up to width 256, then falling as 1/width (the
/// hidden-layer scaling of μP), so wide layers stay stable; SGD 0.05.
pub fn default_learning_rate(kind: OptimizerKind, width: u32) -> f64 {
    match kind {
        OptimizerKind::AdamW => 1e-3 * (256.0 / f64::from(width.max(1))).min(1.0),
        OptimizerKind::Sgd => 0.05,
    }
}

/// Bytes of everything a run keeps on the device: parameters, gradients, two optimizer
/// moments, activations, gradients of activations, and the data.
pub fn memory_bytes(dims: &[u32], batch: u32, data_batches: u32) -> u64 {
    let params: u64 = dims
        .windows(2)
        .map(|w| u64::from(w[0]) * u64::from(w[1]) + u64::from(w[1]))
        .sum();
    let acts: u64 = dims[1..].iter().map(|&d| 2 * u64::from(d)).sum::<u64>()
        + 2 * u64::from(*dims.iter().max().unwrap_or(&1));
    let data = u64::from(data_batches) * (u64::from(dims[0]) + u64::from(dims[dims.len() - 1]));
    4 * (4 * params + u64::from(batch) * (acts + data))
}

/// Model FLOPs of one step: 6·B·Σ d_in·d_out less the first layer's input gradient.
pub fn flops_per_step(dims: &[u32], batch: u32) -> u64 {
    let b = u64::from(batch);
    let sum: u64 = dims
        .windows(2)
        .map(|w| u64::from(w[0]) * u64::from(w[1]))
        .sum();
    6 * b * sum - 2 * b * u64::from(dims[0]) * u64::from(dims[1])
}

/// Checks that a network fits the adapter: every tensor within one binding, every
/// dispatch within the workgroup-count limit, everything within the memory budget.
pub fn check_fits(
    limits: &wgpu::Limits,
    dims: &[u32],
    batch: u32,
    data_batches: u32,
    kernels: &[KernelSpec],
) -> Result<(), String> {
    let limit = shard::operand_limit(limits);
    let b = u64::from(batch);
    for w in dims.windows(2) {
        let (din, dout) = (u64::from(w[0]), u64::from(w[1]));
        for (what, elems) in [
            ("a weight matrix", din * dout),
            ("a batch of activations", b * din.max(dout)),
        ] {
            if 4 * elems > limit {
                return Err(format!(
                    "{what} of the {}→{} layer at batch {batch} takes {} bytes, over the \
                     adapter's buffer limit ({limit} bytes); use a smaller --width or --batch",
                    w[0],
                    w[1],
                    4 * elems
                ));
            }
        }
        let max = limits.max_compute_workgroups_per_dimension;
        for shape in [
            Shape::new(batch, w[1], w[0]),
            Shape::new(batch, w[0], w[1]),
            Shape::new(w[0], w[1], batch),
        ] {
            for k in kernels {
                let (x, y, z) = crate::kernels::registry::dispatch(k, shape);
                if x.max(y).max(z) > max {
                    return Err(format!(
                        "the product {shape} needs {x}×{y} workgroups with kernel '{}', over \
                         the adapter's max_compute_workgroups_per_dimension ({max})",
                        k.name
                    ));
                }
            }
        }
        if w[1].div_ceil(64) > max || batch.div_ceil(ops::ROWS_PER_BLOCK) > max {
            return Err(format!(
                "the bias gradient of the {}→{} layer needs more workgroups than the adapter's \
                 max_compute_workgroups_per_dimension ({max})",
                w[0], w[1]
            ));
        }
    }
    let need = memory_bytes(dims, batch, data_batches);
    let budget = shard::memory_budget();
    if need > budget {
        return Err(format!(
            "the network and its data take {}, more than the {} a run may use here (half the \
             available host memory); use a smaller --width, --depth or --batch",
            crate::util::fmt_bytes(need),
            crate::util::fmt_bytes(budget)
        ));
    }
    Ok(())
}

impl TrainOptions {
    /// Chooses the sizes left open for this device and checks the ones given (`Err` is
    /// bad input when a given size does not fit).
    pub fn resolve(
        &self,
        limits: &wgpu::Limits,
        device: wgpu::DeviceType,
        kernels: &[KernelSpec],
        seed: u64,
    ) -> Result<TrainConfig> {
        let depth = self.depth.unwrap_or(DEFAULT_DEPTH);
        let mut width = self.width.unwrap_or_else(|| default_width(device));
        let mut batch = self.batch.unwrap_or(width);
        let dims = |w: u32| vec![w; depth as usize + 1];
        // Default sizes shrink until they fit; given ones must fit as they are.
        while self.width.is_none()
            && width > 16
            && check_fits(limits, &dims(width), batch, self.data_batches, kernels).is_err()
        {
            width /= 2;
            if self.batch.is_none() {
                batch = width;
            }
        }
        check_fits(limits, &dims(width), batch, self.data_batches, kernels).map_err(input_error)?;
        let lr = self
            .learning_rate
            .unwrap_or_else(|| default_learning_rate(self.optimizer, width));
        Ok(TrainConfig {
            dims: dims(width),
            batch,
            steps: self.steps,
            log_every: self.log_every,
            target_fraction: self.target_fraction,
            optimizer: match self.optimizer {
                OptimizerKind::AdamW => OptimizerConfig::adamw(lr),
                OptimizerKind::Sgd => OptimizerConfig::sgd(lr),
            },
            data_batches: self.data_batches,
            seed,
        })
    }
}
