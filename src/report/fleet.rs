//! `flopcost fleet DIR`: a folder of result files from many hosts, summarised per
//! accelerator model within each named workload: hosts, median and spread of the
//! workload's step throughput and of its cost, and the outliers (hosts more than the
//! threshold below their model's median). Files are read as `compare` reads them (with
//! the same limits and refusals); a file that cannot be read, fails validation or ran
//! no named workload is listed by name with the reason, and the summary goes on.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::escape;
use crate::cost::{self, price::PriceSpec, throughput::Throughputs};
use crate::error::input_error;
use crate::result::{self, ResultFile};
use crate::util::{clean, fmt_sig};

/// Default of `--threshold`: a host 10% below its model's median is an outlier.
pub const DEFAULT_THRESHOLD: f64 = 0.10;

/// The whole summary.
#[derive(Clone, Debug, Serialize)]
pub struct Fleet {
    pub dir: String,
    pub threshold: f64,
    /// One per named workload (name, version and digest), in name order.
    pub workloads: Vec<WorkloadGroup>,
    /// Files not in the summary, each with why.
    pub refused: Vec<Refused>,
}

#[derive(Clone, Debug, Serialize)]
pub struct WorkloadGroup {
    /// `small v1`.
    pub workload: String,
    pub digest: String,
    pub models: Vec<Model>,
}

/// One accelerator model (adapter name on one backend) in one workload.
#[derive(Clone, Debug, Serialize)]
pub struct Model {
    pub adapter: String,
    pub backend: String,
    /// Distinct hosts (by host name, else by file).
    pub hosts: usize,
    pub files: usize,
    /// Median, minimum and maximum of the files' workload-step TFLOP/s.
    pub tflops_median: f64,
    pub tflops_min: f64,
    pub tflops_max: f64,
    /// (max − min) / median.
    pub spread: f64,
    /// Median USD per PFLOP of the workload step, over the files that have a price.
    pub usd_per_pflop_median: Option<f64>,
    pub usd_per_pflop_min: Option<f64>,
    pub usd_per_pflop_max: Option<f64>,
    pub outliers: Vec<Outlier>,
    pub members: Vec<Member>,
}

/// One file of a model.
#[derive(Clone, Debug, Serialize)]
pub struct Member {
    pub file: String,
    pub host: String,
    pub tflops: f64,
    pub usd_per_pflop: Option<f64>,
}

/// A host more than the threshold below its model's median.
#[derive(Clone, Debug, Serialize)]
pub struct Outlier {
    pub host: String,
    pub file: String,
    pub tflops: f64,
    /// 1 − tflops / the model's median.
    pub below_median: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Refused {
    pub file: String,
    pub why: String,
}

/// A workload's files by accelerator model (adapter name, backend).
type ByModel = BTreeMap<(String, String), Vec<Entry>>;

/// One readable file's place in the summary.
struct Entry {
    file: String,
    host: String,
    adapter: String,
    backend: String,
    workload: (String, String),
    tflops: f64,
    usd: Option<f64>,
}

/// Sorts `v` and gives its median (none for no values).
fn median(v: &mut [f64]) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    (!v.is_empty()).then(|| crate::stats::median(v))
}

/// Reads `dir`'s result files and summarises them.
pub fn build(dir: &Path, threshold: f64, spec: &PriceSpec) -> Result<Fleet> {
    if !(threshold.is_finite() && threshold > 0.0 && threshold < 1.0) {
        return Err(input_error(format!(
            "--threshold {threshold}: give a fraction between 0 and 1 (0.1 flags hosts 10% \
             below their model's median)"
        )));
    }
    let files = super::leaderboard::result_files(dir)?;
    if files.is_empty() {
        return Err(input_error(format!(
            "{}: holds no result files (*.json)",
            clean(&dir.display().to_string())
        )));
    }
    let mut entries = Vec::new();
    let mut refused = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| clean(&n.to_string_lossy()));
        match entry(path, &name, spec) {
            Ok(e) => entries.push(e),
            Err(e) => refused.push(Refused {
                file: name,
                why: clean(&format!("{e:#}")),
            }),
        }
    }
    if entries.is_empty() {
        return Err(input_error(format!(
            "{}: none of its {} file(s) can be summarised: {}",
            clean(&dir.display().to_string()),
            files.len(),
            refused
                .iter()
                .map(|r| format!("{} ({})", r.file, r.why))
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    let mut by_workload: BTreeMap<(String, String), ByModel> = BTreeMap::new();
    for e in entries {
        by_workload
            .entry(e.workload.clone())
            .or_default()
            .entry((e.adapter.clone(), e.backend.clone()))
            .or_default()
            .push(e);
    }
    let workloads = by_workload
        .into_iter()
        .map(|((workload, digest), models)| WorkloadGroup {
            workload,
            digest,
            models: models
                .into_iter()
                .map(|((adapter, backend), members)| model(adapter, backend, members, threshold))
                .collect(),
        })
        .collect();
    Ok(Fleet {
        dir: clean(&dir.display().to_string()),
        threshold,
        workloads,
        refused,
    })
}

fn entry(path: &Path, name: &str, spec: &PriceSpec) -> Result<Entry> {
    let file: ResultFile = result::read_valid(path)?;
    let Some(w) = &file.workload else {
        return Err(input_error(format!(
            "ran no named workload (suite '{}'): a fleet is compared on the same work; run \
             `flopcost run --workload NAME` on every host",
            file.settings.suite
        )));
    };
    if !file.complete {
        return Err(input_error(format!(
            "the run did not finish ({})",
            file.incomplete_reason
                .as_deref()
                .unwrap_or("no reason given")
        )));
    }
    let tflops = Throughputs::from_result(&file)
        .workload_tflops
        .filter(|t| t.is_finite() && *t > 0.0)
        .ok_or_else(|| input_error("its workload has no step throughput (a product failed)"))?;
    let c = cost::price_file(&file, spec)?;
    Ok(Entry {
        file: name.to_string(),
        host: file
            .host
            .hostname
            .clone()
            .unwrap_or_else(|| format!("(unnamed host, {name})")),
        adapter: file.adapter.name.clone(),
        backend: file.adapter.backend.clone(),
        workload: (format!("{} v{}", w.name, w.version), w.digest.clone()),
        tflops,
        usd: c.usd_per_pflop_workload,
    })
}

fn model(adapter: String, backend: String, mut members: Vec<Entry>, threshold: f64) -> Model {
    members.sort_by(|a, b| a.host.cmp(&b.host).then(a.file.cmp(&b.file)));
    let mut t: Vec<f64> = members.iter().map(|m| m.tflops).collect();
    let med = median(&mut t).unwrap_or(0.0);
    let (lo, hi) = (t[0], t[t.len() - 1]);
    let mut u: Vec<f64> = members.iter().filter_map(|m| m.usd).collect();
    let usd_med = median(&mut u);
    let hosts = {
        let mut h: Vec<&str> = members.iter().map(|m| m.host.as_str()).collect();
        h.sort();
        h.dedup();
        h.len()
    };
    let outliers = members
        .iter()
        .filter(|m| m.tflops < med * (1.0 - threshold))
        .map(|m| Outlier {
            host: m.host.clone(),
            file: m.file.clone(),
            tflops: m.tflops,
            below_median: 1.0 - m.tflops / med,
        })
        .collect();
    Model {
        adapter,
        backend,
        hosts,
        files: members.len(),
        tflops_median: med,
        tflops_min: lo,
        tflops_max: hi,
        spread: if med > 0.0 { (hi - lo) / med } else { 0.0 },
        usd_per_pflop_median: usd_med,
        usd_per_pflop_min: u.first().copied(),
        usd_per_pflop_max: u.last().copied(),
        outliers,
        members: members
            .into_iter()
            .map(|m| Member {
                file: m.file,
                host: m.host,
                tflops: m.tflops,
                usd_per_pflop: m.usd,
            })
            .collect(),
    }
}

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
                m.hosts.to_string(),
                m.files.to_string(),
                fmt_sig(m.tflops_median, 3),
                pct(m.spread),
                usd(m.usd_per_pflop_median),
                match (m.usd_per_pflop_min, m.usd_per_pflop_max) {
                    (Some(a), Some(b)) => format!("{} – {}", usd(Some(a)), usd(Some(b))),
                    _ => super::export::NONE.into(),
                },
                m.outliers.len().to_string(),
            ]
        })
        .collect()
}

const HEADER: [&str; 9] = [
    "accelerator",
    "backend",
    "hosts",
    "files",
    "step TFLOP/s (median)",
    "spread",
    "USD/PFLOP (median)",
    "USD/PFLOP range",
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
                let class = if i >= 2 { " class=\"n\"" } else { "" };
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
