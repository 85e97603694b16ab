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
use crate::result::{
    AttentionDefinition, LayerDefinition, MlpDefinition, ModelDefinition, WorkloadDefinition,
};
use crate::types::{Layer, Precision};

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
    /// The block's attention (batched over heads), when the workload has it.
    pub attention: Option<AttentionDefinition>,
    /// The model's LM head, run once per step, when the workload has it.
    pub lm_head: Option<Layer>,
    /// The model the block is cut from (for the cost of a training token).
    pub model: Option<ModelDefinition>,
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

/// A small decoder layer (hidden 256, 4 query heads and 2 key/value heads of 64, FFN
/// 688: no multiple of any tile) at 256 tokens of one sequence, its attention, a 2048-word
/// LM head, and a 4 × 128 MLP trained for 300 steps: a software adapter on two CPU cores
/// does it, three repetitions included, in about a minute.
fn small_in(name: &'static str, version: u32, precision: Precision) -> Workload {
    Workload {
        name,
        version,
        description: "training step of a small decoder layer (hidden 256, grouped-query \
                      attention of 4 query and 2 key/value heads of 64, FFN 688) at 256 tokens \
                      of one sequence: its dense layers, attention's six products and a \
                      2048-word LM head; and a 4×128 MLP trained 300 steps to 0.3 of its \
                      starting loss",
        meant_for: "software adapters, CI, a first look",
        block: blocks::decoder_256_gqa(),
        tokens: 256,
        attention: Some(AttentionDefinition {
            heads: 4,
            kv_heads: 2,
            head_dim: 64,
            seq_len: 256,
        }),
        lm_head: Some(Layer::new("lm_head", 256, 2048)),
        model: Some(ModelDefinition {
            name: "small decoder".into(),
            layers: 8,
        }),
        mlp: mlp(4, 128, 300),
        precision,
        seed: 1,
        time_budget: Duration::from_millis(300),
    }
}

/// One decoder layer shaped like Llama-3-8B (QKV 4096→6144 for 32 query and 8 key/value
/// heads of 128, O 4096→4096, gate and up 4096→14336, down 14336→4096) at 4096 tokens of
/// one sequence, its attention's six products, the LM head 4096→128256 once, and a
/// 4 × 2048 MLP trained for 300 steps.
fn decoder_8b_in(name: &'static str, version: u32, precision: Precision) -> Workload {
    Workload {
        name,
        version,
        description: "training step of one Llama-3-8B decoder layer at 4096 tokens of one \
                      sequence (QKV 4096→6144, O, SwiGLU FFN 14336; attention's six products \
                      over 32 query and 8 key/value heads of 128, full and non-causal) and \
                      the LM head 4096→128256; and a 4×2048 MLP trained 300 steps to 0.3 of \
                      its starting loss",
        meant_for: "GPUs: the one machines are compared on",
        block: blocks::llama3_8b(),
        tokens: 4096,
        attention: Some(AttentionDefinition {
            heads: 32,
            kv_heads: 8,
            head_dim: 128,
            seq_len: 4096,
        }),
        lm_head: Some(Layer::new("lm_head", 4096, 128_256)),
        model: Some(ModelDefinition {
            name: "Llama-3-8B".into(),
            layers: 32,
        }),
        mlp: mlp(4, 2048, 300),
        precision,
        seed: 1,
        time_budget: Duration::from_secs(1),
    }
}

/// `small` v2: in mixed precision (f16 operands, f32 accumulation), as models train.
pub fn small() -> Workload {
    small_in("small", 2, Precision::F16)
}

/// `small-f32`: `small` in f32, for adapters without f16 in shaders.
pub fn small_f32() -> Workload {
    small_in("small-f32", 1, Precision::F32)
}

/// `decoder-8b` v2: in mixed precision (f16 operands, f32 accumulation), as models train.
pub fn decoder_8b() -> Workload {
    decoder_8b_in("decoder-8b", 2, Precision::F16)
}

/// `decoder-8b-f32`: `decoder-8b` in f32, for adapters without f16 in shaders.
pub fn decoder_8b_f32() -> Workload {
    decoder_8b_in("decoder-8b-f32", 1, Precision::F32)
}

/// Every named workload: the mixed-precision ones, then their f32 counterparts.
pub fn all() -> Vec<Workload> {
    vec![small(), decoder_8b(), small_f32(), decoder_8b_f32()]
}

/// The workload named `name`.
pub fn by_name(name: &str) -> Option<Workload> {
    all().into_iter().find(|w| w.name == name)
}

/// The f32 workload of the same work as `name` (itself for an f32 one).
pub fn f32_counterpart(name: &str) -> &str {
    match name {
        "small" => "small-f32",
        "decoder-8b" => "decoder-8b-f32",
        other => other,
    }
}

/// What `flopcost run` does without `--workload`: `decoder-8b` on a GPU, `small` on a
/// software adapter; in mixed precision where the adapter has f16 in shaders, else their
/// f32 counterparts. The second value says why, in words.
pub fn default_for(device: wgpu::DeviceType, f16: bool) -> (Workload, String) {
    let software = device == wgpu::DeviceType::Cpu;
    let w = match (software, f16) {
        (true, true) => small(),
        (true, false) => small_f32(),
        (false, true) => decoder_8b(),
        (false, false) => decoder_8b_f32(),
    };
    let kind = if software {
        "the workload for software adapters"
    } else {
        "the workload for GPUs"
    };
    let precision = if f16 {
        "in mixed precision, as the adapter has f16 in shaders"
    } else {
        "in f32, as the adapter has no f16 in shaders (wgpu feature SHADER_F16)"
    };
    (w, format!("{kind}, {precision}"))
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
            attention: self.attention.clone(),
            lm_head: self.lm_head.as_ref().map(|l| LayerDefinition {
                name: l.name.clone(),
                d_in: l.d_in,
                d_out: l.d_out,
            }),
            model: self.model.clone(),
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

    /// Products per repetition.
    pub fn products(&self) -> usize {
        self.definition().products().map_or(0, |p| p.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_are_fixed_and_distinct() {
        let names: Vec<&str> = all().iter().map(|w| w.name).collect();
        assert_eq!(
            names,
            ["small", "decoder-8b", "small-f32", "decoder-8b-f32"]
        );
        for w in all() {
            assert_eq!(w.digest(), by_name(w.name).unwrap().digest());
            assert_eq!(w.definition().kernel, KERNEL);
        }
        let digests: std::collections::HashSet<String> = all().iter().map(|w| w.digest()).collect();
        assert_eq!(digests.len(), 4);
        assert_eq!(small().precision, Precision::F16);
        assert_eq!(small_f32().precision, Precision::F32);
        let pick = |d, f16| default_for(d, f16).0.name;
        assert_eq!(pick(wgpu::DeviceType::Cpu, true), "small");
        assert_eq!(pick(wgpu::DeviceType::Cpu, false), "small-f32");
        assert_eq!(pick(wgpu::DeviceType::DiscreteGpu, true), "decoder-8b");
        assert_eq!(pick(wgpu::DeviceType::DiscreteGpu, false), "decoder-8b-f32");
    }

    #[test]
    fn decoder_8b_is_a_llama_3_8b_layer_with_attention_and_the_lm_head() {
        let w = decoder_8b();
        let d = w.definition();
        let p = d.products().unwrap();
        // Five dense layers' triplets, attention's six, the LM head's triplet.
        assert_eq!(p.len(), 15 + 6 + 3);
        // 6·B·Σ in·out of the dense layers, 12·L²·d·H of attention, 6·B·4096·128256.
        let dense: u64 = 6 * 4096 * (4096 * 6144 + 4096 * 4096 + 3 * 4096 * 14336);
        let attention: u64 = 12 * 4096 * 4096 * 128 * 32;
        let head: u64 = 6 * 4096 * 4096 * 128_256;
        assert_eq!(d.step_flops(), Some(dense + attention + head));
        // The figures of the definition: 0.82 TFLOP of attention, 12.9 of the LM head.
        assert!((attention as f64 / 1e12 - 0.82).abs() < 0.01);
        assert!((head as f64 / 1e12 - 12.9).abs() < 0.05);
        let mlp = crate::workloads::train::memory_bytes(&[2048; 5], 2048, 8);
        assert!(mlp < 1 << 30, "{mlp} bytes");
    }
}
