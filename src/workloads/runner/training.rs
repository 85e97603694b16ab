//! The runner's side of a training step: it works out what the trainer needs (the sizes
//! for this device, the kernel and path of each precision, the best GEMM speed so far)
//! and hands it over as values ([`train::Context`], [`train::Trainee`]); the trainer never
//! sees the runner.

use anyhow::{Context as _, Result};

use super::{Observer, Runner};
use crate::kernels::KernelSpec;
use crate::types::Precision;
use crate::workloads::train::{self, Probe, TrainConfig, TrainOptions, Trainee};

impl<'a> Runner<'a> {
    /// The device, meter, kernels and seed a training run uses.
    fn training_context(&mut self) -> train::Context<'_, 'a> {
        train::Context {
            gpu: self.gpu,
            meter: &mut self.meter,
            kernels: self.kernels.clone(),
            seed: self.settings.seed,
        }
    }

    /// The sizes of `options` for this device and the run's kernels.
    fn training_config(&self, options: &TrainOptions) -> Result<TrainConfig> {
        options.resolve(
            &self.gpu.limits(),
            self.gpu.info.device_type,
            &self.kernels,
            self.settings.seed,
        )
    }

    /// The suite's training step: in each of the run's precisions, train with the kernel
    /// whose products of the MLP's layer take least (when the options ask for them to be
    /// measured) or with the fastest kernel of the run so far.
    pub(super) fn train(&mut self, options: &TrainOptions, obs: &mut dyn Observer) -> Result<()> {
        let cfg = self.training_config(options)?;
        let precisions = self.precisions.clone();
        let chosen: Vec<(Precision, Option<KernelSpec>)> = if options.measure_gemms {
            let block = train::measured_layer(&cfg);
            let summaries = self.run_layers(&block, Some(cfg.batch), false, 1.0, obs)?;
            precisions
                .iter()
                .map(|&p| {
                    let k = summaries
                        .iter()
                        .filter(|s| s.missing_layers.is_empty() && s.precision == p)
                        .min_by(|a, b| a.total.step_ns.total_cmp(&b.total.step_ns))
                        .and_then(|s| self.kernels.iter().find(|k| k.name == s.kernel))
                        .cloned();
                    (p, k)
                })
                .collect()
        } else {
            let fastest = self.fastest_kernel().map(|(k, _)| k);
            precisions.iter().map(|&p| (p, fastest.clone())).collect()
        };
        let trainees: Vec<Trainee> = chosen
            .into_iter()
            .map(|(precision, kernel)| Trainee {
                precision,
                variant: match &kernel {
                    Some(k) => self.variant_for(k, precision),
                    None => crate::kernels::Variant::simt(precision),
                },
                kernel,
                best_gemm_tflops: self.speeds.best_tflops_in(precision),
            })
            .collect();
        train::run_step(&mut self.training_context(), &cfg, &trainees, obs)
    }

    /// Prepares the training run of `options` in `precision` as [`Runner::train`] would
    /// (with the fastest kernel so far, or the first) and times `steps` of its steps.
    pub(super) fn probe_training(
        &mut self,
        options: &TrainOptions,
        precision: Precision,
        steps: u64,
    ) -> Result<Probe> {
        let cfg = self.training_config(options)?;
        let kernel = self
            .fastest_kernel()
            .map(|(k, _)| k)
            .or_else(|| self.kernels.first().cloned())
            .context("no kernel to train with")?;
        let variant = self.variant_for(&kernel, precision);
        train::probe(&mut self.training_context(), &cfg, &kernel, variant, steps)
    }
}
