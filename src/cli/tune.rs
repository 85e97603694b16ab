//! `flopcost tune`: its arguments and validated plan.

use std::time::Duration;

use anyhow::Result;
use clap::Args;

use crate::gpu::{AdapterSelector, BackendFilter};
use crate::types::PathChoice;
use crate::types::{Layout, Precision, Shape};
use crate::workloads::{self};

use super::common::*;

pub(super) const TUNE_EXAMPLES: &str = "\
Examples:
  flopcost tune                         default shapes, smallest first, within --budget
  flopcost tune --shape 4096 --shape 32x4096x4096 --layout nn,nt,tn
  flopcost tune --force --budget 600    tune again even where the cache has a winner
  flopcost tune --precision f16         the f16 kernels (cooperative matrices where available)

Each (layout, shape class) gets one winner: candidates that fit the adapter are verified
against an f64 reference (a failing one is discarded and logged), timed briefly, and the
fastest is cached per adapter, driver and flopcost version in the user's cache directory
(FLOPCOST_CACHE_DIR overrides it). `run` uses the cache, or tunes within its own budget.";

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
