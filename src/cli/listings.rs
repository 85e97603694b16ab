//! The arguments of the commands that list or check without a GPU run: `devices` and
//! `validate` (`kernels`, `catalog` and `workloads` take only `--json`).

use std::path::PathBuf;

use clap::Args;

use super::common::*;

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
