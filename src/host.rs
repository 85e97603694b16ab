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
