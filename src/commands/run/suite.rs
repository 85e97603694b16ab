//! An exploratory suite (`--suite`, `--shape`): its cases, then its repeats
//! (`--repeat`), then the sustained run (`--sustain`).

use anyhow::{Result, anyhow};

use super::ui::RunUi;
use crate::cli::RunPlan;
use crate::result::ResultFile;
use crate::types::{Layout, Precision, Shape};
use crate::workloads::runner::{Observer, Runner};
use crate::workloads::{Case, Step};

/// The suite, then its repeats (`--repeat`), then the sustained run (`--sustain`).
pub(super) fn measure(runner: &mut Runner<'_>, plan: &RunPlan, ui: &mut RunUi<'_>) -> Result<()> {
    runner.run_suite(&plan.suite, ui)?;
    if let Some(repeats) = plan.repeats {
        let first = ui.file.records.clone();
        let r = runner.repeat(&plan.suite, &first, repeats, ui)?;
        ui.file.repeatability = Some(r);
        ui.save()?;
    }
    if let Some(length) = plan.sustain {
        let (case, spec, precision) = sustain_target(plan, &ui.file)?;
        let s = runner.sustain(&case, &spec, precision, length, ui)?;
        if s.throttled {
            ui.warn(format!(
                "sustained {} {}x{}x{}: throughput fell to {:.0}% of the first second; the \
                 device slows down under sustained load (heat, power limit or other work)",
                s.layout,
                s.m,
                s.n,
                s.k,
                100.0 * s.min_vs_first
            ));
        }
        ui.file.sustain = Some(s);
        ui.save()?;
    }
    Ok(())
}

/// The GEMM `--sustain` runs: the first `--shape` in the first layout with the first
/// kernel, else the run's fastest verified record.
fn sustain_target(
    plan: &RunPlan,
    file: &ResultFile,
) -> Result<(Case, crate::kernels::KernelSpec, Precision)> {
    if let (Some(shape), Some(spec)) = (plan.explicit_shapes.first(), plan.kernels.first()) {
        let layout = match plan.suite.steps.first() {
            Some(Step::Cases(cases)) => cases.first().map_or(Layout::Nn, |c| c.layout),
            _ => Layout::Nn,
        };
        let precision = plan.precisions.first().copied().unwrap_or_default();
        return Ok((Case::new(layout, *shape), spec.clone(), precision));
    }
    let best = crate::result::best_record(&file.records)
        .ok_or_else(|| anyhow!("--sustain: no verified record to sustain"))?;
    let spec = plan
        .kernels
        .iter()
        .find(|k| k.name == best.kernel.name)
        .cloned()
        .ok_or_else(|| anyhow!("--sustain: kernel '{}' is not known", best.kernel.name))?;
    Ok((
        Case::new(best.layout, Shape::new(best.m, best.n, best.k)),
        spec,
        best.precision,
    ))
}
