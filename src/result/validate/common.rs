//! What the checks share: how closely a recomputed figure must match, and the checks of a
//! timing against the histogram it carries.

use crate::result::timing::Timing;
use crate::stats::{self, Ranks, within};

/// Relative slack allowed when recomputing a derived float (sums of a few terms in
/// another order).
pub const REL_SLACK: f64 = 1e-9;

/// The longest time a file may state, in ns (about 11.6 days): far beyond any run, and
/// small enough that the sum of every time in a file stays finite.
pub const MAX_NS: f64 = 1e15;

/// Whether a recomputed figure matches the recorded one. Both must be finite: an infinity
/// (a sum of huge times) matches nothing, so it can never pass a check.
pub fn close(a: f64, b: f64) -> bool {
    a.is_finite() && b.is_finite() && (a - b).abs() <= REL_SLACK * a.abs().max(b.abs())
}

pub fn finite_pos(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

/// A time in ns that a file may state: positive and at most [`MAX_NS`].
pub fn plausible_ns(v: f64) -> bool {
    v.is_finite() && v > 0.0 && v <= MAX_NS
}

/// A timing's own consistency: counts, ordered percentiles, and every figure within what
/// its histogram allows (each sample is in its bucket, so the exact samples' percentiles,
/// mean and standard deviation are bounded by the histogram's).
pub fn timing_problems(t: &Timing) -> Vec<String> {
    let mut out = Vec::new();
    if t.samples == 0 {
        out.push("timing has no samples".into());
    }
    let vals = [
        ("min_ns", t.min_ns),
        ("p10_ns", t.p10_ns),
        ("median_ns", t.median_ns),
        ("p90_ns", t.p90_ns),
        ("p99_ns", t.p99_ns),
        ("max_ns", t.max_ns),
    ];
    for (name, v) in vals.iter().chain(&[("mean_ns", t.mean_ns)]) {
        if !plausible_ns(*v) {
            out.push(format!(
                "{name} = {v} is not a positive number of at most {MAX_NS:e} ns"
            ));
        }
    }
    for w in vals.windows(2) {
        if w[0].1 > w[1].1 {
            out.push(format!(
                "percentiles out of order: {} {} > {} {}",
                w[0].0, w[0].1, w[1].0, w[1].1
            ));
        }
    }
    if !(t.mean_ns >= t.min_ns && t.mean_ns <= t.max_ns) {
        out.push("mean_ns is outside [min_ns, max_ns]".into());
    }
    if !(t.stddev_ns.is_finite() && t.stddev_ns >= 0.0) {
        out.push("stddev_ns is not a non-negative number".into());
    }
    // A negative cv would hide a noisy record: cv is stddev / mean, recomputed.
    let want_cv = if t.mean_ns > 0.0 {
        t.stddev_ns / t.mean_ns
    } else {
        0.0
    };
    if !(t.cv.is_finite() && t.cv >= 0.0 && (t.cv == want_cv || close(t.cv, want_cv))) {
        out.push(format!(
            "cv {} is not stddev_ns / mean_ns ({want_cv})",
            t.cv
        ));
    }
    if t.histogram_format != stats::HISTOGRAM_FORMAT {
        out.push(format!(
            "histogram_format {:?}, expected {:?}",
            t.histogram_format,
            stats::HISTOGRAM_FORMAT
        ));
    }
    match stats::decode_histogram_for(&t.histogram, Some(t.samples)) {
        Err(e) => out.push(format!("{e:#}")),
        Ok(h) if h.len() != t.samples => out.push(format!(
            "histogram holds {} samples, timing.samples says {}",
            h.len(),
            t.samples
        )),
        Ok(h) if h.is_empty() => {}
        Ok(h) => out.extend(against_histogram(t, &Ranks::of(&h))),
    }
    out
}

/// Each figure of a timing against the bounds its histogram gives.
fn against_histogram(t: &Timing, r: &Ranks) -> Vec<String> {
    let mut out = Vec::new();
    let n = r.len();
    let figures = [
        ("min_ns", t.min_ns, r.rank(1)),
        ("p10_ns", t.p10_ns, r.percentile(0.10)),
        ("median_ns", t.median_ns, r.median()),
        ("p90_ns", t.p90_ns, r.percentile(0.90)),
        ("p99_ns", t.p99_ns, r.percentile(0.99)),
        ("max_ns", t.max_ns, r.rank(n)),
        ("mean_ns", t.mean_ns, r.mean()),
    ];
    for (name, v, bounds) in figures {
        if !within(v, bounds) {
            out.push(format!(
                "{name} {v} disagrees with the histogram's samples, which put it within \
                 [{}, {}] ns",
                bounds.0, bounds.1
            ));
        }
    }
    let (sd, slack) = r.stddev();
    if (t.stddev_ns - sd).abs() > slack * (1.0 + REL_SLACK) + REL_SLACK * sd {
        out.push(format!(
            "stddev_ns {} disagrees with the histogram's samples ({sd} ± {slack} ns)",
            t.stddev_ns
        ));
    }
    out
}

/// A median recorded beside a histogram (a repetition's): within the histogram's median
/// bounds.
pub fn median_problem(median_ns: f64, histogram: &str) -> Option<String> {
    match stats::decode_histogram(histogram) {
        Err(e) => Some(format!("histogram: {e:#}")),
        Ok(h) if h.is_empty() => Some("empty histogram".into()),
        Ok(h) => {
            let b = Ranks::of(&h).median();
            (!within(median_ns, b)).then(|| {
                format!(
                    "median {median_ns} ns disagrees with its histogram's samples, which put \
                     it within [{}, {}] ns",
                    b.0, b.1
                )
            })
        }
    }
}
