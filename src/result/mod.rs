//! Result files: the types, reading with limits, atomic writing, and validation.

pub mod cost_section;
pub mod reliability;
pub mod training;
pub mod types;
pub mod validate;
mod validate_training;
pub mod validate_workload;
pub mod workload;

pub use cost_section::*;
pub use reliability::*;
pub use training::*;
pub use types::*;
pub use workload::*;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::error::input_error;

/// Largest file any reader accepts. A result file with thousands of records and their
/// histograms is a few MiB; anything far beyond that is not one.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Parses a result file's bytes. Fails (as bad input) on anything that is not JSON, is
/// another schema or a later version, or lacks required fields.
pub fn parse(bytes: &[u8], name: &str) -> Result<ResultFile> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(input_error(format!("{name}: empty file")));
    }
    // serde_json stops at 128 levels of nesting, so a deeply nested file is an error,
    // not a stack overflow.
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| input_error(format!("{name}: not valid JSON: {e}")))?;
    let schema = value
        .get("schema")
        .and_then(|s| s.as_str())
        .ok_or_else(|| {
            input_error(format!(
                "{name}: no \"schema\" field; not a flopcost result file"
            ))
        })?;
    if schema != SCHEMA_ID {
        let hint = if schema.starts_with("flopcost/result/") {
            "written by a different version of flopcost; upgrade flopcost to read it"
        } else {
            "not a flopcost result file"
        };
        return Err(input_error(format!(
            "{name}: schema is \"{schema}\", expected \"{SCHEMA_ID}\" ({hint})"
        )));
    }
    serde_json::from_value(value)
        .map_err(|e| input_error(format!("{name}: does not match {SCHEMA_ID}: {e}")))
}

/// Reads a result file's bytes: a regular file (or `-`) of at most [`MAX_FILE_BYTES`].
pub fn read_limited(path: &Path) -> Result<Vec<u8>> {
    crate::util::fs::read_capped(path, MAX_FILE_BYTES, "result file")
}

/// Reads and parses a result file.
pub fn read(path: &Path) -> Result<ResultFile> {
    let bytes = read_limited(path)?;
    parse(&bytes, &path.display().to_string())
}

/// Where a run's result goes; checked before any GPU work.
pub struct ResultWriter {
    pub path: PathBuf,
}

impl ResultWriter {
    /// `results/local/<adapter-slug>-<UTC time>.json`, not clobbering an existing file.
    pub fn default_path(adapter: &str, t: chrono::DateTime<chrono::Utc>) -> PathBuf {
        let base = format!(
            "{}-{}",
            crate::util::slug(adapter),
            t.format("%Y%m%dT%H%M%SZ")
        );
        let dir = PathBuf::from("results").join("local");
        let mut p = dir.join(format!("{base}.json"));
        let mut n = 2;
        while p.exists() {
            p = dir.join(format!("{base}-{n}.json"));
            n += 1;
        }
        p
    }

    /// Checks that the file may be written: it does not exist (unless `force`), its
    /// directory exists (or is created, when `create_dir`) and is writable.
    pub fn prepare(path: PathBuf, force: bool, create_dir: bool) -> Result<ResultWriter> {
        if path.is_dir() {
            return Err(input_error(format!(
                "--out {}: is a directory; give a file name",
                path.display()
            )));
        }
        if let Ok(meta) = fs::symlink_metadata(&path)
            && !meta.is_file()
        {
            return Err(input_error(format!(
                "--out {}: exists and is not a regular file (a device, pipe or link); \
                 results are written by replacing the file, so give a plain file path",
                path.display()
            )));
        }
        if path.exists() && !force {
            return Err(input_error(format!(
                "{} already exists; pass --force to overwrite it, or choose another --out",
                path.display()
            )));
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            if create_dir {
                fs::create_dir_all(&dir).map_err(|e| {
                    input_error(format!("cannot create directory {}: {e}", dir.display()))
                })?;
            } else {
                return Err(input_error(format!(
                    "output directory {} does not exist; create it or choose another --out",
                    dir.display()
                )));
            }
        }
        let probe = dir.join(format!(".flopcost-write-test-{}", std::process::id()));
        fs::write(&probe, b"").map_err(|e| {
            input_error(format!(
                "output directory {} is not writable: {e}",
                dir.display()
            ))
        })?;
        let _ = fs::remove_file(&probe);
        Ok(ResultWriter { path })
    }

    /// Saves the current state of the run (atomically).
    pub fn save(&self, file: &ResultFile) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(file).context("serializing the result")?;
        bytes.push(b'\n');
        crate::util::fs::write_atomic(&self.path, &bytes)
    }
}

/// The JSON Schema of [`ResultFile`], as committed in `results/schema.json`.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(ResultFile);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

/// The best verified record by median throughput.
pub fn best_record(records: &[Record]) -> Option<&Record> {
    records
        .iter()
        .filter(|r| r.tflops.is_some())
        .max_by(|a, b| {
            let (x, y) = (a.tflops.as_ref(), b.tflops.as_ref());
            x.map(|t| t.median)
                .partial_cmp(&y.map(|t| t.median))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
}
