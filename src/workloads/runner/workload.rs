//! A named workload: repetitions of its block's training products and its MLP, each
//! with its own warm-up, scheduled to end when the run said it would.
//!
//! The duration is stated before the workload starts ([`Runner::expect_workload`]):
//! tuning the shape classes the cache lacks, then each repetition's fixed work
//! (references, uploads, verification and warm-up runs), estimated from the speeds known
//! so far (the tuning cache, else the measured FMA peak), and the MLP's run, timed by a
//! short probe of its steps, plus each product's sampling time. While it runs, the sampling time of every product is set so
//! that what is left ends on time: what each product's fixed work really cost in the
//! first repetition replaces its estimate for the others. Budgets change how many
//! samples are taken, never what work is done.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::{Observer, Runner};
use crate::kernels::tune::ShapeClass;
use crate::kernels::{KernelSpec, Variant};
use crate::result::workload::{Part, ProductDefinition};
use crate::result::{
    Record, RepeatRecord, Repeatability, TRAINING_REPEAT_ID, Training, TripletBlock,
};
use crate::types::{KernelPath, Layout};
use crate::workloads::named::Workload;
use crate::workloads::triplet::{self, BlockRecord};
use crate::workloads::{Case, train};

/// The speed a kernel is assumed to reach before anything is measured, as a fraction of
/// the measured FMA peak: GEMMs, and whole training steps (elementwise work, small
/// products). Low on purpose: an estimate that is too slow is absorbed by longer
/// sampling, one that is too fast cannot be made up.
const PRIOR_GEMM: f64 = 0.12;
const PRIOR_TRAINING: f64 = 0.05;

/// Without a peak either, 1 GFLOP/s.
const PRIOR_FLOP_PER_NS: f64 = 1.0;

/// Host cost of one submission and readback, assumed before any is measured.
const LAUNCH: Duration = Duration::from_millis(5);

/// Steps the MLP probe times (one readback batch of the small workload).
const PROBE_STEPS: u64 = 25;

/// Tuning time per shape class the cache lacks: software adapters, GPUs.
const TUNE_PER_CLASS_CPU: Duration = Duration::from_secs(2);
const TUNE_PER_CLASS_GPU: Duration = Duration::from_secs(8);

/// The sampling time of a product may shrink to a third of the workload's, or grow to
/// six times it, to end on time.
const SHRINK: u32 = 3;
const GROW: u32 = 6;

/// What the workload run measured, besides the records and sections the observer got
/// for the first repetition.
pub struct WorkloadRun {
    /// Each repetition's training step of the block: the sum of its products' medians.
    pub step_times_ns: Vec<f64>,
    /// The model's step at those medians, where the workload names a model.
    pub model_step: Option<crate::result::ModelStep>,
    /// Where the products ran (`kernel.path`), in run order.
    pub paths: Vec<KernelPath>,
    /// Every product's and the MLP's medians and histograms across repetitions (absent
    /// with one repetition).
    pub repeatability: Option<Repeatability>,
    /// From the start of [`Runner::run_workload`] to its end.
    pub took: Duration,
}

impl Runner<'_> {
    /// The workload's products in run order (its definition's).
    fn products(w: &Workload) -> Vec<ProductDefinition> {
        w.definition().products().unwrap_or_default()
    }

    fn workload_kernel(&self) -> Option<KernelSpec> {
        self.kernels.iter().find(|k| k.is_tuned()).cloned()
    }

    /// The variant the workload's products run in: its precision, on cooperative
    /// matrices where the run's f16 plan says so.
    fn workload_variant(&self, w: &Workload) -> Variant {
        match self.workload_kernel() {
            Some(k) => self.variant_for(&k, w.precision),
            None => Variant::simt(w.precision),
        }
    }

    /// Shape classes of the workload's products that the tuning cache lacks and that a
    /// run would tune.
    fn untuned_classes(&self, w: &Workload) -> usize {
        let variant = self.workload_variant(w);
        let mut missing: Vec<(Layout, ShapeClass)> = Vec::new();
        for p in Self::products(w) {
            let class = ShapeClass::of_batched(p.shape, p.batch);
            let flops = p.shape.checked_batch_flops(p.batch).unwrap_or(u64::MAX);
            if flops >= super::MIN_TUNE_FLOPS
                && self.tuner.table.get(variant, p.layout, class).is_none()
                && !missing.contains(&(p.layout, class))
            {
                missing.push((p.layout, class));
            }
        }
        missing.len()
    }

    /// Speed of the tuned kernel in FLOP per ns: measured, else the prior.
    fn speed(&self, w: &Workload, prior: f64) -> f64 {
        let path = self.workload_variant(w).path();
        self.speeds
            .rate(super::super::named::KERNEL, w.precision)
            .unwrap_or_else(|| {
                self.peaks
                    .as_ref()
                    .and_then(|p| p.tflops_for(w.precision, Some(path)))
                    .map_or(PRIOR_FLOP_PER_NS, |tf| prior * tf * 1e3)
            })
    }

    /// Fixed work of one product (everything but its sampling): the CPU reference,
    /// uploads, the verification run and warm-up runs.
    fn product_fixed(&self, w: &Workload, p: &ProductDefinition) -> Duration {
        let flops = p.shape.checked_batch_flops(p.batch).unwrap_or(u64::MAX);
        let run = Duration::from_secs_f64(flops as f64 / self.speed(w, PRIOR_GEMM) * 1e-9);
        let b = u64::from(p.batch.count);
        let elements = b * (p.shape.a_len() + p.shape.c_len())
            + u64::from(p.batch.b_count()) * p.shape.b_len();
        let bytes = w.precision.bytes() * elements + 4 * b * p.shape.c_len();
        self.schedule.reference_estimate_batched(p.shape, p.batch)
            + Duration::from_secs_f64(bytes as f64 / 1e9)
            + 3 * (run + LAUNCH)
            + w.time_budget / 10
    }

    /// One MLP training run: its gradient check, data and steps; the probe's measurement
    /// when there is one.
    fn mlp_time(&self, w: &Workload) -> Duration {
        if let Some(t) = self.mlp_probe {
            return t;
        }
        let dims = vec![w.mlp.width; w.mlp.depth as usize + 1];
        let flops = train::flops_per_step(&dims, w.mlp.batch) as f64;
        let step = flops / (self.speed(w, PRIOR_GEMM) * PRIOR_TRAINING / PRIOR_GEMM) * 1e-9;
        let batches = w.mlp.steps.div_ceil(w.mlp.log_every.max(1));
        Duration::from_secs_f64(step * w.mlp.steps as f64)
            + (batches as u32) * LAUNCH
            + Duration::from_millis(500)
    }

    /// How long `repetitions` of `w` will take from now, tuning included. The MLP's run
    /// is timed first by a probe ([`Runner::probe_training`]): on a shared machine its steps can
    /// take twice what the GEMM speeds predict, and it is fixed work that shorter
    /// sampling cannot make up. Without the probe (it failed: the run will say why) the
    /// estimate comes from the speeds.
    pub fn expect_workload(&mut self, w: &Workload, repetitions: u32) -> Duration {
        self.mlp_probe = self
            .probe_training(&w.train_options(), w.precision, PROBE_STEPS)
            .ok()
            .map(|p| p.setup + p.per_step * w.mlp.steps as u32);
        let per_class = if self.gpu.is_software() {
            TUNE_PER_CLASS_CPU
        } else {
            TUNE_PER_CLASS_GPU
        };
        let tuning = per_class * self.untuned_classes(w) as u32;
        let rep: Duration = Self::products(w)
            .iter()
            .map(|p| self.product_fixed(w, p) + w.time_budget)
            .sum::<Duration>()
            + self.mlp_time(w);
        tuning + rep * repetitions
    }

    /// Runs `repetitions` of `w`, to end `expected` after it starts. The first
    /// repetition's records, triplet summary and training run go to `obs` as in any
    /// suite; the others' medians and histograms come back in the [`WorkloadRun`].
    pub fn run_workload(
        &mut self,
        w: &Workload,
        repetitions: u32,
        expected: Duration,
        threshold: f64,
        obs: &mut dyn Observer,
    ) -> Result<WorkloadRun> {
        let start = Instant::now();
        let end = start + expected;
        let Some(kernel) = self.workload_kernel() else {
            anyhow::bail!("a workload runs the tuned kernel; it is not among --kernel");
        };
        let kernels = vec![kernel];
        let products = Self::products(w);
        let per_class = if self.gpu.is_software() {
            TUNE_PER_CLASS_CPU
        } else {
            TUNE_PER_CLASS_GPU
        };
        self.schedule.tune_budget = per_class * self.untuned_classes(w) as u32;
        self.schedule.tune_used = Duration::ZERO;
        self.cache_references = true;
        // What each product's fixed work and the MLP run cost, once measured.
        let mut fixed: Vec<Option<Duration>> = vec![None; products.len()];
        let mut mlp: Option<Duration> = None;
        let mut medians: BTreeMap<String, (Vec<f64>, Vec<String>)> = BTreeMap::new();
        let mut step_times = Vec::new();
        let mut all_medians: Vec<Vec<f64>> = Vec::new();
        let mut paths: Vec<KernelPath> = Vec::new();
        let mut first_training: Option<Training> = None;
        let default_budget = w.time_budget;
        let options = w.train_options();
        for rep in 0..repetitions {
            crate::interrupt::check()?;
            self.restart();
            self.warn_noise = rep == 0;
            obs.note(format!(
                "workload {} v{}: repetition {} of {repetitions}",
                w.name,
                w.version,
                rep + 1
            ));
            let mut collect = Collect {
                inner: &mut *obs,
                first: rep == 0,
                records: Vec::new(),
                training: None,
            };
            let mut done: Vec<BlockRecord> = Vec::new();
            // This repetition's median of each product, in definition order.
            let mut rep_medians: Vec<Option<f64>> = vec![None; products.len()];
            collect.planned(products.len() as u64);
            for (pi, product) in products.iter().enumerate() {
                // What is left after this product, at the best estimates so far.
                let fixed_of = |this: &Runner, i: usize| {
                    fixed[i].unwrap_or_else(|| this.product_fixed(w, &products[i]))
                };
                let mlp_left = mlp.unwrap_or_else(|| self.mlp_time(w));
                let reps_after = repetitions - rep - 1;
                let later: Duration = (pi + 1..products.len())
                    .map(|i| fixed_of(self, i))
                    .sum::<Duration>()
                    + mlp_left
                    + reps_after
                        * ((0..products.len())
                            .map(|i| fixed_of(self, i))
                            .sum::<Duration>()
                            + mlp_left);
                let samplings_left =
                    (products.len() - pi) as u32 + reps_after * products.len() as u32;
                let left = end
                    .saturating_duration_since(Instant::now())
                    .saturating_sub(later + fixed_of(self, pi));
                let budget = (left / samplings_left.max(1))
                    .clamp(default_budget / SHRINK, default_budget * GROW);
                self.settings.time_budget = budget;
                let case = Case {
                    layout: product.layout,
                    shape: product.shape,
                    batch: product.batch,
                    role: Some(product.role.clone()),
                };
                let t0 = Instant::now();
                let before = collect.records.len();
                self.run_case(&case, &kernels, &mut collect)?;
                fixed[pi] = Some(t0.elapsed().saturating_sub(budget));
                for r in &collect.records[before..] {
                    let path = r.kernel.path.unwrap_or(KernelPath::Simt);
                    if !paths.contains(&path) {
                        paths.push(path);
                    }
                    rep_medians[pi] = r.timing.as_ref().map(|t| t.median_ns);
                    if let Part::Layer(li) = product.part {
                        done.push((li, product.layout, r.clone()));
                    }
                }
            }
            if rep == 0 {
                for s in triplet::summarize(&w.block, w.tokens, &done) {
                    collect.inner.triplets(&s)?;
                }
            }
            // A repetition with a product that failed verification has no step time, and
            // neither have the ones after it (step times are in repetition order).
            if let Some(m) = rep_medians.into_iter().collect::<Option<Vec<f64>>>()
                && step_times.len() == rep as usize
            {
                step_times.push(m.iter().sum());
                all_medians.push(m);
            }
            let t0 = Instant::now();
            if let Err(e) = self.train(&options, &mut collect) {
                if e.is::<train::TrainingFailed>() {
                    self.training_failure = Some(format!("{e:#}"));
                } else {
                    return Err(e);
                }
            }
            mlp = Some(t0.elapsed());
            self.pass_on_warnings(collect.inner);
            let Collect {
                records, training, ..
            } = collect;
            for r in records {
                if let Some(t) = r.timing {
                    let e = medians.entry(r.id).or_default();
                    e.0.push(t.median_ns);
                    e.1.push(t.histogram);
                }
            }
            if rep == 0 {
                first_training = training.clone();
            }
            if let Some(t) = training {
                let e = medians.entry(TRAINING_REPEAT_ID.into()).or_default();
                e.0.push(t.step_time.median_ns);
                e.1.push(t.step_time.histogram);
            }
            if self.training_failure.is_some() {
                break;
            }
        }
        self.settings.time_budget = default_budget;
        self.cache_references = false;
        self.warn_noise = true;
        let repeatability = (repetitions > 1).then(|| {
            let records: Vec<RepeatRecord> = medians
                .into_iter()
                .filter(|(_, (m, _))| m.len() > 1)
                .map(|(id, (m, h))| {
                    let mut r = RepeatRecord::new(id, m, threshold);
                    r.histograms = h;
                    r
                })
                .collect();
            Repeatability {
                repeats: repetitions,
                threshold,
                flagged: records.iter().filter(|r| r.flagged).count() as u32,
                records,
            }
        });
        if let Some(r) = &repeatability {
            super::repeat::warn_flagged(r, obs);
        }
        let overhead = first_training
            .as_ref()
            .and_then(|t| Some(t.best_gemm_tflops? / t.tflops))
            .filter(|x| x.is_finite());
        Ok(WorkloadRun {
            model_step: w.definition().model_step(&all_medians, overhead),
            paths,
            step_times_ns: step_times,
            repeatability,
            took: start.elapsed(),
        })
    }
}

/// Passes a repetition on: the first one's records and training run reach the inner
/// observer (the file), every one's are kept for the repeatability section.
struct Collect<'o> {
    inner: &'o mut dyn Observer,
    first: bool,
    records: Vec<Record>,
    training: Option<Training>,
}

impl Observer for Collect<'_> {
    fn planned(&mut self, count: u64) {
        self.inner.planned(count);
    }
    fn started(&mut self, label: &str) {
        self.inner.started(label);
    }
    fn finished(&mut self, record: &Record) -> Result<()> {
        self.records.push(record.clone());
        if self.first {
            self.inner.finished(record)
        } else {
            self.inner.repeated(record);
            Ok(())
        }
    }
    fn skipped(&mut self, label: &str, why: &str) {
        self.inner.skipped(label, why);
    }
    fn warn(&mut self, message: String) {
        self.inner.warn(message);
    }
    fn note(&mut self, message: String) {
        self.inner.note(message);
    }
    fn triplets(&mut self, _block: &TripletBlock) -> Result<()> {
        Ok(())
    }
    fn training(&mut self, section: &Training) -> Result<()> {
        self.training = Some(section.clone());
        if self.first {
            self.inner.training(section)
        } else {
            Ok(())
        }
    }
}
