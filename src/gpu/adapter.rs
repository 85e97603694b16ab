//! Finding adapters on every backend and choosing one.
//!
//! The default choice ranks adapters by device type (discrete > integrated > virtual >
//! software) and then by backend (Vulkan, Metal and DX12 before GL), keeping
//! enumeration order among equals, so the same machine always picks the same adapter.

use anyhow::Result;

use crate::error::input_error;

/// One adapter as `flopcost devices` lists it.
pub struct AdapterEntry {
    /// Position in the listing; what `--adapter INDEX` refers to.
    pub index: usize,
    pub adapter: wgpu::Adapter,
    pub info: wgpu::AdapterInfo,
}

/// What the user asked for with `--adapter`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdapterSelector {
    Best,
    Index(usize),
    Name(String),
    /// Every GPU of the host (`run --adapter all`; see [`physical_devices`]).
    All,
}

impl AdapterSelector {
    /// `--adapter` takes an index from `flopcost devices` or a substring of the name.
    pub fn parse(s: &str) -> AdapterSelector {
        match s.trim().parse::<usize>() {
            Ok(i) => AdapterSelector::Index(i),
            Err(_) => AdapterSelector::Name(s.trim().to_string()),
        }
    }
}

/// `--backend`: which graphics API to enumerate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendFilter {
    All,
    Vulkan,
    Metal,
    Dx12,
    Gl,
}

impl BackendFilter {
    pub fn backends(self) -> wgpu::Backends {
        match self {
            BackendFilter::All => {
                wgpu::Backends::VULKAN
                    | wgpu::Backends::METAL
                    | wgpu::Backends::DX12
                    | wgpu::Backends::GL
            }
            BackendFilter::Vulkan => wgpu::Backends::VULKAN,
            BackendFilter::Metal => wgpu::Backends::METAL,
            BackendFilter::Dx12 => wgpu::Backends::DX12,
            BackendFilter::Gl => wgpu::Backends::GL,
        }
    }
}

/// The adapter picked, and a sentence saying why.
pub struct AdapterChoice {
    pub entry: AdapterEntry,
    pub reason: String,
}

impl AdapterChoice {
    /// The line every command prints before it uses the adapter: which one, and why.
    pub fn announcement(&self) -> String {
        let info = &self.entry.info;
        // The names come from the driver: printed with control characters escaped.
        format!(
            "adapter {}: {} ({}, {}, driver {}): {}",
            self.entry.index,
            crate::util::clean(&info.name),
            backend_name(info.backend),
            device_type_name(info.device_type),
            crate::util::clean(&format!("{} {}", info.driver, info.driver_info)),
            self.reason
        )
    }
}

/// A wgpu instance on the given backends, without validation layers (they distort timing)
/// unless the usual `WGPU_*` environment variables ask for them.
pub fn instance(filter: BackendFilter) -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor {
        backends: filter.backends(),
        flags: wgpu::InstanceFlags::empty().with_env(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    };
    desc.backend_options = desc.backend_options.with_env();
    wgpu::Instance::new(desc)
}

/// Every adapter on the filtered backends, in a stable order (by backend, then as found).
pub fn enumerate(filter: BackendFilter) -> Vec<AdapterEntry> {
    let inst = instance(filter);
    let mut adapters: Vec<(wgpu::Adapter, wgpu::AdapterInfo)> =
        pollster::block_on(inst.enumerate_adapters(filter.backends()))
            .into_iter()
            .map(|a| {
                let info = a.get_info();
                (a, info)
            })
            .collect();
    adapters.sort_by_key(|(_, info)| backend_order(info.backend));
    adapters
        .into_iter()
        .enumerate()
        .map(|(index, (adapter, info))| AdapterEntry {
            index,
            adapter,
            info,
        })
        .collect()
}

fn backend_order(b: wgpu::Backend) -> u8 {
    match b {
        wgpu::Backend::Vulkan => 0,
        wgpu::Backend::Metal => 1,
        wgpu::Backend::Dx12 => 2,
        wgpu::Backend::Gl => 3,
        _ => 4,
    }
}

/// Rank used for the default choice; lower is better.
pub fn rank(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let ty = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    };
    let api = if info.backend == wgpu::Backend::Gl {
        1
    } else {
        0
    };
    (ty, api)
}

/// Human name of a device type.
pub fn device_type_name(t: wgpu::DeviceType) -> &'static str {
    match t {
        wgpu::DeviceType::DiscreteGpu => "discrete GPU",
        wgpu::DeviceType::IntegratedGpu => "integrated GPU",
        wgpu::DeviceType::VirtualGpu => "virtual GPU",
        wgpu::DeviceType::Cpu => "software (CPU)",
        wgpu::DeviceType::Other => "other",
    }
}

/// Lower-case backend name as used on the command line and in result files.
pub fn backend_name(b: wgpu::Backend) -> &'static str {
    match b {
        wgpu::Backend::Vulkan => "vulkan",
        wgpu::Backend::Metal => "metal",
        wgpu::Backend::Dx12 => "dx12",
        wgpu::Backend::Gl => "gl",
        wgpu::Backend::BrowserWebGpu => "webgpu",
        wgpu::Backend::Noop => "noop",
    }
}

/// The message for a machine where wgpu finds nothing.
pub const NO_ADAPTER_HELP: &str = "no GPU adapter found; on a machine without a GPU install a \
     software Vulkan device (Debian/Ubuntu: sudo apt-get install mesa-vulkan-drivers), or \
     install your GPU's Vulkan driver; `flopcost devices` lists what wgpu sees";

/// Picks an adapter. Asking for one that does not exist is bad input (exit 2); finding
/// none at all is a failed run (exit 1).
pub fn choose(
    mut entries: Vec<AdapterEntry>,
    selector: &AdapterSelector,
    filter: BackendFilter,
) -> Result<AdapterChoice> {
    if entries.is_empty() {
        if filter == BackendFilter::All {
            anyhow::bail!(NO_ADAPTER_HELP);
        }
        anyhow::bail!(
            "no adapter on backend {filter:?}; run `flopcost devices` to see what is available, \
             or drop --backend"
        );
    }
    let listing = || {
        entries
            .iter()
            .map(|e| {
                format!(
                    "{}: {} ({})",
                    e.index,
                    e.info.name,
                    backend_name(e.info.backend)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    match selector {
        AdapterSelector::Index(i) => {
            let pos = entries.iter().position(|e| e.index == *i).ok_or_else(|| {
                input_error(format!(
                    "--adapter {i}: no adapter with that index (found {})",
                    listing()
                ))
            })?;
            let entry = entries.swap_remove(pos);
            Ok(AdapterChoice {
                entry,
                reason: format!("chosen with --adapter {i}"),
            })
        }
        AdapterSelector::Name(name) => {
            let needle = name.to_lowercase();
            let mut matching: Vec<usize> = (0..entries.len())
                .filter(|&p| entries[p].info.name.to_lowercase().contains(&needle))
                .collect();
            if matching.is_empty() {
                return Err(input_error(format!(
                    "--adapter '{name}': no adapter name contains it (found {})",
                    listing()
                )));
            }
            matching.sort_by_key(|&p| (rank(&entries[p].info), entries[p].index));
            let n = matching.len();
            let entry = entries.swap_remove(matching[0]);
            let reason = if n == 1 {
                format!("chosen with --adapter '{name}'")
            } else {
                format!("best of {n} adapters whose name contains '{name}'")
            };
            Ok(AdapterChoice { entry, reason })
        }
        AdapterSelector::All => Err(input_error(
            "--adapter all is for `flopcost run` and `flopcost train`; give an index or a name \
             here",
        )),
        AdapterSelector::Best => {
            let n = entries.len();
            let best = (0..n)
                .min_by_key(|&p| (rank(&entries[p].info), entries[p].index))
                .unwrap_or(0);
            let entry = entries.swap_remove(best);
            let reason = format!(
                "best of {n} adapter{} found ({}, {}; discrete > integrated > virtual > \
                 software, Vulkan/Metal/DX12 before GL)",
                if n == 1 { "" } else { "s" },
                device_type_name(entry.info.device_type),
                backend_name(entry.info.backend),
            );
            Ok(AdapterChoice { entry, reason })
        }
    }
}

/// Whether two listings are one physical device: the same PCI bus address where both
/// have one; else the same PCI vendor and device ids where both have them (and at most
/// one has a bus address, as when GL reports none); else the same name up to any `/`
/// suffix (GL renderers append `/PCIe/SSE2`), case aside. Two listings of one backend
/// are one device only by their bus address: a backend lists each device once, and
/// identical cards without bus addresses (DX12, Metal) are still several.
pub fn same_device(a: &wgpu::AdapterInfo, b: &wgpu::AdapterInfo) -> bool {
    let bus = |i: &wgpu::AdapterInfo| {
        (!i.device_pci_bus_id.is_empty()).then_some(i.device_pci_bus_id.clone())
    };
    if let (Some(x), Some(y)) = (bus(a), bus(b)) {
        return x == y;
    }
    if a.backend == b.backend {
        return false;
    }
    if a.vendor != 0 && a.device != 0 && b.vendor != 0 && b.device != 0 {
        return a.vendor == b.vendor && a.device == b.device;
    }
    let name = |i: &wgpu::AdapterInfo| i.name.split('/').next().unwrap_or("").trim().to_lowercase();
    name(a) == name(b)
}

/// The adapters `--adapter all` measures: every GPU once (the best-ranked listing of
/// each physical device: Vulkan, Metal or DX12 before GL), in listing order; where the
/// host has no GPU, the best software adapter alone, as the default choice would.
pub fn physical_devices(entries: Vec<AdapterEntry>) -> Vec<AdapterEntry> {
    let mut ranked = entries;
    ranked.sort_by_key(|e| (rank(&e.info), e.index));
    let mut kept: Vec<AdapterEntry> = Vec::new();
    for e in ranked {
        if !kept.iter().any(|k| same_device(&k.info, &e.info)) {
            kept.push(e);
        }
    }
    let any_gpu = kept
        .iter()
        .any(|e| e.info.device_type != wgpu::DeviceType::Cpu);
    let mut out: Vec<AdapterEntry> = if any_gpu {
        kept.into_iter()
            .filter(|e| e.info.device_type != wgpu::DeviceType::Cpu)
            .collect()
    } else {
        kept.into_iter().take(1).collect()
    };
    out.sort_by_key(|e| e.index);
    out
}

/// `discrete_gpu`, `integrated_gpu`, `virtual_gpu`, `cpu` or `other`.
pub fn device_type_id(t: wgpu::DeviceType) -> &'static str {
    match t {
        wgpu::DeviceType::DiscreteGpu => "discrete_gpu",
        wgpu::DeviceType::IntegratedGpu => "integrated_gpu",
        wgpu::DeviceType::VirtualGpu => "virtual_gpu",
        wgpu::DeviceType::Cpu => "cpu",
        wgpu::DeviceType::Other => "other",
    }
}

#[cfg(test)]
mod tests {

    fn listing(
        name: &str,
        backend: wgpu::Backend,
        vendor: u32,
        device: u32,
        bus: &str,
    ) -> wgpu::AdapterInfo {
        wgpu::AdapterInfo {
            name: name.into(),
            vendor,
            device,
            device_type: wgpu::DeviceType::DiscreteGpu,
            device_pci_bus_id: bus.into(),
            driver: String::new(),
            driver_info: String::new(),
            backend,
            subgroup_min_size: 32,
            subgroup_max_size: 32,
            transient_saves_memory: None,
            limit_bucket: None,
        }
    }

    #[test]
    fn one_gpu_through_two_backends_is_one_device_and_two_gpus_are_two() {
        use wgpu::Backend::{Gl, Vulkan};
        let vk0 = listing("NVIDIA H200", Vulkan, 0x10de, 0x2335, "0000:18:00.0");
        let vk1 = listing("NVIDIA H200", Vulkan, 0x10de, 0x2335, "0000:2a:00.0");
        let gl = listing("NVIDIA H200/PCIe/SSE2", Gl, 0, 0, "");
        assert!(
            !same_device(&vk0, &vk1),
            "two identical GPUs at two bus addresses"
        );
        assert!(same_device(&vk0, &gl), "GL reports no ids: matched by name");
        let lvp_vk = listing("llvmpipe (LLVM 15.0.6, 256 bits)", Vulkan, 0x10005, 0, "");
        let lvp_gl = listing("llvmpipe (LLVM 15.0.6, 256 bits)", Gl, 0x10005, 0, "");
        assert!(same_device(&lvp_vk, &lvp_gl));
        let other = listing(
            "AMD Instinct MI300X",
            Vulkan,
            0x1002,
            0x74a1,
            "0000:18:00.0",
        );
        assert!(
            same_device(&vk0, &other),
            "the same bus address is one device"
        );
        let amd = listing("AMD Instinct MI300X", Vulkan, 0x1002, 0x74a1, "");
        assert!(!same_device(&vk1, &amd));
        // Identical cards on one backend without bus addresses are several devices.
        let dx0 = listing("NVIDIA H200", wgpu::Backend::Dx12, 0x10de, 0x2335, "");
        assert!(!same_device(&dx0, &dx0.clone()));
    }

    use super::*;

    fn info(ty: wgpu::DeviceType, backend: wgpu::Backend) -> wgpu::AdapterInfo {
        wgpu::AdapterInfo {
            name: "x".into(),
            vendor: 0,
            device: 0,
            device_type: ty,
            device_pci_bus_id: String::new(),
            driver: String::new(),
            driver_info: String::new(),
            backend,
            subgroup_min_size: 0,
            subgroup_max_size: 0,
            transient_saves_memory: None,
            limit_bucket: None,
        }
    }

    #[test]
    fn ranking_prefers_discrete_then_native_api() {
        use wgpu::{Backend as B, DeviceType as D};
        let order = [
            info(D::DiscreteGpu, B::Vulkan),
            info(D::DiscreteGpu, B::Gl),
            info(D::IntegratedGpu, B::Metal),
            info(D::VirtualGpu, B::Dx12),
            info(D::Cpu, B::Vulkan),
            info(D::Cpu, B::Gl),
        ];
        for w in order.windows(2) {
            assert!(rank(&w[0]) < rank(&w[1]), "{:?} !< {:?}", w[0], w[1]);
        }
    }

    #[test]
    fn selector_parses_index_or_name() {
        assert_eq!(AdapterSelector::parse("1"), AdapterSelector::Index(1));
        assert_eq!(
            AdapterSelector::parse("llvmpipe"),
            AdapterSelector::Name("llvmpipe".into())
        );
    }
}
