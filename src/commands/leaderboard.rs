//! `flopcost leaderboard DIR`: writes DIR/README.md from the result files in DIR, or with
//! `--check` says whether the committed page is stale.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::error::input_error;
use crate::report::leaderboard::{self, GENERATED_MARKER, PAGE};
use crate::util::fs::write_atomic;

pub fn leaderboard(dir: &Path, check: bool, force: bool) -> Result<ExitCode> {
    let page = leaderboard::render(dir)?;
    let path = dir.join(PAGE);
    if check {
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        return Ok(if current == page {
            println!("{} is up to date", path.display());
            ExitCode::SUCCESS
        } else {
            eprintln!(
                "{} is stale; regenerate it with `flopcost leaderboard {}`",
                path.display(),
                dir.display()
            );
            ExitCode::from(1)
        });
    }
    match std::fs::read(&path) {
        Ok(current) if !force && !String::from_utf8_lossy(&current).contains(GENERATED_MARKER) => {
            return Err(input_error(format!(
                "{} exists and was not written by `flopcost leaderboard` (it lacks the \
                 \"{GENERATED_MARKER}\" line); pass --force to replace it",
                path.display()
            )));
        }
        _ => {}
    }
    write_atomic(&path, page.as_bytes())?;
    println!("wrote {}", path.display());
    Ok(ExitCode::SUCCESS)
}
