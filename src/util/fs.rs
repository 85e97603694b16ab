//! Reading and writing files without surprises.
//!
//! Readers take regular files only: the file is opened without blocking (a FIFO or a
//! device cannot hang the open), the type of the *opened* descriptor is checked (a link
//! to `/dev/zero` is a device, not a file), and the bytes are read once under a size
//! cap. `-` is standard input, read once under the same cap. Writers replace a file
//! atomically (a temporary in the same directory, synced, then renamed), so a reader
//! never sees half a file.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::fmt_bytes;
use crate::error::input_error;

/// The path that means standard input.
pub const STDIN: &str = "-";

/// Reads the file at `path` (or standard input for `-`), at most `cap` bytes; `what`
/// names the kind of file in messages ("result file", "price file"). Anything that is
/// not a readable regular file within the cap is bad input naming the path.
pub fn read_capped(path: &Path, cap: u64, what: &str) -> Result<Vec<u8>> {
    let name = path.display();
    if path.as_os_str() == STDIN {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .take(cap + 1)
            .read_to_end(&mut buf)
            .map_err(|e| input_error(format!("standard input: cannot read: {e}")))?;
        if buf.len() as u64 > cap {
            return Err(input_error(format!(
                "standard input: more than {}; not a {what}",
                fmt_bytes(cap)
            )));
        }
        return Ok(buf);
    }
    let file =
        open_nonblocking(path).map_err(|e| input_error(format!("{name}: cannot open: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| input_error(format!("{name}: cannot read: {e}")))?;
    let ty = meta.file_type();
    if !ty.is_file() {
        let why = if ty.is_dir() {
            "is a directory".to_string()
        } else if is_fifo(&ty) {
            format!(
                "is a named pipe (FIFO); to read a {what} from a pipe, pass it as - (standard input)"
            )
        } else {
            format!("is not a regular file (a device or socket); give the path of a {what}")
        };
        return Err(input_error(format!("{name}: {why}")));
    }
    if meta.len() > cap {
        let (size, limit) = sizes(meta.len(), cap);
        return Err(input_error(format!(
            "{name}: {size} is larger than the {limit} a {what} may be"
        )));
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1)
        .read_to_end(&mut buf)
        .map_err(|e| input_error(format!("{name}: cannot read: {e}")))?;
    if buf.len() as u64 > cap {
        return Err(input_error(format!(
            "{name}: grew larger than {} while being read; not a {what}",
            fmt_bytes(cap)
        )));
    }
    Ok(buf)
}

/// A size and a limit it exceeds, in units that show the difference ("64.0 MiB is larger
/// than 64.0 MiB" says nothing; bytes do).
fn sizes(size: u64, limit: u64) -> (String, String) {
    let (a, b) = (fmt_bytes(size), fmt_bytes(limit));
    if a == b {
        (format!("{size} bytes"), format!("{limit} bytes"))
    } else {
        (a, b)
    }
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<fs::File> {
    fs::File::open(path)
}

#[cfg(unix)]
fn is_fifo(ty: &fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    ty.is_fifo()
}

#[cfg(not(unix))]
fn is_fifo(_: &fs::FileType) -> bool {
    false
}

/// The directory a file is written in (`.` for a bare name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed
/// to disk, then renamed over the target. A failure at any step leaves the previous file
/// (if any) untouched and removes the temporary.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    // Renaming over a device, a pipe or a directory would replace it (`--out /dev/null`
    // run as root would delete the device node): only regular files are replaced.
    if let Ok(meta) = fs::symlink_metadata(path)
        && !meta.is_file()
    {
        anyhow::bail!(
            "could not write {}: it exists and is not a regular file; give a file path",
            path.display()
        );
    }
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "result.json".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let res = (|| -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = res {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("could not write {}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_take_regular_files_under_the_cap_only() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok.json");
        fs::write(&ok, b"{}").unwrap();
        assert_eq!(read_capped(&ok, 10, "result file").unwrap(), b"{}");
        let big = dir.path().join("big.json");
        fs::write(&big, vec![b' '; 11]).unwrap();
        let e = format!("{:#}", read_capped(&big, 10, "result file").unwrap_err());
        assert!(e.contains("11 B is larger than the 10 B"), "{e}");
        assert_eq!(sizes((64 << 20) + 1, 64 << 20).0, "67108865 bytes");
        let e = format!(
            "{:#}",
            read_capped(dir.path(), 10, "result file").unwrap_err()
        );
        assert!(e.contains("is a directory"), "{e}");
        let e = format!(
            "{:#}",
            read_capped(&dir.path().join("none"), 10, "result file").unwrap_err()
        );
        assert!(e.contains("cannot open"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let zero = dir.path().join("zero.json");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let e = format!(
            "{:#}",
            read_capped(&zero, 1 << 20, "tuning cache").unwrap_err()
        );
        assert!(e.contains("not a regular file"), "{e}");
        let fifo = dir.path().join("fifo.json");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let started = std::time::Instant::now();
        let e = format!(
            "{:#}",
            read_capped(&fifo, 1 << 20, "result file").unwrap_err()
        );
        assert!(
            e.contains("named pipe") && e.contains("pass it as -"),
            "{e}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn atomic_writes_replace_whole_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert!(write_atomic(dir.path(), b"x").is_err());
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }
}
