//! Measured power: each phase's figure recomputed from its own parts (energy = mean watts
//! × seconds, joules per PFLOP = mean watts × 1000 / the phase's throughput, each within
//! 1%), a figure only with the samples it needs, and the sampler's section present and
//! plausible wherever a phase claims one.

use super::common::finite_pos;
use crate::measure::power::{ABOVE_BOARD, MIN_SAMPLES};
use crate::result::power::PhasePower;
use crate::result::types::ResultFile;

/// How closely energy and joules per PFLOP must follow from the mean watts.
pub const POWER_SLACK: f64 = 0.01;

/// No accelerator draws this much (watts): a figure above it is not a measurement.
const MAX_WATTS: f64 = 100_000.0;

fn near(a: f64, b: f64) -> bool {
    a.is_finite() && b.is_finite() && (a - b).abs() <= POWER_SLACK * a.abs().max(b.abs())
}

fn phase(what: &str, p: &PhasePower, tflops: Option<f64>, board: Option<f64>) -> Vec<String> {
    let mut out = Vec::new();
    if !(p.seconds.is_finite() && p.seconds >= 0.0 && p.seconds <= 1e6) {
        out.push(format!(
            "{what}: power.seconds {} is not a duration",
            p.seconds
        ));
    }
    match (p.mean_watts, &p.none_reason) {
        (Some(w), None) => {
            if !(finite_pos(w) && w <= MAX_WATTS) {
                out.push(format!("{what}: power.mean_watts {w} is not a power"));
            }
            if let Some(b) = board
                && w > ABOVE_BOARD * b
            {
                out.push(format!(
                    "{what}: power.mean_watts {w} is above {:.0}% of the board's {b} W",
                    ABOVE_BOARD * 100.0
                ));
            }
            if p.samples < MIN_SAMPLES {
                out.push(format!(
                    "{what}: a power figure from {} samples (at least {MIN_SAMPLES} are needed)",
                    p.samples
                ));
            }
            match p.energy_joules {
                Some(e) if near(e, w * p.seconds) => {}
                e => out.push(format!(
                    "{what}: power.energy_joules {e:?} is not mean_watts × seconds ({})",
                    w * p.seconds
                )),
            }
            match (p.joules_per_pflop, tflops) {
                (Some(j), Some(t)) if finite_pos(t) && near(j, w * 1e3 / t) => {}
                (None, None) => {}
                (j, t) => out.push(format!(
                    "{what}: power.joules_per_pflop {j:?} does not follow from {w} W at {t:?} \
                     TFLOP/s"
                )),
            }
        }
        (None, Some(_)) => {
            if p.energy_joules.is_some() || p.joules_per_pflop.is_some() {
                out.push(format!("{what}: energy figures without mean watts"));
            }
        }
        (Some(_), Some(_)) => {
            out.push(format!("{what}: both a power figure and a reason for none"))
        }
        (None, None) => out.push(format!("{what}: power has neither a figure nor a reason")),
    }
    out
}

pub fn check(file: &ResultFile) -> Vec<String> {
    let mut out = Vec::new();
    let section = file.power.as_ref();
    if let Some(s) = section {
        if !finite_pos(s.interval_ms) {
            out.push(format!(
                "power.interval_ms {} is not an interval",
                s.interval_ms
            ));
        }
        if let Some(w) = s.idle_watts
            && !(finite_pos(w) && w <= MAX_WATTS)
        {
            out.push(format!("power.idle_watts {w} is not a power"));
        }
        if let Some(b) = s.board_watts
            && !(finite_pos(b) && b <= MAX_WATTS)
        {
            out.push(format!("power.board_watts {b} is not a power"));
        }
    }
    let board = section.and_then(|s| s.board_watts);
    let mut phases: Vec<(String, &PhasePower, Option<f64>)> = file
        .records
        .iter()
        .filter_map(|r| {
            r.power.as_ref().map(|p| {
                (
                    format!("record {}", r.id),
                    p,
                    r.tflops.as_ref().map(|t| t.median),
                )
            })
        })
        .collect();
    for t in file.training.iter().chain(&file.more_training) {
        if let Some(p) = &t.power {
            phases.push(("training".into(), p, Some(t.tflops)));
        }
    }
    if let Some(s) = &file.sustain
        && let Some(p) = &s.power
    {
        let t = s.median_window_tflops();
        phases.push(("sustain".into(), p, Some(t).filter(|t| *t > 0.0)));
    }
    if let Some(pk) = &file.peaks {
        let rate = |m: &crate::result::PeakMethod| m.work_per_run / m.best_ns / 1e3;
        let mut arith: Vec<(String, &crate::result::PeakMethod)> =
            vec![("peak fma_f32".into(), &pk.fma_f32)];
        arith.extend(pk.fma_f16.iter().map(|m| ("peak fma_f16".to_string(), m)));
        arith.extend(pk.matrix.iter().map(|m| {
            (
                format!("peak matrix {} {}", m.fragment, m.accumulator),
                &m.method,
            )
        }));
        for (what, m) in arith {
            if let Some(p) = &m.power {
                phases.push((what, p, Some(rate(m))));
            }
        }
        if let Some(p) = &pk.copy.power {
            phases.push(("peak copy".into(), p, None));
        }
    }
    for (what, p, tflops) in phases {
        match section {
            None => out.push(format!(
                "{what}: a power figure but no power section saying where it came from"
            )),
            Some(s) if s.source != p.source => out.push(format!(
                "{what}: power from {:?}, but the run's source is {:?}",
                p.source, s.source
            )),
            Some(_) => {}
        }
        out.extend(phase(&what, p, tflops, board));
    }
    out
}
