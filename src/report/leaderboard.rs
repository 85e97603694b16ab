//! The leaderboard: `results/README.md`, generated from the published result files so the
//! table can never disagree with the files it summarises (a test compares the committed
//! page with a fresh rendering).

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::export::{NONE, fmt_usd};
use super::fmt_sig;
use crate::cost::{self, PriceFile, PriceSpec, Throughputs};
use crate::error::input_error;
use crate::result;

/// The page's file name inside the results directory.
pub const PAGE: &str = "README.md";

/// Prices for the published files, read when present in the results directory.
pub const PRICES: &str = "prices.toml";

/// The result files of a directory (top level only, `*.json`, JSON Schemas skipped), by name.
pub fn result_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| input_error(format!("{}: cannot list the directory: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
        .filter(|p| !is_json_schema(p))
        .collect();
    files.sort();
    Ok(files)
}

fn is_json_schema(path: &Path) -> bool {
    result::read_limited(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v.get("$schema").is_some() && v.get("schema").is_none())
}

struct Line {
    name: String,
    adapter: String,
    backend: String,
    gemm: Option<f64>,
    gemm_what: String,
    work: Option<(f64, &'static str)>,
    usd_per_hour: Option<f64>,
    price_source: Option<String>,
    usd_per_pflop: Option<f64>,
    usd_per_pflop_work: Option<f64>,
    date: String,
    tool: String,
}

/// The page for the result files in `dir`.
pub fn render(dir: &Path) -> Result<String> {
    let prices = dir.join(PRICES);
    let spec = PriceSpec {
        price_file: if prices.is_file() {
            Some(PriceFile::read(&prices)?)
        } else {
            None
        },
        ..PriceSpec::default()
    };
    let files = result_files(dir)?;
    if files.is_empty() {
        return Err(input_error(format!(
            "{}: holds no result files (*.json)",
            dir.display()
        )));
    }
    let mut lines = Vec::new();
    for path in &files {
        let file = result::read(path)?;
        if let Some(p) = result::validate::problems(&file).first() {
            return Err(input_error(format!(
                "{}: not a valid result file: {p} (see `flopcost validate`)",
                path.display()
            )));
        }
        let mut c = cost::price_file(&file, &spec)?;
        // The page is published next to the price file: name it by file name, not by path.
        let local = format!("price file {}", prices.display());
        let from = |s: &String| s.replace(&local, &format!("price file {PRICES}"));
        if let Some(u) = c.inputs.get_mut(crate::result::CostField::UsdPerHour) {
            u.source = from(&u.source);
        }
        let t = Throughputs::from_result(&file);
        let best = crate::result::best_record(&file.records);
        let work = t.training_work().map(|(v, b)| {
            (
                v,
                match b {
                    crate::result::WorkBasis::Training => "training run",
                    crate::result::WorkBasis::Triplets => "layer GEMMs",
                },
            )
        });
        lines.push(Line {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            adapter: file.adapter.name.clone(),
            backend: file.adapter.backend.clone(),
            gemm: t.gemm_tflops,
            gemm_what: best.map_or(String::new(), |r| {
                format!("{} {}x{}x{}, {}", r.layout, r.m, r.n, r.k, r.kernel.name)
            }),
            work,
            usd_per_hour: c.usd_per_hour,
            price_source: c
                .inputs
                .get(crate::result::CostField::UsdPerHour)
                .map(|u| u.source.clone())
                .or_else(|| {
                    c.pricing
                        .as_ref()
                        .map(|p| format!("{p} (see the file's cost section)"))
                }),
            usd_per_pflop: c.usd_per_pflop,
            usd_per_pflop_work: c
                .usd_per_hour
                .zip(work)
                .map(|(u, (tf, _))| cost::model::usd_per_pflop(u, tf)),
            date: file.created_at.chars().take(10).collect(),
            tool: format!(
                "{} {} ({})",
                file.tool.name, file.tool.version, file.tool.git_commit
            ),
        });
    }
    lines.sort_by(|a, b| {
        b.gemm
            .unwrap_or(0.0)
            .total_cmp(&a.gemm.unwrap_or(0.0))
            .then(a.name.cmp(&b.name))
    });
    let opt = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or_else(|| NONE.to_string(), f);
    let esc = |s: &str| s.replace('|', "\\|");
    let mut out = String::from(
        "# Published results\n\n\
         <!-- Generated by `flopcost leaderboard results/`; do not edit by hand. -->\n\n\
         One row per result file in this directory, fastest best GEMM first. Regenerate this \
         page with `flopcost leaderboard results/` after adding or replacing a file; a test \
         fails when it is stale. Compare any two files with \
         `flopcost compare A.json B.json`.\n\n",
    );
    out.push_str(
        "| file | adapter | backend | best GEMM TFLOP/s | training TFLOP/s | USD/hour | \
         USD/PFLOP (best GEMM) | USD/PFLOP (training) | date | tool |\n\
         |---|---|---|---:|---:|---:|---:|---:|---|---|\n",
    );
    for l in &lines {
        out.push_str(&format!(
            "| [{n}]({n}) | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            esc(&l.adapter),
            l.backend,
            opt(l.gemm, &|v| format!("{} ({})", fmt_sig(v, 3), l.gemm_what)),
            opt(l.work.map(|w| w.0), &|v| format!(
                "{} ({})",
                fmt_sig(v, 3),
                l.work.map_or("", |w| w.1)
            )),
            opt(l.usd_per_hour, &|v| fmt_sig(v, 3)),
            opt(l.usd_per_pflop, &fmt_usd),
            opt(l.usd_per_pflop_work, &fmt_usd),
            l.date,
            esc(&l.tool),
            n = l.name,
        ));
    }
    out.push_str(
        "\n## How to read it\n\n\
         - **best GEMM TFLOP/s**: the highest median throughput of any verified GEMM in the \
         file (10¹² FLOP/s), with its layout, shape and kernel.\n\
         - **training TFLOP/s**: the training run's throughput where the file has one; \
         otherwise the three GEMMs of each training layer (forward, input gradient, weight \
         gradient) taken together (*layer GEMMs*).\n\
         - **USD/PFLOP** = USD per hour / (3.6 × TFLOP/s): what 10¹⁵ floating-point operations \
         cost at that throughput. Lower is cheaper.\n\
         - Software adapters (lavapipe, llvmpipe) run on the host CPU: their figures describe \
         this CPU, not a GPU.\n",
    );
    let sourced: Vec<&Line> = lines.iter().filter(|l| l.price_source.is_some()).collect();
    if !sourced.is_empty() {
        out.push_str("\n## Where the prices come from\n\n");
        for l in sourced {
            out.push_str(&format!(
                "- {}: {}\n",
                l.name,
                l.price_source.as_deref().unwrap_or_default()
            ));
        }
    }
    if lines.iter().any(|l| l.usd_per_hour.is_none()) {
        out.push_str(&format!(
            "\nFiles without a price show {NONE}: add the machine to `{PRICES}` here (prices \
             keyed by adapter name) or price the file with `flopcost cost FILE --usd-per-hour X \
             --out FILE --force`.\n"
        ));
    }
    Ok(out)
}
