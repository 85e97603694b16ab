//! The measured throughputs a result file offers to the cost model, gathered in one
//! plain struct so the formulas never read result files themselves.

use std::collections::BTreeMap;

use crate::result::{Record, ResultFile, WorkBasis};
use crate::types::{Layout, Precision};

/// Throughputs in 10¹² FLOP/s.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Throughputs {
    /// Median throughput of the best verified GEMM record.
    pub gemm_tflops: Option<f64>,
    /// Its record id.
    pub gemm_record: Option<String>,
    /// Its precision, for the datasheet peak it is judged against.
    pub gemm_precision: Option<Precision>,
    /// The training run's throughput.
    pub training_tflops: Option<f64>,
    /// The named workload's training step, at the geometric mean of its repetitions.
    pub workload_tflops: Option<f64>,
    /// The workload's model step: (model, tokens per second, training overhead).
    pub model_step: Option<(String, f64, Option<f64>)>,
    /// All complete training triplets together.
    pub triplets_tflops: Option<f64>,
    /// Per triplet suite.
    pub suites: BTreeMap<String, f64>,
    /// The records `triplets_tflops` is made of (each block at its fastest kernel).
    pub triplet_records: Vec<String>,
}

impl Throughputs {
    /// Gathers the throughputs of a result file: the best GEMM, the training run's
    /// `training.tflops`, and per block of training triplets its `triplets[].total`
    /// (the fastest kernel's, where several kernels ran a block). Files without a
    /// `triplets` section (older ones) get per-suite figures recomputed from the records'
    /// roles.
    pub fn from_result(file: &ResultFile) -> Throughputs {
        Throughputs::gather(file, None)
    }

    /// [`Throughputs::from_result`] over the records, triplet summaries and training run
    /// of one operand precision only.
    pub fn from_result_in(file: &ResultFile, precision: Precision) -> Throughputs {
        Throughputs::gather(file, Some(precision))
    }

    /// The operand precisions a file measured (records and training runs), in order of
    /// first appearance.
    pub fn precisions(file: &ResultFile) -> Vec<Precision> {
        let mut out: Vec<Precision> = Vec::new();
        let all = file
            .records
            .iter()
            .map(|r| r.precision)
            .chain(file.trainings().map(|t| t.precision));
        for p in all {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }

    fn gather(file: &ResultFile, precision: Option<Precision>) -> Throughputs {
        let keep = |p: Precision| precision.is_none_or(|want| want == p);
        let records: Vec<Record> = file
            .records
            .iter()
            .filter(|r| keep(r.precision))
            .cloned()
            .collect();
        let triplets: Vec<&crate::result::TripletBlock> =
            file.triplets.iter().filter(|b| keep(b.precision)).collect();
        let training = match precision {
            None => file.training.as_ref(),
            Some(p) => file.trainings().find(|t| t.precision == p),
        };
        let best = crate::result::best_record(&records);
        let mut out = Throughputs {
            gemm_tflops: best.and_then(|r| r.tflops.as_ref()).map(|t| t.median),
            gemm_record: best.map(|r| r.id.clone()),
            gemm_precision: best.map(|r| r.precision),
            training_tflops: training.map(|t| t.tflops),
            workload_tflops: file
                .workload
                .as_ref()
                .filter(|w| precision.is_none_or(|p| p == w.definition.precision))
                .and_then(|w| {
                    let t = &w.step_times_ns;
                    (!t.is_empty() && t.iter().all(|x| x.is_finite() && *x > 0.0)).then(|| {
                        let mean = (t.iter().map(|x| x.ln()).sum::<f64>() / t.len() as f64).exp();
                        w.step_flops as f64 / mean / 1e3
                    })
                }),
            model_step: file
                .workload
                .as_ref()
                .filter(|w| precision.is_none_or(|p| p == w.definition.precision))
                .and_then(|w| w.model_step.as_ref())
                .filter(|m| m.tokens_per_second.is_finite() && m.tokens_per_second > 0.0)
                .map(|m| (m.model.clone(), m.tokens_per_second, m.training_overhead)),
            ..Throughputs::default()
        };
        if !triplets.is_empty() {
            let (mut all_flops, mut all_ns) = (0.0, 0.0);
            for b in &triplets {
                let t = &b.total;
                if !(t.step_ns.is_finite() && t.step_ns > 0.0) {
                    continue;
                }
                let best = out.suites.entry(b.block.clone()).or_insert(0.0);
                if t.tflops > *best {
                    *best = t.tflops;
                }
            }
            // All blocks together, each at its fastest kernel.
            for (name, _) in out.suites.clone() {
                if let Some(b) = triplets
                    .iter()
                    .filter(|b| b.block == name && b.total.step_ns > 0.0)
                    .min_by(|x, y| x.total.step_ns.total_cmp(&y.total.step_ns))
                {
                    all_flops += b.total.flops as f64;
                    all_ns += b.total.step_ns;
                    out.triplet_records
                        .extend(b.layers.iter().flat_map(|l| l.record_ids.iter().cloned()));
                }
            }
            if all_ns > 0.0 {
                out.triplets_tflops = Some(all_flops / all_ns / 1e3);
            }
            return out;
        }
        let (mut all_flops, mut all_ns) = (0.0, 0.0);
        for (suite, products) in triplet_suites(&records) {
            let flops: f64 = products.iter().map(|r| r.flops as f64).sum();
            let ns: f64 = products.iter().filter_map(|r| median_ns(r)).sum();
            if ns > 0.0 {
                out.suites.insert(suite, flops / ns / 1e3);
                all_flops += flops;
                all_ns += ns;
                out.triplet_records
                    .extend(products.iter().map(|r| r.id.clone()));
            }
        }
        if all_ns > 0.0 {
            out.triplets_tflops = Some(all_flops / all_ns / 1e3);
        }
        out
    }

    /// The throughput of training work and its basis: the named workload's training
    /// step where the file ran one, else the training run, else the training-layer GEMMs.
    pub fn training_work(&self) -> Option<(f64, WorkBasis)> {
        self.workload_tflops
            .map(|t| (t, WorkBasis::WorkloadStep))
            .or(self.training_tflops.map(|t| (t, WorkBasis::Training)))
            .or(self.triplets_tflops.map(|t| (t, WorkBasis::Triplets)))
    }
}

fn median_ns(r: &Record) -> Option<f64> {
    r.timing
        .as_ref()
        .filter(|_| r.verification.passed)
        .map(|t| t.median_ns)
        .filter(|ns| ns.is_finite() && *ns > 0.0)
}

/// The suite a record with a role belongs to: the role's text before `: `
/// (`dense 4096 proj 4096→4096 B=32: forward` → `dense 4096 proj 4096→4096 B=32`).
pub fn suite_of(r: &Record) -> Option<&str> {
    r.role
        .as_deref()
        .and_then(|role| role.rsplit_once(": "))
        .map(|(suite, _)| suite)
}

/// One product of a triplet: its layout and shape.
type Product = (Layout, u32, u32, u32);

/// Complete training triplets by suite: for each suite with a verified forward (NN),
/// input-gradient (NT) and weight-gradient (TN) product, the fastest verified record of
/// each product (several kernels may have run the same product).
pub fn triplet_suites(records: &[Record]) -> BTreeMap<String, Vec<&Record>> {
    let mut by_suite: BTreeMap<String, BTreeMap<Product, &Record>> = BTreeMap::new();
    for r in records {
        let (Some(suite), Some(ns)) = (suite_of(r), median_ns(r)) else {
            continue;
        };
        let slot = by_suite
            .entry(suite.to_string())
            .or_default()
            .entry((r.layout, r.m, r.n, r.k));
        match slot {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(r);
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                if median_ns(o.get()).is_none_or(|old| ns < old) {
                    o.insert(r);
                }
            }
        }
    }
    by_suite
        .into_iter()
        .filter(|(_, products)| {
            Layout::ALL
                .iter()
                .all(|l| products.keys().any(|(layout, ..)| layout == l))
        })
        .map(|(suite, products)| (suite, products.into_values().collect()))
        .collect()
}
