//! The interval of a speed ratio between two machines that each ran a piece of work in
//! several independent repetitions.
//!
//! Method. The unit of observation is a repetition: each one ran the whole work with its
//! own warm-up, so machine state that changes between runs (clocks, placement, other
//! load) shows between repetitions, not within one; Kalibera and Jones ("Rigorous
//! Benchmarking in Reasonable Time", ISMM 2013) show that intervals from one run's
//! samples alone are far too narrow for such differences. Each side's time for the work
//! is taken on the log scale, x_r = ln T_r for repetitions r = 1..n. Its mean has
//! variance max(s², w²) / n, where s² is the variance between the repetitions (n − 1
//! degrees of freedom) and w² the variance of ln T within one run, from the percentile
//! bootstrap of its samples (Efron and Tibshirani 1993, ch. 13): a floor, so that a few
//! repetitions that happen to agree do not claim more than one run's noise allows. The
//! log speed ratio ln(T_a / T_b) has the sum of the two variances, and the 95% interval
//! is ±t·√var with Student's t at the Welch–Satterthwaite degrees of freedom (Welch,
//! Biometrika 1947). A side with one repetition has only its within-run variance, and
//! the interval then says nothing about run-to-run variation; callers say so.

use super::bootstrap::{Interval, Sampled, within_run_log_variance};

/// Confidence level of the intervals.
pub const CONFIDENCE: f64 = 0.95;

/// One machine's measurements of one piece of work.
#[derive(Clone, Debug)]
pub struct Repeated {
    /// The work's time in each repetition, ns (the sum of its products' medians).
    pub times_ns: Vec<f64>,
    /// The samples of each product in one repetition, for the within-run variance; may
    /// be empty (then only the repetitions count).
    pub within: Vec<Sampled>,
}

/// ln T's mean, the variance of that mean, and its degrees of freedom (∞ for one
/// repetition, whose variance is the within-run one).
fn side(r: &Repeated) -> Option<(f64, f64, f64)> {
    let logs: Vec<f64> = r
        .times_ns
        .iter()
        .filter(|t| t.is_finite() && **t > 0.0)
        .map(|t| t.ln())
        .collect();
    let n = logs.len();
    if n == 0 || n != r.times_ns.len() {
        return None;
    }
    let mean = logs.iter().sum::<f64>() / n as f64;
    let within = within_run_log_variance(&r.within).unwrap_or(0.0);
    if n == 1 {
        return Some((mean, within, f64::INFINITY));
    }
    let between = logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    Some((mean, between.max(within) / n as f64, (n - 1) as f64))
}

/// The speed of `b` relative to `a` (T_a / T_b, from the mean log times) and its 95%
/// interval; `None` when either side has no usable time.
pub fn speed_ratio(a: &Repeated, b: &Repeated) -> Option<(f64, Interval)> {
    let (ma, va, da) = side(a)?;
    let (mb, vb, db) = side(b)?;
    let d = ma - mb;
    let var = va + vb;
    // Welch–Satterthwaite; an infinite df contributes nothing to the denominator.
    let term = |v: f64, df: f64| if df.is_finite() { v * v / df } else { 0.0 };
    let denom = term(va, da) + term(vb, db);
    let df = if denom > 0.0 {
        var * var / denom
    } else {
        f64::INFINITY
    };
    let half = t_quantile(0.5 + CONFIDENCE / 2.0, df) * var.sqrt();
    Some((
        d.exp(),
        Interval {
            low: (d - half).exp(),
            high: (d + half).exp(),
        },
    ))
}

/// The standard normal quantile (Acklam's rational approximation, relative error below
/// 1.2e-9).
#[allow(clippy::excessive_precision)]
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383577518672690e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let p_low = 0.02425;
    if p < p_low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - p_low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

/// Student's t quantile for `df` degrees of freedom (any df ≥ 1, not only whole ones):
/// exact for df ≤ 2, interpolated between 2 and 3, else the Cornish–Fisher expansion of
/// Abramowitz and Stegun 26.7.5 (error under 1e-3 at df = 3, far less above).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if !df.is_finite() {
        return normal_quantile(p);
    }
    let df = df.max(1.0);
    let exact = |p: f64, df: f64| -> f64 {
        if df <= 1.0 {
            (std::f64::consts::PI * (p - 0.5)).tan()
        } else {
            (2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt()
        }
    };
    let expansion = |p: f64, n: f64| -> f64 {
        let x = normal_quantile(p);
        let g1 = (x.powi(3) + x) / 4.0;
        let g2 = (5.0 * x.powi(5) + 16.0 * x.powi(3) + 3.0 * x) / 96.0;
        let g3 = (3.0 * x.powi(7) + 19.0 * x.powi(5) + 17.0 * x.powi(3) - 15.0 * x) / 384.0;
        let g4 = (79.0 * x.powi(9) + 776.0 * x.powi(7) + 1482.0 * x.powi(5)
            - 1920.0 * x.powi(3)
            - 945.0 * x)
            / 92160.0;
        x + g1 / n + g2 / (n * n) + g3 / n.powi(3) + g4 / n.powi(4)
    };
    if df < 2.0 {
        let f = df - 1.0;
        (1.0 - f) * exact(p, 1.0) + f * exact(p, 2.0)
    } else if df < 3.0 {
        let f = df - 2.0;
        (1.0 - f) * exact(p, 2.0) + f * expansion(p, 3.0)
    } else {
        expansion(p, df)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_the_tables() {
        // Two-sided 95%: the 0.975 quantile.
        for (df, want) in [
            (1.0, 12.706),
            (2.0, 4.303),
            (3.0, 3.182),
            (4.0, 2.776),
            (10.0, 2.228),
            (30.0, 2.042),
            (f64::INFINITY, 1.960),
        ] {
            let got = t_quantile(0.975, df);
            assert!((got - want).abs() < 0.01, "df {df}: {got} vs {want}");
        }
        assert!((normal_quantile(0.5)).abs() < 1e-12);
    }

    fn rep(times: &[f64]) -> Repeated {
        Repeated {
            times_ns: times.to_vec(),
            within: Vec::new(),
        }
    }

    #[test]
    fn doubled_times_read_half_the_speed_with_an_interval_excluding_one() {
        let a = rep(&[100.0, 104.0, 97.0]);
        let b = rep(&[200.0, 208.0, 194.0]);
        let (r, i) = speed_ratio(&a, &b).unwrap();
        assert!((r - 0.5).abs() < 1e-12, "{r}");
        assert!(i.low < 0.5 && 0.5 < i.high && i.high < 1.0, "{i:?}");
    }

    #[test]
    fn repetitions_that_disagree_widen_the_interval() {
        let a = rep(&[100.0, 101.0, 99.0]);
        let steady = speed_ratio(&a, &rep(&[100.0, 102.0, 98.0])).unwrap().1;
        let noisy = speed_ratio(&a, &rep(&[80.0, 120.0, 100.0])).unwrap().1;
        assert!(steady.low < 1.0 && 1.0 < steady.high);
        assert!(noisy.high - noisy.low > 3.0 * (steady.high - steady.low));
    }

    #[test]
    fn within_run_noise_is_a_floor() {
        // Three identical repetitions would claim a zero-width interval; the samples of
        // a run that spread ±20% do not allow it.
        let spread: Vec<f64> = (0..40).map(|i| 80.0 + i as f64).collect();
        let s = Sampled::from_values(1e6, spread).unwrap();
        let a = Repeated {
            times_ns: vec![100.0; 3],
            within: vec![s.clone()],
        };
        let b = Repeated {
            times_ns: vec![100.0; 3],
            within: vec![s],
        };
        let (r, i) = speed_ratio(&a, &b).unwrap();
        assert_eq!(r, 1.0);
        assert!(i.low < 0.97 && i.high > 1.03, "{i:?}");
        assert!(speed_ratio(&rep(&[]), &rep(&[1.0])).is_none());
        assert!(speed_ratio(&rep(&[0.0]), &rep(&[1.0])).is_none());
    }
}
