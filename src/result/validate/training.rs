//! The training sections: every derived number is recomputed from what it is derived
//! from (the model shape, the step times, the loss curve), tolerances are the fixed ones,
//! and a section must describe a run that passed its gradient check.

use super::common::{close, finite_pos, timing_problems};
use crate::result::training::Training;
use crate::result::types::{Record, ResultFile};

/// Problems of the training sections, each prefixed with `training` (or
/// `more_training[i]`).
pub fn check(file: &ResultFile) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for (i, t) in file.trainings().enumerate() {
        let at = if i == 0 {
            "training".to_string()
        } else {
            format!("more_training[{}]", i - 1)
        };
        if seen.contains(&t.precision) {
            out.push(format!("{at}: a second training in {}", t.precision));
        }
        seen.push(t.precision);
        out.extend(
            section_problems(t, &file.records)
                .into_iter()
                .map(|p| format!("{at}: {p}")),
        );
    }
    if file.training.is_none() && !file.more_training.is_empty() {
        out.push("more_training without training".into());
    }
    out
}

fn section_problems(t: &Training, records: &[Record]) -> Vec<String> {
    let mut out = Vec::new();
    let layers = &t.model.layers;
    if layers.is_empty() || layers.iter().any(|l| l.d_in == 0 || l.d_out == 0) {
        out.push("model.layers must be non-empty, every size at least 1".into());
        return out;
    }
    if layers.windows(2).any(|w| w[0].d_out != w[1].d_in) {
        out.push("model.layers do not chain (a d_out differs from the next d_in)".into());
    }
    let params: u64 = layers
        .iter()
        .map(|l| u64::from(l.d_in) * u64::from(l.d_out) + u64::from(l.d_out))
        .sum();
    if t.parameters != params {
        out.push(format!(
            "parameters {} != Σ (d_in·d_out + d_out) = {params}",
            t.parameters
        ));
    }
    let b = u64::from(t.tokens_per_step);
    if b == 0 {
        out.push("tokens_per_step must be at least 1".into());
    }
    let sum: u64 = layers
        .iter()
        .map(|l| u64::from(l.d_in) * u64::from(l.d_out))
        .sum();
    let first = u64::from(layers[0].d_in) * u64::from(layers[0].d_out);
    let want = 6 * b * sum - 2 * b * first;
    if t.flops_per_step != want {
        out.push(format!(
            "flops_per_step {} != 6·B·Σ d_in·d_out − 2·B·d_in·d_out of the first layer = {want}",
            t.flops_per_step
        ));
    }
    out.extend(timing_problems(&t.step_time));
    if t.step_time.samples != t.steps {
        out.push(format!(
            "step_time has {} samples for {} steps",
            t.step_time.samples, t.steps
        ));
    }
    let median = t.step_time.median_ns;
    if median > 0.0 {
        if !close(t.tflops, t.flops_per_step as f64 / median / 1e3) {
            out.push(format!(
                "tflops {} does not match flops_per_step / median",
                t.tflops
            ));
        }
        if !close(t.tokens_per_second, b as f64 / (median * 1e-9)) {
            out.push(format!(
                "tokens_per_second {} does not match tokens_per_step / median",
                t.tokens_per_second
            ));
        }
    }
    if !matches!(t.precision.as_str(), "f32" | "f16") {
        out.push(format!("precision {:?} is not f32 or f16", t.precision));
    }
    match (t.precision.as_str(), t.loss_scale) {
        ("f16", Some(s)) if finite_pos(s) && s.log2().fract() == 0.0 => {}
        ("f16", _) => out.push("f16 training needs a loss_scale that is a power of two".into()),
        (_, Some(_)) => out.push("loss_scale is only for f16 training".into()),
        _ => {}
    }
    let best = records
        .iter()
        .filter(|r| r.precision == t.precision)
        .filter_map(|r| r.tflops.as_ref().map(|x| x.median))
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    match (t.best_gemm_tflops, best) {
        (Some(g), Some(want)) if !close(g, want) => out.push(format!(
            "best_gemm_tflops {g} is not the best record's median ({want})"
        )),
        (Some(_), None) => out.push("best_gemm_tflops is set but no record was timed".into()),
        _ => {}
    }
    match (t.best_gemm_tflops, t.tflops_vs_best_gemm) {
        (Some(g), Some(r)) if !close(r, t.tflops / g) => out.push(format!(
            "tflops_vs_best_gemm {r} is not tflops / best_gemm_tflops"
        )),
        (None, Some(_)) => out.push("tflops_vs_best_gemm without best_gemm_tflops".into()),
        (Some(_), None) => out.push("best_gemm_tflops without tflops_vs_best_gemm".into()),
        _ => {}
    }
    out.extend(loss_problems(t));
    if t.log_every == 0 {
        out.push("log_every must be at least 1".into());
    }
    if !matches!(t.optimizer.name.as_str(), "adamw" | "sgd")
        || !finite_pos(t.optimizer.learning_rate)
    {
        out.push(format!(
            "optimizer {:?} with learning rate {} is not one flopcost runs",
            t.optimizer.name, t.optimizer.learning_rate
        ));
    }
    let g = &t.gradient_check;
    // The file cannot loosen its gradient check: the tolerance is at most the fixed one
    // of the training's precision (that of its GEMMs).
    let fixed = t.precision.tolerance();
    if !(finite_pos(g.tolerance) && g.tolerance <= fixed) {
        out.push(format!(
            "gradient_check.tolerance {:e} is looser than the fixed {fixed:e} of {} \
             training, which no file may exceed",
            g.tolerance, t.precision
        ));
    }
    let errors = [g.loss_rel_error, g.gradient_rel_error, g.update_rel_error];
    let ok = finite_pos(g.tolerance)
        && errors
            .iter()
            .all(|e| e.is_finite() && *e >= 0.0 && *e <= g.tolerance.min(fixed));
    if g.passed != ok {
        out.push("gradient_check.passed disagrees with its errors and tolerance".into());
    }
    if !g.passed {
        out.push("training ran although its gradient check failed".into());
    }
    out
}

/// The loss figures, recomputed from the logged curve. The loss is a mean squared error,
/// so never negative. The start is the first logged mean, the target that fraction of it,
/// and the target is reached at the first logged mean at or below it (the window of
/// `log_every` steps the curve averages). Files whose `target_window` is not `log_every`
/// were written before the figures were taken from the curve (their start is the first
/// step's loss, their window 10 steps); for them what the curve can show is checked: a
/// start the first logged mean can hold, and a claimed target that some logged mean
/// reached.
fn loss_problems(t: &Training) -> Vec<String> {
    let mut out = Vec::new();
    let curve = &t.loss_curve;
    let Some(first) = curve.first() else {
        out.push("loss_curve is empty".into());
        return out;
    };
    let last = &curve[curve.len() - 1];
    if last.step != t.steps {
        out.push(format!(
            "loss_curve ends at step {}, not {}",
            last.step, t.steps
        ));
    }
    if curve.windows(2).any(|w| w[0].step >= w[1].step)
        || !curve.iter().all(|p| p.loss.is_finite() && p.loss >= 0.0)
    {
        out.push(
            "loss_curve steps must increase and every loss be a finite, non-negative mean \
             squared error"
                .into(),
        );
        return out;
    }
    if !(finite_pos(t.loss_start) && t.loss_end.is_finite() && t.loss_end >= 0.0) {
        out.push(format!(
            "loss_start {} and loss_end {} must be finite (and loss_start positive)",
            t.loss_start, t.loss_end
        ));
    }
    if !(t.loss_end == last.loss || close(last.loss, t.loss_end)) {
        out.push("loss_end is not the last point of loss_curve".into());
    }
    if !(t.target_fraction > 0.0 && t.target_fraction <= 1.0) {
        out.push(format!(
            "target_fraction {} is not in (0, 1]",
            t.target_fraction
        ));
    }
    if !close(t.target_loss, t.target_fraction * t.loss_start) {
        out.push(format!(
            "target_loss {} is not target_fraction · loss_start",
            t.target_loss
        ));
    }
    let from_curve = t.target_window == t.log_every;
    if from_curve {
        if !(t.loss_start == first.loss || close(first.loss, t.loss_start)) {
            out.push(format!(
                "loss_start {} is not the first logged mean {}",
                t.loss_start, first.loss
            ));
        }
    } else {
        // The first step's loss is one of the first window's non-negative terms.
        let most = first.step as f64 * first.loss * (1.0 + 1e-9);
        if t.loss_start > most {
            out.push(format!(
                "loss_start {} is more than the first window of {} steps can hold (mean {})",
                t.loss_start, first.step, first.loss
            ));
        }
    }
    let reached_at = curve
        .iter()
        .find(|p| p.loss <= t.target_loss)
        .map(|p| p.step);
    if t.reached_target && reached_at.is_none() {
        out.push(format!(
            "reached_target is true but no logged loss is at or below the target {}",
            t.target_loss
        ));
    } else if from_curve && t.steps_to_target != reached_at {
        out.push(format!(
            "steps_to_target {:?} is not the first logged step at or below the target ({:?})",
            t.steps_to_target, reached_at
        ));
    }
    if t.reached_target != t.steps_to_target.is_some()
        || t.steps_to_target.is_some() != t.seconds_to_target.is_some()
    {
        out.push("reached_target, steps_to_target and seconds_to_target disagree".into());
    }
    if let (Some(s), Some(secs)) = (t.steps_to_target, t.seconds_to_target) {
        if s == 0 || s > t.steps {
            out.push(format!("steps_to_target {s} is not within 1..={}", t.steps));
        }
        // Each of the s steps took between the fastest and the slowest step time.
        let (lo, hi) = (t.step_time.min_ns, t.step_time.max_ns);
        let slack = 1e-6;
        if !(secs >= s as f64 * lo * 1e-9 * (1.0 - slack)
            && secs <= s as f64 * hi * 1e-9 * (1.0 + slack))
        {
            out.push(format!(
                "seconds_to_target {secs} is not {s} steps of {lo}..{hi} ns each"
            ));
        }
    }
    out
}
