//! What makes a run's input bad on the chosen adapter, found before a file or a device
//! exists: kernels that do not fit its limits, explicit shapes or token batches that do
//! not fit its buffers or memory, training sizes that do not fit.

use anyhow::Result;

use crate::cli::RunPlan;
use crate::error::input_error;
use crate::workloads::{Step, shard};

pub fn check(
    plan: &RunPlan,
    limits: &wgpu::Limits,
    adapter: &wgpu::Adapter,
    info: &wgpu::AdapterInfo,
) -> Result<()> {
    for k in &plan.kernels {
        crate::kernels::registry::check(k, limits).map_err(|why| {
            input_error(format!(
                "kernel '{}' does not fit adapter '{}': {why}",
                k.name, info.name
            ))
        })?;
    }
    let device_memory = crate::gpu::memory::device_memory_bytes(adapter);
    for s in &plan.explicit_shapes {
        shard::check_unsplit(limits, *s, &plan.kernels).map_err(input_error)?;
        crate::gpu::memory::check_fits_memory(
            &format!("shape {s}"),
            shard::product_bytes(*s),
            device_memory,
        )
        .map_err(input_error)?;
    }
    // An explicit --tokens must fit (split into pieces if need be); so must explicit
    // sizes of a training run.
    let memory = shard::memory_budget().min(device_memory.map_or(u64::MAX, |m| m / 10 * 9));
    for step in &plan.suite.steps {
        match step {
            Step::Layers {
                block,
                tokens: Some(b),
                ..
            } if plan.tokens.is_some() => {
                for layer in &block.layers {
                    for (_, shape) in layer.triplet(*b) {
                        shard::check(limits, shape, &plan.kernels, memory).map_err(|why| {
                            input_error(format!(
                                "--tokens {b}: {} {} does not fit adapter '{}': {why}",
                                block.name, layer.name, info.name
                            ))
                        })?;
                    }
                }
            }
            Step::Train(options) => {
                options.resolve(limits, info.device_type, &plan.kernels, plan.settings.seed)?;
            }
            _ => {}
        }
    }
    Ok(())
}
