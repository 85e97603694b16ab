//! Invariants of the workload section: the digest is that of the recorded definition,
//! every product of the definition is one verified record of the file, each repetition's
//! step time is the sum of its products' medians, and every repetition's medians carry
//! the histograms they can be checked against.

use super::common::{close, plausible_ns};
use crate::result::types::{Record, ResultFile};
use crate::result::workload::WorkloadRecord;

/// The most repetitions a run makes (`--repeat`).
pub const MAX_REPETITIONS: u32 = 1000;

/// The longest a workload may state it was expected to take or took, in seconds (about
/// 31 years): beyond any run, and finite in every sum.
const MAX_SECONDS: f64 = 1e9;

/// The records of the workload's products, in definition order, or why they are not
/// all there: exactly one record per product with the role the runner writes, the
/// product's layout, shape and batch, and the definition's precision and kernel.
pub fn products<'f>(file: &'f ResultFile, w: &WorkloadRecord) -> Result<Vec<&'f Record>, String> {
    let d = &w.definition;
    let Some(products) = d.products() else {
        return Err("its definition has no products a run can do".into());
    };
    let mut out = Vec::new();
    for p in products {
        let role = &p.role;
        let found: Vec<&Record> = file
            .records
            .iter()
            .filter(|r| r.role.as_deref() == Some(role.as_str()))
            .collect();
        let r = match found.as_slice() {
            [r] => *r,
            [] => return Err(format!("no record of the workload's product \"{role}\"")),
            _ => return Err(format!("{} records of the product \"{role}\"", found.len())),
        };
        if r.layout != p.layout
            || (r.m, r.n, r.k) != (p.shape.m, p.shape.n, p.shape.k)
            || r.batch() != p.batch
            || r.precision != d.precision
            || r.kernel.name != d.kernel
        {
            return Err(format!(
                "record {} is not the workload's product \"{role}\" ({} {}{}, {} kernel {})",
                r.id,
                p.layout,
                p.batch.prefix(),
                p.shape,
                d.precision,
                d.kernel
            ));
        }
        out.push(r);
    }
    Ok(out)
}

/// The medians of the workload's products in repetition `rep` (0 is the file's own
/// records, later ones come from the repeatability section), or `None` where one is
/// missing.
pub fn medians(file: &ResultFile, records: &[&Record], rep: usize) -> Option<Vec<f64>> {
    records
        .iter()
        .map(|r| {
            if rep == 0 {
                r.timing.as_ref().map(|t| t.median_ns)
            } else {
                file.repeatability
                    .as_ref()?
                    .records
                    .iter()
                    .find(|e| e.id == r.id)?
                    .medians_ns
                    .get(rep)
                    .copied()
            }
        })
        .collect()
}

/// The workload section's problems, each prefixed with the workload's name.
pub fn check(file: &ResultFile) -> Vec<String> {
    let Some(w) = &file.workload else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut bad = |m: String| out.push(format!("workload {}: {m}", w.name));
    let digest = w.definition.digest();
    if w.digest != digest {
        bad(format!(
            "digest {} is not that of its definition ({digest}): the definition was edited",
            w.digest
        ));
    }
    match w.definition.step_flops() {
        Some(f) if f == w.step_flops => {}
        Some(f) => bad(format!(
            "step_flops {} != the sum of its products' FLOPs = {f}",
            w.step_flops
        )),
        None => bad("the sum of its products' FLOPs does not fit in 64 bits".into()),
    }
    if w.repetitions == 0
        || w.repetitions > MAX_REPETITIONS
        || w.step_times_ns.len() > w.repetitions as usize
    {
        bad(format!(
            "{} step times for {} repetitions (1 to {MAX_REPETITIONS} repetitions)",
            w.step_times_ns.len(),
            w.repetitions
        ));
    }
    let seconds = |s: f64| s.is_finite() && (0.0..=MAX_SECONDS).contains(&s);
    if !seconds(w.expected_s) || w.took_s.is_some_and(|t| !seconds(t)) {
        bad(format!(
            "expected_s and took_s must be numbers of seconds from 0 to {MAX_SECONDS:e}"
        ));
    }
    if !w.step_times_ns.iter().all(|t| plausible_ns(*t)) {
        bad("a step time is not a positive plausible number of ns".into());
    }
    if w.step_times_ns.is_empty() {
        if w.model_step
            .as_ref()
            .is_some_and(|m| !m.step_times_ns.is_empty())
        {
            bad("model_step has step times the workload has not".into());
        }
        return out;
    }
    let records = match products(file, w) {
        Ok(r) => r,
        Err(e) => {
            bad(e);
            return out;
        }
    };
    let mut ran: Vec<crate::types::KernelPath> = Vec::new();
    for p in records.iter().filter_map(|r| r.kernel.path) {
        if !ran.contains(&p) {
            ran.push(p);
        }
    }
    if !w.paths.is_empty() && w.paths != ran {
        bad(format!(
            "paths {:?} are not those its records ran on ({ran:?})",
            w.paths
        ));
    }
    // Later repetitions' medians come from the repeatability section; a workload run keeps
    // each one's histogram, and only those can be checked against their samples.
    if w.step_times_ns.len() > 1 {
        let entries = file
            .repeatability
            .as_ref()
            .map_or(&[][..], |r| &r.records[..]);
        for r in &records {
            match entries.iter().find(|e| e.id == r.id) {
                Some(e) if e.histograms.len() == e.medians_ns.len() => {}
                _ => bad(format!(
                    "record {}: its medians in later repetitions carry no histograms to check \
                     them against",
                    r.id
                )),
            }
        }
    }
    let mut all_medians = Vec::new();
    for (rep, &t) in w.step_times_ns.iter().enumerate() {
        let m = medians(file, &records, rep);
        if let Some(m) = &m {
            all_medians.push(m.clone());
        }
        match m {
            None => bad(format!(
                "repetition {}: a product has no median (repeatability section)",
                rep + 1
            )),
            Some(m) => {
                let sum: f64 = m.iter().sum();
                if !close(sum, t) {
                    bad(format!(
                        "repetition {}: step time {t} ns != the sum of its products' medians \
                         ({sum} ns)",
                        rep + 1
                    ));
                }
            }
        }
    }
    if all_medians.len() == w.step_times_ns.len() {
        out.extend(
            model_step(file, w, &all_medians)
                .into_iter()
                .map(|m| format!("workload {}: {m}", w.name)),
        );
    }
    out
}

/// The model step, recomputed from the products' medians of every repetition: its step
/// times, FLOPs and tokens per second; its training overhead from the training run.
fn model_step(file: &ResultFile, w: &WorkloadRecord, medians: &[Vec<f64>]) -> Vec<String> {
    let d = &w.definition;
    let mut out = Vec::new();
    let Some(m) = &w.model_step else {
        if d.model.is_some() {
            out.push("its definition names a model but the file has no model_step".into());
        }
        return out;
    };
    let overhead = file
        .training
        .as_ref()
        .and_then(|t| Some(t.best_gemm_tflops? / t.tflops))
        .filter(|x| x.is_finite());
    let Some(want) = d.model_step(medians, overhead) else {
        out.push("model_step is recorded but its definition names no model".into());
        return out;
    };
    if (m.model.as_str(), m.layers, m.tokens, m.step_flops)
        != (
            want.model.as_str(),
            want.layers,
            want.tokens,
            want.step_flops,
        )
    {
        out.push(format!(
            "model_step ({} × {} layers, {} tokens, {} FLOPs) is not its definition's ({} × {}, \
             {}, {})",
            m.model,
            m.layers,
            m.tokens,
            m.step_flops,
            want.model,
            want.layers,
            want.tokens,
            want.step_flops
        ));
    }
    let times_match = m.step_times_ns.len() == want.step_times_ns.len()
        && m.step_times_ns
            .iter()
            .zip(&want.step_times_ns)
            .all(|(a, b)| close(*a, *b));
    if !times_match {
        out.push(
            "model_step.step_times_ns are not layers × the block's product medians + the LM \
             head's, repetition by repetition"
                .into(),
        );
    }
    if !close(m.tokens_per_second, want.tokens_per_second) {
        out.push(format!(
            "model_step.tokens_per_second {} != tokens / the geometric mean of its step times \
             = {}",
            m.tokens_per_second, want.tokens_per_second
        ));
    }
    match (m.training_overhead, want.training_overhead) {
        (None, _) => {}
        (Some(a), Some(b)) if close(a, b) => {}
        (Some(a), _) => out.push(format!(
            "model_step.training_overhead {a} is not the training run's best_gemm_tflops / \
             tflops"
        )),
    }
    out
}
