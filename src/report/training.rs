//! Terminal output of the training sections: the cost of a training step per block of
//! layers, and the summary of an MLP training run.

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};

use super::{fmt_ns, fmt_sig};
use crate::result::{Training, TripletBlock, TripletTimes};
use crate::types::Precision;

/// `input gradient` for `input_gradient`.
fn product(name: &str) -> String {
    name.replace('_', " ")
}

/// "weight gradient 1.83×": the slowest product and how much slower than the fastest.
fn slowest(t: &TripletTimes) -> String {
    format!(
        "{} {}×",
        product(&t.slowest),
        fmt_sig(t.slowest_vs_fastest, 3)
    )
}

/// The kernel of a summary, with its precision when that is not f32 (`tuned f16`).
fn kernel_label(b: &TripletBlock) -> String {
    if b.precision == Precision::F32 {
        b.kernel.clone()
    } else {
        format!("{} {}", b.kernel, b.precision)
    }
}

/// One line per finished block, for the progress output.
pub fn triplet_line(b: &TripletBlock) -> String {
    format!(
        "{} (B={}, kernel {}): training step {} for {} layer(s), {} TFLOP/s; slowest: {}",
        b.block,
        b.tokens,
        kernel_label(b),
        fmt_ns(b.total.step_ns),
        b.layers.len(),
        fmt_sig(b.total.tflops, 3),
        slowest(&b.total)
    )
}

/// Per block and kernel: each layer's step time (the sum of its three products' median
/// times), training TFLOP/s and slowest product, and the block's total.
pub fn triplet_table(blocks: &[TripletBlock]) -> String {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header([
            "block",
            "layer",
            "in→out",
            "B",
            "kernel",
            "forward",
            "input grad",
            "weight grad",
            "step time",
            "train TFLOP/s",
            "slowest (vs fastest)",
        ]);
    let right = |s: String| Cell::new(s).set_alignment(CellAlignment::Right);
    for b in blocks {
        let row = |t: &mut Table, layer: &str, dims: String, x: &TripletTimes| {
            t.add_row(vec![
                Cell::new(&b.block),
                Cell::new(layer),
                Cell::new(dims),
                right(b.tokens.to_string()),
                Cell::new(kernel_label(b)),
                right(fmt_ns(x.forward_ns)),
                right(fmt_ns(x.input_gradient_ns)),
                right(fmt_ns(x.weight_gradient_ns)),
                right(fmt_ns(x.step_ns)),
                right(fmt_sig(x.tflops, 3)),
                Cell::new(slowest(x)),
            ]);
        };
        for l in &b.layers {
            row(&mut t, &l.name, format!("{}→{}", l.d_in, l.d_out), &l.times);
        }
        let total = if b.missing_layers.is_empty() {
            "total".to_string()
        } else {
            format!("total (without {})", b.missing_layers.join(", "))
        };
        row(&mut t, &total, String::new(), &b.total);
    }
    t.to_string()
}

/// A FLOP count with a decimal unit.
fn fmt_flops(f: u64) -> String {
    let v = f as f64;
    for (scale, unit) in [
        (1e15, "PFLOP"),
        (1e12, "TFLOP"),
        (1e9, "GFLOP"),
        (1e6, "MFLOP"),
    ] {
        if v >= scale {
            return format!("{} {unit}", fmt_sig(v / scale, 3));
        }
    }
    format!("{f} FLOP")
}

/// The training run in a few lines.
pub fn training_summary(t: &Training) -> String {
    let dims: Vec<String> = std::iter::once(t.model.layers[0].d_in)
        .chain(t.model.layers.iter().map(|l| l.d_out))
        .map(|d| d.to_string())
        .collect();
    let st = &t.step_time;
    let out = [
        format!(
            "training: MLP {} ({} layers, {} parameters, {}, {} loss), {} tokens per step, {} {} \
             with {} (lr {}), kernel {}",
            dims.join("→"),
            t.model.layers.len(),
            t.parameters,
            t.model.activation,
            t.model.loss,
            t.tokens_per_step,
            t.steps,
            if t.steps == 1 { "step" } else { "steps" },
            t.optimizer.name,
            t.optimizer.learning_rate,
            match (t.precision.as_str(), t.loss_scale) {
                ("f32", _) => t.kernel.clone(),
                (p, scale) => format!(
                    "{} in {p} ({}f32 master weights{})",
                    t.kernel,
                    t.kernel_path.map_or(String::new(), |k| format!("{k}, ")),
                    scale.map_or(String::new(), |s| format!(", loss scale {s}"))
                ),
            }
        ),
        format!(
            "  step time {} median (p10 {}, p90 {}, {}); {} tokens/s",
            fmt_ns(st.median_ns),
            fmt_ns(st.p10_ns),
            fmt_ns(st.p90_ns),
            st.method,
            fmt_sig(t.tokens_per_second, 3)
        ),
        format!(
            "  {} of GEMMs per step: {} TFLOP/s training{}",
            fmt_flops(t.flops_per_step),
            fmt_sig(t.tflops, 3),
            match (t.best_gemm_tflops, t.tflops_vs_best_gemm) {
                (Some(b), Some(r)) => format!(
                    ", {}× the best {} GEMM of the run ({} TFLOP/s)",
                    fmt_sig(r, 3),
                    t.precision,
                    fmt_sig(b, 3)
                ),
                _ => String::new(),
            }
        ),
        format!(
            "  loss {} → {} ({} of start); target {} ({} of start, {}-step mean): {}",
            fmt_sig(t.loss_start, 4),
            fmt_sig(t.loss_end, 4),
            fmt_sig(t.loss_end / t.loss_start, 3),
            fmt_sig(t.target_loss, 4),
            t.target_fraction,
            t.target_window,
            match (t.steps_to_target, t.seconds_to_target) {
                (Some(s), Some(secs)) => format!(
                    "reached at step {s} after {} of GPU time",
                    fmt_ns(secs * 1e9)
                ),
                _ => "NOT reached".to_string(),
            }
        ),
        format!(
            "  gradient check ({} tokens through {} layers vs f64): loss {:.1e}, gradients {:.1e}, \
             updates {:.1e} (tolerance {:.0e})",
            t.gradient_check.tokens,
            t.gradient_check.layers.len(),
            t.gradient_check.loss_rel_error,
            t.gradient_check.gradient_rel_error,
            t.gradient_check.update_rel_error,
            t.gradient_check.tolerance
        ),
    ];
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flop_counts_read_easily() {
        assert_eq!(fmt_flops(655_360), "655360 FLOP");
        assert_eq!(fmt_flops(46_137_344), "46.1 MFLOP");
        assert_eq!(fmt_flops(189_000_000_000), "189 GFLOP");
        assert_eq!(fmt_flops(999), "999 FLOP");
    }
}
