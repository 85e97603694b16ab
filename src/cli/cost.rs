//! `flopcost cost`: its arguments.

use std::path::PathBuf;

use clap::Args;

use super::common::*;

pub(super) const COST_EXAMPLES: &str = "\
Examples:
  flopcost cost results/lavapipe-vulkan.json                     the recorded (or catalog) prices
  flopcost cost run.json --usd-per-hour 2.49                     rental price
  flopcost cost run.json --capex-usd 30000 --watts 700 --usd-per-kwh 0.1
  flopcost cost run.json --price-file prices.toml --out priced.json

Precedence: --usd-per-hour, then the ownership flags, then --price-file, then the prices
already recorded in the file, then the catalog entry the adapter matches.";

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
