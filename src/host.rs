//! What the result file says about the machine and the program.

use crate::result::{Host, Tool};

/// This program.
pub fn tool() -> Tool {
    Tool {
        name: env!("CARGO_PKG_NAME").into(),
        version: env!("CARGO_PKG_VERSION").into(),
        git_commit: env!("FLOPCOST_GIT_COMMIT").into(),
    }
}

/// This machine: OS, kernel, CPU model, logical cores, memory.
pub fn host() -> Host {
    let mut sys = sysinfo::System::new();
    sys.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
    sys.refresh_memory();
    let os = match (sysinfo::System::name(), sysinfo::System::os_version()) {
        (Some(n), Some(v)) => format!("{n} {v}"),
        (Some(n), None) => n,
        _ => std::env::consts::OS.to_string(),
    };
    Host {
        os,
        kernel: sysinfo::System::kernel_version().unwrap_or_else(|| "unknown".into()),
        cpu: sys
            .cpus()
            .first()
            .map(|c| c.brand().trim().to_string())
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| std::env::consts::ARCH.to_string()),
        logical_cores: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
        memory_bytes: sys.total_memory(),
    }
}

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
            crate::gpu::fmt_bytes((len as u64).saturating_mul(std::mem::size_of::<T>() as u64))
        )
    })?;
    v.resize(len, value);
    Ok(v)
}

#[cfg(test)]
mod alloc_tests {
    #[test]
    fn impossible_host_allocations_are_errors_not_aborts() {
        let e = super::try_filled(usize::MAX / 8, 0f32).unwrap_err();
        assert!(format!("{e}").contains("out of host memory"), "{e}");
        assert_eq!(super::try_filled(3, 1u8).unwrap(), vec![1, 1, 1]);
    }
}
