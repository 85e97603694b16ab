//! Checks on the adapter before a run relies on a path: the cooperative-matrix kernel is
//! compiled and verified in every layout ([`coopmat`]).

use super::config::KernelSpec;
use super::coop::{check, check_adapter, configs_for, support};
use super::pipeline::GemmPipeline;
use super::problem::Problem;
use crate::gpu::Gpu;
use crate::types::{Layout, Precision, Shape};

/// Compiles the default configuration in every layout and verifies it on a problem that
/// has both an interior block and edge blocks, before a run relies on the path: a driver
/// that rejects or miscompiles the kernel then costs a warning (or, when the path was
/// asked for explicitly, a clear error), not a failed run. `Err` says what went wrong.
pub fn coopmat(gpu: &Gpu) -> Result<(), String> {
    let support = support(gpu)?;
    let limits = gpu.limits();
    let Some(config) = configs_for(&support).into_iter().find(|c| {
        check(*c, &limits).is_ok() && check_adapter(*c, gpu.features(), &gpu.info).is_ok()
    }) else {
        return Err(
            "no configuration of the cooperative-matrix kernel fits the adapter's limits".into(),
        );
    };
    let spec = KernelSpec {
        description: "the cooperative-matrix kernel's check before a run",
        ..KernelSpec::block("coopmat-probe", config)
    };
    let timeout = std::time::Duration::from_secs(60);
    // One block wholly inside C (N a multiple of 4) and edge blocks on both sides.
    let shape = Shape::new(config.bm + 37, config.bn + 20, 2 * config.bk + 5);
    for layout in Layout::ALL {
        let run = || -> anyhow::Result<crate::verify::Check> {
            let pipeline = GemmPipeline::new_with(gpu, &spec, layout, config.variant())?;
            let problem = Problem::with_precision(gpu, layout, shape, 1, Precision::F16)?;
            let binding = problem.bind(gpu, &pipeline)?;
            let (check, _) = problem.verify(
                gpu,
                &pipeline,
                &binding,
                Precision::F16.tolerance(),
                timeout,
            )?;
            gpu.errors.check()?;
            Ok(check)
        };
        match run() {
            Err(e) => return Err(format!("{config} {layout} {shape}: {e:#}")),
            Ok(c) if !c.passed => {
                return Err(format!(
                    "{config} {layout} {shape} failed verification (relative error {:?}, {} \
                     entries unwritten)",
                    c.rel_error, c.unwritten_entries
                ));
            }
            Ok(_) => {}
        }
    }
    Ok(())
}
