//! The comparison as a model: the machines with their figures per basis, the matched
//! rows, what did not match, each file against the baseline with its verdict, and the
//! notes every output carries. Built by [`super::build`]; drawn by `report::export`.

use serde::Serialize;

pub use crate::stats::bootstrap::Interval;

/// Repetitions whose medians spread more than this ((max − min) / median) are flagged.
pub const NOISY_SPREAD: f64 = 0.05;

/// How the comparison was made, for every output format.
pub const MATCHING_NOTE: &str = "Records are matched by (kind, precision, layout, m, n, k); \
    when a file has several kernels for one shape, its best verified kernel (highest median \
    TFLOP/s) is compared.";

/// How the intervals were made.
pub const INTERVAL_NOTE: &str = "Intervals are 95% intervals of the speed ratio that cover \
    the variation between independent repetitions (each with its own warm-up) as well as \
    within one run: on the log scale, each side's variance of the mean is the larger of the \
    between-repetition variance and the within-run variance (bootstrap of the run's samples), \
    over the number of repetitions; the interval uses Student's t with Welch-Satterthwaite \
    degrees of freedom (Welch 1947; repetitions as the unit, after Kalibera & Jones, \
    Rigorous Benchmarking in Reasonable Time, 2013). With one repetition on a side, the \
    interval covers within-run noise only.";

/// What the vendor-library column is.
pub const VENDOR_NOTE: &str = "wgpu / vendor library: each wgpu file's median throughput \
    over the vendor library's (a `runtime` other than wgpu, e.g. PyTorch calling cuBLAS, \
    written by scripts/torch_reference.py) on the same (precision, layout, m, n, k), \
    measured on the same machine; 1.00× is parity.";

/// How cost is compared.
pub const COST_NOTE: &str = "USD/PFLOP = USD per hour / (3.6 × TFLOP/s), on one basis per \
    column: the workload's training step (its block's forward, input-gradient and \
    weight-gradient products, and attention's six and the LM head's three where it has \
    them), the MLP training run, or the best GEMM. The cost ratio of a headline is the price \
    ratio over the speed ratio of the workload's step, so its interval is the speed interval \
    scaled by the price ratio. Per training token: tokens/s = tokens per step / the model's \
    step (its layers × the block's products + the LM head, medians summed), USD per million \
    tokens = USD per hour / (3600 × tokens/s) × 10⁶; its interval weighs each product's \
    within-run noise by how often it counts in the model's step.";

/// What a cost or throughput figure is taken over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The training step of the workload's block: its products' medians summed, at the
    /// geometric mean of the repetitions.
    WorkloadStep,
    /// The MLP trained on the GPU (whole steps).
    MlpTraining,
    /// The best verified GEMM of the file.
    BestGemm,
}

impl Basis {
    pub const ALL: [Basis; 3] = [Basis::WorkloadStep, Basis::MlpTraining, Basis::BestGemm];

    /// Its name in column headers.
    pub fn label(self) -> &'static str {
        match self {
            Basis::WorkloadStep => "workload step",
            Basis::MlpTraining => "MLP training",
            Basis::BestGemm => "best GEMM",
        }
    }
}

/// One file to compare: read, validated and priced ([`crate::analysis::ingest`]).
pub use crate::analysis::ingest::Ingested as Input;

/// The whole comparison.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// Index of the baseline in `machines`.
    pub baseline: usize,
    /// Index of the vendor-library file (the first whose runtime is not wgpu) when the
    /// comparison also has wgpu files: every wgpu cell then has a `vs_vendor` ratio.
    pub vendor: Option<usize>,
    pub machines: Vec<Machine>,
    /// The headline of the first other file against the baseline (null when refused).
    pub headline: Option<Verdict>,
    /// Why there is no headline (empty when there is one).
    pub refusals: Vec<String>,
    /// Every other file against the baseline.
    pub verdicts: Vec<Pair>,
    /// Shapes present in the baseline and at least one other file.
    pub rows: Vec<Row>,
    /// Records that have no counterpart, per file.
    pub unmatched: Vec<Unmatched>,
    /// The files' own warnings and what the comparison notices (software adapters,
    /// noisy figures), each once.
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

/// One machine (result file).
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// Short name: the file name without `.json` (the path when names repeat).
    pub label: String,
    pub path: String,
    pub adapter: String,
    pub backend: String,
    /// The runtime that ran the GEMMs, e.g. `wgpu 30.0.2` or `torch 2.11.0`.
    pub runtime: String,
    /// False for a vendor-library file.
    pub wgpu: bool,
    pub device_type: String,
    /// A software rasteriser on the CPU: its figures say nothing about GPUs.
    pub software: bool,
    pub created_at: String,
    pub tool_version: String,
    pub complete: bool,
    /// `small v1`, when the file ran a named workload.
    pub workload: Option<String>,
    pub workload_digest: Option<String>,
    /// Repetitions of the workload (1 for an exploratory suite).
    pub repetitions: u32,
    pub catalog_entry: Option<String>,
    pub pricing: Option<String>,
    pub usd_per_hour: Option<f64>,
    /// Where the price came from.
    pub price_source: Option<String>,
    pub watts: Option<f64>,
    /// Throughput and cost per basis, for the bases the file has.
    pub figures: Vec<Figure>,
    /// What the workload's products ran in: `f16 operands, f32 accumulation on tensor
    /// cores`.
    pub work: Option<String>,
    /// Where they ran: `coopmat`, `simt`, or both joined by `+`.
    pub kernel_path: Option<String>,
    /// What a training token of the workload's model costs on this machine.
    pub per_token: Option<TokenFigure>,
    /// How to give a missing price or power figure.
    pub note: Option<String>,
    /// Every shape's best verified record, for the charts.
    pub points: Vec<Point>,
    /// The sustained run (`--sustain`), if the file has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sustain: Option<SustainSeries>,
}

impl Machine {
    /// The figure of one basis, if the file has it.
    pub fn figure(&self, basis: Basis) -> Option<&Figure> {
        self.figures.iter().find(|f| f.basis == basis)
    }
}

/// Throughput and cost of one machine on one basis.
#[derive(Clone, Debug, Serialize)]
pub struct Figure {
    pub basis: Basis,
    /// The work, in words: `the small training step`.
    pub what: String,
    pub tflops: f64,
    pub usd_per_pflop: Option<f64>,
    /// From nameplate watts (`--watts` or the catalog).
    pub joules_per_pflop: Option<f64>,
    /// From the adapter's own power sensor, where the run read one.
    pub joules_per_pflop_measured: Option<f64>,
}

/// Training a model per token at the workload's measured step (matmul work only).
#[derive(Clone, Debug, Serialize)]
pub struct TokenFigure {
    pub model: String,
    pub tokens_per_second: f64,
    pub usd_per_million_tokens: Option<f64>,
    pub joules_per_million_tokens: Option<f64>,
    pub joules_per_million_tokens_measured: Option<f64>,
    /// The MLP's whole training step over its GEMMs' time on this machine.
    pub training_overhead: Option<f64>,
}

/// One point of the throughput chart.
#[derive(Clone, Debug, Serialize)]
pub struct Point {
    pub flops: u64,
    pub tflops: f64,
    pub layout: String,
    /// `forward`, `input gradient`, `weight gradient`, or `other` for records that are
    /// no training product.
    pub role: String,
}

/// A sustained run's throughput over time.
#[derive(Clone, Debug, Serialize)]
pub struct SustainSeries {
    /// The GEMM, e.g. `nn 4096x4096x4096 tuned`.
    pub gemm: String,
    /// (seconds since the start, TFLOP/s) per window.
    pub points: Vec<(f64, f64)>,
    pub throttled: bool,
}

/// One matched shape.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub kind: String,
    pub precision: String,
    pub layout: String,
    pub m: u32,
    pub n: u32,
    pub k: u32,
    /// Products run in one dispatch (absent: one), and how many share a B.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_b: Option<u32>,
    pub flops: u64,
    /// The training product this shape is, from the baseline's record (`forward`, ...).
    pub role: Option<String>,
    /// Per machine, in `machines` order; null where the file lacks the shape.
    pub cells: Vec<Option<Cell>>,
}

/// One machine's best record for a shape.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    pub record: String,
    pub kernel: String,
    pub tflops: f64,
    pub median_ns: f64,
    pub samples: u64,
    /// Repetitions of the record (its medians in the repeatability section).
    pub repetitions: u32,
    /// Throughput over the baseline's; null for the baseline itself.
    pub ratio: Option<f64>,
    pub interval: Option<Interval>,
    pub usd_per_pflop: Option<f64>,
    /// The record's measured power (its `power` figure): mean watts over its sampling
    /// and joules per 10¹⁵ FLOP at its median; absent where the run read no sensor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured_watts: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joules_per_pflop_measured: Option<f64>,
    /// This wgpu cell's throughput over the vendor library's on the same record; null for
    /// the vendor file itself, or where it lacks the record.
    pub vs_vendor: Option<f64>,
    /// Why the record is flagged as noisy (its samples spread more than 10%, or its
    /// repetitions more than 5%); null when it is not.
    pub noisy: Option<String>,
}

/// Records of one file with no counterpart.
#[derive(Clone, Debug, Serialize)]
pub struct Unmatched {
    pub machine: usize,
    pub label: String,
    /// Why: not in the baseline, or (for the baseline) in no other file.
    pub reason: String,
    pub records: Vec<String>,
}

/// One machine against the baseline: its headline, or why there is none.
#[derive(Clone, Debug, Serialize)]
pub struct Pair {
    pub machine: usize,
    pub baseline: usize,
    pub headline: Option<Verdict>,
    pub refusals: Vec<String>,
}

/// The quotable summary for one machine against the baseline.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// The workload, `small v1`.
    pub workload: String,
    pub basis: Basis,
    /// Throughput over the baseline's.
    pub speed_ratio: f64,
    pub speed_interval: Interval,
    /// USD per PFLOP over the baseline's; null when a price is missing.
    pub cost_ratio: Option<f64>,
    pub cost_interval: Option<Interval>,
    /// Repetitions of the baseline and of this machine.
    pub repetitions: [u32; 2],
    /// True when a side has one repetition: the interval covers within-run noise only.
    pub within_run_only: bool,
    /// Inputs of the headline that are flagged, and other things to know.
    pub warnings: Vec<String>,
    pub sentence: String,
    /// The same per training token of the workload's model (absent without one).
    pub per_token: Option<TokenVerdict>,
}

/// The headline's second line: the cost of a training token of the workload's model.
#[derive(Clone, Debug, Serialize)]
pub struct TokenVerdict {
    pub model: String,
    /// Tokens per second over the baseline's, with its 95% interval.
    pub speed_ratio: f64,
    pub speed_interval: Interval,
    /// USD per million tokens over the baseline's; null when a price is missing.
    pub cost_ratio: Option<f64>,
    pub cost_interval: Option<Interval>,
    /// Tokens per second of the baseline and of this machine.
    pub tokens_per_second: [f64; 2],
    pub sentence: String,
}
