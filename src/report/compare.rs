//! Side-by-side comparison of result files: records matched by (kind, precision, layout,
//! m, n, k), throughput ratios to a baseline with bootstrap intervals from the histograms,
//! each machine's cost per PFLOP, and the sentence a buyer can quote. This module builds
//! the comparison; the exporters in [`super::export`] present it.

use std::collections::HashMap;

use anyhow::Result;
use serde::Serialize;

use crate::cost::{self, PriceSpec, Throughputs};
use crate::error::input_error;
use crate::result::{CostField, WorkBasis};
use crate::result::{Record, ReferenceRun, ResultFile, validate};
use crate::stats::{self, bootstrap};

pub use bootstrap::Interval;

/// How the comparison was made, for every output format.
pub const MATCHING_NOTE: &str = "Records are matched by (kind, precision, layout, m, n, k); \
    when a file has several kernels for one shape, its best verified kernel (highest median \
    TFLOP/s) is compared.";

/// How the intervals were made.
pub const INTERVAL_NOTE: &str = "Intervals are 95% percentile-bootstrap intervals of the \
    throughput ratio (2000 resamples of each file's timing histogram, ratio of the resampled \
    medians; Efron & Tibshirani 1993, ch. 13).";

/// What the vendor-library column is.
pub const VENDOR_NOTE: &str = "wgpu / vendor library: each wgpu file's median throughput \
    over the vendor library's (a `runtime` other than wgpu, e.g. PyTorch calling cuBLAS, \
    written by scripts/torch_reference.py) on the same (precision, layout, m, n, k), \
    measured on the same machine; 1.00× is parity.";

/// How cost is compared.
pub const COST_NOTE: &str = "USD/PFLOP = USD per hour / (3.6 × TFLOP/s). The cost ratio is \
    the ratio of USD per PFLOP for the same work, so its interval is the speed interval \
    scaled by the price ratio.";

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
    /// Shapes present in the baseline and at least one other file.
    pub rows: Vec<Row>,
    /// Records that have no counterpart, per file.
    pub unmatched: Vec<Unmatched>,
    /// One per machine other than the baseline.
    pub verdicts: Vec<Verdict>,
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
    pub created_at: String,
    pub tool_version: String,
    pub catalog_entry: Option<String>,
    pub pricing: Option<String>,
    pub usd_per_hour: Option<f64>,
    /// Where the price came from.
    pub price_source: Option<String>,
    pub best_gemm_tflops: Option<f64>,
    pub best_gemm_record: Option<String>,
    /// USD per PFLOP at the best GEMM.
    pub usd_per_pflop: Option<f64>,
    /// Training-work throughput and what it is (`training` or `triplets`).
    pub work_tflops: Option<f64>,
    pub work_basis: Option<String>,
    pub usd_per_pflop_work: Option<f64>,
    pub joules_per_pflop_work: Option<f64>,
    pub reference_run: ReferenceRun,
    /// How to give a missing price or power figure.
    pub note: Option<String>,
    /// Every shape's best verified throughput: (FLOPs per run, median TFLOP/s), by FLOPs.
    pub throughput_points: Vec<(u64, f64)>,
    /// The sustained run (`--sustain`), if the file has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sustain: Option<SustainSeries>,
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
    /// Throughput over the baseline's; null for the baseline itself.
    pub ratio: Option<f64>,
    pub interval: Option<Interval>,
    pub usd_per_pflop: Option<f64>,
    /// This wgpu cell's throughput over the vendor library's on the same record; null for
    /// the vendor file itself, or where it lacks the record.
    pub vs_vendor: Option<f64>,
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

/// The quotable summary for one machine against the baseline.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub machine: usize,
    pub baseline: usize,
    /// What work the ratios are taken over.
    pub basis: String,
    /// Throughput over the baseline's.
    pub speed_ratio: f64,
    pub speed_interval: Option<Interval>,
    /// USD per PFLOP over the baseline's; null when a price is missing.
    pub cost_ratio: Option<f64>,
    pub cost_interval: Option<Interval>,
    pub sentence: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    kind: String,
    precision: String,
    layout: String,
    m: u32,
    n: u32,
    k: u32,
}

impl Key {
    fn of(r: &Record) -> Key {
        Key {
            kind: r.kind.as_str().to_string(),
            precision: r.precision.as_str().to_string(),
            layout: r.layout.as_str().to_string(),
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

fn sampled(path: &str, r: &Record) -> Result<bootstrap::Sampled> {
    let t = r.timing.as_ref().ok_or_else(|| {
        input_error(format!(
            "{path}: record {} has a throughput but no timing",
            r.id
        ))
    })?;
    let h = stats::decode_histogram(&t.histogram)
        .map_err(|e| input_error(format!("{path}: record {}: {e:#}", r.id)))?;
    bootstrap::Sampled::from_histogram(r.flops as f64, &h)
        .ok_or_else(|| input_error(format!("{path}: record {} has an empty histogram", r.id)))
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

/// Builds the comparison. Every file is checked first (schema and invariants); a file
/// that shares no record with the baseline is bad input.
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
    let mut machines = Vec::new();
    let mut throughputs = Vec::new();
    for (i, label) in inputs.iter().zip(&labels) {
        let c = cost::price_file(&i.file, spec).map_err(|e| e.context(i.path.clone()))?;
        let t = Throughputs::from_result(&i.file);
        let work = t.training_work();
        let price_source = c
            .inputs
            .get(CostField::UsdPerHour)
            .map(|u| u.source.clone())
            .or_else(|| {
                c.inputs
                    .get(CostField::CapexUsd)
                    .map(|u| format!("ownership: capex {}", u.source))
            });
        machines.push(Machine {
            label: label.clone(),
            path: i.path.clone(),
            adapter: i.file.adapter.name.clone(),
            backend: i.file.adapter.backend.clone(),
            runtime: i.file.runtime.as_ref().map_or_else(
                || "wgpu".to_string(),
                |r| format!("{} {}", r.name, r.version),
            ),
            wgpu: i.file.is_wgpu(),
            device_type: i.file.adapter.device_type.clone(),
            created_at: i.file.created_at.clone(),
            tool_version: format!("{} {}", i.file.tool.version, i.file.tool.git_commit),
            catalog_entry: c.catalog_entry.clone(),
            pricing: c.pricing.map(|p| p.as_str().to_string()),
            usd_per_hour: c.usd_per_hour,
            price_source,
            best_gemm_tflops: t.gemm_tflops,
            best_gemm_record: t.gemm_record.clone(),
            usd_per_pflop: c.usd_per_pflop,
            work_tflops: work.map(|w| w.0),
            work_basis: work.map(|w| w.1.as_str().to_string()),
            usd_per_pflop_work: c
                .usd_per_hour
                .zip(work)
                .map(|(u, (tf, _))| cost::model::usd_per_pflop(u, tf)),
            joules_per_pflop_work: c.joules_per_pflop_training,
            reference_run: c.reference_run.clone(),
            note: c.note.clone(),
            throughput_points: Vec::new(),
            sustain: i.file.sustain.as_ref().map(|s| SustainSeries {
                gemm: format!("{} {}x{}x{} {}", s.layout, s.m, s.n, s.k, s.kernel),
                points: s.windows.iter().map(|w| (w.start_s, w.tflops)).collect(),
                throttled: s.throttled,
            }),
        });
        throughputs.push(t);
    }

    let best: Vec<(Vec<Key>, HashMap<Key, &Record>)> = inputs
        .iter()
        .map(|i| best_by_key(&i.file.records, kernel))
        .collect();
    for (m, (_, map)) in machines.iter_mut().zip(&best) {
        let mut pts: Vec<(u64, f64)> = map
            .values()
            .filter_map(|r| Some((r.flops, r.tflops.as_ref()?.median)))
            .collect();
        pts.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        m.throughput_points = pts;
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

    // Rows: baseline keys found in at least one other file.
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
        let base_sampled = sampled(&inputs[baseline].path, base_rec)?;
        let base_tf = base_rec.tflops.as_ref().map_or(0.0, |t| t.median);
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
                let s = sampled(&inputs[i].path, r)?;
                (
                    Some(tf.median / base_tf),
                    bootstrap::throughput_ratio_interval(
                        std::slice::from_ref(&base_sampled),
                        std::slice::from_ref(&s),
                    ),
                )
            };
            cells.push(Some(Cell {
                record: r.id.clone(),
                kernel: r.kernel.name.clone(),
                tflops: tf.median,
                median_ns: tm.median_ns,
                samples: tm.samples,
                ratio,
                interval,
                usd_per_pflop: machines[i]
                    .usd_per_hour
                    .map(|u| cost::model::usd_per_pflop(u, tf.median)),
                vs_vendor: None,
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
            kind: key.kind.clone(),
            precision: key.precision.clone(),
            layout: key.layout.clone(),
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

    // Unmatched records.
    let mut unmatched = Vec::new();
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
            unmatched.push(Unmatched {
                machine: idx,
                label: labels[idx].clone(),
                reason: reason.into(),
                records: missing.iter().map(|k| best[idx].1[*k].id.clone()).collect(),
            });
        }
    }

    let mut verdicts = Vec::new();
    for idx in 0..inputs.len() {
        if idx != baseline {
            verdicts.push(verdict(
                inputs,
                &machines,
                &throughputs,
                &rows,
                baseline,
                idx,
            )?);
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
    Ok(Comparison {
        baseline,
        vendor,
        machines,
        rows,
        unmatched,
        verdicts,
        notes,
    })
}

fn verdict(
    inputs: &[Input],
    machines: &[Machine],
    throughputs: &[Throughputs],
    rows: &[Row],
    base: usize,
    other: usize,
) -> Result<Verdict> {
    let (a, b) = (&machines[base], &machines[other]);
    let both: Vec<&Row> = rows
        .iter()
        .filter(|r| r.cells[base].is_some() && r.cells[other].is_some())
        .collect();
    let training = throughputs[base]
        .training_work()
        .zip(throughputs[other].training_work())
        .filter(|((_, x), (_, y))| *x == WorkBasis::Training && *y == WorkBasis::Training);
    let triplet_rows: Vec<&Row> = both.iter().copied().filter(|r| r.role.is_some()).collect();
    let (basis, work, speed, interval) = if let Some(((ta, _), (tb, _))) = training {
        // The interval comes from the two runs' histograms of per-step GPU time.
        let steps = |i: usize| -> Result<Option<bootstrap::Sampled>> {
            let Some(t) = inputs[i].file.training.as_ref() else {
                return Ok(None);
            };
            let h = stats::decode_histogram(&t.step_time.histogram).map_err(|e| {
                input_error(format!("{}: training step times: {e:#}", inputs[i].path))
            })?;
            Ok(bootstrap::Sampled::from_histogram(
                t.flops_per_step as f64,
                &h,
            ))
        };
        let interval = match (steps(base)?, steps(other)?) {
            (Some(sa), Some(sb)) => bootstrap::throughput_ratio_interval(&[sa], &[sb]),
            _ => None,
        };
        (
            "the training run".to_string(),
            "training work",
            tb / ta,
            interval,
        )
    } else {
        let (chosen, basis, work) = if triplet_rows.is_empty() {
            (
                both.clone(),
                match both.len() {
                    1 => "the one matched GEMM".to_string(),
                    n => format!("the {n} matched GEMMs, taken together"),
                },
                "GEMM work",
            )
        } else {
            (
                triplet_rows.clone(),
                format!(
                    "the {} training-layer products both files ran (forward, input and \
                     weight gradient), taken together",
                    triplet_rows.len()
                ),
                "training work",
            )
        };
        let cell = |r: &Row, i: usize| r.cells[i].clone();
        let time = |i: usize| {
            chosen
                .iter()
                .filter_map(|r| cell(r, i))
                .map(|c| c.median_ns)
                .sum::<f64>()
        };
        let flops: f64 = chosen.iter().map(|r| r.flops as f64).sum();
        let speed = (flops / time(other)) / (flops / time(base));
        let mut sa = Vec::new();
        let mut sb = Vec::new();
        for r in &chosen {
            let rec = |i: usize| -> Option<&Record> {
                let id = &r.cells[i].as_ref()?.record;
                inputs[i].file.records.iter().find(|x| &x.id == id)
            };
            if let (Some(ra), Some(rb)) = (rec(base), rec(other)) {
                sa.push(sampled(&inputs[base].path, ra)?);
                sb.push(sampled(&inputs[other].path, rb)?);
            }
        }
        (
            basis,
            work,
            speed,
            bootstrap::throughput_ratio_interval(&sa, &sb),
        )
    };
    let price_ratio = match (a.usd_per_hour, b.usd_per_hour) {
        (Some(pa), Some(pb)) if pa > 0.0 => Some(pb / pa),
        _ => None,
    };
    let cost_ratio = price_ratio.map(|p| p / speed);
    let cost_interval = price_ratio.zip(interval).map(|(p, i)| Interval {
        low: p / i.high,
        high: p / i.low,
    });
    let ci =
        |i: Option<Interval>| i.map_or(String::new(), |i| format!("{:.2}–{:.2}×", i.low, i.high));
    let sentence = match cost_ratio {
        Some(c) => {
            let mut s = format!(
                "{} does this {work} at {} the cost of {} ({}), at {} its speed",
                b.label,
                fmt_ratio(c),
                a.label,
                fmt_change(c),
                fmt_ratio(speed)
            );
            if interval.is_some() {
                s.push_str(&format!(
                    " (95% interval: cost {}, speed {})",
                    ci(cost_interval),
                    ci(interval)
                ));
            }
            s
        }
        None => {
            let who: Vec<&str> = [a, b]
                .iter()
                .filter(|m| m.usd_per_hour.is_none())
                .map(|m| m.label.as_str())
                .collect();
            let mut s = format!(
                "{} does this {work} at {} the speed of {}",
                b.label,
                fmt_ratio(speed),
                a.label
            );
            if interval.is_some() {
                s.push_str(&format!(" (95% interval {})", ci(interval)));
            }
            s.push_str(&format!(
                "; its cost is unknown: no price for {} (give --price-file FILE, or price the \
                 files with `flopcost cost FILE --usd-per-hour X --out FILE`)",
                who.join(" and ")
            ));
            s
        }
    };
    Ok(Verdict {
        machine: other,
        baseline: base,
        basis,
        speed_ratio: speed,
        speed_interval: interval,
        cost_ratio,
        cost_interval,
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
        let l = labels(&["a/x.json".into(), "b/y.json".into()]);
        assert_eq!(l, ["x", "y"]);
        let l = labels(&["a/x.json".into(), "b/x.json".into()]);
        assert_eq!(l, ["a/x.json", "b/x.json"]);
    }
}
