//! Invariants a result file must hold beyond its schema: FLOP counts, throughput
//! consistent with the timing, ordered percentiles, a histogram that matches the
//! samples, and no throughput without a passed verification.

use std::collections::HashSet;

use super::{CheckMethod, PeakMethod, Peaks, Record, RecordKind, ResultFile, SCHEMA_ID, Timing};
use crate::stats;
use crate::types::{KernelPath, Precision, Shape};

/// Relative slack allowed when recomputing a derived float.
const REL_SLACK: f64 = 1e-9;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= REL_SLACK * a.abs().max(b.abs())
}

/// Every broken invariant, as a sentence; empty when the file is valid.
pub fn problems(file: &ResultFile) -> Vec<String> {
    let mut out = Vec::new();
    if file.schema != SCHEMA_ID {
        out.push(format!(
            "schema is {:?}, expected {SCHEMA_ID:?}",
            file.schema
        ));
    }
    if chrono::DateTime::parse_from_rfc3339(&file.created_at).is_err() {
        out.push(format!("created_at {:?} is not RFC 3339", file.created_at));
    }
    if !file.complete && file.incomplete_reason.is_none() {
        out.push("complete is false but incomplete_reason is missing".into());
    }
    if let Some(p) = &file.peaks {
        out.extend(peak_problems(p).into_iter().map(|e| format!("peaks: {e}")));
    }
    let mut ids = HashSet::new();
    for r in &file.records {
        if !ids.insert(r.id.as_str()) {
            out.push(format!("record id {:?} appears twice", r.id));
        }
        for p in record_problems(r) {
            out.push(format!("record {}: {p}", r.id));
        }
        if let Some(e) = r.efficiency {
            match (&file.peaks, &r.tflops) {
                (None, _) => out.push(format!(
                    "record {}: has an efficiency but the file has no peaks",
                    r.id
                )),
                (_, None) => out.push(format!(
                    "record {}: has an efficiency but no throughput",
                    r.id
                )),
                (Some(p), Some(tf)) => match p.tflops_for(r.precision, r.kernel.path) {
                    None => out.push(format!(
                        "record {}: has an efficiency but the file has no measured {} peak \
                         for its path",
                        r.id, r.precision
                    )),
                    Some(peak) => {
                        let want = tf.median / peak;
                        if !close(e, want) {
                            out.push(format!(
                                "record {}: efficiency {e} != tflops.median / its measured \
                                 peak = {want}",
                                r.id
                            ));
                        }
                    }
                },
            }
        }
    }
    if let Some(c) = &file.cost {
        for (field, i) in c.inputs.iter() {
            if let Err(why) = field.check(i.value) {
                out.push(format!(
                    "cost: the recorded input {} = {} {why}",
                    field.name(),
                    i.value
                ));
            }
        }
    }
    out.extend(super::validate_training::triplet_problems(file));
    out.extend(super::validate_training::training_problems(file));
    out.extend(super::reliability::problems(file));
    out.extend(super::validate_workload::problems(file));
    out
}

/// Each peak must be its method's work over its fastest run.
fn peak_problems(p: &Peaks) -> Vec<String> {
    let mut out = Vec::new();
    fn check(out: &mut Vec<String>, name: &str, value: f64, m: &PeakMethod, scale: f64) {
        if !(m.best_ns.is_finite() && m.best_ns > 0.0 && m.work_per_run > 0.0) {
            out.push(format!("{name}: best_ns and work_per_run must be positive"));
            return;
        }
        if m.median_ns < m.best_ns {
            out.push(format!("{name}: median_ns is below best_ns"));
        }
        if m.runs == 0 {
            out.push(format!("{name}: no runs"));
        }
        let want = m.work_per_run / m.best_ns / scale;
        if !close(value, want) {
            out.push(format!("{name} {value} != work_per_run / best_ns ({want})"));
        }
    }
    check(
        &mut out,
        "fma_f32_tflops",
        p.fma_f32_tflops,
        &p.fma_f32,
        1e3,
    );
    check(&mut out, "copy_gbps", p.copy_gbps, &p.copy, 1.0);
    match (p.fma_f16_tflops, &p.fma_f16) {
        (Some(v), Some(m)) => check(&mut out, "fma_f16_tflops", v, m, 1e3),
        (None, None) => {}
        _ => out.push("fma_f16_tflops and fma_f16 must be present together".into()),
    }
    for (name, v, m) in [
        ("transfer_gbps", p.transfer_gbps, &p.transfer),
        ("upload_gbps", p.upload_gbps, &p.upload),
        ("readback_gbps", p.readback_gbps, &p.readback),
    ] {
        match (v, m) {
            (Some(v), Some(m)) => check(&mut out, name, v, m, 1.0),
            (None, None) => {}
            _ => out.push(format!("{name} and its method must be present together")),
        }
    }
    for m in &p.matrix {
        let name = format!("matrix {} {}", m.fragment, m.accumulator);
        if !matches!(m.fragment.as_str(), "8x8x8" | "16x16x16") {
            out.push(format!("{name}: fragment must be 8x8x8 or 16x16x16"));
        }
        check(&mut out, &name, m.tflops, &m.method, 1e3);
    }
    out
}

pub fn record_problems(r: &Record) -> Vec<String> {
    let mut out = Vec::new();
    if r.m == 0 || r.n == 0 || r.k == 0 {
        out.push("m, n and k must be at least 1".into());
    }
    if r.shards.is_some_and(|n| n < 2) {
        out.push("shards, when present, must be at least 2".into());
    }
    let shape = Shape::new(r.m, r.n, r.k);
    match r.kind {
        RecordKind::Gemm => match shape.checked_flops() {
            None => out.push(format!(
                "2·m·n·k for {shape} does not fit in 64 bits; no device runs such a product"
            )),
            Some(want) if r.flops != want => {
                out.push(format!("flops {} != 2·m·n·k = {want}", r.flops));
            }
            Some(_) => {}
        },
    }
    if r.kernel.path == Some(KernelPath::Coopmat) && r.precision != Precision::F16 {
        out.push("kernel.path coopmat is for f16 records only".into());
    }
    if let Some(e) = r.efficiency
        && !(e.is_finite() && e > 0.0)
    {
        out.push(format!("efficiency {e} is not a positive number"));
    }
    let v = &r.verification;
    // The file cannot loosen its own checks: the tolerance is at most the precision's
    // fixed one, and the entries checked are what the method says.
    let fixed = r.precision.tolerance();
    if !(v.tolerance.is_finite() && v.tolerance > 0.0) {
        out.push(format!(
            "tolerance {} is not a positive number",
            v.tolerance
        ));
    } else if v.tolerance > fixed {
        out.push(format!(
            "tolerance {:e} is looser than the {} tolerance {fixed:e}, which no record may \
             exceed",
            v.tolerance, r.precision
        ));
    }
    let entries = shape.c_len();
    match v.method {
        CheckMethod::Full if v.checked_entries != entries => out.push(format!(
            "verification.method is full but {} of the {entries} entries of C were checked",
            v.checked_entries
        )),
        CheckMethod::Sampled => {
            let least = crate::verify::min_sampled_entries(shape);
            if v.checked_entries < least || v.checked_entries > entries {
                out.push(format!(
                    "a sampled check of {shape} compares at least {least} of its {entries} \
                     entries (edge rows and columns, one in every {c}×{c} cell); this one \
                     claims {}",
                    v.checked_entries,
                    c = crate::verify::CELL
                ));
            }
        }
        CheckMethod::Full => {}
    }
    if v.unwritten_entries > entries {
        out.push(format!(
            "{} unwritten entries, more than C's {entries}",
            v.unwritten_entries
        ));
    }
    if let Some(e) = v.rel_error
        && !(e.is_finite() && e >= 0.0)
    {
        out.push(format!("rel_error {e} is not a non-negative number"));
    }
    let should_pass =
        v.unwritten_entries == 0 && v.rel_error.is_some_and(|e| e <= v.tolerance.min(fixed));
    if v.passed != should_pass {
        out.push(format!(
            "verification.passed is {} but rel_error {:?} against tolerance {} with {} \
             unwritten entries says {}",
            v.passed, v.rel_error, v.tolerance, v.unwritten_entries, should_pass
        ));
    }
    match (&r.timing, &r.tflops) {
        (Some(t), Some(tf)) => {
            if !v.passed {
                out.push("has a throughput but did not pass verification".into());
            }
            out.extend(timing_problems(t));
            if t.median_ns > 0.0 && !close(tf.median, r.flops as f64 / t.median_ns / 1e3) {
                out.push(format!(
                    "tflops.median {} does not match flops / median_ns ({})",
                    tf.median,
                    r.flops as f64 / t.median_ns / 1e3
                ));
            }
            if t.min_ns > 0.0 && !close(tf.best, r.flops as f64 / t.min_ns / 1e3) {
                out.push(format!(
                    "tflops.best {} does not match flops / min_ns ({})",
                    tf.best,
                    r.flops as f64 / t.min_ns / 1e3
                ));
            }
        }
        (None, None) => {
            if v.passed {
                out.push("passed verification but has no timing".into());
            }
        }
        (Some(_), None) => out.push("has timing but no tflops".into()),
        (None, Some(_)) => out.push("has tflops but no timing".into()),
    }
    out
}

pub(crate) fn timing_problems(t: &Timing) -> Vec<String> {
    let mut out = Vec::new();
    if t.samples == 0 {
        out.push("timing has no samples".into());
    }
    let vals = [
        ("min_ns", t.min_ns),
        ("p10_ns", t.p10_ns),
        ("median_ns", t.median_ns),
        ("p90_ns", t.p90_ns),
        ("p99_ns", t.p99_ns),
        ("max_ns", t.max_ns),
    ];
    for (name, v) in vals.iter().chain(&[("mean_ns", t.mean_ns)]) {
        if !(v.is_finite() && *v > 0.0) {
            out.push(format!("{name} = {v} is not a positive number"));
        }
    }
    for w in vals.windows(2) {
        if w[0].1 > w[1].1 {
            out.push(format!(
                "percentiles out of order: {} {} > {} {}",
                w[0].0, w[0].1, w[1].0, w[1].1
            ));
        }
    }
    if !(t.mean_ns >= t.min_ns && t.mean_ns <= t.max_ns) {
        out.push("mean_ns is outside [min_ns, max_ns]".into());
    }
    if !(t.stddev_ns.is_finite() && t.stddev_ns >= 0.0) {
        out.push("stddev_ns is not a non-negative number".into());
    }
    if t.histogram_format != stats::HISTOGRAM_FORMAT {
        out.push(format!(
            "histogram_format {:?}, expected {:?}",
            t.histogram_format,
            stats::HISTOGRAM_FORMAT
        ));
    }
    match stats::decode_histogram_for(&t.histogram, Some(t.samples)) {
        Err(e) => out.push(format!("{e:#}")),
        Ok(h) => {
            if h.len() != t.samples {
                out.push(format!(
                    "histogram holds {} samples, timing.samples says {}",
                    h.len(),
                    t.samples
                ));
            }
            // The histogram keeps 3 significant digits: its extremes match within 0.1%.
            let (lo, hi) = (h.min() as f64, h.max() as f64);
            if !h.is_empty()
                && ((lo - t.min_ns.round().max(1.0)).abs() > 1e-3 * lo + 1.0
                    || (hi - t.max_ns.round().max(1.0)).abs() > 1e-3 * hi + 1.0)
            {
                out.push(format!(
                    "histogram range [{lo}, {hi}] does not match min_ns/max_ns [{}, {}]",
                    t.min_ns, t.max_ns
                ));
            }
        }
    }
    out
}
