//! Command-line parsing (clap derive) and its translation into validated plans.
//!
//! Nothing below this module sees clap: each subcommand's arguments become a plan of
//! domain types, and every check that needs no GPU happens here, before any GPU work.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cost::{PriceFile, PriceSpec};
use crate::error::input_error;
use crate::gpu::{AdapterSelector, BackendFilter};
use crate::kernels::{self, KernelSpec};
use crate::report::export::Format;
use crate::result::Settings;
use crate::result::{CostField, Fields};
use crate::types::PathChoice;
use crate::types::{Layout, Precision, Shape};
use crate::workloads::named::{self, Workload};
use crate::workloads::runner::{Repeats, RunSettings};
use crate::workloads::train::{OptimizerKind, TrainOptions};
use crate::workloads::{self, Step, Suite};

const EXAMPLES: &str = "\
Examples:
  flopcost run                          the default workload on the best adapter (decoder-8b
                                        on a GPU, small on a software adapter), 3 repetitions,
                                        result in results/local/
  flopcost run --workload small         the small workload (about a minute on two CPU cores)
  flopcost workloads                    the named workloads a comparison's headline is about
  flopcost run --suite quick            an exploratory suite: a handful of small shapes
  flopcost run --suite llm --tokens 64  training triplets of language-model blocks
  flopcost run --shape 4096 --layout nn,nt,tn --kernel tiled
  flopcost run --precision f32,f16      f32 and f16 GEMMs (tensor cores where wgpu has them)
  flopcost run --adapter all --out-dir fleet-results   every GPU of this host, one file each
  flopcost tune                         autotune the GEMM kernels for this adapter (cached)
  flopcost peak                         measured FMA, matrix and copy peaks
  flopcost train                        train an MLP on the GPU: step time, TFLOP/s, loss
  flopcost devices                      every adapter wgpu finds, with features and limits
  flopcost validate results/*.json      check result files against the schema and invariants
  flopcost cost results/lavapipe-vulkan.json --usd-per-hour 0.5   what the measured work costs
  flopcost compare results/lavapipe-vulkan.json results/llvmpipe-gl.json
  flopcost fleet fleet-results          per accelerator model: spread, cost and slow hosts
  flopcost catalog                      datasheet peaks and prices the cost model knows";

/// Measures what a unit of neural-network training work costs on this GPU: verified GEMMs
/// timed on the GPU through wgpu (Vulkan, Metal, DX12, GL), saved as result files.
#[derive(Parser, Debug)]
#[command(name = "flopcost", version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a benchmark suite and write a result file.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Train an MLP on the GPU and write a result file: step time, training TFLOP/s,
    /// loss curve and time to a target loss.
    #[command(after_help = TRAIN_EXAMPLES)]
    Train(TrainArgs),
    /// List every adapter wgpu finds, with the features and limits that matter here.
    Devices(DevicesArgs),
    /// List the GEMM kernels `run --kernel` accepts.
    Kernels(JsonFlag),
    /// Autotune the `tuned` kernel for this adapter and cache the winners.
    #[command(after_help = TUNE_EXAMPLES)]
    Tune(TuneArgs),
    /// Measure the adapter's FMA peaks (f32, f16) and copy bandwidth.
    #[command(after_help = PEAK_EXAMPLES)]
    Peak(PeakArgs),
    /// Check result files against the schema and the invariants; one line per file.
    Validate(ValidateArgs),
    /// Print the JSON Schema of result files.
    Schema,
    /// List the accelerator catalog: dense datasheet peaks, memory, power and prices, each
    /// with its source and date.
    Catalog(JsonFlag),
    /// List the named, fixed workloads (`run --workload NAME`) with their definitions and
    /// digests: what a comparison's headline is about.
    Workloads(JsonFlag),
    /// Price (or re-price) a result file without re-running it, and print the breakdown.
    #[command(after_help = COST_EXAMPLES)]
    Cost(CostArgs),
    /// Compare result files side by side: matched records, speed and cost ratios with
    /// intervals, and a summary a buyer can quote.
    #[command(after_help = COMPARE_EXAMPLES)]
    Compare(CompareArgs),
    /// Generate DIR/README.md, the leaderboard of the result files published in DIR.
    Leaderboard(LeaderboardArgs),
    /// Summarise a folder of result files from many hosts per accelerator model: hosts,
    /// median and spread of the workload's throughput and cost, and the slow outliers.
    #[command(after_help = FLEET_EXAMPLES)]
    Fleet(FleetArgs),
}

const RUN_EXAMPLES: &str = "\
Examples:
  flopcost run                          the default workload for this adapter, 3 repetitions
  flopcost run --workload small --repeat 5 --price-file prices.toml
  flopcost run --suite quick --out quick.json
  flopcost run --shape 1024x1024x1024 --shape 4096x64x4096 --layout nn,tn
  flopcost run --adapter llvmpipe --backend gl --suite quick
  flopcost run --kernel naive,tiled --time-budget 2 --seed 7
  flopcost run --suite llm --tokens 64
  flopcost run --suite llm --tokens 64 --precision f16
  flopcost run --shape 4096 --precision f16 --f16-path simt

Precision: f16 GEMMs read f16 A and B and accumulate and write C in f32, verified against
an f64 reference of the f16-rounded inputs (tolerance 2e-3). The tuned kernel runs them on
cooperative matrices (tensor cores) where the adapter reports 16x16x16 or 8x8x8 f16 -> f32, else
on the shader cores; each record's kernel.path says which.

Workloads: a named workload (`flopcost workloads`) is fixed work: its shapes, token batch,
MLP recipe, precision, kernel and seed do not depend on the device or the budget, so two
files of it can be compared; the run states its duration before it starts and schedules
the sampling to keep it. Suites (--suite, --shape) are exploratory.

Budgets: --time-budget is the sampling time of each benchmark; --total-budget bounds the
whole run of a suite, so `standard` grows its square sizes only while they fit.";

const TUNE_EXAMPLES: &str = "\
Examples:
  flopcost tune                         default shapes, smallest first, within --budget
  flopcost tune --shape 4096 --shape 32x4096x4096 --layout nn,nt,tn
  flopcost tune --force --budget 600    tune again even where the cache has a winner
  flopcost tune --precision f16         the f16 kernels (cooperative matrices where available)

Each (layout, shape class) gets one winner: candidates that fit the adapter are verified
against an f64 reference (a failing one is discarded and logged), timed briefly, and the
fastest is cached per adapter, driver and flopcost version in the user's cache directory
(FLOPCOST_CACHE_DIR overrides it). `run` uses the cache, or tunes within its own budget.";

const PEAK_EXAMPLES: &str = "\
Examples:
  flopcost peak
  flopcost peak --json
  flopcost peak --out peaks.json        a result file with the peaks section only";

#[derive(Args, Debug)]
pub struct TuneArgs {
    /// GEMM shape MxNxK (or N for NxNxN); repeatable. Default: squares 256, 1024, 4096,
    /// 8192 and the products of a 4096→4096 layer with 64, 512 and 4096 tokens.
    #[arg(long = "shape", value_name = "MxNxK")]
    pub shapes: Vec<String>,
    /// Layouts for --shape: nn (forward), nt (input gradient), tn (weight gradient).
    #[arg(long, default_value = "nn", value_name = "LIST")]
    pub layout: String,
    /// Time for all of the tuning, in seconds; shapes that would not fit are skipped.
    #[arg(long, default_value_t = 300.0, value_name = "SECONDS")]
    pub budget: f64,
    /// Tune again even where the cache has a winner.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub precision: PrecisionArgs,
    /// Seed of the random inputs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Adapter: an index from `flopcost devices` or part of its name. Default: the best.
    #[arg(long, value_name = "INDEX|NAME")]
    pub adapter: Option<String>,
    /// Only consider adapters on this backend.
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
    /// The winners as JSON on stdout instead of tables.
    #[arg(long)]
    pub json: bool,
    /// No per-candidate lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct PeakArgs {
    /// Timed runs per kernel (the peak is the fastest).
    #[arg(long, default_value_t = 7, value_name = "N")]
    pub runs: usize,
    /// Adapter: an index from `flopcost devices` or part of its name. Default: the best.
    #[arg(long, value_name = "INDEX|NAME")]
    pub adapter: Option<String>,
    /// Only consider adapters on this backend.
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
    /// Also write a result file (with the peaks section and no records).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    pub force: bool,
    /// Machine-readable JSON (the peaks section) on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct JsonFlag {
    /// Machine-readable JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DevicesArgs {
    /// Machine-readable JSON on stdout (every feature and limit).
    #[arg(long)]
    pub json: bool,
    /// Only this backend.
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Result files to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum BackendArg {
    Vulkan,
    Metal,
    Dx12,
    Gl,
}

impl From<BackendArg> for BackendFilter {
    fn from(b: BackendArg) -> BackendFilter {
        match b {
            BackendArg::Vulkan => BackendFilter::Vulkan,
            BackendArg::Metal => BackendFilter::Metal,
            BackendArg::Dx12 => BackendFilter::Dx12,
            BackendArg::Gl => BackendFilter::Gl,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum TimingArg {
    /// GPU timestamps where the adapter has them, else the host clock.
    Auto,
    /// The host clock around submit and wait (includes launch overhead).
    Host,
}

/// Where a measuring command runs and where its result goes (`run`, `train`).
#[derive(Args, Debug)]
pub struct TargetArgs {
    /// Adapter: an index from `flopcost devices`, part of its name, or `all`: every GPU of
    /// the host (each physical device once, one after another, each to its own file in
    /// --out-dir; only the best software adapter where there is no GPU). Default: the best.
    #[arg(long, value_name = "INDEX|NAME|all")]
    pub adapter: Option<String>,
    /// Only consider adapters on this backend.
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
    /// Result file. Default: results/local/<adapter>-<UTC time>.json
    #[arg(long, value_name = "PATH", conflicts_with = "out_dir")]
    pub out: Option<PathBuf>,
    /// Write the result file into DIR (created if missing), named
    /// <host>-<adapter>.json (-2, -3, ... when taken: nothing in DIR is ever replaced):
    /// for fleets, where many runs share one folder. Default with --adapter all:
    /// results/local.
    #[arg(long, value_name = "DIR", conflicts_with = "force")]
    pub out_dir: Option<PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    pub force: bool,
    /// No progress bar or progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

impl TargetArgs {
    pub fn selector(&self) -> AdapterSelector {
        match self.adapter.as_deref().map(str::trim) {
            Some(a) if a.eq_ignore_ascii_case("all") => AdapterSelector::All,
            other => other.map_or(AdapterSelector::Best, AdapterSelector::parse),
        }
    }

    pub fn backend(&self) -> BackendFilter {
        self.backend.map_or(BackendFilter::All, Into::into)
    }
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Named, fixed workload to run (see `flopcost workloads`). Default, without --suite
    /// or --shape: decoder-8b on a GPU, small on a software adapter.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["suite", "shapes"])]
    pub workload: Option<String>,
    /// Exploratory suite instead of a workload: quick, standard, full or llm.
    #[arg(long, value_name = "NAME", conflicts_with = "shapes")]
    pub suite: Option<String>,
    /// Tokens per step (B) of the suite's training layers. Default: per block, the
    /// largest power of two that fits the device and the budget.
    #[arg(long, value_name = "B")]
    pub tokens: Option<u64>,
    /// GEMM shape MxNxK (or N for NxNxN); repeatable. Replaces the suite.
    #[arg(long = "shape", value_name = "MxNxK")]
    pub shapes: Vec<String>,
    /// Layouts for --shape: nn (forward), nt (input gradient), tn (weight gradient).
    #[arg(long, default_value = "nn", value_name = "LIST")]
    pub layout: String,
    /// Kernels to run, comma-separated (see `flopcost kernels`). Default: all.
    #[arg(long, value_name = "LIST")]
    pub kernel: Option<String>,
    /// Sampling time per benchmark, in seconds. Default: the suite's.
    #[arg(long, value_name = "SECONDS")]
    pub time_budget: Option<f64>,
    /// Time for the whole run, in seconds; budgeted sizes that would not fit are skipped.
    #[arg(long, value_name = "SECONDS")]
    pub total_budget: Option<f64>,
    /// Seed of the random inputs [default: 1; a workload fixes its own].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Most samples per benchmark.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_samples: u64,
    /// Fewest samples per benchmark (3 when a single run is long).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub min_samples: u64,
    /// How to time: auto (GPU timestamps where available) or host.
    #[arg(long, value_enum, default_value = "auto")]
    pub timing: TimingArg,
    /// Fail when one GPU wait takes longer than this many seconds (default: derived from
    /// the expected time, at least 30 s).
    #[arg(long, value_name = "SECONDS")]
    pub dispatch_timeout: Option<f64>,
    #[command(flatten)]
    pub device: TargetArgs,
    #[command(flatten)]
    pub price: PriceArgs,
    /// Seconds the tuned kernel may spend tuning shape classes missing from the cache
    /// (default: a quarter of the total budget; 0 never tunes).
    #[arg(long, value_name = "SECONDS")]
    pub tune_budget: Option<f64>,
    /// Do not measure the FMA and copy peaks (records then have no efficiency).
    #[arg(long)]
    pub no_peaks: bool,
    /// Independent repetitions, each with its own warm-up: the run-to-run spread of each
    /// record's median [default: 3 for a workload, 1 for a suite].
    #[arg(long, value_name = "N")]
    pub repeat: Option<u32>,
    /// With --repeat: flag records whose medians spread more than this fraction
    /// ((max − min) / median).
    #[arg(long, default_value_t = 0.05, value_name = "FRACTION")]
    pub repeat_threshold: f64,
    /// After the suite, run one GEMM back to back for this many seconds and record its
    /// throughput second by second (throttling shows). The GEMM: the first --shape, else
    /// the run's fastest verified record.
    #[arg(long, value_name = "SECONDS")]
    pub sustain: Option<f64>,
    #[command(flatten)]
    pub precision: PrecisionArgs,
}

/// `--precision` and `--f16-path`, shared by run, train and tune.
#[derive(Args, Debug, Clone)]
pub struct PrecisionArgs {
    /// Operand precision of the GEMMs: f32, f16 (f16 A and B, f32 accumulation and C) or
    /// both, as a list (f32,f16).
    #[arg(long = "precision", default_value = "f32", value_name = "LIST")]
    pub precision: String,
    /// Where the tuned kernel's f16 GEMMs run: auto (cooperative matrices, i.e. tensor
    /// cores, where the adapter offers 16x16x16 or 8x8x8 f16 -> f32; else the shader cores), simt
    /// (always the shader cores) or coopmat (refused on an adapter without them).
    #[arg(long, value_enum, default_value = "auto")]
    pub f16_path: F16PathArg,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum F16PathArg {
    Auto,
    Simt,
    Coopmat,
}

impl PrecisionArgs {
    /// The precisions and the f16 path; a path given without f16 is bad input.
    pub fn resolve(&self) -> Result<(Vec<Precision>, PathChoice)> {
        let precisions = Precision::parse_list(&self.precision)?;
        let path = match self.f16_path {
            F16PathArg::Auto => PathChoice::Auto,
            F16PathArg::Simt => PathChoice::Simt,
            F16PathArg::Coopmat => PathChoice::Coopmat,
        };
        if path != PathChoice::Auto && !precisions.contains(&Precision::F16) {
            return Err(input_error(format!(
                "--f16-path {} applies to f16 GEMMs; add --precision f16 (or f32,f16)",
                path.as_str()
            )));
        }
        Ok((precisions, path))
    }
}

/// `--f16-path coopmat` runs the tuned kernel on cooperative matrices: it needs that kernel.
fn check_coopmat_kernels(path: PathChoice, kernels: &[KernelSpec]) -> Result<()> {
    if path == PathChoice::Coopmat && !kernels.iter().any(KernelSpec::is_tuned) {
        return Err(input_error(
            "--f16-path coopmat runs the tuned kernel on cooperative matrices; include it in \
             --kernel (for example --kernel tuned)",
        ));
    }
    Ok(())
}

/// Which named workload a run does.
#[derive(Clone, Debug)]
pub enum WorkloadChoice {
    /// The one `--workload` named.
    Named(Box<Workload>),
    /// Chosen for the adapter: decoder-8b on a GPU, small on a software adapter.
    ForDevice,
}

/// A validated `run`.
#[derive(Clone, Debug)]
pub struct RunPlan {
    /// The workload to run (its suite, kernels, seed and budget replace the plan's once
    /// the adapter is known); `None` for a suite or explicit shapes.
    pub workload: Option<WorkloadChoice>,
    /// Repetitions of the workload.
    pub repetitions: u32,
    /// `--time-budget` was given (a workload keeps it instead of its own).
    pub time_budget_given: bool,
    pub adapter: AdapterSelector,
    pub backend: BackendFilter,
    pub suite: Suite,
    pub kernels: Vec<KernelSpec>,
    pub settings: RunSettings,
    pub timing: TimingArg,
    /// Explicit shapes, to check against the adapter's limits before any GPU work.
    pub explicit_shapes: Vec<Shape>,
    /// `--tokens`, to check against the adapter's limits before any GPU work.
    pub tokens: Option<u32>,
    pub out: Option<PathBuf>,
    /// `--out-dir`: the result goes into this folder under a host-and-adapter name.
    pub out_dir: Option<PathBuf>,
    pub force: bool,
    pub quiet: bool,
    /// Price inputs for the result's `cost` section.
    pub price: PriceSpec,
    /// Tuning budget of the tuned kernel; `None`: the runner's default.
    pub tune_budget: Option<Duration>,
    /// Measure the peaks before the suite.
    pub peaks: bool,
    /// More runs of the suite (`--repeat N` with N ≥ 2), and the spread above which a
    /// record is flagged.
    pub repeats: Option<Repeats>,
    /// `--sustain`: how long to run one GEMM back to back.
    pub sustain: Option<Duration>,
    /// Operand precisions every GEMM runs in, in order.
    pub precisions: Vec<Precision>,
    /// Where the tuned kernel's f16 GEMMs run.
    pub f16_path: PathChoice,
}

impl RunPlan {
    /// What the result file records of this plan.
    pub fn recorded_settings(&self) -> Settings {
        let s = &self.settings;
        Settings {
            suite: self.suite.name.clone(),
            seed: s.seed,
            time_budget_s: s.time_budget.as_secs_f64(),
            total_budget_s: s.total_budget.as_secs_f64(),
            max_samples: s.max_samples,
            min_samples: s.min_samples,
            kernels: self.kernels.iter().map(|k| k.name.clone()).collect(),
            timing: match self.timing {
                TimingArg::Auto => "auto",
                TimingArg::Host => "host",
            }
            .into(),
            command_line: std::env::args().collect(),
            tokens: self.tokens,
            precisions: self.precisions.clone(),
            f16_path: self
                .precisions
                .contains(&Precision::F16)
                .then_some(self.f16_path),
        }
    }
}

fn seconds(flag: &str, v: Option<f64>, default: Duration) -> Result<Duration> {
    match v {
        None => Ok(default),
        Some(s) if s.is_finite() && s > 0.0 && s < 1e7 => Ok(Duration::from_secs_f64(s)),
        Some(s) => Err(input_error(format!(
            "{flag} {s}: must be a positive number of seconds"
        ))),
    }
}

/// The most tokens `--tokens` accepts.
pub const MAX_TOKENS: u64 = 1 << 20;

fn kernel_list(list: &Option<String>) -> Result<Vec<KernelSpec>> {
    match list {
        None => Ok(kernels::default_kernels()),
        Some(list) => {
            let names: Vec<String> = list
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if names.is_empty() {
                return Err(input_error("--kernel needs at least one kernel name"));
            }
            kernels::lookup(&names)
        }
    }
}

/// A whole number in `lo..=hi`, or bad input naming the flag.
fn within(flag: &str, v: u64, lo: u64, hi: u64) -> Result<u64> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(input_error(format!(
            "{flag} {v}: must be from {lo} to {hi}"
        )))
    }
}

impl RunArgs {
    /// Checks everything that needs no GPU and builds the plan.
    pub fn plan(self) -> Result<RunPlan> {
        let mut shapes = Vec::new();
        for s in &self.shapes {
            let shape = Shape::parse(s)?;
            if !shapes.contains(&shape) {
                shapes.push(shape);
            }
        }
        let layouts = Layout::parse_list(&self.layout)?;
        let workload = match (&self.workload, &self.suite, shapes.is_empty()) {
            (Some(name), _, _) => Some(WorkloadChoice::Named(Box::new(
                named::by_name(name).ok_or_else(|| {
                    input_error(format!(
                        "unknown workload '{name}'; choose one of: {} (`flopcost workloads` \
                         lists them)",
                        named::all()
                            .iter()
                            .map(|w| w.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?,
            ))),
            (None, None, true) => Some(WorkloadChoice::ForDevice),
            _ => None,
        };
        if workload.is_some() {
            for (given, flag) in [
                (self.kernel.is_some(), "--kernel"),
                (self.tokens.is_some(), "--tokens"),
                (self.seed.is_some(), "--seed"),
                (self.sustain.is_some(), "--sustain"),
                (self.total_budget.is_some(), "--total-budget"),
                (self.precision.precision != "f32", "--precision"),
            ] {
                if given {
                    return Err(input_error(format!(
                        "{flag} does not apply to a workload, whose work is fixed (see \
                         `flopcost workloads`); use --suite or --shape to choose the work"
                    )));
                }
            }
        }
        let suite_name = self.suite.clone().unwrap_or_else(|| "standard".into());
        let suite = if shapes.is_empty() {
            workloads::by_name(&suite_name).ok_or_else(|| {
                input_error(format!(
                    "unknown suite '{suite_name}'; choose one of: {}",
                    workloads::SUITE_NAMES.join(", ")
                ))
            })?
        } else {
            workloads::custom(&shapes, &layouts)
        };
        let mut suite = suite;
        let kernels = kernel_list(&self.kernel)?;
        let (precisions, f16_path) = self.precision.resolve()?;
        check_coopmat_kernels(f16_path, &kernels)?;
        if self.kernel.is_some() {
            suite.use_all_kernels();
        }
        let tokens = match self.tokens {
            None => None,
            Some(_) if !shapes.is_empty() => {
                return Err(input_error(
                    "--tokens sets the batch of a suite's training layers; it does not apply to \
                     --shape (give the token count as M or K of the shape instead)",
                ));
            }
            Some(b) => {
                let b = within("--tokens", b, 1, MAX_TOKENS)? as u32;
                suite.set_tokens(b);
                Some(b)
            }
        };
        if self.max_samples == 0 || self.min_samples == 0 {
            return Err(input_error(
                "--max-samples and --min-samples must be at least 1",
            ));
        }
        if self.min_samples > self.max_samples {
            return Err(input_error(format!(
                "--min-samples {} is larger than --max-samples {}",
                self.min_samples, self.max_samples
            )));
        }
        let settings = RunSettings {
            seed: self.seed.unwrap_or(1),
            time_budget: seconds("--time-budget", self.time_budget, suite.time_budget)?,
            total_budget: seconds("--total-budget", self.total_budget, suite.total_budget)?,
            max_samples: self.max_samples,
            min_samples: self.min_samples,
            timestamps: self.timing == TimingArg::Auto,
            dispatch_timeout: match self.dispatch_timeout {
                None => None,
                v => Some(seconds("--dispatch-timeout", v, Duration::ZERO)?),
            },
        };
        let runs = match self.repeat {
            Some(0) => return Err(input_error("--repeat must be at least 1")),
            Some(n) if n > 1000 => {
                return Err(input_error(format!("--repeat {n}: at most 1000")));
            }
            Some(n) => n,
            None if workload.is_some() => named::DEFAULT_REPETITIONS,
            None => 1,
        };
        Ok(RunPlan {
            repetitions: runs,
            time_budget_given: self.time_budget.is_some(),
            adapter: self.device.selector(),
            backend: self.device.backend(),
            suite,
            kernels,
            settings,
            timing: self.timing,
            explicit_shapes: shapes,
            tokens,
            out: self.device.out,
            out_dir: self.device.out_dir,
            force: self.device.force,
            quiet: self.device.quiet,
            price: self.price.spec()?,
            tune_budget: match self.tune_budget {
                None => None,
                Some(s) if s.is_finite() && (0.0..1e7).contains(&s) => {
                    Some(Duration::from_secs_f64(s))
                }
                Some(s) => {
                    return Err(input_error(format!(
                        "--tune-budget {s}: must be zero or a positive number of seconds"
                    )));
                }
            },
            peaks: !self.no_peaks,
            repeats: {
                let threshold = match self.repeat_threshold {
                    t if t.is_finite() && t > 0.0 => t,
                    t => {
                        return Err(input_error(format!(
                            "--repeat-threshold {t}: must be a positive fraction, e.g. 0.05"
                        )));
                    }
                };
                (runs > 1 || workload.is_some()).then_some(Repeats { runs, threshold })
            },
            workload,
            sustain: match self.sustain {
                None => None,
                v => Some(seconds("--sustain", v, Duration::ZERO)?),
            },
            precisions,
            f16_path,
        })
    }
}

const TRAIN_EXAMPLES: &str = "\
Examples:
  flopcost train                                 sizes chosen for the device
  flopcost train --depth 2 --width 64 --batch 64 --steps 100
  flopcost train --optimizer sgd --lr 0.05 --target 0.3
  flopcost train --width 4096 --batch 8192 --steps 1000 --log-every 100
  flopcost train --precision f32,f16             the same model trained in f32, then in f16

The student MLP learns a fixed random teacher MLP of the same shape (MSE loss). One step
of a small network is first checked against an f64 CPU implementation; the run fails
(exit 1, with the loss curve) unless the loss falls below --target times its start
within --steps.

In f16 every GEMM reads f16 operands (f16 copies of the f32 master weights, activations
and activation gradients in f16) and accumulates and writes f32; the optimizer, its state,
the loss and the elementwise work stay in f32, with a static loss scale keeping the f16
gradients in range. The check of one step then compares with an f64 implementation that
rounds to f16 at the same places.";

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Dense layers. Default: 4.
    #[arg(long, value_name = "N")]
    pub depth: Option<u64>,
    /// Width of every layer (inputs and outputs too). Default: sized to the device
    /// (128 on a software rasteriser, 1024 on integrated GPUs, 2048 otherwise).
    #[arg(long, value_name = "N")]
    pub width: Option<u64>,
    /// Tokens (samples) per step. Default: the width.
    #[arg(long, value_name = "B")]
    pub batch: Option<u64>,
    /// Training steps, all timed.
    #[arg(long, default_value_t = workloads::train::DEFAULT_STEPS, value_name = "N")]
    pub steps: u64,
    /// Read the loss back every N steps (at most 1024).
    #[arg(long, default_value_t = 25, value_name = "N")]
    pub log_every: u64,
    /// The loss must fall below this fraction of its start within --steps.
    #[arg(long, default_value_t = workloads::train::DEFAULT_TARGET_FRACTION, value_name = "FRACTION")]
    pub target: f64,
    /// Optimizer.
    #[arg(long, value_enum, default_value = "adamw")]
    pub optimizer: OptimizerArg,
    /// Learning rate. Default: AdamW 1e-3 up to width 256, then 1e-3·256/width; SGD 0.05.
    #[arg(long, value_name = "RATE")]
    pub lr: Option<f64>,
    /// Distinct data batches, uploaded once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub data_batches: u64,
    /// GEMM kernels to measure on the model's layer; training uses the fastest.
    /// Default: all.
    #[arg(long, value_name = "LIST")]
    pub kernel: Option<String>,
    /// Sampling time of each GEMM benchmark, in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub time_budget: Option<f64>,
    /// Seed of the weights and data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How to time: auto (GPU timestamps where available) or host.
    #[arg(long, value_enum, default_value = "auto")]
    pub timing: TimingArg,
    #[command(flatten)]
    pub device: TargetArgs,
    #[command(flatten)]
    pub price: PriceArgs,
    #[command(flatten)]
    pub precision: PrecisionArgs,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum OptimizerArg {
    /// Adam with decoupled weight decay.
    Adamw,
    /// SGD with momentum 0.9.
    Sgd,
}

impl TrainArgs {
    /// Checks everything that needs no GPU and builds the plan: a run whose suite is
    /// one training step (with the model layer's GEMMs measured first).
    pub fn plan(self) -> Result<RunPlan> {
        let size = |flag: &str, v: Option<u64>, hi: u64| -> Result<Option<u32>> {
            v.map(|v| within(flag, v, 1, hi).map(|v| v as u32))
                .transpose()
        };
        let optimizer = match self.optimizer {
            OptimizerArg::Adamw => OptimizerKind::AdamW,
            OptimizerArg::Sgd => OptimizerKind::Sgd,
        };
        if !(self.target > 0.0 && self.target <= 1.0) {
            return Err(input_error(format!(
                "--target {}: must be a fraction of the starting loss in (0, 1]",
                self.target
            )));
        }
        if let Some(lr) = self.lr
            && !(lr.is_finite() && lr > 0.0 && lr <= 10.0)
        {
            return Err(input_error(format!(
                "--lr {lr}: must be a positive learning rate (at most 10)"
            )));
        }
        let options = TrainOptions {
            depth: size("--depth", self.depth, 256)?,
            width: size("--width", self.width, 65536)?,
            batch: size("--batch", self.batch, MAX_TOKENS)?,
            steps: within("--steps", self.steps, 1, 10_000_000)?,
            log_every: within(
                "--log-every",
                self.log_every,
                1,
                crate::measure::MAX_BATCH as u64,
            )?,
            target_fraction: self.target,
            optimizer,
            learning_rate: self.lr,
            data_batches: within("--data-batches", self.data_batches, 1, 256)? as u32,
            measure_gemms: true,
        };
        let kernels = kernel_list(&self.kernel)?;
        let (precisions, f16_path) = self.precision.resolve()?;
        check_coopmat_kernels(f16_path, &kernels)?;
        let suite = Suite {
            name: "train".into(),
            steps: vec![Step::Train(options)],
            time_budget: Duration::from_millis(250),
            total_budget: Duration::from_secs(3600),
        };
        let settings = RunSettings {
            seed: self.seed,
            time_budget: seconds("--time-budget", self.time_budget, suite.time_budget)?,
            total_budget: suite.total_budget,
            max_samples: 1000,
            min_samples: 10,
            timestamps: self.timing == TimingArg::Auto,
            dispatch_timeout: None,
        };
        Ok(RunPlan {
            workload: None,
            repetitions: 1,
            time_budget_given: self.time_budget.is_some(),
            adapter: self.device.selector(),
            backend: self.device.backend(),
            suite,
            kernels,
            settings,
            timing: self.timing,
            explicit_shapes: Vec::new(),
            tokens: None,
            out: self.device.out,
            out_dir: self.device.out_dir,
            force: self.device.force,
            quiet: self.device.quiet,
            price: self.price.spec()?,
            tune_budget: None,
            peaks: false,
            repeats: None,
            sustain: None,
            precisions,
            f16_path,
        })
    }
}

const COST_EXAMPLES: &str = "\
Examples:
  flopcost cost results/lavapipe-vulkan.json                     the recorded (or catalog) prices
  flopcost cost run.json --usd-per-hour 2.49                     rental price
  flopcost cost run.json --capex-usd 30000 --watts 700 --usd-per-kwh 0.1
  flopcost cost run.json --price-file prices.toml --out priced.json

Precedence: --usd-per-hour, then the ownership flags, then --price-file, then the prices
already recorded in the file, then the catalog entry the adapter matches.";

const FLEET_EXAMPLES: &str = "\
Examples:
  flopcost fleet fleet-results
  flopcost fleet fleet-results --threshold 0.05 --format markdown
  flopcost fleet fleet-results --price-file prices.toml --format html --out fleet.html
  flopcost run --adapter all --out-dir fleet-results   (every GPU of this host, then fleet)

Files are grouped by named workload (name, version and digest: the same work; files of
different workloads are never mixed), then by accelerator model (adapter name and
backend). A host is an outlier when its workload step is more than --threshold below its
model's median. Files that cannot be read, fail validation, did not finish or ran no
named workload are listed by name with the reason; the rest are summarised.";

const COMPARE_EXAMPLES: &str = "\
Examples:
  flopcost compare results/lavapipe-vulkan.json results/llvmpipe-gl.json
  flopcost compare a.json b.json c.json --baseline 2 --format markdown
  flopcost compare a.json b.json --price-file prices.toml --format html --out compare.html

The headline is about a named workload only: both files must have run the same one
(name, version and digest), verified all of it and finished; otherwise the summary says
\"no headline:\" and why. Its interval covers the variation between repetitions as well as
within a run. Records are matched by (kind, precision, layout, m, n, k); with several
kernels for one shape, each file's best verified kernel is compared (--kernel NAME
compares one kernel).";

/// Flags for cost-model inputs, generated from [`CostField`] (its names, help texts and
/// ranges): every field with `ALL`, the reference training run's size alone without.
#[derive(Clone, Debug, Default)]
pub struct CostFlags<const ALL: bool> {
    pub values: Fields<f64>,
}

impl<const ALL: bool> CostFlags<ALL> {
    fn fields() -> &'static [CostField] {
        if ALL {
            &CostField::ALL
        } else {
            &CostField::REFERENCE
        }
    }
}

impl<const ALL: bool> clap::FromArgMatches for CostFlags<ALL> {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut values = Fields::default();
        for &f in Self::fields() {
            if let Some(v) = m.get_one::<f64>(f.name()) {
                values.set(f, *v);
            }
        }
        Ok(CostFlags { values })
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl<const ALL: bool> Args for CostFlags<ALL> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        Self::fields().iter().fold(cmd, |cmd, &f| {
            cmd.arg(
                clap::Arg::new(f.name())
                    .long(f.flag())
                    .value_name(f.value_name())
                    .help(f.help())
                    .value_parser(clap::value_parser!(f64))
                    .help_heading("Price inputs"),
            )
        })
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// Price inputs, shared by `run` and `cost`.
#[derive(Args, Debug, Default, Clone)]
#[command(next_help_heading = "Price inputs")]
pub struct PriceArgs {
    #[command(flatten)]
    pub fields: CostFlags<true>,
    /// Prices of several machines keyed by adapter name (TOML or JSON).
    #[arg(long, value_name = "FILE")]
    pub price_file: Option<PathBuf>,
}

impl PriceArgs {
    /// Checks the ranges and reads the price file.
    pub fn spec(&self) -> Result<PriceSpec> {
        price_spec(&self.fields.values, self.price_file.as_deref())
    }
}

fn price_spec(flags: &Fields<f64>, price_file: Option<&std::path::Path>) -> Result<PriceSpec> {
    let spec = PriceSpec {
        flags: flags.clone(),
        price_file: price_file.map(PriceFile::read).transpose()?,
    };
    spec.validate()?;
    Ok(spec)
}

#[derive(Args, Debug)]
pub struct CostArgs {
    /// The result file to price.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub price: PriceArgs,
    /// Print the cost section as JSON instead of the breakdown.
    #[arg(long)]
    pub json: bool,
    /// Write a copy of the result file with the new cost section (atomically).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum FormatArg {
    /// Tables for the terminal.
    Table,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// The whole comparison as JSON.
    Json,
    /// One row per record (or basis figure) and machine, for spreadsheets.
    Csv,
    /// A self-contained page with SVG charts (needs --out).
    Html,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Table => Format::Table,
            FormatArg::Markdown => Format::Markdown,
            FormatArg::Json => Format::Json,
            FormatArg::Csv => Format::Csv,
            FormatArg::Html => Format::Html,
        }
    }
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Result files, two or more.
    #[arg(required = true, num_args = 2.., value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The reference: one of the files, or its position in the list (from 1) [default: 1].
    #[arg(long, value_name = "FILE|INDEX")]
    pub baseline: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
    /// Write the output to this file (atomically) instead of stdout; required for html.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    pub force: bool,
    /// Compare only records of this kernel instead of each file's best kernel per shape.
    #[arg(long, value_name = "NAME")]
    pub kernel: Option<String>,
    /// Prices of the machines keyed by adapter name (TOML or JSON); otherwise each file's
    /// recorded prices, else the catalog's.
    #[arg(long, value_name = "FILE")]
    pub price_file: Option<PathBuf>,
    #[command(flatten)]
    pub reference: CostFlags<false>,
}

impl CompareArgs {
    /// The price inputs compare accepts.
    pub fn price_spec(&self) -> Result<PriceSpec> {
        price_spec(&self.reference.values, self.price_file.as_deref())
    }

    /// The baseline's index (from 0) among `files`.
    pub fn baseline_index(&self) -> Result<usize> {
        let Some(b) = self.baseline.as_deref() else {
            return Ok(0);
        };
        if let Ok(i) = b.parse::<usize>() {
            return if (1..=self.files.len()).contains(&i) {
                Ok(i - 1)
            } else {
                Err(input_error(format!(
                    "--baseline {i}: give a position from 1 to {}, or one of the files",
                    self.files.len()
                )))
            };
        }
        self.files
            .iter()
            .position(|f| f == std::path::Path::new(b))
            .ok_or_else(|| {
                input_error(format!(
                    "--baseline {b}: not one of the files being compared"
                ))
            })
    }
}

/// `fleet --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FleetFormat {
    /// Tables for the terminal.
    Table,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// The whole summary as JSON.
    Json,
    /// A self-contained page (needs --out).
    Html,
}

#[derive(Args, Debug)]
pub struct FleetArgs {
    /// Folder of result files (`run --out-dir`, or the Slurm job's shared folder).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// A host more than this fraction below its model's median is an outlier.
    #[arg(long, default_value_t = crate::report::fleet::DEFAULT_THRESHOLD, value_name = "FRACTION")]
    pub threshold: f64,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: FleetFormat,
    /// Write the output to this file (atomically) instead of stdout; required for html.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    pub force: bool,
    /// Prices of the machines keyed by adapter name (TOML or JSON); otherwise each file's
    /// recorded prices, else the catalog's.
    #[arg(long, value_name = "FILE")]
    pub price_file: Option<PathBuf>,
}

impl FleetArgs {
    pub fn price_spec(&self) -> Result<PriceSpec> {
        price_spec(&Fields::default(), self.price_file.as_deref())
    }
}

#[derive(Args, Debug)]
pub struct LeaderboardArgs {
    /// Directory of published result files (`results/`).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Do not write: exit 1 when DIR/README.md differs from what would be generated.
    #[arg(long)]
    pub check: bool,
    /// Replace DIR/README.md even when it was not generated by flopcost.
    #[arg(long, conflicts_with = "check")]
    pub force: bool,
}

/// A validated `tune`.
#[derive(Debug)]
pub struct TunePlan {
    pub adapter: AdapterSelector,
    pub backend: BackendFilter,
    /// (layout, shape) to tune, in order.
    pub cases: Vec<(Layout, Shape)>,
    pub budget: Duration,
    pub force: bool,
    pub seed: u64,
    pub json: bool,
    pub quiet: bool,
    /// Operand precisions to tune, in order.
    pub precisions: Vec<Precision>,
    /// Where f16 runs (and so which f16 family is tuned).
    pub f16_path: PathChoice,
}

impl TuneArgs {
    pub fn plan(self) -> Result<TunePlan> {
        let mut cases = Vec::new();
        if self.shapes.is_empty() {
            cases = workloads::tune_defaults();
        } else {
            let layouts = Layout::parse_list(&self.layout)?;
            for s in &self.shapes {
                let shape = Shape::parse(s)?;
                for &l in &layouts {
                    if !cases.contains(&(l, shape)) {
                        cases.push((l, shape));
                    }
                }
            }
        }
        let (precisions, f16_path) = self.precision.resolve()?;
        Ok(TunePlan {
            precisions,
            f16_path,
            adapter: self
                .adapter
                .as_deref()
                .map_or(AdapterSelector::Best, AdapterSelector::parse),
            backend: self.backend.map_or(BackendFilter::All, Into::into),
            cases,
            budget: seconds("--budget", Some(self.budget), Duration::ZERO)?,
            force: self.force,
            seed: self.seed,
            json: self.json,
            quiet: self.quiet,
        })
    }
}

impl PeakArgs {
    pub fn selector(&self) -> AdapterSelector {
        self.adapter
            .as_deref()
            .map_or(AdapterSelector::Best, AdapterSelector::parse)
    }

    pub fn backend(&self) -> BackendFilter {
        self.backend.map_or(BackendFilter::All, Into::into)
    }

    /// Checks the arguments that need no GPU.
    pub fn check(&self) -> Result<()> {
        if self.runs == 0 || self.runs > 1000 {
            return Err(input_error("--runs must be 1..=1000"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<RunPlan> {
        let mut v = vec!["flopcost", "run"];
        v.extend_from_slice(args);
        let cli = Cli::try_parse_from(v).map_err(|e| input_error(e.to_string()))?;
        let Command::Run(r) = cli.command else {
            unreachable!()
        };
        r.plan()
    }

    #[test]
    fn explicit_shapes_replace_the_suite() {
        let p = parse(&[
            "--shape", "7x13x5", "--shape", "7x13x5", "--layout", "nn,tn",
        ])
        .unwrap();
        assert_eq!(p.suite.name, "custom");
        assert_eq!(p.explicit_shapes, vec![Shape::new(7, 13, 5)]);
    }

    #[test]
    fn bad_values_are_input_errors() {
        for args in [
            &["--shape", "0x1x1"][..],
            &["--suite", "nope"],
            &["--kernel", "nope"],
            &["--layout", "xx"],
            &["--time-budget", "-1"],
            &["--time-budget", "nan"],
            &["--min-samples", "20", "--max-samples", "10"],
            &["--tokens", "0"],
            &["--tokens", "99999999"],
            &["--tokens", "64", "--shape", "64"],
        ] {
            let err = parse(args).unwrap_err();
            assert!(
                err.chain().any(|e| e.is::<crate::error::InputError>()),
                "{args:?}: {err}"
            );
        }
    }

    #[test]
    fn tokens_set_every_block_and_kernels_widen_them() {
        let p = parse(&["--suite", "llm", "--tokens", "64"]).unwrap();
        assert_eq!(p.tokens, Some(64));
        for step in &p.suite.steps {
            if let Step::Layers {
                tokens,
                fastest_only,
                ..
            } = step
            {
                assert_eq!(*tokens, Some(64));
                let _ = fastest_only;
            }
        }
        let p = parse(&["--suite", "llm", "--kernel", "tiled"]).unwrap();
        assert!(p.suite.steps.iter().all(|s| !matches!(
            s,
            Step::Layers {
                fastest_only: true,
                ..
            }
        )));
    }

    #[test]
    fn train_flags_are_checked() {
        let train = |args: &[&str]| -> Result<RunPlan> {
            let mut v = vec!["flopcost", "train"];
            v.extend_from_slice(args);
            let cli = Cli::try_parse_from(v).map_err(|e| input_error(e.to_string()))?;
            let Command::Train(t) = cli.command else {
                unreachable!()
            };
            t.plan()
        };
        let p = train(&["--depth", "2", "--width", "32", "--batch", "16"]).unwrap();
        assert_eq!(p.suite.name, "train");
        for bad in [
            &["--depth", "0"][..],
            &["--width", "0"],
            &["--batch", "0"],
            &["--steps", "0"],
            &["--log-every", "5000"],
            &["--target", "0"],
            &["--target", "1.5"],
            &["--lr", "-1"],
            &["--lr", "nan"],
            &["--data-batches", "0"],
            &["--kernel", "nope"],
        ] {
            let err = train(bad).unwrap_err();
            assert!(
                err.chain().any(|e| e.is::<crate::error::InputError>()),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
