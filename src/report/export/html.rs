//! HTML: one self-contained page (inline CSS, inline SVG charts drawn with plotters, no
//! script, font or file from the network) that opens in any browser offline.

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use super::{Exporter, fmt_usd, machine_cells, noisy_lines, row_cells, unmatched_lines};
use crate::analysis::compare::{Basis, Comparison};
use crate::util::fmt_sig;

pub struct HtmlExporter;

/// Series colours (Okabe & Ito's colour-blind-safe palette).
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];

use crate::report::escape::html as esc;

fn html_table(header: &[String], rows: &[Vec<String>], first_numeric: usize) -> String {
    let mut out = String::from("<table>\n<thead><tr>");
    for h in header {
        out.push_str(&format!("<th>{}</th>", esc(h)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        out.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let class = if i >= first_numeric {
                " class=\"num\""
            } else {
                ""
            };
            out.push_str(&format!("<td{class}>{}</td>", esc(c)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

fn plot_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing a chart: {e:?}")
}

/// Tick labels and axis descriptions large enough to read on the page.
const TICKS: (&str, u32) = ("sans-serif", 15);
const AXIS: (&str, u32) = ("sans-serif", 17);
const CAPTION: (&str, u32) = ("sans-serif", 20);

/// Ticks for a log axis: 1, 2, 3 and 5 times each power of ten between `lo` and `hi`, so
/// that an axis spanning less than a decade still has several labels.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return ticks;
    }
    let mut e = lo.log10().floor() as i32;
    while 10f64.powi(e) <= hi && ticks.len() < 64 {
        for m in [1.0, 2.0, 3.0, 5.0] {
            let t = m * 10f64.powi(e);
            if (lo..=hi).contains(&t) {
                ticks.push(t);
            }
        }
        e += 1;
    }
    ticks
}

/// Median throughput of every matched record against its FLOPs: one point per record,
/// coloured by machine and shaped by layout (a circle for the forward product or any
/// record that is no training product, a triangle for the input gradient, a square for
/// the weight gradient); no line joins different shapes.
fn throughput_chart(c: &Comparison) -> Result<String> {
    let pts: Vec<(f64, f64)> = c
        .machines
        .iter()
        .flat_map(|m| m.points.iter().map(|p| (p.flops as f64, p.tflops)))
        .filter(|(f, t)| *f > 0.0 && t.is_finite())
        .collect();
    if pts.is_empty() {
        return Ok("<p>No verified records to plot.</p>".into());
    }
    let xmin = pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min) / 2.0;
    let xmax = pts.iter().map(|p| p.0).fold(0.0, f64::max) * 2.0;
    // Headroom above the highest point for the legend (upper left), one row per
    // machine and kind of product, so that it covers no point.
    let entries: usize = c
        .machines
        .iter()
        .map(|m| {
            ["forward", "other", "input gradient", "weight gradient"]
                .iter()
                .filter(|r| m.points.iter().any(|p| p.role == **r))
                .count()
        })
        .sum();
    let headroom = (1.15 + 0.1 * entries as f64).min(3.0);
    let ymax = pts.iter().map(|p| p.1).fold(0.0, f64::max) * headroom;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 460)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Median throughput of each record", CAPTION)
            .margin(16)
            .x_label_area_size(56)
            .y_label_area_size(90)
            .build_cartesian_2d(
                (xmin..xmax)
                    .log_scale()
                    .with_key_points(log_ticks(xmin, xmax)),
                0f64..ymax.max(f64::MIN_POSITIVE),
            )
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("FLOPs per product, 2·M·N·K (log scale)")
            .y_desc("TFLOP/s")
            .label_style(TICKS)
            .axis_desc_style(AXIS)
            .x_label_formatter(&|v| format!("{v:.0e}"))
            .y_label_formatter(&|v| fmt_sig(*v, 2))
            .draw()
            .map_err(plot_err)?;
        for (i, m) in c.machines.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            for role in ["forward", "other", "input gradient", "weight gradient"] {
                let series: Vec<(f64, f64)> = m
                    .points
                    .iter()
                    .filter(|p| p.role == role)
                    .map(|p| (p.flops as f64, p.tflops))
                    .collect();
                if series.is_empty() {
                    continue;
                }
                let label = format!("{}: {role}", m.label);
                let drawn = match role {
                    "input gradient" => chart
                        .draw_series(
                            series
                                .iter()
                                .map(|p| TriangleMarker::new(*p, 6, color.filled())),
                        )
                        .map_err(plot_err)?,
                    "weight gradient" => chart
                        .draw_series(series.iter().map(|&(x, y)| {
                            EmptyElement::at((x, y))
                                + Rectangle::new([(-5, -5), (5, 5)], color.filled())
                        }))
                        .map_err(plot_err)?,
                    _ => chart
                        .draw_series(series.iter().map(|p| Circle::new(*p, 5, color.filled())))
                        .map_err(plot_err)?,
                };
                let shape = role.to_string();
                drawn.label(label).legend(move |(x, y)| {
                    let e: DynElement<'static, SVGBackend, (i32, i32)> = match shape.as_str() {
                        "input gradient" => {
                            TriangleMarker::new((x + 8, y), 6, color.filled()).into_dyn()
                        }
                        "weight gradient" => {
                            Rectangle::new([(x + 3, y - 5), (x + 13, y + 5)], color.filled())
                                .into_dyn()
                        }
                        _ => Circle::new((x + 8, y), 5, color.filled()).into_dyn(),
                    };
                    e
                });
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(TICKS)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// Each other machine's speed over the baseline's on every matched record, with its 95%
/// interval as an error bar; the records of the workload's step first.
fn ratio_chart(c: &Comparison) -> Result<String> {
    let others: Vec<usize> = (0..c.machines.len()).filter(|&i| i != c.baseline).collect();
    let rows: Vec<&crate::analysis::compare::Row> = c.rows.iter().collect();
    if rows.is_empty() {
        return Ok(String::new());
    }
    let mut lo = f64::INFINITY;
    let mut hi: f64 = 0.0;
    for r in &rows {
        for &i in &others {
            if let Some(cell) = &r.cells[i]
                && let Some(q) = cell.ratio
            {
                let iv = cell
                    .interval
                    .unwrap_or(crate::analysis::compare::Interval { low: q, high: q });
                lo = lo.min(iv.low);
                hi = hi.max(iv.high);
            }
        }
    }
    if !lo.is_finite() || hi <= 0.0 {
        return Ok(String::new());
    }
    let (lo, hi) = ((lo.min(1.0) * 0.9).max(1e-6), hi.max(1.0) * 1.1);
    let n = rows.len();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let base = c.machines[c.baseline].label.clone();
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("Speed over {base}, per record (95% intervals)"),
                CAPTION,
            )
            .margin(16)
            .x_label_area_size(56)
            .y_label_area_size(90)
            .build_cartesian_2d(
                -0.5f64..(n as f64 - 0.5),
                (lo..hi).log_scale().with_key_points(log_ticks(lo, hi)),
            )
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("matched record (in the order of the table below)")
            .y_desc(format!("× {base}'s speed (log scale)"))
            .label_style(TICKS)
            .axis_desc_style(AXIS)
            .x_labels(n.min(20))
            .x_label_formatter(&|v| format!("{}", v.round() as i64 + 1))
            .y_label_formatter(&|v| format!("{v:.2}"))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(
                vec![(-0.5, 1.0), (n as f64 - 0.5, 1.0)],
                BLACK.mix(0.5).stroke_width(1),
            ))
            .map_err(plot_err)?;
        let width = 0.6 / others.len() as f64;
        for (k, &i) in others.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let mut pts = Vec::new();
            for (x, r) in rows.iter().enumerate() {
                if let Some(cell) = &r.cells[i]
                    && let Some(q) = cell.ratio
                {
                    let xo = x as f64 - 0.3 + width * (k as f64 + 0.5);
                    let iv = cell
                        .interval
                        .unwrap_or(crate::analysis::compare::Interval { low: q, high: q });
                    pts.push((xo, q, iv));
                }
            }
            chart
                .draw_series(pts.iter().map(|&(x, q, iv)| {
                    ErrorBar::new_vertical(x, iv.low, q, iv.high, color.filled(), 8)
                }))
                .map_err(plot_err)?
                .label(c.machines[i].label.clone())
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, color.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font(TICKS)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// Throughput second by second under sustained load (`run --sustain`), relative to each
/// machine's first second so that machines running different GEMMs share one scale;
/// empty when no file has a sustained run.
fn sustain_chart(c: &Comparison) -> Result<String> {
    let series: Vec<(String, Vec<(f64, f64)>)> = c
        .machines
        .iter()
        .filter_map(|m| {
            let s = m.sustain.as_ref()?;
            let first = s.points.first()?.1;
            (first > 0.0).then(|| {
                (
                    format!(
                        "{}: {}, {} TFLOP/s at first{}",
                        m.label,
                        s.gemm,
                        fmt_sig(first, 3),
                        if s.throttled { ", throttled" } else { "" }
                    ),
                    s.points
                        .iter()
                        .map(|(t, v)| (*t, 100.0 * v / first))
                        .collect(),
                )
            })
        })
        .collect();
    if series.is_empty() {
        return Ok(String::new());
    }
    let tmax = series
        .iter()
        .flat_map(|s| s.1.iter().map(|p| p.0))
        .fold(1.0, f64::max);
    let ymax = series
        .iter()
        .flat_map(|s| s.1.iter().map(|p| p.1))
        .fold(110.0, f64::max)
        * 1.05;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (860, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Throughput under sustained load, % of the first second",
                ("sans-serif", 20),
            )
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..tmax * 1.02, 0f64..ymax)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("seconds of back-to-back runs")
            .y_desc("% of first second")
            .y_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(plot_err)?;
        for (i, (label, pts)) in series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(plot_err)?
                .label(label.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// USD per PFLOP per machine on one basis (never mixed with another); empty when no
/// machine has a price and a figure on it.
fn cost_chart(c: &Comparison, basis: Basis) -> Result<String> {
    let bars: Vec<(String, f64)> = c
        .machines
        .iter()
        .filter_map(|m| Some((m.label.clone(), m.figure(basis)?.usd_per_pflop?)))
        .filter(|(_, v)| v.is_finite())
        .collect();
    if bars.is_empty() {
        return Ok(String::new());
    }
    let n = bars.len();
    let ymax = bars.iter().map(|b| b.1).fold(0.0, f64::max) * 1.2;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("USD per PFLOP of {} (lower is cheaper)", basis.label()),
                CAPTION,
            )
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(90)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..ymax.max(f64::MIN_POSITIVE))
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .label_style(TICKS)
            .axis_desc_style(AXIS)
            .x_label_formatter(&|v| {
                let i = v.round();
                if (v - i).abs() < 0.01 && i >= 0.0 {
                    labels.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_desc("USD / PFLOP")
            .y_label_formatter(&|v| fmt_sig(*v, 2))
            .draw()
            .map_err(plot_err)?;
        for (i, (_, v)) in bars.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let x = i as f64;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.3, 0.0), (x + 0.3, *v)],
                    color.filled(),
                )))
                .map_err(plot_err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    fmt_usd(*v),
                    (x - 0.12, *v + ymax * 0.03),
                    TICKS,
                )))
                .map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;\
color:#222;max-width:1400px}h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}\
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}th,td{border:1px solid #ccc;\
padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f3f3f3}\
td.num{text-align:right;font-variant-numeric:tabular-nums}.verdict{font-size:1.05rem;\
background:#f5f9ff;border-left:4px solid #0072b2;padding:.5rem 1rem;margin:.5rem 0}\
.note{color:#555;font-size:.85rem}.warning,.warnings li{color:#8a4b00}\
.refused{background:#fff6f0;border-left:4px solid #d55e00;padding:.25rem 1rem;margin:.5rem 0}.charts svg{max-width:100%;height:auto;display:block;\
margin:1rem 0}code{background:#f3f3f3;padding:0 .2rem}";

impl Exporter<Comparison> for HtmlExporter {
    fn render(&self, c: &Comparison) -> Result<String> {
        let base = &c.machines[c.baseline];
        let mut out = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>flopcost: {} machines compared</title>\n<style>{STYLE}</style>\n</head>\n\
             <body>\n<h1>flopcost comparison</h1>\n<p class=\"note\">{} result files; \
             baseline: {} ({}). Generated by flopcost {}.</p>\n",
            c.machines.len(),
            c.machines.len(),
            esc(&base.label),
            esc(&base.path),
            env!("CARGO_PKG_VERSION"),
        );
        for p in &c.verdicts {
            match &p.headline {
                Some(v) => {
                    out.push_str(&format!(
                        "<p class=\"verdict\">{}<br><span class=\"note\">basis: the \
                         training step of workload {} (its products' medians summed, \
                         geometric mean over repetitions)</span></p>\n",
                        esc(&v.sentence),
                        esc(&v.workload)
                    ));
                    if let Some(t) = &v.per_token {
                        out.push_str(&format!("<p class=\"verdict\">{}</p>\n", esc(&t.sentence)));
                    }
                    for w in &v.warnings {
                        out.push_str(&format!("<p class=\"warning\">warning: {}</p>\n", esc(w)));
                    }
                }
                None => {
                    out.push_str(&format!(
                        "<div class=\"refused\"><p><b>No headline</b> for {} against {}:</p><ul>",
                        esc(&c.machines[p.machine].label),
                        esc(&c.machines[p.baseline].label)
                    ));
                    for r in &p.refusals {
                        out.push_str(&format!("<li>{}</li>", esc(r)));
                    }
                    out.push_str("</ul></div>\n");
                }
            }
        }
        if !c.warnings.is_empty() {
            out.push_str("<h2>Warnings</h2>\n<ul class=\"warnings\">\n");
            for w in &c.warnings {
                out.push_str(&format!("<li>{}</li>\n", esc(w)));
            }
            out.push_str("</ul>\n");
        }
        out.push_str("<h2>Machines</h2>\n");
        let (h, r) = machine_cells(c);
        out.push_str(&html_table(&h, &r, 4));
        out.push_str("<h2>Speed per record</h2>\n<div class=\"charts\">\n");
        out.push_str(&ratio_chart(c)?);
        out.push_str(&throughput_chart(c)?);
        out.push_str("\n</div>\n<h2>Cost, one basis per chart</h2>\n<div class=\"charts\">\n");
        let mut any = false;
        for b in Basis::ALL {
            let chart = cost_chart(c, b)?;
            any |= !chart.is_empty();
            out.push_str(&chart);
        }
        if !any {
            out.push_str(
                "<p class=\"note\">No machine has a price, so there is no cost chart. Give one \
                 with <code>--price-file FILE</code>, or price the files with <code>flopcost \
                 cost FILE --usd-per-hour X --out FILE</code>.</p>",
            );
        }
        out.push_str("\n</div>\n");
        let sustain = sustain_chart(c)?;
        if !sustain.is_empty() {
            out.push_str("<h2>Sustained load</h2>\n<div class=\"charts\">\n");
            out.push_str(&sustain);
            out.push_str("\n</div>\n");
        }
        out.push_str(&format!(
            "<h2>Matched records ({} shapes)</h2>\n",
            c.rows.len()
        ));
        let (h, r) = row_cells(c);
        out.push_str(&html_table(&h, &r, 3));
        let noisy = noisy_lines(c);
        if !noisy.is_empty() {
            out.push_str("<ul class=\"note\">\n");
            for l in noisy {
                out.push_str(&format!("<li>{}</li>\n", esc(&l)));
            }
            out.push_str("</ul>\n");
        }
        let unmatched = unmatched_lines(c);
        out.push_str("<h2>Unmatched records</h2>\n<ul>\n");
        if unmatched.is_empty() {
            out.push_str("<li>none: every record has a counterpart</li>\n");
        }
        for l in unmatched {
            out.push_str(&format!("<li>{}</li>\n", esc(&l)));
        }
        out.push_str("</ul>\n<h2>How these figures were made</h2>\n<ul class=\"note\">\n");
        for n in &c.notes {
            out.push_str(&format!("<li>{}</li>\n", esc(n)));
        }
        out.push_str("</ul>\n</body>\n</html>\n");
        Ok(out)
    }
}
