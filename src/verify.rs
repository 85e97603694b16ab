//! Verification: seeded random inputs, an f64 CPU reference, and the relative Frobenius
//! error of what the GPU wrote.
//!
//! Inputs are uniform in [-1, 1), never zeros (zeros hide unwritten outputs and wrong
//! indexing). The output buffer is filled with NaN before each verified run, so an
//! element a kernel forgot to write shows up as NaN and fails the check. Small problems
//! are checked in full. Large ones are checked on a sample that always includes the
//! whole first and last rows and columns (where edge handling lives), one seeded entry in
//! every [`CELL`]×[`CELL`] cell of C, and [`RANDOM_SAMPLES`] more seeded entries. Every
//! flopcost kernel computes C in blocks whose sides are multiples of [`CELL`] starting
//! at multiples of their sides, so every block holds a whole cell and is checked: a
//! kernel that gets one block wrong always fails.

use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::types::{Batch, Layout, Shape};

pub use crate::types::{F16_TOLERANCE, F32_TOLERANCE};

/// Problems with at most this many multiply-adds are checked in full (~0.1 s in f64).
pub const FULL_CHECK_MACS: u64 = 1 << 26;

/// ...and at most this many output entries (64 MiB of reference entries).
pub const FULL_CHECK_ENTRIES: u64 = 1 << 22;

/// Random entries checked on top of the edges and the cells, for sampled checks.
pub const RANDOM_SAMPLES: usize = 1024;

/// Side of the cells of C that each get a checked entry: the smallest block side of any
/// kernel (the naive kernel's 16×16 workgroup; every other block side is a multiple).
pub const CELL: u32 = 16;

/// The smallest number of entries any check looks at (or all of them, if fewer).
pub const MIN_CHECKED: usize = 256;

/// A matrix of `len` f32 values uniform in [-1, 1), reproducible from (seed, stream).
pub fn random_matrix(len: usize, seed: u64, stream: u64) -> Vec<f32> {
    let mut rng = rng(seed, stream);
    (0..len)
        .map(|_| {
            // 24 random bits give every representable multiple of 2^-23 in [-1, 1).
            let bits = rng.next_u32() >> 8;
            bits as f32 / 8_388_608.0 - 1.0
        })
        .collect()
}

fn rng(seed: u64, stream: u64) -> Pcg64Mcg {
    let state =
        (u128::from(seed) << 64) | u128::from(stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    Pcg64Mcg::from_seed(state.to_le_bytes())
}

/// A stable stream number for one (layout, shape, operand), so each problem's inputs
/// depend only on the seed and the problem.
pub fn stream_id(layout: Layout, shape: Shape, operand: u64) -> u64 {
    let l = match layout {
        Layout::Nn => 1u64,
        Layout::Nt => 2,
        Layout::Tn => 3,
    };
    // FNV-1a over the fields; stable across versions and platforms.
    let fields = [
        l,
        u64::from(shape.m),
        u64::from(shape.n),
        u64::from(shape.k),
        operand,
    ];
    crate::util::fnv1a64(fields.iter().flat_map(|v| v.to_le_bytes()))
}

/// A stable stream number for one (layout, shape, batch, operand) of a batched problem;
/// a single product keeps [`stream_id`], so its inputs are those of earlier versions.
pub fn batch_stream_id(layout: Layout, shape: Shape, batch: Batch, operand: u64) -> u64 {
    if batch.is_one() {
        return stream_id(layout, shape, operand);
    }
    let fields = [
        stream_id(layout, shape, operand),
        u64::from(batch.count),
        u64::from(batch.share_b),
    ];
    crate::util::fnv1a64(fields.iter().flat_map(|v| v.to_le_bytes()))
}

/// One GEMM's inputs as uploaded, in the storage order of its layout: for a batch, the
/// products' A one after the other, and their distinct Bs likewise.
pub struct GemmInputs {
    pub layout: Layout,
    pub shape: Shape,
    pub batch: Batch,
    pub a: Vec<f32>,
    pub b: Vec<f32>,
}

impl GemmInputs {
    pub fn random(layout: Layout, shape: Shape, seed: u64) -> GemmInputs {
        GemmInputs::random_batched(layout, shape, Batch::ONE, seed)
    }

    /// The inputs of a batch of products of `shape`.
    pub fn random_batched(layout: Layout, shape: Shape, batch: Batch, seed: u64) -> GemmInputs {
        let a_len = shape.a_len() * u64::from(batch.count);
        let b_len = shape.b_len() * u64::from(batch.b_count());
        GemmInputs {
            layout,
            shape,
            batch,
            a: random_matrix(
                a_len as usize,
                seed,
                batch_stream_id(layout, shape, batch, 0),
            ),
            b: random_matrix(
                b_len as usize,
                seed,
                batch_stream_id(layout, shape, batch, 1),
            ),
        }
    }

    /// Rounds every input to the nearest f16 (ties to even), so the reference is that of
    /// the values an f16 kernel reads. Inputs in [-1, 1) are all in f16's normal range or
    /// zero, so nothing overflows.
    pub fn round_to_f16(&mut self) {
        for v in self.a.iter_mut().chain(self.b.iter_mut()) {
            *v = half::f16::from_f32(*v).to_f32();
        }
    }

    /// `op(A)[i, k]` of product `p`.
    #[inline]
    pub fn a_at(&self, p: usize, i: usize, k: usize) -> f32 {
        let s = self.shape;
        let base = p * s.a_len() as usize;
        if self.layout.trans_a() {
            self.a[base + k * s.m as usize + i]
        } else {
            self.a[base + i * s.k as usize + k]
        }
    }

    /// `op(B)[k, j]` of product `p` (the B it shares with its group).
    #[inline]
    pub fn b_at(&self, p: usize, k: usize, j: usize) -> f32 {
        let s = self.shape;
        let base = p / self.batch.share_b.max(1) as usize * s.b_len() as usize;
        if self.layout.trans_b() {
            self.b[base + j * s.k as usize + k]
        } else {
            self.b[base + k * s.n as usize + j]
        }
    }

    /// The f64 reference value of `C[r, j]`, where row `r` of the batch's C is row
    /// `r mod M` of product `r / M` (the products' C one after the other).
    pub fn reference(&self, r: usize, j: usize) -> f64 {
        let m = self.shape.m as usize;
        let (p, i) = (r / m, r % m);
        (0..self.shape.k as usize)
            .map(|k| f64::from(self.a_at(p, i, k)) * f64::from(self.b_at(p, k, j)))
            .sum()
    }
}

/// Which entries of C a check looks at, with their f64 reference values.
pub struct ReferenceSample {
    pub entries: Vec<(u32, u32, f64)>,
    /// True when every entry of C is in the sample.
    pub full: bool,
}

impl ReferenceSample {
    /// Computes the reference for the entries to be checked: all of C for small problems,
    /// else the first and last rows and columns and [`RANDOM_SAMPLES`] seeded entries.
    pub fn compute(inputs: &GemmInputs, seed: u64) -> ReferenceSample {
        let s = inputs.shape;
        let batch = inputs.batch;
        let full = checks_in_full_batched(s, batch);
        let mut idx: Vec<(u32, u32)> = Vec::new();
        let mut r = rng(seed, batch_stream_id(inputs.layout, s, batch, 2));
        for p in 0..batch.count {
            let row0 = p * s.m;
            if full {
                idx.extend((0..s.m).flat_map(|i| (0..s.n).map(move |j| (row0 + i, j))));
                continue;
            }
            // Each product of a batch is sampled as a single product is.
            for j in 0..s.n {
                idx.push((row0, j));
                idx.push((row0 + s.m - 1, j));
            }
            for i in 0..s.m {
                idx.push((row0 + i, 0));
                idx.push((row0 + i, s.n - 1));
            }
            for ci in 0..s.m.div_ceil(CELL) {
                for cj in 0..s.n.div_ceil(CELL) {
                    let (i0, j0) = (ci * CELL, cj * CELL);
                    let h = CELL.min(s.m - i0);
                    let w = CELL.min(s.n - j0);
                    let i = i0 + (r.next_u32() % h);
                    let j = j0 + (r.next_u32() % w);
                    idx.push((row0 + i, j));
                }
            }
            let want = RANDOM_SAMPLES.max(MIN_CHECKED);
            for _ in 0..want {
                let i = (r.next_u64() % u64::from(s.m)) as u32;
                let j = (r.next_u64() % u64::from(s.n)) as u32;
                idx.push((row0 + i, j));
            }
        }
        if !full {
            idx.sort_unstable();
            idx.dedup();
        }
        let entries = par_map(&idx, |&(i, j)| {
            (i, j, inputs.reference(i as usize, j as usize))
        });
        ReferenceSample { entries, full }
    }

    /// Compares the GPU's output against the reference.
    pub fn check(&self, c: &[f32], n: u32, tolerance: f64) -> Check {
        let unwritten = c.iter().filter(|v| v.is_nan()).count() as u64;
        let (mut num, mut den) = (0.0f64, 0.0f64);
        for &(i, j, r) in &self.entries {
            let got = f64::from(c[i as usize * n as usize + j as usize]);
            num += (got - r) * (got - r);
            den += r * r;
        }
        let rel = if den > 0.0 {
            (num / den).sqrt()
        } else {
            num.sqrt()
        };
        let rel_error = rel.is_finite().then_some(rel);
        let passed = unwritten == 0 && rel_error.is_some_and(|e| e <= tolerance);
        Check {
            rel_error,
            tolerance,
            passed,
            checked_entries: self.entries.len() as u64,
            full: self.full,
            unwritten_entries: unwritten,
            reference_norm_sq: den,
        }
    }
}

/// The f16 bit patterns of `values` (each must be exactly representable, e.g. already
/// rounded with [`GemmInputs::round_to_f16`]), padded with zeros to a multiple of four
/// elements: eight bytes, a whole `vec4<f16>`, as buffers bound for vec4 loads need.
pub fn f16_bits(values: &[f32]) -> Vec<u16> {
    let mut out: Vec<u16> = values
        .iter()
        .map(|&v| half::f16::from_f32(v).to_bits())
        .collect();
    out.resize(values.len().div_ceil(4).max(1) * 4, 0);
    out
}

/// Maps `f` over `items` on all cores, keeping order.
fn par_map<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads == 1 || items.len() < 64 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let mut out = Vec::with_capacity(items.len());
        let mut handles = Vec::new();
        for part in items.chunks(chunk) {
            // A thread that cannot be started (no memory for its stack), or that fails as
            // it starts (no memory for its signal stack), leaves its part to this one: `f`
            // is pure, so the part is computed again here (a panic of `f` itself then
            // recurs on this thread).
            let h = std::thread::Builder::new()
                .spawn_scoped(s, || part.iter().map(&f).collect::<Vec<U>>())
                .ok();
            handles.push((part, h));
        }
        for (part, h) in handles {
            match h.map(|h| h.join()) {
                Some(Ok(v)) => out.extend(v),
                _ => out.extend(part.iter().map(&f)),
            }
        }
        out
    })
}

/// The outcome of one verification.
#[derive(Clone, Debug)]
pub struct Check {
    /// ‖C − C_ref‖_F / ‖C_ref‖_F over the checked entries; `None` when not finite.
    pub rel_error: Option<f64>,
    pub tolerance: f64,
    pub passed: bool,
    pub checked_entries: u64,
    pub full: bool,
    /// Entries of C still holding the NaN poison (never written by the kernel).
    pub unwritten_entries: u64,
    /// ‖C_ref‖² over the checked entries, to combine checks of pieces.
    pub reference_norm_sq: f64,
}

impl Check {
    /// Why a failed check failed, in words.
    pub fn failure(&self) -> String {
        match (self.unwritten_entries, self.rel_error) {
            (u, _) if u > 0 => format!("{u} output entries were never written"),
            (_, Some(e)) => format!(
                "relative error {e:.3e} exceeds the tolerance {:.0e}",
                self.tolerance
            ),
            (_, None) => "the output is not finite".into(),
        }
    }
}

/// One check of a product from the checks of its pieces (see `workloads::shard`): the
/// relative Frobenius error over all checked entries of all pieces.
pub fn combine(parts: &[Check]) -> Check {
    if let [only] = parts {
        return only.clone();
    }
    let (mut num, mut den) = (0.0f64, 0.0f64);
    let mut finite = true;
    for c in parts {
        let d = c.reference_norm_sq;
        match c.rel_error {
            Some(e) => num += e * e * if d > 0.0 { d } else { 1.0 },
            None => finite = false,
        }
        den += d;
    }
    let rel = if den > 0.0 {
        (num / den).sqrt()
    } else {
        num.sqrt()
    };
    let rel_error = (finite && rel.is_finite()).then_some(rel);
    let tolerance = parts.first().map_or(F32_TOLERANCE, |c| c.tolerance);
    let unwritten_entries = parts.iter().map(|c| c.unwritten_entries).sum();
    Check {
        rel_error,
        tolerance,
        passed: unwritten_entries == 0
            && parts.iter().all(|c| c.passed)
            && rel_error.is_some_and(|e| e <= tolerance),
        checked_entries: parts.iter().map(|c| c.checked_entries).sum(),
        full: parts.iter().all(|c| c.full),
        unwritten_entries,
        reference_norm_sq: den,
    }
}

/// Whether a check of `shape` covers every entry of C.
pub fn checks_in_full(shape: Shape) -> bool {
    checks_in_full_batched(shape, Batch::ONE)
}

/// Whether a check of a batch of products of `shape` covers every entry of their C.
pub fn checks_in_full_batched(shape: Shape, batch: Batch) -> bool {
    let count = u64::from(batch.count);
    let entries = shape.c_len() * count;
    let macs = entries * u64::from(shape.k);
    (macs <= FULL_CHECK_MACS && entries <= FULL_CHECK_ENTRIES) || entries <= MIN_CHECKED as u64
}

/// About how many entries of C a check of `shape` compares (for time estimates).
pub fn checked_entries(shape: Shape) -> u64 {
    checked_entries_batched(shape, Batch::ONE)
}

/// [`checked_entries`] for a batch: each product is sampled as a single one is.
pub fn checked_entries_batched(shape: Shape, batch: Batch) -> u64 {
    let count = u64::from(batch.count);
    if checks_in_full_batched(shape, batch) {
        shape.c_len() * count
    } else {
        count
            * (2 * (u64::from(shape.m) + u64::from(shape.n)) + cells(shape) + RANDOM_SAMPLES as u64)
    }
}

/// The [`CELL`]×[`CELL`] cells of C.
pub fn cells(shape: Shape) -> u64 {
    u64::from(shape.m.div_ceil(CELL)) * u64::from(shape.n.div_ceil(CELL))
}

/// The fewest distinct entries a sampled check of `shape` ever compares: its edge rows
/// and columns, or one entry per cell, whichever is more. A result file that claims a
/// sampled check of fewer did not check what flopcost checks.
pub fn min_sampled_entries(shape: Shape) -> u64 {
    let (m, n) = (u64::from(shape.m), u64::from(shape.n));
    let edges = if m >= 2 && n >= 2 {
        2 * (m + n) - 4
    } else {
        m * n
    };
    edges.max(cells(shape)).min(shape.c_len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_inputs_are_in_range_nonzero_and_reproducible() {
        let a = random_matrix(10_000, 42, 7);
        assert!(a.iter().all(|v| (-1.0..1.0).contains(v)));
        assert!(a.iter().filter(|v| **v == 0.0).count() < 5);
        assert_eq!(a, random_matrix(10_000, 42, 7));
        assert_ne!(a, random_matrix(10_000, 43, 7));
        assert_ne!(a, random_matrix(10_000, 42, 8));
        let mean: f32 = a.iter().sum::<f32>() / a.len() as f32;
        assert!(mean.abs() < 0.05, "mean {mean}");
    }

    #[test]
    fn reference_follows_each_layout() {
        // C = op(A)·op(B) with known small matrices, checked by hand.
        let shape = Shape::new(2, 2, 3);
        // op(A) = [[1,2,3],[4,5,6]], op(B) = [[1,0],[0,1],[1,1]] → C = [[4,5],[10,11]]
        let a_nn = vec![1., 2., 3., 4., 5., 6.];
        let a_t = vec![1., 4., 2., 5., 3., 6.];
        let b_nn = vec![1., 0., 0., 1., 1., 1.];
        let b_t = vec![1., 0., 1., 0., 1., 1.];
        for (layout, a, b) in [
            (Layout::Nn, a_nn.clone(), b_nn.clone()),
            (Layout::Nt, a_nn, b_t),
            (Layout::Tn, a_t, b_nn),
        ] {
            let inp = GemmInputs {
                layout,
                shape,
                batch: Batch::ONE,
                a,
                b,
            };
            let got: Vec<f64> = [(0, 0), (0, 1), (1, 0), (1, 1)]
                .iter()
                .map(|&(i, j)| inp.reference(i, j))
                .collect();
            assert_eq!(got, vec![4., 5., 10., 11.], "{layout}");
        }
    }

    #[test]
    fn check_catches_wrong_and_unwritten_outputs() {
        let shape = Shape::new(9, 7, 5);
        let inp = GemmInputs::random(Layout::Nn, shape, 1);
        let r = ReferenceSample::compute(&inp, 1);
        assert!(r.full);
        let mut c: Vec<f32> = (0..9 * 7)
            .map(|e| inp.reference(e / 7, e % 7) as f32)
            .collect();
        assert!(r.check(&c, 7, F32_TOLERANCE).passed);
        c[3] += 0.5;
        let bad = r.check(&c, 7, F32_TOLERANCE);
        assert!(!bad.passed && bad.rel_error.unwrap() > F32_TOLERANCE);
        c[3] = f32::NAN;
        let nan = r.check(&c, 7, F32_TOLERANCE);
        assert!(!nan.passed && nan.unwritten_entries == 1 && nan.rel_error.is_none());
    }

    #[test]
    fn f16_rounding_changes_the_reference_by_about_f16_precision() {
        let shape = Shape::new(9, 7, 64);
        let exact = GemmInputs::random(Layout::Tn, shape, 3);
        let mut half = GemmInputs::random(Layout::Tn, shape, 3);
        half.round_to_f16();
        for v in half.a.iter().chain(&half.b) {
            assert_eq!(half::f16::from_f32(*v).to_f32(), *v);
        }
        let (mut num, mut den) = (0.0, 0.0);
        for i in 0..9 {
            for j in 0..7 {
                let (x, y) = (exact.reference(i, j), half.reference(i, j));
                num += (x - y) * (x - y);
                den += x * x;
            }
        }
        let rel = (num / den).sqrt();
        // Each input moves by up to 2^-12 relative; the products' errors partly cancel.
        assert!(rel > 1e-6 && rel < F16_TOLERANCE / 2.0, "{rel}");
        let bits = f16_bits(&[1.0, -0.5, 0.0]);
        assert_eq!(bits, vec![0x3c00, 0xb800, 0, 0]);
    }

    #[test]
    fn a_sampled_check_has_an_entry_in_every_cell() {
        let shape = Shape::new(1000, 700, 300);
        let inp = GemmInputs::random(Layout::Nn, shape, 5);
        let r = ReferenceSample::compute(&inp, 5);
        assert!(!r.full);
        let mut seen = std::collections::HashSet::new();
        for &(i, j, _) in &r.entries {
            seen.insert((i / CELL, j / CELL));
        }
        assert_eq!(seen.len() as u64, cells(shape));
        assert!(r.entries.len() as u64 >= min_sampled_entries(shape));
        assert!(checked_entries(shape) >= r.entries.len() as u64);
    }

    #[test]
    fn sampled_check_covers_edges_and_enough_entries() {
        let shape = Shape::new(600, 500, 400);
        let inp = GemmInputs {
            layout: Layout::Nn,
            shape,
            batch: Batch::ONE,
            a: vec![0.5; 600 * 400],
            b: vec![0.25; 400 * 500],
        };
        let r = ReferenceSample::compute(&inp, 3);
        assert!(!r.full);
        assert!(r.entries.len() >= MIN_CHECKED);
        for j in 0..500 {
            assert!(r.entries.iter().any(|e| e.0 == 599 && e.1 == j));
        }
        for i in 0..600 {
            assert!(r.entries.iter().any(|e| e.0 == i && e.1 == 499));
        }
    }
}
