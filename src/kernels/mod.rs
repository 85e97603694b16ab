//! GEMM kernels: what each one computes, what it needs from the adapter, and how to
//! dispatch it.
//!
//! A kernel is a WGSL file in `shaders/` plus the `override` constants that specialise
//! it (tile sizes, layout). [`registry`] lists the kernels `--kernel` can name;
//! [`GemmPipeline`] is one compiled (kernel, layout) pair and [`GemmBinding`] one
//! problem's buffers bound to it.

pub mod block;
pub mod cache;
pub mod coop;
pub mod gemm;
pub mod precision;
pub mod tune;

pub use block::BlockConfig;
pub use gemm::{GemmBinding, GemmPipeline};
pub use precision::{KernelPath, PathChoice, Precision, Variant};

use std::fmt;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::error::input_error;

/// Which operands are transposed: the three products of training.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Forward, `Y = X·W`: A is M×K, B is K×N.
    Nn,
    /// Input gradient, `dX = dY·Wᵀ`: A is M×K, B is stored N×K.
    Nt,
    /// Weight gradient, `dW = Xᵀ·dY`: A is stored K×M, B is K×N.
    Tn,
}

impl Layout {
    pub const ALL: [Layout; 3] = [Layout::Nn, Layout::Nt, Layout::Tn];

    pub fn trans_a(self) -> bool {
        self == Layout::Tn
    }

    pub fn trans_b(self) -> bool {
        self == Layout::Nt
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Nn => "nn",
            Layout::Nt => "nt",
            Layout::Tn => "tn",
        }
    }

    /// The training product this layout is.
    pub fn role(self) -> &'static str {
        match self {
            Layout::Nn => "forward",
            Layout::Nt => "input gradient",
            Layout::Tn => "weight gradient",
        }
    }

    /// Parses a comma-separated list such as `nn,nt,tn`.
    pub fn parse_list(s: &str) -> Result<Vec<Layout>> {
        parse_list(
            s,
            "--layout",
            "nn (forward), nt (input gradient) or tn (weight gradient)",
            |part| match part {
                "nn" => Some(Layout::Nn),
                "nt" => Some(Layout::Nt),
                "tn" => Some(Layout::Tn),
                _ => None,
            },
        )
    }
}

/// Parses a comma-separated, case-insensitive list for the flag `flag`, dropping repeats
/// and keeping the order given; an unknown item or an empty list is an input error that
/// says what `expected` is.
pub(crate) fn parse_list<T: PartialEq>(
    s: &str,
    flag: &str,
    expected: &str,
    item: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some(value) = item(&part.to_ascii_lowercase()) else {
            return Err(input_error(format!(
                "invalid {flag} '{part}': expected {expected}"
            )));
        };
        if !out.contains(&value) {
            out.push(value);
        }
    }
    if out.is_empty() {
        return Err(input_error(format!("{flag} is empty: expected {expected}")));
    }
    Ok(out)
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A GEMM problem size: C is M×N, the reduction is over K.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shape {
    pub m: u32,
    pub n: u32,
    pub k: u32,
}

impl Shape {
    pub fn new(m: u32, n: u32, k: u32) -> Shape {
        Shape { m, n, k }
    }

    pub fn cube(n: u32) -> Shape {
        Shape { m: n, n, k: n }
    }

    /// 2·M·N·K: one multiply and one add per term.
    /// Saturates at `u64::MAX`, which no shape that fits a device comes near;
    /// [`Shape::parse`] refuses shapes where it would.
    pub fn flops(self) -> u64 {
        self.checked_flops().unwrap_or(u64::MAX)
    }

    fn checked_flops(self) -> Option<u64> {
        2u64.checked_mul(u64::from(self.m))?
            .checked_mul(u64::from(self.n))?
            .checked_mul(u64::from(self.k))
    }

    /// Elements of A, B and C.
    pub fn a_len(self) -> u64 {
        u64::from(self.m) * u64::from(self.k)
    }
    pub fn b_len(self) -> u64 {
        u64::from(self.k) * u64::from(self.n)
    }
    pub fn c_len(self) -> u64 {
        u64::from(self.m) * u64::from(self.n)
    }

    /// Parses `MxNxK`, or `N` for N×N×N. Every dimension must be a whole number ≥ 1.
    pub fn parse(s: &str) -> Result<Shape> {
        let t = s.trim();
        let parts: Vec<&str> = t.split(['x', 'X', '×']).collect();
        let dims: Vec<&str> = match parts.len() {
            1 => vec![parts[0]; 3],
            3 => parts,
            _ => {
                return Err(input_error(format!(
                    "invalid shape '{s}': expected MxNxK (for example 4096x4096x4096) or a \
                     single size N for NxNxN"
                )));
            }
        };
        let mut v = [0u32; 3];
        for (slot, (name, d)) in v.iter_mut().zip(["M", "N", "K"].iter().zip(dims)) {
            let d = d.trim();
            let n: u64 = d.parse().map_err(|_| {
                input_error(format!(
                    "invalid shape '{s}': {name} = '{d}' is not a whole number"
                ))
            })?;
            if n == 0 {
                return Err(input_error(format!(
                    "invalid shape '{s}': {name} must be at least 1"
                )));
            }
            *slot = u32::try_from(n).map_err(|_| {
                input_error(format!(
                    "invalid shape '{s}': {name} = {n} is larger than {}",
                    u32::MAX
                ))
            })?;
        }
        let shape = Shape::new(v[0], v[1], v[2]);
        if shape.checked_flops().is_none() {
            return Err(input_error(format!(
                "invalid shape '{s}': 2·M·N·K does not fit in 64 bits; no device holds a \
                 product this large"
            )));
        }
        Ok(shape)
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}", self.m, self.n, self.k)
    }
}

/// Tile parameters of the tiled kernel family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileConfig {
    pub bm: u32,
    pub bn: u32,
    pub bk: u32,
    pub tm: u32,
    pub tn: u32,
}

impl TileConfig {
    pub fn workgroup(self) -> (u32, u32) {
        (self.bn / self.tn, self.bm / self.tm)
    }

    /// Bytes of workgroup memory (with the one-word row padding of the shader).
    pub fn workgroup_bytes(self) -> u64 {
        4 * u64::from(self.bk) * u64::from(self.bm + 1 + self.bn + 1)
    }

    /// Checks the shader's contract and the adapter's limits.
    pub fn check(self, limits: &wgpu::Limits) -> std::result::Result<(), String> {
        let (x, y) = self.workgroup();
        if self.tm == 0 || self.tn == 0 || self.tm > 8 || self.tn > 8 {
            return Err(format!(
                "TM and TN must be 1..=8 (got {}, {})",
                self.tm, self.tn
            ));
        }
        if self.bk == 0 || !self.bm.is_multiple_of(self.tm) || !self.bn.is_multiple_of(self.tn) {
            return Err("BM must be a multiple of TM and BN of TN, BK ≥ 1".into());
        }
        if x * y > limits.max_compute_invocations_per_workgroup
            || x > limits.max_compute_workgroup_size_x
            || y > limits.max_compute_workgroup_size_y
        {
            return Err(format!(
                "workgroup {x}×{y} exceeds the adapter's max_compute_invocations_per_workgroup \
                 ({})",
                limits.max_compute_invocations_per_workgroup
            ));
        }
        if self.workgroup_bytes() > u64::from(limits.max_compute_workgroup_storage_size) {
            return Err(format!(
                "{} bytes of workgroup memory exceed max_compute_workgroup_storage_size ({})",
                self.workgroup_bytes(),
                limits.max_compute_workgroup_storage_size
            ));
        }
        Ok(())
    }
}

/// The kernel families flopcost has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// One output per invocation, from global memory; the baseline.
    Naive { fault: bool },
    /// Shared-memory tiles with a register block per invocation.
    Tiled(TileConfig),
    /// One configuration of the register-blocked family (vec4 loads, double-buffered
    /// workgroup memory, split-K, optional subgroup path).
    Block(BlockConfig),
    /// The block family, configured per (layout, shape class) by the autotuner.
    Tuned,
}

/// A named kernel that `--kernel` can select.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KernelSpec {
    pub name: String,
    pub family: Family,
    /// Not listed and not run by default (verification self-test).
    pub hidden: bool,
    pub description: &'static str,
}

impl KernelSpec {
    /// Workgroup size (x, y) and the C block (columns, rows) one workgroup covers.
    pub fn geometry(&self) -> ((u32, u32), (u32, u32)) {
        match self.family {
            Family::Naive { .. } => ((16, 16), (16, 16)),
            Family::Tiled(t) => (t.workgroup(), (t.bn, t.bm)),
            Family::Block(b) => (b.workgroup(), (b.bn, b.bm)),
            // The smallest block any tuned configuration uses: the most workgroups a
            // tuned dispatch can need.
            Family::Tuned => {
                let b = tune::SMALLEST_BLOCK;
                (b.workgroup(), (b.bn, b.bm))
            }
        }
    }

    /// Workgroups to dispatch for a shape.
    pub fn dispatch(&self, s: Shape) -> (u32, u32, u32) {
        let (_, (bx, by)) = self.geometry();
        (s.n.div_ceil(bx), s.m.div_ceil(by), 1)
    }

    /// The parameters recorded in the result file.
    pub fn params(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        let ((x, y), _) = self.geometry();
        m.insert("workgroup_x".into(), x.into());
        m.insert("workgroup_y".into(), y.into());
        match self.family {
            Family::Tiled(t) => {
                for (k, v) in [
                    ("bm", t.bm),
                    ("bn", t.bn),
                    ("bk", t.bk),
                    ("tm", t.tm),
                    ("tn", t.tn),
                ] {
                    m.insert(k.into(), v.into());
                }
            }
            Family::Block(b) => {
                m.clear();
                for (k, v) in b.params() {
                    m.insert(k.into(), v);
                }
            }
            Family::Naive { .. } | Family::Tuned => {}
        }
        m
    }

    /// Whether the kernel fits this adapter; `Err` says why not.
    pub fn check(&self, limits: &wgpu::Limits) -> std::result::Result<(), String> {
        match self.family {
            Family::Naive { .. } => {
                if limits.max_compute_invocations_per_workgroup < 256 {
                    return Err("needs 256 invocations per workgroup".into());
                }
                Ok(())
            }
            Family::Tiled(t) => t.check(limits),
            Family::Block(b) => b.check(limits),
            Family::Tuned => tune::SMALLEST_BLOCK.check(limits),
        }
    }
}

/// The default tile of `tiled`: 64×64 blocks, 4×4 per invocation (256 invocations),
/// BK = 16 (8 KiB of workgroup memory, within WebGPU's 16 KiB default).
pub const DEFAULT_TILE: TileConfig = TileConfig {
    bm: 64,
    bn: 64,
    bk: 16,
    tm: 4,
    tn: 4,
};

/// Every kernel `--kernel` can name.
pub fn registry() -> Vec<KernelSpec> {
    vec![
        KernelSpec {
            name: "naive".into(),
            family: Family::Naive { fault: false },
            hidden: false,
            description: "one output per invocation from global memory (baseline)",
        },
        KernelSpec {
            name: "tiled".into(),
            family: Family::Tiled(DEFAULT_TILE),
            hidden: false,
            description: "workgroup-memory tiles 64x64x16, 4x4 register block per invocation",
        },
        KernelSpec {
            name: "block".into(),
            family: Family::Block(tune::PORTABLE_BLOCK),
            hidden: false,
            description: "register-blocked 64x64x8, 4x4 per invocation, vec4 loads, \
                          double-buffered (one fixed configuration of the tuned family)",
        },
        KernelSpec {
            name: "tuned".into(),
            family: Family::Tuned,
            hidden: false,
            description: "register-blocked family, configuration autotuned per adapter, \
                          precision, layout and shape class (see `flopcost tune`); f16 on \
                          cooperative matrices (tensor cores) where the adapter has them",
        },
        KernelSpec {
            name: "faulty".into(),
            family: Family::Naive { fault: true },
            hidden: true,
            description: "naive with the last K term dropped: verification must reject it",
        },
    ]
}

/// Looks up kernels by name; an unknown name is bad input.
pub fn lookup(names: &[String]) -> Result<Vec<KernelSpec>> {
    let all = registry();
    let mut out: Vec<KernelSpec> = Vec::new();
    for name in names {
        let spec = all.iter().find(|k| k.name == *name).ok_or_else(|| {
            let known: Vec<&str> = all
                .iter()
                .filter(|k| !k.hidden)
                .map(|k| k.name.as_str())
                .collect();
            input_error(format!(
                "unknown kernel '{name}'; known kernels: {}",
                known.join(", ")
            ))
        })?;
        if !out.contains(spec) {
            out.push(spec.clone());
        }
    }
    Ok(out)
}

/// The kernels run when `--kernel` is not given: the naive baseline and the tuned
/// family. `tiled` and `block` (fixed configurations) run when named.
pub fn default_kernels() -> Vec<KernelSpec> {
    registry()
        .into_iter()
        .filter(|k| ["naive", "tuned"].contains(&k.name.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_parse_and_reject_bad_input() {
        assert_eq!(Shape::parse("7x13x5").unwrap(), Shape::new(7, 13, 5));
        assert_eq!(Shape::parse("256").unwrap(), Shape::cube(256));
        assert!(Shape::parse("25222126").is_err(), "2·n³ overflows u64");
        assert_eq!(Shape::new(u32::MAX, u32::MAX, u32::MAX).flops(), u64::MAX);
        for bad in [
            "0x5x5",
            "-1x5x5",
            "axbxc",
            "5x5",
            "5x5x5x5",
            "",
            "1.5x2x2",
            "5x5x99999999999",
        ] {
            let err = Shape::parse(bad).unwrap_err();
            assert!(
                err.chain().any(|e| e.is::<crate::error::InputError>()),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn flops_are_two_mnk() {
        assert_eq!(Shape::new(7, 13, 5).flops(), 2 * 7 * 13 * 5);
        assert_eq!(Shape::cube(65536).flops(), 2 * 65536u64.pow(3));
    }

    #[test]
    fn layouts_parse() {
        assert_eq!(
            Layout::parse_list("nn, TN,nn").unwrap(),
            vec![Layout::Nn, Layout::Tn]
        );
        assert!(Layout::parse_list("nx").is_err());
        assert!(Layout::parse_list("").is_err());
    }

    #[test]
    fn dispatch_covers_every_output() {
        let k = &registry()[1];
        let s = Shape::new(127, 1, 255);
        let (x, y, _) = k.dispatch(s);
        let (_, (bx, by)) = k.geometry();
        assert!(x * bx >= s.n && (x - 1) * bx < s.n);
        assert!(y * by >= s.m && (y - 1) * by < s.m);
    }
}
