//! Command-line parsing (clap derive) and its translation into validated plans.
//!
//! Nothing below this module sees clap: each subcommand's arguments become a plan of
//! domain types, and every check that needs no GPU happens here, before any GPU work.
//! One file per subcommand's arguments and plan (`run.rs`, `train.rs`, `tune.rs`, ...),
//! the argument groups they share in `common.rs`; this file holds the command itself.

mod common;
mod compare;
mod cost;
mod fleet;
mod listings;
mod peak;
mod run;
mod train;
mod tune;

use clap::{Parser, Subcommand};

pub use common::{
    BackendArg, CostFlags, F16PathArg, JsonFlag, MAX_TOKENS, PrecisionArgs, PriceArgs, TargetArgs,
    TimingArg,
};
pub use compare::{CompareArgs, ComparePlan, FormatArg};
pub use cost::CostArgs;
pub use fleet::{FleetArgs, FleetFormat, FleetPlan, LeaderboardArgs};
pub use listings::{DevicesArgs, ValidateArgs};
pub use peak::PeakArgs;
pub use run::{RunArgs, RunPlan, WorkloadChoice};
pub use train::{OptimizerArg, TrainArgs};
pub use tune::{TuneArgs, TunePlan};

use compare::COMPARE_EXAMPLES;
use cost::COST_EXAMPLES;
use fleet::FLEET_EXAMPLES;
use peak::PEAK_EXAMPLES;
use run::RUN_EXAMPLES;
use train::TRAIN_EXAMPLES;
use tune::TUNE_EXAMPLES;

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

#[cfg(test)]
mod tests;
