//! The timing of a measured kernel: its samples' summary and HDR histogram, as every
//! record and training section carries it. A leaf of the result types, so that each
//! section's types can use it without reaching back to the file's.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::types::TimingMethod;

/// Timing of the verified kernel.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Timing {
    /// `gpu_timestamp` (wgpu timestamp queries around each run), `host_clock` (submit to
    /// completion on the host), or `device_event` (another runtime's device events, such
    /// as CUDA events, around each run: files of `runtime` torch).
    pub method: TimingMethod,
    /// Number of timed runs.
    pub samples: u64,
    /// Untimed runs before sampling.
    pub warmup_runs: u64,
    pub median_ns: f64,
    pub p10_ns: f64,
    pub p90_ns: f64,
    pub p99_ns: f64,
    pub min_ns: f64,
    pub max_ns: f64,
    pub mean_ns: f64,
    pub stddev_ns: f64,
    /// Coefficient of variation, stddev / mean.
    pub cv: f64,
    /// Every sample in ns, as an HDR histogram (see `histogram_format`).
    pub histogram: String,
    /// `hdrhistogram-v2-deflate-base64`.
    pub histogram_format: String,
    /// With GPU timestamps: their total over the host time of the same submissions (at
    /// most about 1, lower where launching the runs costs more). Each submission is
    /// checked this way; one whose GPU time exceeds its host time, or falls far below it,
    /// has a wrong timestamp period and sends the run to the host clock. Absent for
    /// host-clock timing and in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_host_ratio: Option<f64>,
}

impl Timing {
    /// The timing of what the sampler measured.
    pub fn from_sampled(s: &crate::measure::Sampled) -> anyhow::Result<Self> {
        let mut t = Timing::from_samples(s.method, &s.samples_ns, s.warmup_runs)?;
        t.gpu_host_ratio = s.clock_check.and_then(|c| c.ratio());
        Ok(t)
    }

    /// The summary and histogram of `samples` (ns), timed with `method`.
    pub fn from_samples(
        method: TimingMethod,
        samples: &[f64],
        warmup_runs: u64,
    ) -> anyhow::Result<Self> {
        let s = crate::stats::summarize(samples)
            .ok_or_else(|| anyhow::anyhow!("no samples were taken"))?;
        let hist = crate::stats::histogram(samples)?;
        Ok(Timing {
            method,
            samples: s.samples,
            warmup_runs,
            median_ns: s.median,
            p10_ns: s.p10,
            p90_ns: s.p90,
            p99_ns: s.p99,
            min_ns: s.min,
            max_ns: s.max,
            mean_ns: s.mean,
            stddev_ns: s.stddev,
            cv: s.cv,
            histogram: crate::stats::encode_histogram(&hist)?,
            histogram_format: crate::stats::HISTOGRAM_FORMAT.into(),
            gpu_host_ratio: None,
        })
    }
}
