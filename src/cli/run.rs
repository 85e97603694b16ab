//! `flopcost run`: its arguments, and the validated plan of a run (adapter, suite or
//! named workload, budgets, precisions, prices, output).

use crate::measure::power::sources::{PowerOptions, normalise_bus_id};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Args;

use crate::cost::PriceSpec;
use crate::error::input_error;
use crate::gpu::{AdapterSelector, BackendFilter};
use crate::kernels::KernelSpec;
use crate::result::Settings;
use crate::types::PathChoice;
use crate::types::{Layout, Precision, Shape};
use crate::workloads::named::{self, Workload};
use crate::workloads::runner::{Repeats, RunSettings};
use crate::workloads::{self, Suite};

use super::common::*;

pub(super) const RUN_EXAMPLES: &str = "\
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
    /// A command that prints the accelerator's power in watts, one line per sample (a
    /// PDU, ipmitool, ...; run again whenever it exits), read beside every timed phase
    /// instead of the sensors flopcost finds itself (hwmon, nvidia-smi).
    #[arg(long, value_name = "CMD")]
    pub power_command: Option<String>,
    /// The PCI device (e.g. 0000:03:00.0) whose power sensors to read, where the adapter
    /// reports no bus id of its own (software adapters, GL).
    #[arg(long, value_name = "BUSID")]
    pub power_pci: Option<String>,
    /// Do not measure power: energy figures stay nameplate (--watts or the catalog).
    #[arg(long, conflicts_with_all = ["power_command", "power_pci"])]
    pub no_power: bool,
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
    /// Where measured power comes from.
    pub power: PowerOptions,
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
        if self.device.selector() == AdapterSelector::All && self.device.out.is_some() {
            return Err(input_error(
                "--adapter all writes one file per adapter: give --out-dir DIR instead of --out",
            ));
        }
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
            power: PowerOptions {
                disabled: self.no_power,
                command: match self.power_command {
                    Some(c) if c.trim().is_empty() => {
                        return Err(input_error(
                            "--power-command: empty; give a command that prints watts, e.g. \
                             --power-command 'cat /run/pdu/watts'",
                        ));
                    }
                    c => c,
                },
                pci: match self.power_pci {
                    Some(b) if normalise_bus_id(&b).is_none() => {
                        return Err(input_error(format!(
                            "--power-pci {}: not a PCI bus id; give one such as 0000:03:00.0 \
                             (lspci -D lists them)",
                            crate::util::fmt::clean(&b)
                        )));
                    }
                    b => b,
                },
            },
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
