//! Confidence intervals for throughput ratios, from the HDR histograms kept in result
//! files.
//!
//! Method: the percentile bootstrap (Efron & Tibshirani, *An Introduction to the
//! Bootstrap*, 1993, chapter 13). Each side's samples are resampled with replacement, the
//! median of every resample is taken, and the ratio of the two throughputs (total FLOPs
//! over the sum of the resampled medians, for one or several records) is computed; the
//! interval is the 2.5th and 97.5th percentile of those ratios. The two machines are
//! resampled independently, as they are independent runs. criterion.rs compares two
//! benchmarks the same way. Samples come from the histograms (3 significant digits, so
//! each value is within 0.1% of the sample), which is far below the run-to-run spread.
//!
//! With very few samples (3 on a slow software device) the interval is coarse: it can only
//! take values built from the recorded samples, and it says that the runs were short, not
//! that the machines are equal.

use hdrhistogram::Histogram;
use rand_core::SeedableRng;
use rand_distr::{Beta, Distribution};
use rand_pcg::Pcg64Mcg;

/// Resamples per interval.
pub const RESAMPLES: usize = 2000;

/// Confidence level of the intervals.
pub const CONFIDENCE: f64 = 0.95;

/// Fixed seed, so the same files always give the same interval.
const SEED: u64 = 0x00f1_0bc0_5700_0001;

/// The samples of one record: its FLOPs per run and its times in ns, as distinct values
/// ascending with the count of samples up to each.
#[derive(Clone, Debug)]
pub struct Sampled {
    pub flops: f64,
    /// How many times the record counts in the work whose time is summed (1, or a
    /// model's layers for a workload's block products).
    pub weight: f64,
    values: Vec<f64>,
    cum: Vec<u64>,
    /// The distribution of the (lower) middle order statistic of n uniforms, and of the
    /// gap to the next one for an even n.
    middle: Beta<f64>,
    next: Option<Beta<f64>>,
}

impl Sampled {
    /// The samples held in `h` (each at its bucket's middle value).
    pub fn from_histogram(flops: f64, h: &Histogram<u64>) -> Option<Sampled> {
        let mut cum = 0;
        let (values, cums) = h
            .iter_recorded()
            .map(|v| {
                cum += v.count_at_value();
                (h.median_equivalent(v.value_iterated_to()) as f64, cum)
            })
            .unzip();
        Sampled::new(flops, values, cums)
    }

    /// Samples given directly (ascending or not).
    pub fn from_values(flops: f64, mut values: Vec<f64>) -> Option<Sampled> {
        if values.iter().any(|v| !v.is_finite() || *v <= 0.0) {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let cum = (1..=values.len() as u64).collect();
        Sampled::new(flops, values, cum)
    }

    fn new(flops: f64, values: Vec<f64>, cum: Vec<u64>) -> Option<Sampled> {
        let n = *cum.last()?;
        // The k-th smallest of n uniforms is Beta(k, n + 1 − k); for an even n the next
        // one lies above it by (1 − u) times the smallest of the n − k others, Beta(1, n − k).
        let k = if n % 2 == 1 { n / 2 + 1 } else { n / 2 };
        let middle = Beta::new(k as f64, (n + 1 - k) as f64).ok()?;
        let next = if n % 2 == 0 {
            Some(Beta::new(1.0, (n - k) as f64).ok()?)
        } else {
            None
        };
        Some(Sampled {
            flops,
            weight: 1.0,
            values,
            cum,
            middle,
            next,
        })
    }

    /// The same samples counting `weight` times in a summed time.
    pub fn weighted(mut self, weight: f64) -> Sampled {
        self.weight = weight;
        self
    }

    /// The value at 0-based position `i` of the sorted samples.
    fn at(&self, i: u64) -> f64 {
        let b = self.cum.partition_point(|&c| c <= i);
        self.values[b.min(self.values.len() - 1)]
    }

    /// The median of one resample with replacement. Drawing n indices uniformly and
    /// taking the middle one of them, in sorted order, is drawing the middle order
    /// statistic u of n uniforms and taking the sample at ⌊n·u⌋: the same distribution,
    /// at a cost that does not grow with n (Efron & Tibshirani, section 13.4, resample the
    /// statistic's distribution directly).
    fn resampled_median(&self, rng: &mut Pcg64Mcg) -> f64 {
        let n = *self.cum.last().unwrap_or(&1);
        let index = |u: f64| ((u * n as f64) as u64).min(n - 1);
        let u = self.middle.sample(rng);
        match &self.next {
            None => self.at(index(u)),
            Some(gap) => {
                let v = u + (1.0 - u) * gap.sample(rng);
                0.5 * (self.at(index(u)) + self.at(index(v)))
            }
        }
    }
}

/// A ratio and its interval.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// The percentile-bootstrap interval of `throughput(other) / throughput(base)`, where each
/// side's throughput is its total FLOPs over the sum of its records' medians. `None` when
/// either side has no samples.
pub fn throughput_ratio_interval(base: &[Sampled], other: &[Sampled]) -> Option<Interval> {
    if base.is_empty() || other.is_empty() {
        return None;
    }
    let flops = |s: &[Sampled]| s.iter().map(|x| x.flops).sum::<f64>();
    let (fb, fo) = (flops(base), flops(other));
    let mut rng = Pcg64Mcg::seed_from_u64(SEED);
    let mut ratios = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        let tb: f64 = base.iter().map(|s| s.resampled_median(&mut rng)).sum();
        let to: f64 = other.iter().map(|s| s.resampled_median(&mut rng)).sum();
        ratios.push((fo / to) / (fb / tb));
    }
    ratios.sort_by(f64::total_cmp);
    let alpha = (1.0 - CONFIDENCE) / 2.0;
    let at = |q: f64| ratios[((q * RESAMPLES as f64) as usize).min(RESAMPLES - 1)];
    Some(Interval {
        low: at(alpha),
        high: at(1.0 - alpha),
    })
}

/// The variance of ln(Σ weight · median) of one run's records, from [`RESAMPLES`] bootstrap
/// resamples of each record's samples: how much the run's time for the work would move
/// from its own noise alone. `None` without samples.
pub fn within_run_log_variance(records: &[Sampled]) -> Option<f64> {
    if records.is_empty() {
        return None;
    }
    let mut rng = Pcg64Mcg::seed_from_u64(SEED);
    let logs: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            records
                .iter()
                .map(|s| s.weight * s.resampled_median(&mut rng))
                .sum::<f64>()
                .ln()
        })
        .collect();
    let mean = logs.iter().sum::<f64>() / logs.len() as f64;
    Some(logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (logs.len() - 1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_constant_samples_give_a_point_interval() {
        let a = Sampled::from_values(100.0, vec![10.0; 5]).unwrap();
        let b = Sampled::from_values(100.0, vec![5.0; 7]).unwrap();
        let i = throughput_ratio_interval(&[a], &[b]).unwrap();
        assert_eq!((i.low, i.high), (2.0, 2.0));
    }

    #[test]
    fn interval_brackets_the_ratio_of_medians_and_narrows_with_samples() {
        // Times spread ±10% around 100 ns and 80 ns: the speed ratio of medians is 1.25.
        let spread = |center: f64, n: usize| -> Vec<f64> {
            (0..n)
                .map(|i| center * (0.9 + 0.2 * ((i * 7919) % n) as f64 / n as f64))
                .collect()
        };
        let width = |n: usize| {
            let a = Sampled::from_values(1e6, spread(100.0, n)).unwrap();
            let b = Sampled::from_values(1e6, spread(80.0, n)).unwrap();
            let i = throughput_ratio_interval(&[a], &[b]).unwrap();
            assert!(i.low < 1.25 && 1.25 < i.high, "{i:?}");
            i.high - i.low
        };
        assert!(width(400) < width(20));
    }

    /// The median drawn as an order statistic has the distribution of the median of n
    /// indices drawn with replacement, for odd and even n.
    #[test]
    fn order_statistic_medians_match_brute_force_resampling() {
        use rand_core::RngCore;
        for n in [5usize, 8, 31] {
            let values: Vec<f64> = (0..n).map(|i| (i * i) as f64 + 1.0).collect();
            let s = Sampled::from_values(1.0, values.clone()).unwrap();
            let mut rng = Pcg64Mcg::seed_from_u64(7);
            let draws = 40_000;
            let mut fast: Vec<f64> = (0..draws).map(|_| s.resampled_median(&mut rng)).collect();
            let mut slow: Vec<f64> = (0..draws)
                .map(|_| {
                    let mut pick: Vec<f64> = (0..n)
                        .map(|_| values[(rng.next_u64() % n as u64) as usize])
                        .collect();
                    pick.sort_by(f64::total_cmp);
                    crate::stats::median(&pick)
                })
                .collect();
            fast.sort_by(f64::total_cmp);
            slow.sort_by(f64::total_cmp);
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            let scale = values[n - 1];
            assert!(
                (mean(&fast) - mean(&slow)).abs() < 0.01 * scale,
                "n={n}: {} vs {}",
                mean(&fast),
                mean(&slow)
            );
            for q in [0.025, 0.25, 0.5, 0.75, 0.975] {
                let at = |v: &[f64]| v[(q * draws as f64) as usize];
                assert!(
                    (at(&fast) - at(&slow)).abs() <= 0.03 * scale,
                    "n={n} q={q}: {} vs {}",
                    at(&fast),
                    at(&slow)
                );
            }
        }
    }

    #[test]
    fn histograms_feed_the_bootstrap() {
        let h = crate::stats::histogram(&[1000.0, 1100.0, 1200.0]).unwrap();
        let s = Sampled::from_histogram(2.0, &h).unwrap();
        assert_eq!(s.cum, [1, 2, 3]);
        assert!((s.at(1) - 1100.0).abs() <= 1.1);
        assert!(Sampled::from_values(1.0, vec![]).is_none());
        assert!(Sampled::from_values(1.0, vec![f64::NAN]).is_none());
    }
}
