//! Runs a suite on one device: for each problem, upload seeded inputs and compute the
//! f64 reference once; then for each kernel poison the output, run, verify, and only if
//! it passed, warm up and sample through the device's [`Meter`].
//!
//! The runner is split by what it does: [`schedule`] (budgets and timeouts), [`speeds`]
//! (the one table of measured speeds), [`records`] (building records), [`tuned`] (the
//! tuned kernel's configuration per problem), [`steps`] (the suite's square and
//! training-layer steps), [`repeat`] (repetitions) and [`sustain`] (sustained load).

mod records;
mod repeat;
pub mod schedule;
mod settings;
pub mod speeds;
mod steps;
mod sustain;
mod training;
mod tuned;
mod workload;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::{Case, Step, Suite, shard};
use crate::gpu::Gpu;
use crate::kernels::tune::{self, ShapeClass, Tuner};
use crate::kernels::{GemmBinding, GemmPipeline, KernelConfig, KernelSpec, Problem, Variant};
use crate::measure::gpu::Meter;
use crate::measure::{Outcome, Plan};
use crate::result::{Peaks, Record, Timing};
use crate::types::{Batch, ConfigSource, Layout, Precision};
use crate::verify::{self, ReferenceSample};

pub use super::observe::Observer;
pub use repeat::Repeats;
pub use schedule::DEFAULT_TUNE_BUDGET;
pub use settings::{MIN_TUNE_FLOPS, RunSettings};
pub use speeds::Speeds;
pub use sustain::WINDOW;
pub use workload::WorkloadRun;

/// Runs suites on one device.
pub struct Runner<'a> {
    gpu: &'a Gpu,
    meter: Meter<'a>,
    kernels: Vec<KernelSpec>,
    settings: RunSettings,
    pipelines: HashMap<(String, KernelConfig, Layout, Variant), Rc<GemmPipeline>>,
    /// Operand precisions every GEMM runs in, in order (f32 by default).
    precisions: Vec<Precision>,
    /// The precision and path of the tuned kernel's f16 GEMMs (shader cores or
    /// cooperative matrices), decided for the adapter before the run.
    f16_variant: Variant,
    /// Chooses (and, within the tuning budget, tunes) the tuned kernel's configurations.
    tuner: Tuner<'a>,
    /// (variant, layout, class) tuned during this run.
    tuned_now: HashSet<(String, Layout, ShapeClass)>,
    /// Warnings from loading the tuning cache, shown when the suite starts.
    pending_warnings: Vec<String>,
    /// The measured peaks each record's efficiency is computed against.
    peaks: Option<Peaks>,
    speeds: Speeds,
    schedule: schedule::Schedule,
    /// Largest bytes of one operand; larger products of training layers are split.
    operand_limit: u64,
    ids: records::Ids,
    /// Keep every problem's f64 reference for the next time the same problem runs (a
    /// workload's repetitions), instead of computing it again.
    cache_references: bool,
    /// Warn about each benchmark with noisy samples (off for a workload's later
    /// repetitions: the comparison flags them from the file).
    warn_noise: bool,
    references: HashMap<(Layout, crate::types::Shape, Batch, u64, Precision), Arc<ReferenceSample>>,
    /// A workload's MLP run, timed by a short probe before the run states its duration.
    mlp_probe: Option<std::time::Duration>,
    /// Records that failed verification.
    pub failures: Vec<String>,
    /// Why a training run failed (gradient check or loss target), if one did.
    pub training_failure: Option<String>,
}

impl<'a> Runner<'a> {
    pub fn new(
        gpu: &'a Gpu,
        kernels: Vec<KernelSpec>,
        settings: RunSettings,
    ) -> Result<Runner<'a>> {
        let meter = Meter::new(gpu, settings.timestamps)?;
        let needs_tuning = kernels.iter().any(KernelSpec::is_tuned);
        let (table, pending_warnings) = if needs_tuning {
            tune::Table::load(gpu)
        } else {
            (tune::Table::load_quiet(gpu), Vec::new())
        };
        Ok(Runner {
            gpu,
            meter,
            kernels,
            schedule: schedule::Schedule::new(&settings),
            settings,
            pipelines: HashMap::new(),
            precisions: vec![Precision::F32],
            f16_variant: Variant::simt(Precision::F16),
            tuner: Tuner::new(gpu, table),
            tuned_now: HashSet::new(),
            pending_warnings,
            peaks: None,
            speeds: Speeds::default(),
            operand_limit: shard::operand_limit(&gpu.limits()),
            ids: records::Ids::default(),
            cache_references: false,
            warn_noise: true,
            mlp_probe: None,
            references: HashMap::new(),
            failures: Vec::new(),
            training_failure: None,
        })
    }

    /// Splits products of training layers whose operands exceed `bytes` (the adapter's
    /// buffer limits by default); for tests of the split path on small shapes.
    pub fn with_operand_limit(mut self, bytes: u64) -> Runner<'a> {
        self.operand_limit = bytes.min(self.operand_limit);
        self
    }

    pub fn gpu(&self) -> &'a Gpu {
        self.gpu
    }

    pub fn settings(&self) -> &RunSettings {
        &self.settings
    }

    /// The kernels this runner was given.
    pub fn kernels(&self) -> Vec<KernelSpec> {
        self.kernels.clone()
    }

    /// The device's meter: every measurement of the run goes through it.
    pub fn meter(&mut self) -> &mut Meter<'a> {
        &mut self.meter
    }

    /// What the run has measured so far.
    pub fn speeds(&self) -> &Speeds {
        &self.speeds
    }

    /// The best median throughput of any record so far, in TFLOP/s.
    pub fn best_gemm_tflops(&self) -> Option<f64> {
        self.speeds.best_tflops()
    }

    /// The kernel with the highest median throughput of any record so far (only
    /// verified kernels are timed), and that throughput in FLOP per ns.
    pub fn fastest_kernel(&self) -> Option<(KernelSpec, f64)> {
        self.speeds.fastest(&self.kernels)
    }

    /// The clock measurements use now.
    pub fn timing_method(&self) -> crate::types::TimingMethod {
        self.meter.method()
    }

    /// Time the tuned kernel may spend tuning shape classes that are not in the cache
    /// (default: a quarter of the total budget); zero never tunes.
    pub fn set_tune_budget(&mut self, budget: Duration) {
        self.schedule.tune_budget = budget;
    }

    /// The measured peaks each record's `efficiency` is computed against.
    pub fn set_peaks(&mut self, peaks: &Peaks) {
        self.peaks = Some(peaks.clone());
    }

    /// Runs every GEMM in each of `precisions` (in order); f16 GEMMs of the tuned kernel
    /// take `f16` (the shader cores or cooperative matrices). The caller has checked that
    /// the adapter can run them.
    pub fn set_precisions(&mut self, precisions: &[Precision], f16: Variant) {
        if !precisions.is_empty() {
            self.precisions = precisions.to_vec();
        }
        self.f16_variant = f16;
    }

    /// The precisions every GEMM runs in.
    pub fn precisions(&self) -> &[Precision] {
        &self.precisions
    }

    /// The precision and path `spec` runs with for operands in `precision`: only the
    /// tuned kernel has a cooperative-matrix path.
    pub fn variant_for(&self, spec: &KernelSpec, precision: Precision) -> Variant {
        if precision == Precision::F16 && spec.is_tuned() {
            self.f16_variant
        } else {
            Variant::simt(precision)
        }
    }

    /// The tuning table (cache entries plus what this run tuned).
    pub fn tuning_table(&self) -> &tune::Table {
        &self.tuner.table
    }

    /// Uses `table` instead of the one loaded from the default cache directory (tests
    /// use a temporary directory).
    pub fn set_tuning_table(&mut self, table: tune::Table) {
        self.tuner.table = table;
    }

    /// Starts the run's clock and the record ids afresh, for another repetition.
    pub fn restart(&mut self) {
        self.schedule.restart();
        self.ids.clear();
    }

    /// Runs every step of a suite.
    pub fn run_suite(&mut self, suite: &Suite, obs: &mut dyn Observer) -> Result<()> {
        for w in std::mem::take(&mut self.pending_warnings) {
            obs.warn(w);
        }
        for (si, step) in suite.steps.iter().enumerate() {
            crate::interrupt::check()?;
            match step {
                Step::Cases(cases) => {
                    obs.planned((cases.len() * self.kernels.len()) as u64);
                    for case in cases {
                        let kernels = self.kernels.clone();
                        self.run_case(case, &kernels, obs)?;
                    }
                }
                Step::Squares {
                    sizes,
                    layouts,
                    budget_share,
                } => self.run_squares(sizes, layouts, *budget_share, obs)?,
                Step::Layers {
                    block,
                    tokens,
                    fastest_only,
                } => {
                    // Blocks that size their batch to the budget share what is left.
                    let sharing = suite.steps[si..]
                        .iter()
                        .filter(|s| matches!(s, Step::Layers { tokens: None, .. }))
                        .count()
                        .max(1);
                    self.run_layers(block, *tokens, *fastest_only, 1.0 / sharing as f64, obs)?;
                }
                Step::Train(options) => {
                    if let Err(e) = self.train(options, obs) {
                        if e.is::<super::train::TrainingFailed>() {
                            self.training_failure = Some(format!("{e:#}"));
                        } else {
                            return Err(e);
                        }
                    }
                }
            }
            self.pass_on_warnings(obs);
        }
        Ok(())
    }

    /// Shows the meter's fallback warnings, once each.
    fn pass_on_warnings(&mut self, obs: &mut dyn Observer) {
        for w in self.meter.take_warnings() {
            obs.warn(w);
        }
    }

    fn pipeline(
        &mut self,
        spec: &KernelSpec,
        layout: Layout,
        variant: Variant,
    ) -> Result<Rc<GemmPipeline>> {
        let key = (spec.name.clone(), spec.config, layout, variant);
        if let Some(p) = self.pipelines.get(&key) {
            return Ok(p.clone());
        }
        let p = Rc::new(GemmPipeline::new_with(self.gpu, spec, layout, variant)?);
        self.pipelines.insert(key, p.clone());
        Ok(p)
    }

    /// Verifies and times one problem with each kernel, in each of the run's precisions.
    pub fn run_case(
        &mut self,
        case: &Case,
        kernels: &[KernelSpec],
        obs: &mut dyn Observer,
    ) -> Result<()> {
        for precision in self.precisions.clone() {
            self.run_case_in(case, kernels, precision, obs)?;
        }
        Ok(())
    }

    /// The problem's pieces on the device with their references: one piece with exactly
    /// the inputs it always had, or several where the operands exceed the buffer limits
    /// (see `shard`).
    fn problems(&mut self, case: &Case, precision: Precision) -> Result<Vec<Problem>> {
        let t0 = Instant::now();
        let mut computed = 0.0f64;
        let plan = shard::plan_batched(case.shape, case.batch, self.operand_limit)
            .map_err(anyhow::Error::msg)?;
        let problems = plan
            .pieces()
            .into_iter()
            .enumerate()
            .map(|(i, (piece, batch))| {
                let seed = piece_seed(self.settings.seed, i);
                let key = (case.layout, piece, batch, seed, precision);
                let known = self.references.get(&key).cloned();
                if known.is_none() {
                    computed +=
                        verify::checked_entries_batched(piece, batch) as f64 * f64::from(piece.k);
                }
                let p =
                    Problem::batched(self.gpu, case.layout, piece, batch, seed, precision, known)?;
                if self.cache_references {
                    self.references.insert(key, p.reference.clone());
                }
                Ok(p)
            })
            .collect::<Result<Vec<_>>>()?;
        self.schedule.note_reference(computed, t0.elapsed());
        Ok(problems)
    }

    /// [`Runner::run_case`] in one precision.
    fn run_case_in(
        &mut self,
        case: &Case,
        kernels: &[KernelSpec],
        precision: Precision,
        obs: &mut dyn Observer,
    ) -> Result<()> {
        let (layout, shape, batch) = (case.layout, case.shape, case.batch);
        let flops = shape.checked_batch_flops(batch).unwrap_or(u64::MAX);
        // f32 records keep their labels and ids; other precisions say theirs.
        let suffix = match precision {
            Precision::F32 => String::new(),
            p => format!(" {p}"),
        };
        let shown = format!("{layout} {}{shape}", batch.prefix());
        obs.started(&format!("{shown}{suffix}: inputs and reference"));
        let problems = self.problems(case, precision)?;
        for spec in kernels {
            crate::interrupt::check()?;
            let label = format!("{shown} {}{suffix}", spec.name);
            let variant = self.variant_for(spec, precision);
            let (pipeline, source, class) =
                self.kernel_pipeline(spec, variant, &problems[0], obs)?;
            obs.started(&label);
            let bindings = problems
                .iter()
                .map(|p| p.bind(self.gpu, &pipeline))
                .collect::<Result<Vec<GemmBinding>>>()?;
            let first_timeout =
                schedule::first_timeout(&self.speeds, &self.settings, &spec.name, precision, flops);
            let mut checks = Vec::new();
            let mut first = Duration::ZERO;
            for (problem, binding) in problems.iter().zip(&bindings) {
                let (check, took) = problem
                    .verify(
                        self.gpu,
                        &pipeline,
                        binding,
                        precision.tolerance(),
                        first_timeout,
                    )
                    .with_context(|| format!("verifying {label}"))?;
                checks.push(check);
                first += took;
            }
            let check = verify::combine(&checks);
            let ran = records::Ran {
                spec,
                pipeline: &pipeline,
                source,
                class,
                precision,
                shards: problems.len(),
            };
            let id = self.ids.next(layout, (shape, batch), &spec.name, precision);
            let record =
                records::untimed(id, layout, (shape, batch), case.role.clone(), &ran, &check);
            if !check.passed {
                obs.warn(format!(
                    "{label}: verification FAILED ({}); it was not timed. This is a bug in \
                     the kernel or the driver; please report it with the result file",
                    check.failure()
                ));
                self.failures.push(record.id.clone());
                obs.finished(&record)?;
                continue;
            }
            if let Some(e) = check.rel_error
                && e > 0.5 * check.tolerance
            {
                obs.warn(format!(
                    "{label}: relative error {e:.2e} is within a factor 2 of the tolerance; \
                     results this close to the limit may fail on other inputs (--seed)"
                ));
            }
            let encode = |pass: &mut wgpu::ComputePass<'_>| {
                for b in &bindings {
                    pipeline.encode(pass, b);
                }
            };
            let plan = Plan::benchmark(
                self.settings.time_budget,
                self.settings.min_samples,
                self.settings.max_samples,
            )
            .after_first_run(first)
            .with_first_timeout(first_timeout)
            .with_timeout(schedule::timeout_policy(&self.settings));
            let sampled = match self
                .meter
                .sample(&encode, &plan)
                .with_context(|| format!("timing {label}"))?
            {
                Outcome::Sampled(s) => s,
                Outcome::GaveUp { .. } => unreachable!("benchmarks never give up"),
            };
            self.pass_on_warnings(obs);
            let timing = Timing::from_sampled(&sampled)?;
            self.speeds
                .record(&spec.name, precision, flops as f64 / timing.median_ns);
            if self.warn_noise && timing.cv > crate::stats::NOISY_CV {
                obs.warn(format!(
                    "{label}: noisy timing (coefficient of variation {:.0}%); close other \
                     programs using the GPU, or raise --time-budget for more samples",
                    timing.cv * 100.0
                ));
            }
            let cv = timing.cv;
            let mut record = records::timed(record, timing, self.peaks.as_ref());
            if let (Some(p), Some(tf)) = (self.meter.take_power(), &record.tflops) {
                record.power = Some(p.at_tflops(tf.median));
            }
            if let (Some(tf), Some(peak)) = (
                &record.tflops,
                self.peaks
                    .as_ref()
                    .and_then(|p| p.tflops_for(record.precision, record.kernel.path)),
            ) && let Some(w) =
                crate::workloads::peaks::above_peak(&record.id, tf.median, peak, cv)
            {
                obs.warn(w);
            }
            obs.finished(&record)?;
        }
        self.gpu.errors.check()?;
        Ok(())
    }

    /// The pipeline `spec` runs `problem` with: for the tuned kernel the configuration
    /// chosen for the problem's shape class (and where it came from), else the fixed one.
    fn kernel_pipeline(
        &mut self,
        spec: &KernelSpec,
        variant: Variant,
        problem: &Problem,
        obs: &mut dyn Observer,
    ) -> Result<(Rc<GemmPipeline>, ConfigSource, Option<ShapeClass>)> {
        if spec.is_tuned() {
            let (config, source, class) = self.choose_tuned(problem, variant, obs)?;
            Ok((
                self.tuner.pipeline(config, problem.layout)?,
                source,
                Some(class),
            ))
        } else {
            Ok((
                self.pipeline(spec, problem.layout, variant)?,
                ConfigSource::Fixed,
                None,
            ))
        }
    }
}

/// Passes everything on and keeps the finished records.
struct Tee<'o> {
    inner: &'o mut dyn Observer,
    records: Vec<Record>,
}

impl Observer for Tee<'_> {
    fn planned(&mut self, count: u64) {
        self.inner.planned(count);
    }
    fn started(&mut self, label: &str) {
        self.inner.started(label);
    }
    fn finished(&mut self, record: &Record) -> Result<()> {
        self.records.push(record.clone());
        self.inner.finished(record)
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
}

/// The seed of piece `i` of a split product: the run's seed for the first (so a product
/// that is not split has the inputs it always had), distinct seeds for the others.
fn piece_seed(seed: u64, i: usize) -> u64 {
    seed.wrapping_add((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}
