//! `flopcost fleet DIR`: the summary of a folder of result files from many hosts.

use std::process::ExitCode;

use anyhow::Result;

use crate::analysis::{fleet, ingest};
use crate::cli::FleetPlan;
use crate::report;

pub fn fleet(plan: FleetPlan) -> Result<ExitCode> {
    let writer = super::out_writer(&plan.out, plan.force)?;
    let f = fleet::build(ingest::folder(&plan.dir, &plan.spec)?, plan.threshold)?;
    let text = report::fleet::exporter(plan.format).render(&f)?;
    super::emit(writer, &text)?;
    Ok(ExitCode::SUCCESS)
}
