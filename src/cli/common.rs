//! The argument groups several subcommands share (adapter and timing, precision and
//! path, prices, `--json`) and the checks they share (durations, ranges, kernel lists).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Args, ValueEnum};

use crate::cost::{PriceFile, PriceSpec};
use crate::error::input_error;
use crate::gpu::{AdapterSelector, BackendFilter};
use crate::kernels::{self, KernelSpec};
use crate::result::{CostField, Fields};
use crate::types::PathChoice;
use crate::types::Precision;

#[derive(Args, Debug)]
pub struct JsonFlag {
    /// Machine-readable JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum BackendArg {
    Vulkan,
    Metal,
    Dx12,
    Gl,
}

impl From<BackendArg> for BackendFilter {
    fn from(b: BackendArg) -> BackendFilter {
        match b {
            BackendArg::Vulkan => BackendFilter::Vulkan,
            BackendArg::Metal => BackendFilter::Metal,
            BackendArg::Dx12 => BackendFilter::Dx12,
            BackendArg::Gl => BackendFilter::Gl,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum TimingArg {
    /// GPU timestamps where the adapter has them, else the host clock.
    Auto,
    /// The host clock around submit and wait (includes launch overhead).
    Host,
}

/// Where a measuring command runs and where its result goes (`run`, `train`).
#[derive(Args, Debug)]
pub struct TargetArgs {
    /// Adapter: an index from `flopcost devices`, part of its name, or `all`: every GPU of
    /// the host (each physical device once, one after another, each to its own file in
    /// --out-dir; only the best software adapter where there is no GPU). Default: the best.
    #[arg(long, value_name = "INDEX|NAME|all")]
    pub adapter: Option<String>,
    /// Only consider adapters on this backend.
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
    /// Result file. Default: results/local/<adapter>-<UTC time>.json
    #[arg(long, value_name = "PATH", conflicts_with = "out_dir")]
    pub out: Option<PathBuf>,
    /// Write the result file into DIR (created if missing), named
    /// <host>-<adapter>.json (-2, -3, ... when taken: nothing in DIR is ever replaced):
    /// for fleets, where many runs share one folder. Default with --adapter all:
    /// results/local.
    #[arg(long, value_name = "DIR", conflicts_with = "force")]
    pub out_dir: Option<PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    pub force: bool,
    /// No progress bar or progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

impl TargetArgs {
    pub fn selector(&self) -> AdapterSelector {
        match self.adapter.as_deref().map(str::trim) {
            Some(a) if a.eq_ignore_ascii_case("all") => AdapterSelector::All,
            other => other.map_or(AdapterSelector::Best, AdapterSelector::parse),
        }
    }

    pub fn backend(&self) -> BackendFilter {
        self.backend.map_or(BackendFilter::All, Into::into)
    }
}

/// `--precision` and `--f16-path`, shared by run, train and tune.
#[derive(Args, Debug, Clone)]
pub struct PrecisionArgs {
    /// Operand precision of the GEMMs: f32, f16 (f16 A and B, f32 accumulation and C) or
    /// both, as a list (f32,f16).
    #[arg(long = "precision", default_value = "f32", value_name = "LIST")]
    pub precision: String,
    /// Where the tuned kernel's f16 GEMMs run: auto (cooperative matrices, i.e. tensor
    /// cores, where the adapter offers 16x16x16 or 8x8x8 f16 -> f32; else the shader cores), simt
    /// (always the shader cores) or coopmat (refused on an adapter without them).
    #[arg(long, value_enum, default_value = "auto")]
    pub f16_path: F16PathArg,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum F16PathArg {
    Auto,
    Simt,
    Coopmat,
}

impl PrecisionArgs {
    /// The precisions and the f16 path; a path given without f16 is bad input.
    pub fn resolve(&self) -> Result<(Vec<Precision>, PathChoice)> {
        let precisions = Precision::parse_list(&self.precision)?;
        let path = match self.f16_path {
            F16PathArg::Auto => PathChoice::Auto,
            F16PathArg::Simt => PathChoice::Simt,
            F16PathArg::Coopmat => PathChoice::Coopmat,
        };
        if path != PathChoice::Auto && !precisions.contains(&Precision::F16) {
            return Err(input_error(format!(
                "--f16-path {} applies to f16 GEMMs; add --precision f16 (or f32,f16)",
                path.as_str()
            )));
        }
        Ok((precisions, path))
    }
}

/// `--f16-path coopmat` runs the tuned kernel on cooperative matrices: it needs that kernel.
pub(super) fn check_coopmat_kernels(path: PathChoice, kernels: &[KernelSpec]) -> Result<()> {
    if path == PathChoice::Coopmat && !kernels.iter().any(KernelSpec::is_tuned) {
        return Err(input_error(
            "--f16-path coopmat runs the tuned kernel on cooperative matrices; include it in \
             --kernel (for example --kernel tuned)",
        ));
    }
    Ok(())
}

pub(super) fn seconds(flag: &str, v: Option<f64>, default: Duration) -> Result<Duration> {
    match v {
        None => Ok(default),
        Some(s) if s.is_finite() && s > 0.0 && s < 1e7 => Ok(Duration::from_secs_f64(s)),
        Some(s) => Err(input_error(format!(
            "{flag} {s}: must be a positive number of seconds"
        ))),
    }
}

/// The most tokens `--tokens` accepts.
pub const MAX_TOKENS: u64 = 1 << 20;

pub(super) fn kernel_list(list: &Option<String>) -> Result<Vec<KernelSpec>> {
    match list {
        None => Ok(kernels::default_kernels()),
        Some(list) => {
            let names: Vec<String> = list
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if names.is_empty() {
                return Err(input_error("--kernel needs at least one kernel name"));
            }
            kernels::lookup(&names)
        }
    }
}

/// A whole number in `lo..=hi`, or bad input naming the flag.
pub(super) fn within(flag: &str, v: u64, lo: u64, hi: u64) -> Result<u64> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(input_error(format!(
            "{flag} {v}: must be from {lo} to {hi}"
        )))
    }
}

/// Flags for the price inputs, generated from [`CostField`] (its names, help texts and
/// ranges).
#[derive(Clone, Debug, Default)]
pub struct CostFlags {
    pub values: Fields<f64>,
}

impl CostFlags {
    fn fields() -> &'static [CostField] {
        &CostField::PRICES
    }
}

impl clap::FromArgMatches for CostFlags {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut values = Fields::default();
        for &f in Self::fields() {
            if let Some(v) = m.get_one::<f64>(f.name()) {
                values.set(f, *v);
            }
        }
        Ok(CostFlags { values })
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Args for CostFlags {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        Self::fields().iter().fold(cmd, |cmd, &f| {
            cmd.arg(
                clap::Arg::new(f.name())
                    .long(f.flag())
                    .value_name(f.value_name())
                    .help(f.help())
                    .value_parser(clap::value_parser!(f64))
                    .help_heading("Price inputs"),
            )
        })
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// Price inputs, shared by `run` and `cost`.
#[derive(Args, Debug, Default, Clone)]
#[command(next_help_heading = "Price inputs")]
pub struct PriceArgs {
    #[command(flatten)]
    pub fields: CostFlags,
    /// Prices of several machines keyed by adapter name (TOML or JSON).
    #[arg(long, value_name = "FILE")]
    pub price_file: Option<PathBuf>,
}

impl PriceArgs {
    /// Checks the ranges and reads the price file.
    pub fn spec(&self) -> Result<PriceSpec> {
        price_spec(&self.fields.values, self.price_file.as_deref())
    }
}

pub(super) fn price_spec(
    flags: &Fields<f64>,
    price_file: Option<&std::path::Path>,
) -> Result<PriceSpec> {
    let spec = PriceSpec {
        flags: flags.clone(),
        price_file: price_file.map(PriceFile::read).transpose()?,
    };
    spec.validate()?;
    Ok(spec)
}
