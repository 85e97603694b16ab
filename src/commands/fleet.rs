//! `flopcost fleet DIR`: the summary of a folder of result files from many hosts.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{FleetArgs, FleetFormat};
use crate::error::input_error;
use crate::report::fleet;
use crate::report::write_stdout;
use crate::result::ResultWriter;

pub fn fleet(args: FleetArgs) -> Result<ExitCode> {
    if args.format == FleetFormat::Html && args.out.is_none() {
        return Err(input_error(
            "--format html needs --out FILE (the page is written to a file)",
        ));
    }
    let spec = args.price_spec()?;
    let writer = match &args.out {
        Some(out) => Some(ResultWriter::prepare(out.clone(), args.force, false)?),
        None => None,
    };
    let f = fleet::build(&args.dir, args.threshold, &spec)?;
    let text = match args.format {
        FleetFormat::Table => fleet::table(&f),
        FleetFormat::Markdown => fleet::markdown(&f),
        FleetFormat::Json => fleet::json(&f)?,
        FleetFormat::Html => fleet::html(&f),
    };
    match writer {
        Some(w) => {
            w.write(text.as_bytes())?;
            eprintln!("wrote {}", w.path().display());
        }
        None => write_stdout(&text)?,
    }
    Ok(ExitCode::SUCCESS)
}
