//! Reading and writing files without surprises.
//!
//! Readers take regular files only: the file is opened without blocking (a FIFO or a
//! device cannot hang the open), the type of the *opened* descriptor is checked (a link
//! to `/dev/zero` is a device, not a file), and the bytes are read once under a size
//! cap. `-` is standard input, read once under the same cap. Writers replace a file
//! atomically (a temporary in the same directory, synced, then renamed), so a reader
//! never sees half a file. Temporaries are created exclusively under unpredictable names,
//! so a link planted beside an output (a shared `--out-dir`, `/tmp`) is never written
//! through.

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
    let name = path.display().to_string();
    if path.as_os_str() == STDIN {
        return read_stream(std::io::stdin().lock(), cap, "standard input", what);
    }
    let file =
        open_nonblocking(path).map_err(|e| input_error(format!("{name}: cannot open: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| input_error(format!("{name}: cannot read: {e}")))?;
    let ty = meta.file_type();
    if is_fifo(&ty) && is_inherited_pipe(path) {
        // A pipe the caller opened for us (`<(cat f)`, `/dev/stdin` fed by a pipe): read
        // it as standard input is read, once, under the cap.
        set_blocking(&file);
        return read_stream(file, cap, &name, what);
    }
    if !ty.is_file() {
        let why = if ty.is_dir() {
            "is a directory".to_string()
        } else if is_fifo(&ty) {
            format!(
                "is a named pipe (FIFO), which flopcost does not open (a writer may never \
                 come); to read a {what} from a pipe, pass it as - (standard input)"
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
    read_stream(file, cap, &name, what)
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

/// A stream read once, under the cap.
fn read_stream(r: impl Read, cap: u64, name: &str, what: &str) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(cap + 1)
        .read_to_end(&mut buf)
        .map_err(|e| input_error(format!("{name}: cannot read: {e}")))?;
    if buf.len() as u64 > cap {
        return Err(input_error(format!(
            "{name}: larger than the {} a {what} may be",
            fmt_bytes(cap)
        )));
    }
    Ok(buf)
}

/// A pipe reached through a descriptor the caller holds (`/dev/fd/N`, `/dev/stdin`,
/// `/proc/self/fd/N`): its path does not resolve to a file in the filesystem, as a named
/// FIFO's does.
fn is_inherited_pipe(path: &Path) -> bool {
    fs::canonicalize(path).is_err()
}

#[cfg(unix)]
fn set_blocking(file: &fs::File) {
    use std::os::unix::io::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this process owns; failure leaves it non-blocking,
    // which only makes a read of an empty pipe end early.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
}

#[cfg(not(unix))]
fn set_blocking(_: &fs::File) {}

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

/// A new temporary file in `dir` for the bytes of `name`: created exclusively under an
/// unpredictable name (`O_CREAT | O_EXCL`, so a link or file planted at any name is never
/// opened or followed, only stepped around), with the permissions a plain create gives,
/// and removed when dropped unless it was renamed or linked into place.
fn temporary_in(dir: &Path, name: &str) -> std::io::Result<tempfile::NamedTempFile> {
    let prefix = format!(".{name}.");
    let mut b = tempfile::Builder::new();
    b.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Mode 0666 before the umask, as `File::create` would: published result files
        // and pages stay readable by the group and others where the umask allows it.
        b.permissions(fs::Permissions::from_mode(0o666));
    }
    b.tempfile_in(dir)
}

/// The file name that `path` writes, for naming its temporary.
fn file_name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "result.json".into())
}

/// A complete temporary beside `path` holding `bytes`, flushed to disk.
fn written_temporary(path: &Path, bytes: &[u8]) -> std::io::Result<tempfile::NamedTempFile> {
    let mut tmp = temporary_in(&parent_dir(path), &file_name_of(path))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory (created
/// exclusively under an unpredictable name, see [`temporary_in`]), flushed to disk, then
/// renamed over the target. A failure at any step leaves the previous file (if any)
/// untouched and removes the temporary.
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
    written_temporary(path, bytes)
        .and_then(|tmp| tmp.persist(path).map(drop).map_err(|e| e.error))
        .with_context(|| format!("could not write {}", path.display()))
}

/// Writes `bytes` to `path` only if nothing is there: a complete temporary file (created
/// as for [`write_atomic`]) is linked to the name, which fails if the name exists, so of
/// two writers racing for one path exactly one succeeds and a reader never sees half a
/// file. (On a filesystem without hard links the file is created exclusively and then
/// written, so a reader may see it short for a moment; a failed write removes it.)
/// `Ok(false)` means the path was taken.
pub fn write_exclusive(path: &Path, bytes: &[u8]) -> Result<bool> {
    let res = (|| -> std::io::Result<bool> {
        let tmp = written_temporary(path, bytes)?;
        // `link` never follows a link at the new name: it fails as the name exists.
        match fs::hard_link(tmp.path(), path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            // A filesystem without hard links: an exclusive create, then the bytes.
            Err(_) => match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(mut f) => {
                    // Not atomic on such a filesystem: a failed write removes the file.
                    if let Err(e) = f.write_all(bytes).and_then(|()| f.sync_all()) {
                        drop(f);
                        let _ = fs::remove_file(path);
                        return Err(e);
                    }
                    Ok(true)
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(e),
            },
        }
        // The temporary is removed here, when `tmp` is dropped.
    })();
    res.with_context(|| format!("could not write {}", path.display()))
}

/// Whether a file can be created in `dir`: an unnamed (or exclusively created, randomly
/// named) temporary is made there and removed at once, so nothing planted in the
/// directory is ever opened.
pub fn check_writable_dir(dir: &Path) -> std::io::Result<()> {
    tempfile::tempfile_in(dir).map(drop)
}

/// Checks a path a file will be written to, before any work: not ending in a separator
/// (`dir/new/` names a directory), a final component the filesystem can hold, and no
/// control characters. `flag` names the option in messages.
pub fn check_output_path(path: &Path, flag: &str) -> Result<()> {
    let shown = super::fmt::clean(&path.display().to_string());
    let raw = path.as_os_str().to_string_lossy();
    if raw.is_empty() {
        return Err(input_error(format!("{flag}: empty path; give a file name")));
    }
    if raw.ends_with('/') || raw.ends_with(std::path::MAIN_SEPARATOR) {
        return Err(input_error(format!(
            "{flag} {shown}: ends with a separator, so names a directory; give a file name"
        )));
    }
    let Some(name) = path.file_name() else {
        return Err(input_error(format!("{flag} {shown}: has no file name")));
    };
    // The temporary written beside it adds a few bytes to the name.
    const NAME_MAX: usize = 255 - 24;
    if name.len() > NAME_MAX {
        return Err(input_error(format!(
            "{flag} {shown}: the file name is {} bytes; at most {NAME_MAX} are allowed",
            name.len()
        )));
    }
    if raw.chars().any(char::is_control) {
        return Err(input_error(format!(
            "{flag} {shown}: contains control characters; give a plain file name"
        )));
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

    /// Links planted at every temporary name older versions used (`.NAME.tmp-<pid>`,
    /// `.NAME.new-<pid>`, `.flopcost-write-test-<pid>`), and at names shaped like the
    /// ones used now, are never written through.
    #[cfg(unix)]
    #[test]
    fn planted_links_at_temporary_names_are_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        let pid = std::process::id();
        for name in [
            format!(".r.json.tmp-{pid}"),
            format!(".r.json.new-{pid}"),
            format!(".x.json.new-{pid}"),
            format!(".flopcost-write-test-{pid}"),
            ".r.json.tmp".to_string(),
            ".r.json.AAAAAA.tmp".to_string(),
        ] {
            std::os::unix::fs::symlink(&victim, dir.path().join(name)).unwrap();
        }
        let r = dir.path().join("r.json");
        write_atomic(&r, b"one").unwrap();
        write_atomic(&r, b"two").unwrap();
        assert!(write_exclusive(&dir.path().join("x.json"), b"three").unwrap());
        check_writable_dir(dir.path()).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(fs::read(&r).unwrap(), b"two");
        assert_eq!(fs::read(dir.path().join("x.json")).unwrap(), b"three");
        // Nothing of ours is left: the victim, the six links and the two files.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 9);
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
