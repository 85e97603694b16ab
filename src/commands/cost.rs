//! `flopcost cost FILE`: prices (or re-prices) a result file without re-running it,
//! prints the breakdown, and optionally writes a priced copy.

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::CostArgs;
use crate::cost;
use crate::error::input_error;
use crate::report::breakdown::breakdown;
use crate::report::write_stdout;
use crate::result::{self, validate};

pub fn cost(args: CostArgs) -> Result<ExitCode> {
    let spec = args.price.spec()?;
    let name = args.file.display().to_string();
    let mut file = result::read(&args.file)?;
    if let Some(p) = validate::problems(&file).first() {
        return Err(input_error(format!(
            "{name}: not a valid result file: {p} (see `flopcost validate`)"
        )));
    }
    // Checked before anything is computed or written.
    let writer = super::out_writer(&args.out, args.force)?;
    let c = cost::price_file(&file, &spec).map_err(|e| e.context(name.clone()))?;
    if args.json {
        let mut text = serde_json::to_string_pretty(&c).context("serializing the cost section")?;
        text.push('\n');
        write_stdout(&text)?;
    } else {
        write_stdout(&breakdown(&name, &file, &c))?;
    }
    file.cost = Some(c);
    if let Some(w) = writer {
        w.save(&file)?;
        eprintln!("wrote {} with the new cost section", w.path().display());
    }
    Ok(ExitCode::SUCCESS)
}
