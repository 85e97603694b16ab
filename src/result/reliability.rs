//! Result sections that show how reproducible a run is: the run-to-run spread of each
//! record over `--repeat N`, and throughput second by second under `--sustain SECONDS`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::types::{Layout, Precision, TimingMethod};

/// The id of the MLP training run's step time among the repeatability records.
pub const TRAINING_REPEAT_ID: &str = "training";

/// The suite run `repeats` times: how much each record's median moved between runs.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Repeatability {
    /// Runs of the suite, the first (whose records are the file's `records`) included.
    pub repeats: u32,
    /// A record is flagged when its `spread` exceeds this.
    pub threshold: f64,
    /// One entry per record id that ran at least twice.
    pub records: Vec<RepeatRecord>,
    /// How many records are flagged.
    pub flagged: u32,
}

/// One record over the repeats.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct RepeatRecord {
    /// The record's id.
    pub id: String,
    /// Its median time in each run, in ns, in run order.
    pub medians_ns: Vec<f64>,
    /// Each run's timing histogram (`timing.histogram_format`), in the same order, where
    /// kept: a workload run keeps them, so a comparison can resample within each run as
    /// well as across runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub histograms: Vec<String>,
    /// (max − min) / median of `medians_ns`: the run-to-run range relative to a typical
    /// run.
    pub spread: f64,
    /// `spread > threshold`.
    pub flagged: bool,
}

impl RepeatRecord {
    /// Builds the entry and its derived fields from the medians of each run.
    pub fn new(id: String, medians_ns: Vec<f64>, threshold: f64) -> RepeatRecord {
        let spread = spread(&medians_ns);
        RepeatRecord {
            id,
            medians_ns,
            histograms: Vec::new(),
            spread,
            flagged: spread > threshold,
        }
    }
}

/// (max − min) / median; 0 for fewer than two values.
pub fn spread(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = crate::stats::median(&v);
    if mid > 0.0 {
        (v[v.len() - 1] - v[0]) / mid
    } else {
        0.0
    }
}

/// One GEMM run back to back for a while, its throughput per window of wall-clock time.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Sustain {
    /// The kernel that ran.
    pub kernel: String,
    /// `f32` or `f16`.
    pub precision: Precision,
    pub layout: Layout,
    pub m: u32,
    pub n: u32,
    pub k: u32,
    /// FLOPs of one run, 2·M·N·K.
    pub flops: u64,
    /// `gpu_timestamp` or `host_clock`.
    pub timing_method: TimingMethod,
    /// Seconds asked for.
    pub requested_s: f64,
    /// Length of each window, in seconds.
    pub window_s: f64,
    /// Throughput per window, in order.
    pub windows: Vec<SustainWindow>,
    /// Throughput of the first window, 10¹² FLOP/s.
    pub first_tflops: f64,
    /// Throughput of the last window, 10¹² FLOP/s.
    pub last_tflops: f64,
    /// The slowest window's throughput over the first one's.
    pub min_vs_first: f64,
    /// True when a window ran more than 10% below the first: the device slowed down
    /// under sustained load (thermal or power throttling, or other work).
    pub throttled: bool,
}

/// Throughput threshold below which a window counts as throttled, relative to the first.
pub const THROTTLE_RATIO: f64 = 0.9;

/// One window of a sustained run.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct SustainWindow {
    /// Start of the window, seconds after the sustained run began.
    pub start_s: f64,
    /// Runs timed in the window.
    pub samples: u64,
    /// Median time of those runs, ns.
    pub median_ns: f64,
    /// flops / median_ns / 1000, in 10¹² FLOP/s.
    pub tflops: f64,
}

impl Sustain {
    /// Fills the derived fields from the windows.
    pub fn finish(&mut self) {
        let first = self.windows.first().map_or(0.0, |w| w.tflops);
        let last = self.windows.last().map_or(0.0, |w| w.tflops);
        let min = self
            .windows
            .iter()
            .map(|w| w.tflops)
            .fold(f64::INFINITY, f64::min);
        self.first_tflops = first;
        self.last_tflops = last;
        self.min_vs_first = if first > 0.0 && min.is_finite() {
            min / first
        } else {
            0.0
        };
        self.throttled = self.min_vs_first < THROTTLE_RATIO;
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// Broken invariants of the repeatability and sustain sections.
pub fn problems(file: &super::ResultFile) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(r) = &file.repeatability {
        if r.repeats < 2 {
            out.push("repeatability: repeats must be at least 2".into());
        }
        if !(r.threshold.is_finite() && r.threshold > 0.0) {
            out.push("repeatability: threshold must be a positive number".into());
        }
        for e in &r.records {
            if e.medians_ns.len() < 2 || e.medians_ns.len() > r.repeats as usize {
                out.push(format!(
                    "repeatability {}: {} medians for {} repeats",
                    e.id,
                    e.medians_ns.len(),
                    r.repeats
                ));
            }
            if e.medians_ns.iter().any(|m| !(m.is_finite() && *m > 0.0)) {
                out.push(format!("repeatability {}: a median is not positive", e.id));
            }
            if !close(e.spread, spread(&e.medians_ns)) {
                out.push(format!(
                    "repeatability {}: spread {} != (max − min) / median of the medians",
                    e.id, e.spread
                ));
            }
            if !e.histograms.is_empty() {
                if e.histograms.len() != e.medians_ns.len() {
                    out.push(format!(
                        "repeatability {}: {} histograms for {} medians",
                        e.id,
                        e.histograms.len(),
                        e.medians_ns.len()
                    ));
                }
                for (i, (h, m)) in e.histograms.iter().zip(&e.medians_ns).enumerate() {
                    match crate::stats::decode_histogram(h) {
                        Err(err) => out.push(format!(
                            "repeatability {} run {}: histogram: {err:#}",
                            e.id,
                            i + 1
                        )),
                        Ok(h) if h.is_empty() => out.push(format!(
                            "repeatability {} run {}: empty histogram",
                            e.id,
                            i + 1
                        )),
                        // The histogram keeps 3 significant digits; the median of the
                        // samples lies between its quantiles around the middle.
                        Ok(h) => {
                            let lo = h.value_at_quantile(0.0) as f64;
                            let hi = h.highest_equivalent(h.value_at_quantile(1.0)) as f64;
                            if *m < 0.999 * lo || *m > 1.001 * hi {
                                out.push(format!(
                                    "repeatability {} run {}: median {m} ns is outside its \
                                     histogram ({lo}–{hi} ns)",
                                    e.id,
                                    i + 1
                                ));
                            }
                        }
                    }
                }
            }
            if e.flagged != (e.spread > r.threshold) {
                out.push(format!(
                    "repeatability {}: flagged disagrees with spread and threshold",
                    e.id
                ));
            }
        }
        let flagged = r.records.iter().filter(|e| e.flagged).count();
        if flagged != r.flagged as usize {
            out.push(format!(
                "repeatability: flagged says {}, {flagged} records are flagged",
                r.flagged
            ));
        }
    }
    if let Some(s) = &file.sustain {
        let want = 2 * u64::from(s.m) * u64::from(s.n) * u64::from(s.k);
        if s.flops != want {
            out.push(format!("sustain: flops {} != 2·m·n·k = {want}", s.flops));
        }
        if s.windows.is_empty() {
            out.push("sustain: no windows".into());
        }
        for (i, w) in s.windows.iter().enumerate() {
            if !(w.median_ns.is_finite() && w.median_ns > 0.0) || w.samples == 0 {
                out.push(format!("sustain window {i}: no positive median"));
            } else if !close(w.tflops, s.flops as f64 / w.median_ns / 1e3) {
                out.push(format!(
                    "sustain window {i}: tflops {} != flops / median_ns",
                    w.tflops
                ));
            }
        }
        let mut again = s.clone();
        again.finish();
        if !close(again.first_tflops, s.first_tflops)
            || !close(again.last_tflops, s.last_tflops)
            || !close(again.min_vs_first, s.min_vs_first)
            || again.throttled != s.throttled
        {
            out.push(
                "sustain: first/last/min_vs_first/throttled do not follow from the windows".into(),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_range_over_median() {
        assert_eq!(spread(&[100.0]), 0.0);
        assert!((spread(&[100.0, 110.0, 105.0]) - 10.0 / 105.0).abs() < 1e-12);
        let r = RepeatRecord::new("x".into(), vec![100.0, 120.0], 0.05);
        assert!(r.flagged && (r.spread - 20.0 / 110.0).abs() < 1e-12);
    }

    #[test]
    fn sustain_flags_a_slowdown() {
        let w = |start_s: f64, tflops: f64| SustainWindow {
            start_s,
            samples: 3,
            median_ns: 1.0,
            tflops,
        };
        let mut s = Sustain {
            kernel: "k".into(),
            precision: Precision::F32,
            layout: Layout::Nn,
            m: 1,
            n: 1,
            k: 1,
            flops: 2,
            timing_method: TimingMethod::HostClock,
            requested_s: 3.0,
            window_s: 1.0,
            windows: vec![w(0.0, 10.0), w(1.0, 9.5), w(2.0, 8.0)],
            first_tflops: 0.0,
            last_tflops: 0.0,
            min_vs_first: 0.0,
            throttled: false,
        };
        s.finish();
        assert_eq!((s.first_tflops, s.last_tflops), (10.0, 8.0));
        assert!(s.throttled && (s.min_vs_first - 0.8).abs() < 1e-12);
        s.windows.truncate(2);
        s.finish();
        assert!(!s.throttled);
    }
}
