//! `flopcost peak`: the adapter's measured FMA peaks and copy bandwidth, as a table, as
//! JSON, or as a result file with only the peaks section.

use std::process::ExitCode;

use anyhow::Result;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};

use crate::cli::PeakArgs;
use crate::gpu::Gpu;
use crate::gpu::adapter::{self, AdapterSelector, BackendFilter};
use crate::host;
use crate::report::{fmt_ns, fmt_sig};
use crate::result::{PeakMethod, Peaks, ResultFile, ResultWriter, SCHEMA_ID, Settings};
use crate::workloads::peaks::{self, PeakSettings};

pub fn peak(args: PeakArgs) -> Result<ExitCode> {
    args.check()?;
    let backend = args.backend.map_or(BackendFilter::All, Into::into);
    let selector = args
        .adapter
        .as_deref()
        .map_or(AdapterSelector::Best, AdapterSelector::parse);
    let choice = adapter::choose(adapter::enumerate(backend), &selector, backend)?;
    let info = choice.entry.info.clone();
    let writer = match &args.out {
        Some(p) => Some(ResultWriter::prepare(p.clone(), args.force, false)?),
        None => None,
    };
    eprintln!("{}", choice.announcement());
    let record = adapter::describe(choice.entry.index, &choice.entry.adapter, &info);
    let created = chrono::Utc::now();
    // Ctrl-C and SIGTERM from here on stop after the sample in flight and keep what was
    // measured.
    crate::interrupt::install()?;
    let gpu = Gpu::open(choice.entry)?;
    eprintln!("measuring: f32 FMA, f16 FMA (where supported), copy bandwidth");
    let settings = PeakSettings {
        runs: args.runs,
        ..PeakSettings::default()
    };
    let p = peaks::measure(&gpu, &settings)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&p)?);
    } else {
        println!("{}", peaks_table(&p));
    }
    if let Some(w) = writer {
        let mut warnings = Vec::new();
        if gpu.is_software() {
            warnings.push(format!(
                "adapter '{}' is a software rasteriser running on the CPU: its figures say \
                 nothing about GPUs",
                info.name
            ));
        }
        let file = ResultFile {
            schema: SCHEMA_ID.into(),
            tool: host::tool(),
            created_at: created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            complete: true,
            incomplete_reason: None,
            host: host::host(),
            adapter: record,
            settings: Settings {
                suite: "peak".into(),
                seed: 0,
                time_budget_s: 0.0,
                total_budget_s: 0.0,
                max_samples: args.runs as u64,
                min_samples: args.runs as u64,
                kernels: Vec::new(),
                timing: "auto".into(),
                command_line: std::env::args().collect(),
                tokens: None,
                precisions: Vec::new(),
                f16_path: None,
            },
            peaks: Some(p),
            cost: None,
            triplets: Vec::new(),
            training: None,
            repeatability: None,
            sustain: None,
            more_training: Vec::new(),
            runtime: Some(crate::result::Runtime::wgpu()),
            records: Vec::new(),
            warnings,
        };
        w.save(&file)?;
        println!("result file: {}", w.path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The peaks as a table: rate, fastest and median run, method.
pub fn peaks_table(p: &Peaks) -> String {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header([
            "peak",
            "value",
            "fastest run",
            "median run",
            "runs",
            "timing",
        ]);
    let mut row = |name: &str, value: String, m: &PeakMethod| {
        t.add_row(vec![
            Cell::new(name),
            Cell::new(value).set_alignment(CellAlignment::Right),
            Cell::new(fmt_ns(m.best_ns)).set_alignment(CellAlignment::Right),
            Cell::new(fmt_ns(m.median_ns)).set_alignment(CellAlignment::Right),
            Cell::new(m.runs).set_alignment(CellAlignment::Right),
            Cell::new(&m.timing_method),
        ]);
    };
    row(
        "FMA f32",
        format!("{} TFLOP/s", fmt_sig(p.fma_f32_tflops, 3)),
        &p.fma_f32,
    );
    if let (Some(v), Some(m)) = (p.fma_f16_tflops, &p.fma_f16) {
        row("FMA f16", format!("{} TFLOP/s", fmt_sig(v, 3)), m);
    }
    row(
        "copy (read + write)",
        format!("{} GB/s", fmt_sig(p.copy_gbps, 3)),
        &p.copy,
    );
    t.to_string()
}
