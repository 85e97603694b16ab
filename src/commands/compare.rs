//! `flopcost compare A.json B.json ...`: takes in every file, builds the comparison and
//! renders it in the chosen format, on stdout or atomically into --out.

use std::process::ExitCode;

use anyhow::Result;

use crate::analysis::{compare, ingest};
use crate::cli::ComparePlan;
use crate::report::export;

pub fn compare(plan: ComparePlan) -> Result<ExitCode> {
    let writer = super::out_writer(&plan.out, plan.force)?;
    let inputs = ingest::files(&plan.files, &plan.spec)?;
    let c = compare::build(&inputs, plan.baseline, plan.kernel.as_deref())?;
    let text = export::exporter(plan.format).render(&c)?;
    super::emit(writer, &text)?;
    Ok(ExitCode::SUCCESS)
}
