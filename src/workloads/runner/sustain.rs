//! `--sustain SECONDS`: one GEMM run back to back, its throughput per second of wall
//! clock, so a device that slows down under sustained load (heat, power) shows it.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use super::{Observer, Runner, schedule};
use crate::kernels::{KernelSpec, Problem};
use crate::measure::MAX_BATCH;
use crate::result::{Sustain, SustainWindow};
use crate::stats;
use crate::types::Precision;
use crate::util::fmt_sig;
use crate::workloads::Case;

/// Length of one window of a sustained run.
pub const WINDOW: Duration = Duration::from_secs(1);

impl Runner<'_> {
    /// Verifies `case` with `spec`, then runs it back to back for `length`, measuring
    /// every run, and summarises each [`WINDOW`] of wall-clock time.
    pub fn sustain(
        &mut self,
        case: &Case,
        spec: &KernelSpec,
        precision: Precision,
        length: Duration,
        obs: &mut dyn Observer,
    ) -> Result<Sustain> {
        let gpu = self.gpu;
        let (layout, shape) = (case.layout, case.shape);
        let label = format!("sustained {layout} {shape} {}", spec.name);
        obs.started(&format!("{label}: inputs and reference"));
        let problem = Problem::with_precision(gpu, layout, shape, self.settings.seed, precision)?;
        let variant = self.variant_for(spec, precision);
        let (pipeline, _, _) = self.kernel_pipeline(spec, variant, &problem, obs)?;
        let binding = problem.bind(gpu, &pipeline)?;
        let flops = shape.flops();
        let timeout =
            schedule::first_timeout(&self.speeds, &self.settings, &spec.name, precision, flops);
        let (check, first) =
            problem.verify(gpu, &pipeline, &binding, precision.tolerance(), timeout)?;
        if !check.passed {
            self.failures.push(label.clone());
            bail!("{label}: verification failed; a kernel that fails is never timed");
        }
        let encode = |pass: &mut wgpu::ComputePass<'_>| pipeline.encode(pass, &binding);
        obs.started(&label);
        let policy = schedule::timeout_policy(&self.settings);
        // Batches of about a tenth of a window, so each window holds several.
        let mut per_run = first.max(Duration::from_micros(1));
        let mut windows = Vec::new();
        let mut start = Instant::now();
        let mut power_begin = self.meter.power_begin();
        let mut window_start = start;
        let mut samples: Vec<f64> = Vec::new();
        while start.elapsed() < length {
            crate::interrupt::check()?;
            let batch =
                ((0.1 * WINDOW.as_secs_f64() / per_run.as_secs_f64()) as usize).clamp(1, MAX_BATCH);
            let b = self
                .meter
                .batch(&encode, batch, policy.for_runs(batch, per_run))?;
            if b.fell_back {
                // Start the sustained run again on the host clock.
                self.pass_on_warnings(obs);
                windows.clear();
                samples.clear();
                start = Instant::now();
                power_begin = self.meter.power_begin();
                window_start = start;
                continue;
            }
            per_run = Duration::from_secs_f64(
                b.samples_ns.iter().sum::<f64>() * 1e-9 / b.samples_ns.len() as f64,
            )
            .max(Duration::from_nanos(100));
            samples.extend(b.samples_ns);
            if window_start.elapsed() >= WINDOW || start.elapsed() >= length {
                let s = stats::summarize(&samples).expect("a batch has samples");
                windows.push(SustainWindow {
                    start_s: (window_start - start).as_secs_f64(),
                    samples: s.samples,
                    median_ns: s.median,
                    tflops: flops as f64 / s.median / 1e3,
                });
                obs.note(format!(
                    "{label}: {:.0} s: {} TFLOP/s",
                    start.elapsed().as_secs_f64(),
                    fmt_sig(flops as f64 / s.median / 1e3, 3)
                ));
                samples.clear();
                window_start = Instant::now();
            }
        }
        let power = self.meter.power_end(power_begin);
        gpu.errors.check()?;
        let mut out = Sustain {
            kernel: spec.name.clone(),
            precision,
            layout,
            m: shape.m,
            n: shape.n,
            k: shape.k,
            flops,
            timing_method: self.meter.method(),
            requested_s: length.as_secs_f64(),
            window_s: WINDOW.as_secs_f64(),
            windows,
            first_tflops: 0.0,
            last_tflops: 0.0,
            min_vs_first: 0.0,
            throttled: false,
            power: None,
        };
        out.finish();
        out.power = power.map(|p| p.at_tflops(out.median_window_tflops()));
        Ok(out)
    }
}
