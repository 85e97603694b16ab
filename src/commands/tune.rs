//! `flopcost tune`: autotune the tuned kernel for the chosen adapter, shape by shape
//! within a budget, with a line per candidate on stderr and a table per shape on stdout;
//! winners are saved to the tuning cache after each shape.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};

use crate::cli::TunePlan;
use crate::gpu::Gpu;
use crate::gpu::adapter;
use crate::gpu::timing::Timer;
use crate::kernels::precision::plan_f16;
use crate::kernels::tune::{self, Outcome, ShapeClass, Trial, TuneObserver, Tuner};
use crate::kernels::{BlockConfig, PathChoice, Precision, Shape, Variant, coop};
use crate::report::{fmt_ns, fmt_sig};
use crate::workloads::problem::Problem;

pub fn tune(plan: TunePlan) -> Result<ExitCode> {
    let choice = adapter::choose(
        adapter::enumerate(plan.backend),
        &plan.adapter,
        plan.backend,
    )?;
    let info = choice.entry.info.clone();
    eprintln!("{}", choice.announcement());
    // Ctrl-C and SIGTERM from here on stop after the sample in flight and keep what was
    // measured.
    crate::interrupt::install()?;
    let f16 = plan_f16(
        &plan.precisions,
        plan.f16_path,
        choice.entry.adapter.features(),
        &choice.entry.adapter.cooperative_matrix_properties(),
        &info,
    )?;
    if let Some(why) = &f16.fallback {
        eprintln!("note: {why}");
    }
    let gpu = Gpu::open(choice.entry)?;
    let limits = gpu.limits();
    let mut f16_variant = f16.variant;
    if f16_variant.coopmat {
        eprintln!("checking the cooperative-matrix kernel on this adapter");
        if let Err(why) = coop::probe(&gpu) {
            if plan.f16_path == PathChoice::Coopmat {
                bail!(
                    "the cooperative-matrix kernel failed its check on adapter '{}': {why}; \
                     tune f16 on the shader cores with --f16-path simt, and please report this",
                    info.name
                );
            }
            eprintln!(
                "warning: the cooperative-matrix kernel failed its check on this adapter \
                 ({why}); tuning f16 on the shader cores instead. Please report this"
            );
            f16_variant = Variant::simt(Precision::F16);
        }
    }
    let variants: Vec<Variant> = plan
        .precisions
        .iter()
        .map(|&p| match p {
            Precision::F16 => f16_variant,
            p => Variant::simt(p),
        })
        .collect();
    let cases: Vec<(Variant, crate::kernels::Layout, Shape)> = variants
        .iter()
        .flat_map(|&v| plan.cases.iter().map(move |&(l, s)| (v, l, s)))
        .collect();
    let (table, warnings) = tune::Table::load(&gpu);
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let cache_path = table
        .path()
        .map_or("(none)".to_string(), |p| p.display().to_string());
    let timer = Timer::new(&gpu, true)?;
    let mut tuner = Tuner::new(&gpu, table);
    let started = Instant::now();
    // Throughput of the last winner, to skip shapes that cannot fit the budget.
    let mut rate_flop_per_ns: Option<f64> = None;
    let mut summary: Vec<(String, String, Shape, String, String)> = Vec::new();
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
        if !plan.force
            && let Some(e) = tuner.table.get(variant, layout, class)
        {
            eprintln!(
                "{head}: cached winner {} ({} TFLOP/s median)",
                e.config,
                fmt_sig(e.tflops, 3)
            );
            summary.push((
                what.clone(),
                class.to_string(),
                shape,
                e.config.to_string(),
                format!("{} (cached, median)", fmt_sig(e.tflops, 3)),
            ));
            continue;
        }
        if let Err(why) = crate::workloads::runner::check_fits(&limits, shape, &[]) {
            eprintln!("{head}: skipped: {why}");
            summary.push(skipped_row(
                &what,
                class,
                shape,
                "over the adapter's limits",
            ));
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
            summary.push(skipped_row(&what, class, shape, "over the budget"));
            continue;
        }
        eprintln!("{head}: uploading inputs, computing the reference");
        let problem = Problem::with_precision(&gpu, layout, shape, plan.seed, variant.precision)
            .with_context(|| format!("preparing {what} {shape}"))?;
        // This shape gets what is left, shared with the shapes after it.
        let budget = left / (n_cases - i).min(3) as u32;
        let mut obs = Lines {
            quiet: plan.quiet,
            shape,
        };
        let tuning = tuner.tune_variant(&problem, variant, &timer, budget, &mut obs)?;
        failed_total += tuning
            .trials
            .iter()
            .filter(|t| matches!(t.outcome, Outcome::Failed(_)))
            .count();
        if !plan.json {
            println!("{what} {shape} (class {class}):");
            println!("{}", trial_table(&tuning.trials, shape, tuning.best));
        }
        match tuning.best {
            Some((config, ns)) => {
                rate_flop_per_ns = Some(shape.flops() as f64 / ns);
                tuner
                    .table
                    .save()
                    .with_context(|| format!("saving the tuning cache {cache_path}"))?;
                summary.push((
                    what.clone(),
                    class.to_string(),
                    shape,
                    config.to_string(),
                    format!(
                        "{} (fastest sample)",
                        fmt_sig(shape.flops() as f64 / ns / 1e3, 3)
                    ),
                ));
            }
            None => {
                summary.push(skipped_row(&what, class, shape, "no candidate verified"));
            }
        }
    }
    if plan.json {
        let entries: Vec<_> = tuner.table.entries().collect();
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else {
        let mut t = Table::new();
        t.load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(["layout", "shape class", "tuned on", "winner", "TFLOP/s"]);
        for (l, c, s, w, tf) in &summary {
            t.add_row(vec![
                Cell::new(l),
                Cell::new(c),
                Cell::new(s.to_string()),
                Cell::new(w),
                Cell::new(tf).set_alignment(CellAlignment::Right),
            ]);
        }
        println!("{t}");
        println!("tuning cache: {cache_path}");
    }
    if failed_total > 0 {
        eprintln!(
            "warning: {failed_total} candidate(s) failed verification and were discarded (see \
             above); the winners all passed"
        );
    }
    if summary.iter().all(|r| r.3 == "-") {
        bail!("no shape was tuned; raise --budget or choose smaller --shape");
    }
    Ok(ExitCode::SUCCESS)
}

fn skipped_row(
    what: &str,
    class: ShapeClass,
    shape: Shape,
    why: &str,
) -> (String, String, Shape, String, String) {
    (
        what.to_string(),
        class.to_string(),
        shape,
        "-".into(),
        why.into(),
    )
}

/// One table of candidates, fastest first.
fn trial_table(trials: &[Trial], shape: Shape, best: Option<(BlockConfig, f64)>) -> String {
    let mut rows: Vec<&Trial> = trials.iter().collect();
    let key = |t: &Trial| match t.outcome {
        Outcome::Timed { best_ns, .. } => (0, best_ns),
        Outcome::Slow { first_ns } => (1, first_ns),
        Outcome::Failed(_) => (2, 0.0),
        Outcome::Skipped => (3, 0.0),
    };
    rows.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
    });
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header([
            "candidate",
            "result",
            "fastest",
            "median",
            "TFLOP/s (fastest)",
            "vs best",
        ]);
    for r in rows {
        let dash = || "-".to_string();
        let (result, fastest, median, tf, rel) = match &r.outcome {
            Outcome::Timed {
                median_ns,
                best_ns,
                samples,
            } => (
                if best.is_some_and(|(c, _)| c == r.config) {
                    format!("best ({samples} samples)")
                } else {
                    format!("verified ({samples} samples)")
                },
                fmt_ns(*best_ns),
                fmt_ns(*median_ns),
                fmt_sig(shape.flops() as f64 / best_ns / 1e3, 3),
                best.map_or(dash(), |(_, b)| format!("{:.2}", b / best_ns)),
            ),
            Outcome::Slow { first_ns } => (
                "verified; over 3× the best, not sampled".into(),
                format!("~{}", fmt_ns(*first_ns)),
                dash(),
                dash(),
                dash(),
            ),
            Outcome::Failed(why) => (format!("DISCARDED: {why}"), dash(), dash(), dash(), dash()),
            Outcome::Skipped => ("not tried (budget)".into(), dash(), dash(), dash(), dash()),
        };
        t.add_row(vec![
            Cell::new(r.config.to_string()),
            Cell::new(result),
            Cell::new(fastest).set_alignment(CellAlignment::Right),
            Cell::new(median).set_alignment(CellAlignment::Right),
            Cell::new(tf).set_alignment(CellAlignment::Right),
            Cell::new(rel).set_alignment(CellAlignment::Right),
        ]);
    }
    t.to_string()
}

/// Candidate lines on stderr.
struct Lines {
    quiet: bool,
    shape: Shape,
}

impl TuneObserver for Lines {
    fn trying(&mut self, _index: usize, _total: usize, _config: &BlockConfig) {}

    fn tried(&mut self, trial: &Trial) {
        let line = match &trial.outcome {
            Outcome::Timed {
                median_ns, best_ns, ..
            } => format!(
                "{} TFLOP/s at the fastest sample ({}, median {})",
                fmt_sig(self.shape.flops() as f64 / best_ns / 1e3, 3),
                fmt_ns(*best_ns),
                fmt_ns(*median_ns)
            ),
            Outcome::Slow { .. } => "over 3× slower than the best; not sampled".into(),
            Outcome::Failed(why) => {
                // Always shown: a discarded candidate is a driver or kernel bug.
                eprintln!("  candidate {} DISCARDED: {why}", trial.config);
                return;
            }
            Outcome::Skipped => return,
        };
        if !self.quiet {
            eprintln!("  candidate {:<24} {line}", trial.config.to_string());
        }
    }
}
