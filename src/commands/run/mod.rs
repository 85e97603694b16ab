//! `flopcost run` (and `flopcost train`): choose the adapter, check the plan against its
//! limits, open the device, run the suite, save the result file after every record,
//! print the summary.

mod all;
mod checks;
mod suite;
mod ui;
mod workload;

use std::process::ExitCode;

use anyhow::{Result, anyhow};

use super::startup::Startup;
use crate::cli::RunPlan;
use crate::gpu::adapter::AdapterSelector;
use crate::report::{self, progress::Progress};
use crate::result::ResultWriter;
use crate::util::fmt_sig;
use crate::workloads::peaks::{self, PeakSettings};
use crate::workloads::runner::{Observer, Runner};
use ui::RunUi;

pub fn run(plan: RunPlan) -> Result<ExitCode> {
    if plan.adapter == AdapterSelector::All {
        return all::run_all(plan);
    }
    run_one(plan, &mut None)
}

/// One adapter's run; `written` learns the result file's path once it is chosen.
fn run_one(mut plan: RunPlan, written: &mut Option<std::path::PathBuf>) -> Result<ExitCode> {
    let mut startup = Startup::new(&plan.adapter, plan.backend, &plan.precisions, plan.f16_path)?;
    let workload = workload::resolve(&mut plan, &mut startup)?;
    let (limits, info) = (startup.limits(), startup.info().clone());
    // Everything that makes the input bad is found here, before a file or a device exists.
    checks::check(&plan, &limits, &startup.choice.entry.adapter, &info)?;
    let adapter = startup.adapter_record();
    // The price inputs are resolved once, before anything runs; the cost section is made
    // from them when the measurements are in.
    let entry = crate::cost::catalog::builtin().find(&adapter);
    let price = crate::cost::price::resolve(&plan.price, &adapter, entry, None)?;
    let unmatched_price = price.unmatched.clone();
    // An ownership price without nameplate watts waits for the measured ones: bad input
    // where no sensor will be read.
    if let Some(why) = &price.awaiting_watts {
        let c = crate::measure::power::sources::choose(
            &plan.power,
            &info.device_pci_bus_id,
            info.vendor,
        );
        if let Err(none) = &c.source {
            let met: Vec<String> = std::iter::once(none.clone()).chain(c.warnings).collect();
            return Err(crate::error::input_error(format!(
                "{why}; no power sensor is read here ({})",
                met.join("; ")
            )));
        }
    }
    let created = chrono::Utc::now();
    let writer = match &plan.out_dir {
        Some(dir) => ResultWriter::in_dir(dir, &fleet_stem(&info.name))?,
        None => {
            let path = plan
                .out
                .clone()
                .unwrap_or_else(|| ResultWriter::default_path(&info.name, created));
            ResultWriter::prepare(path, plan.force, plan.out.is_none())?
        }
    };
    let mut file = crate::provenance::result_file(adapter, plan.recorded_settings(), created);
    // Takes the path (exclusively, without --force) before the device is opened.
    writer.save(&file)?;
    *written = Some(writer.path());
    let mut progress = Progress::new(plan.quiet);
    let session = startup.open(&mut |m| progress.message(m))?;
    let gpu = &session.gpu;
    let mut runner = Runner::new(gpu, plan.kernels.clone(), plan.settings.clone())?;
    runner.set_precisions(&plan.precisions, session.f16);
    if let Some(b) = plan.tune_budget {
        runner.set_tune_budget(b);
    }
    let mut warnings = session.warnings.clone();
    warnings.extend(unmatched_price);
    let board_watts = entry.and_then(|e| e.board_power_w.as_ref().map(|f| f.value));
    let power = start_power(&plan.power, &info, board_watts, &mut warnings, &progress);
    runner.meter().set_power(power.clone());
    let peaks = if plan.peaks {
        progress.message("measuring the FMA, cooperative-matrix and copy peaks");
        match peaks::measure(runner.meter(), &PeakSettings::default()) {
            Ok(p) => {
                runner.set_peaks(&p);
                progress.info(&report::peaks::line(&p));
                warnings.extend(peaks::plausibility(
                    &p,
                    crate::cost::catalog::builtin().find(&file.adapter),
                ));
                Some(p)
            }
            Err(e) => {
                warnings.push(format!(
                    "measuring the peaks failed ({e:#}); records have no efficiency; \
                     `flopcost peak` shows the error alone, --no-peaks skips the measurement"
                ));
                None
            }
        }
    } else {
        None
    };
    if plan.settings.timestamps && !gpu.has_timestamps() {
        warnings.push(
            "the adapter has no timestamp queries: timing with the host clock around submit and \
             wait, which includes launch overhead and understates short kernels"
                .into(),
        );
    }
    eprintln!(
        "suite {}: {} kernel(s), {} s per benchmark, {} s in all; timing: {}; max binding {}",
        plan.suite.name,
        plan.kernels.len(),
        fmt_sig(plan.settings.time_budget.as_secs_f64(), 3),
        fmt_sig(plan.settings.total_budget.as_secs_f64(), 3),
        runner.timing_method(),
        crate::util::fmt_bytes(limits.max_storage_buffer_binding_size),
    );
    file.peaks = peaks;
    if let Some((w, why)) = &workload {
        let expected = runner.expect_workload(w, plan.repetitions);
        eprintln!(
            "{}",
            workload::announcement(w, why, plan.repetitions, expected)
        );
        file.workload = Some(workload::record(w, plan.repetitions, expected));
    }
    let mut ui = RunUi {
        file,
        writer,
        progress: &mut progress,
    };
    for w in warnings {
        ui.warn(w);
    }
    ui.save()?;

    let outcome = match &workload {
        Some((w, _)) => workload::measure(&mut runner, w, &plan, &mut ui),
        None => suite::measure(&mut runner, &plan, &mut ui),
    };
    ui.progress.finish();
    if let Err(e) = outcome {
        ui.file.power = power.as_ref().map(|p| p.section());
        ui.file.incomplete_reason = Some(format!("{e:#}"));
        let saved = ui.save();
        let kept = ui.file.records.len();
        let e = if ui.file.has_measurements() {
            e.context(format!(
                "the run stopped; {kept} finished record(s) are saved in {}",
                ui.writer.path().display()
            ))
        } else {
            e.context("the run stopped before its first measurement; no result file was written")
        };
        return Err(match saved {
            Ok(()) => e,
            Err(s) => e.context(format!("and saving them failed too: {s:#}")),
        });
    }
    if let Some(why) = &runner.training_failure {
        // Printed once, as the error below; kept in the file too.
        ui.file.warnings.push(format!("training failed: {why}"));
    }
    ui.file.power = power.as_ref().map(|p| p.section());
    for w in runner.meter().take_warnings() {
        ui.warn(w);
    }
    ui.file.complete = true;
    ui.file.incomplete_reason = None;
    ui.file.cost = Some(crate::cost::priced(&ui.file, price, entry));
    ui.save()?;
    println!("{}", report::run_summary(&ui.file, runner.timing_method()));
    println!("result file: {}", ui.writer.path().display());
    if !runner.failures.is_empty() {
        return Err(anyhow!(
            "verification failed for {} record(s): {}; they were not timed. This is a bug in \
             the kernel or the driver: please report it with the result file",
            runner.failures.len(),
            runner.failures.join(", ")
        ));
    }
    if let Some(why) = &runner.training_failure {
        return Err(anyhow!("training failed: {why}"));
    }
    Ok(ExitCode::SUCCESS)
}

/// The power sampler of a run, started and its idle power measured, where a source
/// applies; else `None`, and the energy figures stay nameplate. What the choice met
/// (permission refused, say) goes to `warnings`.
fn start_power(
    opts: &crate::measure::power::sources::PowerOptions,
    info: &wgpu::AdapterInfo,
    board_watts: Option<f64>,
    warnings: &mut Vec<String>,
    progress: &Progress,
) -> Option<std::sync::Arc<crate::measure::power::PowerSampler>> {
    use crate::measure::power::{IDLE, PowerSampler, sources};
    let choice = sources::choose(opts, &info.device_pci_bus_id, info.vendor);
    warnings.extend(choice.warnings);
    match choice.source {
        Ok(source) => {
            let mut sampler = PowerSampler::start(source, board_watts);
            progress.message("measuring idle power");
            sampler.measure_idle(IDLE);
            let s = sampler.section();
            progress.info(&format!(
                "power: {}; idle {}",
                s.method,
                match s.idle_watts {
                    Some(w) => format!("{} W", fmt_sig(w, 3)),
                    None => format!(
                        "not measured ({})",
                        s.idle_none_reason.as_deref().unwrap_or("no samples")
                    ),
                }
            ));
            Some(std::sync::Arc::new(sampler))
        }
        Err(why) => {
            if !opts.disabled {
                progress.info(&format!(
                    "power: not measured ({why}); energy figures are nameplate"
                ));
            }
            None
        }
    }
}

/// `<host>-<adapter>`: the name of a run's file in `--out-dir`.
pub fn fleet_stem(adapter: &str) -> String {
    let host = sysinfo::System::host_name()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| "host".into());
    format!(
        "{}-{}",
        crate::util::slug(&host),
        crate::util::slug(adapter)
    )
}
