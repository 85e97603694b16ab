//! Invariants of the workload section: the digest is that of the recorded definition,
//! every product of the definition is one verified record of the file, and each
//! repetition's step time is the sum of its products' medians.

use super::{ResultFile, WorkloadRecord};
use crate::result::Record;

/// Relative slack of a recomputed sum.
const SLACK: f64 = 1e-9;

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

pub fn problems(file: &ResultFile) -> Vec<String> {
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
    if w.repetitions == 0 || w.step_times_ns.len() > w.repetitions as usize {
        bad(format!(
            "{} step times for {} repetitions",
            w.step_times_ns.len(),
            w.repetitions
        ));
    }
    if !(w.expected_s.is_finite() && w.expected_s >= 0.0)
        || w.took_s.is_some_and(|t| !(t.is_finite() && t >= 0.0))
    {
        bad("expected_s and took_s must be non-negative numbers".into());
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
    for (rep, &t) in w.step_times_ns.iter().enumerate() {
        match medians(file, &records, rep) {
            None => bad(format!(
                "repetition {}: a product has no median (repeatability section)",
                rep + 1
            )),
            Some(m) => {
                let sum: f64 = m.iter().sum();
                if (sum - t).abs() > SLACK * sum.abs().max(t.abs()) {
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
