//! `flopcost run` with a named workload: which one, what it says before it starts, and
//! how its repetitions reach the result file.

use std::time::Duration;

use anyhow::Result;

use super::ui::RunUi;
use crate::cli::{RunPlan, WorkloadChoice};
use crate::gpu::Gpu;
use crate::kernels;
use crate::result::WorkloadRecord;
use crate::util::fmt_sig;
use crate::workloads::named::{self, Workload};
use crate::workloads::runner::Runner;

/// The workload the plan asks for on a device of `device` type; the plan then runs its
/// suite with the tuned kernel, its seed and (unless `--time-budget` was given) its
/// sampling budget.
pub fn resolve(plan: &mut RunPlan, device: wgpu::DeviceType) -> Option<Workload> {
    let w = match plan.workload.as_ref()? {
        WorkloadChoice::Named(w) => (**w).clone(),
        WorkloadChoice::ForDevice => named::default_for(device),
    };
    plan.suite = w.suite();
    plan.kernels = kernels::lookup(&[named::KERNEL.to_string()]).unwrap_or_default();
    plan.settings.seed = w.seed;
    plan.precisions = vec![w.precision];
    plan.tokens = Some(w.tokens);
    if !plan.time_budget_given {
        plan.settings.time_budget = w.time_budget;
    }
    Some(w)
}

/// What the run says before the workload starts.
pub fn announcement(w: &Workload, repetitions: u32, expected: Duration, gpu: &Gpu) -> String {
    let why = if gpu.is_software() {
        "the workload for software adapters"
    } else {
        "the workload GPUs are compared on"
    };
    format!(
        "workload {} v{} ({}; {why}; `--workload` chooses another): {} repetitions; expected \
         duration {} s from now, tuning included",
        w.name,
        w.version,
        w.digest(),
        repetitions,
        fmt_sig(expected.as_secs_f64(), 2)
    )
}

/// The file's workload section before the run.
pub fn record(w: &Workload, repetitions: u32, expected: Duration) -> WorkloadRecord {
    let definition = w.definition();
    WorkloadRecord {
        name: w.name.into(),
        version: w.version,
        digest: definition.digest(),
        description: w.description.into(),
        step_flops: definition.step_flops().unwrap_or(u64::MAX),
        definition,
        repetitions,
        step_times_ns: Vec::new(),
        expected_s: expected.as_secs_f64(),
        took_s: None,
    }
}

/// Runs the workload's repetitions and fills the file's workload and repeatability
/// sections.
pub fn measure(
    runner: &mut Runner<'_>,
    w: &Workload,
    plan: &RunPlan,
    ui: &mut RunUi<'_>,
) -> Result<()> {
    let expected = ui
        .file
        .workload
        .as_ref()
        .map_or(Duration::ZERO, |r| Duration::from_secs_f64(r.expected_s));
    let threshold = plan.repeats.map_or(0.05, |r| r.threshold);
    let run = runner.run_workload(w, plan.repetitions, expected, threshold, ui)?;
    if let Some(section) = ui.file.workload.as_mut() {
        section.step_times_ns = run.step_times_ns;
        section.took_s = Some(run.took.as_secs_f64());
    }
    ui.file.repeatability = run.repeatability;
    ui.progress.info(&format!(
        "workload {}: {} repetitions in {} s (expected {} s)",
        w.name,
        plan.repetitions,
        fmt_sig(run.took.as_secs_f64(), 3),
        fmt_sig(expected.as_secs_f64(), 3)
    ));
    ui.save()
}
