//! One file against the baseline: speed and cost ratios with their intervals, the
//! warnings that qualify them, and the sentence a buyer can quote.

use crate::result::workload::precision_text;
use crate::stats::repeated::{Repeated, speed_ratio};
use crate::util::fmt::{fmt_change, fmt_ratio};

use super::model::*;

/// The headline of `other` against `base`, on the workload step (each side: its index,
/// its workload step and its model step).
pub fn verdict(
    inputs: &[Input],
    machines: &[Machine],
    rows: &[Row],
    (base, a_step, a_model): (usize, &Repeated, Option<&Repeated>),
    (other, b_step, b_model): (usize, &Repeated, Option<&Repeated>),
) -> Option<Verdict> {
    let (a, b) = (&machines[base], &machines[other]);
    let (speed, interval) = speed_ratio(a_step, b_step)?;
    let workload = inputs[base].file.workload.as_ref()?;
    let name = format!("{} v{}", workload.name, workload.version);
    let reps = [a_step.times_ns.len() as u32, b_step.times_ns.len() as u32];
    let within_run_only = reps.contains(&1);
    let price_ratio = match (a.usd_per_hour, b.usd_per_hour) {
        (Some(pa), Some(pb)) if pa > 0.0 && pb.is_finite() => Some(pb / pa),
        _ => None,
    };
    let cost_ratio = price_ratio.map(|p| p / speed);
    let cost_interval = price_ratio.map(|p| Interval {
        low: p / interval.high,
        high: p / interval.low,
    });
    // What the headline is built on that is flagged.
    let mut warnings = Vec::new();
    for (m, step) in [(a, a_step), (b, b_step)] {
        let spread = crate::result::spread(&step.times_ns);
        if step.times_ns.len() > 1 && spread > NOISY_SPREAD {
            warnings.push(format!(
                "{}'s workload step moved {:.0}% between its repetitions",
                m.label,
                100.0 * spread
            ));
        }
    }
    for (i, m) in [(base, a), (other, b)] {
        let noisy = rows
            .iter()
            .filter(|r| r.role.is_some())
            .filter_map(|r| r.cells[i].as_ref())
            .filter(|c| c.noisy.is_some())
            .count();
        if noisy > 0 {
            warnings.push(format!(
                "{noisy} of {}'s {} products are noisy (see the flagged rows)",
                m.label,
                workload.definition.products().map_or(0, |p| p.len())
            ));
        }
    }
    if a.software || b.software {
        warnings.push("a software adapter (CPU) is part of this comparison".into());
    }
    let ci = |i: Interval| format!("{:.2}–{:.2}×", i.low, i.high);
    let reps_text = if reps[0] == reps[1] {
        format!("{} runs each", reps[0])
    } else {
        format!("{} and {} runs", reps[0], reps[1])
    };
    let scope = if within_run_only {
        let who: Vec<&str> = [(a, reps[0]), (b, reps[1])]
            .iter()
            .filter(|(_, r)| *r == 1)
            .map(|(m, _)| m.label.as_str())
            .collect();
        format!(
            "; within-run noise only: {} ran one repetition",
            who.join(" and ")
        )
    } else {
        String::new()
    };
    // What the step's products ran in, and where on each side.
    let words = |m: &Machine| {
        m.kernel_path
            .as_deref()
            .map_or("on an unrecorded path", path_words)
    };
    let paths = if a.kernel_path == b.kernel_path {
        format!("both {}", words(a))
    } else {
        format!("{} {}, {} {}", a.label, words(a), b.label, words(b))
    };
    let work = format!(
        "{} v{} training step ({}; {paths})",
        workload.name,
        workload.version,
        precision_text(workload.definition.precision),
    );
    let sentence = match (cost_ratio, cost_interval) {
        (Some(c), Some(ci_cost)) => format!(
            "{} does the {} at {} the cost of {} ({}), at {} its speed (95% interval: cost \
             {}, speed {}), {reps_text}{scope}",
            b.label,
            work,
            fmt_ratio(c),
            a.label,
            fmt_change(c),
            fmt_ratio(speed),
            ci(ci_cost),
            ci(interval),
        ),
        _ => {
            let who: Vec<&str> = [a, b]
                .iter()
                .filter(|m| m.usd_per_hour.is_none())
                .map(|m| m.label.as_str())
                .collect();
            format!(
                "{} does the {} at {} the speed of {} (95% interval {}), {reps_text}{scope}; \
                 its cost is unknown: no price for {} (give --price-file FILE, or price the \
                 files with `flopcost cost FILE --usd-per-hour X --out FILE`)",
                b.label,
                work,
                fmt_ratio(speed),
                a.label,
                ci(interval),
                who.join(" and ")
            )
        }
    };
    let per_token = match (a_model, b_model) {
        (Some(ma), Some(mb)) => token_verdict(a, b, ma, mb, price_ratio),
        _ => None,
    };
    Some(Verdict {
        per_token,
        workload: name,
        basis: Basis::WorkloadStep,
        speed_ratio: speed,
        speed_interval: interval,
        cost_ratio,
        cost_interval,
        repetitions: reps,
        within_run_only,
        warnings,
        sentence,
    })
}

/// `coopmat` → `on tensor cores`, as a headline says it.
fn path_words(key: &str) -> &'static str {
    match key {
        "coopmat" => "on tensor cores",
        "simt" => "on shader cores",
        _ => "partly on tensor cores, partly on shader cores",
    }
}

/// The headline's second line: a training token of the workload's model on `b` against
/// `a`, from the model steps (layers × the block's products + the LM head).
fn token_verdict(
    a: &Machine,
    b: &Machine,
    ma: &Repeated,
    mb: &Repeated,
    price_ratio: Option<f64>,
) -> Option<TokenVerdict> {
    let (ta, tb) = (a.per_token.as_ref()?, b.per_token.as_ref()?);
    if ta.model != tb.model {
        return None;
    }
    let (speed, interval) = speed_ratio(ma, mb)?;
    let cost_ratio = price_ratio.map(|p| p / speed);
    let cost_interval = price_ratio.map(|p| Interval {
        low: p / interval.high,
        high: p / interval.low,
    });
    let tps = |t: &TokenFigure| crate::util::fmt_sig(t.tokens_per_second, 3);
    let usd = |t: &TokenFigure| {
        t.usd_per_million_tokens.map_or_else(String::new, |u| {
            format!(", {} per million tokens", crate::util::fmt::fmt_usd(u))
        })
    };
    let usd = |t: &TokenFigure| {
        usd(t)
            + &t.joules_per_million_tokens_measured
                .map_or_else(String::new, |j| {
                    format!(
                        ", {} J per million tokens measured",
                        crate::util::fmt_sig(j, 3)
                    )
                })
    };
    let ci = |i: Interval| format!("{:.2}–{:.2}×", i.low, i.high);
    let head = match (cost_ratio, cost_interval) {
        (Some(c), Some(i)) => format!(
            "per training token of {}: {} at {} the cost of {} (95% interval {})",
            ta.model,
            b.label,
            fmt_ratio(c),
            a.label,
            ci(i)
        ),
        _ => format!(
            "per training token of {}: {} at {} the speed of {} (95% interval {}); cost \
             unknown without both prices",
            ta.model,
            b.label,
            fmt_ratio(speed),
            a.label,
            ci(interval)
        ),
    };
    let sentence = format!(
        "{head}; {} {} tokens/s{}, {} {} tokens/s{} ({})",
        a.label,
        tps(ta),
        usd(ta),
        b.label,
        tps(tb),
        usd(tb),
        crate::cost::LEAVES_OUT
    );
    Some(TokenVerdict {
        model: ta.model.clone(),
        speed_ratio: speed,
        speed_interval: interval,
        cost_ratio,
        cost_interval,
        tokens_per_second: [ta.tokens_per_second, tb.tokens_per_second],
        sentence,
    })
}
