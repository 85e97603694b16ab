//! Provenance: what a result file says about the program ([`tool`]), the machine
//! ([`host`]) and the adapter ([`adapter`]) it was made on.

use crate::gpu::adapter::{backend_name, device_type_id};
use crate::result::{
    AdapterRecord, CoopMatConfig, Host, ResultFile, Runtime, SCHEMA_ID, Settings, Tool,
};

/// A new, empty result file of this program on this host and `adapter`, started at
/// `created`: the one place a result file is made. It says it is incomplete until the
/// run marks it complete.
pub fn result_file(
    adapter: AdapterRecord,
    settings: Settings,
    created: chrono::DateTime<chrono::Utc>,
) -> ResultFile {
    ResultFile {
        schema: SCHEMA_ID.into(),
        tool: tool(),
        created_at: created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        complete: false,
        incomplete_reason: Some("the run is in progress (or was killed)".into()),
        host: host(),
        adapter,
        settings,
        workload: None,
        peaks: None,
        records: Vec::new(),
        warnings: Vec::new(),
        cost: None,
        triplets: Vec::new(),
        training: None,
        repeatability: None,
        sustain: None,
        more_training: Vec::new(),
        runtime: Some(Runtime::wgpu()),
        power: None,
    }
}

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
        hostname: sysinfo::System::host_name().filter(|h| !h.trim().is_empty()),
    }
}

/// `maxBufferSize` → `max_buffer_size` (wgpu serializes limits in camelCase; its Rust
/// field names, which users know, are snake_case).
fn snake_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        if ch.is_ascii_uppercase() {
            out.push('_');
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// Everything the result file and `devices --json` say about an adapter.
pub fn adapter(index: usize, adapter: &wgpu::Adapter, info: &wgpu::AdapterInfo) -> AdapterRecord {
    let limits = serde_json::to_value(adapter.limits())
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| v.as_u64().map(|n| (snake_case(&k), n)))
        .collect();
    let features = adapter
        .features()
        .iter_names()
        .map(|(name, _)| name.to_string())
        .collect();
    let cooperative_matrix = adapter
        .cooperative_matrix_properties()
        .into_iter()
        .map(|p| CoopMatConfig {
            m: p.m_size,
            n: p.n_size,
            k: p.k_size,
            ab_type: format!("{:?}", p.ab_type).to_lowercase(),
            cr_type: format!("{:?}", p.cr_type).to_lowercase(),
            saturating_accumulation: p.saturating_accumulation,
        })
        .collect();
    AdapterRecord {
        index: index as u32,
        name: info.name.clone(),
        vendor_id: info.vendor,
        device_id: info.device,
        device_type: device_type_id(info.device_type).into(),
        backend: backend_name(info.backend).into(),
        driver: info.driver.clone(),
        driver_info: info.driver_info.clone(),
        device_pci_bus_id: info.device_pci_bus_id.clone(),
        subgroup_min_size: info.subgroup_min_size,
        subgroup_max_size: info.subgroup_max_size,
        features,
        limits,
        cooperative_matrix,
        device_memory_bytes: crate::gpu::memory::device_memory_bytes(adapter),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_names_are_snake_case() {
        assert_eq!(snake_case("maxBufferSize"), "max_buffer_size");
        assert_eq!(
            snake_case("maxComputeWorkgroupSizeX"),
            "max_compute_workgroup_size_x"
        );
    }
}
