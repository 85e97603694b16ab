//! The tuned kernel's configuration for each problem: the cache entry of its (layout,
//! shape class); else, while the tuning budget lasts, tuned now on this very problem
//! (and saved to the cache); else the shape-based default. The record says which.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::{MIN_TUNE_FLOPS, Observer, Runner};
use crate::kernels::tune::{self, ShapeClass};
use crate::kernels::{BlockConfig, Problem, Variant};
use crate::types::ConfigSource;

impl Runner<'_> {
    pub(super) fn choose_tuned(
        &mut self,
        problem: &Problem,
        variant: Variant,
        obs: &mut dyn Observer,
    ) -> Result<(BlockConfig, ConfigSource, ShapeClass)> {
        let (layout, shape, batch) = (problem.layout, problem.shape, problem.batch);
        let class = ShapeClass::of_batched(shape, batch);
        let tuned_key = (variant.key(), layout, class);
        if let Some(e) = self.tuner.table.get(variant, layout, class) {
            let source = if self.tuned_now.contains(&tuned_key) {
                ConfigSource::Tuned
            } else {
                ConfigSource::Cache
            };
            return Ok((e.config, source, class));
        }
        let default = || {
            (
                tune::heuristic_batched(self.gpu, shape, batch, variant),
                ConfigSource::Heuristic,
                class,
            )
        };
        let left = self.schedule.tune_left();
        let flops = shape.checked_batch_flops(batch).unwrap_or(u64::MAX);
        if left.is_zero() || flops < MIN_TUNE_FLOPS {
            return Ok(default());
        }
        // A class gets at most a third of what is left, so later classes get time too.
        let budget = (left / 3).max(Duration::from_millis(1));
        let started = Instant::now();
        let mut progress = TuneProgress {
            obs: &mut *obs,
            label: format!(
                "tuning {layout} {class} {} on {}{shape}",
                variant.key(),
                batch.prefix()
            ),
            failures: Vec::new(),
        };
        let tuning = self
            .tuner
            .tune_variant(problem, variant, &mut self.meter, budget, &mut progress)
            .with_context(|| format!("tuning {layout} {shape}"))?;
        let failures = std::mem::take(&mut progress.failures);
        self.schedule.tune_used += started.elapsed();
        for f in failures {
            obs.warn(f);
        }
        match tuning.best {
            Some((config, _)) => {
                self.tuned_now.insert(tuned_key);
                if let Err(e) = self.tuner.table.save() {
                    obs.warn(format!(
                        "could not save the tuning cache: {e:#}; the next run tunes again"
                    ));
                }
                Ok((config, ConfigSource::Tuned, class))
            }
            None => {
                obs.warn(format!(
                    "tuning {layout} {class}: no candidate passed verification; running the \
                     default configuration, which will be verified like any other"
                ));
                Ok(default())
            }
        }
    }
}

/// Shows tuning progress through an [`Observer`] and collects discarded candidates.
struct TuneProgress<'o> {
    obs: &'o mut dyn Observer,
    label: String,
    failures: Vec<String>,
}

impl tune::TuneObserver for TuneProgress<'_> {
    fn trying(&mut self, index: usize, total: usize, config: &BlockConfig) {
        self.obs.started(&format!(
            "{}: candidate {}/{total} {config}",
            self.label,
            index + 1
        ));
    }

    fn tried(&mut self, trial: &tune::Trial) {
        if let tune::Outcome::Failed(why) = &trial.outcome {
            self.failures.push(format!(
                "{}: candidate {} discarded: {why}",
                self.label, trial.config
            ));
        }
    }
}
