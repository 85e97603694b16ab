//! The repeatability and sustain sections.

use super::common::{close, median_problem, plausible_ns};
use crate::result::reliability::spread;
use crate::result::types::ResultFile;

/// The repeatability section: counts, spreads and flags recomputed from the medians, and
/// each median within the histogram kept beside it.
pub fn check(file: &ResultFile) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(r) = &file.repeatability {
        if r.repeats < 2 {
            out.push("repeatability: repeats must be at least 2".into());
        }
        if !(r.threshold.is_finite() && r.threshold > 0.0) {
            out.push("repeatability: threshold must be a positive number".into());
        }
        for e in &r.records {
            if e.medians_ns.len() < 2 || e.medians_ns.len() > r.repeats as usize {
                out.push(format!(
                    "repeatability {}: {} medians for {} repeats",
                    e.id,
                    e.medians_ns.len(),
                    r.repeats
                ));
            }
            if !e.medians_ns.iter().all(|m| plausible_ns(*m)) {
                out.push(format!(
                    "repeatability {}: a median is not a positive plausible time",
                    e.id
                ));
            }
            if !close(e.spread, spread(&e.medians_ns)) {
                out.push(format!(
                    "repeatability {}: spread {} != (max − min) / median of the medians",
                    e.id, e.spread
                ));
            }
            if !e.histograms.is_empty() {
                if e.histograms.len() != e.medians_ns.len() {
                    out.push(format!(
                        "repeatability {}: {} histograms for {} medians",
                        e.id,
                        e.histograms.len(),
                        e.medians_ns.len()
                    ));
                }
                for (i, (h, m)) in e.histograms.iter().zip(&e.medians_ns).enumerate() {
                    if let Some(p) = median_problem(*m, h) {
                        out.push(format!("repeatability {} run {}: {p}", e.id, i + 1));
                    }
                }
            }
            if e.flagged != (e.spread > r.threshold) {
                out.push(format!(
                    "repeatability {}: flagged disagrees with spread and threshold",
                    e.id
                ));
            }
        }
        let flagged = r.records.iter().filter(|e| e.flagged).count();
        if flagged != r.flagged as usize {
            out.push(format!(
                "repeatability: flagged says {}, {flagged} records are flagged",
                r.flagged
            ));
        }
    }
    out
}

/// The sustain section: each window's throughput and the verdict recomputed.
pub fn check_sustain(file: &ResultFile) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(s) = &file.sustain {
        match crate::types::Shape::new(s.m, s.n, s.k).checked_flops() {
            Some(want) if s.flops == want => {}
            want => out.push(format!("sustain: flops {} != 2·m·n·k = {want:?}", s.flops)),
        }
        if s.windows.is_empty() {
            out.push("sustain: no windows".into());
        }
        for (i, w) in s.windows.iter().enumerate() {
            if !plausible_ns(w.median_ns) || w.samples == 0 {
                out.push(format!("sustain window {i}: no positive median"));
            } else if !close(w.tflops, s.flops as f64 / w.median_ns / 1e3) {
                out.push(format!(
                    "sustain window {i}: tflops {} != flops / median_ns",
                    w.tflops
                ));
            }
        }
        let mut again = s.clone();
        again.finish();
        if !close(again.first_tflops, s.first_tflops)
            || !close(again.last_tflops, s.last_tflops)
            || !close(again.min_vs_first, s.min_vs_first)
            || again.throttled != s.throttled
        {
            out.push(
                "sustain: first/last/min_vs_first/throttled do not follow from the windows".into(),
            );
        }
    }
    out
}
