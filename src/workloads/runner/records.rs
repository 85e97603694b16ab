//! Building a benchmark's record: its id, what ran, its verification, and (only once it
//! passed) its timing, throughput and efficiency.

use std::collections::HashSet;

use crate::kernels::tune::ShapeClass;
use crate::kernels::{GemmPipeline, KernelSpec};
use crate::result::{
    CheckMethod, KernelRecord, Peaks, Record, RecordKind, Tflops, Timing, Verification,
};
use crate::types::{Batch, ConfigSource, Layout, Precision, Shape};
use crate::verify::Check;

/// Record ids handed out in one run of a suite; a product that runs twice (two layers of
/// one shape) gets `-2`, `-3`, ...
#[derive(Default)]
pub struct Ids(HashSet<String>);

impl Ids {
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// `gemm-<layout>-<shape>-<kernel>`, with the precision appended unless f32; a batch
    /// is `b<count>` (and `g<sharing>`) before the shape.
    pub fn next(
        &mut self,
        layout: Layout,
        (shape, batch): (Shape, Batch),
        kernel: &str,
        precision: Precision,
    ) -> String {
        let b = match (batch.count, batch.share_b) {
            (1, _) => String::new(),
            (c, 1) => format!("b{c}-"),
            (c, g) => format!("b{c}g{g}-"),
        };
        let mut id = format!("gemm-{layout}-{b}{shape}-{kernel}");
        if precision != Precision::F32 {
            id = format!("{id}-{precision}");
        }
        if self.0.insert(id.clone()) {
            return id;
        }
        let mut n = 2;
        while !self.0.insert(format!("{id}-{n}")) {
            n += 1;
        }
        format!("{id}-{n}")
    }
}

/// What ran for one record.
pub struct Ran<'a> {
    pub spec: &'a KernelSpec,
    pub pipeline: &'a GemmPipeline,
    pub source: ConfigSource,
    pub class: Option<ShapeClass>,
    pub precision: Precision,
    /// Pieces the product was split into.
    pub shards: usize,
}

/// The record of a verified (or failed) product, not yet timed.
pub fn untimed(
    id: String,
    layout: Layout,
    (shape, batch): (Shape, Batch),
    role: Option<String>,
    ran: &Ran<'_>,
    check: &Check,
) -> Record {
    Record {
        id,
        kind: RecordKind::Gemm,
        precision: ran.precision,
        layout,
        m: shape.m,
        n: shape.n,
        k: shape.k,
        role,
        batch: (batch.count > 1).then_some(batch.count),
        shared_b: (batch.share_b > 1).then_some(batch.share_b),
        kernel: KernelRecord {
            name: ran.spec.name.clone(),
            params: crate::kernels::registry::params(&ran.pipeline.spec)
                .into_iter()
                .collect(),
            source: Some(ran.source),
            shape_class: ran.class.map(|c| c.to_string()),
            path: Some(ran.pipeline.variant.path()),
        },
        shards: (ran.shards > 1).then_some(ran.shards as u32),
        flops: shape.checked_batch_flops(batch).unwrap_or(u64::MAX),
        verification: Verification {
            rel_error: check.rel_error,
            tolerance: check.tolerance,
            passed: check.passed,
            checked_entries: check.checked_entries,
            method: if check.full {
                CheckMethod::Full
            } else {
                CheckMethod::Sampled
            },
            unwritten_entries: check.unwritten_entries,
        },
        timing: None,
        tflops: None,
        efficiency: None,
        power: None,
    }
}

/// Adds the timing, the throughput and the efficiency against the measured peak of the
/// record's precision and path (where there is one).
pub fn timed(mut record: Record, timing: Timing, peaks: Option<&Peaks>) -> Record {
    let tflops = Tflops {
        median: record.flops as f64 / timing.median_ns / 1e3,
        best: record.flops as f64 / timing.min_ns / 1e3,
    };
    let peak = peaks.and_then(|p| p.tflops_for(record.precision, record.kernel.path));
    record.efficiency = peak.map(|p| tflops.median / p);
    record.timing = Some(timing);
    record.tflops = Some(tflops);
    record
}
