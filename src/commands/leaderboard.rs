//! `flopcost leaderboard DIR`: writes DIR/README.md from the result files in DIR, or with
//! `--check` says whether the committed page is stale.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::report::leaderboard::{self, PAGE};
use crate::util::fs::write_atomic;

pub fn leaderboard(dir: &Path, check: bool) -> Result<ExitCode> {
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
    write_atomic(&path, page.as_bytes())?;
    println!("wrote {}", path.display());
    Ok(ExitCode::SUCCESS)
}
