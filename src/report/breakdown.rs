//! The human-readable breakdown of a cost section (`flopcost cost`, and the end of a run):
//! every input with its source, the formula with the numbers put in, and the results.

use crate::result::{Cost, CostField, CostInput, Pricing, ResultFile};
use crate::util::fmt::{NONE, fmt_usd};
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
                num(c.ownership_watts.unwrap_or_else(|| g(CostField::Watts))),
                num(g(CostField::Pue)),
                num(g(CostField::UsdPerKwh)),
            ));
            if let Some(e) = &c.usd_per_hour_energy {
                out.push_str(&format!("  energy part    {}\n", clean(e)));
            }
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
    if let Some(w) = c.usd_per_pflop_workload {
        out.push_str(&format!(
            "  usd_per_pflop_workload      {:<10} the workload's training step\n",
            fmt_usd(w)
        ));
    }
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
    if c.joules_per_pflop_measured.is_some() || c.joules_per_pflop_training_measured.is_some() {
        out.push_str(&format!(
            "  joules_per_pflop_measured   {}
  joules_per_pflop_training_measured {}{}
",
            j(c.joules_per_pflop_measured),
            j(c.joules_per_pflop_training_measured),
            c.measured_watts
                .map_or_else(String::new, |w| format!(" (mean {} W)", fmt_sig(w, 3)))
        ));
    }
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
    out.push_str(&per_token(c));
    if !c.by_precision.is_empty() {
        out.push_str("\nper precision (each precision's own records, triplets and training run)\n");
        for (p, pc) in &c.by_precision {
            let t = &pc.throughput;
            out.push_str(&format!(
                "  {p}: best GEMM {} TFLOP/s ({}), training work {} TFLOP/s; {} per PFLOP at \
                 the best GEMM, {} per PFLOP of training work\n",
                tf(t.gemm_tflops),
                t.gemm_record.as_deref().unwrap_or("no verified record"),
                tf(pc.training_work_tflops),
                usd(pc.usd_per_pflop),
                usd(pc.usd_per_pflop_training),
            ));
        }
    }
    if let Some(n) = &c.note {
        out.push_str(&format!("\nnote: {n}\n"));
    }
    out
}

/// The cost per training token, with its formula, or why there is none.
pub fn per_token(c: &Cost) -> String {
    let Some(p) = &c.per_token else {
        return "\nper training token: none (the file ran no workload cut from a model; \
                `flopcost run` runs one)\n"
            .into();
    };
    let mut out = format!(
        "\nper training token of {} (tokens/s = tokens per step / the model's step time)\n  \
         tokens_per_second           {}\n",
        clean(&p.model),
        fmt_sig(p.tokens_per_second, 4)
    );
    let formula = match c.usd_per_hour {
        Some(u) => format!(
            "{} / (3600 × {}) × 10⁶",
            num(u),
            fmt_sig(p.tokens_per_second, 4)
        ),
        None => "no price".into(),
    };
    out.push_str(&format!(
        "  usd_per_million_tokens      {:<10} {formula}\n",
        p.usd_per_million_tokens
            .map_or_else(|| NONE.to_string(), fmt_usd)
    ));
    out.push_str(&format!(
        "  joules_per_million_tokens   {}\n",
        p.joules_per_million_tokens.map_or_else(
            || format!("{NONE} (no power figure)"),
            |j| format!("{} J", fmt_sig(j, 3))
        )
    ));
    if let Some(m) = p.joules_per_million_tokens_measured {
        out.push_str(&format!(
            "  joules_per_million_tokens_measured {} J\n",
            fmt_sig(m, 3)
        ));
    }
    out.push_str(&format!("  {}", clean(&p.leaves_out)));
    match p.training_overhead {
        Some(o) => out.push_str(&format!(
            "; on this device a whole training step of the workload's MLP takes {}× its \
             GEMMs' time\n",
            fmt_sig(o, 3)
        )),
        None => out.push('\n'),
    }
    out
}
