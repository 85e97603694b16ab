//! `flopcost tune`: autotune the tuned kernel for the chosen adapter, shape by shape
//! within a budget, with a line per candidate on stderr and a table per shape on stdout;
//! winners are saved to the tuning cache after each shape.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::startup::Startup;
use crate::cli::TunePlan;
use crate::kernels::tune::{self, Outcome, ShapeClass, Trial, TuneObserver, Tuner};
use crate::kernels::{BlockConfig, Problem, Variant};
use crate::measure::gpu::Meter;
use crate::report::tune::{self as table, Winner};
use crate::types::{Layout, Precision, Shape};
use crate::util::fmt_sig;
use crate::workloads::shard;

pub fn tune(plan: TunePlan) -> Result<ExitCode> {
    let startup = Startup::new(&plan.adapter, plan.backend, &plan.precisions, plan.f16_path)?;
    let session = startup.open(&mut |m| eprintln!("{m}"))?;
    for w in &session.warnings {
        eprintln!("warning: {w}");
    }
    let gpu = &session.gpu;
    let limits = gpu.limits();
    let cases: Vec<(Variant, Layout, Shape)> = plan
        .precisions
        .iter()
        .map(|&p| match p {
            Precision::F16 => session.f16,
            p => Variant::simt(p),
        })
        .flat_map(|v| plan.cases.iter().map(move |&(l, s)| (v, l, s)))
        .collect();
    let (cache, warnings) = tune::Table::load(gpu);
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let cache_path = cache
        .path()
        .map_or("(none)".to_string(), |p| p.display().to_string());
    let mut meter = Meter::new(gpu, true)?;
    let mut tuner = Tuner::new(gpu, cache);
    let started = Instant::now();
    // Throughput of the last winner, to skip shapes that cannot fit the budget.
    let mut rate_flop_per_ns: Option<f64> = None;
    let mut summary: Vec<Winner> = Vec::new();
    let mut failed_total = 0usize;
    let n_cases = cases.len();
    for (i, &(variant, layout, shape)) in cases.iter().enumerate() {
        let class = ShapeClass::of(shape);
        let what = if variant == Variant::F32 {
            layout.to_string()
        } else {
            format!("{layout} {}", variant.key())
        };
        let head = format!("[{}/{n_cases}] {what} {shape} (class {class})", i + 1);
        let row = |winner: String, tflops: String| Winner {
            what: what.clone(),
            class: class.to_string(),
            shape,
            winner,
            tflops,
        };
        if !plan.force
            && let Some(e) = tuner.table.get(variant, layout, class)
        {
            eprintln!(
                "{head}: cached winner {} ({} TFLOP/s median)",
                e.config,
                fmt_sig(e.tflops, 3)
            );
            summary.push(row(
                e.config.to_string(),
                format!("{} (cached, median)", fmt_sig(e.tflops, 3)),
            ));
            continue;
        }
        if let Err(why) = shard::check_unsplit(&limits, shape, &[]) {
            eprintln!("{head}: skipped: {why}");
            summary.push(row("-".into(), "over the adapter's limits".into()));
            continue;
        }
        let left = plan.budget.saturating_sub(started.elapsed());
        // A shape is tried only when a few runs of it fit what is left.
        let fits = match rate_flop_per_ns {
            Some(r) => Duration::from_secs_f64(20.0 * shape.flops() as f64 / r * 1e-9) < left,
            None => !left.is_zero(),
        };
        if !fits {
            eprintln!("{head}: skipped: it would not fit the rest of the budget (--budget)");
            summary.push(row("-".into(), "over the budget".into()));
            continue;
        }
        eprintln!("{head}: uploading inputs, computing the reference");
        let problem = Problem::with_precision(gpu, layout, shape, plan.seed, variant.precision)
            .with_context(|| format!("preparing {what} {shape}"))?;
        // This shape gets what is left, shared with the shapes after it.
        let budget = left / (n_cases - i).min(3) as u32;
        let mut obs = Lines {
            quiet: plan.quiet,
            shape,
        };
        let tuning = tuner.tune_variant(&problem, variant, &mut meter, budget, &mut obs)?;
        for w in meter.take_warnings() {
            eprintln!("warning: {w}");
        }
        failed_total += tuning
            .trials
            .iter()
            .filter(|t| matches!(t.outcome, Outcome::Failed(_)))
            .count();
        if !plan.json {
            println!("{what} {shape} (class {class}):");
            println!("{}", table::trials(&tuning.trials, shape, tuning.best));
        }
        match tuning.best {
            Some((config, ns)) => {
                rate_flop_per_ns = Some(shape.flops() as f64 / ns);
                tuner
                    .table
                    .save()
                    .with_context(|| format!("saving the tuning cache {cache_path}"))?;
                let tf = shape.flops() as f64 / ns / 1e3;
                summary.push(row(
                    config.to_string(),
                    format!("{} (fastest sample)", fmt_sig(tf, 3)),
                ));
            }
            None => summary.push(row("-".into(), "no candidate verified".into())),
        }
    }
    if plan.json {
        let entries: Vec<_> = tuner.table.entries().collect();
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else {
        println!("{}", table::summary(&summary));
        println!("tuning cache: {cache_path}");
    }
    if failed_total > 0 {
        eprintln!(
            "warning: {failed_total} candidate(s) failed verification and were discarded (see \
             above); the winners all passed"
        );
    }
    if summary.iter().all(|r| r.winner == "-") {
        bail!("no shape was tuned; raise --budget or choose smaller --shape");
    }
    Ok(ExitCode::SUCCESS)
}

/// Candidate lines on stderr; discarded candidates always (a driver or kernel bug).
struct Lines {
    quiet: bool,
    shape: Shape,
}

impl TuneObserver for Lines {
    fn trying(&mut self, _index: usize, _total: usize, _config: &BlockConfig) {}

    fn tried(&mut self, trial: &Trial) {
        let failed = matches!(trial.outcome, Outcome::Failed(_));
        if let Some(line) = table::trial_line(trial, self.shape)
            && (failed || !self.quiet)
        {
            eprintln!("{line}");
        }
    }
}
