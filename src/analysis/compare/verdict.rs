//! One file against the baseline: speed and cost ratios with their intervals, the
//! warnings that qualify them, and the sentence a buyer can quote.

use crate::stats::repeated::{Repeated, speed_ratio};
use crate::util::fmt::{fmt_change, fmt_ratio};

use super::model::*;

/// The headline of `other` against `base`, on the workload step.
pub fn verdict(
    inputs: &[Input],
    machines: &[Machine],
    rows: &[Row],
    base: usize,
    other: usize,
    a_step: &Repeated,
    b_step: &Repeated,
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
                workload.definition.layers.len() * 3
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
    let sentence = match (cost_ratio, cost_interval) {
        (Some(c), Some(ci_cost)) => format!(
            "{} does the {} training step at {} the cost of {} ({}), at {} its speed (95% \
             interval: cost {}, speed {}), {reps_text}{scope}",
            b.label,
            workload.name,
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
                "{} does the {} training step at {} the speed of {} (95% interval {}), \
                 {reps_text}{scope}; its cost is unknown: no price for {} (give --price-file \
                 FILE, or price the files with `flopcost cost FILE --usd-per-hour X --out \
                 FILE`)",
                b.label,
                workload.name,
                fmt_ratio(speed),
                a.label,
                ci(interval),
                who.join(" and ")
            )
        }
    };
    Some(Verdict {
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
