//! The triplet summaries: every time is its record's median, every sum and ratio is
//! recomputed from them.

use super::common::{close, finite_pos};
use crate::result::training::{PRODUCTS, TripletBlock, TripletTimes};
use crate::result::types::{Record, ResultFile};
use crate::types::Layer;

/// Problems of the triplet summaries, each prefixed with where it is.
pub fn check(file: &ResultFile) -> Vec<String> {
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
