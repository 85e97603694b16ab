//! Building the comparison: every file checked, labelled and matched, the rows and
//! machines made, and each other file judged against the baseline.

use std::collections::HashMap;

use anyhow::Result;

use crate::error::input_error;
use crate::result::Record;
use crate::stats::NOISY_CV;

use super::matching::*;
use super::model::*;
use super::refusals::*;
use super::rows::*;
use super::statistics::*;
use super::verdict::*;

/// Builds the comparison of files taken in by [`crate::analysis::ingest`] (read,
/// validated and priced).
pub fn build(inputs: &[Input], baseline: usize, kernel: Option<&str>) -> Result<Comparison> {
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
    let paths: Vec<String> = inputs.iter().map(|i| i.path.clone()).collect();
    let labels = labels(&paths);
    let best: Vec<(Vec<Key>, HashMap<Key, &Record>)> = inputs
        .iter()
        .map(|i| best_by_key(&i.file.records, kernel))
        .collect();
    let mut machines = Vec::new();
    let mut steps = Vec::new();
    let mut model_steps = Vec::new();
    for (idx, (i, label)) in inputs.iter().zip(&labels).enumerate() {
        let step = workload_step(i)?;
        machines.push(machine(i, label, step.as_ref(), &best[idx].1)?);
        steps.push(step);
        model_steps.push(model_step(i)?);
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
        // Two named workloads that share no record (f16 against f32) are still compared:
        // their machines side by side and why there is no headline.
        let both_workloads =
            inputs[idx].file.workload.is_some() && inputs[baseline].file.workload.is_some();
        if idx != baseline && !both_workloads && !map.keys().any(|k| base_map.contains_key(k)) {
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
            (Some(a), Some(b)) if refused.is_empty() => verdict(
                inputs,
                &machines,
                &rows,
                (baseline, a, model_steps[baseline].as_ref()),
                (idx, b, model_steps[idx].as_ref()),
            ),
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
