//! The fleet summary ([`crate::analysis::fleet`]) drawn for the terminal, in Markdown,
//! JSON and a self-contained HTML page.

use anyhow::Result;

use super::{Exporter, escape};
use crate::analysis::fleet::{Fleet, WorkloadGroup};

use crate::util::fmt_sig;

fn usd(v: Option<f64>) -> String {
    v.map_or_else(|| super::export::NONE.to_string(), super::export::fmt_usd)
}

fn pct(v: f64) -> String {
    format!("{:.1}%", 100.0 * v)
}

/// The rows of one workload's model table, as text cells.
fn rows(g: &WorkloadGroup) -> Vec<Vec<String>> {
    g.models
        .iter()
        .map(|m| {
            vec![
                m.adapter.clone(),
                m.backend.clone(),
                if m.paths.is_empty() {
                    super::export::NONE.into()
                } else {
                    m.paths.join(", ")
                },
                m.hosts.to_string(),
                m.files.to_string(),
                fmt_sig(m.tflops_median, 3),
                pct(m.spread),
                usd(m.usd_per_pflop_median),
                match (m.usd_per_pflop_min, m.usd_per_pflop_max) {
                    (Some(a), Some(b)) => format!("{} – {}", usd(Some(a)), usd(Some(b))),
                    _ => super::export::NONE.into(),
                },
                m.tokens_per_second_median
                    .map_or_else(|| super::export::NONE.into(), |v| fmt_sig(v, 3)),
                usd(m.usd_per_million_tokens_median),
                m.joules_per_pflop_measured_median
                    .map_or_else(|| super::export::NONE.into(), |v| fmt_sig(v, 3)),
                m.outliers.len().to_string(),
            ]
        })
        .collect()
}

const HEADER: [&str; 13] = [
    "accelerator",
    "backend",
    "path",
    "hosts",
    "files",
    "step TFLOP/s (median)",
    "spread",
    "USD/PFLOP (median)",
    "USD/PFLOP range",
    "tokens/s (median)",
    "USD/Mtok (median)",
    "measured J/PFLOP (median)",
    "outliers",
];

fn outlier_lines(f: &Fleet, g: &WorkloadGroup) -> Vec<String> {
    let mut out = Vec::new();
    for m in &g.models {
        for o in &m.outliers {
            out.push(format!(
                "{} ({}): {} TFLOP/s, {} below the {} median of {} TFLOP/s (threshold {}) — {}",
                o.host,
                m.adapter,
                fmt_sig(o.tflops, 3),
                pct(o.below_median),
                m.backend,
                fmt_sig(m.tflops_median, 3),
                pct(f.threshold),
                o.file
            ));
        }
    }
    out
}

/// For the terminal.
pub fn table(f: &Fleet) -> String {
    use comfy_table::{ContentArrangement, Table, presets};
    let mut out = format!("fleet {}: {} workload(s)\n", f.dir, f.workloads.len());
    for g in &f.workloads {
        out.push_str(&format!("\nworkload {} ({})\n", g.workload, g.digest));
        let mut t = Table::new();
        t.load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(HEADER);
        for r in rows(g) {
            t.add_row(r);
        }
        out.push_str(&t.to_string());
        out.push('\n');
        let o = outlier_lines(f, g);
        if o.is_empty() {
            out.push_str(&format!(
                "no outliers: every host within {} of its model's median\n",
                pct(f.threshold)
            ));
        } else {
            out.push_str("outliers:\n");
            for l in o {
                out.push_str(&format!("  {l}\n"));
            }
        }
    }
    if !f.refused.is_empty() {
        out.push_str(&format!("\nnot summarised ({}):\n", f.refused.len()));
        for r in &f.refused {
            out.push_str(&format!("  {}: {}\n", r.file, r.why));
        }
    }
    out
}

/// GitHub-flavoured Markdown.
pub fn markdown(f: &Fleet) -> String {
    let esc = escape::markdown;
    let mut out = format!("# Fleet: {}\n", esc(&f.dir));
    for g in &f.workloads {
        out.push_str(&format!(
            "\n## Workload {} ({})\n\n| {} |\n|{}\n",
            esc(&g.workload),
            escape::markdown_digest(&g.digest),
            HEADER.join(" | "),
            "---|".repeat(HEADER.len())
        ));
        for r in rows(g) {
            let cells: Vec<String> = r.iter().map(|c| esc(c)).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        let o = outlier_lines(f, g);
        if o.is_empty() {
            out.push_str(&format!(
                "\nNo outliers: every host within {} of its model's median.\n",
                pct(f.threshold)
            ));
        } else {
            out.push_str("\nOutliers:\n\n");
            for l in o {
                out.push_str(&format!("- {}\n", escape::markdown_line(&l)));
            }
        }
    }
    if !f.refused.is_empty() {
        out.push_str("\n## Not summarised\n\n");
        for r in &f.refused {
            out.push_str(&format!(
                "- {}: {}\n",
                escape::markdown_line(&r.file),
                esc(&r.why)
            ));
        }
    }
    out
}

/// JSON.
pub fn json(f: &Fleet) -> Result<String> {
    let mut s = serde_json::to_string_pretty(f)?;
    s.push('\n');
    Ok(s)
}

/// A self-contained HTML page.
pub fn html(f: &Fleet) -> String {
    let e = escape::html;
    let mut out = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>flopcost \
         fleet {}</title><style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:\
         70rem}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem \
         .6rem;text-align:left}}td.n{{text-align:right}}.bad{{color:#a00}}</style></head>\
         <body>\n<h1>Fleet: {}</h1>\n",
        e(&f.dir),
        e(&f.dir)
    );
    for g in &f.workloads {
        out.push_str(&format!(
            "<h2>Workload {} <code>{}</code></h2>\n<table><tr>{}</tr>\n",
            e(&g.workload),
            e(&g.digest),
            HEADER
                .iter()
                .map(|h| format!("<th>{}</th>", e(h)))
                .collect::<String>()
        ));
        for r in rows(g) {
            out.push_str("<tr>");
            for (i, c) in r.iter().enumerate() {
                let class = if i >= 3 { " class=\"n\"" } else { "" };
                out.push_str(&format!("<td{class}>{}</td>", e(c)));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
        let o = outlier_lines(f, g);
        if o.is_empty() {
            out.push_str(&format!(
                "<p>No outliers: every host within {} of its model's median.</p>\n",
                pct(f.threshold)
            ));
        } else {
            out.push_str("<h3>Outliers</h3>\n<ul>\n");
            for l in o {
                out.push_str(&format!("<li class=\"bad\">{}</li>\n", e(&l)));
            }
            out.push_str("</ul>\n");
        }
    }
    if !f.refused.is_empty() {
        out.push_str("<h2>Not summarised</h2>\n<ul>\n");
        for r in &f.refused {
            out.push_str(&format!("<li>{}: {}</li>\n", e(&r.file), e(&r.why)));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</body></html>\n");
    out
}

/// The output formats of `flopcost fleet`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Markdown,
    Json,
    Html,
}

/// The exporter of a format.
pub fn exporter(format: Format) -> Box<dyn Exporter<Fleet>> {
    Box::new(format)
}

impl Exporter<Fleet> for Format {
    fn render(&self, f: &Fleet) -> Result<String> {
        Ok(match self {
            Format::Table => table(f),
            Format::Markdown => markdown(f),
            Format::Json => json(f)?,
            Format::Html => html(f),
        })
    }
}
