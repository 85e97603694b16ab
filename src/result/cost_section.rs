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
    pub pricing: Option<Pricing>,
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
    /// USD per 10¹⁵ FLOP of the named workload's training step, where the file ran one:
    /// the figure a comparison's headline is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_pflop_workload: Option<f64>,
    /// USD per 10¹⁵ FLOP at each training-triplet suite's throughput, by suite.
    #[serde(default)]
    pub usd_per_pflop_suites: BTreeMap<String, f64>,
    /// Board energy per 10¹⁵ FLOP at the best verified GEMM's median throughput:
    /// `watts · 1000 / tflops`.
    #[serde(default)]
    pub joules_per_pflop: Option<f64>,
    /// Board energy per 10¹⁵ FLOP at the training-work throughput (see `training_work`).
    #[serde(default)]
    pub joules_per_pflop_training: Option<f64>,
    /// Measured energy per 10¹⁵ FLOP of the best verified GEMM: its record's
    /// `power.joules_per_pflop` (the adapter's own sensor, `power` at the top level),
    /// beside the nameplate `joules_per_pflop`, never mixed with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joules_per_pflop_measured: Option<f64>,
    /// Measured energy per 10¹⁵ FLOP of the training work (`training_work`): for a
    /// workload step Σ mean watts × median time over its products / its FLOPs, every
    /// product needing a figure (for training triplets the same over the products of
    /// `throughput.triplets_tflops`); for the training run its `power.joules_per_pflop`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joules_per_pflop_training_measured: Option<f64>,
    /// Mean measured power of the training work, watts (time-weighted over a workload's
    /// or the triplets' products).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_watts: Option<f64>,
    /// The measured watts an ownership price's energy part used, in place of the `watts`
    /// input (`usd_per_hour_energy` says whose).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ownership_watts: Option<f64>,
    /// Where an ownership price's energy part comes from when it is not the `watts`
    /// input: the measured watts of the training work, else of the best GEMM (its source
    /// named). With no `watts` input at all, an ownership price exists only through them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_hour_energy: Option<String>,
    /// Measured throughput as a fraction of the matched catalog entry's dense datasheet peak.
    pub efficiency: Efficiency,
    /// What training the workload's model costs per token, where the file's workload
    /// names a model (`workload.model_step`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_token: Option<TokenCost>,
    /// Which throughput the training-work figures are taken at: `workload_step` (the
    /// named workload's step), `training` (the training run) or `triplets` (the
    /// training-layer GEMMs); null when the file has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_work: Option<WorkBasis>,
    /// That throughput, 10¹² FLOP/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_work_tflops: Option<f64>,
    /// A reference training run of `6 · N · D` FLOPs at the measured training-work
    /// throughput: in older files only (the cost per training token replaces it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_run: Option<ReferenceRun>,
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
    /// This precision's training-work throughput, 10¹² FLOP/s (see `Cost::training_work`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_work_tflops: Option<f64>,
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
    /// The reference training run at this precision's training-work throughput (older
    /// files only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_run: Option<ReferenceRun>,
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

/// Every input of the cost model, by name: the one definition the command-line flags,
/// the price file, their validation and the file's cost section all use.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CostField {
    /// Rental price of one accelerator-hour, USD (rental pricing).
    UsdPerHour,
    /// Purchase price of the accelerator, USD (ownership pricing).
    CapexUsd,
    /// Years over which the purchase price is spread (ownership pricing).
    LifetimeYears,
    /// Fraction of all hours the accelerator does paid work, in (0, 1] (ownership pricing).
    Utilization,
    /// Board power while working, W.
    Watts,
    /// Electricity price, USD per kWh (ownership pricing).
    UsdPerKwh,
    /// Power usage effectiveness of the facility, ≥ 1 (ownership pricing).
    Pue,
    /// Parameters N of the reference training run (older files only).
    RefParams,
    /// Tokens D of the reference training run (older files only).
    RefTokens,
}

impl CostField {
    pub const ALL: [CostField; 9] = [
        CostField::UsdPerHour,
        CostField::CapexUsd,
        CostField::LifetimeYears,
        CostField::Utilization,
        CostField::Watts,
        CostField::UsdPerKwh,
        CostField::Pue,
        CostField::RefParams,
        CostField::RefTokens,
    ];

    /// The fields that make a price (what a price file may give).
    pub const PRICES: [CostField; 7] = [
        CostField::UsdPerHour,
        CostField::CapexUsd,
        CostField::LifetimeYears,
        CostField::Utilization,
        CostField::Watts,
        CostField::UsdPerKwh,
        CostField::Pue,
    ];

    /// The field's name in files: `usd_per_hour`.
    pub fn name(self) -> &'static str {
        match self {
            CostField::UsdPerHour => "usd_per_hour",
            CostField::CapexUsd => "capex_usd",
            CostField::LifetimeYears => "lifetime_years",
            CostField::Utilization => "utilization",
            CostField::Watts => "watts",
            CostField::UsdPerKwh => "usd_per_kwh",
            CostField::Pue => "pue",
            CostField::RefParams => "ref_params",
            CostField::RefTokens => "ref_tokens",
        }
    }

    /// The field named `name` in a file.
    pub fn from_name(name: &str) -> Option<CostField> {
        CostField::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Its command-line flag without the dashes: `usd-per-hour`.
    pub fn flag(self) -> &'static str {
        match self {
            CostField::UsdPerHour => "usd-per-hour",
            CostField::CapexUsd => "capex-usd",
            CostField::LifetimeYears => "lifetime-years",
            CostField::Utilization => "utilization",
            CostField::Watts => "watts",
            CostField::UsdPerKwh => "usd-per-kwh",
            CostField::Pue => "pue",
            CostField::RefParams => "ref-params",
            CostField::RefTokens => "ref-tokens",
        }
    }

    /// The flag's help text.
    pub fn help(self) -> &'static str {
        match self {
            CostField::UsdPerHour => {
                "Rental price of one accelerator-hour, USD; takes precedence over everything else"
            }
            CostField::CapexUsd => {
                "Purchase price, USD: prices by ownership, with the flags below and --watts (or the watts a power sensor measures)"
            }
            CostField::LifetimeYears => {
                "Years the purchase is written off over, at least 0.01 [default: 4]"
            }
            CostField::Utilization => {
                "Fraction of all hours doing paid work, in [0.001, 1] [default: 0.8]"
            }
            CostField::Watts => {
                "Board power while working, W (also gives joules per PFLOP) [default: the catalog's]"
            }
            CostField::UsdPerKwh => "Electricity price, USD per kWh [default: 0.12]",
            CostField::Pue => {
                "Power usage effectiveness of the facility, at least 1 [default: 1.3]"
            }
            CostField::RefParams => {
                "Parameters N of the reference training run of 6·N·D FLOPs [default: 7e9]"
            }
            CostField::RefTokens => "Tokens D of the reference training run [default: 2e12]",
        }
    }

    /// The flag's value name in `--help`.
    pub fn value_name(self) -> &'static str {
        match self {
            CostField::UsdPerHour | CostField::CapexUsd | CostField::UsdPerKwh => "USD",
            CostField::LifetimeYears => "YEARS",
            CostField::Utilization => "FRACTION",
            CostField::Watts => "W",
            CostField::Pue => "RATIO",
            CostField::RefParams => "N",
            CostField::RefTokens => "D",
        }
    }

    /// Whether `value` is in the field's range; `Err` says what the range is. Every
    /// range is bounded, so no figure derived from these inputs overflows.
    pub fn check(self, value: f64) -> Result<(), String> {
        let (lo, lo_open, hi) = match self {
            CostField::UsdPerHour => (0.0, false, 1e6),
            CostField::CapexUsd => (0.0, false, 1e10),
            // Lower bounds that keep the hourly share of the purchase finite: at most
            // 1e10 / (0.01 · 8766 · 0.001) USD per hour.
            CostField::LifetimeYears => (0.01, false, 100.0),
            CostField::Utilization => (0.001, false, 1.0),
            CostField::Watts => (0.0, true, 1e7),
            CostField::UsdPerKwh => (0.0, false, 1e3),
            CostField::Pue => (1.0, false, 10.0),
            CostField::RefParams => (0.0, true, 1e15),
            CostField::RefTokens => (0.0, true, 1e16),
        };
        let ok = value.is_finite() && if lo_open { value > lo } else { value >= lo } && value <= hi;
        if ok {
            Ok(())
        } else {
            let low = if lo_open { "above" } else { "at least" };
            Err(format!("must be a number {low} {lo} and at most {hi:e}"))
        }
    }
}

/// How the price per hour was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Pricing {
    /// A price per hour.
    Rental,
    /// A purchase price spread over the lifetime, plus energy.
    Ownership,
}

impl Pricing {
    pub fn as_str(self) -> &'static str {
        match self {
            Pricing::Rental => "rental",
            Pricing::Ownership => "ownership",
        }
    }
}

impl std::fmt::Display for Pricing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which measured work a training-work throughput comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkBasis {
    /// The named workload's training step (its block's three products per layer), at
    /// the geometric mean of its repetitions.
    WorkloadStep,
    /// The training run (forward, backward, optimizer step).
    Training,
    /// The training-layer GEMMs (forward, input gradient, weight gradient of each layer).
    Triplets,
}

impl WorkBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkBasis::WorkloadStep => "workload_step",
            WorkBasis::Training => "training",
            WorkBasis::Triplets => "triplets",
        }
    }
}

impl std::fmt::Display for WorkBasis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One value per cost-model input, absent where none was given or known; written to
/// files as an object keyed by [`CostField::name`], in the fields' order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Fields<T>(BTreeMap<CostField, T>);

impl<T> Default for Fields<T> {
    fn default() -> Fields<T> {
        Fields(BTreeMap::new())
    }
}

impl<T> Fields<T> {
    /// The fields that have a value, in order.
    pub fn fields(&self) -> impl Iterator<Item = CostField> + '_ {
        self.0.keys().copied()
    }

    pub fn get(&self, field: CostField) -> Option<&T> {
        self.0.get(&field)
    }

    pub fn get_mut(&mut self, field: CostField) -> Option<&mut T> {
        self.0.get_mut(&field)
    }

    pub fn set(&mut self, field: CostField, value: T) {
        self.0.insert(field, value);
    }

    /// `self` with `field` set (for building a value in one expression).
    pub fn with(mut self, field: CostField, value: T) -> Fields<T> {
        self.set(field, value);
        self
    }

    pub fn iter(&self) -> impl Iterator<Item = (CostField, &T)> {
        self.0.iter().map(|(f, v)| (*f, v))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Every input of the cost model that was used, with where it came from.
pub type CostInputs = Fields<CostInput>;

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

/// What training a model costs per token at the measured step (`workload.model_step`):
/// matmul work only, at the measured throughput. Elementwise work (norms, activations,
/// softmax, the optimizer), communication and data loading are left out;
/// `training_overhead` says how much a whole training step adds on this device.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct TokenCost {
    /// The model, e.g. `Llama-3-8B`.
    pub model: String,
    /// `workload.model_step.tokens_per_second`.
    pub tokens_per_second: f64,
    /// `usd_per_hour / (3600 · tokens_per_second) · 10⁶`.
    #[serde(default)]
    pub usd_per_million_tokens: Option<f64>,
    /// `watts / tokens_per_second · 10⁶`, where watts are known.
    #[serde(default)]
    pub joules_per_million_tokens: Option<f64>,
    /// Measured: the model step's energy (Σ weight × mean watts × median time over the
    /// workload's products, weights as in `workload.model_step`) / tokens · 10⁶.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joules_per_million_tokens_measured: Option<f64>,
    /// `workload.model_step.training_overhead`: the MLP's whole training step over its
    /// GEMMs' time, a measure of what the figures leave out.
    #[serde(default)]
    pub training_overhead: Option<f64>,
    /// What the figures leave out, in words.
    pub leaves_out: String,
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
    /// Which throughput: `workload_step` (the named workload's training step),
    /// `training` (the training run) or `triplets` (the training-layer GEMMs); null when
    /// the file has none.
    #[serde(default)]
    pub basis: Option<WorkBasis>,
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
