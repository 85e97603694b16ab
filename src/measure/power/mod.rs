//! Measured power: a sampler that reads the accelerator's own power sensor on a thread of
//! its own, beside every timed phase, and turns the samples of a phase into mean watts,
//! joules and joules per PFLOP, or into the reason it has none.
//!
//! The rules live in [`PowerLog`], which is driven by a [`PowerSource`] and told the
//! time, so every rule is unit-tested with a fake source and fake times (`tests` below);
//! [`PowerSampler`] only runs [`PowerLog::poll`] every [`INTERVAL`] on a thread and reads
//! its figures. The sources ([`sources`]) are Linux hwmon files under the adapter's PCI
//! device, `nvidia-smi` as a subprocess and a user's command; nothing is linked.
//!
//! Faults never end a run: a sensor that refuses, disappears, wraps, prints garbage,
//! hangs or reads implausibly (≤ 0 W, or more than [`ABOVE_BOARD`] × the catalog's board
//! power) gives a warning, and the phases it cannot cover get no figure, with a reason;
//! never an interpolated guess.

pub mod record;
pub mod sources;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use record::{PhasePower, PowerSection};

/// How often the sampler polls its source (100 Hz: a hwmon read costs microseconds, and a
/// phase of 100 ms still gets ten samples).
pub const INTERVAL: Duration = Duration::from_millis(10);

/// A phase needs at least this many samples for a figure (its start and end are always
/// read, so a phase of a few intervals has them on a busy machine too).
pub const MIN_SAMPLES: u64 = 3;

/// Readings above this multiple of the catalog's board power are refused as implausible.
pub const ABOVE_BOARD: f64 = 1.25;

/// How long idle power is sampled before the first phase.
pub const IDLE: Duration = Duration::from_secs(1);

/// One reading of a source.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reading {
    /// Power, watts (an instantaneous or driver-averaged figure).
    Watts(f64),
    /// A cumulative energy counter, microjoules (it may wrap).
    MicroJoules(u64),
}

/// Why a read gave nothing.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// The source is gone for good (removed, permission refused, killed after hanging):
    /// sampling stops, with this warning.
    Gone(String),
    /// This reading is unusable (it printed garbage): it is skipped, with this warning.
    Garbage(String),
}

/// What a source is, for the result file.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceInfo {
    /// `hwmon`, `nvidia-smi` or `command`.
    pub kind: &'static str,
    /// What is read, and where, e.g. `hwmon amdgpu power1_average (µW) at /sys/...`.
    pub method: String,
    /// The sensor's averaging window or update interval, where known: a phase shorter
    /// than it gets no figure.
    pub window: Option<Duration>,
}

/// A power sensor.
pub trait PowerSource: Send {
    fn info(&self) -> SourceInfo;
    /// The readings since the last call (none is fine: a stream may not have printed).
    fn read(&mut self) -> Result<Vec<Reading>, Fault>;
    /// Stops whatever the source runs (a subprocess).
    fn stop(&mut self) {}
}

/// The samples taken so far and the faults met, with the rules that turn them into
/// figures.
pub struct PowerLog {
    info: SourceInfo,
    board_watts: Option<f64>,
    /// (time since the sampler's origin, watts).
    samples: Vec<(Duration, f64)>,
    last_energy: Option<(Duration, u64)>,
    /// Why sampling stopped, once it has.
    stopped: Option<(Duration, String)>,
    warnings: Vec<String>,
    taken: usize,
}

/// The counter width an energy counter at `value` µJ wraps at: 2³² where it is below it
/// (a 32-bit register), else 2⁶⁴.
fn wrap_at(value: u64) -> u128 {
    if value < 1 << 32 { 1 << 32 } else { 1 << 64 }
}

impl PowerLog {
    pub fn new(info: SourceInfo, board_watts: Option<f64>) -> PowerLog {
        PowerLog {
            info,
            board_watts,
            samples: Vec::new(),
            last_energy: None,
            stopped: None,
            warnings: Vec::new(),
            taken: 0,
        }
    }

    fn warn(&mut self, w: String) {
        let w = format!("power: {w}");
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }

    /// Reads the source once, at `now`.
    pub fn poll(&mut self, source: &mut dyn PowerSource, now: Duration) {
        if self.stopped.is_some() {
            return;
        }
        match source.read() {
            Err(Fault::Gone(why)) => {
                self.warn(format!(
                    "{why}; phases after {:.1} s of the run have no measured power (their \
                     energy figures stay nameplate)",
                    now.as_secs_f64()
                ));
                self.stopped = Some((now, why));
                source.stop();
            }
            Err(Fault::Garbage(why)) => self.warn(format!("{why}; such readings are skipped")),
            Ok(readings) => {
                for r in readings {
                    self.take(r, now);
                }
            }
        }
    }

    fn take(&mut self, r: Reading, now: Duration) {
        let watts = match r {
            Reading::Watts(w) => w,
            Reading::MicroJoules(e) => {
                let Some((t0, e0)) = self.last_energy.replace((now, e)) else {
                    return;
                };
                let dt = now.saturating_sub(t0).as_secs_f64();
                if dt <= 0.0 {
                    self.last_energy = Some((t0, e0));
                    return;
                }
                let delta = if e >= e0 {
                    u128::from(e - e0)
                } else {
                    self.warn(format!(
                        "the energy counter of {} wrapped (from {e0} to {e} µJ); the wrap \
                         was accounted for",
                        self.info.method
                    ));
                    wrap_at(e0) - u128::from(e0) + u128::from(e)
                };
                delta as f64 / 1e6 / dt
            }
        };
        if !watts.is_finite() {
            self.warn(format!("{} gave a non-finite reading", self.info.method));
            return;
        }
        if watts <= 0.0 {
            self.warn(format!(
                "{} read {watts} W (≤ 0): such readings are refused",
                self.info.method
            ));
            return;
        }
        if let Some(board) = self.board_watts
            && watts > ABOVE_BOARD * board
        {
            self.warn(format!(
                "{} read {watts:.1} W, more than {:.0}% of the catalog's {board} W board \
                 power: such readings are refused as implausible (is the source another \
                 device's?)",
                self.info.method,
                ABOVE_BOARD * 100.0
            ));
            return;
        }
        self.samples.push((now, watts));
    }

    /// The figure of the phase from `begin` to `end`; `tflops` (the phase's throughput)
    /// gives its joules per PFLOP.
    pub fn figure(&self, begin: Duration, end: Duration, tflops: Option<f64>) -> PhasePower {
        let seconds = end.saturating_sub(begin).as_secs_f64();
        // Samples are taken in time order (under the lock, timed inside it), so a phase's
        // are one slice, found by bisection however long the run.
        let lo = self.samples.partition_point(|(t, _)| *t < begin);
        let hi = self.samples.partition_point(|(t, _)| *t <= end).max(lo);
        let inside = &self.samples[lo..hi];
        let samples = inside.len() as u64;
        let none = |reason: String| PhasePower {
            source: self.info.kind.to_string(),
            samples,
            seconds,
            mean_watts: None,
            energy_joules: None,
            joules_per_pflop: None,
            none_reason: Some(reason),
        };
        if let Some((at, why)) = &self.stopped
            && *at < end
        {
            return none(format!(
                "the sensor stopped during or before the phase: {why}"
            ));
        }
        if let Some(w) = self.info.window
            && end.saturating_sub(begin) < w
        {
            return none(format!(
                "the phase took {:.0} ms, less than the sensor's {:.0} ms averaging window",
                seconds * 1e3,
                w.as_secs_f64() * 1e3
            ));
        }
        if samples < MIN_SAMPLES {
            return none(format!(
                "{samples} samples in the phase's {:.0} ms (at least {MIN_SAMPLES} are needed)",
                seconds * 1e3
            ));
        }
        let mean = inside.iter().map(|(_, w)| w).sum::<f64>() / inside.len() as f64;
        PhasePower {
            source: self.info.kind.to_string(),
            samples,
            seconds,
            mean_watts: Some(mean),
            energy_joules: Some(mean * seconds),
            joules_per_pflop: tflops.filter(|t| *t > 0.0).map(|t| mean * 1e3 / t),
            none_reason: None,
        }
    }

    /// Warnings not yet handed out.
    pub fn take_warnings(&mut self) -> Vec<String> {
        let new = self.warnings[self.taken..].to_vec();
        self.taken = self.warnings.len();
        new
    }

    pub fn sample_count(&self) -> u64 {
        self.samples.len() as u64
    }
}

/// The source and its log, behind one lock: the thread polls them, and so does each
/// phase's start and end.
struct Shared {
    source: Box<dyn PowerSource>,
    log: PowerLog,
}

/// The sampler thread and its log.
pub struct PowerSampler {
    shared: Arc<Mutex<Shared>>,
    origin: Instant,
    info: SourceInfo,
    board_watts: Option<f64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    idle: Option<PhasePower>,
}

impl PowerSampler {
    /// Starts polling `source` every [`INTERVAL`] on a thread of its own.
    pub fn start(source: Box<dyn PowerSource>, board_watts: Option<f64>) -> PowerSampler {
        let info = source.info();
        let shared = Arc::new(Mutex::new(Shared {
            source,
            log: PowerLog::new(info.clone(), board_watts),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let origin = Instant::now();
        let thread = {
            let (shared, stop) = (shared.clone(), stop.clone());
            std::thread::Builder::new()
                .name("flopcost-power".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if let Ok(mut s) = shared.lock() {
                            let Shared { source, log } = &mut *s;
                            log.poll(source.as_mut(), origin.elapsed());
                        }
                        std::thread::sleep(INTERVAL);
                    }
                    if let Ok(mut s) = shared.lock() {
                        s.source.stop();
                    }
                })
                .ok()
        };
        PowerSampler {
            shared,
            origin,
            info,
            board_watts,
            stop,
            thread,
            idle: None,
        }
    }

    /// Polls the source now (a phase's start or end: on a busy machine the thread may
    /// not be scheduled for a while), and returns the time.
    fn poll_now(&self) -> Duration {
        let mut now = self.origin.elapsed();
        if let Ok(mut s) = self.shared.lock() {
            now = self.origin.elapsed();
            let Shared { source, log } = &mut *s;
            log.poll(source.as_mut(), now);
        }
        now
    }

    /// A phase's start: the source is read at once.
    pub fn now(&self) -> Duration {
        self.poll_now()
    }

    /// The figure of the phase that began at `begin` and ends now (the source is read
    /// at once).
    pub fn end(&self, begin: Duration, tflops: Option<f64>) -> PhasePower {
        let end = self.poll_now();
        self.shared
            .lock()
            .map(|s| s.log.figure(begin, end, tflops))
            .unwrap_or_else(|_| PhasePower::none(self.info.kind, "the power sampler failed"))
    }

    /// Samples the idle adapter for `how_long` (before any work).
    pub fn measure_idle(&mut self, how_long: Duration) {
        let begin = self.now();
        std::thread::sleep(how_long);
        self.idle = Some(self.end(begin, None));
    }

    /// Warnings not yet handed out.
    pub fn take_warnings(&self) -> Vec<String> {
        self.shared
            .lock()
            .map(|mut s| s.log.take_warnings())
            .unwrap_or_default()
    }

    /// The file's power section.
    pub fn section(&self) -> PowerSection {
        let samples = self
            .shared
            .lock()
            .map(|s| s.log.sample_count())
            .unwrap_or(0);
        PowerSection {
            source: self.info.kind.to_string(),
            method: self.info.method.clone(),
            window_ms: self.info.window.map(|w| w.as_secs_f64() * 1e3),
            interval_ms: INTERVAL.as_secs_f64() * 1e3,
            samples,
            idle_watts: self.idle.as_ref().and_then(|i| i.mean_watts),
            idle_none_reason: self.idle.as_ref().and_then(|i| i.none_reason.clone()),
            board_watts: self.board_watts,
        }
    }
}

impl Drop for PowerSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests;
