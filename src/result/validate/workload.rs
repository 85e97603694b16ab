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
/// all there: exactly one record per (layer, product) with the role the runner writes,
/// the product's shape, and the definition's precision and kernel.
pub fn products<'f>(file: &'f ResultFile, w: &WorkloadRecord) -> Result<Vec<&'f Record>, String> {
    let d = &w.definition;
    let mut out = Vec::new();
    for layer in &d.layers {
        let l = crate::types::Layer::new(&layer.name, layer.d_in, layer.d_out);
        for ((layout, shape), product) in
            l.triplet(d.tokens)
                .into_iter()
                .zip(["forward", "input gradient", "weight gradient"])
        {
            let role = d.role(layer, product);
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
            if r.layout != layout
                || (r.m, r.n, r.k) != (shape.m, shape.n, shape.k)
                || r.precision != d.precision
                || r.kernel.name != d.kernel
            {
                return Err(format!(
                    "record {} is not the workload's product \"{role}\" ({layout} {shape}, {} \
                     kernel {})",
                    r.id, d.precision, d.kernel
                ));
            }
            out.push(r);
        }
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
        Some(f) => bad(format!("step_flops {} != 6·B·Σ in·out = {f}", w.step_flops)),
        None => bad("6·B·Σ in·out does not fit in 64 bits".into()),
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
        return out;
    }
    let records = match products(file, w) {
        Ok(r) => r,
        Err(e) => {
            bad(e);
            return out;
        }
    };
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
    for (rep, &t) in w.step_times_ns.iter().enumerate() {
        match medians(file, &records, rep) {
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
    out
}
