//! Each record on its own: FLOPs, verification that no file can loosen, a timing that
//! agrees with its histogram, throughput that follows from the timing, and an efficiency
//! that follows from the file's peaks.

use std::collections::HashSet;

use super::common::{close, timing_problems};
use crate::result::types::{CheckMethod, Record, RecordKind, ResultFile};
use crate::types::{KernelPath, Precision, Shape};

pub fn check(file: &ResultFile) -> Vec<String> {
    let mut out = Vec::new();
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
    out
}

/// The problems of one record on its own.
pub fn record_problems(r: &Record) -> Vec<String> {
    let mut out = Vec::new();
    if r.m == 0 || r.n == 0 || r.k == 0 {
        out.push("m, n and k must be at least 1".into());
    }
    if r.shards.is_some_and(|n| n < 2) {
        out.push("shards, when present, must be at least 2".into());
    }
    let shape = Shape::new(r.m, r.n, r.k);
    let batch = r.batch();
    if r.batch == Some(1) || r.shared_b == Some(1) || batch.check().is_err() {
        out.push(format!(
            "batch {:?} shared by {:?}: a batch, when present, has at least 2 products, and \
             a sharing of B, when present, is at least 2 and divides it",
            r.batch, r.shared_b
        ));
    }
    match r.kind {
        RecordKind::Gemm => match shape.checked_batch_flops(batch) {
            None => out.push(format!(
                "2·m·n·k·batch for {}{shape} does not fit in 64 bits; no device runs such a \
                 product",
                batch.prefix()
            )),
            Some(want) if r.flops != want => {
                out.push(format!("flops {} != 2·m·n·k·batch = {want}", r.flops));
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
    let entries = shape.c_len().saturating_mul(u64::from(batch.count));
    match v.method {
        CheckMethod::Full if v.checked_entries != entries => out.push(format!(
            "verification.method is full but {} of the {entries} entries of C were checked",
            v.checked_entries
        )),
        CheckMethod::Sampled => {
            let least = crate::verify::min_sampled_entries(shape)
                .saturating_mul(u64::from(batch.count))
                .min(entries);
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
