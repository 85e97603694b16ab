//! The fleet summary of a folder of result files from many hosts, per accelerator model
//! within each named workload: hosts, median and spread of the workload's step
//! throughput and of its cost, and the outliers (hosts more than the threshold below
//! their model's median). Files are taken in as every report takes them ([`ingest`]); a
//! file that cannot be read, fails validation, is unfit for a headline or ran no named
//! workload is listed by name with the reason, and the summary goes on.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use super::compare::unfit;
use super::ingest::{Folder, Ingested, Refused};
use crate::cost::throughput::Throughputs;
use crate::error::input_error;
use crate::util::clean;

/// Default of `--threshold`: a host 10% below its model's median is an outlier.
pub const DEFAULT_THRESHOLD: f64 = 0.10;

/// The whole summary.
#[derive(Clone, Debug, Serialize)]
pub struct Fleet {
    pub dir: String,
    pub threshold: f64,
    /// One per named workload (name, version and digest), in name order.
    pub workloads: Vec<WorkloadGroup>,
    /// Files not in the summary, each with why.
    pub refused: Vec<Refused>,
}

#[derive(Clone, Debug, Serialize)]
pub struct WorkloadGroup {
    /// `small v1`.
    pub workload: String,
    pub digest: String,
    pub models: Vec<Model>,
}

/// One accelerator model (adapter name on one backend) in one workload.
#[derive(Clone, Debug, Serialize)]
pub struct Model {
    pub adapter: String,
    pub backend: String,
    /// Distinct hosts (by host name, else by file).
    pub hosts: usize,
    pub files: usize,
    /// Median, minimum and maximum of the files' workload-step TFLOP/s.
    pub tflops_median: f64,
    pub tflops_min: f64,
    pub tflops_max: f64,
    /// (max − min) / median.
    pub spread: f64,
    /// Median USD per PFLOP of the workload step, over the files that have a price.
    pub usd_per_pflop_median: Option<f64>,
    pub usd_per_pflop_min: Option<f64>,
    pub usd_per_pflop_max: Option<f64>,
    /// Where the members' products ran (`coopmat`, `simt`), each distinct one once.
    pub paths: Vec<String>,
    /// Median training tokens per second of the workload's model, and median USD per
    /// million of them (over the files that have a price).
    pub tokens_per_second_median: Option<f64>,
    pub usd_per_million_tokens_median: Option<f64>,
    /// Median measured joules per PFLOP of the workload step, over the files whose run
    /// read a power sensor (nameplate figures are never mixed in).
    pub joules_per_pflop_measured_median: Option<f64>,
    pub outliers: Vec<Outlier>,
    pub members: Vec<Member>,
}

/// One file of a model.
#[derive(Clone, Debug, Serialize)]
pub struct Member {
    pub file: String,
    pub host: String,
    pub tflops: f64,
    pub usd_per_pflop: Option<f64>,
    pub path: Option<String>,
    pub tokens_per_second: Option<f64>,
    pub usd_per_million_tokens: Option<f64>,
    pub joules_per_pflop_measured: Option<f64>,
}

/// A host more than the threshold below its model's median.
#[derive(Clone, Debug, Serialize)]
pub struct Outlier {
    pub host: String,
    pub file: String,
    pub tflops: f64,
    /// 1 − tflops / the model's median.
    pub below_median: f64,
}

/// A workload's files by accelerator model (adapter name, backend).
type ByModel = BTreeMap<(String, String), Vec<Entry>>;

/// One readable file's place in the summary.
struct Entry {
    file: String,
    host: String,
    adapter: String,
    backend: String,
    workload: (String, String),
    tflops: f64,
    usd: Option<f64>,
    path: Option<String>,
    tokens_per_second: Option<f64>,
    usd_per_million_tokens: Option<f64>,
    joules_measured: Option<f64>,
}

/// Sorts `v` and gives its median (none for no values).
fn median(v: &mut [f64]) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    (!v.is_empty()).then(|| crate::stats::median(v))
}

/// Summarises a folder's result files (read, validated and priced by
/// [`ingest::folder`]); `threshold` is a fraction in (0, 1), checked with the arguments.
pub fn build(folder: Folder, threshold: f64) -> Result<Fleet> {
    let Folder {
        dir,
        files,
        mut refused,
        found,
    } = folder;
    let mut entries = Vec::new();
    for i in &files {
        match entry(i) {
            Ok(e) => entries.push(e),
            Err(why) => refused.push(Refused {
                file: i.name(),
                why: clean(&why),
            }),
        }
    }
    refused.sort_by(|a, b| a.file.cmp(&b.file));
    if entries.is_empty() {
        return Err(input_error(format!(
            "{dir}: none of its {found} file(s) can be summarised: {}",
            refused
                .iter()
                .map(|r| format!("{} ({})", r.file, r.why))
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    let mut by_workload: BTreeMap<(String, String), ByModel> = BTreeMap::new();
    for e in entries {
        by_workload
            .entry(e.workload.clone())
            .or_default()
            .entry((e.adapter.clone(), e.backend.clone()))
            .or_default()
            .push(e);
    }
    let workloads = by_workload
        .into_iter()
        .map(|((workload, digest), models)| WorkloadGroup {
            workload,
            digest,
            models: models
                .into_iter()
                .map(|((adapter, backend), members)| model(adapter, backend, members, threshold))
                .collect(),
        })
        .collect();
    Ok(Fleet {
        dir,
        threshold,
        workloads,
        refused,
    })
}

/// A file's place in the summary, or why it has none: it must be fit for a headline
/// (as `compare` judges it) and have a workload step.
fn entry(i: &Ingested) -> std::result::Result<Entry, String> {
    let file = &i.file;
    let name = i.name();
    let Some(w) = &file.workload else {
        return Err(format!(
            "ran no named workload (suite '{}'): a fleet is compared on the same work; run \
             `flopcost run --workload NAME` on every host",
            file.settings.suite
        ));
    };
    if let Some(why) = unfit(&name, file).first() {
        return Err(why.clone());
    }
    let tflops = Throughputs::from_result(file)
        .workload_tflops
        .filter(|t| t.is_finite() && *t > 0.0)
        .ok_or("its workload has no step throughput (a product failed)")?;
    Ok(Entry {
        file: name.clone(),
        host: file
            .host
            .hostname
            .clone()
            .unwrap_or_else(|| format!("(unnamed host, {name})")),
        adapter: file.adapter.name.clone(),
        backend: file.adapter.backend.clone(),
        workload: (format!("{} v{}", w.name, w.version), w.digest.clone()),
        tflops,
        usd: i.cost.usd_per_pflop_workload,
        path: super::compare::paths_of(file, w),
        tokens_per_second: i.cost.per_token.as_ref().map(|p| p.tokens_per_second),
        usd_per_million_tokens: i
            .cost
            .per_token
            .as_ref()
            .and_then(|p| p.usd_per_million_tokens),
        joules_measured: i
            .cost
            .joules_per_pflop_training_measured
            .filter(|_| i.cost.training_work == Some(crate::result::WorkBasis::WorkloadStep)),
    })
}

fn model(adapter: String, backend: String, mut members: Vec<Entry>, threshold: f64) -> Model {
    members.sort_by(|a, b| a.host.cmp(&b.host).then(a.file.cmp(&b.file)));
    let mut t: Vec<f64> = members.iter().map(|m| m.tflops).collect();
    let med = median(&mut t).unwrap_or(0.0);
    let (lo, hi) = (t[0], t[t.len() - 1]);
    let mut u: Vec<f64> = members.iter().filter_map(|m| m.usd).collect();
    let usd_med = median(&mut u);
    let hosts = {
        let mut h: Vec<&str> = members.iter().map(|m| m.host.as_str()).collect();
        h.sort();
        h.dedup();
        h.len()
    };
    let mut paths: Vec<String> = Vec::new();
    for p in members.iter().filter_map(|m| m.path.clone()) {
        if !paths.contains(&p) {
            paths.push(p);
        }
    }
    let tokens_median = median(
        &mut members
            .iter()
            .filter_map(|m| m.tokens_per_second)
            .collect::<Vec<f64>>(),
    );
    let usd_tokens_median = median(
        &mut members
            .iter()
            .filter_map(|m| m.usd_per_million_tokens)
            .collect::<Vec<f64>>(),
    );
    let joules_median = median(
        &mut members
            .iter()
            .filter_map(|m| m.joules_measured)
            .collect::<Vec<f64>>(),
    );
    let outliers = members
        .iter()
        .filter(|m| m.tflops < med * (1.0 - threshold))
        .map(|m| Outlier {
            host: m.host.clone(),
            file: m.file.clone(),
            tflops: m.tflops,
            below_median: 1.0 - m.tflops / med,
        })
        .collect();
    Model {
        adapter,
        backend,
        hosts,
        files: members.len(),
        tflops_median: med,
        tflops_min: lo,
        tflops_max: hi,
        spread: if med > 0.0 { (hi - lo) / med } else { 0.0 },
        usd_per_pflop_median: usd_med,
        usd_per_pflop_min: u.first().copied(),
        usd_per_pflop_max: u.last().copied(),
        paths,
        tokens_per_second_median: tokens_median,
        usd_per_million_tokens_median: usd_tokens_median,
        joules_per_pflop_measured_median: joules_median,
        outliers,
        members: members
            .into_iter()
            .map(|m| Member {
                file: m.file,
                host: m.host,
                tflops: m.tflops,
                usd_per_pflop: m.usd,
                path: m.path,
                tokens_per_second: m.tokens_per_second,
                usd_per_million_tokens: m.usd_per_million_tokens,
                joules_per_pflop_measured: m.joules_measured,
            })
            .collect(),
    }
}
