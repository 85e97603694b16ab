//! `flopcost peak`: its arguments and their checks.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::error::input_error;
use crate::gpu::{AdapterSelector, BackendFilter};

use super::common::*;

pub(super) const PEAK_EXAMPLES: &str = "\
Examples:
  flopcost peak
  flopcost peak --json
  flopcost peak --out peaks.json        a result file with the peaks section only";

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
