//! Small helpers every layer may use: number and text formatting ([`fmt`]), reading and
//! writing files safely ([`fs`]), host-memory checks ([`mem`]), list parsing and slugs.
//! Nothing here knows about GPUs, results or reports.

pub mod fmt;
pub mod fs;
pub mod mem;

pub use fmt::{clean, fmt_bytes, fmt_err, fmt_ns, fmt_num, fmt_sig};

use anyhow::Result;

use crate::error::input_error;

/// Parses a comma-separated, case-insensitive list for the flag `flag`, dropping repeats
/// and keeping the order given; an unknown item or an empty list is an input error that
/// says what `expected` is.
pub fn parse_list<T: PartialEq>(
    s: &str,
    flag: &str,
    expected: &str,
    item: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some(value) = item(&part.to_ascii_lowercase()) else {
            return Err(input_error(format!(
                "invalid {flag} '{part}': expected {expected}"
            )));
        };
        if !out.contains(&value) {
            out.push(value);
        }
    }
    if out.is_empty() {
        return Err(input_error(format!("{flag} is empty: expected {expected}")));
    }
    Ok(out)
}

/// FNV-1a, 64 bits (Fowler, Noll and Vo): a stable, fast hash of bytes for checksums and
/// digests that catch accidents and edits, not attacks.
pub fn fnv1a64(bytes: impl IntoIterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `fnv1a64:` and the 16 hex digits of [`fnv1a64`] over `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    format!("fnv1a64:{:016x}", fnv1a64(bytes.iter().copied()))
}

/// Lower-case letters and digits joined by single dashes (file names from adapter names).
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "adapter".into()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_the_published_test_vectors() {
        // From the FNV reference: the empty string and "a".
        assert_eq!(fnv1a64(*b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(*b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(digest(b"a"), "fnv1a64:af63dc4c8601ec8c");
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slug("llvmpipe (LLVM 15.0.6, 256 bits)"),
            "llvmpipe-llvm-15-0-6-256-bits"
        );
        assert_eq!(slug("NVIDIA H200"), "nvidia-h200");
        assert_eq!(slug("///"), "adapter");
    }
}
