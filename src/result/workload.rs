//! The result file's `workload` section: which named, fixed workload the run did (its
//! name, version and the digest of its definition, so two files can be shown to have
//! done the same work), and what each repetition measured of it.
//!
//! A workload's definition does not depend on the device, the budget or the machine:
//! budgets change how many samples are taken, never what work is done.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::types::{Layer, Precision};

/// The named workload a run did.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct WorkloadRecord {
    /// Its name, e.g. `small` or `decoder-8b` (`flopcost workloads` lists them).
    pub name: String,
    /// Its version: a change to the definition is a new version.
    pub version: u32,
    /// `fnv1a64:` and 16 hex digits over the canonical JSON of `definition`.
    pub digest: String,
    /// What it is, in words.
    pub description: String,
    /// The work itself.
    pub definition: WorkloadDefinition,
    /// Repetitions asked for; each runs the whole workload with its own warm-up.
    pub repetitions: u32,
    /// The training step of the block's layers (the three products of every layer) in
    /// each finished repetition: the sum of its products' median times, ns, in run order.
    pub step_times_ns: Vec<f64>,
    /// Model FLOPs of that step: 6·B·Σ d_in·d_out.
    pub step_flops: u64,
    /// How long the run said it would take, before it started, in seconds (from then
    /// to the end).
    pub expected_s: f64,
    /// How long it took over the same span, in seconds; absent while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub took_s: Option<f64>,
}

/// A workload's definition: everything that decides what work is done.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct WorkloadDefinition {
    /// The block of dense layers whose training step is measured.
    pub block: String,
    pub layers: Vec<LayerDefinition>,
    /// Tokens per step (B).
    pub tokens: u32,
    /// Operand precision of every GEMM.
    pub precision: Precision,
    /// The GEMM kernel of every product.
    pub kernel: String,
    /// Seed of every input.
    pub seed: u64,
    /// The MLP trained on the GPU.
    pub mlp: MlpDefinition,
}

/// One dense layer of the block.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct LayerDefinition {
    pub name: String,
    pub d_in: u32,
    pub d_out: u32,
}

/// The MLP a workload trains: its shape and its whole training recipe.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct MlpDefinition {
    /// Dense layers.
    pub depth: u32,
    /// Width of every layer.
    pub width: u32,
    /// Tokens per step.
    pub batch: u32,
    pub steps: u64,
    /// `adamw` or `sgd`.
    pub optimizer: String,
    pub learning_rate: f64,
    /// The loss must fall below this fraction of its start within `steps`.
    pub target_fraction: f64,
    /// Distinct data batches.
    pub data_batches: u32,
    /// The host reads the losses back every this many steps.
    pub log_every: u64,
}

impl WorkloadDefinition {
    /// The digest of this definition: FNV-1a 64 over its canonical JSON.
    pub fn digest(&self) -> String {
        crate::util::digest(&serde_json::to_vec(self).unwrap_or_default())
    }

    /// The block's layers.
    pub fn layer_list(&self) -> Vec<Layer> {
        self.layers
            .iter()
            .map(|l| Layer::new(&l.name, l.d_in, l.d_out))
            .collect()
    }

    /// 6·B·Σ d_in·d_out, or `None` where it does not fit in 64 bits.
    pub fn step_flops(&self) -> Option<u64> {
        let mut sum: u64 = 0;
        for l in &self.layers {
            sum = sum.checked_add(u64::from(l.d_in).checked_mul(u64::from(l.d_out))?)?;
        }
        6u64.checked_mul(u64::from(self.tokens))?.checked_mul(sum)
    }

    /// The role a record of layer `layer`'s product `product` carries (as the runner
    /// writes it): `decoder-8b ffn.up 4096→14336 B=4096: forward`.
    pub fn role(&self, layer: &LayerDefinition, product: &str) -> String {
        format!(
            "{} {} {}→{} B={}: {product}",
            self.block, layer.name, layer.d_in, layer.d_out, self.tokens
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> WorkloadDefinition {
        WorkloadDefinition {
            block: "b".into(),
            layers: vec![LayerDefinition {
                name: "up".into(),
                d_in: 4,
                d_out: 8,
            }],
            tokens: 16,
            precision: Precision::F32,
            kernel: "tuned".into(),
            seed: 1,
            mlp: MlpDefinition {
                depth: 2,
                width: 8,
                batch: 8,
                steps: 10,
                optimizer: "adamw".into(),
                learning_rate: 1e-3,
                target_fraction: 0.3,
                data_batches: 2,
                log_every: 5,
            },
        }
    }

    #[test]
    fn the_digest_changes_with_any_part_of_the_work() {
        let a = def();
        assert_eq!(a.digest(), def().digest());
        assert!(a.digest().starts_with("fnv1a64:") && a.digest().len() == 24);
        let mut b = def();
        b.tokens = 32;
        assert_ne!(a.digest(), b.digest());
        let mut c = def();
        c.mlp.width = 16;
        assert_ne!(a.digest(), c.digest());
        assert_eq!(a.step_flops(), Some(6 * 16 * 32));
        let mut huge = def();
        huge.layers[0].d_in = u32::MAX;
        huge.layers[0].d_out = u32::MAX;
        huge.tokens = u32::MAX;
        assert_eq!(huge.step_flops(), None);
    }
}
