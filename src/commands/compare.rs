//! `flopcost compare A.json B.json ...`: reads and checks every file, builds the
//! comparison and renders it in the chosen format, on stdout or atomically into --out.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{CompareArgs, FormatArg};
use crate::error::input_error;
use crate::report::compare::{self, Input};
use crate::report::export;
use crate::result;

pub fn compare(args: CompareArgs) -> Result<ExitCode> {
    let baseline = args.baseline_index()?;
    let spec = args.price_spec()?;
    if args.format == FormatArg::Html && args.out.is_none() {
        return Err(input_error(
            "--format html needs --out FILE (the page is written to a file)",
        ));
    }
    let writer = super::out_writer(&args.out, args.force)?;
    if args.files.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return Err(input_error(
            "standard input (-) can be read once; give it for one file at most",
        ));
    }
    let mut inputs = Vec::new();
    for path in &args.files {
        // The one strict reader: validated as written, then cleaned, so reports print
        // from a copy whose strings cannot forge a line.
        inputs.push(Input {
            path: crate::util::clean(&path.display().to_string()),
            file: result::read_valid(path)?,
        });
    }
    let c = compare::build(&inputs, baseline, &spec, args.kernel.as_deref())?;
    let text = export::exporter(args.format.into()).render(&c)?;
    super::emit(writer, &text)?;
    Ok(ExitCode::SUCCESS)
}
