//! The training sections of a result file: per-block summaries of training triplets
//! (`triplets`) and the MLP trained on the GPU (`training`).
//!
//! Both are derived from measurements elsewhere in the file or in the section itself, so
//! `flopcost validate` can recompute every derived number (see `validate/training.rs`).
//! Units are in the field names, as in the rest of the file.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::timing::Timing;
use crate::types::{KernelPath, Precision};

/// The three products of a dense layer, by their place in a training step.
pub const PRODUCTS: [&str; 3] = ["forward", "input_gradient", "weight_gradient"];

/// One block of layers (for example a decoder block) run as training triplets with one
/// kernel: what a training step of those layers costs.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct TripletBlock {
    /// Block name as in the suite, e.g. `decoder-8b`.
    pub block: String,
    /// What the block is, in words.
    pub description: String,
    /// Tokens per step (B, the M of the forward product).
    pub tokens: u32,
    /// The kernel all products of this summary ran with.
    pub kernel: String,
    /// The operand precision of all its products (`f32` in files from before f16).
    #[serde(default)]
    pub precision: Precision,
    /// Each layer whose three products were verified and timed.
    pub layers: Vec<TripletLayer>,
    /// Layers of the block left out of the totals (skipped, or a product failed
    /// verification), by name.
    #[serde(default)]
    pub missing_layers: Vec<String>,
    /// The layers above together.
    pub total: TripletTimes,
}

/// One dense layer `d_in → d_out` of a block.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct TripletLayer {
    /// Layer name within the block, e.g. `ffn.up`.
    pub name: String,
    pub d_in: u32,
    pub d_out: u32,
    /// The records of the forward, input-gradient and weight-gradient products, in
    /// that order.
    pub record_ids: Vec<String>,
    /// Its three products' times.
    pub times: TripletTimes,
}

/// Times of the three products of a training step (medians of their records) and what
/// they add up to.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct TripletTimes {
    /// Forward `Y = X·W` (NN), median ns.
    pub forward_ns: f64,
    /// Input gradient `dX = dY·Wᵀ` (NT), median ns.
    pub input_gradient_ns: f64,
    /// Weight gradient `dW = Xᵀ·dY` (TN), median ns.
    pub weight_gradient_ns: f64,
    /// Time per training step of these layers: the sum of the three, in ns.
    pub step_ns: f64,
    /// Model FLOPs of one step: 6·B·Σ d_in·d_out.
    pub flops: u64,
    /// Achieved training throughput, flops / step_ns / 1000, in 10¹² FLOP/s.
    pub tflops: f64,
    /// The slowest product: `forward`, `input_gradient` or `weight_gradient`.
    pub slowest: String,
    /// The slowest product's time over the fastest one's (≥ 1). The three do equal
    /// FLOPs, so this is also the throughput ratio.
    pub slowest_vs_fastest: f64,
}

impl TripletTimes {
    /// Builds the derived fields from the three times and the FLOPs.
    pub fn new(times_ns: [f64; 3], flops: u64) -> TripletTimes {
        let step_ns: f64 = times_ns.iter().sum();
        let (mut slow, mut fast) = (0, 0);
        for i in 1..3 {
            if times_ns[i] > times_ns[slow] {
                slow = i;
            }
            if times_ns[i] < times_ns[fast] {
                fast = i;
            }
        }
        TripletTimes {
            forward_ns: times_ns[0],
            input_gradient_ns: times_ns[1],
            weight_gradient_ns: times_ns[2],
            step_ns,
            flops,
            tflops: flops as f64 / step_ns / 1e3,
            slowest: PRODUCTS[slow].into(),
            slowest_vs_fastest: times_ns[slow] / times_ns[fast],
        }
    }

    /// The three times in product order.
    pub fn times(&self) -> [f64; 3] {
        [
            self.forward_ns,
            self.input_gradient_ns,
            self.weight_gradient_ns,
        ]
    }
}

/// An MLP trained on the GPU: what a whole training step costs and whether it learns.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Training {
    /// The network.
    pub model: Model,
    /// Operand precision of every GEMM (`f32` in files from before f16). In `f16` the
    /// GEMMs read f16 copies of the f32 master weights, f16 activations and f16
    /// activation gradients, and accumulate and write f32; the optimizer, its state, the
    /// loss and the elementwise work are f32.
    #[serde(default)]
    pub precision: Precision,
    /// Static loss scale of f16 training (a power of two): the loss gradient is multiplied
    /// by it before it is stored in f16, and the optimizer divides the gradients by it.
    /// Absent in f32.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_scale: Option<f64>,
    /// Weights and biases: Σ (d_in·d_out + d_out).
    pub parameters: u64,
    /// Tokens (samples) per step, B.
    pub tokens_per_step: u32,
    /// The GEMM kernel of every product.
    pub kernel: String,
    /// Where its multiply-adds ran: `simt` or `coopmat` (absent in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_path: Option<KernelPath>,
    /// Optimizer and its settings.
    pub optimizer: Optimizer,
    /// The synthetic task.
    pub data: TrainingData,
    /// Seed of the weights and data.
    pub seed: u64,
    /// Steps run (all timed).
    pub steps: u64,
    /// The host read the loss back once every this many steps.
    pub log_every: u64,
    /// GPU time of each whole step (forward, loss, backward, optimizer: one compute
    /// pass), with percentiles and HDR histogram as for records.
    pub step_time: Timing,
    /// tokens_per_step / median step time, per second.
    pub tokens_per_second: f64,
    /// Model FLOPs of one step: the GEMMs that run, 6·B·Σ d_in·d_out less the first
    /// layer's input gradient (2·B·d_in·d_out), which is not computed. Elementwise work
    /// is timed but not counted.
    pub flops_per_step: u64,
    /// Achieved training throughput at the median step time: flops_per_step /
    /// step_time.median_ns / 1000, in 10¹² FLOP/s.
    pub tflops: f64,
    /// The best GEMM median throughput among this file's records of the same precision,
    /// in 10¹² FLOP/s.
    #[serde(default)]
    pub best_gemm_tflops: Option<f64>,
    /// tflops / best_gemm_tflops: the share of GEMM speed a whole training step keeps
    /// (1 − this is the training overhead).
    #[serde(default)]
    pub tflops_vs_best_gemm: Option<f64>,
    /// Mean loss of the first `log_every` steps (the first point of `loss_curve`; in files
    /// whose `target_window` is not `log_every`, the loss of the first step).
    pub loss_start: f64,
    /// Mean loss of the last `log_every` steps.
    pub loss_end: f64,
    /// target_fraction · loss_start.
    pub target_loss: f64,
    /// The fraction of loss_start the loss must fall below within `steps`.
    pub target_fraction: f64,
    /// The mean over this many steps is what is compared with the target, so a single
    /// easy batch does not count as reaching it: `log_every`, the window of each logged
    /// mean (10, a running mean over single steps, in older files).
    pub target_window: u64,
    /// The step of the first logged mean at most target_loss (time to quality,
    /// in steps); absent when it was never reached.
    #[serde(default)]
    pub steps_to_target: Option<u64>,
    /// GPU time of steps 1..=steps_to_target, in seconds.
    #[serde(default)]
    pub seconds_to_target: Option<f64>,
    /// Whether the target was reached within `steps` (the run fails otherwise).
    pub reached_target: bool,
    /// Mean loss of each window of `log_every` steps, ending at `step`.
    pub loss_curve: Vec<LossPoint>,
    /// One whole step on a small network compared with an f64 CPU implementation.
    pub gradient_check: GradientCheck,
    /// Power measured over the timed steps, where the run had a sensor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<super::power::PhasePower>,
}

/// The trained network.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Model {
    /// `mlp`.
    pub kind: String,
    /// Dense layers in order; all but the last are followed by the activation.
    pub layers: Vec<DenseLayer>,
    /// `gelu_tanh`.
    pub activation: String,
    /// `mse`.
    pub loss: String,
}

/// One dense layer `Y = X·W + b`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct DenseLayer {
    pub d_in: u32,
    pub d_out: u32,
}

impl DenseLayer {
    /// The layers of a network whose layer l maps dims[l] to dims[l + 1].
    pub fn chain(dims: &[u32]) -> Vec<DenseLayer> {
        dims.windows(2)
            .map(|w| DenseLayer {
                d_in: w[0],
                d_out: w[1],
            })
            .collect()
    }
}

/// The optimizer.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Optimizer {
    /// `adamw` or `sgd` (with momentum).
    pub name: String,
    pub learning_rate: f64,
    /// Decoupled weight decay (biases are not decayed).
    pub weight_decay: f64,
    /// AdamW β₁, or the SGD momentum.
    pub beta1: f64,
    /// AdamW β₂ (0 for SGD).
    pub beta2: f64,
    /// AdamW ε (0 for SGD).
    pub epsilon: f64,
}

/// The synthetic data.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct TrainingData {
    /// What the targets are, in words.
    pub task: String,
    /// Distinct batches uploaded once; step s trains on batch s mod batches.
    pub batches: u32,
}

/// A point of the loss curve.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct LossPoint {
    /// The last step of the window (1-based).
    pub step: u64,
    /// Mean loss over the window.
    pub loss: f64,
}

/// One training step checked against an f64 CPU implementation of the same network.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct GradientCheck {
    /// The network checked.
    pub layers: Vec<DenseLayer>,
    /// Tokens of the checked batch.
    pub tokens: u32,
    /// Learning rate of the checked step (the optimizer's other settings are the
    /// training run's).
    pub learning_rate: f64,
    /// Relative error of the loss.
    pub loss_rel_error: f64,
    /// ‖g − g_ref‖ / ‖g_ref‖ over every weight and bias gradient.
    pub gradient_rel_error: f64,
    /// The same for the optimizer's change of every parameter (new − old).
    pub update_rel_error: f64,
    /// The largest error that passes.
    pub tolerance: f64,
    /// All three errors are finite and at most the tolerance.
    pub passed: bool,
}
