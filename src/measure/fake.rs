//! A fake device and clock for testing the measurement contract without a GPU: runs take
//! the time a script says, the host clock advances by exactly that plus launch costs, and
//! the device's timestamps can be made to freeze or to be reported with a wrong period.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use anyhow::Result;

use super::{Clock, Target};
use crate::gpu::DispatchTimeout;

/// A clock that moves only when the fake device works.
#[derive(Clone, Default)]
pub struct FakeClock(Rc<Cell<Duration>>);

impl FakeClock {
    pub fn advance(&self, d: Duration) {
        self.0.set(self.0.get() + d);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Duration {
        self.0.get()
    }
}

/// A device whose runs take what `run_time` says (by run number, from 0).
pub struct FakeTarget {
    pub clock: FakeClock,
    pub run_time: Box<dyn Fn(u64) -> Duration>,
    /// Host cost of one submission (encode, submit, wait, read back).
    pub launch: Duration,
    /// Host cost of each run beyond its GPU time.
    pub per_run: Duration,
    /// The timestamp period the device reports, ns per tick; its ticks are really ns, so
    /// anything but 1.0 is a wrong period.
    pub period_ns: f64,
    /// Every timestamp reads the same value.
    pub frozen: bool,
    /// Submissions so far, and the runs and timeouts they asked for.
    pub submissions: Vec<(usize, bool, Duration)>,
    /// Runs so far.
    pub runs: u64,
}

impl FakeTarget {
    /// Runs of a fixed length.
    pub fn new(clock: &FakeClock, run: Duration) -> FakeTarget {
        FakeTarget::scripted(clock, move |_| run)
    }

    pub fn scripted(clock: &FakeClock, f: impl Fn(u64) -> Duration + 'static) -> FakeTarget {
        FakeTarget {
            clock: clock.clone(),
            run_time: Box::new(f),
            launch: Duration::from_micros(50),
            per_run: Duration::from_micros(5),
            period_ns: 1.0,
            frozen: false,
            submissions: Vec::new(),
            runs: 0,
        }
    }
}

impl Target for FakeTarget {
    fn submit(
        &mut self,
        runs: usize,
        timestamps: bool,
        timeout: Duration,
    ) -> Result<Option<Vec<(u64, u64)>>> {
        self.submissions.push((runs, timestamps, timeout));
        let mut host = self.launch;
        let mut ticks = Vec::with_capacity(runs);
        let mut t = 1_000_000u64;
        for _ in 0..runs {
            let d = (self.run_time)(self.runs);
            self.runs += 1;
            host += d + self.per_run;
            let start = t;
            t += d.as_nanos() as u64;
            ticks.push(if self.frozen {
                (start, start)
            } else {
                (start, t)
            });
            t += self.per_run.as_nanos() as u64;
        }
        if host > timeout {
            self.clock.advance(timeout);
            return Err(DispatchTimeout {
                seconds: timeout.as_secs_f64(),
            }
            .into());
        }
        self.clock.advance(host);
        Ok(timestamps.then_some(ticks))
    }

    fn period_ns(&self) -> f64 {
        self.period_ns
    }
}
