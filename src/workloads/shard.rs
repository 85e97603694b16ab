//! Splitting a GEMM whose operands exceed the adapter's buffer limits into independent
//! pieces, as tensor parallelism splits a layer across devices.
//!
//! The weights of large layers do not fit one storage binding everywhere (a 4096×14336
//! f32 matrix is 235 MB; lavapipe binds at most 128 MiB). A product `C = op(A)·op(B)`
//! splits without any reduction along the rows of C (A's rows, M) and the columns of C
//! (B's columns, N): piece (i, j) computes `C[i, j] = op(A)[i, :]·op(B)[:, j]` in full.
//! Splitting K would need a sum of partial products and is never done. Every piece is
//! a GEMM of its own, verified on its own, and all of them run in one pass, so the
//! record's time is the time of the whole product.

use crate::kernels::KernelSpec;
use crate::types::{Batch, Shape};

/// Rows of C per piece and columns of C per piece; the last piece of each may be
/// smaller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardPlan {
    pub shape: Shape,
    pub rows: u32,
    pub cols: u32,
}

impl ShardPlan {
    /// The pieces' shapes, row blocks outer, column blocks inner.
    pub fn pieces(&self) -> Vec<Shape> {
        let s = self.shape;
        let mut out = Vec::new();
        for r0 in (0..s.m).step_by(self.rows as usize) {
            for c0 in (0..s.n).step_by(self.cols as usize) {
                let m = self.rows.min(s.m - r0);
                let n = self.cols.min(s.n - c0);
                out.push(Shape::new(m, n, s.k));
            }
        }
        out
    }

    pub fn count(&self) -> u32 {
        self.shape.m.div_ceil(self.rows) * self.shape.n.div_ceil(self.cols)
    }
}

/// How a batch of products (or one product) is split: one product along its rows and
/// columns ([`ShardPlan`]); a batch into smaller batches of whole groups of products that
/// share a B.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchPlan {
    One(ShardPlan),
    Batches { shape: Shape, batches: Vec<Batch> },
}

impl BatchPlan {
    /// The pieces: a shape and the batch of it each piece runs.
    pub fn pieces(&self) -> Vec<(Shape, Batch)> {
        match self {
            BatchPlan::One(p) => p.pieces().into_iter().map(|s| (s, Batch::ONE)).collect(),
            BatchPlan::Batches { shape, batches } => batches.iter().map(|b| (*shape, *b)).collect(),
        }
    }

    pub fn count(&self) -> u32 {
        match self {
            BatchPlan::One(p) => p.count(),
            BatchPlan::Batches { batches, .. } => batches.len() as u32,
        }
    }
}

/// [`plan`] for a batch of products: whole groups of products that share a B, as many
/// per piece as keep every operand of the piece within `limit` bytes. `Err` when one
/// group does not fit.
pub fn plan_batched(shape: Shape, batch: Batch, limit: u64) -> Result<BatchPlan, String> {
    if batch.is_one() {
        return plan(shape, limit).map(BatchPlan::One);
    }
    batch.check()?;
    let g = u64::from(batch.share_b);
    // Bytes of one group's A, B and C (4 bytes an element, as `plan` counts).
    let per_group = [
        4 * shape.a_len() * g,
        4 * shape.b_len(),
        4 * shape.c_len() * g,
    ];
    let fit = per_group
        .iter()
        .map(|&bytes| limit.checked_div(bytes).unwrap_or(0))
        .min()
        .unwrap_or(0);
    if fit == 0 {
        return Err(format!(
            "shape {}{shape}: one group of {g} products needs {} bytes in an operand, over \
             the adapter's buffer limit ({limit} bytes)",
            batch.prefix(),
            per_group.iter().max().unwrap_or(&0)
        ));
    }
    let groups = u64::from(batch.b_count());
    let pieces = groups.div_ceil(fit);
    // Groups spread evenly over the pieces.
    let each = groups.div_ceil(pieces);
    let mut batches = Vec::new();
    let mut left = groups;
    while left > 0 {
        let n = each.min(left);
        batches.push(Batch::new((n * g) as u32, batch.share_b));
        left -= n;
    }
    Ok(BatchPlan::Batches { shape, batches })
}

/// The largest bytes one operand may take: one storage binding, one buffer.
pub fn operand_limit(limits: &wgpu::Limits) -> u64 {
    limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size)
}

/// Splits `shape` so that every operand of every piece holds at most `limit` bytes,
/// with as few pieces as possible; piece sizes are rounded to multiples of 64 where
/// that costs no extra piece. `Err` when even one row does not fit.
pub fn plan(shape: Shape, limit: u64) -> Result<ShardPlan, String> {
    let max_elems = limit / 4;
    let (m, n, k) = (u64::from(shape.m), u64::from(shape.n), u64::from(shape.k));
    if k > max_elems || max_elems == 0 {
        return Err(format!(
            "shape {shape}: one row of an operand ({} bytes) is over the adapter's buffer \
             limit ({limit} bytes)",
            4 * k
        ));
    }
    // Rows of A (M×K) and columns of B (K×N) bound the piece sizes directly; then C
    // (rows×cols) by shrinking its larger side.
    let mut rows = m.min(max_elems / k);
    let mut cols = n.min(max_elems / k);
    if rows * cols > max_elems {
        if rows >= cols {
            rows = (max_elems / cols).max(1);
        } else {
            cols = (max_elems / rows).max(1);
        }
    }
    // The same number of pieces, of equal size, rounded up to a multiple of 64 where
    // that stays within the bound found above and adds no piece.
    let balance = |total: u64, bound: u64| -> u64 {
        let count = total.div_ceil(bound);
        let even = total.div_ceil(count);
        let rounded = even.div_ceil(64) * 64;
        if rounded <= bound && total.div_ceil(rounded) == count {
            rounded
        } else {
            even
        }
    };
    Ok(ShardPlan {
        shape,
        rows: balance(m, rows) as u32,
        cols: balance(n, cols) as u32,
    })
}

/// Checks that a product fits the device as one piece: every operand within one buffer
/// and one binding, every kernel's dispatch within the workgroup-count limit; `Err` names
/// the limit. (Explicit `--shape`s and the suites' squares are never split.)
pub fn check_unsplit(
    limits: &wgpu::Limits,
    shape: Shape,
    kernels: &[KernelSpec],
) -> Result<(), String> {
    let max_binding = limits.max_storage_buffer_binding_size;
    for (name, len) in [
        ("A", shape.a_len()),
        ("B", shape.b_len()),
        ("C", shape.c_len()),
    ] {
        let bytes = len.saturating_mul(4);
        if bytes > limits.max_buffer_size {
            return Err(format!(
                "shape {shape}: {name} needs {bytes} bytes, over the adapter's max_buffer_size \
                 ({})",
                limits.max_buffer_size
            ));
        }
        if bytes > max_binding {
            return Err(format!(
                "shape {shape}: {name} needs {bytes} bytes, over the adapter's \
                 max_storage_buffer_binding_size ({max_binding})"
            ));
        }
    }
    for k in kernels {
        let (x, y, z) = crate::kernels::registry::dispatch(k, shape);
        let max = limits.max_compute_workgroups_per_dimension;
        if x.max(y).max(z) > max {
            return Err(format!(
                "shape {shape}: kernel '{}' needs {x}×{y} workgroups, over the adapter's \
                 max_compute_workgroups_per_dimension ({max})",
                k.name
            ));
        }
    }
    Ok(())
}

/// Checks that a product can run at all, split if need be: the whole product fits
/// `memory_bytes` and every piece's dispatch fits the workgroup-count limit.
pub fn check(
    limits: &wgpu::Limits,
    shape: Shape,
    kernels: &[KernelSpec],
    memory_bytes: u64,
) -> Result<ShardPlan, String> {
    let plan = plan(shape, operand_limit(limits))?;
    let bytes = product_bytes(shape);
    if bytes > memory_bytes {
        return Err(format!(
            "shape {shape}: its operands take {}, more than the {} a product may use here \
             (half the available host memory)",
            crate::util::fmt_bytes(bytes),
            crate::util::fmt_bytes(memory_bytes)
        ));
    }
    let max = limits.max_compute_workgroups_per_dimension;
    let largest = Shape::new(plan.rows, plan.cols, shape.k);
    for k in kernels {
        let (x, y, z) = crate::kernels::registry::dispatch(k, largest);
        if x.max(y).max(z) > max {
            return Err(format!(
                "shape {shape}: kernel '{}' needs {x}×{y} workgroups, over the adapter's \
                 max_compute_workgroups_per_dimension ({max})",
                k.name
            ));
        }
    }
    Ok(plan)
}

/// Bytes of A, B and C of a product in f32.
pub fn product_bytes(s: Shape) -> u64 {
    4 * (s.a_len() + s.b_len() + s.c_len())
}

/// How much memory a run may give one product's operands: half of the host memory
/// available now (inputs are generated on the host, and a software adapter's device
/// memory is host memory). wgpu reports no device memory size; a GPU that runs out
/// fails with a clear out-of-memory error instead.
pub fn memory_budget() -> u64 {
    crate::util::mem::available_memory_bytes() / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_plan(shape: Shape, limit: u64) -> ShardPlan {
        let p = plan(shape, limit).unwrap();
        let pieces = p.pieces();
        assert_eq!(pieces.len() as u32, p.count());
        let max = limit / 4;
        let mut flops = 0;
        for s in &pieces {
            assert!(
                s.a_len() <= max && s.b_len() <= max && s.c_len() <= max,
                "{s}"
            );
            assert!(s.m >= 1 && s.n >= 1);
            flops += s.flops();
        }
        assert_eq!(flops, shape.flops(), "pieces cover the product exactly");
        p
    }

    #[test]
    fn fitting_products_are_one_piece() {
        let p = check_plan(Shape::new(64, 4096, 4096), 128 << 20);
        assert_eq!(p.count(), 1);
        assert_eq!((p.rows, p.cols), (64, 4096));
    }

    #[test]
    fn large_weights_split_by_columns_without_splitting_k() {
        // 4096→14336 forward at B = 64: the weight (235 MB) splits in two column blocks.
        let p = check_plan(Shape::new(64, 14336, 4096), 128 << 20);
        assert_eq!((p.rows, p.cols, p.count()), (64, 7168, 2));
        // 8192→28672: seven blocks of exactly 128 MiB.
        let p = check_plan(Shape::new(64, 28672, 8192), 128 << 20);
        assert_eq!((p.cols, p.count()), (4096, 7));
        // The weight gradient's output is the large operand: rows and columns of C.
        let p = check_plan(Shape::new(8192, 28672, 64), 128 << 20);
        assert!(p.count() >= 7);
        // Odd sizes and tiny limits.
        for (s, lim) in [
            (Shape::new(127, 129, 131), 4096),
            (Shape::new(1000, 3, 7), 400),
            (Shape::new(3, 1000, 7), 400),
            (Shape::new(33, 65, 17), 68),
        ] {
            check_plan(s, lim);
        }
    }

    #[test]
    fn a_row_over_the_limit_cannot_be_split() {
        assert!(plan(Shape::new(4, 4, 1000), 1000).is_err());
    }
}
