//! `flopcost run --adapter all`: every GPU of the host, each physical device once, one
//! after another, each to its own file in `--out-dir`; a summary over all of them. One
//! adapter's failure does not stop the others; an interrupt stops them all.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};

use crate::cli::RunPlan;
use crate::gpu::adapter::{self, AdapterSelector};
use crate::util::fmt::{NONE, fmt_usd};
use crate::util::{clean, fmt_sig};

/// One adapter's outcome.
struct Outcome {
    index: usize,
    name: String,
    backend: String,
    file: Option<PathBuf>,
    /// `None`: it succeeded; else the error, on one line.
    error: Option<String>,
}

pub fn run_all(plan: RunPlan) -> Result<ExitCode> {
    let entries = adapter::enumerate(plan.backend);
    if entries.is_empty() {
        // The usual "no adapter" message, with its remedy.
        return adapter::choose(entries, &AdapterSelector::Best, plan.backend)
            .map(|_| ExitCode::from(1));
    }
    let devices = adapter::physical_devices(entries);
    let dir = plan
        .out_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join("local"));
    eprintln!(
        "--adapter all: {} device(s): {}; result files in {}",
        devices.len(),
        devices
            .iter()
            .map(|e| format!("{} {}", e.index, clean(&e.info.name)))
            .collect::<Vec<_>>()
            .join(", "),
        dir.display()
    );
    let mut outcomes = Vec::new();
    let mut interrupted = None;
    for (n, e) in devices.iter().enumerate() {
        eprintln!(
            "== [{}/{}] adapter {}: {}",
            n + 1,
            devices.len(),
            e.index,
            clean(&e.info.name)
        );
        let mut one = plan.clone();
        one.adapter = AdapterSelector::Index(e.index);
        one.out = None;
        one.out_dir = Some(dir.clone());
        let mut file = None;
        let result = super::run_one(one, &mut file);
        // A run that failed before its first measurement removed its file.
        let file = file.filter(|p| p.exists());
        let error = match result {
            Ok(_) => None,
            Err(err) => {
                let code = crate::error::exit_code(&err);
                eprintln!("Error: {}", clean(&format!("{err:#}")));
                if code == ExitCode::from(130) || code == ExitCode::from(143) {
                    interrupted = Some(code);
                }
                Some(clean(&format!("{err:#}")))
            }
        };
        outcomes.push(Outcome {
            index: e.index,
            name: e.info.name.clone(),
            backend: crate::gpu::adapter::backend_name(e.info.backend).to_string(),
            file,
            error,
        });
        if interrupted.is_some() {
            break;
        }
    }
    println!("{}", summary(&outcomes, devices.len()));
    if let Some(code) = interrupted {
        return Ok(code);
    }
    let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
    if failed > 0 {
        eprintln!(
            "{failed} of {} adapter(s) failed; their errors are above and in the table, and \
             every file listed holds what was measured",
            outcomes.len()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The table over every adapter: status, file, the headline figure and its cost.
fn summary(outcomes: &[Outcome], planned: usize) -> String {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header([
            "#",
            "adapter",
            "backend",
            "status",
            "figure",
            "TFLOP/s",
            "USD/PFLOP",
            "result file",
        ]);
    for o in outcomes {
        let file = o.file.as_ref().and_then(|p| crate::result::read(p).ok());
        let (figure, tflops, usd) = match &file {
            Some(f) => headline(f),
            None => (NONE.into(), NONE.into(), NONE.into()),
        };
        let status = match &o.error {
            None => "ok".to_string(),
            Some(e) => {
                let short: String = e.chars().take(80).collect();
                format!("failed: {short}")
            }
        };
        t.add_row(vec![
            Cell::new(o.index),
            Cell::new(clean(&o.name)),
            Cell::new(&o.backend),
            Cell::new(status),
            Cell::new(figure),
            Cell::new(tflops).set_alignment(CellAlignment::Right),
            Cell::new(usd).set_alignment(CellAlignment::Right),
            Cell::new(
                o.file
                    .as_ref()
                    .map_or_else(|| NONE.to_string(), |p| clean(&p.display().to_string())),
            ),
        ]);
    }
    let mut out = t.to_string();
    if outcomes.len() < planned {
        out.push_str(&format!(
            "\n{} of {planned} adapter(s) not run: the run was interrupted",
            planned - outcomes.len()
        ));
    }
    out
}

/// The figure a file is summarised by: its workload's step throughput, else its best
/// GEMM; with the USD per PFLOP on the same basis.
fn headline(f: &crate::result::ResultFile) -> (String, String, String) {
    let usd = |v: Option<f64>| v.map_or_else(|| NONE.to_string(), fmt_usd);
    let cost = f.cost.as_ref();
    if let Some(w) = &f.workload
        && let Some(tf) = crate::cost::throughput::Throughputs::from_result(f).workload_tflops
    {
        return (
            format!("workload {} step", w.name),
            fmt_sig(tf, 3),
            usd(cost.and_then(|c| c.usd_per_pflop_workload)),
        );
    }
    match crate::result::best_record(&f.records) {
        Some(r) => (
            format!("best GEMM {} {}x{}x{}", r.layout, r.m, r.n, r.k),
            r.tflops
                .as_ref()
                .map_or_else(|| NONE.into(), |t| fmt_sig(t.median, 3)),
            usd(cost.and_then(|c| c.usd_per_pflop)),
        ),
        None => (NONE.into(), NONE.into(), NONE.into()),
    }
}
