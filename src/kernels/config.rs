//! The vocabulary of the kernels, below every family: what a compiled GEMM runs
//! ([`Variant`]), the parameters a kernel can have ([`KernelConfig`]: a deliberate fault,
//! a tile, a block configuration, or the tuned choice), and a named kernel
//! ([`KernelSpec`]). Which family runs a configuration, and what it needs, is the
//! families' business (`family.rs`, `registry.rs`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::types::{KernelPath, Precision, Shape};

/// What one compiled GEMM runs: its operand precision and its path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Variant {
    pub precision: Precision,
    /// Cooperative matrices (f16 only) instead of the shader cores.
    pub coopmat: bool,
}

impl Variant {
    pub const F32: Variant = Variant {
        precision: Precision::F32,
        coopmat: false,
    };

    pub fn simt(precision: Precision) -> Variant {
        Variant {
            precision,
            coopmat: false,
        }
    }

    /// f16 operands on cooperative matrices.
    pub const COOPMAT: Variant = Variant {
        precision: Precision::F16,
        coopmat: true,
    };

    pub fn path(self) -> KernelPath {
        if self.coopmat {
            KernelPath::Coopmat
        } else {
            KernelPath::Simt
        }
    }

    /// `f32`, `f16`, `f16-coopmat`: the key of a tuning-cache entry.
    pub fn key(self) -> String {
        if self.coopmat {
            format!("{}-coopmat", self.precision)
        } else {
            self.precision.to_string()
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.precision, self.path().as_str())
    }
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

/// Tile parameters of a workgroup-memory tiled kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileConfig {
    pub bm: u32,
    pub bn: u32,
    pub bk: u32,
    pub tm: u32,
    pub tn: u32,
}

/// One configuration of the register-blocked kernels (the block, subgroup and
/// cooperative-matrix families, among which the tuned kernel chooses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BlockConfig {
    /// Rows of C per workgroup.
    pub bm: u32,
    /// Columns of C per workgroup.
    pub bn: u32,
    /// K per staged slice.
    pub bk: u32,
    /// Rows of C per invocation (4 or 8).
    pub tm: u32,
    /// Columns of C per invocation (4 or 8).
    pub tn: u32,
    /// Largest number of K splits (1: none). The splits actually used for a shape are
    /// fewer when K is short; see [`BlockConfig::splits_for`].
    pub split_k: u32,
    /// Shares the A operand through subgroup shuffles instead of workgroup memory.
    #[serde(default)]
    pub subgroup: bool,
    /// Storage precision of A and B (f32 when absent).
    #[serde(default, skip_serializing_if = "Precision::is_f32")]
    pub precision: Precision,
    /// The cooperative-matrix kernel (`shaders/gemm_coopmat.wgsl`, f16 only): TM and TN
    /// then count `frag`×`frag` accumulator fragments per subgroup, and `lanes` is the
    /// subgroup size it is built for.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub coopmat: bool,
    /// Lanes per subgroup of the cooperative-matrix kernel (0 otherwise).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lanes: u32,
    /// Fragment size of the cooperative-matrix kernel: 8 (8×8×8) or 16 (16×16×16), from
    /// the configurations the adapter reports (0 otherwise).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub frag: u32,
    /// A deliberate error (the first K fragment of every block is skipped), for proving
    /// that verification catches a wrong cooperative-matrix kernel. Never serialised.
    #[serde(skip)]
    pub fault: bool,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

impl fmt::Display for BlockConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}x{}x{}/{}x{}",
            self.bm, self.bn, self.bk, self.tm, self.tn
        )?;
        if self.split_k > 1 {
            write!(f, "/split{}", self.split_k)?;
        }
        if self.subgroup {
            f.write_str("/sg")?;
        }
        if self.coopmat {
            write!(f, "/coopmat{0}x{0}-{1}lanes", self.frag, self.lanes)?;
            if self.fault {
                f.write_str("/faulty")?;
            }
        } else if self.precision != Precision::F32 {
            write!(f, "/{}", self.precision)?;
        }
        Ok(())
    }
}

impl BlockConfig {
    pub const fn new(bm: u32, bn: u32, bk: u32, tm: u32, tn: u32) -> BlockConfig {
        BlockConfig {
            bm,
            bn,
            bk,
            tm,
            tn,
            split_k: 1,
            subgroup: false,
            precision: Precision::F32,
            coopmat: false,
            lanes: 0,
            frag: 0,
            fault: false,
        }
    }

    /// The same configuration with operands in `precision`.
    pub const fn with_precision(mut self, precision: Precision) -> BlockConfig {
        self.precision = precision;
        self
    }

    /// The precision and path this configuration runs.
    pub fn variant(self) -> Variant {
        Variant {
            precision: self.precision,
            coopmat: self.coopmat,
        }
    }

    pub const fn with_split(mut self, split_k: u32) -> BlockConfig {
        self.split_k = split_k;
        self
    }

    /// K per split and the number of splits for `shape` (whose products write `c_len`
    /// entries of C in all): at most `split_k`, every split non-empty, each a whole number
    /// of BK slices, and the workspace of partial sums within `max_binding` bytes. One
    /// split means no workspace.
    pub fn splits_for(self, shape: Shape, c_len: u64, max_binding: u64) -> (u32, u32) {
        let slices = shape.k.div_ceil(self.bk);
        let mut splits = self.split_k.min(slices).max(1);
        while splits > 1 && u64::from(splits) * c_len * 4 > max_binding {
            splits -= 1;
        }
        let k_split = slices.div_ceil(splits) * self.bk;
        (shape.k.div_ceil(k_split), k_split)
    }
}

/// The `block` kernel: 64×64×8, 4×4 per invocation, 256 invocations and 8.5 KiB of
/// workgroup memory, within WebGPU's default limits, so it runs on any adapter.
pub const PORTABLE_BLOCK: BlockConfig = BlockConfig::new(64, 64, 8, 4, 4);

/// A block no larger than any candidate's in either dimension (the fewest rows are 32;
/// the fewest columns 16, a subgroup variant with 4-lane subgroups): bounds the
/// workgroups a tuned dispatch can need, for the limits check before a run.
pub const SMALLEST_BLOCK: BlockConfig = BlockConfig::new(32, 16, 16, 4, 4);

/// The parameters of a kernel: what the family that runs it is configured with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KernelConfig {
    /// A kernel with no parameters but its name (its family knows it by that name).
    Named(&'static str),
    /// One output per invocation, with an optional deliberate fault.
    Naive { fault: Fault },
    /// A workgroup-memory tile with a register block per invocation.
    Tiled(TileConfig),
    /// One configuration of the register-blocked kernels.
    Block(BlockConfig),
    /// The register-blocked kernels, configured per (precision, layout, shape class) by
    /// the autotuner.
    Tuned,
}

/// A named kernel that `--kernel` can select.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KernelSpec {
    pub name: String,
    pub config: KernelConfig,
    /// Not listed and not run by default (verification self-test).
    pub hidden: bool,
    pub description: &'static str,
}

impl KernelSpec {
    /// A hidden kernel of one block configuration (tuning candidates, tests).
    pub fn block(name: &str, config: BlockConfig) -> KernelSpec {
        KernelSpec {
            name: name.into(),
            config: KernelConfig::Block(config),
            hidden: true,
            description: "one configuration of the register-blocked kernels",
        }
    }

    /// The autotuned kernel.
    pub fn is_tuned(&self) -> bool {
        self.config == KernelConfig::Tuned
    }
}
