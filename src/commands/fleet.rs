//! `flopcost fleet DIR`: the summary of a folder of result files from many hosts.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{FleetArgs, FleetFormat};
use crate::error::input_error;
use crate::report::fleet;

pub fn fleet(args: FleetArgs) -> Result<ExitCode> {
    if args.format == FleetFormat::Html && args.out.is_none() {
        return Err(input_error(
            "--format html needs --out FILE (the page is written to a file)",
        ));
    }
    let spec = args.price_spec()?;
    let writer = super::out_writer(&args.out, args.force)?;
    let f = fleet::build(&args.dir, args.threshold, &spec)?;
    let text = match args.format {
        FleetFormat::Table => fleet::table(&f),
        FleetFormat::Markdown => fleet::markdown(&f),
        FleetFormat::Json => fleet::json(&f)?,
        FleetFormat::Html => fleet::html(&f),
    };
    super::emit(writer, &text)?;
    Ok(ExitCode::SUCCESS)
}
