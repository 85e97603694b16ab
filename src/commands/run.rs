//! `flopcost run`: choose the adapter, check the plan against its limits, open the device,
//! run the suite, save the result file after every record, print the summary.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};

use crate::cli::{RunPlan, TimingArg};
use crate::error::input_error;
use crate::gpu::adapter;
use crate::gpu::{Gpu, fmt_bytes};
use crate::host;
use crate::kernels::precision::Precision;
use crate::kernels::precision::plan_f16;
use crate::kernels::{KernelSpec, Layout, PathChoice, Shape, Variant, coop};
use crate::report::{self, fmt_sig, progress::Progress};
use crate::result::{
    Record, RepeatRecord, Repeatability, ResultFile, ResultWriter, Runtime, SCHEMA_ID, Settings,
    Training, TripletBlock,
};
use crate::workloads::runner::{Observer, Runner, check_fits};
use crate::workloads::{Case, Step, shard};

pub fn run(plan: RunPlan) -> Result<ExitCode> {
    let command_line: Vec<String> = std::env::args().collect();
    let choice = adapter::choose(
        adapter::enumerate(plan.backend),
        &plan.adapter,
        plan.backend,
    )?;
    let info = choice.entry.info.clone();
    let limits = choice.entry.adapter.limits();

    // Everything that makes the input bad is found here, before a file or a device exists.
    for k in &plan.kernels {
        k.check(&limits).map_err(|why| {
            input_error(format!(
                "kernel '{}' does not fit adapter '{}': {why}",
                k.name, info.name
            ))
        })?;
    }
    let device_memory = crate::gpu::memory::device_memory_bytes(&choice.entry.adapter);
    for s in &plan.explicit_shapes {
        check_fits(&limits, *s, &plan.kernels).map_err(input_error)?;
        crate::gpu::memory::check_fits_memory(
            &format!("shape {s}"),
            shard::product_bytes(*s),
            device_memory,
        )
        .map_err(input_error)?;
    }
    // f16 needs f16 in shaders; cooperative matrices asked for explicitly need them.
    let mut f16 = plan_f16(
        &plan.precisions,
        plan.f16_path,
        choice.entry.adapter.features(),
        &choice.entry.adapter.cooperative_matrix_properties(),
        &info,
    )?;
    // An explicit --tokens must fit (split into pieces if need be); so must explicit
    // sizes of a training run.
    let memory = shard::memory_budget().min(device_memory.map_or(u64::MAX, |m| m / 10 * 9));
    for step in &plan.suite.steps {
        match step {
            Step::Layers {
                block,
                tokens: Some(b),
                ..
            } if plan.tokens.is_some() => {
                for layer in &block.layers {
                    for (_, shape) in layer.triplet(*b) {
                        shard::check(&limits, shape, &plan.kernels, memory).map_err(|why| {
                            input_error(format!(
                                "--tokens {b}: {} {} does not fit adapter '{}': {why}",
                                block.name, layer.name, info.name
                            ))
                        })?;
                    }
                }
            }
            Step::Train(options) => {
                options.resolve(&limits, info.device_type, &plan.kernels, plan.settings.seed)?;
            }
            _ => {}
        }
    }
    let created = chrono::Utc::now();
    let path = plan
        .out
        .clone()
        .unwrap_or_else(|| default_path(&info.name, created));
    let writer = ResultWriter::prepare(path, plan.force, plan.out.is_none())?;

    let adapter_record = adapter::describe(choice.entry.index, &choice.entry.adapter, &info);
    // Price inputs that cannot work for this adapter are bad input, found before any GPU work.
    crate::cost::price::resolve(
        &plan.price,
        &adapter_record,
        crate::cost::catalog::builtin().find(&adapter_record),
        None,
    )?;
    let mut progress = Progress::new(plan.quiet);
    eprintln!("{}", choice.announcement());
    let mut warnings = Vec::new();
    if info.device_type == wgpu::DeviceType::Cpu {
        warnings.push(format!(
            "adapter '{}' is a software rasteriser running on the CPU: its figures say nothing \
             about GPUs; use --adapter to pick a GPU if this machine has one",
            info.name
        ));
    }
    // Ctrl-C and SIGTERM from here on stop after the sample in flight and keep what was
    // measured.
    crate::interrupt::install()?;
    let gpu = Gpu::open(choice.entry)?;
    if f16.variant.coopmat {
        progress.message("checking the cooperative-matrix kernel on this adapter");
        if let Err(why) = coop::probe(&gpu) {
            if plan.f16_path == PathChoice::Coopmat {
                return Err(anyhow!(
                    "the cooperative-matrix kernel failed its check on adapter '{}': {why}; \
                     run f16 on the shader cores with --f16-path simt (or auto), and please \
                     report this",
                    info.name
                ));
            }
            f16.variant = Variant::simt(crate::kernels::Precision::F16);
            f16.fallback = Some(format!(
                "f16 GEMMs run on the shader cores (kernel.path simt): the cooperative-matrix \
                 kernel failed its check on this adapter ({why}); please report this"
            ));
        }
    }
    if let Some(why) = &f16.fallback {
        warnings.push(why.clone());
    }
    let mut runner = Runner::new(&gpu, plan.kernels.clone(), plan.settings.clone())?;
    runner.set_precisions(&plan.precisions, f16.variant);
    if let Some(b) = plan.tune_budget {
        runner.set_tune_budget(b);
    }
    let peaks = if plan.peaks {
        progress.message("measuring the FMA peaks and copy bandwidth");
        let settings = crate::workloads::peaks::PeakSettings {
            timestamps: plan.timing == TimingArg::Auto,
            ..Default::default()
        };
        match crate::workloads::peaks::measure(&gpu, &settings) {
            Ok(p) => {
                runner.set_peaks(&p);
                progress.info(&format!(
                    "peaks: FMA f32 {} TFLOP/s{}, copy {} GB/s",
                    fmt_sig(p.fma_f32_tflops, 3),
                    p.fma_f16_tflops.map_or(String::new(), |v| format!(
                        ", FMA f16 {} TFLOP/s",
                        fmt_sig(v, 3)
                    )),
                    fmt_sig(p.copy_gbps, 3)
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
    if plan.timing == TimingArg::Auto && !gpu.has_timestamps() {
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
        fmt_bytes(limits.max_storage_buffer_binding_size),
    );

    let s = &plan.settings;
    let file = ResultFile {
        schema: SCHEMA_ID.into(),
        tool: host::tool(),
        created_at: created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        complete: false,
        incomplete_reason: Some("the run is in progress (or was killed)".into()),
        host: host::host(),
        adapter: adapter_record,
        settings: Settings {
            suite: plan.suite.name.clone(),
            seed: s.seed,
            time_budget_s: s.time_budget.as_secs_f64(),
            total_budget_s: s.total_budget.as_secs_f64(),
            max_samples: s.max_samples,
            min_samples: s.min_samples,
            kernels: plan.kernels.iter().map(|k| k.name.clone()).collect(),
            timing: match plan.timing {
                TimingArg::Auto => "auto",
                TimingArg::Host => "host",
            }
            .into(),
            command_line,
            tokens: plan.tokens,
            precisions: plan
                .precisions
                .iter()
                .map(|p| p.as_str().to_string())
                .collect(),
            f16_path: plan
                .precisions
                .contains(&crate::kernels::Precision::F16)
                .then(|| plan.f16_path.as_str().to_string()),
        },
        peaks,
        records: Vec::new(),
        warnings: Vec::new(),
        cost: None,
        triplets: Vec::new(),
        training: None,
        repeatability: None,
        sustain: None,
        more_training: Vec::new(),
        runtime: Some(Runtime::wgpu()),
    };
    let mut ui = RunUi {
        file,
        writer,
        progress: &mut progress,
    };
    for w in warnings {
        ui.warn(w);
    }
    ui.save()?;

    let outcome = measure(&mut runner, &plan, &mut ui);
    ui.progress.finish();
    if let Err(e) = outcome {
        ui.file.incomplete_reason = Some(format!("{e:#}"));
        let saved = ui.save();
        let kept = ui.file.records.len();
        let e = e.context(format!(
            "the run stopped; {kept} finished record(s) are saved in {}",
            ui.writer.path.display()
        ));
        return Err(match saved {
            Ok(()) => e,
            Err(s) => e.context(format!("and saving them failed too: {s:#}")),
        });
    }
    if let Some(why) = &runner.training_failure {
        // Printed once, as the error below; kept in the file too.
        ui.file.warnings.push(format!("training failed: {why}"));
    }
    ui.file.complete = true;
    ui.file.incomplete_reason = None;
    let cost = crate::cost::price_file(&ui.file, &plan.price)?;
    ui.file.cost = Some(cost.clone());
    ui.save()?;

    println!("{}", report::summary_table(&ui.file.records));
    if let Some(best) = report::best_record(&ui.file.records) {
        let tf = best.tflops.as_ref().map_or(0.0, |t| t.median);
        println!(
            "best: {} TFLOP/s median ({} {}x{}x{}, kernel {}), timing {}",
            fmt_sig(tf, 3),
            best.layout,
            best.m,
            best.n,
            best.k,
            best.kernel.name,
            runner.timing_method()
        );
    }
    if !ui.file.triplets.is_empty() {
        println!("{}", report::training::triplet_table(&ui.file.triplets));
    }
    for t in ui.file.trainings() {
        println!("{}", report::training::training_summary(t));
    }
    println!("{}", report::cost_line(&cost));
    println!("result file: {}", ui.writer.path.display());
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

/// The suite, then its repeats (`--repeat`), then the sustained run (`--sustain`).
fn measure(runner: &mut Runner<'_>, plan: &RunPlan, ui: &mut RunUi<'_>) -> Result<()> {
    runner.run_suite(&plan.suite, ui)?;
    if plan.repeat > 1 {
        let mut medians: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for r in &ui.file.records {
            if let Some(t) = &r.timing {
                medians.entry(r.id.clone()).or_default().push(t.median_ns);
            }
        }
        for run in 2..=plan.repeat {
            ui.progress
                .info(&format!("repeat {run} of {}", plan.repeat));
            runner.restart();
            let mut again = RepeatUi {
                ui: &mut *ui,
                medians: &mut medians,
            };
            runner.run_suite(&plan.suite, &mut again)?;
        }
        let records: Vec<RepeatRecord> = medians
            .into_iter()
            .filter(|(_, m)| m.len() > 1)
            .map(|(id, m)| RepeatRecord::new(id, m, plan.repeat_threshold))
            .collect();
        let flagged: Vec<&RepeatRecord> = records.iter().filter(|r| r.flagged).collect();
        for r in &flagged {
            ui.warn(format!(
                "{}: its median moved by {:.1}% across {} runs, more than the {:.1}% \
                 threshold; its figure is not reproducible on this machine as it is (close \
                 other work, raise --time-budget)",
                r.id,
                100.0 * r.spread,
                r.medians_ns.len(),
                100.0 * plan.repeat_threshold
            ));
        }
        ui.file.repeatability = Some(Repeatability {
            repeats: plan.repeat,
            threshold: plan.repeat_threshold,
            flagged: flagged.len() as u32,
            records,
        });
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
fn sustain_target(plan: &RunPlan, file: &ResultFile) -> Result<(Case, KernelSpec, Precision)> {
    if let (Some(shape), Some(spec)) = (plan.explicit_shapes.first(), plan.kernels.first()) {
        let layout = match plan.suite.steps.first() {
            Some(Step::Cases(cases)) => cases.first().map_or(Layout::Nn, |c| c.layout),
            _ => Layout::Nn,
        };
        let precision = plan.precisions.first().copied().unwrap_or(Precision::F32);
        return Ok((Case::new(layout, *shape), spec.clone(), precision));
    }
    let best = report::best_record(&file.records)
        .ok_or_else(|| anyhow!("--sustain: no verified record to sustain"))?;
    let spec = plan
        .kernels
        .iter()
        .find(|k| k.name == best.kernel.name)
        .cloned()
        .ok_or_else(|| anyhow!("--sustain: kernel '{}' is not known", best.kernel.name))?;
    let precision = if best.precision == "f16" {
        Precision::F16
    } else {
        Precision::F32
    };
    Ok((
        Case::new(best.layout, Shape::new(best.m, best.n, best.k)),
        spec,
        precision,
    ))
}

/// Receives the repeats of the suite: their medians go to the repeatability section, the
/// first run's records stay the file's records.
struct RepeatUi<'u, 'p> {
    ui: &'u mut RunUi<'p>,
    medians: &'u mut BTreeMap<String, Vec<f64>>,
}

impl Observer for RepeatUi<'_, '_> {
    fn planned(&mut self, count: u64) {
        self.ui.planned(count);
    }

    fn started(&mut self, label: &str) {
        self.ui.started(label);
    }

    fn finished(&mut self, record: &Record) -> Result<()> {
        self.ui.progress.finished(record);
        if let Some(t) = &record.timing {
            self.medians
                .entry(record.id.clone())
                .or_default()
                .push(t.median_ns);
        }
        Ok(())
    }

    fn skipped(&mut self, label: &str, why: &str) {
        self.ui.skipped(label, why);
    }

    fn warn(&mut self, message: String) {
        self.ui.warn(message);
    }

    fn note(&mut self, message: String) {
        self.ui.note(message);
    }
}

/// `results/local/<adapter-slug>-<UTC time>.json`, not clobbering an existing file.
fn default_path(adapter: &str, t: chrono::DateTime<chrono::Utc>) -> PathBuf {
    let base = format!("{}-{}", slug(adapter), t.format("%Y%m%dT%H%M%SZ"));
    let dir = PathBuf::from("results").join("local");
    let mut p = dir.join(format!("{base}.json"));
    let mut n = 2;
    while p.exists() {
        p = dir.join(format!("{base}-{n}.json"));
        n += 1;
    }
    p
}

/// Lower-case letters and digits joined by single dashes.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "adapter".into()
    } else {
        out
    }
}

/// Connects the runner to the result file and the terminal.
struct RunUi<'p> {
    file: ResultFile,
    writer: ResultWriter,
    progress: &'p mut Progress,
}

impl RunUi<'_> {
    fn save(&self) -> Result<()> {
        self.writer.save(&self.file)
    }
}

impl Observer for RunUi<'_> {
    fn planned(&mut self, count: u64) {
        self.progress.add_total(count);
    }

    fn started(&mut self, label: &str) {
        self.progress.message(label);
    }

    fn finished(&mut self, record: &Record) -> Result<()> {
        self.file.records.push(record.clone());
        self.progress.finished(record);
        self.save()
    }

    fn skipped(&mut self, _label: &str, _why: &str) {
        self.progress.skipped();
    }

    fn warn(&mut self, message: String) {
        if self.progress.warn(&message) {
            self.file.warnings.push(message);
        }
    }

    fn note(&mut self, message: String) {
        self.progress.info(&message);
    }

    fn triplets(&mut self, block: &TripletBlock) -> Result<()> {
        self.progress.info(&report::training::triplet_line(block));
        self.file.triplets.push(block.clone());
        self.save()
    }

    fn training(&mut self, section: &Training) -> Result<()> {
        if self.file.training.is_none() {
            self.file.training = Some(section.clone());
        } else {
            self.file.more_training.push(section.clone());
        }
        self.save()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(
            slug("llvmpipe (LLVM 15.0.6, 256 bits)"),
            "llvmpipe-llvm-15-0-6-256-bits"
        );
        assert_eq!(slug("NVIDIA H200"), "nvidia-h200");
        assert_eq!(slug("///"), "adapter");
    }
}
