//! The register-blocked kernel family (`shaders/gemm_block.wgsl`): its parameters, the
//! contract they must satisfy, and what a configuration needs from the adapter.
//!
//! A [`BlockConfig`] is one point of the family: block tile BM × BN × BK, a TM × TN tile
//! per invocation, a split-K factor and, where the adapter has subgroups, the subgroup
//! variant (`shaders/gemm_subgroup.wgsl`). The autotuner (`kernels::tune`) chooses among
//! [`candidates`]; the tests run every one of them.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::precision::Variant;
use super::{Shape, coop};
use crate::types::Precision;

/// The most vec4 loads per invocation per operand per K slice (the shader's staging
/// registers).
pub const MAX_LOADS: u32 = 4;

/// One configuration of the register-blocked family.
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
    /// subgroup size it is built for. See [`coop`].
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

    /// Workgroup size (x, y). The subgroup variant uses a 1-D workgroup of the same
    /// number of invocations.
    pub fn workgroup(self) -> (u32, u32) {
        if self.coopmat {
            return (coop::invocations(self), 1);
        }
        let (x, y) = (self.bn / self.tn.max(1), self.bm / self.tm.max(1));
        if self.subgroup { (x * y, 1) } else { (x, y) }
    }

    pub fn invocations(self) -> u32 {
        let (x, y) = self.workgroup();
        x * y
    }

    /// vec4 loads per invocation per slice, for A and B.
    pub fn loads(self) -> (u32, u32) {
        if self.coopmat {
            return coop::loads(self);
        }
        let n = self.invocations().max(1);
        let a = if self.subgroup {
            0
        } else {
            self.bm * self.bk / 4
        };
        (a.div_ceil(n), (self.bk * self.bn / 4).div_ceil(n))
    }

    /// Bytes of workgroup memory: two buffers of each staged slice, each k-row padded by
    /// one vec4.
    pub fn workgroup_bytes(self) -> u64 {
        if self.coopmat {
            return coop::workgroup_bytes(self);
        }
        let rows = |w: u32| u64::from(self.bk) * u64::from(w / 4 + 1) * 16;
        if self.subgroup {
            2 * rows(self.bn)
        } else {
            2 * (rows(self.bm) + rows(self.bn))
        }
    }

    /// Checks the shader's contract and the adapter's limits; `Err` says why not.
    pub fn check(self, limits: &wgpu::Limits) -> Result<(), String> {
        if self.coopmat {
            return coop::check(self, limits);
        }
        if !matches!(self.tm, 4 | 8) || !matches!(self.tn, 4 | 8) {
            return Err(format!(
                "TM and TN must be 4 or 8 (got {}, {})",
                self.tm, self.tn
            ));
        }
        if self.bk == 0 || !self.bk.is_multiple_of(4) || self.bk > 64 {
            return Err(format!(
                "BK must be a multiple of 4 up to 64 (got {})",
                self.bk
            ));
        }
        if self.bm == 0
            || self.bn == 0
            || !self.bm.is_multiple_of(self.tm)
            || !self.bn.is_multiple_of(self.tn)
        {
            return Err("BM must be a multiple of TM and BN of TN".into());
        }
        if self.split_k == 0 || self.split_k > 64 {
            return Err(format!("split-K must be 1..=64 (got {})", self.split_k));
        }
        if self.subgroup
            && (!self.bn.is_multiple_of(self.bk * self.tn) || !self.bk.is_multiple_of(4))
        {
            return Err(format!(
                "the subgroup variant needs BK = the subgroup size and BN a multiple of BK·TN \
                 (got BK {}, BN {}, TN {})",
                self.bk, self.bn, self.tn
            ));
        }
        let (x, y) = self.workgroup();
        if x * y > limits.max_compute_invocations_per_workgroup
            || x > limits.max_compute_workgroup_size_x
            || y > limits.max_compute_workgroup_size_y
        {
            return Err(format!(
                "workgroup {x}×{y} exceeds the adapter's limits ({} invocations, {}×{})",
                limits.max_compute_invocations_per_workgroup,
                limits.max_compute_workgroup_size_x,
                limits.max_compute_workgroup_size_y
            ));
        }
        let (la, lb) = self.loads();
        if la > MAX_LOADS || lb > MAX_LOADS {
            return Err(format!(
                "{la} and {lb} vec4 loads per invocation per slice; the shader stages at \
                 most {MAX_LOADS}"
            ));
        }
        let bytes = self.workgroup_bytes();
        if bytes > u64::from(limits.max_compute_workgroup_storage_size) {
            return Err(format!(
                "{bytes} bytes of workgroup memory exceed max_compute_workgroup_storage_size \
                 ({})",
                limits.max_compute_workgroup_storage_size
            ));
        }
        Ok(())
    }

    /// Checks what the configuration needs beyond limits: the subgroup variant needs
    /// `SUBGROUP` and a fixed subgroup size equal to its BK.
    pub fn check_adapter(
        self,
        features: wgpu::Features,
        info: &wgpu::AdapterInfo,
    ) -> Result<(), String> {
        if self.precision == Precision::F16 && !features.contains(wgpu::Features::SHADER_F16) {
            return Err("needs f16 in shaders (SHADER_F16), which this adapter lacks".into());
        }
        if self.coopmat {
            return coop::check_adapter(self, features, info);
        }
        if !self.subgroup {
            return Ok(());
        }
        if !features.contains(wgpu::Features::SUBGROUP) {
            return Err("needs subgroup operations, which this adapter lacks".into());
        }
        if info.subgroup_min_size != info.subgroup_max_size || info.subgroup_min_size != self.bk {
            return Err(format!(
                "needs a fixed subgroup size of {} (the adapter reports {}–{})",
                self.bk, info.subgroup_min_size, info.subgroup_max_size
            ));
        }
        Ok(())
    }

    /// K per split and the number of splits for `shape`: at most `split_k`, every split
    /// non-empty, each a whole number of BK slices, and the workspace of partial sums
    /// within `max_binding` bytes. One split means no workspace.
    pub fn splits_for(self, shape: Shape, max_binding: u64) -> (u32, u32) {
        let slices = shape.k.div_ceil(self.bk);
        let mut splits = self.split_k.min(slices).max(1);
        while splits > 1 && u64::from(splits) * shape.c_len() * 4 > max_binding {
            splits -= 1;
        }
        let k_split = slices.div_ceil(splits) * self.bk;
        (shape.k.div_ceil(k_split), k_split)
    }

    /// The parameters recorded in result files and the tuning cache.
    pub fn params(self) -> Vec<(&'static str, serde_json::Value)> {
        if self.coopmat {
            return coop::params(self);
        }
        let (x, y) = self.workgroup();
        vec![
            ("workgroup_x", x.into()),
            ("workgroup_y", y.into()),
            ("bm", self.bm.into()),
            ("bn", self.bn.into()),
            ("bk", self.bk.into()),
            ("tm", self.tm.into()),
            ("tn", self.tn.into()),
            ("split_k", self.split_k.into()),
            ("subgroup", self.subgroup.into()),
            ("vec4_loads", true.into()),
            ("double_buffered", true.into()),
        ]
    }
}
