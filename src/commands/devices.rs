//! `flopcost devices` and `flopcost kernels`: what this machine offers.

use std::process::ExitCode;

use anyhow::Result;
use comfy_table::{ContentArrangement, Table, presets};

use crate::gpu::adapter::{self, AdapterSelector, BackendFilter};
use crate::kernels;
use crate::util::fmt_bytes;

/// Lists every adapter on every backend (or one backend).
pub fn devices(json: bool, backend: Option<BackendFilter>) -> Result<ExitCode> {
    let filter = backend.unwrap_or(BackendFilter::All);
    let entries = adapter::enumerate(filter);
    let records: Vec<_> = entries
        .iter()
        .map(|e| crate::provenance::adapter(e.index, &e.adapter, &e.info))
        .collect();
    // The power sensor a run on each adapter would read (none asked for by flags).
    let power: Vec<Result<String, String>> = entries
        .iter()
        .map(|e| {
            let c = crate::measure::power::sources::choose(
                &Default::default(),
                &e.info.device_pci_bus_id,
                e.info.vendor,
            );
            c.source.map(|s| s.info().method).map_err(|why| {
                c.warnings
                    .iter()
                    .map(|w| format!("{why}; {w}"))
                    .next()
                    .unwrap_or(why)
            })
        })
        .collect();
    let default_index = if entries.is_empty() {
        None
    } else {
        adapter::choose(adapter::enumerate(filter), &AdapterSelector::Best, filter)
            .ok()
            .map(|c| c.entry.index)
    };
    if json {
        let list: Vec<serde_json::Value> = records
            .iter()
            .zip(&power)
            .map(|(r, p)| {
                let mut v = serde_json::to_value(r).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert(
                        "default".into(),
                        (Some(r.index as usize) == default_index).into(),
                    );
                    o.insert(
                        "power_sensor".into(),
                        match p {
                            Ok(m) => serde_json::json!({ "method": m }),
                            Err(why) => serde_json::json!({ "none_reason": why }),
                        },
                    );
                }
                v
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    if records.is_empty() {
        eprintln!("{}", adapter::NO_ADAPTER_HELP);
        return Ok(ExitCode::from(1));
    }
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header([
            "#",
            "name",
            "backend",
            "type",
            "pci vendor:device",
            "driver",
            "timestamps",
            "f16",
            "subgroups",
            "cooperative matrix",
            "memory",
            "max buffer",
            "max binding",
            "workgroup mem",
            "invocations",
        ]);
    for r in &records {
        let has = |f: &str| r.features.iter().any(|x| x == f);
        let ts = if has("TIMESTAMP_QUERY_INSIDE_PASSES") {
            "yes (in passes)"
        } else if has("TIMESTAMP_QUERY") {
            "yes"
        } else {
            "no"
        };
        let sub = if has("SUBGROUP") {
            format!("{}–{}", r.subgroup_min_size, r.subgroup_max_size)
        } else {
            "no".into()
        };
        let coop = if r.cooperative_matrix.is_empty() {
            "none".to_string()
        } else {
            r.cooperative_matrix
                .iter()
                .map(|c| format!("{}x{}x{} {}→{}", c.m, c.n, c.k, c.ab_type, c.cr_type))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let lim = |k: &str| r.limits.get(k).copied().unwrap_or(0);
        let mark = if Some(r.index as usize) == default_index {
            format!("{} *", r.index)
        } else {
            r.index.to_string()
        };
        t.add_row(vec![
            mark,
            crate::util::clean(&r.name),
            r.backend.clone(),
            r.device_type.clone(),
            format!("{:04x}:{:04x}", r.vendor_id, r.device_id),
            crate::util::clean(&format!("{} {}", r.driver, r.driver_info)),
            ts.into(),
            if has("SHADER_F16") { "yes" } else { "no" }.into(),
            sub,
            coop,
            r.device_memory_bytes.map_or("?".into(), fmt_bytes),
            fmt_bytes(lim("max_buffer_size")),
            fmt_bytes(lim("max_storage_buffer_binding_size")),
            fmt_bytes(lim("max_compute_workgroup_storage_size")),
            lim("max_compute_invocations_per_workgroup").to_string(),
        ]);
    }
    println!("{t}");
    println!(
        "* the adapter `flopcost run` picks by default; choose another with --adapter INDEX|NAME"
    );
    println!("power sensors (what `flopcost run` reads beside each timed phase):");
    for (r, p) in records.iter().zip(&power) {
        println!(
            "  {} {}: {}",
            r.index,
            crate::util::clean(&r.backend),
            crate::util::clean(&match p {
                Ok(m) => m.clone(),
                Err(why) => format!("none, energy figures stay nameplate ({why})"),
            })
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Lists the kernels `run --kernel` accepts.
pub fn kernels(json: bool) -> Result<ExitCode> {
    let list: Vec<_> = kernels::registry()
        .into_iter()
        .filter(|k| !k.hidden)
        .collect();
    if json {
        let v: Vec<serde_json::Value> = list
            .iter()
            .map(|k| {
                serde_json::json!({
                    "name": k.name,
                    "description": k.description,
                    "params": crate::kernels::registry::params(k),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for k in &list {
            println!("{:<8} {}", k.name, k.description);
        }
    }
    Ok(ExitCode::SUCCESS)
}
