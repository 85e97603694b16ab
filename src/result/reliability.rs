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
    /// Power over the whole sustained run, where the run read a sensor; its joules per
    /// PFLOP are at the median of the windows' throughputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<super::power::PhasePower>,
}

impl Sustain {
    /// The median of the windows' throughputs, 10¹² FLOP/s (0 without windows).
    pub fn median_window_tflops(&self) -> f64 {
        let mut t: Vec<f64> = self.windows.iter().map(|w| w.tflops).collect();
        t.sort_by(f64::total_cmp);
        match t.len() {
            0 => 0.0,
            n if n % 2 == 1 => t[n / 2],
            n => 0.5 * (t[n / 2 - 1] + t[n / 2]),
        }
    }
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
            power: None,
        };
        s.finish();
        assert_eq!((s.first_tflops, s.last_tflops), (10.0, 8.0));
        assert!(s.throttled && (s.min_vs_first - 0.8).abs() < 1e-12);
        s.windows.truncate(2);
        s.finish();
        assert!(!s.throttled);
    }
}
