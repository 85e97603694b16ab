//! Output formats of a comparison, one exporter per format behind one trait: a terminal
//! table, Markdown (for READMEs and issues), JSON (for scripts) and a self-contained HTML
//! page with SVG charts, and CSV for spreadsheets. The table, Markdown and HTML share the
//! cell text made here.

mod csv;
mod html;
mod json;
mod markdown;
mod table;

use super::fmt_sig;
use crate::analysis::compare::{Basis, Comparison, Interval};
use crate::util::fmt::fmt_ratio;

pub use super::Exporter;

/// The output formats of `flopcost compare`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Markdown,
    Json,
    Csv,
    Html,
}

/// The exporter for a format.
pub fn exporter(format: Format) -> Box<dyn Exporter<Comparison>> {
    match format {
        Format::Table => Box::new(table::TableExporter),
        Format::Markdown => Box::new(markdown::MarkdownExporter),
        Format::Json => Box::new(json::JsonExporter),
        Format::Csv => Box::new(csv::CsvExporter),
        Format::Html => Box::new(html::HtmlExporter),
    }
}

pub use crate::util::fmt::{NONE, fmt_big, fmt_hours, fmt_usd};

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.filter(|x| x.is_finite())
        .map_or_else(|| NONE.to_string(), f)
}

fn tflops(v: f64) -> String {
    fmt_sig(v, 3)
}

/// Header and rows of the per-machine summary: one column of each basis, never mixed.
pub fn machine_cells(c: &Comparison) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header: Vec<String> = [
        "#",
        "machine",
        "adapter (backend, type)",
        "workload (runs)",
        "USD/hour",
    ]
    .map(String::from)
    .to_vec();
    for b in Basis::ALL {
        header.push(format!("TFLOP/s ({})", b.label()));
        header.push(format!("USD/PFLOP ({})", b.label()));
    }
    header.push("nameplate J/PFLOP (workload step)".into());
    header.push("measured J/PFLOP (workload step)".into());
    header.push("path".into());
    header.push("tokens/s (model)".into());
    header.push("USD/Mtok".into());
    let rows = c
        .machines
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let base = if i == c.baseline { " (baseline)" } else { "" };
            let kind = if m.software {
                "software, CPU".to_string()
            } else {
                m.device_type.replace('_', " ")
            };
            // Another runtime's file says which (a vendor library, not wgpu).
            let adapter = if m.wgpu {
                format!("{} ({}, {kind})", m.adapter, m.backend)
            } else {
                format!("{} ({}, {kind}, {})", m.adapter, m.backend, m.runtime)
            };
            let workload = m.workload.as_ref().map_or_else(
                || "none (exploratory)".to_string(),
                |w| format!("{w} ({})", m.repetitions),
            );
            let mut row = vec![
                format!("{}", i + 1),
                format!("{}{base}", m.label),
                adapter,
                workload,
                opt(m.usd_per_hour, |v| fmt_sig(v, 3)),
            ];
            for b in Basis::ALL {
                let f = m.figure(b);
                row.push(opt(f.map(|f| f.tflops), tflops));
                row.push(opt(f.and_then(|f| f.usd_per_pflop), fmt_usd));
            }
            row.push(opt(
                m.figure(Basis::WorkloadStep)
                    .and_then(|f| f.joules_per_pflop),
                fmt_big,
            ));
            row.push(opt(
                m.figure(Basis::WorkloadStep)
                    .and_then(|f| f.joules_per_pflop_measured),
                fmt_big,
            ));
            row.push(m.kernel_path.clone().unwrap_or_else(|| NONE.into()));
            row.push(opt(
                m.per_token.as_ref().map(|t| t.tokens_per_second),
                |v| fmt_sig(v, 3),
            ));
            row.push(opt(
                m.per_token.as_ref().and_then(|t| t.usd_per_million_tokens),
                fmt_usd,
            ));
            row
        })
        .collect();
    (header, rows)
}

/// A ratio with its interval: `0.98× [0.91–1.05]`.
pub fn fmt_interval(q: f64, iv: Option<Interval>) -> String {
    match iv {
        Some(iv) => format!("{} [{:.2}–{:.2}]", fmt_ratio(q), iv.low, iv.high),
        None => fmt_ratio(q),
    }
}

/// Header and rows of the matched-records table; numeric columns are right-aligned by
/// the table exporter from index 3 on. A noisy cell is marked `*`.
pub fn row_cells(c: &Comparison) -> (Vec<String>, Vec<Vec<String>>) {
    // Column names carry the machine's label while it is short; long ones (file stems
    // with adapter names and times) would make every column as wide as the name, so
    // the columns then use the machine's number from the machines table.
    let short = c.machines.iter().all(|m| m.label.chars().count() <= 24);
    let name = |i: usize| {
        if short {
            c.machines[i].label.clone()
        } else {
            format!("#{}", i + 1)
        }
    };
    let base = name(c.baseline);
    // The layout column says the precision too once any matched record is not f32.
    let precision = c.rows.iter().any(|r| r.precision != "f32");
    let layout = if precision {
        "layout, precision"
    } else {
        "layout"
    };
    let mut header = vec!["shape MxNxK".to_string(), layout.into(), "role".into()];
    for i in 0..c.machines.len() {
        header.push(format!("{} TFLOP/s", name(i)));
    }
    for i in 0..c.machines.len() {
        if i != c.baseline {
            header.push(format!("{} / {base} [95% CI]", name(i)));
        }
    }
    // One "wgpu / vendor library" column per wgpu file when a vendor file is compared.
    let vendor_cols: Vec<usize> = if c.vendor.is_some() {
        (0..c.machines.len())
            .filter(|&i| c.machines[i].wgpu)
            .collect()
    } else {
        Vec::new()
    };
    for &i in &vendor_cols {
        header.push(if vendor_cols.len() == 1 {
            "wgpu / vendor library".to_string()
        } else {
            format!("{} wgpu / vendor library", name(i))
        });
    }
    for i in 0..c.machines.len() {
        header.push(format!("{} USD/PFLOP", name(i)));
    }
    // Measured power per record, where any file has it: FlagPerf's watts beside each GEMM.
    let power = c
        .rows
        .iter()
        .flat_map(|r| &r.cells)
        .any(|x| x.as_ref().is_some_and(|x| x.measured_watts.is_some()));
    if power {
        for i in 0..c.machines.len() {
            header.push(format!("{} measured W", name(i)));
        }
        for i in 0..c.machines.len() {
            header.push(format!("{} measured J/PFLOP", name(i)));
        }
    }
    let rows = c
        .rows
        .iter()
        .map(|r| {
            let mut row = vec![
                format!(
                    "{}{}x{}x{}",
                    crate::types::Batch::new(r.batch.unwrap_or(1), r.shared_b.unwrap_or(1))
                        .prefix(),
                    r.m,
                    r.n,
                    r.k
                ),
                if precision {
                    format!("{} {}", r.layout, r.precision)
                } else {
                    r.layout.clone()
                },
                r.role.clone().unwrap_or_default(),
            ];
            for cell in &r.cells {
                row.push(cell.as_ref().map_or_else(
                    || NONE.into(),
                    |x| {
                        let star = if x.noisy.is_some() { "*" } else { "" };
                        format!("{}{star} ({})", tflops(x.tflops), x.kernel)
                    },
                ));
            }
            for (i, cell) in r.cells.iter().enumerate() {
                if i == c.baseline {
                    continue;
                }
                row.push(
                    match cell.as_ref().and_then(|x| x.ratio.map(|q| (q, x.interval))) {
                        None => NONE.into(),
                        Some((q, iv)) => fmt_interval(q, iv),
                    },
                );
            }
            for &i in &vendor_cols {
                row.push(opt(
                    r.cells[i].as_ref().and_then(|x| x.vs_vendor),
                    fmt_ratio,
                ));
            }
            for cell in &r.cells {
                row.push(opt(cell.as_ref().and_then(|x| x.usd_per_pflop), fmt_usd));
            }
            if power {
                for cell in &r.cells {
                    row.push(opt(cell.as_ref().and_then(|x| x.measured_watts), |w| {
                        fmt_sig(w, 3)
                    }));
                }
                for cell in &r.cells {
                    row.push(opt(
                        cell.as_ref().and_then(|x| x.joules_per_pflop_measured),
                        fmt_big,
                    ));
                }
            }
            row
        })
        .collect();
    (header, rows)
}

/// The summary lines: each pair's headline with its warnings, or "no headline:" and
/// each reason.
pub fn headline_lines(c: &Comparison) -> Vec<String> {
    let mut out = Vec::new();
    for p in &c.verdicts {
        match &p.headline {
            Some(v) => {
                out.push(v.sentence.clone());
                if let Some(t) = &v.per_token {
                    out.push(t.sentence.clone());
                }
                out.extend(v.warnings.iter().map(|w| format!("  warning: {w}")));
            }
            None => {
                out.push(format!(
                    "no headline for {} against {}:",
                    c.machines[p.machine].label, c.machines[p.baseline].label
                ));
                out.extend(p.refusals.iter().map(|r| format!("  - {r}")));
            }
        }
    }
    out
}

/// The noisy cells, one line each: which record, and why.
pub fn noisy_lines(c: &Comparison) -> Vec<String> {
    let mut out = Vec::new();
    for r in &c.rows {
        for (i, cell) in r.cells.iter().enumerate() {
            if let Some(x) = cell
                && let Some(why) = &x.noisy
            {
                out.push(format!("* {} {}: {why}", c.machines[i].label, x.record));
            }
        }
    }
    out
}

/// The unmatched records, one line per file.
pub fn unmatched_lines(c: &Comparison) -> Vec<String> {
    c.unmatched
        .iter()
        .map(|u| format!("{} ({}): {}", u.label, u.reason, u.records.join(", ")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_time_read_well() {
        assert_eq!(fmt_usd(0.001383), "$0.00138");
        assert_eq!(fmt_usd(1234.6), "$1235");
        assert_eq!(fmt_usd(3.4e9), "$3.40e9");
        assert_eq!(fmt_hours(0.5), "30.0 min");
        assert_eq!(fmt_hours(30.0), "30.0 h");
        assert_eq!(fmt_hours(24.0 * 10.0), "10.0 days");
        assert_eq!(fmt_hours(24.0 * 365.25 * 3.0), "3.00 years");
        assert_eq!(fmt_hours(24.0 * 365.25 * 2.5e6), "2.50e6 years");
    }
}
