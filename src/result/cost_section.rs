//! The result file's optional `cost` section: what the measured work costs, and every
//! input that went into that figure together with where it came from, so anyone can check
//! the arithmetic or redo it with other prices (`flopcost cost FILE`).
//!
//! Units are in the field names: `usd_per_hour`, `usd_per_pflop` (US dollars per 10¹⁵
//! floating-point operations), `joules_per_pflop`, `tflops` (10¹² FLOP/s). A figure that
//! cannot be computed (no price, no power figure, no datasheet peak) is null.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the run's work costs, with its inputs.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Cost {
    /// Every input of the cost model and where it came from.
    pub inputs: CostInputs,
    /// The catalog entry (`flopcost catalog`) the adapter matched, if any.
    #[serde(default)]
    pub catalog_entry: Option<String>,
    /// `rental` (a price per hour) or `ownership` (purchase price spread over the
    /// lifetime, plus energy); null when no price was given or known.
    #[serde(default)]
    pub pricing: Option<String>,
    /// Price of one hour of the accelerator, USD.
    #[serde(default)]
    pub usd_per_hour: Option<f64>,
    /// The measured throughputs the figures below are taken at.
    pub throughput: CostThroughput,
    /// USD per 10¹⁵ FLOP at the best verified GEMM's median throughput:
    /// `usd_per_hour / (3.6 · tflops)`.
    #[serde(default)]
    pub usd_per_pflop: Option<f64>,
    /// USD per 10¹⁵ FLOP at the training run's throughput, where the file has one.
    #[serde(default)]
    pub usd_per_pflop_training: Option<f64>,
    /// USD per 10¹⁵ FLOP at each training-triplet suite's throughput, by suite.
    #[serde(default)]
    pub usd_per_pflop_suites: BTreeMap<String, f64>,
    /// Board energy per 10¹⁵ FLOP at the best verified GEMM's median throughput:
    /// `watts · 1000 / tflops`.
    #[serde(default)]
    pub joules_per_pflop: Option<f64>,
    /// Board energy per 10¹⁵ FLOP at the training-work throughput (see `reference_run.basis`).
    #[serde(default)]
    pub joules_per_pflop_training: Option<f64>,
    /// Measured throughput as a fraction of the matched catalog entry's dense datasheet peak.
    pub efficiency: Efficiency,
    /// A reference training run of `6 · N · D` FLOPs at the measured training-work throughput.
    pub reference_run: ReferenceRun,
    /// How to give a price or a power figure, when one is missing.
    #[serde(default)]
    pub note: Option<String>,
    /// The same figures for the work of each operand precision alone (`f32`, `f16`),
    /// when the file has more than one: the figures above take the best of all.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_precision: BTreeMap<String, PrecisionCost>,
}

/// The cost figures of one precision's records, training triplets and training run.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct PrecisionCost {
    /// The throughputs of this precision the figures are taken at.
    pub throughput: CostThroughput,
    /// USD per 10¹⁵ FLOP at this precision's best verified GEMM.
    #[serde(default)]
    pub usd_per_pflop: Option<f64>,
    /// USD per 10¹⁵ FLOP at this precision's training-work throughput (the training run,
    /// else the training triplets).
    #[serde(default)]
    pub usd_per_pflop_training: Option<f64>,
    /// Board energy per 10¹⁵ FLOP at this precision's best verified GEMM.
    #[serde(default)]
    pub joules_per_pflop: Option<f64>,
    /// Board energy per 10¹⁵ FLOP at this precision's training-work throughput.
    #[serde(default)]
    pub joules_per_pflop_training: Option<f64>,
    /// Against the catalog's dense datasheet peak of this precision.
    pub efficiency: Efficiency,
    /// The reference training run at this precision's training-work throughput.
    pub reference_run: ReferenceRun,
}

/// One input of the cost model.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct CostInput {
    /// The value, in the unit its field name says.
    pub value: f64,
    /// Where it came from: `flag --NAME`, `price file PATH [KEY]`, `catalog ID: SOURCE
    /// (as of DATE)`, or `default`.
    pub source: String,
}

/// Every input of the cost model; absent ones were neither given nor known.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct CostInputs {
    /// Rental price of one accelerator-hour, USD (rental pricing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_hour: Option<CostInput>,
    /// Purchase price of the accelerator, USD (ownership pricing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capex_usd: Option<CostInput>,
    /// Years over which the purchase price is spread (ownership pricing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_years: Option<CostInput>,
    /// Fraction of all hours the accelerator does paid work, in (0, 1] (ownership pricing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilization: Option<CostInput>,
    /// Board power while working, W.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watts: Option<CostInput>,
    /// Electricity price, USD per kWh (ownership pricing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_kwh: Option<CostInput>,
    /// Power usage effectiveness of the facility, ≥ 1 (ownership pricing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pue: Option<CostInput>,
    /// Parameters N of the reference training run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_params: Option<CostInput>,
    /// Tokens D of the reference training run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_tokens: Option<CostInput>,
}

/// The measured throughputs the cost figures are taken at, in 10¹² FLOP/s.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct CostThroughput {
    /// Median throughput of the best verified GEMM record.
    #[serde(default)]
    pub gemm_tflops: Option<f64>,
    /// The id of that record.
    #[serde(default)]
    pub gemm_record: Option<String>,
    /// Throughput of the training run, where the file has one.
    #[serde(default)]
    pub training_tflops: Option<f64>,
    /// Throughput of all complete training triplets together: their FLOPs over the sum of
    /// their median times, taking the best verified kernel for each product.
    #[serde(default)]
    pub triplets_tflops: Option<f64>,
    /// The same per triplet suite (the part of a record's `role` before `: `).
    #[serde(default)]
    pub suites: BTreeMap<String, f64>,
}

/// Measured throughput against the datasheet.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Efficiency {
    /// Precision of the peak used (that of the best GEMM record).
    #[serde(default)]
    pub precision: Option<String>,
    /// Dense datasheet peak of the matched catalog entry, 10¹² FLOP/s.
    #[serde(default)]
    pub peak_tflops: Option<f64>,
    /// Where the peak comes from.
    #[serde(default)]
    pub peak_source: Option<String>,
    /// Best verified GEMM median throughput / peak.
    #[serde(default)]
    pub gemm: Option<f64>,
    /// Training-work throughput / peak.
    #[serde(default)]
    pub training: Option<f64>,
}

/// A training run of `6 · N · D` FLOPs (N parameters, D tokens) at the measured
/// training-work throughput.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ReferenceRun {
    /// N, parameters.
    pub params: f64,
    /// D, tokens.
    pub tokens: f64,
    /// 6 · N · D.
    pub flops: f64,
    /// Which throughput: `training` (the training run) or `triplets` (the training-layer
    /// GEMMs); null when the file has neither.
    #[serde(default)]
    pub basis: Option<String>,
    /// That throughput, 10¹² FLOP/s.
    #[serde(default)]
    pub tflops: Option<f64>,
    /// Wall time on one accelerator, hours.
    #[serde(default)]
    pub hours: Option<f64>,
    /// Cost, USD.
    #[serde(default)]
    pub usd: Option<f64>,
}
