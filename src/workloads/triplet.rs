//! Training triplets: the three GEMMs one dense layer runs per training step.
//!
//! A layer `in → out` with a batch of B tokens computes
//! - forward `Y = X·W`: (B×in)·(in×out), NN, M = B, N = out, K = in;
//! - input gradient `dX = dY·Wᵀ`: (B×out)·(out×in), NT, M = B, N = in, K = out, with W
//!   stored in×out (N×K);
//! - weight gradient `dW = Xᵀ·dY`: (in×B)·(B×out), TN, M = in, N = out, K = B, with X
//!   stored B×in (K×M).
//!
//! Together 6·B·in·out FLOPs. [`summarize`] turns a block's timed products into the
//! cost of a training step of its layers.

use super::blocks::Block;
use crate::result::{Record, TripletBlock, TripletLayer, TripletTimes};
use crate::types::Layout;

/// One timed product of a block: the layer's index, its layout and the record.
pub type BlockRecord = (usize, Layout, Record);

/// Per kernel, the cost of one training step of the block's layers at `tokens`: each
/// layer's three median times and their sum, the training throughput and the slowest
/// product. Layers with a product that was skipped or failed verification are listed
/// as missing and left out of the totals; a kernel with no complete layer gives no
/// summary.
pub fn summarize(block: &Block, tokens: u32, records: &[BlockRecord]) -> Vec<TripletBlock> {
    // One summary per (kernel, precision), in the order they first ran.
    let mut kernels: Vec<(&str, crate::types::Precision)> = Vec::new();
    for (_, _, r) in records {
        let k = (r.kernel.name.as_str(), r.precision);
        if !kernels.contains(&k) {
            kernels.push(k);
        }
    }
    let mut out = Vec::new();
    for (kernel, precision) in kernels {
        let mut layers = Vec::new();
        let mut missing = Vec::new();
        for (li, layer) in block.layers.iter().enumerate() {
            let found: Vec<Option<&Record>> = Layout::ALL
                .iter()
                .map(|&layout| {
                    records
                        .iter()
                        .find(|(i, l, r)| {
                            *i == li
                                && *l == layout
                                && r.kernel.name == kernel
                                && r.precision == precision
                        })
                        .map(|(_, _, r)| r)
                        .filter(|r| r.timing.is_some())
                })
                .collect();
            match found.as_slice() {
                [Some(f), Some(i), Some(w)] => {
                    let median = |r: &Record| r.timing.as_ref().map_or(0.0, |t| t.median_ns);
                    layers.push(TripletLayer {
                        name: layer.name.clone(),
                        d_in: layer.d_in,
                        d_out: layer.d_out,
                        record_ids: vec![f.id.clone(), i.id.clone(), w.id.clone()],
                        times: TripletTimes::new(
                            [median(f), median(i), median(w)],
                            layer.training_flops(tokens),
                        ),
                    });
                }
                _ => missing.push(layer.name.clone()),
            }
        }
        if layers.is_empty() {
            continue;
        }
        let mut sum = [0.0; 3];
        for l in &layers {
            for (s, t) in sum.iter_mut().zip(l.times.times()) {
                *s += t;
            }
        }
        let flops = layers.iter().map(|l| l.times.flops).sum();
        out.push(TripletBlock {
            block: block.name.clone(),
            description: block.description.clone(),
            tokens,
            kernel: kernel.to_string(),
            precision,
            layers,
            missing_layers: missing,
            total: TripletTimes::new(sum, flops),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Layer, Shape};

    #[test]
    fn triplet_shapes_and_flops() {
        let l = Layer::new("up", 4096, 14336);
        let t = l.triplet(64);
        assert_eq!(t[0], (Layout::Nn, Shape::new(64, 14336, 4096)));
        assert_eq!(t[1], (Layout::Nt, Shape::new(64, 4096, 14336)));
        assert_eq!(t[2], (Layout::Tn, Shape::new(4096, 14336, 64)));
        let sum: u64 = t.iter().map(|(_, s)| s.flops()).sum();
        assert_eq!(sum, l.training_flops(64));
        assert_eq!(sum, 6 * 64 * 4096 * 14336);
    }
}

#[cfg(test)]
mod summary_tests {
    use super::*;
    use crate::result::{KernelRecord, Timing, Verification};
    use crate::types::{Layer, Precision, Shape};

    fn record(id: &str, layout: Layout, s: Shape, kernel: &str, median_ns: Option<f64>) -> Record {
        Record {
            id: id.into(),
            kind: crate::result::RecordKind::Gemm,
            precision: Precision::F32,
            layout,
            m: s.m,
            n: s.n,
            k: s.k,
            role: None,
            batch: None,
            shared_b: None,
            kernel: KernelRecord {
                name: kernel.into(),
                params: Default::default(),
                source: None,
                shape_class: None,
                path: None,
            },
            shards: None,
            flops: s.flops(),
            verification: Verification {
                rel_error: Some(1e-7),
                tolerance: 1e-4,
                passed: median_ns.is_some(),
                checked_entries: 1,
                method: crate::result::CheckMethod::Full,
                unwritten_entries: 0,
            },
            timing: median_ns.map(|m| Timing {
                method: crate::types::TimingMethod::GpuTimestamp,
                samples: 1,
                warmup_runs: 1,
                median_ns: m,
                p10_ns: m,
                p90_ns: m,
                p99_ns: m,
                min_ns: m,
                max_ns: m,
                mean_ns: m,
                stddev_ns: 0.0,
                cv: 0.0,
                histogram: String::new(),
                histogram_format: String::new(),
                gpu_host_ratio: None,
            }),
            tflops: None,
            efficiency: None,
            power: None,
        }
    }

    #[test]
    fn summary_adds_up_the_three_products_per_layer_and_kernel() {
        let block = Block::new(
            "b",
            "test",
            vec![Layer::new("up", 8, 32), Layer::new("down", 32, 8)],
        );
        let mut recs = Vec::new();
        for (li, l) in block.layers.iter().enumerate() {
            for (pi, (layout, s)) in l.triplet(4).into_iter().enumerate() {
                // Weight gradients are 3× slower than forward products here.
                let ns = [100.0, 150.0, 300.0][pi] * (li + 1) as f64;
                recs.push((
                    li,
                    layout,
                    record(&format!("{li}{layout}"), layout, s, "k", Some(ns)),
                ));
                // A second kernel whose last product failed verification.
                let failed = li == 1 && layout == Layout::Tn;
                let r = record(
                    &format!("{li}{layout}x"),
                    layout,
                    s,
                    "x",
                    (!failed).then_some(ns),
                );
                recs.push((li, layout, r));
            }
        }
        let out = summarize(&block, 4, &recs);
        assert_eq!(out.len(), 2);
        let k = &out[0];
        assert_eq!((k.kernel.as_str(), k.layers.len()), ("k", 2));
        assert_eq!(k.layers[0].record_ids, vec!["0nn", "0nt", "0tn"]);
        assert_eq!(k.layers[1].times.step_ns, 2.0 * 550.0);
        assert_eq!(k.total.step_ns, 3.0 * 550.0);
        assert_eq!(k.total.forward_ns, 300.0);
        assert_eq!(k.total.flops, 6 * 4 * (8 * 32 + 32 * 8));
        assert_eq!(k.total.flops, block.training_flops(4));
        assert!((k.total.tflops - k.total.flops as f64 / 1650.0 / 1e3).abs() < 1e-15);
        assert_eq!(k.total.slowest, "weight_gradient");
        assert_eq!(k.total.slowest_vs_fastest, 3.0);
        let x = &out[1];
        assert_eq!(x.layers.len(), 1);
        assert_eq!(x.missing_layers, vec!["down"]);
        assert_eq!(x.total.flops, 6 * 4 * 8 * 32);
    }
}
