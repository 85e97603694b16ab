//! The one table of measured speeds: what every kernel reached in every precision so
//! far in the run. It sizes budgets and timeouts, picks the fastest kernel for later
//! steps, and gives training its best-GEMM yardstick.

use std::collections::HashMap;

use crate::kernels::KernelSpec;
use crate::types::Precision;

/// Median throughputs in FLOP per ns (= GFLOP/s).
#[derive(Clone, Copy, Debug, Default)]
struct Speed {
    /// The latest benchmark's.
    last: f64,
    /// The best benchmark's.
    best: f64,
}

/// Speeds by (kernel name, precision).
#[derive(Clone, Debug, Default)]
pub struct Speeds {
    by: HashMap<(String, Precision), Speed>,
}

impl Speeds {
    /// A benchmark of `kernel` in `precision` ran at `flop_per_ns` (its median).
    pub fn record(&mut self, kernel: &str, precision: Precision, flop_per_ns: f64) {
        if !(flop_per_ns.is_finite() && flop_per_ns > 0.0) {
            return;
        }
        let s = self.by.entry((kernel.to_string(), precision)).or_default();
        s.last = flop_per_ns;
        s.best = s.best.max(flop_per_ns);
    }

    /// The latest speed of `kernel` in `precision`.
    pub fn exact(&self, kernel: &str, precision: Precision) -> Option<f64> {
        self.by
            .get(&(kernel.to_string(), precision))
            .map(|s| s.last)
    }

    /// The latest speed of `kernel` in `precision`, else in another precision (a rough
    /// guess is better than none for a budget).
    pub fn rate(&self, kernel: &str, precision: Precision) -> Option<f64> {
        self.exact(kernel, precision)
            .or_else(|| Precision::ALL.iter().find_map(|&p| self.exact(kernel, p)))
    }

    /// The best median throughput of any benchmark so far, in TFLOP/s.
    pub fn best_tflops(&self) -> Option<f64> {
        self.by
            .values()
            .map(|s| s.best / 1e3)
            .max_by(f64::total_cmp)
    }

    /// The same among benchmarks in `precision`.
    pub fn best_tflops_in(&self, precision: Precision) -> Option<f64> {
        self.by
            .iter()
            .filter(|((_, p), _)| *p == precision)
            .map(|(_, s)| s.best / 1e3)
            .max_by(f64::total_cmp)
    }

    /// The kernel of `kernels` with the best median throughput in any precision, and
    /// that throughput in FLOP per ns.
    pub fn fastest(&self, kernels: &[KernelSpec]) -> Option<(KernelSpec, f64)> {
        kernels
            .iter()
            .filter_map(|k| {
                self.by
                    .iter()
                    .filter(|((name, _), _)| *name == k.name)
                    .map(|(_, s)| s.best)
                    .max_by(f64::total_cmp)
                    .map(|r| (k.clone(), r))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_table_answers_every_question() {
        let kernels = crate::kernels::default_kernels();
        let mut s = Speeds::default();
        assert!(s.best_tflops().is_none() && s.fastest(&kernels).is_none());
        s.record("naive", Precision::F32, 1.0);
        s.record("tuned", Precision::F32, 8.0);
        s.record("tuned", Precision::F32, 6.0);
        s.record("tuned", Precision::F16, 12.0);
        assert_eq!(s.exact("tuned", Precision::F32), Some(6.0), "the latest");
        assert_eq!(
            s.rate("naive", Precision::F16),
            Some(1.0),
            "another precision's"
        );
        assert_eq!(s.best_tflops(), Some(0.012));
        assert_eq!(s.best_tflops_in(Precision::F32), Some(0.008));
        let (k, r) = s.fastest(&kernels).unwrap();
        assert_eq!((k.name.as_str(), r), ("tuned", 12.0));
        s.record("naive", Precision::F32, f64::NAN);
        assert_eq!(
            s.exact("naive", Precision::F32),
            Some(1.0),
            "non-finite ignored"
        );
    }
}
