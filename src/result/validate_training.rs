//! Invariants of the `triplets` and `training` sections: every derived number is
//! recomputed from what it is derived from (the records, the model shape, the step
//! times), and the training section must describe a run that passed its gradient check.

use super::training::PRODUCTS;
use super::validate::timing_problems;
use super::{Record, ResultFile, Training, TripletBlock, TripletTimes};
use crate::types::Layer;

/// Relative slack for recomputed floats (sums of a few terms in a different order).
const SLACK: f64 = 1e-9;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= SLACK * a.abs().max(b.abs())
}

fn finite_pos(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

/// Problems of the triplet summaries, each prefixed with where it is.
pub fn triplet_problems(file: &ResultFile) -> Vec<String> {
    let mut out = Vec::new();
    for (i, b) in file.triplets.iter().enumerate() {
        let at = format!("triplets[{i}] ({} {} {})", b.block, b.kernel, b.precision);
        for p in block_problems(b, &file.records) {
            out.push(format!("{at}: {p}"));
        }
    }
    out
}

fn block_problems(b: &TripletBlock, records: &[Record]) -> Vec<String> {
    let mut out = Vec::new();
    if b.tokens == 0 {
        out.push("tokens must be at least 1".into());
    }
    if b.layers.is_empty() {
        out.push("no layers".into());
    }
    let mut sums = [0.0; 3];
    let mut flops = 0u64;
    for l in &b.layers {
        let at = format!("layer {}", l.name);
        let layer = Layer::new(&l.name, l.d_in, l.d_out);
        let want = layer.triplet(b.tokens);
        if l.record_ids.len() != 3 {
            out.push(format!(
                "{at}: needs 3 record ids, has {}",
                l.record_ids.len()
            ));
        } else {
            for (k, ((layout, shape), id)) in want.iter().zip(&l.record_ids).enumerate() {
                let Some(r) = records.iter().find(|r| &r.id == id) else {
                    out.push(format!("{at}: record {id} is not in the file"));
                    continue;
                };
                if r.layout != *layout || (r.m, r.n, r.k) != (shape.m, shape.n, shape.k) {
                    out.push(format!(
                        "{at}: record {id} is {} {}x{}x{}, the {} product is {layout} {shape}",
                        r.layout, r.m, r.n, r.k, PRODUCTS[k]
                    ));
                }
                if r.kernel.name != b.kernel {
                    out.push(format!("{at}: record {id} ran kernel {}", r.kernel.name));
                }
                if r.precision != b.precision {
                    out.push(format!("{at}: record {id} is {}", r.precision));
                }
                match &r.timing {
                    Some(t) if r.verification.passed => {
                        if !close(t.median_ns, l.times.times()[k]) {
                            out.push(format!(
                                "{at}: {}_ns {} is not record {id}'s median {}",
                                PRODUCTS[k],
                                l.times.times()[k],
                                t.median_ns
                            ));
                        }
                    }
                    _ => out.push(format!("{at}: record {id} was not verified and timed")),
                }
            }
        }
        for p in times_problems(&l.times, layer.training_flops(b.tokens)) {
            out.push(format!("{at}: {p}"));
        }
        for (s, t) in sums.iter_mut().zip(l.times.times()) {
            *s += t;
        }
        flops += l.times.flops;
    }
    if !b.layers.is_empty() {
        for (k, s) in sums.iter().enumerate() {
            let got = b.total.times()[k];
            if (got - s).abs() > 1e-9 * s.abs().max(1.0) {
                out.push(format!(
                    "total {}_ns {got} is not the layers' sum {s}",
                    PRODUCTS[k]
                ));
            }
        }
        for p in times_problems(&b.total, flops) {
            out.push(format!("total: {p}"));
        }
    }
    out
}

fn times_problems(t: &TripletTimes, flops: u64) -> Vec<String> {
    let mut out = Vec::new();
    let times = t.times();
    if !times.iter().all(|v| finite_pos(*v)) {
        out.push(format!("times {times:?} are not all positive"));
        return out;
    }
    let sum: f64 = times.iter().sum();
    if !close(t.step_ns, sum) {
        out.push(format!(
            "step_ns {} is not the sum of the three ({sum})",
            t.step_ns
        ));
    }
    if t.flops != flops {
        out.push(format!("flops {} != 6·B·Σ d_in·d_out = {flops}", t.flops));
    }
    if !close(t.tflops, t.flops as f64 / t.step_ns / 1e3) {
        out.push(format!(
            "tflops {} does not match flops / step_ns",
            t.tflops
        ));
    }
    let (max, min) = (
        times.iter().copied().fold(f64::MIN, f64::max),
        times.iter().copied().fold(f64::MAX, f64::min),
    );
    match PRODUCTS.iter().position(|p| *p == t.slowest) {
        Some(k) if times[k] == max => {}
        _ => out.push(format!(
            "slowest {:?} is not the slowest product",
            t.slowest
        )),
    }
    if !close(t.slowest_vs_fastest, max / min) {
        out.push(format!(
            "slowest_vs_fastest {} is not the slowest over the fastest time ({})",
            t.slowest_vs_fastest,
            max / min
        ));
    }
    out
}

/// Problems of the training sections, each prefixed with `training` (or
/// `more_training[i]`).
pub fn training_problems(file: &ResultFile) -> Vec<String> {
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
    if !(finite_pos(t.loss_start) && t.loss_end.is_finite() && t.loss_end >= 0.0) {
        out.push(format!(
            "loss_start {} and loss_end {} must be finite (and loss_start positive)",
            t.loss_start, t.loss_end
        ));
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
    match t.loss_curve.last() {
        None => out.push("loss_curve is empty".into()),
        Some(last) => {
            if last.step != t.steps {
                out.push(format!(
                    "loss_curve ends at step {}, not {}",
                    last.step, t.steps
                ));
            }
            if !close(last.loss, t.loss_end) {
                out.push("loss_end is not the last point of loss_curve".into());
            }
        }
    }
    if t.loss_curve.windows(2).any(|w| w[0].step >= w[1].step)
        || t.loss_curve.iter().any(|p| !p.loss.is_finite())
    {
        out.push("loss_curve steps must increase and every loss be finite".into());
    }
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
    let errors = [g.loss_rel_error, g.gradient_rel_error, g.update_rel_error];
    let ok = finite_pos(g.tolerance) && errors.iter().all(|e| e.is_finite() && *e <= g.tolerance);
    if g.passed != ok {
        out.push("gradient_check.passed disagrees with its errors and tolerance".into());
    }
    if !g.passed {
        out.push("training ran although its gradient check failed".into());
    }
    out
}
