//! The leaderboard of a folder of published result files: per named workload, the files
//! fit for a headline ranked by the workload step's throughput; exploratory runs apart,
//! unranked; and the files left out, with why. Files are taken in as every report takes
//! them ([`ingest`]), priced with the folder's own `prices.toml` where there is one.

use std::path::Path;

use anyhow::Result;

use super::compare::unfit;
use super::ingest::{self, Ingested, Refused};
use crate::cost::{PriceFile, PriceSpec, Throughputs};

/// Prices for the published files, read when present in the results directory.
pub const PRICES: &str = "prices.toml";

/// The leaderboard of a folder.
pub struct Leaderboard {
    /// Per named workload (`small v1` and its digest), its files fastest first.
    pub ranked: Vec<((String, String), Vec<Line>)>,
    /// Files of exploratory suites, by name.
    pub exploratory: Vec<Line>,
    /// Files left out, with why.
    pub refused: Vec<Refused>,
}

/// One file's row.
pub struct Line {
    /// The file name, for the page (escaped where it is written).
    pub name: String,
    /// Its name as it is on disk, for the link to it.
    pub file_name: String,
    pub adapter: String,
    pub backend: String,
    pub device_type: String,
    pub software: bool,
    /// `small v1` and its digest, when the file ran a named workload.
    pub workload: Option<(String, String)>,
    pub precision: String,
    /// Where the workload's products ran: `coopmat`, `simt` or both (`coopmat+simt`).
    pub path: Option<String>,
    pub repetitions: usize,
    /// (max − min) / median of the workload step's repetitions.
    pub spread: Option<f64>,
    pub step_tflops: Option<f64>,
    pub gemm: Option<f64>,
    pub gemm_what: String,
    pub suite: String,
    pub usd_per_hour: Option<f64>,
    pub price_source: Option<String>,
    pub usd_per_pflop_step: Option<f64>,
    pub usd_per_pflop_gemm: Option<f64>,
    /// Training tokens per second of the workload's model, and their cost.
    pub tokens_per_second: Option<f64>,
    pub usd_per_million_tokens: Option<f64>,
    /// Joules per PFLOP of the training work, from nameplate watts and measured (never
    /// mixed).
    pub joules_per_pflop_nameplate: Option<f64>,
    pub joules_per_pflop_measured: Option<f64>,
    pub date: String,
    pub tool: String,
}

/// Reads the folder's files (priced with its `prices.toml` when it has one) and ranks them.
pub fn build(dir: &Path) -> Result<Leaderboard> {
    let prices = dir.join(PRICES);
    let spec = PriceSpec {
        price_file: if prices.is_file() {
            Some(PriceFile::read(&prices)?)
        } else {
            None
        },
        ..PriceSpec::default()
    };
    let folder = ingest::folder(dir, &spec)?;
    let mut refused = folder.refused;
    let mut lines = Vec::new();
    for i in &folder.files {
        // A file that ran a named workload is ranked only when it could carry a headline.
        match i
            .file
            .workload
            .as_ref()
            .and_then(|_| unfit(&i.name(), &i.file).first().cloned())
        {
            Some(why) => refused.push(Refused {
                file: i.name(),
                why,
            }),
            None => lines.push(line(i, &prices)),
        }
    }
    refused.sort_by(|a, b| a.file.cmp(&b.file));
    let mut workloads: Vec<(String, String)> =
        lines.iter().filter_map(|l| l.workload.clone()).collect();
    workloads.sort();
    workloads.dedup();
    let mut ranked = Vec::new();
    for w in workloads {
        let mut group: Vec<Line> = Vec::new();
        let mut rest = Vec::new();
        for l in lines {
            if l.workload.as_ref() == Some(&w) {
                group.push(l);
            } else {
                rest.push(l);
            }
        }
        lines = rest;
        group.sort_by(|a, b| {
            b.step_tflops
                .unwrap_or(0.0)
                .total_cmp(&a.step_tflops.unwrap_or(0.0))
                .then(a.name.cmp(&b.name))
        });
        ranked.push((w, group));
    }
    Ok(Leaderboard {
        ranked,
        exploratory: lines,
        refused,
    })
}

/// One file's row, or why the file is not on the page.
fn line(i: &Ingested, prices: &Path) -> Line {
    let file = &i.file;
    let mut c = i.cost.clone();
    // The page is published next to the price file: name it by file name, not by path.
    let local = format!("price file {}", prices.display());
    if let Some(u) = c.inputs.get_mut(crate::result::CostField::UsdPerHour) {
        u.source = u.source.replace(&local, &format!("price file {PRICES}"));
    }
    let t = Throughputs::from_result(file);
    let best = crate::result::best_record(&file.records);
    let workload = file.workload.as_ref();
    Line {
        name: i.name(),
        file_name: i.file_name.clone(),
        adapter: file.adapter.name.clone(),
        backend: file.adapter.backend.clone(),
        device_type: file.adapter.device_type.clone(),
        software: file.adapter.device_type == "cpu",
        workload: workload.map(|w| (format!("{} v{}", w.name, w.version), w.digest.clone())),
        precision: workload.map_or_else(
            || {
                file.settings
                    .precisions
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            },
            |w| w.definition.precision.to_string(),
        ),
        path: workload.and_then(|w| super::compare::paths_of(file, w)),
        repetitions: workload.map_or(1, |w| w.step_times_ns.len()),
        spread: workload
            .filter(|w| w.step_times_ns.len() > 1)
            .map(|w| crate::result::spread(&w.step_times_ns)),
        step_tflops: t.workload_tflops,
        gemm: t.gemm_tflops,
        gemm_what: best.map_or_else(String::new, |r| {
            format!("{} {}x{}x{}, {}", r.layout, r.m, r.n, r.k, r.kernel.name)
        }),
        suite: file.settings.suite.clone(),
        usd_per_hour: c.usd_per_hour,
        price_source: c
            .inputs
            .get(crate::result::CostField::UsdPerHour)
            .map(|u| u.source.clone())
            .or_else(|| {
                c.pricing
                    .map(|p| format!("{p} (see the file's cost section)"))
            }),
        usd_per_pflop_step: c.usd_per_pflop_workload,
        usd_per_pflop_gemm: c.usd_per_pflop,
        tokens_per_second: c.per_token.as_ref().map(|p| p.tokens_per_second),
        usd_per_million_tokens: c.per_token.as_ref().and_then(|p| p.usd_per_million_tokens),
        joules_per_pflop_nameplate: c.joules_per_pflop_training,
        joules_per_pflop_measured: c.joules_per_pflop_training_measured,
        date: file.created_at.chars().take(10).collect(),
        tool: format!(
            "{} {} ({})",
            file.tool.name, file.tool.version, file.tool.git_commit
        ),
    }
}
