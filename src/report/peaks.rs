//! The measured peaks as people read them: one line for progress output and a table.

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};

use crate::result::{PeakMethod, Peaks};
use crate::util::{fmt_ns, fmt_sig};

/// `peaks: FMA f32 … TFLOP/s, FMA f16 … TFLOP/s, matrix … TFLOP/s, copy … GB/s, …`.
pub fn line(p: &Peaks) -> String {
    let mut parts = vec![format!("FMA f32 {} TFLOP/s", fmt_sig(p.fma_f32_tflops, 3))];
    if let Some(v) = p.fma_f16_tflops {
        parts.push(format!("FMA f16 {} TFLOP/s", fmt_sig(v, 3)));
    }
    for m in &p.matrix {
        parts.push(format!(
            "matrix {} f16→{} {} TFLOP/s",
            m.fragment,
            m.accumulator,
            fmt_sig(m.tflops, 3)
        ));
    }
    parts.push(format!("copy {} GB/s", fmt_sig(p.copy_gbps, 3)));
    if let Some(v) = p.transfer_gbps {
        parts.push(format!("transfer {} GB/s", fmt_sig(v, 3)));
    }
    if let (Some(u), Some(r)) = (p.upload_gbps, p.readback_gbps) {
        parts.push(format!(
            "upload {} GB/s, readback {} GB/s",
            fmt_sig(u, 3),
            fmt_sig(r, 3)
        ));
    }
    format!("peaks: {}", parts.join(", "))
}

/// The peaks as a table: rate, fastest and median run, method.
pub fn table(p: &Peaks) -> String {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header([
            "peak",
            "value",
            "fastest run",
            "median run",
            "runs",
            "timing",
        ]);
    let mut row = |name: &str, value: String, m: &PeakMethod| {
        t.add_row(vec![
            Cell::new(name),
            Cell::new(value).set_alignment(CellAlignment::Right),
            Cell::new(fmt_ns(m.best_ns)).set_alignment(CellAlignment::Right),
            Cell::new(fmt_ns(m.median_ns)).set_alignment(CellAlignment::Right),
            Cell::new(m.runs).set_alignment(CellAlignment::Right),
            Cell::new(m.timing_method.as_str()),
        ]);
    };
    let variant = |m: &PeakMethod| {
        m.params
            .get("variant")
            .and_then(|v| v.as_str())
            .map_or(String::new(), |v| format!(" ({v})"))
    };
    row(
        &format!("FMA f32{}", variant(&p.fma_f32)),
        format!("{} TFLOP/s", fmt_sig(p.fma_f32_tflops, 3)),
        &p.fma_f32,
    );
    if let (Some(v), Some(m)) = (p.fma_f16_tflops, &p.fma_f16) {
        row(
            &format!("FMA f16{}", variant(m)),
            format!("{} TFLOP/s", fmt_sig(v, 3)),
            m,
        );
    }
    for m in &p.matrix {
        row(
            &format!("cooperative matrix {} f16 → {}", m.fragment, m.accumulator),
            format!("{} TFLOP/s", fmt_sig(m.tflops, 3)),
            &m.method,
        );
    }
    row(
        "shader copy (bytes read + written)",
        format!("{} GB/s", fmt_sig(p.copy_gbps, 3)),
        &p.copy,
    );
    for (name, v, m) in [
        ("transfer copy (bytes once)", p.transfer_gbps, &p.transfer),
        (
            "upload host → device (bytes once)",
            p.upload_gbps,
            &p.upload,
        ),
        (
            "readback device → host (bytes once)",
            p.readback_gbps,
            &p.readback,
        ),
    ] {
        if let (Some(v), Some(m)) = (v, m) {
            row(name, format!("{} GB/s", fmt_sig(v, 3)), m);
        }
    }
    t.to_string()
}
