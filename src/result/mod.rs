//! Result files: the types, reading with limits, atomic writing, and validation.

pub mod cost_section;
pub mod power;
pub mod reliability;
pub mod strict;
pub mod timing;
pub mod training;
pub mod types;
pub mod validate;
pub mod workload;

pub use cost_section::*;
pub use power::*;
pub use reliability::*;
pub use timing::*;
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
    // not a stack overflow; `strict` refuses duplicate keys and over-long strings.
    let value =
        strict::parse(bytes).map_err(|e| input_error(format!("{name}: not valid JSON: {e}")))?;
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

/// Reads a result file for a report: parsed, valid (else bad input naming the first
/// problem), and with every string cleaned for printing ([`strict::cleaned`]).
pub fn read_valid(path: &Path) -> Result<ResultFile> {
    // Validated as written, then cleaned: a file that `validate` refuses (a trailing space
    // in a timestamp or a name) is refused here too.
    let file = read(path)?;
    if let Some(p) = validate::problems(&file).first() {
        return Err(input_error(format!(
            "{}: not a valid result file: {} (see `flopcost validate`)",
            crate::util::clean(&path.display().to_string()),
            crate::util::clean(p)
        )));
    }
    Ok(strict::cleaned(&file))
}

/// Where a result goes; checked before any GPU work.
///
/// Without `--force` the path is taken exclusively: the first save links a complete file
/// to the name, which fails if anything is there, so of two runs started at once on one
/// `--out` one exits with an error before measuring and the other keeps every record.
/// With `--force` every save replaces the file atomically, and the old file stays until
/// there is a measurement to replace it with. A file this writer created holding no
/// measurement is removed when the writer is dropped: a run that fails before its first
/// record leaves nothing behind.
pub struct ResultWriter {
    path: std::cell::RefCell<PathBuf>,
    /// `--out-dir`: the folder and the name's stem; the first save takes the first free
    /// `<stem>.json`, `<stem>-2.json`, ...
    in_dir: Option<(PathBuf, String)>,
    force: bool,
    /// The file this writer last put at `path`, while it holds no measurement and the
    /// run is not complete (removed on drop); `None` otherwise.
    placeholder: std::cell::Cell<Option<FileId>>,
    written: std::cell::Cell<bool>,
}

/// Which file a path names (device and inode), so that a writer removes only its own.
#[derive(Clone, Copy, PartialEq, Eq)]
struct FileId(u64, u64);

impl FileId {
    fn of(path: &Path) -> Option<FileId> {
        let m = fs::symlink_metadata(path).ok()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some(FileId(m.dev(), m.ino()))
        }
        #[cfg(not(unix))]
        {
            Some(FileId(m.len(), 0))
        }
    }
}

impl ResultWriter {
    /// `results/local/<adapter-slug>-<UTC time>.json`, not clobbering an existing file.
    pub fn default_path(adapter: &str, t: chrono::DateTime<chrono::Utc>) -> PathBuf {
        let base = format!(
            "{}-{}",
            crate::util::slug(adapter),
            t.format("%Y%m%dT%H%M%SZ")
        );
        Self::free_name(&PathBuf::from("results").join("local"), &base)
    }

    /// Checks that the file may be written: a file name (no trailing separator, not too
    /// long), not existing (unless `force`), in a directory that exists (or is created,
    /// when `create_dir`) and is writable. Nothing is written yet: the first
    /// [`ResultWriter::save`] takes the path.
    pub fn prepare(path: PathBuf, force: bool, create_dir: bool) -> Result<ResultWriter> {
        crate::util::fs::check_output_path(&path, "--out")?;
        let shown = crate::util::clean(&path.display().to_string());
        if path.is_dir() {
            return Err(input_error(format!(
                "--out {shown}: is a directory; give a file name"
            )));
        }
        if let Ok(meta) = fs::symlink_metadata(&path)
            && !meta.is_file()
        {
            return Err(input_error(format!(
                "--out {shown}: exists and is not a regular file (a device, pipe or link); \
                 results are written by replacing the file, so give a plain file path"
            )));
        }
        if path.exists() && !force {
            return Err(input_error(format!(
                "{shown} already exists; pass --force to overwrite it, or choose another --out"
            )));
        }
        let dir = crate::util::fs::parent_dir(&path);
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
        crate::util::fs::check_writable_dir(&dir).map_err(|e| {
            input_error(format!(
                "output directory {} is not writable: {e}",
                dir.display()
            ))
        })?;
        Ok(ResultWriter {
            path: std::cell::RefCell::new(path),
            in_dir: None,
            force,
            placeholder: std::cell::Cell::new(None),
            written: std::cell::Cell::new(false),
        })
    }

    /// A writer for `--out-dir DIR`: the file is `DIR/<stem>.json`, or `<stem>-2.json`,
    /// `-3`, ... when taken, chosen at the first save by an exclusive create, so runs
    /// sharing a folder (the tasks of a fleet) never take one another's name. DIR is
    /// created if missing; everything else is checked as by [`ResultWriter::prepare`].
    pub fn in_dir(dir: &Path, stem: &str) -> Result<ResultWriter> {
        crate::util::fs::check_output_path(&dir.join(format!("{stem}.json")), "--out-dir")?;
        if dir.exists() && !dir.is_dir() {
            return Err(input_error(format!(
                "--out-dir {}: exists and is not a directory",
                crate::util::clean(&dir.display().to_string())
            )));
        }
        fs::create_dir_all(dir)
            .map_err(|e| input_error(format!("cannot create directory {}: {e}", dir.display())))?;
        let mut w = ResultWriter::prepare(Self::free_name(dir, stem), false, false)?;
        w.in_dir = Some((dir.to_path_buf(), stem.to_string()));
        Ok(w)
    }

    /// The first `<stem>[-N].json` in `dir` that does not exist now.
    fn free_name(dir: &Path, stem: &str) -> PathBuf {
        let mut p = dir.join(format!("{stem}.json"));
        let mut n = 2;
        while fs::symlink_metadata(&p).is_ok() {
            p = dir.join(format!("{stem}-{n}.json"));
            n += 1;
        }
        p
    }

    /// Where the file is (or will be) written.
    pub fn path(&self) -> PathBuf {
        self.path.borrow().clone()
    }

    /// Saves the current state of the run atomically, after checking that the bytes
    /// read back as a result file. The first save without `--force` takes the path
    /// exclusively; if another process took it since [`ResultWriter::prepare`], that is
    /// bad input and nothing is written.
    pub fn save(&self, file: &ResultFile) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(file).context("serializing the result")?;
        bytes.push(b'\n');
        if let Err(e) = parse(&bytes, &self.path().display().to_string()) {
            anyhow::bail!(
                "the result would not read back ({e:#}), so it was not written to {}; this is \
                 a bug in flopcost: please report it with the command line",
                self.path().display()
            );
        }
        self.put(&bytes, file.complete || file.has_measurements())
    }

    /// Writes a finished page or table (not a result file) to the path, under the same
    /// rules as [`ResultWriter::save`].
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        self.put(bytes, true)
    }

    fn put(&self, bytes: &[u8], measured: bool) -> Result<()> {
        if !self.written.get() && !self.force {
            while !crate::util::fs::write_exclusive(&self.path(), bytes)? {
                let Some((dir, stem)) = &self.in_dir else {
                    return Err(input_error(format!(
                        "{} was created by another process after this run started; nothing \
                     was written; choose another --out (or pass --force to replace it)",
                        crate::util::clean(&self.path().display().to_string())
                    )));
                };
                // Another run in the same folder took the name: the next free one.
                *self.path.borrow_mut() = Self::free_name(dir, stem);
            }
        } else if self.force && !self.written.get() && !measured {
            // Keep the file being replaced until there is something to replace it with.
            return Ok(());
        } else {
            crate::util::fs::write_atomic(&self.path(), bytes)?;
        }
        self.written.set(true);
        self.placeholder.set(if measured {
            None
        } else {
            FileId::of(&self.path())
        });
        Ok(())
    }
}

impl Drop for ResultWriter {
    fn drop(&mut self) {
        let path = self.path();
        if let Some(id) = self.placeholder.get()
            && FileId::of(&path) == Some(id)
        {
            let _ = fs::remove_file(&path);
        }
    }
}

/// The JSON Schema of [`ResultFile`], as committed in `results/schema.json`.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(ResultFile);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

/// Whether `bytes` are the JSON Schema of result files that this version writes
/// (`results/schema.json`, which sits beside result files), as a value. Anything else that
/// is not a result file, a file with `$schema` and no `schema` among them, is refused as
/// such by every reader.
pub fn is_result_schema(bytes: &[u8]) -> bool {
    let Ok(value) = strict::parse(bytes) else {
        return false;
    };
    serde_json::from_str::<serde_json::Value>(&schema_json()).is_ok_and(|ours| ours == value)
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
