//! `flopcost run` with a named workload: which one, what it says before it starts, and
//! how its repetitions reach the result file.

use std::time::Duration;

use anyhow::Result;

use super::super::startup::Startup;
use super::ui::RunUi;
use crate::cli::{RunPlan, WorkloadChoice};
use crate::error::input_error;
use crate::kernels;
use crate::result::WorkloadRecord;
use crate::result::workload::precision_text;
use crate::types::Precision;
use crate::util::fmt_sig;
use crate::workloads::named::{self, Workload};
use crate::workloads::runner::Runner;

/// The workload the plan asks for on the chosen adapter, and why it is the one; the plan
/// then runs its suite with the tuned kernel, its precision, its seed and (unless
/// `--time-budget` was given) its sampling budget. A mixed-precision workload named on an
/// adapter without f16 in shaders is bad input.
pub fn resolve(plan: &mut RunPlan, startup: &mut Startup) -> Result<Option<(Workload, String)>> {
    let Some(choice) = plan.workload.as_ref() else {
        return Ok(None);
    };
    let f16 = startup.has_f16();
    let (w, why) = match choice {
        WorkloadChoice::Named(w) => ((**w).clone(), "named by --workload".to_string()),
        WorkloadChoice::ForDevice => named::default_for(startup.info().device_type, f16),
    };
    if w.precision == Precision::F16 && !f16 {
        return Err(input_error(format!(
            "workload {} runs in mixed precision (f16 operands), but adapter '{}' has no f16 in \
             shaders (wgpu feature SHADER_F16); run {}, its f32 counterpart, or pick another \
             adapter (`flopcost devices`)",
            w.name,
            startup.info().name,
            named::f32_counterpart(w.name)
        )));
    }
    plan.suite = w.suite();
    plan.kernels = kernels::lookup(&[named::KERNEL.to_string()]).unwrap_or_default();
    plan.settings.seed = w.seed;
    plan.precisions = vec![w.precision];
    plan.tokens = Some(w.tokens);
    if !plan.time_budget_given {
        plan.settings.time_budget = w.time_budget;
    }
    startup.replan(&plan.precisions)?;
    Ok(Some((w, why)))
}

/// What the run says before the workload starts.
pub fn announcement(w: &Workload, why: &str, repetitions: u32, expected: Duration) -> String {
    format!(
        "workload {} v{} ({}; {}; {why}; `--workload` chooses another): {} repetitions; \
         expected duration {} s from now, tuning included",
        w.name,
        w.version,
        w.digest(),
        precision_text(w.precision),
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
        paths: Vec::new(),
        model_step: None,
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
        section.model_step = run.model_step;
        section.paths = run.paths;
        section.took_s = Some(run.took.as_secs_f64());
    }
    ui.file.repeatability = run.repeatability;
    ui.progress.info(&format!(
        "workload {} v{}: {} repetitions in {} s (expected {} s)",
        w.name,
        w.version,
        plan.repetitions,
        fmt_sig(run.took.as_secs_f64(), 3),
        fmt_sig(expected.as_secs_f64(), 3)
    ));
    ui.save()
}
