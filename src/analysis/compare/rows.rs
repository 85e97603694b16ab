//! The per-machine figures (throughput and cost on each basis, price, cost per token)
//! and the matched rows with their ratios and intervals.

use std::collections::HashMap;

use anyhow::Result;

use crate::cost::{self, Throughputs};
use crate::result::{CostField, Record, TRAINING_REPEAT_ID};
use crate::stats::repeated::{Repeated, speed_ratio};

use super::matching::*;
use super::model::*;
use super::statistics::*;

/// One machine's summary: price, and throughput and cost on each basis the file has.
pub fn machine(
    i: &Input,
    label: &str,
    step: Option<&Repeated>,
    best: &HashMap<Key, &Record>,
) -> Result<Machine> {
    let file = &i.file;
    let c = &i.cost;
    let t = Throughputs::from_result(file);
    let price_source = c
        .inputs
        .get(CostField::UsdPerHour)
        .map(|u| u.source.clone())
        .or_else(|| {
            c.inputs
                .get(CostField::CapexUsd)
                .map(|u| format!("ownership: capex {}", u.source))
        });
    let usd = c.usd_per_hour;
    let watts = c.inputs.get(CostField::Watts).map(|w| w.value);
    let measured = |basis: Basis| match basis {
        Basis::WorkloadStep => c
            .joules_per_pflop_training_measured
            .filter(|_| c.training_work == Some(crate::result::WorkBasis::WorkloadStep)),
        Basis::MlpTraining => file
            .training
            .as_ref()
            .and_then(|t| t.power.as_ref())
            .and_then(|p| p.joules_per_pflop),
        Basis::BestGemm => c.joules_per_pflop_measured,
    };
    let figure = |basis: Basis, what: String, tflops: f64| Figure {
        basis,
        what,
        tflops,
        usd_per_pflop: usd.map(|u| cost::model::usd_per_pflop(u, tflops)),
        joules_per_pflop: watts.map(|w| cost::model::joules_per_pflop(w, tflops)),
        joules_per_pflop_measured: measured(basis),
    };
    let mut figures = Vec::new();
    let workload = file.workload.as_ref();
    if let (Some(w), Some(s)) = (workload, step)
        && let Some(t) = geo_mean(&s.times_ns)
    {
        figures.push(figure(
            Basis::WorkloadStep,
            format!("the {} v{} training step", w.name, w.version),
            w.step_flops as f64 / t / 1e3,
        ));
    }
    if let Some(tr) = &file.training {
        // The step time at the geometric mean of the repetitions where there are several.
        let times = file
            .repeatability
            .as_ref()
            .and_then(|r| r.records.iter().find(|e| e.id == TRAINING_REPEAT_ID))
            .map_or_else(|| vec![tr.step_time.median_ns], |e| e.medians_ns.clone());
        if let Some(t) = geo_mean(&times) {
            figures.push(figure(
                Basis::MlpTraining,
                "the MLP training run".into(),
                tr.flops_per_step as f64 / t / 1e3,
            ));
        }
    }
    if let Some(g) = t.gemm_tflops.filter(|g| g.is_finite() && *g > 0.0) {
        figures.push(figure(Basis::BestGemm, "the best GEMM".into(), g));
    }
    let per_token = c.per_token.as_ref().map(|p| TokenFigure {
        model: p.model.clone(),
        tokens_per_second: p.tokens_per_second,
        usd_per_million_tokens: p.usd_per_million_tokens,
        joules_per_million_tokens: p.joules_per_million_tokens,
        joules_per_million_tokens_measured: p.joules_per_million_tokens_measured,
        training_overhead: p.training_overhead,
    });
    let mut points: Vec<Point> = best
        .values()
        .filter_map(|r| {
            Some(Point {
                flops: r.flops,
                tflops: r.tflops.as_ref()?.median,
                layout: r.layout.as_str().into(),
                role: r
                    .role
                    .as_deref()
                    .and_then(|x| x.rsplit_once(": "))
                    .map_or("other", |(_, p)| p)
                    .into(),
            })
        })
        .collect();
    points.sort_by(|a, b| a.flops.cmp(&b.flops).then(a.tflops.total_cmp(&b.tflops)));
    Ok(Machine {
        label: label.to_string(),
        path: i.path.clone(),
        adapter: file.adapter.name.clone(),
        backend: file.adapter.backend.clone(),
        runtime: file.runtime.as_ref().map_or_else(
            || "wgpu".to_string(),
            |r| format!("{} {}", r.name, r.version),
        ),
        wgpu: file.is_wgpu(),
        device_type: file.adapter.device_type.clone(),
        software: file.adapter.device_type == "cpu",
        created_at: file.created_at.clone(),
        tool_version: format!("{} {}", file.tool.version, file.tool.git_commit),
        complete: file.complete,
        workload: workload.map(|w| format!("{} v{}", w.name, w.version)),
        workload_digest: workload.map(|w| w.digest.clone()),
        repetitions: workload.map_or(1, |w| w.step_times_ns.len().max(1) as u32),
        catalog_entry: c.catalog_entry.clone(),
        pricing: c.pricing.map(|p| p.as_str().to_string()),
        usd_per_hour: usd,
        price_source,
        watts,
        figures,
        work: workload.map(|w| w.work_text()),
        kernel_path: workload.and_then(|w| paths_of(file, w)),
        per_token,
        note: c.note.clone(),
        points,
        sustain: file.sustain.as_ref().map(|s| SustainSeries {
            gemm: format!("{} {}x{}x{} {}", s.layout, s.m, s.n, s.k, s.kernel),
            points: s.windows.iter().map(|w| (w.start_s, w.tflops)).collect(),
            throttled: s.throttled,
        }),
    })
}

/// The matched rows: baseline keys found in at least one other file.
pub fn rows(
    inputs: &[Input],
    machines: &[Machine],
    best: &[(Vec<Key>, HashMap<Key, &Record>)],
    base_order: &[Key],
    baseline: usize,
    vendor: Option<usize>,
) -> Result<Vec<Row>> {
    let base_map = &best[baseline].1;
    let mut rows = Vec::new();
    for key in base_order {
        let present: Vec<Option<&Record>> = best.iter().map(|(_, m)| m.get(key).copied()).collect();
        if present
            .iter()
            .enumerate()
            .all(|(i, r)| i == baseline || r.is_none())
        {
            continue;
        }
        let base_rec = base_map[key];
        let side = |i: usize, r: &Record| -> Result<Repeated> {
            Ok(Repeated {
                times_ns: medians(&inputs[i].file, r),
                within: vec![sampled(&inputs[i].path, r)?],
            })
        };
        let base_side = side(baseline, base_rec)?;
        let mut cells = Vec::new();
        for (i, r) in present.iter().enumerate() {
            let Some(r) = r else {
                cells.push(None);
                continue;
            };
            let (Some(tf), Some(tm)) = (r.tflops.as_ref(), r.timing.as_ref()) else {
                cells.push(None);
                continue;
            };
            let (ratio, interval) = if i == baseline {
                (None, None)
            } else {
                match speed_ratio(&base_side, &side(i, r)?) {
                    Some((q, iv)) => (Some(q), Some(iv)),
                    None => (None, None),
                }
            };
            cells.push(Some(Cell {
                record: r.id.clone(),
                kernel: r.kernel.name.clone(),
                tflops: tf.median,
                median_ns: tm.median_ns,
                samples: tm.samples,
                repetitions: medians(&inputs[i].file, r).len() as u32,
                ratio,
                interval,
                usd_per_pflop: machines[i]
                    .usd_per_hour
                    .map(|u| cost::model::usd_per_pflop(u, tf.median)),
                measured_watts: r.power.as_ref().and_then(|p| p.mean_watts),
                joules_per_pflop_measured: r.power.as_ref().and_then(|p| p.joules_per_pflop),
                vs_vendor: None,
                noisy: noise(&inputs[i].file, r),
            }));
        }
        if let Some(v) = vendor {
            let vendor_tf = cells[v].as_ref().map(|c| c.tflops);
            for (i, cell) in cells.iter_mut().enumerate() {
                if let (Some(c), Some(vt)) = (cell.as_mut(), vendor_tf)
                    && machines[i].wgpu
                    && vt > 0.0
                {
                    c.vs_vendor = Some(c.tflops / vt);
                }
            }
        }
        rows.push(Row {
            kind: key.kind.to_string(),
            precision: key.precision.to_string(),
            layout: key.layout.to_string(),
            m: key.m,
            n: key.n,
            k: key.k,
            batch: base_rec.batch,
            shared_b: base_rec.shared_b,
            flops: base_rec.flops,
            role: base_rec
                .role
                .as_deref()
                .map(|r| r.rsplit_once(": ").map_or(r, |(_, p)| p).to_string()),
            cells,
        });
    }
    Ok(rows)
}

/// Where a workload's products ran: its recorded paths, else (older files) those of its
/// records, the shader cores where a record names none.
pub fn paths_of(
    file: &crate::result::ResultFile,
    w: &crate::result::WorkloadRecord,
) -> Option<String> {
    if !w.paths.is_empty() {
        return Some(crate::result::workload::paths_key(&w.paths));
    }
    let records = crate::result::validate::workload::products(file, w).ok()?;
    let mut paths = Vec::new();
    for r in records {
        let p = r.kernel.path.unwrap_or(crate::types::KernelPath::Simt);
        if !paths.contains(&p) {
            paths.push(p);
        }
    }
    (!paths.is_empty()).then(|| crate::result::workload::paths_key(&paths))
}
