//! CSV: one row per (matched record or basis figure, machine), in long form, for
//! spreadsheets and pivot tables. Every cell goes through [`escape::csv`]: quoted per
//! RFC 4180 where it needs it, and never read as a formula.

use anyhow::Result;

use super::Exporter;
use crate::analysis::compare::{Basis, Comparison};
use crate::report::escape;

pub struct CsvExporter;

fn num(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map_or(String::new(), |x| format!("{x}"))
}

const HEADER: [&str; 25] = [
    "what",
    "basis",
    "precision",
    "layout",
    "m",
    "n",
    "k",
    "role",
    "machine",
    "label",
    "adapter",
    "kernel",
    "tflops",
    "ratio_to_baseline",
    "ratio_low",
    "ratio_high",
    "usd_per_pflop",
    "noisy",
    "tokens_per_second",
    "usd_per_million_tokens",
    "joules_per_pflop_nameplate",
    "joules_per_pflop_measured",
    "measured_watts",
    "joules_per_million_tokens_nameplate",
    "joules_per_million_tokens_measured",
];

impl Exporter<Comparison> for CsvExporter {
    fn render(&self, c: &Comparison) -> Result<String> {
        let mut out = HEADER.join(",") + "\n";
        let mut line = |cells: Vec<String>| {
            out.push_str(
                &cells
                    .iter()
                    .map(|s| escape::csv(s))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            out.push('\n');
        };
        // The basis figures first: the headline's is the workload step.
        for b in Basis::ALL {
            let base = c.machines[c.baseline].figure(b).map(|f| f.tflops);
            for (i, m) in c.machines.iter().enumerate() {
                let Some(f) = m.figure(b) else { continue };
                let pair = c.verdicts.iter().find(|p| p.machine == i);
                let headline = pair
                    .and_then(|p| p.headline.as_ref())
                    .filter(|_| b == Basis::WorkloadStep);
                line(vec![
                    f.what.clone(),
                    b.label().into(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    format!("{}", i + 1),
                    m.label.clone(),
                    m.adapter.clone(),
                    String::new(),
                    num(Some(f.tflops)),
                    num(match headline {
                        Some(v) => Some(v.speed_ratio),
                        None if i != c.baseline => base.map(|t| f.tflops / t),
                        None => None,
                    }),
                    num(headline.map(|v| v.speed_interval.low)),
                    num(headline.map(|v| v.speed_interval.high)),
                    num(f.usd_per_pflop),
                    String::new(),
                    String::new(),
                    String::new(),
                    num(f.joules_per_pflop),
                    num(f.joules_per_pflop_measured),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
            }
        }
        // Training tokens of the workload's model: the headline's second line.
        for (i, m) in c.machines.iter().enumerate() {
            let Some(t) = &m.per_token else { continue };
            let v = c
                .verdicts
                .iter()
                .find(|p| p.machine == i)
                .and_then(|p| p.headline.as_ref())
                .and_then(|h| h.per_token.as_ref());
            line(vec![
                format!("training tokens of {}", t.model),
                "per token".into(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                format!("{}", i + 1),
                m.label.clone(),
                m.adapter.clone(),
                String::new(),
                String::new(),
                num(v.map(|v| v.speed_ratio)),
                num(v.map(|v| v.speed_interval.low)),
                num(v.map(|v| v.speed_interval.high)),
                String::new(),
                String::new(),
                num(Some(t.tokens_per_second)),
                num(t.usd_per_million_tokens),
                String::new(),
                String::new(),
                String::new(),
                num(t.joules_per_million_tokens),
                num(t.joules_per_million_tokens_measured),
            ]);
        }
        for r in &c.rows {
            for (i, cell) in r.cells.iter().enumerate() {
                let Some(x) = cell else { continue };
                let m = &c.machines[i];
                line(vec![
                    x.record.clone(),
                    "record".into(),
                    r.precision.clone(),
                    r.layout.clone(),
                    r.m.to_string(),
                    r.n.to_string(),
                    r.k.to_string(),
                    r.role.clone().unwrap_or_default(),
                    format!("{}", i + 1),
                    m.label.clone(),
                    m.adapter.clone(),
                    x.kernel.clone(),
                    num(Some(x.tflops)),
                    num(x.ratio),
                    num(x.interval.map(|iv| iv.low)),
                    num(x.interval.map(|iv| iv.high)),
                    num(x.usd_per_pflop),
                    x.noisy.clone().unwrap_or_default(),
                    String::new(),
                    String::new(),
                    String::new(),
                    num(x.joules_per_pflop_measured),
                    num(x.measured_watts),
                    String::new(),
                    String::new(),
                ]);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_figures_are_empty_cells() {
        assert_eq!(num(Some(f64::NAN)), "");
        assert_eq!(num(Some(-0.5)), "-0.5");
    }
}
