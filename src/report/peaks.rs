//! The measured peaks as people read them: one line for progress output and a table.

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};

use crate::result::{PeakMethod, Peaks};
use crate::util::{fmt_ns, fmt_sig};

/// `peaks: FMA f32 … TFLOP/s, FMA f16 … TFLOP/s, copy … GB/s`.
pub fn line(p: &Peaks) -> String {
    format!(
        "peaks: FMA f32 {} TFLOP/s{}, copy {} GB/s",
        fmt_sig(p.fma_f32_tflops, 3),
        p.fma_f16_tflops.map_or(String::new(), |v| format!(
            ", FMA f16 {} TFLOP/s",
            fmt_sig(v, 3)
        )),
        fmt_sig(p.copy_gbps, 3)
    )
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
    row(
        "FMA f32",
        format!("{} TFLOP/s", fmt_sig(p.fma_f32_tflops, 3)),
        &p.fma_f32,
    );
    if let (Some(v), Some(m)) = (p.fma_f16_tflops, &p.fma_f16) {
        row("FMA f16", format!("{} TFLOP/s", fmt_sig(v, 3)), m);
    }
    row(
        "copy (read + write)",
        format!("{} GB/s", fmt_sig(p.copy_gbps, 3)),
        &p.copy,
    );
    t.to_string()
}
