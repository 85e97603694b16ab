//! The measurement contract: every timed loop of flopcost (benchmarks, tuning, peaks,
//! sustained load, training) goes through one [`Sampler`].
//!
//! The sampler owns the rules, and only the rules: how long to warm up, how many runs to
//! put in one submission, when to stop (time budget or sample cap, never under the
//! minimum), how long any wait may take (the watchdog), and what to do when GPU
//! timestamps cannot be trusted. It drives the work through the [`Target`] trait and
//! reads time from a [`Clock`], so every rule is unit-tested against a fake device and a
//! fake clock ([`fake`]) without a GPU; [`gpu::GpuTarget`] is the real target.
//!
//! Timestamps are checked twice: each run's end must come after its start, and the sum
//! of a batch's GPU times must agree with the host time of the same submission (GPU time
//! cannot exceed it; far below it, beyond what launching the runs can cost, means the
//! timestamp period is wrong). On either failure the one fallback policy applies: a
//! warning, the host clock for the rest of the run, and the measurement in progress
//! taken again on the host clock (training, whose steps cannot be run twice, keeps the
//! host time of the affected batch). Models: cubecl's `Benchmark` (prepare / execute /
//! sync) and hyperfine's `Executor` with its `MockExecutor`.

pub mod fake;
pub mod gpu;
pub mod power;

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::types::TimingMethod;

/// The most runs one submission may hold (two timestamp queries each; wgpu allows 4096
/// queries per set).
pub const MAX_BATCH: usize = 1024;

/// No wait derived from an expected time is shorter than this: a loaded machine or a
/// driver compiling a shader can stall for seconds.
pub const MIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A wait may take this many times what the runs before it predict.
pub const TIMEOUT_FACTOR: u32 = 10;

/// Warm-up never runs more often than this.
pub const MAX_WARMUP_RUNS: u64 = 50;

/// Slack of the "GPU time ≤ host time" check: the two clocks are read at different
/// moments and with different resolutions.
const ABOVE_HOST_SLACK: f64 = 1.10;
const ABOVE_HOST_SLACK_NS: f64 = 1e6;

/// What launching runs may cost on the host beyond their GPU time: a fixed part per
/// submission (encoding, submit, the wait, reading the timestamps back) and a part per
/// run. A batch whose GPU time is below half its host time *and* further below it than
/// this has timestamps on the wrong scale.
const LAUNCH_FIXED_NS: f64 = 20e6;
const LAUNCH_PER_RUN_NS: f64 = 2e6;

/// The work under measurement: one unit of GPU work that can be run several times in
/// one submission.
pub trait Target {
    /// Runs the work `runs` times back to back in one submission and waits for it (at
    /// most `timeout`, else a [`crate::gpu::DispatchTimeout`] error). With `timestamps`,
    /// each run is bracketed by timestamp queries and their raw values are returned, in
    /// device ticks.
    fn submit(
        &mut self,
        runs: usize,
        timestamps: bool,
        timeout: Duration,
    ) -> Result<Option<Vec<(u64, u64)>>>;

    /// Nanoseconds per timestamp tick.
    fn period_ns(&self) -> f64;
}

/// Where the sampler reads the time.
pub trait Clock {
    /// Time since an arbitrary, fixed origin.
    fn now(&self) -> Duration;
}

/// The host's monotonic clock.
pub struct HostClock(Instant);

impl Default for HostClock {
    fn default() -> HostClock {
        HostClock(Instant::now())
    }
}

impl Clock for HostClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

/// How to bound each wait.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Timeout {
    /// The same bound for every wait (`--dispatch-timeout`).
    Fixed(Duration),
    /// [`TIMEOUT_FACTOR`] times what the runs so far predict, at least [`MIN_TIMEOUT`].
    Derived,
}

impl Timeout {
    /// The bound of a wait on `runs` runs expected to take `per_run` each.
    pub fn for_runs(self, runs: usize, per_run: Duration) -> Duration {
        match self {
            Timeout::Fixed(d) => d,
            Timeout::Derived => per_run
                .saturating_mul(TIMEOUT_FACTOR)
                .saturating_mul(runs as u32)
                .max(MIN_TIMEOUT),
        }
    }
}

/// How one benchmark is sampled.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Sample until this much host time has passed (and at least `min_samples` runs).
    pub budget: Duration,
    pub min_samples: u64,
    pub max_samples: u64,
    /// Warm-up runs before sampling: at least `min_warmup` (unless the first run alone
    /// outlasted the budget), more while a tenth of the budget lasts, at most
    /// [`MAX_WARMUP_RUNS`].
    pub min_warmup: u64,
    /// How long the verified first run took, when there was one (it includes the
    /// kernel's first-use cost, so it only bounds the warm-up's first wait).
    pub first_run: Option<Duration>,
    /// The bound of the first wait when nothing predicts it.
    pub first_timeout: Duration,
    pub timeout: Timeout,
    /// Stop after the warm-up, without samples, when a warm-up run takes longer than
    /// this (a tuning candidate that cannot win).
    pub give_up_above: Option<Duration>,
}

impl Plan {
    /// A benchmark's plan: warm up, then sample for `budget`.
    pub fn benchmark(budget: Duration, min_samples: u64, max_samples: u64) -> Plan {
        Plan {
            budget,
            min_samples: min_samples.max(1),
            max_samples: max_samples.max(min_samples.max(1)),
            min_warmup: 1,
            first_run: None,
            first_timeout: MIN_TIMEOUT * 2,
            timeout: Timeout::Derived,
            give_up_above: None,
        }
    }

    /// Exactly `runs` samples after one warm-up run, whatever they take (peaks).
    pub fn fixed(runs: u64) -> Plan {
        Plan {
            budget: Duration::ZERO,
            ..Plan::benchmark(Duration::ZERO, runs, runs)
        }
    }

    pub fn after_first_run(mut self, first: Duration) -> Plan {
        self.first_run = Some(first);
        self
    }

    pub fn with_timeout(mut self, timeout: Timeout) -> Plan {
        self.timeout = timeout;
        self
    }

    pub fn with_first_timeout(mut self, timeout: Duration) -> Plan {
        self.first_timeout = timeout;
        self
    }

    /// How long one submission should take: long enough that the host's part is small,
    /// short enough that the budget is not overshot by much.
    fn batch_target(&self) -> Duration {
        (self.budget / 10).clamp(Duration::from_millis(5), Duration::from_millis(250))
    }
}

/// The GPU time of a set of batches next to the host time of the same submissions.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ClockCheck {
    /// Sum of the GPU-timestamp durations, ns.
    pub gpu_ns: f64,
    /// Host time from each submission to its results, ns.
    pub host_ns: f64,
}

impl ClockCheck {
    /// GPU time over host time (at most about 1; lower the more the launches cost).
    pub fn ratio(&self) -> Option<f64> {
        (self.host_ns > 0.0).then(|| self.gpu_ns / self.host_ns)
    }

    fn add(&mut self, other: ClockCheck) {
        self.gpu_ns += other.gpu_ns;
        self.host_ns += other.host_ns;
    }
}

/// What sampling one benchmark gave.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Sampled(Sampled),
    /// A warm-up run took longer than [`Plan::give_up_above`]; nothing was sampled.
    GaveUp {
        warmup: Duration,
    },
}

/// The samples of one benchmark, all on one clock.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampled {
    /// Duration of each timed run, ns.
    pub samples_ns: Vec<f64>,
    pub method: TimingMethod,
    pub warmup_runs: u64,
    /// GPU against host time of the timed batches (timestamps only).
    pub clock_check: Option<ClockCheck>,
}

/// One submission's samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Duration of each run, ns.
    pub samples_ns: Vec<f64>,
    pub method: TimingMethod,
    /// True when this batch's timestamps failed their checks: its samples are its host
    /// time spread over its runs, and the clock is the host's from now on.
    pub fell_back: bool,
    pub clock_check: Option<ClockCheck>,
}

/// Why a batch's timestamps were not trusted.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TimestampProblem {
    #[error("GPU timestamps did not advance across a run ({start} then {end})")]
    NotAdvancing { start: u64, end: u64 },
    #[error(
        "GPU timestamps add up to {gpu_ms:.3} ms for a submission the host saw complete in \
         {host_ms:.3} ms (ratio {ratio:.3}); the timestamp period is wrong"
    )]
    AboveHost {
        gpu_ms: f64,
        host_ms: f64,
        ratio: f64,
    },
    #[error(
        "GPU timestamps add up to {gpu_ms:.3} ms for a submission that took {host_ms:.3} ms \
         on the host (ratio {ratio:.3}), far more than launching {runs} run(s) can cost; the \
         timestamp period is wrong"
    )]
    FarBelowHost {
        gpu_ms: f64,
        host_ms: f64,
        ratio: f64,
        runs: usize,
    },
}

/// Checks one batch's raw timestamps against its host time; the durations in ns.
pub fn check_timestamps(
    ticks: &[(u64, u64)],
    period_ns: f64,
    host: Duration,
) -> Result<(Vec<f64>, ClockCheck), TimestampProblem> {
    let mut out = Vec::with_capacity(ticks.len());
    for &(start, end) in ticks {
        if end <= start {
            return Err(TimestampProblem::NotAdvancing { start, end });
        }
        out.push((end - start) as f64 * period_ns);
    }
    let check = ClockCheck {
        gpu_ns: out.iter().sum(),
        host_ns: host.as_nanos() as f64,
    };
    let (gpu, host_ns) = (check.gpu_ns, check.host_ns);
    let ratio = check.ratio().unwrap_or(f64::INFINITY);
    let ms = |ns: f64| ns / 1e6;
    if gpu > host_ns * ABOVE_HOST_SLACK + ABOVE_HOST_SLACK_NS {
        return Err(TimestampProblem::AboveHost {
            gpu_ms: ms(gpu),
            host_ms: ms(host_ns),
            ratio,
        });
    }
    let launch = LAUNCH_FIXED_NS + LAUNCH_PER_RUN_NS * ticks.len() as f64;
    if gpu < 0.5 * host_ns && host_ns - gpu > launch {
        return Err(TimestampProblem::FarBelowHost {
            gpu_ms: ms(gpu),
            host_ms: ms(host_ns),
            ratio,
            runs: ticks.len(),
        });
    }
    Ok((out, check))
}

/// Runs the rules of the contract against one clock; one per device, shared by every
/// measurement on it, so that a fallback to the host clock holds for the rest of the run.
pub struct Sampler<C: Clock = HostClock> {
    clock: C,
    method: TimingMethod,
    /// Fallback warnings not yet shown.
    warnings: Vec<String>,
    /// Called between batches; fails when the run must stop (Ctrl-C).
    interrupted: fn() -> Result<()>,
}

impl Sampler<HostClock> {
    /// A sampler on the host clock, using GPU timestamps when `timestamps` is set.
    pub fn new(timestamps: bool) -> Sampler<HostClock> {
        Sampler::with_clock(HostClock::default(), timestamps)
    }
}

impl<C: Clock> Sampler<C> {
    pub fn with_clock(clock: C, timestamps: bool) -> Sampler<C> {
        Sampler {
            clock,
            method: if timestamps {
                TimingMethod::GpuTimestamp
            } else {
                TimingMethod::HostClock
            },
            warnings: Vec::new(),
            interrupted: crate::interrupt::check,
        }
    }

    /// Stops between batches when `f` fails (tests use it to simulate Ctrl-C).
    pub fn with_interrupt(mut self, f: fn() -> Result<()>) -> Sampler<C> {
        self.interrupted = f;
        self
    }

    /// The clock measurements use now.
    pub fn method(&self) -> TimingMethod {
        self.method
    }

    /// Warnings of fallbacks since the last call, each once.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// Runs the work once, untimed (verification, warm-up, compilation); its host time.
    pub fn run_once(&mut self, target: &mut dyn Target, timeout: Duration) -> Result<Duration> {
        let t0 = self.clock.now();
        target.submit(1, false, timeout)?;
        Ok(self.clock.now().saturating_sub(t0))
    }

    /// One timed submission of `runs` runs (host clock: `runs` submissions of one),
    /// bounded by `timeout` each, with the timestamps checked and the fallback applied.
    pub fn batch(
        &mut self,
        target: &mut dyn Target,
        runs: usize,
        timeout: Duration,
    ) -> Result<Batch> {
        let runs = runs.clamp(1, MAX_BATCH);
        if self.method == TimingMethod::HostClock {
            let mut samples_ns = Vec::with_capacity(runs);
            for _ in 0..runs {
                samples_ns.push(self.run_once(target, timeout)?.as_nanos() as f64);
            }
            return Ok(Batch {
                samples_ns,
                method: TimingMethod::HostClock,
                fell_back: false,
                clock_check: None,
            });
        }
        let t0 = self.clock.now();
        let ticks = target.submit(runs, true, timeout)?;
        let host = self.clock.now().saturating_sub(t0);
        let checked = match ticks {
            Some(t) if t.len() == runs => check_timestamps(&t, target.period_ns(), host),
            _ => Err(TimestampProblem::NotAdvancing { start: 0, end: 0 }),
        };
        match checked {
            Ok((samples_ns, check)) => Ok(Batch {
                samples_ns,
                method: TimingMethod::GpuTimestamp,
                fell_back: false,
                clock_check: Some(check),
            }),
            Err(problem) => {
                self.fall_back(&problem);
                let each = host.as_nanos() as f64 / runs as f64;
                Ok(Batch {
                    samples_ns: vec![each; runs],
                    method: TimingMethod::HostClock,
                    fell_back: true,
                    clock_check: None,
                })
            }
        }
    }

    fn fall_back(&mut self, problem: &TimestampProblem) {
        self.method = TimingMethod::HostClock;
        self.warnings.push(format!(
            "{problem}; timing with the host clock from here on (it includes launch \
             overhead, so short kernels read slower); report this with `flopcost devices \
             --json`"
        ));
    }

    /// Warms up and samples one benchmark by `plan`.
    pub fn sample(&mut self, target: &mut dyn Target, plan: &Plan) -> Result<Outcome> {
        let budget = plan.budget;
        // Warm-up: none when the verified run alone outlasted the budget (it was its own
        // warm-up); else at least `min_warmup`, more while a tenth of the budget lasts.
        let warm_start = self.clock.now();
        let mut warmup_runs = 0u64;
        let mut last = plan.first_run;
        let skip = plan
            .first_run
            .is_some_and(|f| f > budget && budget > Duration::ZERO);
        while !skip
            && (warmup_runs < plan.min_warmup
                || (self.clock.now() - warm_start < budget / 10 && warmup_runs < MAX_WARMUP_RUNS))
        {
            (self.interrupted)()?;
            let timeout = match last {
                Some(l) => plan.timeout.for_runs(1, l),
                None => match plan.timeout {
                    Timeout::Fixed(d) => d,
                    Timeout::Derived => plan.first_timeout,
                },
            };
            let took = self.run_once(target, timeout)?;
            warmup_runs += 1;
            last = Some(took);
            if let Some(limit) = plan.give_up_above
                && took > limit
            {
                return Ok(Outcome::GaveUp { warmup: took });
            }
        }
        let per_run = last
            .unwrap_or(Duration::from_micros(100))
            .max(Duration::from_nanos(100));
        // A long run gets few samples, not `min_samples` times the budget.
        let min_samples = if per_run.as_secs_f64() * plan.min_samples as f64
            > 2.0 * budget.as_secs_f64()
            && budget > Duration::ZERO
        {
            plan.min_samples.min(3)
        } else {
            plan.min_samples
        };
        let target_batch = plan.batch_target().as_secs_f64();
        let mut samples: Vec<f64> = Vec::new();
        let mut check = ClockCheck::default();
        let mut method = self.method;
        let mut expected = per_run;
        let mut start = self.clock.now();
        while (samples.len() as u64) < plan.max_samples
            && ((samples.len() as u64) < min_samples || self.clock.now() - start < budget)
        {
            (self.interrupted)()?;
            let left = (plan.max_samples - samples.len() as u64) as usize;
            let runs =
                ((target_batch / expected.as_secs_f64()) as usize).clamp(1, left.min(MAX_BATCH));
            let batch = self.batch(target, runs, plan.timeout.for_runs(runs, expected))?;
            if batch.fell_back {
                // The samples so far were on the clock that just failed: start again on
                // the host clock, with the whole budget.
                samples.clear();
                check = ClockCheck::default();
                method = self.method;
                start = self.clock.now();
                continue;
            }
            if let Some(c) = batch.clock_check {
                check.add(c);
            }
            let mean = batch.samples_ns.iter().sum::<f64>() / batch.samples_ns.len() as f64;
            expected = Duration::from_nanos(mean.max(100.0) as u64).max(per_run / 4);
            samples.extend(batch.samples_ns);
        }
        Ok(Outcome::Sampled(Sampled {
            samples_ns: samples,
            method,
            warmup_runs,
            clock_check: (method == TimingMethod::GpuTimestamp).then_some(check),
        }))
    }
}

#[cfg(test)]
mod tests;
