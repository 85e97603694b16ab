//! `flopcost train`: its arguments, and the run plan of a training run.

use std::time::Duration;

use anyhow::Result;
use clap::{Args, ValueEnum};

use crate::error::input_error;
use crate::workloads::runner::RunSettings;
use crate::workloads::train::{OptimizerKind, TrainOptions};
use crate::workloads::{self, Step, Suite};

use super::common::*;
use super::run::RunPlan;

pub(super) const TRAIN_EXAMPLES: &str = "\
Examples:
  flopcost train                                 sizes chosen for the device
  flopcost train --depth 2 --width 64 --batch 64 --steps 100
  flopcost train --optimizer sgd --lr 0.05 --target 0.3
  flopcost train --width 4096 --batch 8192 --steps 1000 --log-every 100
  flopcost train --precision f32,f16             the same model trained in f32, then in f16

The student MLP learns a fixed random teacher MLP of the same shape (MSE loss). One step
of a small network is first checked against an f64 CPU implementation; the run fails
(exit 1, with the loss curve) unless the loss falls below --target times its start
within --steps.

In f16 every GEMM reads f16 operands (f16 copies of the f32 master weights, activations
and activation gradients in f16) and accumulates and writes f32; the optimizer, its state,
the loss and the elementwise work stay in f32, with a static loss scale keeping the f16
gradients in range. The check of one step then compares with an f64 implementation that
rounds to f16 at the same places.";

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Dense layers. Default: 4.
    #[arg(long, value_name = "N")]
    pub depth: Option<u64>,
    /// Width of every layer (inputs and outputs too). Default: sized to the device
    /// (128 on a software rasteriser, 1024 on integrated GPUs, 2048 otherwise).
    #[arg(long, value_name = "N")]
    pub width: Option<u64>,
    /// Tokens (samples) per step. Default: the width.
    #[arg(long, value_name = "B")]
    pub batch: Option<u64>,
    /// Training steps, all timed.
    #[arg(long, default_value_t = workloads::train::DEFAULT_STEPS, value_name = "N")]
    pub steps: u64,
    /// Read the loss back every N steps (at most 1024).
    #[arg(long, default_value_t = 25, value_name = "N")]
    pub log_every: u64,
    /// The loss must fall below this fraction of its start within --steps.
    #[arg(long, default_value_t = workloads::train::DEFAULT_TARGET_FRACTION, value_name = "FRACTION")]
    pub target: f64,
    /// Optimizer.
    #[arg(long, value_enum, default_value = "adamw")]
    pub optimizer: OptimizerArg,
    /// Learning rate. Default: AdamW 1e-3 up to width 256, then 1e-3·256/width; SGD 0.05.
    #[arg(long, value_name = "RATE")]
    pub lr: Option<f64>,
    /// Distinct data batches, uploaded once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub data_batches: u64,
    /// GEMM kernels to measure on the model's layer; training uses the fastest.
    /// Default: all.
    #[arg(long, value_name = "LIST")]
    pub kernel: Option<String>,
    /// Sampling time of each GEMM benchmark, in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub time_budget: Option<f64>,
    /// Seed of the weights and data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How to time: auto (GPU timestamps where available) or host.
    #[arg(long, value_enum, default_value = "auto")]
    pub timing: TimingArg,
    #[command(flatten)]
    pub device: TargetArgs,
    #[command(flatten)]
    pub price: PriceArgs,
    #[command(flatten)]
    pub precision: PrecisionArgs,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum OptimizerArg {
    /// Adam with decoupled weight decay.
    Adamw,
    /// SGD with momentum 0.9.
    Sgd,
}

impl TrainArgs {
    /// Checks everything that needs no GPU and builds the plan: a run whose suite is
    /// one training step (with the model layer's GEMMs measured first).
    pub fn plan(self) -> Result<RunPlan> {
        let size = |flag: &str, v: Option<u64>, hi: u64| -> Result<Option<u32>> {
            v.map(|v| within(flag, v, 1, hi).map(|v| v as u32))
                .transpose()
        };
        let optimizer = match self.optimizer {
            OptimizerArg::Adamw => OptimizerKind::AdamW,
            OptimizerArg::Sgd => OptimizerKind::Sgd,
        };
        if !(self.target > 0.0 && self.target <= 1.0) {
            return Err(input_error(format!(
                "--target {}: must be a fraction of the starting loss in (0, 1]",
                self.target
            )));
        }
        if let Some(lr) = self.lr
            && !(lr.is_finite() && lr > 0.0 && lr <= 10.0)
        {
            return Err(input_error(format!(
                "--lr {lr}: must be a positive learning rate (at most 10)"
            )));
        }
        let options = TrainOptions {
            depth: size("--depth", self.depth, 256)?,
            width: size("--width", self.width, 65536)?,
            batch: size("--batch", self.batch, MAX_TOKENS)?,
            steps: within("--steps", self.steps, 1, 10_000_000)?,
            log_every: within(
                "--log-every",
                self.log_every,
                1,
                crate::measure::MAX_BATCH as u64,
            )?,
            target_fraction: self.target,
            optimizer,
            learning_rate: self.lr,
            data_batches: within("--data-batches", self.data_batches, 1, 256)? as u32,
            measure_gemms: true,
        };
        let kernels = kernel_list(&self.kernel)?;
        let (precisions, f16_path) = self.precision.resolve()?;
        check_coopmat_kernels(f16_path, &kernels)?;
        let suite = Suite {
            name: "train".into(),
            steps: vec![Step::Train(options)],
            time_budget: Duration::from_millis(250),
            total_budget: Duration::from_secs(3600),
        };
        let settings = RunSettings {
            seed: self.seed,
            time_budget: seconds("--time-budget", self.time_budget, suite.time_budget)?,
            total_budget: suite.total_budget,
            max_samples: 1000,
            min_samples: 10,
            timestamps: self.timing == TimingArg::Auto,
            dispatch_timeout: None,
        };
        Ok(RunPlan {
            workload: None,
            repetitions: 1,
            time_budget_given: self.time_budget.is_some(),
            adapter: self.device.selector(),
            backend: self.device.backend(),
            suite,
            kernels,
            settings,
            timing: self.timing,
            explicit_shapes: Vec::new(),
            tokens: None,
            out: self.device.out,
            out_dir: self.device.out_dir,
            force: self.device.force,
            quiet: self.device.quiet,
            price: self.price.spec()?,
            tune_budget: None,
            peaks: false,
            power: Default::default(),
            repeats: None,
            sustain: None,
            precisions,
            f16_path,
        })
    }
}
