//! The vocabulary every layer shares: a GEMM's shape and layout, the operand precision
//! with its verification tolerance, where the multiply-adds ran, how samples were timed,
//! and a dense training layer with its three products. Plain data, no I/O: everything
//! above may use it, and it uses only [`crate::error`] and [`crate::util`].

use std::fmt;

use anyhow::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::input_error;
use crate::util::parse_list;

/// Relative Frobenius error allowed for f32 storage and accumulation.
///
/// Rounding error of an f32 dot product grows like √K·ε (ε = 6e-8); at K = 16384 that
/// is about 8e-6, an order of magnitude inside this bound, while a single dropped term
/// of K = 16384 already gives ~1/√K ≈ 8e-3.
pub const F32_TOLERANCE: f64 = 1e-4;

/// Relative Frobenius error allowed for f16 operands with f32 accumulation, against the
/// f64 reference of the f16-rounded inputs.
///
/// The inputs' rounding is in the reference, so what remains is the f32 accumulation
/// (as for f32) and, where a kernel keeps intermediate values in f16 or accumulates in
/// a different order on cooperative matrices, rounding of the same order as f16's unit
/// roundoff (4.9e-4). A single dropped term of K = 4096 still gives ~1/√K ≈ 1.6e-2.
pub const F16_TOLERANCE: f64 = 2e-3;

/// Which operands are transposed: the three products of training.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
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

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A batch of products of one shape run in one dispatch (attention's products over
/// heads). Product `i` reads its A at `i`·(A's size) and its B at `(i / share_b)`·(B's
/// size) in elements, so `share_b` consecutive products read one B (grouped-query
/// attention: the query heads of a group read one key and value head); its C is at
/// `i`·M·N. [`Batch::ONE`] is a single product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Batch {
    pub count: u32,
    pub share_b: u32,
}

impl Batch {
    pub const ONE: Batch = Batch {
        count: 1,
        share_b: 1,
    };

    pub fn new(count: u32, share_b: u32) -> Batch {
        Batch { count, share_b }
    }

    /// A batch of `count` products with their own operands.
    pub fn of(count: u32) -> Batch {
        Batch { count, share_b: 1 }
    }

    pub fn is_one(self) -> bool {
        self == Batch::ONE
    }

    /// The distinct B operands (`count / share_b`).
    pub fn b_count(self) -> u32 {
        self.count / self.share_b.max(1)
    }

    /// Whether the batch is well formed: at least one product, `share_b` at least 1 and
    /// dividing `count`.
    pub fn check(self) -> Result<(), String> {
        if self.count == 0 || self.share_b == 0 || !self.count.is_multiple_of(self.share_b) {
            return Err(format!(
                "a batch of {} products sharing B by {} is not one flopcost runs (count ≥ 1, \
                 sharing ≥ 1 and dividing the count)",
                self.count, self.share_b
            ));
        }
        Ok(())
    }

    /// `5x` (or nothing for one product), and `/2` when B is shared.
    pub fn prefix(self) -> String {
        match (self.count, self.share_b) {
            (1, _) => String::new(),
            (c, 1) => format!("{c}x"),
            (c, s) => format!("{c}/{s}x"),
        }
    }
}

/// Elements between consecutive batches' operands, as a kernel reads them: a product's A
/// and B are each contiguous, so the strides are their sizes; a test sets a wrong one to
/// prove that verification catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Strides {
    pub a: u64,
    pub b: u64,
}

impl Strides {
    /// The strides of contiguous operands of `shape`.
    pub fn of(shape: Shape) -> Strides {
        Strides {
            a: shape.a_len(),
            b: shape.b_len(),
        }
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

    /// 2·M·N·K, or `None` where it does not fit in 64 bits.
    pub fn checked_flops(self) -> Option<u64> {
        2u64.checked_mul(u64::from(self.m))?
            .checked_mul(u64::from(self.n))?
            .checked_mul(u64::from(self.k))
    }

    /// 2·M·N·K for each product of a batch, or `None` where it does not fit in 64 bits.
    pub fn checked_batch_flops(self, batch: Batch) -> Option<u64> {
        self.checked_flops()?.checked_mul(u64::from(batch.count))
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

/// Storage precision of the GEMM operands A and B (accumulation and C are f32).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// f32 operands.
    #[default]
    F32,
    /// f16 operands (IEEE binary16), f32 accumulation (needs `SHADER_F16`).
    F16,
}

impl Precision {
    pub const ALL: [Precision; 2] = [Precision::F32, Precision::F16];

    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
        }
    }

    /// Bytes of one operand element.
    pub fn bytes(self) -> u64 {
        match self {
            Precision::F32 => 4,
            Precision::F16 => 2,
        }
    }

    /// The relative Frobenius error verification allows: fixed per precision, never
    /// taken from a file.
    pub fn tolerance(self) -> f64 {
        match self {
            Precision::F32 => F32_TOLERANCE,
            Precision::F16 => F16_TOLERANCE,
        }
    }

    pub fn is_f32(&self) -> bool {
        *self == Precision::F32
    }

    /// Parses `f32`, `f16` or a comma-separated list of them (`f32,f16`).
    pub fn parse_list(s: &str) -> Result<Vec<Precision>> {
        parse_list(
            s,
            "--precision",
            "f32, f16 or both (f32,f16)",
            |part| match part {
                "f32" | "fp32" => Some(Precision::F32),
                "f16" | "fp16" | "half" => Some(Precision::F16),
                _ => None,
            },
        )
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the multiply-adds of a kernel run; recorded as `kernel.path`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum KernelPath {
    /// The shader cores: scalar or vector FMAs, one invocation at a time.
    Simt,
    /// Cooperative matrices (tensor cores): fragment products per subgroup.
    Coopmat,
}

impl KernelPath {
    pub fn as_str(self) -> &'static str {
        match self {
            KernelPath::Simt => "simt",
            KernelPath::Coopmat => "coopmat",
        }
    }
}

impl fmt::Display for KernelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How samples were timed.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TimingMethod {
    /// GPU timestamp queries around each run.
    GpuTimestamp,
    /// The host clock around submit + wait of one run (includes launch overhead).
    HostClock,
    /// Another runtime's device events around each run (CUDA events: files written by
    /// `scripts/torch_reference.py`).
    DeviceEvent,
}

impl TimingMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            TimingMethod::GpuTimestamp => "gpu_timestamp",
            TimingMethod::HostClock => "host_clock",
            TimingMethod::DeviceEvent => "device_event",
        }
    }
}

impl fmt::Display for TimingMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `--f16-path`: which path f16 GEMMs take.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PathChoice {
    /// Cooperative matrices where the adapter offers a fragment configuration flopcost
    /// has kernels for, else the shader cores (the record and a warning say why).
    #[default]
    Auto,
    /// Always the shader cores.
    Simt,
    /// Always cooperative matrices; refused on an adapter without them.
    Coopmat,
}

impl PathChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            PathChoice::Auto => "auto",
            PathChoice::Simt => "simt",
            PathChoice::Coopmat => "coopmat",
        }
    }
}

/// Where a kernel's parameters came from; recorded as `kernel.source`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConfigSource {
    /// A kernel with fixed parameters (`naive`, `tiled`, `block`).
    Fixed,
    /// The tuning cache on disk.
    Cache,
    /// Tuned during this run.
    Tuned,
    /// The tuned kernel without a cache entry or time to tune: the shape-based default.
    Heuristic,
}

impl ConfigSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigSource::Fixed => "fixed",
            ConfigSource::Cache => "cache",
            ConfigSource::Tuned => "tuned",
            ConfigSource::Heuristic => "heuristic",
        }
    }
}

/// One dense layer `d_in → d_out` of a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    /// Name within its block, e.g. `ffn.up`.
    pub name: String,
    pub d_in: u32,
    pub d_out: u32,
}

impl Layer {
    pub fn new(name: &str, d_in: u32, d_out: u32) -> Layer {
        Layer {
            name: name.to_string(),
            d_in,
            d_out,
        }
    }

    /// The three products of a training step for `tokens` tokens, in training order:
    /// forward `Y = X·W` (NN, M = B, N = out, K = in), input gradient `dX = dY·Wᵀ` (NT,
    /// M = B, N = in, K = out, W stored in×out) and weight gradient `dW = Xᵀ·dY` (TN,
    /// M = in, N = out, K = B, X stored B×in).
    pub fn triplet(&self, tokens: u32) -> [(Layout, Shape); 3] {
        let b = tokens;
        [
            (Layout::Nn, Shape::new(b, self.d_out, self.d_in)),
            (Layout::Nt, Shape::new(b, self.d_in, self.d_out)),
            (Layout::Tn, Shape::new(self.d_in, self.d_out, b)),
        ]
    }

    /// 6·B·in·out.
    pub fn training_flops(&self, tokens: u32) -> u64 {
        6 * u64::from(tokens) * u64::from(self.d_in) * u64::from(self.d_out)
    }

    /// Parameters of the weight matrix (no bias).
    pub fn params(&self) -> u64 {
        u64::from(self.d_in) * u64::from(self.d_out)
    }
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
    fn precisions_parse() {
        assert_eq!(
            Precision::parse_list("f32, F16,f32").unwrap(),
            vec![Precision::F32, Precision::F16]
        );
        for bad in ["", "bf16", "f64", ","] {
            let err = Precision::parse_list(bad).unwrap_err();
            assert!(err.chain().any(|e| e.is::<crate::error::InputError>()));
        }
    }

    #[test]
    fn vocabulary_serializes_as_the_result_file_spells_it() {
        let j = |v: serde_json::Value| v.as_str().unwrap().to_string();
        assert_eq!(j(serde_json::to_value(Precision::F16).unwrap()), "f16");
        assert_eq!(j(serde_json::to_value(Layout::Tn).unwrap()), "tn");
        assert_eq!(
            j(serde_json::to_value(KernelPath::Coopmat).unwrap()),
            "coopmat"
        );
        assert_eq!(
            j(serde_json::to_value(TimingMethod::GpuTimestamp).unwrap()),
            "gpu_timestamp"
        );
        for m in [
            TimingMethod::GpuTimestamp,
            TimingMethod::HostClock,
            TimingMethod::DeviceEvent,
        ] {
            assert_eq!(j(serde_json::to_value(m).unwrap()), m.as_str());
        }
    }

    #[test]
    fn triplets_do_six_b_in_out_flops() {
        let l = Layer::new("up", 4096, 14336);
        let total: u64 = l.triplet(32).iter().map(|(_, s)| s.flops()).sum();
        assert_eq!(total, l.training_flops(32));
    }
}
