//! The suite's budgeted steps: square products that grow while the budget lasts, and the
//! training triplets of a block of layers at a token batch chosen for the device and the
//! budget.

use std::time::Duration;

use anyhow::Result;

use super::{Observer, Runner, Tee};
use crate::kernels::KernelSpec;
use crate::result::TripletBlock;
use crate::types::{Layout, Precision, Shape};
use crate::util::fmt_sig;
use crate::workloads::triplet::{self, BlockRecord};
use crate::workloads::{Block, Case, shard};

impl Runner<'_> {
    pub(super) fn run_squares(
        &mut self,
        sizes: &[u32],
        layouts: &[Layout],
        share: f64,
        obs: &mut dyn Observer,
    ) -> Result<()> {
        let limits = self.gpu.limits();
        let deadline = self.schedule.deadline(share);
        let mut active: Vec<KernelSpec> = self.kernels.clone();
        obs.planned((sizes.len() * layouts.len() * active.len()) as u64);
        for (si, &size) in sizes.iter().enumerate() {
            let shape = Shape::cube(size);
            for &layout in layouts {
                let label = format!("{layout} {shape}");
                if let Err(why) = shard::check_unsplit(&limits, shape, &active) {
                    let left = (sizes.len() - si) * layouts.len() * active.len();
                    for _ in 0..left {
                        obs.skipped(&label, &why);
                    }
                    obs.warn(format!("square sizes from {size} on were skipped: {why}"));
                    return Ok(());
                }
                let mut run_now = Vec::new();
                for k in std::mem::take(&mut active) {
                    let est = self.estimate(&k.name, shape).unwrap_or_default()
                        + self
                            .schedule
                            .reference_estimate(shape, self.precisions.len());
                    if si > 0 && self.schedule.elapsed() + est > deadline {
                        let left = (sizes.len() - si) * layouts.len();
                        for _ in 0..left {
                            obs.skipped(&format!("{label} {}", k.name), "over the time budget");
                        }
                        obs.warn(format!(
                            "kernel '{}': square sizes from {size} on were skipped, they would \
                             take about {:.0} s more than the total budget allows; raise \
                             --total-budget to run them",
                            k.name,
                            est.as_secs_f64()
                        ));
                    } else {
                        run_now.push(k);
                    }
                }
                if run_now.is_empty() {
                    return Ok(());
                }
                self.run_case(&Case::new(layout, shape), &run_now, obs)?;
                active = run_now;
            }
        }
        Ok(())
    }

    /// Expected time of one benchmark of `shape` with `kernel` in the run's precisions.
    fn estimate(&self, kernel: &str, shape: Shape) -> Option<Duration> {
        self.schedule.estimate(
            &self.speeds,
            &self.settings,
            kernel,
            shape,
            &self.precisions,
        )
    }

    /// Runs the three products of every layer of a block and reports (and returns) the
    /// block's training-step cost per kernel.
    pub fn run_layers(
        &mut self,
        block: &Block,
        tokens: Option<u32>,
        fastest_only: bool,
        budget_share: f64,
        obs: &mut dyn Observer,
    ) -> Result<Vec<TripletBlock>> {
        let limits = self.gpu.limits();
        // Host memory bounds the inputs generated there; device memory, where the driver
        // reports it, bounds the buffers.
        let memory = shard::memory_budget().min(
            crate::gpu::memory::device_memory_bytes(&self.gpu.adapter)
                .map_or(u64::MAX, |m| m / 10 * 9),
        );
        let mut kernels = self.kernels.clone();
        if fastest_only
            && kernels.len() > 1
            && let Some((fastest, rate)) = self.fastest_kernel()
        {
            obs.note(format!(
                "{}: running kernel '{}' only, the fastest so far ({} TFLOP/s); pass --kernel to \
                 choose kernels",
                block.name,
                fastest.name,
                fmt_sig(rate / 1e3, 3)
            ));
            kernels = vec![fastest];
        }
        let operand_limit = self.operand_limit;
        let fits = |b: u32| {
            block.layers.iter().all(|l| {
                l.triplet(b).iter().all(|(_, s)| {
                    shard::check(&limits, *s, &kernels, memory).is_ok()
                        && shard::plan(*s, operand_limit).is_ok()
                })
            })
        };
        let tokens = match tokens {
            Some(b) => b,
            None => self.choose_tokens(block, &kernels, budget_share, fits, obs),
        };
        obs.planned((block.layers.len() * 3 * kernels.len()) as u64);
        let mut tee = Tee {
            inner: obs,
            records: Vec::new(),
        };
        let mut done: Vec<BlockRecord> = Vec::new();
        for (li, layer) in block.layers.iter().enumerate() {
            for (layout, shape) in layer.triplet(tokens) {
                let role = format!(
                    "{} {} {}→{} B={tokens}: {}",
                    block.name,
                    layer.name,
                    layer.d_in,
                    layer.d_out,
                    layout.role()
                );
                if let Err(why) = shard::check(&limits, shape, &kernels, memory)
                    .and_then(|_| shard::plan(shape, operand_limit))
                {
                    for k in &kernels {
                        tee.skipped(&format!("{layout} {shape} {}", k.name), &why);
                    }
                    tee.warn(format!("{role} was skipped: {why}"));
                    continue;
                }
                let case = Case {
                    layout,
                    shape,
                    batch: crate::types::Batch::ONE,
                    role: Some(role),
                };
                let before = tee.records.len();
                self.run_case(&case, &kernels, &mut tee)?;
                for r in &tee.records[before..] {
                    done.push((li, layout, r.clone()));
                }
            }
        }
        let summaries = triplet::summarize(block, tokens, &done);
        for summary in &summaries {
            tee.inner.triplets(summary)?;
        }
        Ok(summaries)
    }

    /// The largest power of two from 16 to 8192 tokens whose products fit the device and
    /// this block's share of the budget left (256 when no speed is known yet).
    fn choose_tokens(
        &self,
        block: &Block,
        kernels: &[KernelSpec],
        budget_share: f64,
        fits: impl Fn(u32) -> bool,
        obs: &mut dyn Observer,
    ) -> u32 {
        let budget = self.schedule.remaining().mul_f64(budget_share);
        let known = kernels
            .iter()
            .all(|k| self.speeds.rate(&k.name, Precision::F32).is_some());
        let chosen = (4..=13).rev().map(|p| 1u32 << p).find(|&b| {
            fits(b)
                && known
                && block
                    .layers
                    .iter()
                    .flat_map(|l| l.triplet(b))
                    .map(|(_, s)| {
                        kernels
                            .iter()
                            .map(|k| self.estimate(&k.name, s).unwrap_or_default())
                            .sum::<Duration>()
                            + self.schedule.reference_estimate(s, self.precisions.len())
                    })
                    .sum::<Duration>()
                    <= budget
        });
        let b = chosen.unwrap_or(if known { 16 } else { 256 });
        let why = match chosen {
            Some(_) => format!(
                "the largest power of two that fits the device and {} s of the budget",
                budget.as_secs()
            ),
            None if known => {
                "the smallest batch tried; even it needs more than the budget left".to_string()
            }
            None => "no kernel speed is known yet to size the batch".to_string(),
        };
        obs.note(format!(
            "{}: {b} tokens per step ({why}); set it with --tokens",
            block.name
        ));
        b
    }
}
