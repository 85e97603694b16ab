//! Autotuning: trying the candidates of a (layout, shape class) on the device and keeping
//! the fastest that verifies.
//!
//! The candidates are a deliberately small set (the families' base configurations that
//! fit the adapter, plus split-K variants for shapes with few output blocks; see
//! [`super::table`]), small enough that the tests run every one of them. Tuning a
//! (layout, shape class) verifies each candidate on a real problem of that class (a
//! candidate that fails is logged and never used), times it briefly with the run's meter
//! and keeps the fastest. Winners go to the table and its on-disk cache; without an entry
//! and without time to tune, a shape-based default is used and the record says so.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::cache::Entry;
use super::config::{BlockConfig, KernelSpec, Variant};
use super::pipeline::GemmPipeline;
use super::problem::Problem;
pub use super::table::{
    Choice, FILL_BLOCKS, SPLITS, ShapeClass, Table, all_candidates, all_candidates_for, candidates,
    candidates_among, candidates_batched, fitting_bases, fitting_bases_for, heuristic,
    heuristic_batched,
};
use crate::gpu::Gpu;
use crate::measure::gpu::Meter;
use crate::measure::{Outcome as Sampling, Plan};
use crate::types::{Layout, Shape};

/// What happened to one candidate.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Verified and timed: median and fastest sample, ns.
    Timed {
        median_ns: f64,
        best_ns: f64,
        samples: usize,
    },
    /// Failed verification (or did not compile): never used.
    Failed(String),
    /// Verified, but its first run was so slow that it cannot win; not sampled.
    Slow { first_ns: f64 },
    /// Not tried: the tuning budget ran out.
    Skipped,
}

/// One candidate's result.
#[derive(Clone, Debug)]
pub struct Trial {
    pub config: BlockConfig,
    pub outcome: Outcome,
}

/// The result of tuning one (layout, shape class).
pub struct Tuning {
    pub layout: Layout,
    pub shape: Shape,
    pub class: ShapeClass,
    pub trials: Vec<Trial>,
    /// The winner and its fastest sample in ns, if any candidate verified.
    pub best: Option<(BlockConfig, f64)>,
}

/// Progress of a tuning.
pub trait TuneObserver {
    /// Candidate `index` of `total` is about to be tried.
    fn trying(&mut self, index: usize, total: usize, config: &BlockConfig);
    /// Its outcome.
    fn tried(&mut self, trial: &Trial);
}

/// Tunes on one device, keeping compiled candidates between problems.
pub struct Tuner<'g> {
    gpu: &'g Gpu,
    pub table: Table,
    pipelines: HashMap<(BlockConfig, Layout), Rc<GemmPipeline>>,
}

impl<'g> Tuner<'g> {
    pub fn new(gpu: &'g Gpu, table: Table) -> Tuner<'g> {
        Tuner {
            gpu,
            table,
            pipelines: HashMap::new(),
        }
    }

    /// The compiled pipeline of a configuration (named `tuned` in labels); split-K
    /// variants share their base configuration's compiled shader.
    pub fn pipeline(&mut self, config: BlockConfig, layout: Layout) -> Result<Rc<GemmPipeline>> {
        if let Some(p) = self.pipelines.get(&(config, layout)) {
            return Ok(p.clone());
        }
        let base = config.with_split(1);
        let base_pipeline = match self.pipelines.get(&(base, layout)) {
            Some(p) => p.clone(),
            None => {
                let spec = KernelSpec {
                    description: "a configuration of the tuned family",
                    ..KernelSpec::block("tuned", base)
                };
                let p = Rc::new(GemmPipeline::new_with(
                    self.gpu,
                    &spec,
                    layout,
                    base.variant(),
                )?);
                self.pipelines.insert((base, layout), p.clone());
                p
            }
        };
        let p = match base_pipeline.with_split(config.split_k) {
            Some(p) => Rc::new(p),
            None => anyhow::bail!("split-K factor {} is out of range", config.split_k),
        };
        self.pipelines.insert((config, layout), p.clone());
        Ok(p)
    }

    /// Tunes `problem`'s (layout, shape class): tries candidates in order until `budget`
    /// is spent (at least one is always tried), verifying each against the problem's
    /// reference and timing the ones that pass with `timer`. The winner is stored in the
    /// table (not yet saved to disk).
    pub fn tune(
        &mut self,
        problem: &Problem,
        meter: &mut Meter,
        budget: Duration,
        obs: &mut dyn TuneObserver,
    ) -> Result<Tuning> {
        let variant = Variant::simt(problem.precision);
        self.tune_variant(problem, variant, meter, budget, obs)
    }

    /// [`Tuner::tune`] among the candidates of `variant` (whose precision must be the
    /// problem's).
    pub fn tune_variant(
        &mut self,
        problem: &Problem,
        variant: Variant,
        meter: &mut Meter,
        budget: Duration,
        obs: &mut dyn TuneObserver,
    ) -> Result<Tuning> {
        let gpu = self.gpu;
        let clock = meter.method();
        anyhow::ensure!(
            variant.precision == problem.precision,
            "tuning {variant} kernels on a {} problem",
            problem.precision
        );
        let (layout, shape) = (problem.layout, problem.shape);
        let class = ShapeClass::of_batched(shape, problem.batch);
        let list = candidates_batched(gpu, shape, problem.batch, variant);
        let total = list.len();
        let started = Instant::now();
        let mut trials = Vec::with_capacity(total);
        let mut best: Option<(BlockConfig, f64)> = None;
        // Generous: the first run includes driver compilation; 0.1 GFLOP/s is a tenth of
        // the slowest software rasteriser.
        let flops = shape.checked_batch_flops(problem.batch).unwrap_or(u64::MAX);
        let first_timeout = Duration::from_secs_f64(60.0 + flops as f64 / 1e8);
        for (i, &config) in list.iter().enumerate() {
            crate::interrupt::check()?;
            if i > 0 && best.is_some() && started.elapsed() >= budget {
                trials.push(Trial {
                    config,
                    outcome: Outcome::Skipped,
                });
                continue;
            }
            obs.trying(i, total, &config);
            let outcome = self.try_one(problem, meter, config, best, first_timeout);
            if meter.method() != clock {
                // The timestamps failed and the meter moved to the host clock: start
                // again, so that all candidates are compared on one clock.
                return self.tune_variant(problem, variant, meter, budget, obs);
            }
            let outcome = match outcome {
                Ok(o) => o,
                // A hung or lost device is not a bad candidate: stop tuning.
                Err(e) if e.is::<crate::gpu::DispatchTimeout>() || gpu.errors.is_lost() => {
                    return Err(e);
                }
                Err(e) => Outcome::Failed(format!("{e:#}")),
            };
            // Ranked by the fastest sample: interference from other work on the machine
            // only ever adds time, so on a busy machine the minimum is the most
            // repeatable estimate of what the kernel can do.
            if let Outcome::Timed { best_ns, .. } = outcome
                && best.is_none_or(|(_, b)| best_ns < b)
            {
                best = Some((config, best_ns));
            }
            let trial = Trial { config, outcome };
            obs.tried(&trial);
            trials.push(trial);
        }
        gpu.errors.check()?;
        if let Some((config, best_ns)) = best {
            let median_ns = trials
                .iter()
                .find_map(|t| match t.outcome {
                    Outcome::Timed { median_ns, .. } if t.config == config => Some(median_ns),
                    _ => None,
                })
                .unwrap_or(best_ns);
            let count =
                |f: fn(&Outcome) -> bool| trials.iter().filter(|t| f(&t.outcome)).count() as u32;
            self.table.insert(Entry {
                precision: problem.precision,
                layout,
                class: class.to_string(),
                config,
                tuned_shape: format!("{}{shape}", problem.batch.prefix()),
                median_ns,
                best_ns,
                tflops: flops as f64 / median_ns / 1e3,
                candidates_timed: count(|o| {
                    matches!(o, Outcome::Timed { .. } | Outcome::Slow { .. })
                }),
                candidates_failed: count(|o| matches!(o, Outcome::Failed(_))),
                candidates_total: total as u32,
                tuned_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            });
        }
        Ok(Tuning {
            layout,
            shape,
            class,
            trials,
            best,
        })
    }

    fn try_one(
        &mut self,
        problem: &Problem,
        meter: &mut Meter,
        config: BlockConfig,
        best: Option<(BlockConfig, f64)>,
        first_timeout: Duration,
    ) -> Result<Outcome> {
        let gpu = self.gpu;
        let pipeline = self.pipeline(config, problem.layout)?;
        let binding = problem.bind(gpu, &pipeline)?;
        let (check, _) = problem.verify(
            gpu,
            &pipeline,
            &binding,
            problem.precision.tolerance(),
            first_timeout,
        )?;
        if !check.passed {
            return Ok(Outcome::Failed(format!(
                "verification failed: {}",
                check.failure()
            )));
        }
        let encode = |pass: &mut wgpu::ComputePass<'_>| pipeline.encode(pass, &binding);
        // About 50 ms of samples, 3 to 30 of them, after one untimed run (the verified
        // one may have included compilation); a candidate whose warm-up run is 3× the
        // best so far cannot win and is not sampled.
        let mut plan =
            Plan::benchmark(Duration::from_millis(50), 3, 30).with_first_timeout(first_timeout);
        plan.give_up_above = best.map(|(_, b)| Duration::from_nanos((3.0 * b) as u64));
        match meter.sample(&encode, &plan)? {
            Sampling::GaveUp { warmup } => Ok(Outcome::Slow {
                first_ns: warmup.as_nanos() as f64,
            }),
            Sampling::Sampled(s) => {
                let mut v = s.samples_ns;
                v.sort_by(f64::total_cmp);
                Ok(Outcome::Timed {
                    median_ns: v[v.len() / 2],
                    best_ns: v[0],
                    samples: v.len(),
                })
            }
        }
    }
}
