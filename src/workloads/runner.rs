//! Runs a suite: for each problem, upload seeded inputs, compute the f64 reference once,
//! then for each kernel poison the output, run, verify, and only if it passed, warm up
//! and sample until the time budget or the sample cap.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::problem::Problem;
use super::triplet::{self, BlockRecord};
use super::{Block, Case, Step, Suite, shard};
use crate::gpu::Gpu;
use crate::gpu::timing::{Timer, TimestampError};
use crate::kernels::tune::{self, ShapeClass, Source, Tuner};
use crate::kernels::{
    Family, GemmBinding, GemmPipeline, KernelSpec, Layout, Precision, Shape, Variant,
};
use crate::result::{
    KernelRecord, Peaks, Record, Tflops, Timing, Training, TripletBlock, Verification,
};
use crate::stats;
use crate::verify::{self, Check};

mod sustain;

/// The most a run spends tuning by default (`--tune-budget` overrides it).
pub const DEFAULT_TUNE_BUDGET: Duration = Duration::from_secs(120);

/// Problems below this many FLOPs are not tuned during a run (they use the cache or the
/// default): their time is launch overhead on any device, and tuning them measures
/// noise. `flopcost tune --shape` tunes them when asked.
pub const MIN_TUNE_FLOPS: u64 = 1 << 24;

/// How to sample.
#[derive(Clone, Debug)]
pub struct RunSettings {
    pub seed: u64,
    /// Sampling budget per benchmark.
    pub time_budget: Duration,
    /// Budget for the whole run; budgeted steps stop growing when it would be exceeded.
    pub total_budget: Duration,
    pub max_samples: u64,
    pub min_samples: u64,
    /// Use GPU timestamps when the adapter has them.
    pub timestamps: bool,
    /// Fixed timeout for every GPU wait; `None` derives one from the expected time.
    pub dispatch_timeout: Option<Duration>,
}

/// Receives what the runner does: progress, finished records, warnings.
pub trait Observer {
    /// More benchmarks are planned.
    fn planned(&mut self, count: u64);
    /// A benchmark is starting.
    fn started(&mut self, label: &str);
    /// A benchmark finished (verified and timed, or failed verification).
    fn finished(&mut self, record: &Record) -> Result<()>;
    /// A planned benchmark will not run.
    fn skipped(&mut self, label: &str, why: &str);
    /// Something the user should know, with its remedy.
    fn warn(&mut self, message: String);
    /// A line of information about what the run is doing (not a warning).
    fn note(&mut self, _message: String) {}
    /// A block of training layers finished: the cost of its training step, per kernel.
    fn triplets(&mut self, _block: &TripletBlock) -> Result<()> {
        Ok(())
    }
    /// A training run finished (whether or not it reached its target).
    fn training(&mut self, _section: &Training) -> Result<()> {
        Ok(())
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

/// Checks that a problem's buffers and dispatch fit the device; `Err` names the limit.
pub fn check_fits(
    limits: &wgpu::Limits,
    shape: Shape,
    kernels: &[KernelSpec],
) -> Result<(), String> {
    let max_binding = limits.max_storage_buffer_binding_size;
    for (name, len) in [
        ("A", shape.a_len()),
        ("B", shape.b_len()),
        ("C", shape.c_len()),
    ] {
        let bytes = len.saturating_mul(4);
        if bytes > limits.max_buffer_size {
            return Err(format!(
                "shape {shape}: {name} needs {bytes} bytes, over the adapter's max_buffer_size \
                 ({})",
                limits.max_buffer_size
            ));
        }
        if bytes > max_binding {
            return Err(format!(
                "shape {shape}: {name} needs {bytes} bytes, over the adapter's \
                 max_storage_buffer_binding_size ({max_binding})"
            ));
        }
    }
    for k in kernels {
        let (x, y, z) = k.dispatch(shape);
        let max = limits.max_compute_workgroups_per_dimension;
        if x.max(y).max(z) > max {
            return Err(format!(
                "shape {shape}: kernel '{}' needs {x}×{y} workgroups, over the adapter's \
                 max_compute_workgroups_per_dimension ({max})",
                k.name
            ));
        }
    }
    Ok(())
}

/// Runs suites on one device.
pub struct Runner<'a> {
    gpu: &'a Gpu,
    timer: Timer,
    kernels: Vec<KernelSpec>,
    settings: RunSettings,
    pipelines: HashMap<(String, Family, Layout, Variant), Rc<GemmPipeline>>,
    /// Operand precisions every GEMM runs in, in order (f32 by default).
    precisions: Vec<Precision>,
    /// The precision and path of the tuned kernel's f16 GEMMs (shader cores or
    /// cooperative matrices), decided for the adapter before the run.
    f16_variant: Variant,
    /// Chooses (and, within `tune_budget`, tunes) the tuned kernel's configurations.
    tuner: Tuner<'a>,
    tune_budget: Duration,
    tune_used: Duration,
    /// (layout, class) pairs tuned during this run.
    tuned_now: std::collections::HashSet<(String, Layout, ShapeClass)>,
    /// Warnings from loading the tuning cache, shown when the suite starts.
    pending_warnings: Vec<String>,
    /// Measured f32 FMA peak, TFLOP/s, for each record's efficiency.
    peak_f32_tflops: Option<f64>,
    /// Measured f16 FMA peak, TFLOP/s, for the efficiency of f16 records on the shader
    /// cores.
    peak_f16_tflops: Option<f64>,
    /// Last measured throughput per kernel and precision ([`rate_key`]), in FLOP per ns.
    rates: HashMap<String, f64>,
    /// Measured cost of the CPU reference, ns per multiply-add.
    ref_ns_per_mac: f64,
    started: Instant,
    /// Largest bytes of one operand; larger products of training layers are split.
    operand_limit: u64,
    /// Record ids given out so far.
    ids: HashSet<String>,
    /// Best median throughput of any record so far, in TFLOP/s.
    best_tflops: Option<f64>,
    /// The same per precision.
    best_tflops_in: HashMap<Precision, f64>,
    /// Best median throughput per kernel so far, in FLOP per ns.
    best_rates: HashMap<String, f64>,
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
        let timer = Timer::new(gpu, settings.timestamps)?;
        let needs_tuning = kernels.iter().any(|k| k.family == Family::Tuned);
        let (table, pending_warnings) = if needs_tuning {
            tune::Table::load(gpu)
        } else {
            (tune::Table::load_quiet(gpu), Vec::new())
        };
        let tune_budget = (settings.total_budget / 4).min(DEFAULT_TUNE_BUDGET);
        Ok(Runner {
            gpu,
            timer,
            kernels,
            settings,
            pipelines: HashMap::new(),
            precisions: vec![Precision::F32],
            f16_variant: Variant::simt(Precision::F16),
            tuner: Tuner::new(gpu, table),
            tune_budget,
            tune_used: Duration::ZERO,
            tuned_now: Default::default(),
            pending_warnings,
            peak_f32_tflops: None,
            peak_f16_tflops: None,
            rates: HashMap::new(),
            ref_ns_per_mac: 1.0,
            started: Instant::now(),
            operand_limit: shard::operand_limit(&gpu.limits()),
            ids: HashSet::new(),
            best_tflops: None,
            best_tflops_in: HashMap::new(),
            best_rates: HashMap::new(),
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

    /// The best median throughput of any record so far, in TFLOP/s.
    pub fn best_gemm_tflops(&self) -> Option<f64> {
        self.best_tflops
    }

    /// The best median throughput of any record in `precision` so far, in TFLOP/s.
    pub fn best_gemm_tflops_in(&self, precision: Precision) -> Option<f64> {
        self.best_tflops_in.get(&precision).copied()
    }

    /// The timer every benchmark of this runner uses.
    pub fn timer(&self) -> &Timer {
        &self.timer
    }

    /// The kernel with the highest median throughput of any record so far (only
    /// verified kernels are timed), and that throughput in FLOP per ns.
    pub fn fastest_kernel(&self) -> Option<(KernelSpec, f64)> {
        self.kernels
            .iter()
            .filter_map(|k| self.best_rates.get(&k.name).map(|r| (k.clone(), *r)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    pub fn timing_method(&self) -> &'static str {
        self.timer.method().as_str()
    }

    /// Time the tuned kernel may spend tuning shape classes that are not in the cache
    /// (default: a quarter of the total budget); zero never tunes.
    pub fn set_tune_budget(&mut self, budget: Duration) {
        self.tune_budget = budget;
    }

    /// The measured peaks each record's `efficiency` is computed against.
    pub fn set_peaks(&mut self, peaks: &Peaks) {
        self.peak_f32_tflops = Some(peaks.fma_f32_tflops).filter(|p| *p > 0.0);
        self.peak_f16_tflops = peaks.fma_f16_tflops.filter(|p| *p > 0.0);
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
        if precision == Precision::F16 && spec.family == Family::Tuned {
            self.f16_variant
        } else {
            Variant::simt(precision)
        }
    }

    /// Throughput of `kernel` in `precision` last measured, in FLOP per ns (another
    /// precision's when this one has not run yet).
    fn rate(&self, kernel: &str, precision: Precision) -> Option<f64> {
        self.rates
            .get(&rate_key(kernel, precision))
            .or_else(|| {
                Precision::ALL
                    .iter()
                    .find_map(|&p| self.rates.get(&rate_key(kernel, p)))
            })
            .copied()
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

    fn remaining(&self) -> Duration {
        self.settings
            .total_budget
            .saturating_sub(self.started.elapsed())
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
                    if let Err(e) = super::train::run_step(self, options, obs) {
                        if e.is::<super::train::TrainingFailed>() {
                            self.training_failure = Some(format!("{e:#}"));
                        } else {
                            return Err(e);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Expected seconds for one benchmark of `flops` with `kernel`, if its rate is known.
    fn estimate(&self, kernel: &str, shape: Shape) -> Option<Duration> {
        let mut total = Duration::ZERO;
        for &p in &self.precisions {
            let rate = self.rate(kernel, p)?;
            let d = shape.flops() as f64 / rate * 1e-9;
            let budget = self.settings.time_budget.as_secs_f64();
            let sampling = budget.max(d * self.settings.min_samples.min(3) as f64);
            total += Duration::from_secs_f64(3.0 * d + sampling);
        }
        Some(total)
    }

    /// Expected seconds of the CPU reference for a problem.
    fn reference_estimate(&self, shape: Shape) -> Duration {
        let macs = shape.c_len() * u64::from(shape.k);
        let checked = if macs <= verify::FULL_CHECK_MACS {
            macs
        } else {
            (2 * (u64::from(shape.m) + u64::from(shape.n)) + verify::RANDOM_SAMPLES as u64)
                * u64::from(shape.k)
        };
        Duration::from_secs_f64(
            checked as f64 * self.ref_ns_per_mac * 1e-9 * self.precisions.len() as f64,
        )
    }

    fn run_squares(
        &mut self,
        sizes: &[u32],
        layouts: &[Layout],
        share: f64,
        obs: &mut dyn Observer,
    ) -> Result<()> {
        let limits = self.gpu.limits();
        let deadline = self.settings.total_budget.mul_f64(share);
        let mut active: Vec<KernelSpec> = self.kernels.clone();
        obs.planned((sizes.len() * layouts.len() * active.len()) as u64);
        for (si, &size) in sizes.iter().enumerate() {
            let shape = Shape::cube(size);
            for &layout in layouts {
                let label = format!("{layout} {shape}");
                if let Err(why) = check_fits(&limits, shape, &active) {
                    let left = (sizes.len() - si) * layouts.len() * active.len();
                    for _ in 0..left {
                        obs.skipped(&label, &why);
                    }
                    obs.warn(format!("square sizes from {size} on were skipped: {why}"));
                    return Ok(());
                }
                let mut run_now = Vec::new();
                for k in std::mem::take(&mut active) {
                    let est = self.estimate(&k.name, shape).unwrap_or_default()
                        + self.reference_estimate(shape);
                    if si > 0 && self.started.elapsed() + est > deadline {
                        let left = (sizes.len() - si) * layouts.len();
                        for _ in 0..left {
                            obs.skipped(&format!("{label} {}", k.name), "over the time budget");
                        }
                        obs.warn(format!(
                            "kernel '{}': square sizes from {size} on were skipped, they would \
                             take about {:.0} s more than the total budget allows; raise \
                             --total-budget to run them",
                            k.name,
                            est.as_secs_f64()
                        ));
                    } else {
                        run_now.push(k);
                    }
                }
                if run_now.is_empty() {
                    return Ok(());
                }
                self.run_case(&Case::new(layout, shape), &run_now, obs)?;
                active = run_now;
            }
        }
        Ok(())
    }

    /// Runs the three products of every layer of a block and reports (and returns) the
    /// block's training-step cost per kernel.
    pub fn run_layers(
        &mut self,
        block: &Block,
        tokens: Option<u32>,
        fastest_only: bool,
        budget_share: f64,
        obs: &mut dyn Observer,
    ) -> Result<Vec<TripletBlock>> {
        let limits = self.gpu.limits();
        // Host memory bounds the inputs generated there; device memory, where the driver
        // reports it, bounds the buffers.
        let memory = shard::memory_budget().min(
            crate::gpu::memory::device_memory_bytes(&self.gpu.adapter)
                .map_or(u64::MAX, |m| m / 10 * 9),
        );
        let mut kernels = self.kernels.clone();
        if fastest_only
            && kernels.len() > 1
            && let Some((fastest, rate)) = self.fastest_kernel()
        {
            obs.note(format!(
                "{}: running kernel '{}' only, the fastest so far ({} TFLOP/s); pass --kernel to \
                 choose kernels",
                block.name,
                fastest.name,
                crate::report::fmt_sig(rate / 1e3, 3)
            ));
            kernels = vec![fastest];
        }
        let operand_limit = self.operand_limit;
        let fits = |b: u32| {
            block.layers.iter().all(|l| {
                l.triplet(b).iter().all(|(_, s)| {
                    shard::check(&limits, *s, &kernels, memory).is_ok()
                        && shard::plan(*s, operand_limit).is_ok()
                })
            })
        };
        let tokens = match tokens {
            Some(b) => b,
            None => {
                let budget = self.remaining().mul_f64(budget_share);
                let candidates: Vec<u32> = (4..=13).map(|p| 1u32 << p).rev().collect();
                let known = kernels
                    .iter()
                    .all(|k| self.rate(&k.name, Precision::F32).is_some());
                let chosen = candidates.iter().copied().find(|&b| {
                    fits(b)
                        && known
                        && block
                            .layers
                            .iter()
                            .flat_map(|l| l.triplet(b))
                            .map(|(_, s)| {
                                kernels
                                    .iter()
                                    .map(|k| self.estimate(&k.name, s).unwrap_or_default())
                                    .sum::<Duration>()
                                    + self.reference_estimate(s)
                            })
                            .sum::<Duration>()
                            <= budget
                });
                let b = chosen.unwrap_or(if known { 16 } else { 256 });
                let why = match chosen {
                    Some(_) => format!(
                        "the largest power of two that fits the device and {} s of the budget",
                        budget.as_secs()
                    ),
                    None if known => "the smallest batch tried; even it needs more than \
                                      the budget left"
                        .to_string(),
                    None => "no kernel speed is known yet to size the batch".to_string(),
                };
                obs.note(format!(
                    "{}: {b} tokens per step ({why}); set it with --tokens",
                    block.name
                ));
                b
            }
        };
        obs.planned((block.layers.len() * 3 * kernels.len()) as u64);
        let mut tee = Tee {
            inner: obs,
            records: Vec::new(),
        };
        let mut done: Vec<BlockRecord> = Vec::new();
        for (li, layer) in block.layers.iter().enumerate() {
            for (layout, shape) in layer.triplet(tokens) {
                let role = format!(
                    "{} {} {}→{} B={tokens}: {}",
                    block.name,
                    layer.name,
                    layer.d_in,
                    layer.d_out,
                    layout.role()
                );
                if let Err(why) = shard::check(&limits, shape, &kernels, memory)
                    .and_then(|_| shard::plan(shape, operand_limit))
                {
                    for k in &kernels {
                        tee.skipped(&format!("{layout} {shape} {}", k.name), &why);
                    }
                    tee.warn(format!("{role} was skipped: {why}"));
                    continue;
                }
                let case = Case {
                    layout,
                    shape,
                    role: Some(role),
                };
                let before = tee.records.len();
                self.run_case(&case, &kernels, &mut tee)?;
                for r in &tee.records[before..] {
                    done.push((li, layout, r.clone()));
                }
            }
        }
        let summaries = triplet::summarize(block, tokens, &done);
        for summary in &summaries {
            tee.inner.triplets(summary)?;
        }
        Ok(summaries)
    }

    fn pipeline(
        &mut self,
        spec: &KernelSpec,
        layout: Layout,
        variant: Variant,
    ) -> Result<Rc<GemmPipeline>> {
        let key = (spec.name.clone(), spec.family, layout, variant);
        if let Some(p) = self.pipelines.get(&key) {
            return Ok(p.clone());
        }
        let p = Rc::new(GemmPipeline::new_with(self.gpu, spec, layout, variant)?);
        self.pipelines.insert(key, p.clone());
        Ok(p)
    }

    /// The timeout for a wait on `runs` executions of `flops` with `kernel` (a
    /// [`rate_key`]).
    fn timeout(&self, kernel: &str, flops: u64, runs: u64) -> Duration {
        if let Some(t) = self.settings.dispatch_timeout {
            return t;
        }
        match self.rates.get(kernel) {
            // Ten times the expected time, and never under 30 s.
            Some(rate) => {
                Duration::from_secs_f64((10.0 * runs as f64 * flops as f64 / rate * 1e-9).max(30.0))
            }
            // First run of a kernel: allow for shader compilation and a slow device
            // (0.1 GFLOP/s, a tenth of a software rasteriser).
            None => Duration::from_secs_f64(60.0 + runs as f64 * flops as f64 / 1e8),
        }
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

    /// [`Runner::run_case`] in one precision.
    fn run_case_in(
        &mut self,
        case: &Case,
        kernels: &[KernelSpec],
        precision: Precision,
        obs: &mut dyn Observer,
    ) -> Result<()> {
        let Case {
            layout,
            shape,
            ref role,
        } = *case;
        // f32 records keep their labels and ids; other precisions say theirs.
        let suffix = match precision {
            Precision::F32 => String::new(),
            p => format!(" {p}"),
        };
        obs.started(&format!("{layout} {shape}{suffix}: inputs and reference"));
        let gpu = self.gpu;
        let t0 = Instant::now();
        // Products over the buffer limits run as independent pieces (see `shard`); a
        // product that fits is one piece with exactly the inputs it always had.
        let plan = shard::plan(shape, self.operand_limit).map_err(anyhow::Error::msg)?;
        let problems = plan
            .pieces()
            .into_iter()
            .enumerate()
            .map(|(i, piece)| {
                let seed = piece_seed(self.settings.seed, i);
                Problem::with_precision(gpu, layout, piece, seed, precision)
            })
            .collect::<Result<Vec<_>>>()?;
        let macs: f64 = problems
            .iter()
            .map(|p| p.reference.entries.len() as f64 * f64::from(p.shape.k))
            .sum();
        if macs > 1e6 {
            self.ref_ns_per_mac = t0.elapsed().as_nanos() as f64 / macs;
        }

        for spec in kernels {
            crate::interrupt::check()?;
            let label = format!("{layout} {shape} {}{suffix}", spec.name);
            let variant = self.variant_for(spec, precision);
            let (pipeline, source, class) =
                self.kernel_pipeline(spec, variant, &problems[0], obs)?;
            obs.started(&label);
            let flops = shape.flops();
            let key = rate_key(&spec.name, precision);
            let first_timeout = self.timeout(&key, flops, 1);
            let bindings = problems
                .iter()
                .map(|p| p.bind(gpu, &pipeline))
                .collect::<Result<Vec<GemmBinding>>>()?;
            let encode = |pass: &mut wgpu::ComputePass<'_>| {
                for b in &bindings {
                    pipeline.encode(pass, b);
                }
            };
            let mut checks = Vec::new();
            let mut first = Duration::ZERO;
            for (problem, binding) in problems.iter().zip(&bindings) {
                let (check, took) = problem
                    .verify(
                        gpu,
                        &pipeline,
                        binding,
                        precision.tolerance(),
                        first_timeout,
                    )
                    .with_context(|| format!("verifying {label}"))?;
                checks.push((check, problem));
                first += took;
            }
            let check = combine_checks(&checks);
            let mut id = format!("gemm-{layout}-{shape}-{}", spec.name);
            if precision != Precision::F32 {
                id = format!("{id}-{precision}");
            }
            if !self.ids.insert(id.clone()) {
                // The same product again (two layers of one shape): number the repeats.
                let base = id.clone();
                let mut n = 2;
                while !self.ids.insert(format!("{base}-{n}")) {
                    n += 1;
                }
                id = format!("{base}-{n}");
            }

            let mut record = Record {
                id,
                kind: "gemm".into(),
                precision: precision.as_str().into(),
                layout,
                m: shape.m,
                n: shape.n,
                k: shape.k,
                role: role.clone(),
                kernel: KernelRecord {
                    name: spec.name.clone(),
                    params: pipeline.spec.params().into_iter().collect(),
                    source: Some(source.as_str().into()),
                    shape_class: class.map(|c| c.to_string()),
                    path: Some(pipeline.variant.path().as_str().into()),
                },
                shards: (problems.len() > 1).then_some(problems.len() as u32),
                flops,
                verification: Verification {
                    rel_error: check.rel_error,
                    tolerance: check.tolerance,
                    passed: check.passed,
                    checked_entries: check.checked_entries,
                    method: if check.full { "full" } else { "sampled" }.into(),
                    unwritten_entries: check.unwritten_entries,
                },
                timing: None,
                tflops: None,
                efficiency: None,
            };
            if !check.passed {
                let why = match (check.unwritten_entries, check.rel_error) {
                    (u, _) if u > 0 => format!("{u} output entries were never written"),
                    (_, Some(e)) => format!(
                        "relative error {e:.3e} exceeds the tolerance {:.0e}",
                        check.tolerance
                    ),
                    (_, None) => "the output is not finite".into(),
                };
                obs.warn(format!(
                    "{label}: verification FAILED ({why}); it was not timed. This is a bug in \
                     the kernel or the driver; please report it with the result file"
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

            let timing = self.sample(&label, &key, flops, first, &encode, obs)?;
            let tflops = Tflops {
                median: flops as f64 / timing.median_ns / 1e3,
                best: flops as f64 / timing.min_ns / 1e3,
            };
            self.rates.insert(key, flops as f64 / timing.median_ns);
            self.best_tflops = Some(self.best_tflops.unwrap_or(0.0).max(tflops.median));
            let best_in = self.best_tflops_in.entry(precision).or_insert(0.0);
            *best_in = best_in.max(tflops.median);
            let best = self.best_rates.entry(spec.name.clone()).or_insert(0.0);
            *best = best.max(flops as f64 / timing.median_ns);
            if timing.cv > stats::NOISY_CV {
                obs.warn(format!(
                    "{label}: noisy timing (coefficient of variation {:.0}%); close other \
                     programs using the GPU, or raise --time-budget for more samples",
                    timing.cv * 100.0
                ));
            }
            // Against the measured FMA peak of the record's precision on the shader cores;
            // cooperative matrices have no measured peak, so their records have none.
            let peak = match (precision, pipeline.variant.coopmat) {
                (Precision::F32, _) => self.peak_f32_tflops,
                (Precision::F16, false) => self.peak_f16_tflops,
                (Precision::F16, true) => None,
            };
            record.efficiency = peak.map(|p| tflops.median / p);
            record.timing = Some(timing);
            record.tflops = Some(tflops);
            obs.finished(&record)?;
        }
        gpu.errors.check()?;
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
    ) -> Result<(Rc<GemmPipeline>, Source, Option<ShapeClass>)> {
        if spec.family == Family::Tuned {
            let (config, source, class) = self.choose_tuned(problem, variant, obs)?;
            Ok((
                self.tuner.pipeline(config, problem.layout)?,
                source,
                Some(class),
            ))
        } else {
            Ok((
                self.pipeline(spec, problem.layout, variant)?,
                Source::Fixed,
                None,
            ))
        }
    }

    /// The tuned kernel's configuration for a problem: the cache entry of its (layout,
    /// shape class); else, while the tuning budget lasts, tuned now on this problem (and
    /// saved to the cache); else the shape-based default.
    fn choose_tuned(
        &mut self,
        problem: &Problem,
        variant: Variant,
        obs: &mut dyn Observer,
    ) -> Result<(crate::kernels::BlockConfig, Source, ShapeClass)> {
        let (layout, shape) = (problem.layout, problem.shape);
        let class = ShapeClass::of(shape);
        let tuned_key = (variant.key(), layout, class);
        if let Some(e) = self.tuner.table.get(variant, layout, class) {
            let source = if self.tuned_now.contains(&tuned_key) {
                Source::Tuned
            } else {
                Source::Cache
            };
            return Ok((e.config, source, class));
        }
        let left = self.tune_budget.saturating_sub(self.tune_used);
        if left.is_zero() || shape.flops() < MIN_TUNE_FLOPS {
            return Ok((
                tune::heuristic(self.gpu, shape, variant),
                Source::Heuristic,
                class,
            ));
        }
        // A class gets at most a third of what is left, so later classes get time too.
        let budget = (left / 3).max(Duration::from_millis(1));
        let started = Instant::now();
        let mut progress = TuneProgress {
            obs: &mut *obs,
            label: format!("tuning {layout} {class} {} on {shape}", variant.key()),
            failures: Vec::new(),
        };
        let tuning = self
            .tuner
            .tune_variant(problem, variant, &self.timer, budget, &mut progress)
            .with_context(|| format!("tuning {layout} {shape}"))?;
        let failures = std::mem::take(&mut progress.failures);
        self.tune_used += started.elapsed();
        for f in failures {
            obs.warn(f);
        }
        match tuning.best {
            Some((config, _)) => {
                self.tuned_now.insert(tuned_key);
                if let Err(e) = self.tuner.table.save() {
                    obs.warn(format!(
                        "could not save the tuning cache: {e:#}; the next run tunes again"
                    ));
                }
                Ok((config, Source::Tuned, class))
            }
            None => {
                obs.warn(format!(
                    "tuning {layout} {class}: no candidate passed verification; running the \
                     default configuration, which will be verified like any other"
                ));
                Ok((
                    tune::heuristic(self.gpu, shape, variant),
                    Source::Heuristic,
                    class,
                ))
            }
        }
    }

    /// Warm-up, then samples until the budget or the cap.
    fn sample(
        &mut self,
        label: &str,
        kernel: &str,
        flops: u64,
        first: Duration,
        encode: &dyn Fn(&mut wgpu::ComputePass<'_>),
        obs: &mut dyn Observer,
    ) -> Result<Timing> {
        let gpu = self.gpu;
        let budget = self.settings.time_budget;
        // Warm-up: at least one run after the verified one, up to a tenth of the budget;
        // none when the verified run alone outlasted the budget (it was its own warm-up).
        let warm_start = Instant::now();
        let mut warmup_runs = 0u64;
        let mut last = first;
        while first <= budget
            && (warmup_runs == 0 || (warm_start.elapsed() < budget / 10 && warmup_runs < 50))
        {
            let t = self.timeout(kernel, flops, 1).max(last * 10);
            last = self
                .timer
                .run_once(gpu, encode, t)
                .with_context(|| format!("warming up {label}"))?;
            warmup_runs += 1;
        }
        let per_run = last.as_secs_f64().max(1e-7);
        // Few samples when one run is long; otherwise the configured minimum.
        let min_samples = if per_run * self.settings.min_samples as f64 > 2.0 * budget.as_secs_f64()
        {
            self.settings.min_samples.min(3)
        } else {
            self.settings.min_samples
        };
        let batch_target = (budget.as_secs_f64() / 10.0).clamp(0.005, 0.25);
        let mut samples: Vec<f64> = Vec::new();
        let start = Instant::now();
        while (samples.len() as u64) < self.settings.max_samples
            && ((samples.len() as u64) < min_samples || start.elapsed() < budget)
        {
            crate::interrupt::check()?;
            let left = self.settings.max_samples - samples.len() as u64;
            let n = ((batch_target / per_run) as u64)
                .clamp(1, left.min(crate::gpu::timing::MAX_BATCH as u64));
            let timeout = self.timeout(kernel, flops, n).max(last * (10 * n as u32));
            match self.timer.measure(gpu, n as usize, encode, timeout) {
                Ok(v) => samples.extend(v),
                Err(e) if e.is::<TimestampError>() => {
                    samples.clear();
                    obs.warn(format!(
                        "{e}; timing with the host clock from here on (it includes launch \
                         overhead)"
                    ));
                    self.timer = Timer::host();
                }
                Err(e) => return Err(e.context(format!("timing {label}"))),
            }
        }
        Timing::from_samples(self.timer.method().as_str(), &samples, warmup_runs)
    }
}

/// Shows tuning progress through an [`Observer`] and collects discarded candidates.
struct TuneProgress<'o> {
    obs: &'o mut dyn Observer,
    label: String,
    failures: Vec<String>,
}

impl tune::TuneObserver for TuneProgress<'_> {
    fn trying(&mut self, index: usize, total: usize, config: &crate::kernels::BlockConfig) {
        self.obs.started(&format!(
            "{}: candidate {}/{total} {config}",
            self.label,
            index + 1
        ));
    }

    fn tried(&mut self, trial: &tune::Trial) {
        if let tune::Outcome::Failed(why) = &trial.outcome {
            self.failures.push(format!(
                "{}: candidate {} discarded: {why}",
                self.label, trial.config
            ));
        }
    }
}

/// The key of a kernel's throughput in one precision: the kernel's name for f32, with
/// `/f16` appended for f16.
fn rate_key(kernel: &str, precision: Precision) -> String {
    match precision {
        Precision::F32 => kernel.to_string(),
        p => format!("{kernel}/{p}"),
    }
}

/// The seed of piece `i` of a split product: the run's seed for the first (so a product
/// that is not split has the inputs it always had), distinct seeds for the others.
fn piece_seed(seed: u64, i: usize) -> u64 {
    seed.wrapping_add((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// One verification of a product from the checks of its pieces: the relative Frobenius
/// error over all checked entries of all pieces.
fn combine_checks(parts: &[(Check, &Problem)]) -> Check {
    if let [(only, _)] = parts {
        return only.clone();
    }
    let (mut num, mut den) = (0.0f64, 0.0f64);
    let mut finite = true;
    for (c, p) in parts {
        let d: f64 = p.reference.entries.iter().map(|e| e.2 * e.2).sum();
        match c.rel_error {
            Some(e) => num += e * e * if d > 0.0 { d } else { 1.0 },
            None => finite = false,
        }
        den += d;
    }
    let rel = if den > 0.0 {
        (num / den).sqrt()
    } else {
        num.sqrt()
    };
    let rel_error = (finite && rel.is_finite()).then_some(rel);
    let tolerance = parts
        .first()
        .map_or(verify::F32_TOLERANCE, |p| p.0.tolerance);
    let unwritten_entries = parts.iter().map(|p| p.0.unwritten_entries).sum();
    Check {
        rel_error,
        tolerance,
        passed: unwritten_entries == 0
            && parts.iter().all(|p| p.0.passed)
            && rel_error.is_some_and(|e| e <= tolerance),
        checked_entries: parts.iter().map(|p| p.0.checked_entries).sum(),
        full: parts.iter().all(|p| p.0.full),
        unwritten_entries,
    }
}
