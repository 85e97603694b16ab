//! The result file's `workload` section: which named, fixed workload the run did (its
//! name, version and the digest of its definition, so two files can be shown to have
//! done the same work), and what each repetition measured of it.
//!
//! A workload's definition does not depend on the device, the budget or the machine:
//! budgets change how many samples are taken, never what work is done.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::types::{KernelPath, Layer, Precision};

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
    /// The workload's training step (every product of its definition: the three of each
    /// dense layer, and attention's six and the LM head's three where it has them) in
    /// each finished repetition: the sum of its products' median times, ns, in run order.
    pub step_times_ns: Vec<f64>,
    /// Where the products' multiply-adds ran: the distinct `kernel.path` of its records
    /// in run order, `[coopmat]` (tensor cores) or `[simt]` (shader cores), both where
    /// some fell back (empty in older files and before the first product).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<KernelPath>,
    /// Model FLOPs of that step: the sum of its products' 2·M·N·K (6·B·Σ d_in·d_out for
    /// dense layers, 12·L²·d·H for attention).
    pub step_flops: u64,
    /// The training step of the whole model the workload is cut from, at these times
    /// (workloads that name a model): what a training token costs. Absent in others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_step: Option<ModelStep>,
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
    /// The block's attention, as a non-fused implementation computes it: six batched
    /// products over heads per layer (absent: the block's dense layers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention: Option<AttentionDefinition>,
    /// The LM head (hidden → vocabulary), run once per step (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lm_head: Option<LayerDefinition>,
    /// The model the block is cut from: its name and how many such blocks it has, which
    /// turn the step into the cost of a training token (absent: not cut from a model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelDefinition>,
}

/// Attention over one sequence of `seq_len` tokens: `heads` query heads of `head_dim`,
/// `kv_heads` key and value heads (grouped-query attention when fewer: `heads /
/// kv_heads` query heads read each). Full, non-causal products: the scores Q·Kᵀ and the
/// context P·V forward, and the gradients dP = dO·Vᵀ, dV = Pᵀ·dO, dQ = dS·K and
/// dK = dSᵀ·Q, 12·L²·d·H FLOPs in all.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct AttentionDefinition {
    pub heads: u32,
    pub kv_heads: u32,
    pub head_dim: u32,
    pub seq_len: u32,
}

/// The model a workload is cut from.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ModelDefinition {
    /// E.g. `Llama-3-8B`.
    pub name: String,
    /// Blocks like the workload's in the model; its LM head runs once per step.
    pub layers: u32,
}

/// The model's training step at a run's measured times: `layers` × (the block's products,
/// attention included) + the LM head, for `tokens` tokens. Matmul work only, at the
/// measured throughput: elementwise work (norms, activations, softmax, the optimizer),
/// communication and data loading are not in it; `training_overhead` measures how much
/// a whole training step adds on this device.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ModelStep {
    pub model: String,
    pub layers: u32,
    /// Tokens of one step (the workload's B).
    pub tokens: u32,
    /// The model's step in each finished repetition, ns: layers × the block's products'
    /// medians summed + the LM head's.
    pub step_times_ns: Vec<f64>,
    /// Model FLOPs of that step: layers × the block's step FLOPs + the LM head's.
    pub step_flops: u64,
    /// tokens / the geometric mean of `step_times_ns`, per second.
    pub tokens_per_second: f64,
    /// The workload's MLP: its whole training step (forward, loss, backward, optimizer)
    /// over the time of its GEMMs alone at the run's best GEMM speed in its precision; how
    /// much a training step adds to its matmuls on this device (absent without both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_overhead: Option<f64>,
}

/// `tokens` per step over the geometric mean of the step times, per second.
pub fn tokens_per_second(tokens: u32, step_times_ns: &[f64]) -> Option<f64> {
    Some(f64::from(tokens) / crate::stats::geo_mean(step_times_ns)? * 1e9)
}

impl WorkloadRecord {
    /// What the step's products ran in, in words: `f16 operands, f32 accumulation on
    /// tensor cores`.
    pub fn work_text(&self) -> String {
        format!(
            "{}{}",
            precision_text(self.definition.precision),
            match paths_text(&self.paths) {
                Some(p) => format!(" {p}"),
                None => String::new(),
            }
        )
    }
}

/// The arithmetic of a precision, in words.
pub fn precision_text(p: Precision) -> &'static str {
    match p {
        Precision::F16 => "f16 operands, f32 accumulation",
        Precision::F32 => "f32 operands and accumulation",
    }
}

/// Where products ran, in words: `on tensor cores`, `on shader cores`, `partly on tensor
/// cores`; `None` for no path recorded.
pub fn paths_text(paths: &[KernelPath]) -> Option<&'static str> {
    let coop = paths.contains(&KernelPath::Coopmat);
    let simt = paths.contains(&KernelPath::Simt);
    match (coop, simt) {
        (true, false) => Some("on tensor cores"),
        (false, true) => Some("on shader cores"),
        (true, true) => Some("partly on tensor cores, partly on shader cores"),
        (false, false) => None,
    }
}

/// The paths joined by `+`, as tables show them: `coopmat`, `simt`, `coopmat+simt`.
pub fn paths_key(paths: &[KernelPath]) -> String {
    paths
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join("+")
}

/// Which part of the step a product belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The dense layer of this index in `layers`.
    Layer(usize),
    Attention,
    LmHead,
}

/// One product of a workload's step, as the runner runs it and a reader finds its record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductDefinition {
    pub role: String,
    pub layout: crate::types::Layout,
    pub shape: crate::types::Shape,
    pub batch: crate::types::Batch,
    pub part: Part,
}

/// Attention's six products: (name in roles, layout, M, N, K as multiples of (L, d, g·L
/// where the group's heads are summed), per query head or per key and value head).
const ATTENTION: [(&str, crate::types::Layout, bool); 6] = [
    ("scores Q·Kᵀ", crate::types::Layout::Nt, false),
    ("context P·V", crate::types::Layout::Nn, false),
    ("dP = dO·Vᵀ", crate::types::Layout::Nt, false),
    ("dV = Pᵀ·dO", crate::types::Layout::Tn, true),
    ("dQ = dS·K", crate::types::Layout::Nn, false),
    ("dK = dSᵀ·Q", crate::types::Layout::Tn, true),
];

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

    /// How many times each product of [`WorkloadDefinition::products`] counts in the
    /// model's step: `model.layers` for the block's products and attention's, once for
    /// the LM head. `None` without a model.
    pub fn model_weights(&self) -> Option<Vec<u32>> {
        let layers = self.model.as_ref()?.layers;
        Some(
            self.products()?
                .iter()
                .map(|p| match p.part {
                    Part::LmHead => 1,
                    Part::Layer(_) | Part::Attention => layers,
                })
                .collect(),
        )
    }

    /// The model's step FLOPs: Σ weight · product FLOPs.
    pub fn model_step_flops(&self) -> Option<u64> {
        let mut sum: u64 = 0;
        for (p, w) in self.products()?.iter().zip(self.model_weights()?) {
            let f = p.shape.checked_batch_flops(p.batch)?;
            sum = sum.checked_add(f.checked_mul(u64::from(w))?)?;
        }
        Some(sum)
    }

    /// The model's step at the given medians of the products (in definition order), ns.
    pub fn model_step_ns(&self, medians: &[f64]) -> Option<f64> {
        let w = self.model_weights()?;
        (w.len() == medians.len())
            .then(|| w.iter().zip(medians).map(|(w, m)| f64::from(*w) * m).sum())
    }

    /// The model's training step from each repetition's product medians; `None` without
    /// a model or with a repetition missing a median.
    pub fn model_step(
        &self,
        medians: &[Vec<f64>],
        training_overhead: Option<f64>,
    ) -> Option<ModelStep> {
        let model = self.model.as_ref()?;
        let step_times_ns = medians
            .iter()
            .map(|m| self.model_step_ns(m))
            .collect::<Option<Vec<f64>>>()?;
        Some(ModelStep {
            model: model.name.clone(),
            layers: model.layers,
            tokens: self.tokens,
            step_flops: self.model_step_flops()?,
            tokens_per_second: tokens_per_second(self.tokens, &step_times_ns)?,
            step_times_ns,
            training_overhead,
        })
    }

    /// The block's layers.
    pub fn layer_list(&self) -> Vec<Layer> {
        self.layers
            .iter()
            .map(|l| Layer::new(&l.name, l.d_in, l.d_out))
            .collect()
    }

    /// The FLOPs of the step: the sum of its products' 2·M·N·K (6·B·Σ d_in·d_out for a
    /// block of dense layers), or `None` where it does not fit in 64 bits.
    pub fn step_flops(&self) -> Option<u64> {
        let mut sum: u64 = 0;
        for p in self.products()? {
            sum = sum.checked_add(p.shape.checked_batch_flops(p.batch)?)?;
        }
        Some(sum)
    }

    /// The step's products in the order a run does them: each dense layer's three, then
    /// attention's six, then the LM head's three. `None` for a definition no run can do
    /// (attention whose heads do not split into groups, or overflowing sizes).
    pub fn products(&self) -> Option<Vec<ProductDefinition>> {
        use crate::types::{Batch, Shape};
        let mut out = Vec::new();
        let names = ["forward", "input gradient", "weight gradient"];
        let dense = |l: &LayerDefinition, part: Part, out: &mut Vec<ProductDefinition>| {
            let layer = Layer::new(&l.name, l.d_in, l.d_out);
            for ((layout, shape), product) in layer.triplet(self.tokens).into_iter().zip(names) {
                out.push(ProductDefinition {
                    role: self.role(l, product),
                    layout,
                    shape,
                    batch: Batch::ONE,
                    part,
                });
            }
        };
        for (i, l) in self.layers.iter().enumerate() {
            dense(l, Part::Layer(i), &mut out);
        }
        if let Some(a) = &self.attention {
            let (h, kv, d, l) = (a.heads, a.kv_heads, a.head_dim, a.seq_len);
            if h == 0 || kv == 0 || d == 0 || l == 0 || !h.is_multiple_of(kv) {
                return None;
            }
            let g = h / kv;
            for (name, layout, per_kv) in ATTENTION {
                // Scores and dP are L×L over d; P·V and dQ are L×d over L; dV and dK sum
                // the group's query heads: L×d over g·L, per key and value head.
                let (shape, batch) = match (layout, per_kv) {
                    (crate::types::Layout::Nt, _) => (Shape::new(l, l, d), Batch::new(h, g)),
                    (_, false) => (Shape::new(l, d, l), Batch::new(h, g)),
                    (_, true) => (Shape::new(l, d, g.checked_mul(l)?), Batch::new(kv, 1)),
                };
                out.push(ProductDefinition {
                    role: self.attention_role(a, name),
                    layout,
                    shape,
                    batch,
                    part: Part::Attention,
                });
            }
        }
        if let Some(head) = &self.lm_head {
            dense(head, Part::LmHead, &mut out);
        }
        Some(out)
    }

    /// The role of one of attention's products: `decoder-8b attention 32×128 (8 kv)
    /// L=4096: scores Q·Kᵀ`.
    pub fn attention_role(&self, a: &AttentionDefinition, product: &str) -> String {
        format!(
            "{} attention {}×{} ({} kv) L={}: {product}",
            self.block, a.heads, a.head_dim, a.kv_heads, a.seq_len
        )
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
            attention: None,
            lm_head: None,
            model: None,
        }
    }

    #[test]
    fn attention_has_six_products_of_12_l2_d_h_flops() {
        let mut d = def();
        d.layers.clear();
        d.attention = Some(AttentionDefinition {
            heads: 32,
            kv_heads: 8,
            head_dim: 128,
            seq_len: 4096,
        });
        let p = d.products().unwrap();
        assert_eq!(p.len(), 6);
        assert_eq!(d.step_flops(), Some(12 * 4096 * 4096 * 128 * 32));
        // dV and dK sum each group's four query heads: one product per key/value head.
        assert_eq!(p[3].batch, crate::types::Batch::new(8, 1));
        assert_eq!(p[3].shape, crate::types::Shape::new(4096, 128, 4 * 4096));
        assert_eq!(p[0].batch, crate::types::Batch::new(32, 4));
        d.attention.as_mut().unwrap().kv_heads = 5;
        assert!(d.products().is_none());
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
