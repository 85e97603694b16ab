//! The peaks: each figure is its method's work over its fastest run.

use super::common::{close, plausible_ns};
use crate::result::types::{PeakMethod, ResultFile};

pub fn check(file: &ResultFile) -> Vec<String> {
    let Some(p) = &file.peaks else {
        return Vec::new();
    };
    let mut out = Vec::new();
    fn method(out: &mut Vec<String>, name: &str, value: f64, m: &PeakMethod, scale: f64) {
        if !(plausible_ns(m.best_ns) && m.work_per_run.is_finite() && m.work_per_run > 0.0) {
            out.push(format!(
                "{name}: best_ns and work_per_run must be positive (and best_ns a plausible time)"
            ));
            return;
        }
        if m.median_ns < m.best_ns || !plausible_ns(m.median_ns) {
            out.push(format!(
                "{name}: median_ns is below best_ns or not a plausible time"
            ));
        }
        if m.runs == 0 {
            out.push(format!("{name}: no runs"));
        }
        let want = m.work_per_run / m.best_ns / scale;
        if !close(value, want) {
            out.push(format!("{name} {value} != work_per_run / best_ns ({want})"));
        }
    }
    method(
        &mut out,
        "fma_f32_tflops",
        p.fma_f32_tflops,
        &p.fma_f32,
        1e3,
    );
    method(&mut out, "copy_gbps", p.copy_gbps, &p.copy, 1.0);
    match (p.fma_f16_tflops, &p.fma_f16) {
        (Some(v), Some(m)) => method(&mut out, "fma_f16_tflops", v, m, 1e3),
        (None, None) => {}
        _ => out.push("fma_f16_tflops and fma_f16 must be present together".into()),
    }
    for (name, v, m) in [
        ("transfer_gbps", p.transfer_gbps, &p.transfer),
        ("upload_gbps", p.upload_gbps, &p.upload),
        ("readback_gbps", p.readback_gbps, &p.readback),
    ] {
        match (v, m) {
            (Some(v), Some(m)) => method(&mut out, name, v, m, 1.0),
            (None, None) => {}
            _ => out.push(format!("{name} and its method must be present together")),
        }
    }
    for m in &p.matrix {
        let name = format!("matrix {} {}", m.fragment, m.accumulator);
        if !matches!(m.fragment.as_str(), "8x8x8" | "16x16x16") {
            out.push(format!("{name}: fragment must be 8x8x8 or 16x16x16"));
        }
        method(&mut out, &name, m.tflops, &m.method, 1e3);
    }
    out.into_iter().map(|e| format!("peaks: {e}")).collect()
}
