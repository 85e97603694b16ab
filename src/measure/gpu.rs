//! The real target: work recorded into compute passes on a [`Gpu`], timed with its
//! timestamp queries; and [`Meter`], a device's sampler with its query buffers.

use std::time::Duration;

use anyhow::Result;

use super::{Batch, Outcome, Plan, Sampler, Target};
use crate::gpu::Gpu;
use crate::gpu::timing::Timestamps;
use crate::types::TimingMethod;

/// Records one run of the work into a compute pass.
pub type Encode<'a> = &'a dyn Fn(&mut wgpu::ComputePass<'_>);

/// One unit of work on a device.
pub struct GpuTarget<'a> {
    gpu: &'a Gpu,
    queries: Option<&'a Timestamps>,
    encode: Encode<'a>,
}

impl Target for GpuTarget<'_> {
    fn submit(
        &mut self,
        runs: usize,
        timestamps: bool,
        timeout: Duration,
    ) -> Result<Option<Vec<(u64, u64)>>> {
        match (timestamps, self.queries) {
            (true, Some(q)) => Ok(Some(q.run(self.gpu, runs, self.encode, timeout)?)),
            _ => {
                self.gpu.run_passes(runs, self.encode, timeout)?;
                Ok(None)
            }
        }
    }

    fn period_ns(&self) -> f64 {
        self.queries.map_or(1.0, Timestamps::period_ns)
    }
}

/// Runs the work once on the host clock, untimed by the device (verification); its
/// host time.
pub fn run_untimed(gpu: &Gpu, encode: Encode<'_>, timeout: Duration) -> Result<Duration> {
    let mut target = GpuTarget {
        gpu,
        queries: None,
        encode,
    };
    Sampler::new(false).run_once(&mut target, timeout)
}

/// A device's sampler: every measurement on one device goes through its meter, so the
/// clock it falls back to holds for the whole run.
pub struct Meter<'g> {
    gpu: &'g Gpu,
    queries: Option<Timestamps>,
    sampler: Sampler,
    power: Option<std::sync::Arc<super::power::PowerSampler>>,
    last_power: Option<super::power::PhasePower>,
}

impl<'g> Meter<'g> {
    /// GPU timestamps where the device has them and `allow_timestamps` is set, else the
    /// host clock.
    pub fn new(gpu: &'g Gpu, allow_timestamps: bool) -> Result<Meter<'g>> {
        let queries = if allow_timestamps {
            Timestamps::new(gpu)?
        } else {
            None
        };
        let sampler = Sampler::new(queries.is_some());
        Ok(Meter {
            gpu,
            queries,
            sampler,
            power: None,
            last_power: None,
        })
    }

    pub fn gpu(&self) -> &'g Gpu {
        self.gpu
    }

    /// The clock measurements use now.
    pub fn method(&self) -> TimingMethod {
        self.sampler.method()
    }

    /// Fallback warnings since the last call, and the power sampler's.
    pub fn take_warnings(&mut self) -> Vec<String> {
        let mut w = self.sampler.take_warnings();
        if let Some(p) = &self.power {
            w.extend(p.take_warnings());
        }
        w
    }

    /// Reads power beside every phase from now on (`None`: nameplate only).
    pub fn set_power(&mut self, power: Option<std::sync::Arc<super::power::PowerSampler>>) {
        self.power = power;
    }

    /// The start of a phase measured by hand (training): pass it to [`Meter::power_end`].
    pub fn power_begin(&self) -> Option<Duration> {
        self.power.as_ref().map(|p| p.now())
    }

    /// The power figure of the phase that began at `begin` (without its joules per
    /// PFLOP: [`super::power::PhasePower::at_tflops`] adds them).
    pub fn power_end(&self, begin: Option<Duration>) -> Option<super::power::PhasePower> {
        let (p, b) = (self.power.as_ref()?, begin?);
        Some(p.end(b, None))
    }

    /// The power figure of the last [`Meter::sample`], once (without its joules per
    /// PFLOP: [`super::power::PhasePower::at_tflops`] adds them).
    pub fn take_power(&mut self) -> Option<super::power::PhasePower> {
        self.last_power.take()
    }

    fn split<'s>(&'s mut self, encode: Encode<'s>) -> (&'s mut Sampler, GpuTarget<'s>) {
        let target = GpuTarget {
            gpu: self.gpu,
            queries: self.queries.as_ref(),
            encode,
        };
        (&mut self.sampler, target)
    }

    /// One untimed run; its host time.
    pub fn run_once(&mut self, encode: Encode<'_>, timeout: Duration) -> Result<Duration> {
        let (sampler, mut target) = self.split(encode);
        sampler.run_once(&mut target, timeout)
    }

    /// One timed batch of `runs` (see [`Sampler::batch`]).
    pub fn batch(&mut self, encode: Encode<'_>, runs: usize, timeout: Duration) -> Result<Batch> {
        let (sampler, mut target) = self.split(encode);
        sampler.batch(&mut target, runs, timeout)
    }

    /// Warm-up and samples by `plan` (see [`Sampler::sample`]); the power sampler, where
    /// there is one, measures the whole of it.
    pub fn sample(&mut self, encode: Encode<'_>, plan: &Plan) -> Result<Outcome> {
        let begin = self.power_begin();
        let (sampler, mut target) = self.split(encode);
        let out = sampler.sample(&mut target, plan);
        self.last_power = self.power_end(begin);
        out
    }
}
