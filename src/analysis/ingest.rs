//! The one way reports take in result files: each read by the one strict reader
//! (validated as written, then its strings cleaned for printing) and priced with the
//! price inputs given. A comparison takes a list of files and stops at the first bad one;
//! a folder (a fleet, a leaderboard) takes every `*.json` and lists the ones it refuses
//! with the reason.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::cost::{self, PriceSpec};
use crate::error::input_error;
use crate::result::{self, Cost, ResultFile};
use crate::util::clean;

/// A result file ready for a report.
pub struct Ingested {
    /// The path as given, cleaned for printing.
    pub path: String,
    /// The file name on disk (not cleaned: links to it must reach it).
    pub file_name: String,
    /// The file as read, with its strings cleaned for printing.
    pub file: ResultFile,
    /// The file priced with the price inputs given (its own where none are).
    pub cost: Cost,
}

impl Ingested {
    /// A file already read, validated and priced with `spec`, as [`file`] takes one in
    /// from disk; `path` names it.
    pub fn of(path: &str, file: ResultFile, spec: &PriceSpec) -> Result<Ingested> {
        if let Some(p) = crate::result::validate::problems(&file).first() {
            return Err(input_error(format!(
                "{}: not a valid result file: {} (see `flopcost validate`)",
                clean(path),
                clean(p)
            )));
        }
        let cost = cost::price_file(&file, spec).map_err(|e| e.context(path.to_string()))?;
        Ok(Ingested {
            path: clean(path),
            file_name: Path::new(path)
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            file: crate::result::strict::cleaned(&file),
            cost,
        })
    }

    /// The file name, cleaned for printing.
    pub fn name(&self) -> String {
        clean(&self.file_name)
    }
}

/// A file a folder's report leaves out, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Refused {
    pub file: String,
    pub why: String,
}

/// Reads, validates and prices one file.
pub fn file(path: &Path, spec: &PriceSpec) -> Result<Ingested> {
    let shown = clean(&path.display().to_string());
    let file = result::read_valid(path)?;
    let cost = cost::price_file(&file, spec).map_err(|e| e.context(shown.clone()))?;
    Ok(Ingested {
        path: shown,
        file_name: path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        file,
        cost,
    })
}

/// Reads, validates and prices every file of a list; the first bad one is bad input.
pub fn files(paths: &[PathBuf], spec: &PriceSpec) -> Result<Vec<Ingested>> {
    paths.iter().map(|p| file(p, spec)).collect()
}

/// The files of a folder: each read as [`file`] reads it, or refused with the reason.
pub struct Folder {
    pub dir: String,
    pub files: Vec<Ingested>,
    pub refused: Vec<Refused>,
    /// How many result files the folder has.
    pub found: usize,
}

/// Reads every result file of `dir` (see [`result_files`]); none is bad input.
pub fn folder(dir: &Path, spec: &PriceSpec) -> Result<Folder> {
    let paths = result_files(dir)?;
    if paths.is_empty() {
        return Err(input_error(format!(
            "{}: holds no result files (*.json)",
            clean(&dir.display().to_string())
        )));
    }
    let mut files = Vec::new();
    let mut refused = Vec::new();
    for path in &paths {
        match file(path, spec) {
            Ok(i) => files.push(i),
            Err(e) => refused.push(Refused {
                file: path
                    .file_name()
                    .map_or_else(String::new, |n| clean(&n.to_string_lossy())),
                why: clean(&format!("{e:#}")),
            }),
        }
    }
    Ok(Folder {
        dir: clean(&dir.display().to_string()),
        files,
        refused,
        found: paths.len(),
    })
}

/// The result files of a directory (top level only, `*.json` that is not a directory,
/// the JSON Schema of result files skipped), by name. Links, pipes and devices among them
/// are listed, so that the reader refuses them by name instead of dropping them silently.
pub fn result_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| input_error(format!("{}: cannot list the directory: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !p.is_dir() && p.extension().is_some_and(|e| e == "json"))
        .filter(|p| !is_json_schema(p))
        .collect();
    files.sort();
    Ok(files)
}

fn is_json_schema(path: &Path) -> bool {
    result::read_limited(path).is_ok_and(|b| result::is_result_schema(&b))
}
