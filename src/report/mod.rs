//! Presenting results to people: a run's summary table (here), comparisons ([`compare`],
//! drawn by [`export`]), the fleet summary, the leaderboard, the cost breakdown, the
//! peak, training and tuning tables, and progress on stderr.

pub mod breakdown;
pub mod escape;
pub mod export;
pub mod fleet;
pub mod leaderboard;
pub mod peaks;
pub mod progress;
pub mod training;
pub mod tune;

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};

/// Renders a model (a comparison, a fleet, a leaderboard) in one output format. Every
/// output of a report goes through one of these, and then through the one output path of
/// the commands (stdout, or `--out` written atomically).
pub trait Exporter<M> {
    fn render(&self, model: &M) -> anyhow::Result<String>;
}

use crate::result::Record;
use crate::util::{clean, fmt_err, fmt_ns, fmt_sig};

/// The summary table printed at the end of a run.
pub fn summary_table(records: &[Record]) -> String {
    let with_roles = records.iter().any(|r| r.role.is_some());
    // A precision column (with the path, `simt` or `coopmat`) once anything is not f32.
    let with_precision = records
        .iter()
        .any(|r| r.precision != crate::types::Precision::F32);
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled);
    let mut header = vec!["shape MxNxK", "layout", "kernel"];
    if with_precision {
        header.push("precision");
    }
    header.extend([
        "TFLOP/s median",
        "TFLOP/s best",
        "p90 latency",
        "rel. error",
    ]);
    if with_roles {
        header.push("role");
    }
    t.set_header(header);
    for r in records {
        let (median, best, p90) = match (&r.tflops, &r.timing) {
            (Some(tf), Some(tm)) => (
                fmt_sig(tf.median, 3),
                fmt_sig(tf.best, 3),
                fmt_ns(tm.p90_ns),
            ),
            _ => ("FAILED".into(), "-".into(), "-".into()),
        };
        let mut row = vec![
            Cell::new(format!("{}{}x{}x{}", r.batch().prefix(), r.m, r.n, r.k)),
            Cell::new(r.layout.as_str()),
            Cell::new(&r.kernel.name),
        ];
        if with_precision {
            row.push(Cell::new(match &r.kernel.path {
                Some(p) => format!("{} {p}", r.precision),
                None => r.precision.to_string(),
            }));
        }
        row.extend([
            Cell::new(median).set_alignment(CellAlignment::Right),
            Cell::new(best).set_alignment(CellAlignment::Right),
            Cell::new(p90).set_alignment(CellAlignment::Right),
            Cell::new(fmt_err(r.verification.rel_error)).set_alignment(CellAlignment::Right),
        ]);
        if with_roles {
            row.push(Cell::new(r.role.as_deref().unwrap_or("")));
        }
        t.add_row(row);
    }
    t.to_string()
}

/// Writes `text` to stdout; a reader that went away (`| head`) is not an error.
pub fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("writing to stdout"))
        }
        _ => Ok(()),
    }
}

/// One line on what the run's work costs, each figure with its basis, or how to give a
/// price.
pub fn cost_line(c: &crate::result::Cost) -> String {
    let Some(u) = c.usd_per_hour else {
        return format!(
            "cost: {}",
            c.note
                .as_deref()
                .unwrap_or("no price and no verified record")
        );
    };
    let mut parts = Vec::new();
    for (v, basis) in [
        (c.usd_per_pflop_workload, "the workload's training step"),
        (c.usd_per_pflop_training, "the MLP training run"),
        (c.usd_per_pflop, "the best GEMM"),
    ] {
        if let Some(v) = v {
            parts.push(format!("{} per PFLOP of {basis}", export::fmt_usd(v)));
        }
    }
    if parts.is_empty() {
        parts.push("no verified work to price".into());
    }
    format!(
        "cost: {} ({} per hour, {}); `flopcost cost FILE` shows the breakdown",
        parts.join("; "),
        export::fmt_usd(u),
        c.pricing.map_or("", |p| p.as_str())
    )
}

/// What `flopcost run` prints at the end: the records, the best one, the blocks of
/// training layers, the training runs and the cost.
pub fn run_summary(file: &crate::result::ResultFile, timing: crate::types::TimingMethod) -> String {
    let mut out = vec![summary_table(&file.records)];
    if let Some(best) = crate::result::best_record(&file.records) {
        let tf = best.tflops.as_ref().map_or(0.0, |t| t.median);
        out.push(format!(
            "best: {} TFLOP/s median ({} {}x{}x{}, kernel {}), timing {timing}",
            fmt_sig(tf, 3),
            best.layout,
            best.m,
            best.n,
            best.k,
            best.kernel.name,
        ));
    }
    if !file.triplets.is_empty() {
        out.push(training::triplet_table(&file.triplets));
    }
    for t in file.trainings() {
        out.push(training::training_summary(t));
    }
    if let Some(w) = &file.workload {
        out.push(workload_line(w, file.cost.as_ref()));
    }
    if let Some(c) = &file.cost {
        out.push(cost_line(c));
    }
    if let Some(p) = &file.power {
        out.push(energy_line(p, file.cost.as_ref()));
    }
    out.join("\n")
}

/// The measured energy: the source, idle power, and joules per PFLOP beside the
/// nameplate figure.
pub fn energy_line(p: &crate::result::PowerSection, c: Option<&crate::result::Cost>) -> String {
    let mut parts = Vec::new();
    if let Some(c) = c {
        for (measured, nameplate, basis) in [
            (
                c.joules_per_pflop_training_measured,
                c.joules_per_pflop_training,
                "the training work",
            ),
            (
                c.joules_per_pflop_measured,
                c.joules_per_pflop,
                "the best GEMM",
            ),
        ] {
            if let Some(m) = measured {
                parts.push(format!(
                    "{} J per PFLOP of {basis} measured{}",
                    fmt_sig(m, 3),
                    nameplate.map_or_else(String::new, |n| format!(
                        " ({} J at nameplate watts)",
                        fmt_sig(n, 3)
                    ))
                ));
            }
        }
        if let Some(w) = c.measured_watts {
            parts.push(format!("mean {} W", fmt_sig(w, 3)));
        }
    }
    if let Some(i) = p.idle_watts {
        parts.push(format!("idle {} W", fmt_sig(i, 3)));
    }
    if parts.is_empty() {
        parts.push("no phase long enough for a figure".into());
    }
    format!(
        "energy: {} (power from {}, {} samples)",
        parts.join("; "),
        clean(&p.method),
        p.samples
    )
}

/// The workload's step, what it ran in, and what a training token of its model costs.
pub fn workload_line(
    w: &crate::result::WorkloadRecord,
    cost: Option<&crate::result::Cost>,
) -> String {
    let t = &w.step_times_ns;
    let mut out = format!(
        "workload {} v{} ({}): step {} ({} of {} repetitions, geometric mean)",
        clean(&w.name),
        w.version,
        w.work_text(),
        crate::stats::geo_mean(t).map_or_else(|| "none".into(), fmt_ns),
        t.len(),
        w.repetitions
    );
    if let Some(m) = &w.model_step {
        out.push_str(&format!(
            "\nper training token of {} ({} layers and the LM head, {} tokens per step): {} \
             tokens/s",
            clean(&m.model),
            m.layers,
            m.tokens,
            fmt_sig(m.tokens_per_second, 3)
        ));
        if let Some(p) = cost.and_then(|c| c.per_token.as_ref()) {
            if let Some(u) = p.usd_per_million_tokens {
                out.push_str(&format!(", {} per million tokens", export::fmt_usd(u)));
            }
            if let Some(j) = p.joules_per_million_tokens {
                out.push_str(&format!(
                    ", {} J per million tokens (nameplate watts)",
                    fmt_sig(j, 3)
                ));
            }
            if let Some(j) = p.joules_per_million_tokens_measured {
                out.push_str(&format!(
                    ", {} J per million tokens measured",
                    fmt_sig(j, 3)
                ));
            }
        }
        out.push_str(&format!("\n  {}", crate::cost::LEAVES_OUT));
        if let Some(o) = m.training_overhead {
            out.push_str(&format!(
                "; a whole training step of the MLP took {}× its GEMMs' time on this device",
                fmt_sig(o, 3)
            ));
        }
    }
    out
}
