//! Budgets and timeouts: how long a benchmark is expected to take (from the speeds
//! measured so far), how much of the run's budget is left, how long the CPU reference
//! costs, and how long the first wait on a kernel may take.

use std::time::{Duration, Instant};

use super::settings::RunSettings;
use super::speeds::Speeds;
use crate::measure::{MIN_TIMEOUT, Timeout};
use crate::types::{Precision, Shape};
use crate::verify;

/// The most a run spends tuning by default (`--tune-budget` overrides it).
pub const DEFAULT_TUNE_BUDGET: Duration = Duration::from_secs(120);

/// The run's clock and budgets.
#[derive(Clone, Debug)]
pub struct Schedule {
    started: Instant,
    total: Duration,
    /// Measured cost of the CPU reference, ns per multiply-add.
    ref_ns_per_mac: f64,
    /// Time the tuned kernel may spend tuning, and what it has spent.
    pub tune_budget: Duration,
    pub tune_used: Duration,
}

impl Schedule {
    pub fn new(settings: &RunSettings) -> Schedule {
        Schedule {
            started: Instant::now(),
            total: settings.total_budget,
            ref_ns_per_mac: 1.0,
            tune_budget: (settings.total_budget / 4).min(DEFAULT_TUNE_BUDGET),
            tune_used: Duration::ZERO,
        }
    }

    /// Starts the run's clock again (another repetition).
    pub fn restart(&mut self) {
        self.started = Instant::now();
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// What is left of the whole run's budget.
    pub fn remaining(&self) -> Duration {
        self.total.saturating_sub(self.started.elapsed())
    }

    /// The point in the run (from its start) by which a step with `share` of the budget
    /// must be done.
    pub fn deadline(&self, share: f64) -> Duration {
        self.total.mul_f64(share)
    }

    /// What is left for tuning.
    pub fn tune_left(&self) -> Duration {
        self.tune_budget.saturating_sub(self.tune_used)
    }

    /// The CPU reference computed `macs` multiply-adds in `took`.
    pub fn note_reference(&mut self, macs: f64, took: Duration) {
        if macs > 1e6 {
            self.ref_ns_per_mac = took.as_nanos() as f64 / macs;
        }
    }

    /// Expected time of one benchmark of `shape` with `kernel` in each of `precisions`
    /// (verification, warm-up and sampling), if its speed is known.
    pub fn estimate(
        &self,
        speeds: &Speeds,
        settings: &RunSettings,
        kernel: &str,
        shape: Shape,
        precisions: &[Precision],
    ) -> Option<Duration> {
        let mut total = Duration::ZERO;
        for &p in precisions {
            let rate = speeds.rate(kernel, p)?;
            let d = shape.flops() as f64 / rate * 1e-9;
            let budget = settings.time_budget.as_secs_f64();
            let sampling = budget.max(d * settings.min_samples.min(3) as f64);
            total += Duration::from_secs_f64(3.0 * d + sampling);
        }
        Some(total)
    }

    /// Expected time of the CPU reference of a problem in `precisions` precisions.
    /// [`Schedule::reference_estimate`] of a batch of products in one precision.
    pub fn reference_estimate_batched(&self, shape: Shape, batch: crate::types::Batch) -> Duration {
        let checked = verify::checked_entries_batched(shape, batch) * u64::from(shape.k);
        Duration::from_secs_f64(checked as f64 * self.ref_ns_per_mac * 1e-9)
    }

    pub fn reference_estimate(&self, shape: Shape, precisions: usize) -> Duration {
        let checked = verify::checked_entries(shape) * u64::from(shape.k);
        Duration::from_secs_f64(checked as f64 * self.ref_ns_per_mac * 1e-9 * precisions as f64)
    }
}

/// How every wait after the first is bounded: `--dispatch-timeout`, else derived from
/// the runs before it.
pub fn timeout_policy(settings: &RunSettings) -> Timeout {
    settings
        .dispatch_timeout
        .map_or(Timeout::Derived, Timeout::Fixed)
}

/// The bound of the first wait on `kernel` (its verification run): ten times what its
/// known speed predicts, at least [`MIN_TIMEOUT`]; for a kernel never run, room for
/// shader compilation and a slow device (0.1 GFLOP/s, a tenth of a software rasteriser).
pub fn first_timeout(
    speeds: &Speeds,
    settings: &RunSettings,
    kernel: &str,
    precision: Precision,
    flops: u64,
) -> Duration {
    if let Some(t) = settings.dispatch_timeout {
        return t;
    }
    match speeds.exact(kernel, precision) {
        Some(rate) => Duration::from_secs_f64(10.0 * flops as f64 / rate * 1e-9).max(MIN_TIMEOUT),
        None => Duration::from_secs_f64(60.0 + flops as f64 / 1e8),
    }
}
