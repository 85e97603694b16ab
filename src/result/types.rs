//! The result file: one serde type tree, the single source of truth for what flopcost
//! writes and reads. `results/schema.json` is generated from these types.
//!
//! Units are in the field names (`_ns`, `_bytes`, `tflops` = 10¹² FLOP/s). Optional
//! sections are absent when the run did not produce them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::timing::Timing;
use crate::types::{ConfigSource, KernelPath, Layout, PathChoice, Precision, TimingMethod};

/// The schema identifier written into every file.
pub const SCHEMA_ID: &str = "flopcost/result/v1";

/// A complete result file.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ResultFile {
    /// Always `flopcost/result/v1` for this version of the format.
    pub schema: String,
    /// The program that wrote the file.
    pub tool: Tool,
    /// When the run started, RFC 3339 in UTC.
    pub created_at: String,
    /// False while the run is in progress or when it stopped early; see `incomplete_reason`.
    pub complete: bool,
    /// Why the run did not finish, when `complete` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete_reason: Option<String>,
    /// The machine the run was made on.
    pub host: Host,
    /// The adapter the run was made on.
    pub adapter: AdapterRecord,
    /// What was asked for.
    pub settings: Settings,
    /// The named, fixed workload the run did (absent for exploratory suites): what a
    /// comparison's headline is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<super::WorkloadRecord>,
    /// Measured arithmetic and memory ceilings of the adapter (`flopcost peak`), the
    /// yardstick of every record's `efficiency`; absent when the run did not measure them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peaks: Option<Peaks>,
    /// One entry per benchmark, in the order they ran.
    pub records: Vec<Record>,
    /// Warnings printed during the run, each with its remedy.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// What the work costs, with every input and its source; absent when the file was
    /// never priced (`flopcost cost FILE` prices it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<super::Cost>,
    /// Training-step cost of each block of layers run as training triplets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triplets: Vec<super::TripletBlock>,
    /// The MLP trained on the GPU, when the run trained one (with several precisions, the
    /// run in the first; see `training.precision`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<super::Training>,
    /// Run-to-run spread of each record's median, when the suite ran more than once
    /// (`--repeat N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeatability: Option<super::Repeatability>,
    /// One GEMM run back to back, throughput per second (`--sustain SECONDS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sustain: Option<super::Sustain>,
    /// The same MLP trained in each further precision asked for (`--precision f32,f16`),
    /// in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_training: Vec<super::Training>,
    /// The software that ran the GEMMs; absent in files from before this field, which
    /// all come from flopcost's own kernels through wgpu.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
    /// The power sensor the run read, where it had one: each record's and the training's
    /// `power` come from it. Absent where only nameplate watts are known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<super::power::PowerSection>,
}

/// The software that ran the GEMMs: flopcost's kernels through wgpu, or a vendor library
/// measured by `scripts/torch_reference.py` for comparison.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Runtime {
    /// `wgpu` (flopcost's own WGSL kernels) or `torch` (PyTorch, i.e. the vendor's BLAS
    /// library: cuBLAS, hipBLAS/rocBLAS, MPS, oneDNN, ...).
    pub name: String,
    /// Its version.
    pub version: String,
    /// The device it ran on as that runtime names it, e.g. `cuda:0` (absent for wgpu,
    /// whose adapter is in `adapter`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Versions of the libraries underneath, by name (e.g. `cuda`, `cublas`, `cudnn`,
    /// `numpy`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub libraries: BTreeMap<String, String>,
}

impl Runtime {
    /// flopcost's own kernels through the wgpu it was built with.
    pub fn wgpu() -> Runtime {
        Runtime {
            name: "wgpu".into(),
            version: env!("FLOPCOST_WGPU_VERSION").into(),
            device: None,
            libraries: BTreeMap::new(),
        }
    }
}

impl ResultFile {
    /// Whether the file measures flopcost's kernels through wgpu (files without a
    /// `runtime` do).
    pub fn is_wgpu(&self) -> bool {
        self.runtime.as_ref().is_none_or(|r| r.name == "wgpu")
    }

    /// Whether the file holds anything measured: a record, a triplet block, a training
    /// run or peaks.
    pub fn has_measurements(&self) -> bool {
        !self.records.is_empty()
            || !self.triplets.is_empty()
            || self.training.is_some()
            || self.peaks.is_some()
    }

    /// Every training section: `training`, then `more_training`.
    pub fn trainings(&self) -> impl Iterator<Item = &super::Training> {
        self.training.iter().chain(&self.more_training)
    }
}

/// The program that wrote a file.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Tool {
    /// `flopcost`.
    pub name: String,
    /// The crate version.
    pub version: String,
    /// The git commit it was built from (`unknown` outside a checkout; `-dirty` suffix
    /// when the tree had uncommitted changes).
    pub git_commit: String,
}

/// The host machine.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Host {
    /// Operating system name and version.
    pub os: String,
    /// Kernel version.
    pub kernel: String,
    /// CPU model name.
    pub cpu: String,
    /// Logical CPU cores.
    pub logical_cores: u32,
    /// Physical memory in bytes.
    pub memory_bytes: u64,
    /// The machine's host name (what a fleet summary names its outliers by); absent in
    /// files from before this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
}

/// The adapter: every `wgpu::AdapterInfo` field, its features, limits and
/// cooperative-matrix configurations.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct AdapterRecord {
    /// Index in `flopcost devices` on the machine that made the file.
    pub index: u32,
    /// Adapter name as the driver reports it.
    pub name: String,
    /// PCI vendor id (0x10de NVIDIA, 0x1002 AMD, 0x8086 Intel, 0x10005 Mesa).
    pub vendor_id: u32,
    /// PCI device id.
    pub device_id: u32,
    /// `discrete_gpu`, `integrated_gpu`, `virtual_gpu`, `cpu` or `other`.
    pub device_type: String,
    /// `vulkan`, `metal`, `dx12` or `gl`.
    pub backend: String,
    /// Driver name.
    pub driver: String,
    /// Driver version and details.
    pub driver_info: String,
    /// PCI bus id, where the backend reports it.
    #[serde(default)]
    pub device_pci_bus_id: String,
    /// Smallest subgroup size.
    #[serde(default)]
    pub subgroup_min_size: u32,
    /// Largest subgroup size.
    #[serde(default)]
    pub subgroup_max_size: u32,
    /// Every wgpu feature the adapter offers, by wgpu's name.
    pub features: Vec<String>,
    /// Every wgpu limit of the adapter, by wgpu's field name.
    pub limits: BTreeMap<String, u64>,
    /// Cooperative-matrix (tensor core) configurations the adapter reports.
    pub cooperative_matrix: Vec<CoopMatConfig>,
    /// Size of the largest device-local memory heap, where the backend reports it
    /// (Vulkan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_memory_bytes: Option<u64>,
}

/// One cooperative-matrix configuration: `C[M×N] += A[M×K]·B[K×N]`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct CoopMatConfig {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    /// Element type of A and B (`f16`, `f32`, ...).
    pub ab_type: String,
    /// Element type of the accumulator and result.
    pub cr_type: String,
    pub saturating_accumulation: bool,
}

/// What the run was asked to do.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Settings {
    /// `quick`, `standard`, `full`, or `custom` for explicit `--shape`s.
    pub suite: String,
    /// Seed of the random inputs.
    pub seed: u64,
    /// Sampling time budget per benchmark, in seconds.
    pub time_budget_s: f64,
    /// Time budget for the whole run, in seconds (sizes that would not fit are skipped).
    pub total_budget_s: f64,
    /// Most samples per benchmark.
    pub max_samples: u64,
    /// Fewest samples per benchmark.
    pub min_samples: u64,
    /// Kernels asked for.
    pub kernels: Vec<String>,
    /// Timing asked for: `auto` (timestamps where available) or `host`.
    pub timing: String,
    /// The command line, for reproducing the run.
    pub command_line: Vec<String>,
    /// Tokens per step asked for with `--tokens` (training layers); absent when chosen
    /// per block from the budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u32>,
    /// Operand precisions asked for (`--precision`), in order; absent in files from
    /// before f16, which are all f32.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub precisions: Vec<Precision>,
    /// Where f16 GEMMs were asked to run (`--f16-path`): `auto`, `simt` or `coopmat`;
    /// each record's `kernel.path` says where they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub f16_path: Option<PathChoice>,
}

impl Settings {
    /// The settings of `flopcost peak`: `runs` timed runs of each peak kernel.
    pub fn peak(runs: u64) -> Settings {
        Settings {
            suite: "peak".into(),
            seed: 0,
            time_budget_s: 0.0,
            total_budget_s: 0.0,
            max_samples: runs,
            min_samples: runs,
            kernels: Vec::new(),
            timing: "auto".into(),
            command_line: std::env::args().collect(),
            tokens: None,
            precisions: Vec::new(),
            f16_path: None,
        }
    }
}

/// One benchmark.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Record {
    /// Unique within the file, e.g. `gemm-nn-256x256x256-tiled`.
    pub id: String,
    /// `gemm`.
    pub kind: RecordKind,
    /// Storage precision of A and B: `f32`, or `f16` (accumulated and stored in f32).
    pub precision: Precision,
    /// Which operands are transposed.
    pub layout: Layout,
    /// Rows of C.
    pub m: u32,
    /// Columns of C.
    pub n: u32,
    /// Length of each dot product.
    pub k: u32,
    /// The training product or suite entry this record belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Products of this shape run in one dispatch (attention's products over heads), each
    /// with its own A and C; absent for one product. FLOPs, verification and throughput
    /// are those of the whole batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
    /// Consecutive products of the batch that read one B (grouped-query attention: the
    /// query heads of a group read one key or value head); absent when none share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_b: Option<u32>,
    /// The kernel that produced it.
    pub kernel: KernelRecord,
    /// Independent sub-products the GEMM was split into (by rows of C, columns of C or
    /// both) because an operand exceeded the adapter's buffer limits; all of them are
    /// dispatched in one pass and timed together. Absent for one piece.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<u32>,
    /// Floating-point operations of one run: 2·M·N·K, times `batch`.
    pub flops: u64,
    /// The check against the f64 reference, made before any timing.
    pub verification: Verification,
    /// Timing; absent when verification failed (a failed kernel is never timed).
    #[serde(default)]
    pub timing: Option<Timing>,
    /// Throughput in 10¹² FLOP/s; absent when verification failed.
    #[serde(default)]
    pub tflops: Option<Tflops>,
    /// `tflops.median` as a fraction of the measured FMA peak of the record's precision
    /// (`peaks`); absent without a throughput or without a measured peak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efficiency: Option<f64>,
    /// Power measured while the record was sampled, where the run had a sensor
    /// (`power` at the top level says which).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<super::power::PhasePower>,
}

impl Record {
    /// The batch the record ran: its products and their sharing of B.
    pub fn batch(&self) -> crate::types::Batch {
        crate::types::Batch::new(self.batch.unwrap_or(1), self.shared_b.unwrap_or(1))
    }
}

/// A kernel and its parameters.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct KernelRecord {
    pub name: String,
    /// Tile sizes and other specialisation constants.
    pub params: BTreeMap<String, serde_json::Value>,
    /// Where the parameters came from: `fixed` (a kernel with fixed parameters), `cache`
    /// (the tuning cache), `tuned` (tuned during this run) or `heuristic` (the tuned
    /// kernel without a cache entry or time to tune). Absent in files from before tuning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ConfigSource>,
    /// The shape class the tuned parameters apply to (tuned kernel only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape_class: Option<String>,
    /// Where the multiply-adds ran: `simt` (the shader cores) or `coopmat` (cooperative
    /// matrices, i.e. tensor cores). Absent in files from before f16, and in files of
    /// other runtimes (`runtime`), where the library chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<KernelPath>,
}

/// What a record measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// One GEMM `C = op(A)·op(B)`.
    Gemm,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Gemm => "gemm",
        }
    }
}

/// How much of C a verification compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckMethod {
    /// Every entry.
    Full,
    /// A sample: whole edge rows and columns plus entries spread over the output.
    Sampled,
}

/// The outcome of verification.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Verification {
    /// ‖C − C_ref‖_F / ‖C_ref‖_F over the checked entries; null when it was not finite
    /// (NaN or infinite output).
    pub rel_error: Option<f64>,
    /// The largest `rel_error` that passes.
    pub tolerance: f64,
    /// `rel_error ≤ tolerance` and every output entry was written.
    pub passed: bool,
    /// How many entries of C were compared.
    pub checked_entries: u64,
    /// `full` (every entry) or `sampled` (edge rows and columns plus random entries).
    pub method: CheckMethod,
    /// Output entries still holding the NaN poison after the run.
    pub unwritten_entries: u64,
}

/// Throughput in 10¹² FLOP/s.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Tflops {
    /// At the median sample: flops / median_ns / 1000.
    pub median: f64,
    /// At the fastest sample: flops / min_ns / 1000.
    pub best: f64,
}

/// Measured ceilings of the adapter, vkpeak's method: arithmetic from many independent
/// FMA chains with no memory traffic (the fastest of a family of chain shapes), the
/// cooperative-matrix rate from fragments multiplied back to back, and bandwidth from
/// copies: a shader copy, a transfer copy, and uploads and readbacks between host and
/// device.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Peaks {
    /// f32 FMA rate at the fastest run, 10¹² FLOP/s (an FMA counts as 2 FLOP).
    pub fma_f32_tflops: f64,
    /// f16 FMA rate at the fastest run, 10¹² FLOP/s; absent without `SHADER_F16`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fma_f16_tflops: Option<f64>,
    /// Shader-copy bandwidth at the fastest run, 10⁹ bytes/s, bytes read plus bytes
    /// written.
    pub copy_gbps: f64,
    /// How `fma_f32_tflops` was measured.
    pub fma_f32: PeakMethod,
    /// How `fma_f16_tflops` was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fma_f16: Option<PeakMethod>,
    /// How `copy_gbps` was measured.
    pub copy: PeakMethod,
    /// Cooperative-matrix (tensor-core) rates, f16 inputs: one per fragment size and
    /// accumulator type the adapter offers; empty without cooperative matrices.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matrix: Vec<MatrixPeak>,
    /// Transfer copy (`copy_buffer_to_buffer`, device to device), 10⁹ bytes/s, bytes
    /// copied counted once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_gbps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<PeakMethod>,
    /// Host to device (`queue.write_buffer`, submitted and waited for), 10⁹ bytes/s,
    /// bytes counted once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_gbps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<PeakMethod>,
    /// Device to host (a copy into a mappable buffer, mapped and read), 10⁹ bytes/s,
    /// bytes counted once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readback_gbps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readback: Option<PeakMethod>,
}

/// One cooperative-matrix peak.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct MatrixPeak {
    /// `8x8x8` or `16x16x16` (M × N × K of one fragment product).
    pub fragment: String,
    /// Accumulator type: `f32` or `f16`.
    pub accumulator: Precision,
    /// Rate at the fastest run, 10¹² FLOP/s (2·M·N·K per fragment product).
    pub tflops: f64,
    pub method: PeakMethod,
}

impl Peaks {
    /// The measured peak a record of `precision` on `path` is judged against, TFLOP/s:
    /// the FMA peak of its precision on the shader cores; for cooperative matrices the
    /// fastest f32-accumulator matrix peak (the kernels accumulate in f32).
    pub fn tflops_for(&self, precision: Precision, path: Option<KernelPath>) -> Option<f64> {
        let peak = match (precision, path) {
            (_, Some(KernelPath::Coopmat)) => self
                .matrix
                .iter()
                .filter(|m| m.accumulator == Precision::F32)
                .map(|m| m.tflops)
                .max_by(f64::total_cmp),
            (Precision::F32, _) => Some(self.fma_f32_tflops),
            (Precision::F16, _) => self.fma_f16_tflops,
        };
        peak.filter(|p| p.is_finite() && *p > 0.0)
    }
}

/// How the bytes of a bandwidth peak are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ByteCount {
    /// Bytes read plus bytes written (a copy of N bytes counts 2·N).
    ReadPlusWrite,
    /// Bytes moved, counted once (a copy of N bytes counts N).
    Once,
}

/// How one peak was measured.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct PeakMethod {
    /// What the kernel does.
    pub kernel: String,
    /// `gpu_timestamp` or `host_clock`.
    pub timing_method: TimingMethod,
    /// Invocations per dispatch.
    pub invocations: u64,
    /// Work of one dispatch: FLOP for FMA peaks, bytes read + written for the copy.
    pub work_per_run: f64,
    /// Timed runs (the peak is the fastest).
    pub runs: u64,
    /// Fastest run, ns.
    pub best_ns: f64,
    /// Median run, ns.
    pub median_ns: f64,
    /// Kernel parameters (chains, iterations, vector width, buffer size; for the FMA
    /// peaks the chosen `variant` and every variant's screening rate in `variants`).
    pub params: BTreeMap<String, serde_json::Value>,
    /// For bandwidth peaks: how the bytes are counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<ByteCount>,
    /// Power over this peak's whole measurement (calibration, screening and timed runs),
    /// where the run read a sensor; for an arithmetic peak its joules per PFLOP are at the
    /// peak's rate (`work_per_run / best_ns`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<super::power::PhasePower>,
}
