//! Named, fixed workloads: the work a comparison's headline is about.
//!
//! A workload is a definition that no device, budget or machine changes: the layers of a
//! block and their token batch (whose three training products are measured), the MLP
//! trained on the GPU with its whole recipe, the precision, the kernel and the seed.
//! Files record its name, version and the digest of its definition, and `compare`
//! headlines two files only when all three match. Budgets change how many samples are
//! taken, never what work is done (MLPerf's rule: the work is fixed, the time varies).

use std::time::Duration;

use super::blocks::{self, Block};
use super::train::{OptimizerKind, TrainOptions, default_learning_rate};
use super::{Step, Suite};
use crate::result::{LayerDefinition, MlpDefinition, WorkloadDefinition};
use crate::types::Precision;

/// Repetitions of a workload run when `--repeat` is not given.
pub const DEFAULT_REPETITIONS: u32 = 3;

/// One named workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    pub name: &'static str,
    pub version: u32,
    pub description: &'static str,
    /// Who it is for, in a few words (`flopcost workloads` shows it).
    pub meant_for: &'static str,
    pub block: Block,
    pub tokens: u32,
    pub mlp: MlpDefinition,
    pub precision: Precision,
    pub seed: u64,
    /// Sampling time of each product per repetition (not part of the work).
    pub time_budget: Duration,
}

/// The kernel every workload runs its products with.
pub const KERNEL: &str = "tuned";

fn mlp(depth: u32, width: u32, steps: u64) -> MlpDefinition {
    MlpDefinition {
        depth,
        width,
        batch: width,
        steps,
        optimizer: OptimizerKind::AdamW.as_str().into(),
        learning_rate: default_learning_rate(OptimizerKind::AdamW, width),
        target_fraction: super::train::DEFAULT_TARGET_FRACTION,
        data_batches: 8,
        log_every: 25,
    }
}

/// `small`: a decoder block of hidden 256 (FFN 688, no multiple of any tile) at 256
/// tokens and a 4 × 128 MLP trained for 300 steps: a software adapter on two CPU cores
/// does it, three repetitions included, in about a minute.
pub fn small() -> Workload {
    Workload {
        name: "small",
        version: 1,
        description: "training step of the dense layers of a small decoder block (hidden 256, \
                      FFN 688) at 256 tokens, and a 4×128 MLP trained 300 steps to 0.3 of its \
                      starting loss",
        meant_for: "software adapters, CI, a first look",
        block: blocks::decoder_256(),
        tokens: 256,
        mlp: mlp(4, 128, 300),
        precision: Precision::F32,
        seed: 1,
        time_budget: Duration::from_millis(300),
    }
}

/// `decoder-8b`: the five dense layers of a 7–8B decoder block (fused QKV 4096→12288,
/// O 4096→4096, gate and up 4096→14336, down 14336→4096) at 4096 tokens, and a 4 × 2048
/// MLP trained for 300 steps; its largest product's operands and output take 0.75 GB,
/// so it fits any GPU with 8 GB.
pub fn decoder_8b() -> Workload {
    Workload {
        name: "decoder-8b",
        version: 1,
        description: "training step of the five dense layers of a 7-8B decoder block (hidden \
                      4096, fused QKV 12288, SwiGLU FFN 14336) at 4096 tokens, and a 4×2048 \
                      MLP trained 300 steps to 0.3 of its starting loss",
        meant_for: "GPUs: the one machines are compared on",
        block: blocks::decoder_8b(),
        tokens: 4096,
        mlp: mlp(4, 2048, 300),
        precision: Precision::F32,
        seed: 1,
        time_budget: Duration::from_secs(1),
    }
}

/// Every named workload, the default for GPUs last.
pub fn all() -> Vec<Workload> {
    vec![small(), decoder_8b()]
}

/// The workload named `name`.
pub fn by_name(name: &str) -> Option<Workload> {
    all().into_iter().find(|w| w.name == name)
}

/// What `flopcost run` does without `--workload`: `decoder-8b` on a GPU, `small` on a
/// software adapter.
pub fn default_for(device: wgpu::DeviceType) -> Workload {
    match device {
        wgpu::DeviceType::Cpu => small(),
        _ => decoder_8b(),
    }
}

impl Workload {
    /// The definition files record and digest.
    pub fn definition(&self) -> WorkloadDefinition {
        WorkloadDefinition {
            block: self.block.name.clone(),
            layers: self
                .block
                .layers
                .iter()
                .map(|l| LayerDefinition {
                    name: l.name.clone(),
                    d_in: l.d_in,
                    d_out: l.d_out,
                })
                .collect(),
            tokens: self.tokens,
            precision: self.precision,
            kernel: KERNEL.into(),
            seed: self.seed,
            mlp: self.mlp.clone(),
        }
    }

    pub fn digest(&self) -> String {
        self.definition().digest()
    }

    /// How the MLP is trained, as the training step takes it.
    pub fn train_options(&self) -> TrainOptions {
        let m = &self.mlp;
        TrainOptions {
            depth: Some(m.depth),
            width: Some(m.width),
            batch: Some(m.batch),
            steps: m.steps,
            log_every: m.log_every,
            target_fraction: m.target_fraction,
            optimizer: OptimizerKind::AdamW,
            learning_rate: Some(m.learning_rate),
            data_batches: m.data_batches,
            measure_gemms: false,
        }
    }

    /// One repetition as a suite: the block's products, then the MLP.
    pub fn suite(&self) -> Suite {
        Suite {
            name: self.name.into(),
            steps: vec![
                Step::Layers {
                    block: self.block.clone(),
                    tokens: Some(self.tokens),
                    fastest_only: false,
                },
                Step::Train(self.train_options()),
            ],
            time_budget: self.time_budget,
            total_budget: Duration::from_secs(24 * 3600),
        }
    }

    /// Products of the block per repetition.
    pub fn products(&self) -> usize {
        3 * self.block.layers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_are_fixed_and_distinct() {
        let names: Vec<&str> = all().iter().map(|w| w.name).collect();
        assert_eq!(names, ["small", "decoder-8b"]);
        for w in all() {
            assert_eq!(w.digest(), by_name(w.name).unwrap().digest());
            assert_eq!(w.definition().kernel, KERNEL);
        }
        assert_ne!(small().digest(), decoder_8b().digest());
        assert_eq!(default_for(wgpu::DeviceType::Cpu).name, "small");
        assert_eq!(
            default_for(wgpu::DeviceType::DiscreteGpu).name,
            "decoder-8b"
        );
    }

    #[test]
    fn decoder_8b_fits_a_gpu_with_8_gb() {
        let w = decoder_8b();
        let largest = w
            .block
            .layers
            .iter()
            .flat_map(|l| l.triplet(w.tokens))
            .map(|(_, s)| 4 * (s.a_len() + s.b_len() + s.c_len()))
            .max()
            .unwrap();
        assert!(largest < 1 << 30, "{largest} bytes");
        // 6·B·Σ in·out: 6 · 4096 · 243,269,632 ≈ 6.0 TFLOP per step.
        assert_eq!(w.definition().step_flops(), Some(6 * 4096 * 243_269_632));
        let mlp = crate::workloads::train::memory_bytes(&[2048; 5], 2048, 8);
        assert!(mlp < 1 << 30, "{mlp} bytes");
    }
}
