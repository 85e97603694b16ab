//! `flopcost compare`: its arguments and their checks (baseline, format, prices).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};

use crate::cost::PriceSpec;
use crate::error::input_error;
use crate::report::export::Format;

use super::common::*;

pub(super) const COMPARE_EXAMPLES: &str = "\
Examples:
  flopcost compare results/lavapipe-vulkan.json results/llvmpipe-gl.json
  flopcost compare a.json b.json c.json --baseline 2 --format markdown
  flopcost compare a.json b.json --price-file prices.toml --format html --out compare.html

The headline is about a named workload only: both files must have run the same one
(name, version and digest), verified all of it and finished; otherwise the summary says
\"no headline:\" and why. Its interval covers the variation between repetitions as well as
within a run. Records are matched by (kind, precision, layout, m, n, k); with several
kernels for one shape, each file's best verified kernel is compared (--kernel NAME
compares one kernel).";

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum FormatArg {
    /// Tables for the terminal.
    Table,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// The whole comparison as JSON.
    Json,
    /// One row per record (or basis figure) and machine, for spreadsheets.
    Csv,
    /// A self-contained page with SVG charts (needs --out).
    Html,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Table => Format::Table,
            FormatArg::Markdown => Format::Markdown,
            FormatArg::Json => Format::Json,
            FormatArg::Csv => Format::Csv,
            FormatArg::Html => Format::Html,
        }
    }
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Result files, two or more.
    #[arg(required = true, num_args = 2.., value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The reference: one of the files, or its position in the list (from 1) [default: 1].
    #[arg(long, value_name = "FILE|INDEX")]
    pub baseline: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
    /// Write the output to this file (atomically) instead of stdout; required for html.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    pub force: bool,
    /// Compare only records of this kernel instead of each file's best kernel per shape.
    #[arg(long, value_name = "NAME")]
    pub kernel: Option<String>,
    /// Prices of the machines keyed by adapter name (TOML or JSON); otherwise each file's
    /// recorded prices, else the catalog's.
    #[arg(long, value_name = "FILE")]
    pub price_file: Option<PathBuf>,
}

/// A comparison to make: every check that needs no file done.
pub struct ComparePlan {
    pub files: Vec<PathBuf>,
    /// Index of the baseline among `files`.
    pub baseline: usize,
    pub format: Format,
    pub out: Option<PathBuf>,
    pub force: bool,
    pub kernel: Option<String>,
    pub spec: PriceSpec,
}

impl CompareArgs {
    /// The validated plan: the baseline found, the prices read, and an HTML page given a
    /// file to go to.
    pub fn plan(self) -> Result<ComparePlan> {
        if self.format == FormatArg::Html && self.out.is_none() {
            return Err(input_error(
                "--format html needs --out FILE (the page is written to a file)",
            ));
        }
        if self.files.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
            return Err(input_error(
                "standard input (-) can be read once; give it for one file at most",
            ));
        }
        Ok(ComparePlan {
            baseline: self.baseline_index()?,
            spec: self.price_spec()?,
            format: self.format.into(),
            files: self.files,
            out: self.out,
            force: self.force,
            kernel: self.kernel,
        })
    }

    /// The price inputs compare accepts.
    pub fn price_spec(&self) -> Result<PriceSpec> {
        price_spec(&Default::default(), self.price_file.as_deref())
    }

    /// The baseline's index (from 0) among `files`.
    pub fn baseline_index(&self) -> Result<usize> {
        let Some(b) = self.baseline.as_deref() else {
            return Ok(0);
        };
        if let Ok(i) = b.parse::<usize>() {
            return if (1..=self.files.len()).contains(&i) {
                Ok(i - 1)
            } else {
                Err(input_error(format!(
                    "--baseline {i}: give a position from 1 to {}, or one of the files",
                    self.files.len()
                )))
            };
        }
        self.files
            .iter()
            .position(|f| f == std::path::Path::new(b))
            .ok_or_else(|| {
                input_error(format!(
                    "--baseline {b}: not one of the files being compared"
                ))
            })
    }
}
