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
pub mod problem;
pub mod tune;

pub use block::BlockConfig;
pub use gemm::{GemmBinding, GemmPipeline};
pub use precision::Variant;
pub use problem::Problem;

use anyhow::Result;

use crate::error::input_error;
use crate::types::Shape;

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
    Naive { fault: Fault },
    /// Shared-memory tiles with a register block per invocation.
    Tiled(TileConfig),
    /// One configuration of the register-blocked family (vec4 loads, double-buffered
    /// workgroup memory, split-K, optional subgroup path).
    Block(BlockConfig),
    /// The block family, configured per (layout, shape class) by the autotuner.
    Tuned,
}

/// A deliberate error of the naive kernel, for proving that verification catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    None,
    /// The last term of every dot product is dropped.
    LastTerm,
    /// One interior 16×16 tile of C (the one holding C[M/2, N/2]) is off by 1.
    OneTile,
}

impl Fault {
    /// The shader's `FAULT` constant.
    pub fn code(self) -> u32 {
        match self {
            Fault::None => 0,
            Fault::LastTerm => 1,
            Fault::OneTile => 2,
        }
    }
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
            family: Family::Naive { fault: Fault::None },
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
                          cooperative matrices (tensor cores: 16x16x16 or 8x8x8 f16 -> f32 \
                          fragments, as the adapter offers) where the adapter has them",
        },
        KernelSpec {
            name: "faulty".into(),
            family: Family::Naive {
                fault: Fault::LastTerm,
            },
            hidden: true,
            description: "naive with the last K term dropped: verification must reject it",
        },
        KernelSpec {
            name: "faulty-tile".into(),
            family: Family::Naive {
                fault: Fault::OneTile,
            },
            hidden: true,
            description: "naive with one interior 16x16 tile wrong: verification must reject it \
                          even where it checks a sample",
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
    fn dispatch_covers_every_output() {
        let k = &registry()[1];
        let s = Shape::new(127, 1, 255);
        let (x, y, _) = k.dispatch(s);
        let (_, (bx, by)) = k.geometry();
        assert!(x * bx >= s.n && (x - 1) * bx < s.n);
        assert!(y * by >= s.m && (y - 1) * by < s.m);
    }
}
