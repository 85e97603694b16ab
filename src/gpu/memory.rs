//! How much memory the device has. wgpu does not say; on Vulkan the driver does, through
//! the physical device's memory heaps, read here through wgpu's access to the underlying
//! API. Elsewhere the answer is unknown and only the buffer limits apply before
//! allocation (an allocation that fails is still caught, as an out-of-memory error).

/// Size of the largest device-local memory heap in bytes, where the backend reports it.
pub fn device_memory_bytes(adapter: &wgpu::Adapter) -> Option<u64> {
    if adapter.get_info().backend != wgpu::Backend::Vulkan {
        return None;
    }
    vulkan_heap(adapter)
}

#[cfg(any(
    windows,
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd"
))]
fn vulkan_heap(adapter: &wgpu::Adapter) -> Option<u64> {
    // VK_MEMORY_HEAP_DEVICE_LOCAL_BIT.
    const DEVICE_LOCAL: u32 = 0x1;
    // SAFETY: only reads properties of the physical device through the instance wgpu
    // created it with; nothing is created, destroyed or kept.
    let hal = unsafe { adapter.as_hal::<wgpu::hal::api::Vulkan>() }?;
    let props = unsafe {
        hal.shared_instance()
            .raw_instance()
            .get_physical_device_memory_properties(hal.raw_physical_device())
    };
    props
        .memory_heaps
        .iter()
        .take(props.memory_heap_count as usize)
        .filter(|h| h.flags.as_raw() & DEVICE_LOCAL != 0)
        .map(|h| h.size)
        .max()
}

#[cfg(not(any(
    windows,
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd"
)))]
fn vulkan_heap(_adapter: &wgpu::Adapter) -> Option<u64> {
    None
}

/// Checks that `bytes` of buffers fit in `memory` (leaving a tenth for the driver and
/// the rest of the system); `Err` names the figures.
pub fn check_fits_memory(what: &str, bytes: u64, memory: Option<u64>) -> Result<(), String> {
    match memory {
        Some(m) if bytes > m / 10 * 9 => Err(format!(
            "{what} needs {} of GPU memory; the adapter's device memory is {} (90% usable)",
            crate::util::fmt_bytes(bytes),
            crate::util::fmt_bytes(m)
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_check_names_both_figures() {
        assert!(check_fits_memory("x", 100, None).is_ok());
        assert!(check_fits_memory("x", 800, Some(1000)).is_ok());
        let e = check_fits_memory("shape 8x8x8", 950, Some(1000)).unwrap_err();
        assert!(
            e.contains("shape 8x8x8") && e.contains("device memory"),
            "{e}"
        );
    }
}
