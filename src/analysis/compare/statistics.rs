//! The numbers behind a comparison's intervals and flags: a record's samples and its
//! medians over repetitions, noise, geometric means, and a file's workload step.

use anyhow::Result;

use crate::error::input_error;
use crate::result::validate::workload as validate_workload;
use crate::result::{Record, ResultFile};
use crate::stats::bootstrap::Sampled;
use crate::stats::repeated::Repeated;
use crate::stats::{self, NOISY_CV};

use super::model::*;

/// A record's samples, from its histogram.
pub fn sampled(path: &str, r: &Record) -> Result<Sampled> {
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
pub fn medians(file: &ResultFile, r: &Record) -> Vec<f64> {
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
pub fn noise(file: &ResultFile, r: &Record) -> Option<String> {
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

pub use crate::stats::geo_mean;

/// The workload step of a file: each repetition's time, and the samples of its
/// products in the first.
pub fn workload_step(i: &Input) -> Result<Option<Repeated>> {
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

/// The model step of a file's workload (layers × the block's products + the LM head):
/// each repetition's time, and its products' samples in the first, weighted as they
/// count in the model's step.
pub fn model_step(i: &Input) -> Result<Option<Repeated>> {
    let Some(w) = &i.file.workload else {
        return Ok(None);
    };
    let (Some(m), Some(weights)) = (&w.model_step, w.definition.model_weights()) else {
        return Ok(None);
    };
    let Ok(records) = validate_workload::products(&i.file, w) else {
        return Ok(None);
    };
    if records.iter().any(|r| r.timing.is_none())
        || m.step_times_ns.is_empty()
        || weights.len() != records.len()
    {
        return Ok(None);
    }
    let within = records
        .iter()
        .zip(weights)
        .map(|(r, wt)| Ok(sampled(&i.path, r)?.weighted(f64::from(wt))))
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(Repeated {
        times_ns: m.step_times_ns.clone(),
        within,
    }))
}
