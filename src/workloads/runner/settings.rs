//! How a run samples: its settings, and the smallest problem it tunes.

use std::time::Duration;

/// Problems below this many FLOPs are not tuned during a run (they use the cache or the
/// default): their time is launch overhead on any device, and tuning them measures
/// noise. `flopcost tune --shape` tunes them when asked.
pub const MIN_TUNE_FLOPS: u64 = 1 << 24;

/// How to sample.
#[derive(Clone, Debug)]
pub struct RunSettings {
    pub seed: u64,
    /// Sampling budget per benchmark.
    pub time_budget: Duration,
    /// Budget for the whole run; budgeted steps stop growing when it would be exceeded.
    pub total_budget: Duration,
    pub max_samples: u64,
    pub min_samples: u64,
    /// Use GPU timestamps when the adapter has them.
    pub timestamps: bool,
    /// Fixed timeout for every GPU wait; `None` derives one from the expected time.
    pub dispatch_timeout: Option<Duration>,
}
