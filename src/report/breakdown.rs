//! The human-readable breakdown of a cost section (`flopcost cost`, and the end of a run):
//! every input with its source, the formula with the numbers put in, and the results.

use crate::result::{Cost, CostField, CostInput, Pricing, ResultFile};
use crate::util::fmt::{NONE, fmt_hours, fmt_usd};
use crate::util::{clean, fmt_sig};

fn num(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-3) {
        format!("{v:e}")
    } else {
        fmt_sig(v, 4)
    }
}

/// The breakdown, one fact per line.
pub fn breakdown(path: &str, file: &ResultFile, c: &Cost) -> String {
    // Every string here comes from a file: printed with control characters escaped.
    let mut out = format!(
        "{}: {} on {}, suite {}, {}\n",
        clean(path),
        clean(&file.adapter.name),
        clean(&file.adapter.backend),
        clean(&file.settings.suite),
        clean(&file.created_at)
    );
    out.push_str(&format!(
        "catalog entry: {}\n\ninputs\n",
        c.catalog_entry
            .as_deref()
            .map_or_else(|| "none matches this adapter".into(), clean)
    ));
    let i = &c.inputs;
    for (field, v) in i.iter() {
        out.push_str(&format!(
            "  {:<16} {:<10} {}\n",
            field.name(),
            num(v.value),
            clean(&v.source)
        ));
    }
    out.push('\n');
    match (c.pricing, c.usd_per_hour) {
        (Some(Pricing::Ownership), Some(u)) => {
            let g = |f| i.get(f).map_or(f64::NAN, |x: &CostInput| x.value);
            out.push_str(&format!(
                "price per hour   {} (ownership: ${} / ({} years × 8766 h × {}) + {} W / 1000 × \
                 PUE {} × ${}/kWh)\n",
                fmt_usd(u),
                num(g(CostField::CapexUsd)),
                num(g(CostField::LifetimeYears)),
                num(g(CostField::Utilization)),
                num(g(CostField::Watts)),
                num(g(CostField::Pue)),
                num(g(CostField::UsdPerKwh)),
            ));
        }
        (Some(p), Some(u)) => out.push_str(&format!("price per hour   {} ({p})\n", fmt_usd(u))),
        _ => out.push_str(&format!("price per hour   {NONE} (no price)\n")),
    }
    let t = &c.throughput;
    let tf = |v: Option<f64>| v.map_or_else(|| NONE.to_string(), |v| fmt_sig(v, 3));
    out.push_str("\nthroughput, TFLOP/s (median)\n");
    out.push_str(&format!(
        "  best verified GEMM      {:<10} {}\n",
        tf(t.gemm_tflops),
        t.gemm_record.as_deref().unwrap_or("no verified record")
    ));
    out.push_str(&format!(
        "  training run            {:<10} {}\n",
        tf(t.training_tflops),
        if t.training_tflops.is_some() {
            ""
        } else {
            "none in this file"
        }
    ));
    out.push_str(&format!(
        "  training-layer GEMMs    {:<10} {}\n",
        tf(t.triplets_tflops),
        if t.triplets_tflops.is_some() {
            "forward + input gradient + weight gradient, best kernel each"
        } else {
            "no complete training triplet in this file"
        }
    ));
    for (suite, v) in &t.suites {
        out.push_str(&format!("    {suite}: {}\n", fmt_sig(*v, 3)));
    }
    let usd = |v: Option<f64>| v.map_or_else(|| NONE.to_string(), fmt_usd);
    out.push_str("\ncost\n");
    let at_gemm = match (c.usd_per_hour, t.gemm_tflops) {
        (Some(u), Some(g)) => format!("{} / (3.6 × {})", num(u), fmt_sig(g, 3)),
        _ => String::new(),
    };
    out.push_str(&format!(
        "  usd_per_pflop               {:<10} {at_gemm}\n",
        usd(c.usd_per_pflop)
    ));
    out.push_str(&format!(
        "  usd_per_pflop_training      {:<10} {}\n",
        usd(c.usd_per_pflop_training),
        if t.training_tflops.is_none() {
            "no training run in this file"
        } else {
            ""
        }
    ));
    for (suite, v) in &c.usd_per_pflop_suites {
        out.push_str(&format!("  usd_per_pflop [{suite}]  {}\n", fmt_usd(*v)));
    }
    let j = |v: Option<f64>| v.map_or_else(|| NONE.to_string(), |v| format!("{} J", fmt_sig(v, 3)));
    out.push_str(&format!(
        "  joules_per_pflop            {}\n  joules_per_pflop_training   {}\n",
        j(c.joules_per_pflop),
        j(c.joules_per_pflop_training)
    ));
    let e = &c.efficiency;
    let pct = |v: Option<f64>| {
        v.map_or_else(
            || NONE.to_string(),
            |v| format!("{}%", fmt_sig(v * 100.0, 3)),
        )
    };
    match e.peak_tflops {
        Some(p) => out.push_str(&format!(
            "\nefficiency against the {} datasheet peak of {} TFLOP/s: best GEMM {}, training \
             work {}\n  peak: {}\n",
            e.precision.as_deref().unwrap_or("f32"),
            fmt_sig(p, 4),
            pct(e.gemm),
            pct(e.training),
            e.peak_source.as_deref().unwrap_or_default()
        )),
        None => out.push_str(&format!(
            "\nefficiency: {NONE} (no datasheet peak for this adapter in the catalog)\n"
        )),
    }
    let r = &c.reference_run;
    out.push_str(&format!(
        "\nreference run: 6 × {} parameters × {} tokens = {} FLOP",
        num(r.params),
        num(r.tokens),
        num(r.flops)
    ));
    match (r.tflops, r.hours) {
        (Some(t), Some(h)) => out.push_str(&format!(
            " at {} TFLOP/s ({}): {} on one accelerator, {}\n",
            fmt_sig(t, 3),
            r.basis.map_or("", |b| b.as_str()),
            fmt_hours(h),
            r.usd.map_or_else(|| format!("cost {NONE}"), fmt_usd)
        )),
        _ => out.push_str(": no training throughput in this file\n"),
    }
    if !c.by_precision.is_empty() {
        out.push_str("\nper precision (each precision's own records, triplets and training run)\n");
        for (p, pc) in &c.by_precision {
            let t = &pc.throughput;
            out.push_str(&format!(
                "  {p}: best GEMM {} TFLOP/s ({}), training work {} TFLOP/s; {} per PFLOP at \
                 the best GEMM, {} per PFLOP of training work{}\n",
                tf(t.gemm_tflops),
                t.gemm_record.as_deref().unwrap_or("no verified record"),
                tf(pc.reference_run.tflops),
                usd(pc.usd_per_pflop),
                usd(pc.usd_per_pflop_training),
                match (pc.reference_run.hours, pc.reference_run.usd) {
                    (Some(h), Some(u)) =>
                        format!("; reference run {}, {}", fmt_hours(h), fmt_usd(u)),
                    (Some(h), None) => format!("; reference run {}", fmt_hours(h)),
                    _ => String::new(),
                }
            ));
        }
    }
    if let Some(n) = &c.note {
        out.push_str(&format!("\nnote: {n}\n"));
    }
    out
}
