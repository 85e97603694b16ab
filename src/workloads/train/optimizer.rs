//! The optimizers a training step can run and their constants.

use crate::result::Optimizer;

/// The optimizers the step can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimizerKind {
    /// Adam with decoupled weight decay (Loshchilov & Hutter), as language models train.
    AdamW,
    /// Stochastic gradient descent with momentum.
    Sgd,
}

impl OptimizerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OptimizerKind::AdamW => "adamw",
            OptimizerKind::Sgd => "sgd",
        }
    }
}

/// An optimizer and its constants.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerConfig {
    pub kind: OptimizerKind,
    pub learning_rate: f64,
    /// Decoupled weight decay of the weights (biases are not decayed).
    pub weight_decay: f64,
    /// AdamW β₁, or the SGD momentum.
    pub beta1: f64,
    pub beta2: f64,
    pub epsilon: f64,
}

impl OptimizerConfig {
    /// AdamW with PyTorch's defaults (β 0.9, 0.999, ε 1e-8) and weight decay 0.01.
    pub fn adamw(learning_rate: f64) -> OptimizerConfig {
        OptimizerConfig {
            kind: OptimizerKind::AdamW,
            learning_rate,
            weight_decay: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        }
    }

    /// SGD with momentum 0.9 and no weight decay.
    pub fn sgd(learning_rate: f64) -> OptimizerConfig {
        OptimizerConfig {
            kind: OptimizerKind::Sgd,
            learning_rate,
            weight_decay: 0.0,
            beta1: 0.9,
            beta2: 0.0,
            epsilon: 0.0,
        }
    }

    /// The optimizer as a result file records it.
    pub fn record(&self) -> Optimizer {
        Optimizer {
            name: self.kind.as_str().into(),
            learning_rate: self.learning_rate,
            weight_decay: self.weight_decay,
            beta1: self.beta1,
            beta2: self.beta2,
            epsilon: self.epsilon,
        }
    }
}
