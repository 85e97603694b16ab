//! Why a file, or a pair of files, cannot carry a headline: not finished, no named
//! workload, failed products or training, unfinished repetitions, different work.

use crate::result::ResultFile;
use crate::result::validate::workload as validate_workload;

/// The schema's major version, `flopcost/result/v1` → 1.
pub fn schema_major(schema: &str) -> Option<u32> {
    schema
        .strip_prefix("flopcost/result/v")?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// Why the file cannot carry a headline about its workload, each reason in words.
pub fn unfit(label: &str, file: &ResultFile) -> Vec<String> {
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
pub fn refusals(a: (&str, &ResultFile), b: (&str, &ResultFile)) -> Vec<String> {
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
