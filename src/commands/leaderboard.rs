//! `flopcost leaderboard DIR`: writes DIR/README.md from the result files in DIR, or with
//! `--check` says whether the committed page is stale.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::error::input_error;
use crate::report::leaderboard::{self, GENERATED_MARKER, PAGE};
use crate::util::clean;
use crate::util::fs::{read_capped, write_atomic};

/// The most a page that is there may be: a generated page is a few KiB per file.
const PAGE_CAP: u64 = 4 << 20;

pub fn leaderboard(dir: &Path, check: bool, force: bool) -> Result<ExitCode> {
    let page = leaderboard::render(&crate::analysis::leaderboard::build(dir)?);
    let path = dir.join(PAGE);
    let current = current_page(&path)?;
    if check {
        return Ok(if current.as_deref() == Some(page.as_bytes()) {
            println!("{} is up to date", clean(&path.display().to_string()));
            ExitCode::SUCCESS
        } else {
            eprintln!(
                "{} is stale; regenerate it with `flopcost leaderboard {}`",
                clean(&path.display().to_string()),
                clean(&dir.display().to_string())
            );
            ExitCode::from(1)
        });
    }
    if let Some(current) = current
        && !force
        && !String::from_utf8_lossy(&current).contains(GENERATED_MARKER)
    {
        return Err(input_error(format!(
            "{} exists and was not written by `flopcost leaderboard` (it lacks the \
             \"{GENERATED_MARKER}\" line); pass --force to replace it",
            clean(&path.display().to_string())
        )));
    }
    write_atomic(&path, page.as_bytes())?;
    println!("wrote {}", clean(&path.display().to_string()));
    Ok(ExitCode::SUCCESS)
}

/// The page that is there now, if any. Only a regular file is read or replaced: a link, a
/// FIFO or a device at the page's name is refused (a FIFO would hang the read, a link to
/// `/dev/zero` would never end it, and replacing either is not what was asked).
fn current_page(path: &Path) -> Result<Option<Vec<u8>>> {
    let shown = clean(&path.display().to_string());
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(input_error(format!("{shown}: cannot read: {e}"))),
        Ok(meta) if !meta.is_file() => Err(input_error(format!(
            "{shown}: exists and is not a regular file (a link, pipe, device or directory); \
             the leaderboard reads and replaces only a plain file, so remove it first"
        ))),
        Ok(_) => read_capped(path, PAGE_CAP, "leaderboard page").map(Some),
    }
}
