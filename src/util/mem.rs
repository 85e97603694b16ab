//! Host memory: what is available, and allocations that fail with a message instead of
//! aborting the process.

use super::fmt_bytes;

/// Memory the operating system says is available now, in bytes; 1 GiB when it reports
/// none (a conservative floor).
pub fn available_memory_bytes() -> u64 {
    let mut sys = sysinfo::System::new();
    sys.refresh_memory();
    match sys.available_memory() {
        0 => 1 << 30,
        n => n,
    }
}

/// A vector of `len` copies of `value`, or an error naming the size if the host cannot
/// allocate it (instead of the process aborting, as an infallible allocation would).
pub fn try_filled<T: Clone>(len: usize, value: T) -> anyhow::Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        anyhow::anyhow!(
            "out of host memory allocating {}; try a smaller shape",
            fmt_bytes((len as u64).saturating_mul(std::mem::size_of::<T>() as u64))
        )
    })?;
    v.resize(len, value);
    Ok(v)
}

#[cfg(test)]
mod tests {
    #[test]
    fn impossible_host_allocations_are_errors_not_aborts() {
        let e = super::try_filled(usize::MAX / 8, 0f32).unwrap_err();
        assert!(format!("{e}").contains("out of host memory"), "{e}");
        assert_eq!(super::try_filled(3, 1u8).unwrap(), vec![1, 1, 1]);
    }
}
