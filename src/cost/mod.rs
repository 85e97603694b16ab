//! What measured work costs: the accelerator catalog ([`catalog`]), the price inputs and
//! their precedence ([`price`]), the formulas ([`model`]) and the throughputs a result
//! file offers ([`throughput`]). [`price_file`] turns a result file and the price inputs
//! into its `cost` section; running it again on the priced file with no new inputs gives
//! the same section, so a published file can always be re-checked or re-priced.

pub mod catalog;
pub mod model;
pub mod price;
pub mod throughput;

use anyhow::Result;

pub use price::{PriceFile, PriceSpec};
pub use throughput::Throughputs;

use crate::result::{Cost, CostThroughput, Efficiency, PrecisionCost, ResultFile, TokenCost};

/// What the cost per training token leaves out, said beside the figure.
pub const LEAVES_OUT: &str = "matmul work only, at the measured throughput: elementwise work \
                              (norms, activations, softmax, the optimizer), communication and \
                              data loading are left out";

/// Prices a result file: its `cost` section from the price inputs, the inputs already
/// recorded in it, and the built-in catalog.
pub fn price_file(file: &ResultFile, spec: &PriceSpec) -> Result<Cost> {
    let entry = catalog::builtin().find(&file.adapter);
    let resolved = price::resolve(spec, &file.adapter, entry, file.cost.as_ref())?;
    let awaiting = resolved.awaiting_watts.clone();
    let cost = priced(file, resolved, entry);
    match awaiting {
        // Ownership without nameplate watts prices from the measured ones or not at all.
        Some(why) if cost.usd_per_hour.is_none() => Err(crate::error::input_error(format!(
            "{why}; this file has no measured watts of its training work or best GEMM"
        ))),
        _ => Ok(cost),
    }
}

/// The `cost` section of a result file from price inputs already chosen
/// ([`price::resolve`]) and its catalog entry: what a run does once it has measured,
/// with the inputs it resolved before it started.
pub fn priced(
    file: &ResultFile,
    mut resolved: price::Resolved,
    entry: Option<&catalog::Entry>,
) -> Cost {
    let main = Throughputs::from_result(file);
    let mut cost = compute(&main, resolved.clone(), entry);
    measured(file, &mut cost);
    let awaiting = resolved.awaiting_watts.clone();
    // Ownership: the energy part of the hourly price at the measured watts, where the run
    // measured the training work's power (and the only way to a price where no nameplate
    // watts were found).
    let mut energy = None;
    // The training work's watts; where it has none (a run of shapes or triplets, or a
    // training phase without a figure), the best GEMM's.
    let gemm_watts = || {
        let id = cost.throughput.gemm_record.as_ref()?;
        let r = file.records.iter().find(|r| &r.id == id)?;
        Some((
            r.power.as_ref()?.mean_watts?,
            format!("the best GEMM, {id}"),
        ))
    };
    let watts = match cost.measured_watts {
        Some(w) => Some((w, "the training work".to_string())),
        None => gemm_watts(),
    };
    if (cost.pricing == Some(crate::result::Pricing::Ownership) || awaiting.is_some())
        && let (Some((w, what)), Some(p)) = (watts, &file.power)
    {
        let get = |f| {
            resolved
                .inputs
                .get(f)
                .map(|i: &crate::result::CostInput| i.value)
        };
        if let (Some(capex), Some(life), Some(util), Some(kwh), Some(pue)) = (
            get(crate::result::CostField::CapexUsd),
            get(crate::result::CostField::LifetimeYears),
            get(crate::result::CostField::Utilization),
            get(crate::result::CostField::UsdPerKwh),
            get(crate::result::CostField::Pue),
        ) {
            resolved.usd_per_hour = Some(model::ownership_usd_per_hour(
                capex, life, util, w, pue, kwh,
            ));
            resolved.pricing = Some(crate::result::Pricing::Ownership);
            cost = compute(&main, resolved.clone(), entry);
            measured(file, &mut cost);
            cost.ownership_watts = Some(w);
            energy = Some(format!(
                "ownership at the measured {} W of {} ({}), not the nameplate watts",
                crate::util::fmt_sig(w, 4),
                crate::util::fmt::clean(&what),
                crate::util::fmt::clean(&p.method)
            ));
        }
    }
    cost.usd_per_hour_energy = energy;
    if let (Some(why), None) = (awaiting, cost.usd_per_hour) {
        let missing = format!(
            "{why}: no price, since the run measured no watts (see the warnings); `flopcost \
             cost FILE --capex-usd X --watts W --out PRICED` prices it at nameplate watts"
        );
        cost.note = Some(match cost.note.take() {
            Some(n) => format!("{missing}; {n}"),
            None => missing,
        });
    }
    let precisions = Throughputs::precisions(file);
    if precisions.len() > 1 {
        for p in precisions {
            let c = compute(
                &Throughputs::from_result_in(file, p),
                resolved.clone(),
                entry,
            );
            cost.by_precision.insert(
                p.as_str().to_string(),
                PrecisionCost {
                    throughput: c.throughput,
                    training_work_tflops: c.training_work_tflops,
                    usd_per_pflop: c.usd_per_pflop,
                    usd_per_pflop_training: c
                        .usd_per_hour
                        .zip(c.training_work_tflops)
                        .map(|(u, tf)| model::usd_per_pflop(u, tf)),
                    joules_per_pflop: c.joules_per_pflop,
                    joules_per_pflop_training: c.joules_per_pflop_training,
                    efficiency: c.efficiency,
                    reference_run: None,
                },
            );
        }
    }
    cost
}

/// The measured-energy figures of a file whose run read a power sensor (`power`): the
/// best GEMM's, the training work's and the cost of a training token's.
fn measured(file: &ResultFile, cost: &mut Cost) {
    if file.power.is_none() {
        return;
    }
    if let Some(n) = &cost.note {
        cost.note = Some(n.replace(
            price::NO_WATTS_NOTE,
            "no nameplate power: give --watts W for nameplate joules per PFLOP (the measured \
             ones are in the *_measured figures)",
        ));
    }
    let fig = |r: &crate::result::Record| r.power.as_ref().and_then(|p| p.joules_per_pflop);
    cost.joules_per_pflop_measured = cost
        .throughput
        .gemm_record
        .as_ref()
        .and_then(|id| file.records.iter().find(|r| &r.id == id))
        .and_then(fig);
    // A workload step: each product's mean watts over its median time.
    let step = file.workload.as_ref().and_then(|w| {
        let records = crate::result::validate::workload::products(file, w).ok()?;
        let parts: Vec<(f64, f64, u64)> = records.iter().map(|r| part(r)).collect::<Option<_>>()?;
        let per_mtok =
            w.model_step
                .as_ref()
                .zip(w.definition.model_weights())
                .map(|(m, weights)| {
                    let model_joules: f64 = parts
                        .iter()
                        .zip(&weights)
                        .map(|((w, ns, _), k)| f64::from(*k) * w * ns * 1e-9)
                        .sum();
                    model_joules / f64::from(m.tokens) * 1e6
                });
        let (j, w) = energy(&parts)?;
        Some((j, w, per_mtok.filter(|v| v.is_finite() && *v > 0.0)))
    });
    match cost.training_work {
        Some(crate::result::WorkBasis::WorkloadStep) => {
            if let Some((j, w, per_mtok)) = step {
                cost.joules_per_pflop_training_measured = Some(j);
                cost.measured_watts = Some(w);
                if let Some(t) = cost.per_token.as_mut() {
                    t.joules_per_million_tokens_measured = per_mtok;
                }
            }
        }
        Some(crate::result::WorkBasis::Triplets) => {
            // The training-layer products the triplet figure is made of.
            let ids = Throughputs::from_result(file).triplet_records;
            let parts: Option<Vec<(f64, f64, u64)>> = ids
                .iter()
                .map(|id| part(file.records.iter().find(|r| &r.id == id)?))
                .collect();
            if let Some((j, w)) = parts.as_deref().and_then(energy) {
                cost.joules_per_pflop_training_measured = Some(j);
                cost.measured_watts = Some(w);
            }
        }
        Some(crate::result::WorkBasis::Training) => {
            let p = file.training.as_ref().and_then(|t| t.power.as_ref());
            cost.joules_per_pflop_training_measured = p.and_then(|p| p.joules_per_pflop);
            cost.measured_watts = p.and_then(|p| p.mean_watts);
        }
        _ => {}
    }
}

/// A product's (mean watts, median ns, FLOPs), where it has a power figure and a time.
fn part(r: &crate::result::Record) -> Option<(f64, f64, u64)> {
    Some((
        r.power.as_ref()?.mean_watts?,
        r.timing.as_ref()?.median_ns,
        r.flops,
    ))
}

/// Joules per 10¹⁵ FLOP and mean watts of products run one after another, each given as
/// (mean watts, median ns, FLOPs): Σ W×t / Σ FLOPs and Σ W×t / Σ t.
fn energy(parts: &[(f64, f64, u64)]) -> Option<(f64, f64)> {
    let joules: f64 = parts.iter().map(|(w, ns, _)| w * ns * 1e-9).sum();
    let seconds: f64 = parts.iter().map(|(_, ns, _)| ns * 1e-9).sum();
    let flops: f64 = parts.iter().map(|(_, _, f)| *f as f64).sum();
    let ok = |v: f64| v.is_finite() && v > 0.0;
    (ok(joules) && ok(seconds) && ok(flops)).then(|| (joules / flops * 1e15, joules / seconds))
}

fn positive(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite() && *x > 0.0)
}

/// The cost figures for given throughputs and chosen inputs.
pub fn compute(t: &Throughputs, r: price::Resolved, entry: Option<&catalog::Entry>) -> Cost {
    let usd = r.usd_per_hour;
    let gemm = positive(t.gemm_tflops);
    let training = positive(t.training_tflops);
    let work = t.training_work().filter(|(v, _)| *v > 0.0 && v.is_finite());
    let per_pflop = |tf: Option<f64>| Some(model::usd_per_pflop(usd?, tf?));
    let joules = |tf: Option<f64>| Some(model::joules_per_pflop(r.watts?, tf?));
    let precision = t.gemm_precision;
    let peak = entry.and_then(|e| e.peak_tflops(precision.unwrap_or_default().as_str()));
    Cost {
        catalog_entry: entry.map(|e| e.id.clone()),
        pricing: r.pricing,
        usd_per_hour: usd,
        throughput: CostThroughput {
            gemm_tflops: t.gemm_tflops,
            gemm_record: t.gemm_record.clone(),
            training_tflops: t.training_tflops,
            triplets_tflops: t.triplets_tflops,
            suites: t.suites.clone(),
        },
        usd_per_pflop: per_pflop(gemm),
        usd_per_pflop_training: per_pflop(training),
        usd_per_pflop_workload: per_pflop(positive(t.workload_tflops)),
        usd_per_pflop_suites: t
            .suites
            .iter()
            .filter_map(|(k, tf)| Some((k.clone(), per_pflop(positive(Some(*tf)))?)))
            .collect(),
        joules_per_pflop: joules(gemm),
        joules_per_pflop_training: joules(work.map(|(tf, _)| tf)),
        joules_per_pflop_measured: None,
        joules_per_pflop_training_measured: None,
        measured_watts: None,
        ownership_watts: None,
        usd_per_hour_energy: None,
        efficiency: Efficiency {
            precision: precision.map(|p| p.as_str().to_string()),
            peak_tflops: peak.map(|p| p.value),
            peak_source: peak.map(|p| {
                format!(
                    "catalog {}: {}",
                    entry.map_or("", |e| e.id.as_str()),
                    p.cite()
                )
            }),
            gemm: peak.and_then(|p| Some(model::efficiency(gemm?, p.value))),
            training: peak.and_then(|p| Some(model::efficiency(work?.0, p.value))),
        },
        per_token: t.model_step.as_ref().map(|(m, tps, overhead)| TokenCost {
            model: m.clone(),
            tokens_per_second: *tps,
            usd_per_million_tokens: usd.map(|u| model::usd_per_million_tokens(u, *tps)),
            joules_per_million_tokens: r.watts.map(|w| model::joules_per_million_tokens(w, *tps)),
            joules_per_million_tokens_measured: None,
            training_overhead: *overhead,
            leaves_out: LEAVES_OUT.into(),
        }),
        reference_run: None,
        training_work: work.map(|(_, b)| b),
        training_work_tflops: work.map(|(tf, _)| tf),
        note: match (
            r.unmatched,
            price::missing_note(usd.is_some(), r.watts.is_some()),
        ) {
            (Some(u), Some(m)) => Some(format!("{u}; {m}")),
            (u, m) => u.or(m),
        },
        inputs: r.inputs,
        by_precision: Default::default(),
    }
}
