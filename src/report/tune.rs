//! Tuning as people read it: a table of one shape's candidates, fastest first, a line
//! per candidate while tuning runs, and the summary of the winners.

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};

use crate::kernels::BlockConfig;
use crate::kernels::tune::{Outcome, Trial};
use crate::types::Shape;
use crate::util::{fmt_ns, fmt_sig};

/// One row of the summary: what was tuned, its class and shape, the winner and its speed.
pub struct Winner {
    pub what: String,
    pub class: String,
    pub shape: Shape,
    /// The winning configuration, or `-`.
    pub winner: String,
    /// Its TFLOP/s and where the figure comes from, or why there is none.
    pub tflops: String,
}

/// The winners of a `flopcost tune`.
pub fn summary(rows: &[Winner]) -> String {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(["layout", "shape class", "tuned on", "winner", "TFLOP/s"]);
    for r in rows {
        t.add_row(vec![
            Cell::new(&r.what),
            Cell::new(&r.class),
            Cell::new(r.shape.to_string()),
            Cell::new(&r.winner),
            Cell::new(&r.tflops).set_alignment(CellAlignment::Right),
        ]);
    }
    t.to_string()
}

/// One table of candidates, fastest first.
pub fn trials(trials: &[Trial], shape: Shape, best: Option<(BlockConfig, f64)>) -> String {
    let mut rows: Vec<&Trial> = trials.iter().collect();
    let key = |t: &Trial| match t.outcome {
        Outcome::Timed { best_ns, .. } => (0, best_ns),
        Outcome::Slow { first_ns } => (1, first_ns),
        Outcome::Failed(_) => (2, 0.0),
        Outcome::Skipped => (3, 0.0),
    };
    rows.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
    });
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header([
            "candidate",
            "result",
            "fastest",
            "median",
            "TFLOP/s (fastest)",
            "vs best",
        ]);
    for r in rows {
        let dash = || "-".to_string();
        let (result, fastest, median, tf, rel) = match &r.outcome {
            Outcome::Timed {
                median_ns,
                best_ns,
                samples,
            } => (
                if best.is_some_and(|(c, _)| c == r.config) {
                    format!("best ({samples} samples)")
                } else {
                    format!("verified ({samples} samples)")
                },
                fmt_ns(*best_ns),
                fmt_ns(*median_ns),
                fmt_sig(shape.flops() as f64 / best_ns / 1e3, 3),
                best.map_or(dash(), |(_, b)| format!("{:.2}", b / best_ns)),
            ),
            Outcome::Slow { first_ns } => (
                "verified; over 3× the best, not sampled".into(),
                format!("~{}", fmt_ns(*first_ns)),
                dash(),
                dash(),
                dash(),
            ),
            Outcome::Failed(why) => (format!("DISCARDED: {why}"), dash(), dash(), dash(), dash()),
            Outcome::Skipped => ("not tried (budget)".into(), dash(), dash(), dash(), dash()),
        };
        t.add_row(vec![
            Cell::new(r.config.to_string()),
            Cell::new(result),
            Cell::new(fastest).set_alignment(CellAlignment::Right),
            Cell::new(median).set_alignment(CellAlignment::Right),
            Cell::new(tf).set_alignment(CellAlignment::Right),
            Cell::new(rel).set_alignment(CellAlignment::Right),
        ]);
    }
    t.to_string()
}

/// The line shown for a candidate once tried; `None` for one not tried.
pub fn trial_line(trial: &Trial, shape: Shape) -> Option<String> {
    let line = match &trial.outcome {
        Outcome::Timed {
            median_ns, best_ns, ..
        } => format!(
            "{} TFLOP/s at the fastest sample ({}, median {})",
            fmt_sig(shape.flops() as f64 / best_ns / 1e3, 3),
            fmt_ns(*best_ns),
            fmt_ns(*median_ns)
        ),
        Outcome::Slow { .. } => "over 3× slower than the best; not sampled".into(),
        Outcome::Failed(why) => format!("DISCARDED: {why}"),
        Outcome::Skipped => return None,
    };
    Some(format!(
        "  candidate {:<24} {line}",
        trial.config.to_string()
    ))
}
