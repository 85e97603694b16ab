//! Presenting results to people: the terminal summary table and number formatting.

pub mod breakdown;
pub mod compare;
pub mod export;
pub mod leaderboard;
pub mod progress;
pub mod training;

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};

use crate::result::Record;

/// `v` with `sig` significant digits, without scientific notation for everyday values.
pub fn fmt_sig(v: f64, sig: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let mag = v.abs().log10().floor() as i32;
    let decimals = (sig as i32 - 1 - mag).clamp(0, 12) as usize;
    format!("{v:.decimals$}")
}

/// A duration in ns with a readable unit.
pub fn fmt_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{} s", fmt_sig(ns / 1e9, 3))
    } else if ns >= 1e6 {
        format!("{} ms", fmt_sig(ns / 1e6, 3))
    } else if ns >= 1e3 {
        format!("{} µs", fmt_sig(ns / 1e3, 3))
    } else {
        format!("{} ns", fmt_sig(ns, 3))
    }
}

/// A relative error in scientific notation, or `NaN` when it was not finite.
pub fn fmt_err(e: Option<f64>) -> String {
    match e {
        Some(e) => format!("{e:.1e}"),
        None => "NaN".into(),
    }
}

/// The summary table printed at the end of a run.
pub fn summary_table(records: &[Record]) -> String {
    let with_roles = records.iter().any(|r| r.role.is_some());
    // A precision column (with the path, `simt` or `coopmat`) once anything is not f32.
    let with_precision = records.iter().any(|r| r.precision != "f32");
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled);
    let mut header = vec!["shape MxNxK", "layout", "kernel"];
    if with_precision {
        header.push("precision");
    }
    header.extend([
        "TFLOP/s median",
        "TFLOP/s best",
        "p90 latency",
        "rel. error",
    ]);
    if with_roles {
        header.push("role");
    }
    t.set_header(header);
    for r in records {
        let (median, best, p90) = match (&r.tflops, &r.timing) {
            (Some(tf), Some(tm)) => (
                fmt_sig(tf.median, 3),
                fmt_sig(tf.best, 3),
                fmt_ns(tm.p90_ns),
            ),
            _ => ("FAILED".into(), "-".into(), "-".into()),
        };
        let mut row = vec![
            Cell::new(format!("{}x{}x{}", r.m, r.n, r.k)),
            Cell::new(r.layout.as_str()),
            Cell::new(&r.kernel.name),
        ];
        if with_precision {
            row.push(Cell::new(match &r.kernel.path {
                Some(p) => format!("{} {p}", r.precision),
                None => r.precision.clone(),
            }));
        }
        row.extend([
            Cell::new(median).set_alignment(CellAlignment::Right),
            Cell::new(best).set_alignment(CellAlignment::Right),
            Cell::new(p90).set_alignment(CellAlignment::Right),
            Cell::new(fmt_err(r.verification.rel_error)).set_alignment(CellAlignment::Right),
        ]);
        if with_roles {
            row.push(Cell::new(r.role.as_deref().unwrap_or("")));
        }
        t.add_row(row);
    }
    t.to_string()
}

/// Writes `text` to stdout; a reader that went away (`| head`) is not an error.
pub fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("writing to stdout"))
        }
        _ => Ok(()),
    }
}

/// One line on what the run's work costs, or how to give a price.
pub fn cost_line(c: &crate::result::Cost) -> String {
    match (c.usd_per_hour, c.usd_per_pflop) {
        (Some(u), Some(p)) => {
            let mut s = format!(
                "cost: {} per PFLOP at the best GEMM ({} per hour, {})",
                export::fmt_usd(p),
                export::fmt_usd(u),
                c.pricing.as_deref().unwrap_or_default()
            );
            if let (Some(tf), Some(b)) = (c.reference_run.tflops, &c.reference_run.basis) {
                s.push_str(&format!(
                    "; {} per PFLOP of training work ({b}); `flopcost cost FILE` shows the breakdown",
                    export::fmt_usd(u / (3.6 * tf))
                ));
            }
            s
        }
        _ => format!(
            "cost: {}",
            c.note
                .as_deref()
                .unwrap_or("no price and no verified record")
        ),
    }
}

/// The best verified record by median throughput.
pub fn best_record(records: &[Record]) -> Option<&Record> {
    records
        .iter()
        .filter(|r| r.tflops.is_some())
        .max_by(|a, b| {
            let (x, y) = (a.tflops.as_ref(), b.tflops.as_ref());
            x.map(|t| t.median)
                .partial_cmp(&y.map(|t| t.median))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_readably() {
        assert_eq!(fmt_sig(0.002134, 3), "0.00213");
        assert_eq!(fmt_sig(45.678, 3), "45.7");
        assert_eq!(fmt_sig(1234.6, 3), "1235");
        assert_eq!(fmt_ns(1.5e6), "1.50 ms");
        assert_eq!(fmt_ns(2.5e9), "2.50 s");
        assert_eq!(fmt_ns(750.0), "750 ns");
        assert_eq!(fmt_err(Some(3.14e-7)), "3.1e-7");
        assert_eq!(fmt_err(None), "NaN");
    }
}
