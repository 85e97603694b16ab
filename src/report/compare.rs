//! Side-by-side comparison of result files, and the sentence a buyer can quote.
//!
//! A headline is only ever about a named, fixed workload: both files must have run the
//! same workload (name, version and digest of its definition), verified all of it and
//! finished, in the same major version of the result schema; otherwise the comparison
//! says "no headline" and why, and still shows the matched records. The headline's
//! interval covers the variation between repetitions as well as within a run
//! ([`crate::stats::repeated`]). Every cost figure names its basis, and no column mixes
//! bases. This module builds the comparison; the exporters in [`super::export`]
//! present it.

use std::collections::HashMap;

use anyhow::Result;
use serde::Serialize;

use crate::cost::{self, PriceSpec, Throughputs};
use crate::error::input_error;
use crate::result::validate::workload as validate_workload;
use crate::result::{CostField, Record, ResultFile, TRAINING_REPEAT_ID, validate};
use crate::stats::bootstrap::Sampled;
use crate::stats::repeated::{Repeated, speed_ratio};
use crate::stats::{self, NOISY_CV};

pub use crate::stats::bootstrap::Interval;

/// Repetitions whose medians spread more than this ((max − min) / median) are flagged.
pub const NOISY_SPREAD: f64 = 0.05;

/// How the comparison was made, for every output format.
pub const MATCHING_NOTE: &str = "Records are matched by (kind, precision, layout, m, n, k); \
    when a file has several kernels for one shape, its best verified kernel (highest median \
    TFLOP/s) is compared.";

/// How the intervals were made.
pub const INTERVAL_NOTE: &str = "Intervals are 95% intervals of the speed ratio that cover \
    the variation between independent repetitions (each with its own warm-up) as well as \
    within one run: on the log scale, each side's variance of the mean is the larger of the \
    between-repetition variance and the within-run variance (bootstrap of the run's samples), \
    over the number of repetitions; the interval uses Student's t with Welch-Satterthwaite \
    degrees of freedom (Welch 1947; repetitions as the unit, after Kalibera & Jones, \
    Rigorous Benchmarking in Reasonable Time, 2013). With one repetition on a side, the \
    interval covers within-run noise only.";

/// What the vendor-library column is.
pub const VENDOR_NOTE: &str = "wgpu / vendor library: each wgpu file's median throughput \
    over the vendor library's (a `runtime` other than wgpu, e.g. PyTorch calling cuBLAS, \
    written by scripts/torch_reference.py) on the same (precision, layout, m, n, k), \
    measured on the same machine; 1.00× is parity.";

/// How cost is compared.
pub const COST_NOTE: &str = "USD/PFLOP = USD per hour / (3.6 × TFLOP/s), on one basis per \
    column: the workload's training step (its block's forward, input-gradient and \
    weight-gradient products), the MLP training run, or the best GEMM. The cost ratio of a \
    headline is the price ratio over the speed ratio of the workload's step, so its interval \
    is the speed interval scaled by the price ratio.";

/// What a cost or throughput figure is taken over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The training step of the workload's block: its products' medians summed, at the
    /// geometric mean of the repetitions.
    WorkloadStep,
    /// The MLP trained on the GPU (whole steps).
    MlpTraining,
    /// The best verified GEMM of the file.
    BestGemm,
}

impl Basis {
    pub const ALL: [Basis; 3] = [Basis::WorkloadStep, Basis::MlpTraining, Basis::BestGemm];

    /// Its name in column headers.
    pub fn label(self) -> &'static str {
        match self {
            Basis::WorkloadStep => "workload step",
            Basis::MlpTraining => "MLP training",
            Basis::BestGemm => "best GEMM",
        }
    }
}

/// One file to compare.
pub struct Input {
    /// The path as given, for labels and messages.
    pub path: String,
    pub file: ResultFile,
}

/// The whole comparison.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// Index of the baseline in `machines`.
    pub baseline: usize,
    /// Index of the vendor-library file (the first whose runtime is not wgpu) when the
    /// comparison also has wgpu files: every wgpu cell then has a `vs_vendor` ratio.
    pub vendor: Option<usize>,
    pub machines: Vec<Machine>,
    /// The headline of the first other file against the baseline (null when refused).
    pub headline: Option<Verdict>,
    /// Why there is no headline (empty when there is one).
    pub refusals: Vec<String>,
    /// Every other file against the baseline.
    pub verdicts: Vec<Pair>,
    /// Shapes present in the baseline and at least one other file.
    pub rows: Vec<Row>,
    /// Records that have no counterpart, per file.
    pub unmatched: Vec<Unmatched>,
    /// The files' own warnings and what the comparison notices (software adapters,
    /// noisy figures), each once.
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

/// One machine (result file).
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// Short name: the file name without `.json` (the path when names repeat).
    pub label: String,
    pub path: String,
    pub adapter: String,
    pub backend: String,
    /// The runtime that ran the GEMMs, e.g. `wgpu 30.0.2` or `torch 2.11.0`.
    pub runtime: String,
    /// False for a vendor-library file.
    pub wgpu: bool,
    pub device_type: String,
    /// A software rasteriser on the CPU: its figures say nothing about GPUs.
    pub software: bool,
    pub created_at: String,
    pub tool_version: String,
    pub complete: bool,
    /// `small v1`, when the file ran a named workload.
    pub workload: Option<String>,
    pub workload_digest: Option<String>,
    /// Repetitions of the workload (1 for an exploratory suite).
    pub repetitions: u32,
    pub catalog_entry: Option<String>,
    pub pricing: Option<String>,
    pub usd_per_hour: Option<f64>,
    /// Where the price came from.
    pub price_source: Option<String>,
    pub watts: Option<f64>,
    /// Throughput and cost per basis, for the bases the file has.
    pub figures: Vec<Figure>,
    /// A reference training run of 6·N·D FLOPs at the workload step's throughput.
    pub reference_run: Option<ReferenceRun>,
    /// How to give a missing price or power figure.
    pub note: Option<String>,
    /// Every shape's best verified record, for the charts.
    pub points: Vec<Point>,
    /// The sustained run (`--sustain`), if the file has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sustain: Option<SustainSeries>,
}

impl Machine {
    /// The figure of one basis, if the file has it.
    pub fn figure(&self, basis: Basis) -> Option<&Figure> {
        self.figures.iter().find(|f| f.basis == basis)
    }
}

/// Throughput and cost of one machine on one basis.
#[derive(Clone, Debug, Serialize)]
pub struct Figure {
    pub basis: Basis,
    /// The work, in words: `the small training step`.
    pub what: String,
    pub tflops: f64,
    pub usd_per_pflop: Option<f64>,
    pub joules_per_pflop: Option<f64>,
}

/// The reference training run (6·N·D FLOPs) at the workload step's throughput.
#[derive(Clone, Debug, Serialize)]
pub struct ReferenceRun {
    pub params: f64,
    pub tokens: f64,
    pub hours: f64,
    pub usd: Option<f64>,
}

/// One point of the throughput chart.
#[derive(Clone, Debug, Serialize)]
pub struct Point {
    pub flops: u64,
    pub tflops: f64,
    pub layout: String,
    /// `forward`, `input gradient`, `weight gradient`, or `other` for records that are
    /// no training product.
    pub role: String,
}

/// A sustained run's throughput over time.
#[derive(Clone, Debug, Serialize)]
pub struct SustainSeries {
    /// The GEMM, e.g. `nn 4096x4096x4096 tuned`.
    pub gemm: String,
    /// (seconds since the start, TFLOP/s) per window.
    pub points: Vec<(f64, f64)>,
    pub throttled: bool,
}

/// One matched shape.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub kind: String,
    pub precision: String,
    pub layout: String,
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub flops: u64,
    /// The training product this shape is, from the baseline's record (`forward`, ...).
    pub role: Option<String>,
    /// Per machine, in `machines` order; null where the file lacks the shape.
    pub cells: Vec<Option<Cell>>,
}

/// One machine's best record for a shape.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    pub record: String,
    pub kernel: String,
    pub tflops: f64,
    pub median_ns: f64,
    pub samples: u64,
    /// Repetitions of the record (its medians in the repeatability section).
    pub repetitions: u32,
    /// Throughput over the baseline's; null for the baseline itself.
    pub ratio: Option<f64>,
    pub interval: Option<Interval>,
    pub usd_per_pflop: Option<f64>,
    /// This wgpu cell's throughput over the vendor library's on the same record; null for
    /// the vendor file itself, or where it lacks the record.
    pub vs_vendor: Option<f64>,
    /// Why the record is flagged as noisy (its samples spread more than 10%, or its
    /// repetitions more than 5%); null when it is not.
    pub noisy: Option<String>,
}

/// Records of one file with no counterpart.
#[derive(Clone, Debug, Serialize)]
pub struct Unmatched {
    pub machine: usize,
    pub label: String,
    /// Why: not in the baseline, or (for the baseline) in no other file.
    pub reason: String,
    pub records: Vec<String>,
}

/// One machine against the baseline: its headline, or why there is none.
#[derive(Clone, Debug, Serialize)]
pub struct Pair {
    pub machine: usize,
    pub baseline: usize,
    pub headline: Option<Verdict>,
    pub refusals: Vec<String>,
}

/// The quotable summary for one machine against the baseline.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// The workload, `small v1`.
    pub workload: String,
    pub basis: Basis,
    /// Throughput over the baseline's.
    pub speed_ratio: f64,
    pub speed_interval: Interval,
    /// USD per PFLOP over the baseline's; null when a price is missing.
    pub cost_ratio: Option<f64>,
    pub cost_interval: Option<Interval>,
    /// Repetitions of the baseline and of this machine.
    pub repetitions: [u32; 2],
    /// True when a side has one repetition: the interval covers within-run noise only.
    pub within_run_only: bool,
    /// Inputs of the headline that are flagged, and other things to know.
    pub warnings: Vec<String>,
    pub sentence: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    kind: &'static str,
    precision: &'static str,
    layout: &'static str,
    m: u32,
    n: u32,
    k: u32,
}

impl Key {
    fn of(r: &Record) -> Key {
        Key {
            kind: r.kind.as_str(),
            precision: r.precision.as_str(),
            layout: r.layout.as_str(),
            m: r.m,
            n: r.n,
            k: r.k,
        }
    }
}

/// Best verified record per key, in first-seen order.
fn best_by_key<'a>(
    records: &'a [Record],
    kernel: Option<&str>,
) -> (Vec<Key>, HashMap<Key, &'a Record>) {
    let mut order = Vec::new();
    let mut best: HashMap<Key, &Record> = HashMap::new();
    for r in records {
        if !r.verification.passed || kernel.is_some_and(|k| r.kernel.name != k) {
            continue;
        }
        let Some(tf) = r.tflops.as_ref() else {
            continue;
        };
        let key = Key::of(r);
        match best.get(&key) {
            None => {
                order.push(key.clone());
                best.insert(key, r);
            }
            Some(old) if old.tflops.as_ref().is_none_or(|o| tf.median > o.median) => {
                best.insert(key, r);
            }
            Some(_) => {}
        }
    }
    (order, best)
}

/// Short labels: file stems, or full paths where stems repeat.
fn labels(paths: &[String]) -> Vec<String> {
    let stem = |p: &String| {
        std::path::Path::new(p)
            .file_stem()
            .map_or_else(|| p.clone(), |s| s.to_string_lossy().into_owned())
    };
    let stems: Vec<String> = paths.iter().map(stem).collect();
    stems
        .iter()
        .zip(paths)
        .map(|(s, p)| {
            if stems.iter().filter(|t| *t == s).count() > 1 {
                p.clone()
            } else {
                s.clone()
            }
        })
        .collect()
}

/// A record's samples, from its histogram.
fn sampled(path: &str, r: &Record) -> Result<Sampled> {
    let t = r.timing.as_ref().ok_or_else(|| {
        input_error(format!(
            "{path}: record {} has a throughput but no timing",
            r.id
        ))
    })?;
    let h = stats::decode_histogram_for(&t.histogram, Some(t.samples))
        .map_err(|e| input_error(format!("{path}: record {}: {e:#}", r.id)))?;
    Sampled::from_histogram(r.flops as f64, &h)
        .ok_or_else(|| input_error(format!("{path}: record {} has an empty histogram", r.id)))
}

/// A record's medians in every repetition of its file (its own first).
fn medians(file: &ResultFile, r: &Record) -> Vec<f64> {
    let own = r.timing.as_ref().map(|t| t.median_ns);
    match file
        .repeatability
        .as_ref()
        .and_then(|x| x.records.iter().find(|e| e.id == r.id))
    {
        Some(e) => e.medians_ns.clone(),
        None => own.into_iter().collect(),
    }
}

/// Why a record is flagged as noisy, if it is.
fn noise(file: &ResultFile, r: &Record) -> Option<String> {
    let mut why = Vec::new();
    if let Some(t) = &r.timing
        && t.cv > NOISY_CV
    {
        why.push(format!("samples spread {:.0}% (CV)", 100.0 * t.cv));
    }
    let m = medians(file, r);
    let spread = crate::result::spread(&m);
    if m.len() > 1 && spread > NOISY_SPREAD {
        why.push(format!("repetitions spread {:.0}%", 100.0 * spread));
    }
    (!why.is_empty()).then(|| why.join(", "))
}

/// `0.80×`.
pub fn fmt_ratio(r: f64) -> String {
    format!("{r:.2}×")
}

/// `(−20%)`, `(+3%)`, `(±0%)`.
pub fn fmt_change(r: f64) -> String {
    let pct = ((r - 1.0) * 100.0).round();
    if pct < 0.0 {
        format!("−{}%", -pct)
    } else if pct > 0.0 {
        format!("+{pct}%")
    } else {
        "±0%".into()
    }
}

/// The geometric mean of positive values.
fn geo_mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty() && v.iter().all(|x| x.is_finite() && *x > 0.0))
        .then(|| (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp())
}

/// The schema's major version, `flopcost/result/v1` → 1.
fn schema_major(schema: &str) -> Option<u32> {
    schema
        .strip_prefix("flopcost/result/v")?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// The workload step of a file: each repetition's time, and the samples of its
/// products in the first.
fn workload_step(i: &Input) -> Result<Option<Repeated>> {
    let Some(w) = &i.file.workload else {
        return Ok(None);
    };
    let Ok(records) = validate_workload::products(&i.file, w) else {
        return Ok(None);
    };
    if records.iter().any(|r| r.timing.is_none()) || w.step_times_ns.is_empty() {
        return Ok(None);
    }
    let within = records
        .iter()
        .map(|r| sampled(&i.path, r))
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(Repeated {
        times_ns: w.step_times_ns.clone(),
        within,
    }))
}

/// Why the file cannot carry a headline about its workload, each reason in words.
fn unfit(label: &str, file: &ResultFile) -> Vec<String> {
    let mut out = Vec::new();
    if !file.complete {
        out.push(format!(
            "{label} did not finish ({})",
            file.incomplete_reason
                .as_deref()
                .unwrap_or("no reason given")
        ));
    }
    let Some(w) = &file.workload else {
        out.push(format!(
            "{label} ran no named workload (suite '{}'); run `flopcost run` (or `--workload \
             NAME`) on both machines",
            file.settings.suite
        ));
        return out;
    };
    match validate_workload::products(file, w) {
        Err(e) => out.push(format!("{label}: {e}")),
        Ok(records) => {
            let failed: Vec<&str> = records
                .iter()
                .filter(|r| !r.verification.passed || r.tflops.is_none())
                .map(|r| r.id.as_str())
                .collect();
            if !failed.is_empty() {
                out.push(format!(
                    "{label}: {} of the workload's products failed verification ({})",
                    failed.len(),
                    failed.join(", ")
                ));
            }
        }
    }
    match &file.training {
        None => out.push(format!("{label}: the workload's MLP was not trained")),
        Some(t) if !(t.reached_target && t.gradient_check.passed) => out.push(format!(
            "{label}: the workload's MLP training failed its {}",
            if t.gradient_check.passed {
                "loss target"
            } else {
                "gradient check"
            }
        )),
        Some(_) => {}
    }
    if w.step_times_ns.is_empty() {
        out.push(format!("{label}: no repetition of the workload finished"));
    } else if w.step_times_ns.len() < w.repetitions as usize {
        out.push(format!(
            "{label}: {} of its {} repetitions finished",
            w.step_times_ns.len(),
            w.repetitions
        ));
    }
    out
}

/// Why two files cannot share a headline.
fn refusals(a: (&str, &ResultFile), b: (&str, &ResultFile)) -> Vec<String> {
    let mut out = Vec::new();
    for (label, file) in [a, b] {
        out.extend(unfit(label, file));
    }
    let (fa, fb) = (a.1, b.1);
    if schema_major(&fa.schema) != schema_major(&fb.schema) {
        out.push(format!(
            "the files are of different result-schema versions ({} and {})",
            fa.schema, fb.schema
        ));
    }
    if let (Some(wa), Some(wb)) = (&fa.workload, &fb.workload) {
        if wa.name != wb.name || wa.version != wb.version {
            out.push(format!(
                "they ran different workloads: {} ran {} v{}, {} ran {} v{}",
                a.0, wa.name, wa.version, b.0, wb.name, wb.version
            ));
        } else if wa.digest != wb.digest {
            out.push(format!(
                "their definitions of {} v{} differ ({} against {})",
                wa.name, wa.version, wa.digest, wb.digest
            ));
        }
    }
    out
}

/// Builds the comparison. Every file is checked first (schema and invariants).
pub fn build(
    inputs: &[Input],
    baseline: usize,
    spec: &PriceSpec,
    kernel: Option<&str>,
) -> Result<Comparison> {
    if inputs.len() < 2 {
        return Err(input_error("compare needs at least two result files"));
    }
    if baseline >= inputs.len() {
        return Err(input_error(format!(
            "--baseline {}: there are only {} files",
            baseline + 1,
            inputs.len()
        )));
    }
    for i in inputs {
        if let Some(p) = validate::problems(&i.file).first() {
            return Err(input_error(format!(
                "{}: not a valid result file: {p} (see `flopcost validate`)",
                i.path
            )));
        }
    }
    let paths: Vec<String> = inputs.iter().map(|i| i.path.clone()).collect();
    let labels = labels(&paths);
    let best: Vec<(Vec<Key>, HashMap<Key, &Record>)> = inputs
        .iter()
        .map(|i| best_by_key(&i.file.records, kernel))
        .collect();
    let mut machines = Vec::new();
    let mut steps = Vec::new();
    for (idx, (i, label)) in inputs.iter().zip(&labels).enumerate() {
        let step = workload_step(i)?;
        machines.push(machine(i, label, spec, step.as_ref(), &best[idx].1)?);
        steps.push(step);
    }
    let (base_order, base_map) = &best[baseline];
    if let Some(k) = kernel
        && base_map.is_empty()
    {
        return Err(input_error(format!(
            "--kernel {k}: the baseline {} has no verified records of kernel '{k}'",
            inputs[baseline].path
        )));
    }
    for (idx, (_, map)) in best.iter().enumerate() {
        if idx != baseline && !map.keys().any(|k| base_map.contains_key(k)) {
            return Err(input_error(format!(
                "{}: shares no records with the baseline {}; compare needs files that ran \
                 some of the same (kind, precision, layout, m, n, k){}",
                inputs[idx].path,
                inputs[baseline].path,
                kernel.map_or(String::new(), |k| format!(" with kernel '{k}'"))
            )));
        }
    }
    // The vendor-library file, when wgpu files are compared with one.
    let vendor = machines
        .iter()
        .position(|m| !m.wgpu)
        .filter(|_| machines.iter().any(|m| m.wgpu));
    let rows = rows(inputs, &machines, &best, base_order, baseline, vendor)?;
    let unmatched = unmatched(&best, &labels, baseline);

    let mut verdicts = Vec::new();
    for idx in (0..inputs.len()).filter(|&i| i != baseline) {
        let refused = refusals(
            (&labels[baseline], &inputs[baseline].file),
            (&labels[idx], &inputs[idx].file),
        );
        let headline = match (&steps[baseline], &steps[idx]) {
            (Some(a), Some(b)) if refused.is_empty() => {
                verdict(inputs, &machines, &rows, baseline, idx, a, b)
            }
            _ => None,
        };
        let refusals = if headline.is_none() && refused.is_empty() {
            vec!["the workload step has no usable times".to_string()]
        } else {
            refused
        };
        verdicts.push(Pair {
            machine: idx,
            baseline,
            headline,
            refusals,
        });
    }
    let mut warnings = Vec::new();
    let mut warn = |w: String| {
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    };
    let software: Vec<&str> = machines
        .iter()
        .filter(|m| m.software)
        .map(|m| m.label.as_str())
        .collect();
    if !software.is_empty() {
        warn(if software.len() == 1 {
            format!(
                "{} is a software rasteriser running on the CPU: its figures say nothing \
                 about GPUs",
                software[0]
            )
        } else {
            format!(
                "{} are software rasterisers running on the CPU: their figures say nothing \
                 about GPUs",
                software.join(" and ")
            )
        });
    }
    for (m, i) in machines.iter().zip(inputs) {
        // One benchmark's noisy samples are flagged on its row; here they are counted.
        let noisy = i
            .file
            .warnings
            .iter()
            .filter(|w| w.contains("noisy timing"))
            .count();
        if noisy > 0 {
            warn(format!(
                "{}: {noisy} benchmark(s) had noisy timing (coefficient of variation over \
                 {:.0}%); the rows marked * say which",
                m.label,
                100.0 * NOISY_CV
            ));
        }
        for w in i
            .file
            .warnings
            .iter()
            .filter(|w| !w.contains("noisy timing"))
        {
            warn(format!("{}: {w}", m.label));
        }
    }
    let mut notes = vec![
        if kernel.is_some() {
            MATCHING_NOTE.replace(
                "its best verified kernel (highest median TFLOP/s) is compared",
                "only the kernel given with --kernel is compared",
            )
        } else {
            MATCHING_NOTE.to_string()
        },
        INTERVAL_NOTE.to_string(),
        COST_NOTE.to_string(),
    ];
    if vendor.is_some() {
        notes.push(VENDOR_NOTE.to_string());
    }
    for m in &machines {
        if let Some(n) = &m.note {
            notes.push(format!("{}: {n}", m.label));
        }
    }
    let first = verdicts.first();
    Ok(Comparison {
        baseline,
        vendor,
        headline: first.and_then(|p| p.headline.clone()),
        refusals: first.map(|p| p.refusals.clone()).unwrap_or_default(),
        machines,
        verdicts,
        rows,
        unmatched,
        warnings,
        notes,
    })
}

/// One machine's summary: price, and throughput and cost on each basis the file has.
fn machine(
    i: &Input,
    label: &str,
    spec: &PriceSpec,
    step: Option<&Repeated>,
    best: &HashMap<Key, &Record>,
) -> Result<Machine> {
    let file = &i.file;
    let c = cost::price_file(file, spec).map_err(|e| e.context(i.path.clone()))?;
    let t = Throughputs::from_result(file);
    let price_source = c
        .inputs
        .get(CostField::UsdPerHour)
        .map(|u| u.source.clone())
        .or_else(|| {
            c.inputs
                .get(CostField::CapexUsd)
                .map(|u| format!("ownership: capex {}", u.source))
        });
    let usd = c.usd_per_hour;
    let watts = c.inputs.get(CostField::Watts).map(|w| w.value);
    let figure = |basis: Basis, what: String, tflops: f64| Figure {
        basis,
        what,
        tflops,
        usd_per_pflop: usd.map(|u| cost::model::usd_per_pflop(u, tflops)),
        joules_per_pflop: watts.map(|w| cost::model::joules_per_pflop(w, tflops)),
    };
    let mut figures = Vec::new();
    let workload = file.workload.as_ref();
    if let (Some(w), Some(s)) = (workload, step)
        && let Some(t) = geo_mean(&s.times_ns)
    {
        figures.push(figure(
            Basis::WorkloadStep,
            format!("the {} training step", w.name),
            w.step_flops as f64 / t / 1e3,
        ));
    }
    if let Some(tr) = &file.training {
        // The step time at the geometric mean of the repetitions where there are several.
        let times = file
            .repeatability
            .as_ref()
            .and_then(|r| r.records.iter().find(|e| e.id == TRAINING_REPEAT_ID))
            .map_or_else(|| vec![tr.step_time.median_ns], |e| e.medians_ns.clone());
        if let Some(t) = geo_mean(&times) {
            figures.push(figure(
                Basis::MlpTraining,
                "the MLP training run".into(),
                tr.flops_per_step as f64 / t / 1e3,
            ));
        }
    }
    if let Some(g) = t.gemm_tflops.filter(|g| g.is_finite() && *g > 0.0) {
        figures.push(figure(Basis::BestGemm, "the best GEMM".into(), g));
    }
    let reference_run = figures
        .iter()
        .find(|f| f.basis == Basis::WorkloadStep)
        .map(|f| {
            let rr = &c.reference_run;
            let hours = cost::model::hours(rr.flops, f.tflops);
            ReferenceRun {
                params: rr.params,
                tokens: rr.tokens,
                hours,
                usd: usd.map(|u| u * hours),
            }
        });
    let mut points: Vec<Point> = best
        .values()
        .filter_map(|r| {
            Some(Point {
                flops: r.flops,
                tflops: r.tflops.as_ref()?.median,
                layout: r.layout.as_str().into(),
                role: r
                    .role
                    .as_deref()
                    .and_then(|x| x.rsplit_once(": "))
                    .map_or("other", |(_, p)| p)
                    .into(),
            })
        })
        .collect();
    points.sort_by(|a, b| a.flops.cmp(&b.flops).then(a.tflops.total_cmp(&b.tflops)));
    Ok(Machine {
        label: label.to_string(),
        path: i.path.clone(),
        adapter: file.adapter.name.clone(),
        backend: file.adapter.backend.clone(),
        runtime: file.runtime.as_ref().map_or_else(
            || "wgpu".to_string(),
            |r| format!("{} {}", r.name, r.version),
        ),
        wgpu: file.is_wgpu(),
        device_type: file.adapter.device_type.clone(),
        software: file.adapter.device_type == "cpu",
        created_at: file.created_at.clone(),
        tool_version: format!("{} {}", file.tool.version, file.tool.git_commit),
        complete: file.complete,
        workload: workload.map(|w| format!("{} v{}", w.name, w.version)),
        workload_digest: workload.map(|w| w.digest.clone()),
        repetitions: workload.map_or(1, |w| w.step_times_ns.len().max(1) as u32),
        catalog_entry: c.catalog_entry.clone(),
        pricing: c.pricing.map(|p| p.as_str().to_string()),
        usd_per_hour: usd,
        price_source,
        watts,
        figures,
        reference_run,
        note: c.note.clone(),
        points,
        sustain: file.sustain.as_ref().map(|s| SustainSeries {
            gemm: format!("{} {}x{}x{} {}", s.layout, s.m, s.n, s.k, s.kernel),
            points: s.windows.iter().map(|w| (w.start_s, w.tflops)).collect(),
            throttled: s.throttled,
        }),
    })
}

/// The matched rows: baseline keys found in at least one other file.
fn rows(
    inputs: &[Input],
    machines: &[Machine],
    best: &[(Vec<Key>, HashMap<Key, &Record>)],
    base_order: &[Key],
    baseline: usize,
    vendor: Option<usize>,
) -> Result<Vec<Row>> {
    let base_map = &best[baseline].1;
    let mut rows = Vec::new();
    for key in base_order {
        let present: Vec<Option<&Record>> = best.iter().map(|(_, m)| m.get(key).copied()).collect();
        if present
            .iter()
            .enumerate()
            .all(|(i, r)| i == baseline || r.is_none())
        {
            continue;
        }
        let base_rec = base_map[key];
        let side = |i: usize, r: &Record| -> Result<Repeated> {
            Ok(Repeated {
                times_ns: medians(&inputs[i].file, r),
                within: vec![sampled(&inputs[i].path, r)?],
            })
        };
        let base_side = side(baseline, base_rec)?;
        let mut cells = Vec::new();
        for (i, r) in present.iter().enumerate() {
            let Some(r) = r else {
                cells.push(None);
                continue;
            };
            let (Some(tf), Some(tm)) = (r.tflops.as_ref(), r.timing.as_ref()) else {
                cells.push(None);
                continue;
            };
            let (ratio, interval) = if i == baseline {
                (None, None)
            } else {
                match speed_ratio(&base_side, &side(i, r)?) {
                    Some((q, iv)) => (Some(q), Some(iv)),
                    None => (None, None),
                }
            };
            cells.push(Some(Cell {
                record: r.id.clone(),
                kernel: r.kernel.name.clone(),
                tflops: tf.median,
                median_ns: tm.median_ns,
                samples: tm.samples,
                repetitions: medians(&inputs[i].file, r).len() as u32,
                ratio,
                interval,
                usd_per_pflop: machines[i]
                    .usd_per_hour
                    .map(|u| cost::model::usd_per_pflop(u, tf.median)),
                vs_vendor: None,
                noisy: noise(&inputs[i].file, r),
            }));
        }
        if let Some(v) = vendor {
            let vendor_tf = cells[v].as_ref().map(|c| c.tflops);
            for (i, cell) in cells.iter_mut().enumerate() {
                if let (Some(c), Some(vt)) = (cell.as_mut(), vendor_tf)
                    && machines[i].wgpu
                    && vt > 0.0
                {
                    c.vs_vendor = Some(c.tflops / vt);
                }
            }
        }
        rows.push(Row {
            kind: key.kind.to_string(),
            precision: key.precision.to_string(),
            layout: key.layout.to_string(),
            m: key.m,
            n: key.n,
            k: key.k,
            flops: base_rec.flops,
            role: base_rec
                .role
                .as_deref()
                .map(|r| r.rsplit_once(": ").map_or(r, |(_, p)| p).to_string()),
            cells,
        });
    }
    Ok(rows)
}

/// The records of each file that have no counterpart.
fn unmatched(
    best: &[(Vec<Key>, HashMap<Key, &Record>)],
    labels: &[String],
    baseline: usize,
) -> Vec<Unmatched> {
    let base_map = &best[baseline].1;
    let mut out = Vec::new();
    for (idx, (order, _)) in best.iter().enumerate() {
        let (missing, reason): (Vec<&Key>, &str) = if idx == baseline {
            (
                order
                    .iter()
                    .filter(|k| {
                        best.iter()
                            .enumerate()
                            .all(|(j, (_, m))| j == idx || !m.contains_key(*k))
                    })
                    .collect(),
                "in no other file",
            )
        } else {
            (
                order
                    .iter()
                    .filter(|k| !base_map.contains_key(*k))
                    .collect(),
                "not in the baseline",
            )
        };
        if !missing.is_empty() {
            out.push(Unmatched {
                machine: idx,
                label: labels[idx].clone(),
                reason: reason.into(),
                records: missing.iter().map(|k| best[idx].1[*k].id.clone()).collect(),
            });
        }
    }
    out
}

/// The headline of `other` against `base`, on the workload step.
fn verdict(
    inputs: &[Input],
    machines: &[Machine],
    rows: &[Row],
    base: usize,
    other: usize,
    a_step: &Repeated,
    b_step: &Repeated,
) -> Option<Verdict> {
    let (a, b) = (&machines[base], &machines[other]);
    let (speed, interval) = speed_ratio(a_step, b_step)?;
    let workload = inputs[base].file.workload.as_ref()?;
    let name = format!("{} v{}", workload.name, workload.version);
    let reps = [a_step.times_ns.len() as u32, b_step.times_ns.len() as u32];
    let within_run_only = reps.contains(&1);
    let price_ratio = match (a.usd_per_hour, b.usd_per_hour) {
        (Some(pa), Some(pb)) if pa > 0.0 && pb.is_finite() => Some(pb / pa),
        _ => None,
    };
    let cost_ratio = price_ratio.map(|p| p / speed);
    let cost_interval = price_ratio.map(|p| Interval {
        low: p / interval.high,
        high: p / interval.low,
    });
    // What the headline is built on that is flagged.
    let mut warnings = Vec::new();
    for (m, step) in [(a, a_step), (b, b_step)] {
        let spread = crate::result::spread(&step.times_ns);
        if step.times_ns.len() > 1 && spread > NOISY_SPREAD {
            warnings.push(format!(
                "{}'s workload step moved {:.0}% between its repetitions",
                m.label,
                100.0 * spread
            ));
        }
    }
    for (i, m) in [(base, a), (other, b)] {
        let noisy = rows
            .iter()
            .filter(|r| r.role.is_some())
            .filter_map(|r| r.cells[i].as_ref())
            .filter(|c| c.noisy.is_some())
            .count();
        if noisy > 0 {
            warnings.push(format!(
                "{noisy} of {}'s {} products are noisy (see the flagged rows)",
                m.label,
                workload.definition.layers.len() * 3
            ));
        }
    }
    if a.software || b.software {
        warnings.push("a software adapter (CPU) is part of this comparison".into());
    }
    let ci = |i: Interval| format!("{:.2}–{:.2}×", i.low, i.high);
    let reps_text = if reps[0] == reps[1] {
        format!("{} runs each", reps[0])
    } else {
        format!("{} and {} runs", reps[0], reps[1])
    };
    let scope = if within_run_only {
        let who: Vec<&str> = [(a, reps[0]), (b, reps[1])]
            .iter()
            .filter(|(_, r)| *r == 1)
            .map(|(m, _)| m.label.as_str())
            .collect();
        format!(
            "; within-run noise only: {} ran one repetition",
            who.join(" and ")
        )
    } else {
        String::new()
    };
    let sentence = match (cost_ratio, cost_interval) {
        (Some(c), Some(ci_cost)) => format!(
            "{} does the {} training step at {} the cost of {} ({}), at {} its speed (95% \
             interval: cost {}, speed {}), {reps_text}{scope}",
            b.label,
            workload.name,
            fmt_ratio(c),
            a.label,
            fmt_change(c),
            fmt_ratio(speed),
            ci(ci_cost),
            ci(interval),
        ),
        _ => {
            let who: Vec<&str> = [a, b]
                .iter()
                .filter(|m| m.usd_per_hour.is_none())
                .map(|m| m.label.as_str())
                .collect();
            format!(
                "{} does the {} training step at {} the speed of {} (95% interval {}), \
                 {reps_text}{scope}; its cost is unknown: no price for {} (give --price-file \
                 FILE, or price the files with `flopcost cost FILE --usd-per-hour X --out \
                 FILE`)",
                b.label,
                workload.name,
                fmt_ratio(speed),
                a.label,
                ci(interval),
                who.join(" and ")
            )
        }
    };
    Some(Verdict {
        workload: name,
        basis: Basis::WorkloadStep,
        speed_ratio: speed,
        speed_interval: interval,
        cost_ratio,
        cost_interval,
        repetitions: reps,
        within_run_only,
        warnings,
        sentence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_and_ratios_read_as_in_the_sentence() {
        assert_eq!(fmt_ratio(0.8), "0.80×");
        assert_eq!(fmt_change(0.8), "−20%");
        assert_eq!(fmt_change(1.034), "+3%");
        assert_eq!(fmt_change(1.001), "±0%");
    }

    #[test]
    fn labels_are_stems_unless_they_repeat() {
        let l = labels(&["a/x.json".into(), "b/x.json".into()]);
        assert_eq!(l, ["a/x.json", "b/x.json"]);
        let l = labels(&["a/x.json".into(), "b/y.json".into()]);
        assert_eq!(l, ["x", "y"]);
    }

    #[test]
    fn schema_majors_are_read_from_the_id() {
        assert_eq!(schema_major("flopcost/result/v1"), Some(1));
        assert_eq!(schema_major("flopcost/result/v2.1"), Some(2));
        assert_eq!(schema_major("other"), None);
    }
}
