//! Measured power as result files hold it (re-exported by `result`): the sampler's source
//! (`power`), and the figure of each timed phase (a record's sampling, the MLP training).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Power measured during one timed phase, from the adapter's own sensor; or, with
/// `none_reason`, why the phase has no figure (never an interpolated guess).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct PhasePower {
    /// The source: `hwmon`, `nvidia-smi` or `command` (see the file's `power.method`).
    pub source: String,
    /// Samples taken during the phase.
    pub samples: u64,
    /// Wall time of the phase, seconds (warm-up and every timed run of it).
    pub seconds: f64,
    /// Mean of the samples, watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_watts: Option<f64>,
    /// `mean_watts · seconds`, joules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_joules: Option<f64>,
    /// Measured energy per 10¹⁵ FLOP at the phase's median throughput:
    /// `mean_watts · 1000 / tflops`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joules_per_pflop: Option<f64>,
    /// Why the phase has no figure (too short for the sensor, the sensor gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub none_reason: Option<String>,
}

impl PhasePower {
    /// With its joules per PFLOP at `tflops`, the phase's median throughput.
    pub fn at_tflops(mut self, tflops: f64) -> PhasePower {
        self.joules_per_pflop = self
            .mean_watts
            .filter(|_| tflops > 0.0 && tflops.is_finite())
            .map(|w| w * 1e3 / tflops);
        self
    }

    /// No figure, for `reason`.
    pub fn none(source: &str, reason: &str) -> PhasePower {
        PhasePower {
            source: source.into(),
            samples: 0,
            seconds: 0.0,
            mean_watts: None,
            energy_joules: None,
            joules_per_pflop: None,
            none_reason: Some(reason.into()),
        }
    }
}

/// Where a run's measured power came from.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct PowerSection {
    /// `hwmon`, `nvidia-smi` or `command`.
    pub source: String,
    /// What was read, and where, with its unit and averaging.
    pub method: String,
    /// The sensor's averaging window, milliseconds, where known: shorter phases get no
    /// figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_ms: Option<f64>,
    /// Sampling interval, milliseconds.
    pub interval_ms: f64,
    /// Samples taken in the whole run.
    pub samples: u64,
    /// Mean power of the idle adapter before the first phase, watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_watts: Option<f64>,
    /// Why there is no idle figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_none_reason: Option<String>,
    /// The catalog's board power the readings were checked against, watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_watts: Option<f64>,
}
