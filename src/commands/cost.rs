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
    let name = crate::util::clean(&args.file.display().to_string());
    // Validated as written; the breakdown prints from a cleaned copy (no string of the file
    // can forge or erase a line), and the priced copy keeps the file's own strings.
    let mut file = result::read(&args.file)?;
    if let Some(p) = validate::problems(&file).first() {
        return Err(input_error(format!(
            "{name}: not a valid result file: {} (see `flopcost validate`)",
            crate::util::clean(p)
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
        let shown = result::strict::cleaned(&file);
        write_stdout(&breakdown(&name, &shown, &result::strict::cleaned(&c)))?;
    }
    file.cost = Some(c);
    if let Some(w) = writer {
        w.save(&file)?;
        eprintln!(
            "wrote {} with the new cost section",
            crate::util::clean(&w.path().display().to_string())
        );
    }
    Ok(ExitCode::SUCCESS)
}
