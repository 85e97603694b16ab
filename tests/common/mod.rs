//! Shared helpers for integration tests: the binary under test and one device per test
//! process (lavapipe in CI).
#![allow(dead_code)]

use std::sync::OnceLock;

use flopcost::gpu::{Gpu, adapter};

/// The `flopcost` binary, with no colour or terminal tricks, and a tuning cache in a
/// temporary directory of this test process (never the user's).
pub fn flopcost() -> assert_cmd::Command {
    static CACHE: OnceLock<tempfile::TempDir> = OnceLock::new();
    let cache = CACHE.get_or_init(|| tempfile::tempdir().expect("temporary directory"));
    let mut c = assert_cmd::Command::cargo_bin("flopcost").expect("binary builds");
    c.env("NO_COLOR", "1");
    c.env("FLOPCOST_CACHE_DIR", cache.path());
    c
}

/// The path of a file in `tests/fixtures/`.
pub fn fixture_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The lavapipe fixture (the small workload on Vulkan), read.
pub fn fixture_file() -> flopcost::result::ResultFile {
    flopcost::result::read(&fixture_path("lavapipe-vulkan.json")).unwrap()
}

/// Writes a result file as flopcost would (pretty JSON).
pub fn write_file(path: &std::path::Path, file: &flopcost::result::ResultFile) {
    std::fs::write(path, serde_json::to_vec_pretty(file).unwrap()).unwrap();
}

/// The device tests run on: `FLOPCOST_TEST_ADAPTER` (index or name) or the best one.
/// Tests need a real adapter; without one they fail with the remedy, never pass silently.
pub fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| {
        let selector = std::env::var("FLOPCOST_TEST_ADAPTER")
            .map(|s| adapter::AdapterSelector::parse(&s))
            .unwrap_or(adapter::AdapterSelector::Best);
        let filter = adapter::BackendFilter::All;
        let choice = adapter::choose(adapter::enumerate(filter), &selector, filter)
            .unwrap_or_else(|e| panic!("tests need a GPU adapter: {e:#}"));
        eprintln!("testing on adapter: {}", choice.entry.info.name);
        Gpu::open(choice.entry).expect("device opens")
    })
}

/// `file` with every time multiplied by `factor` (samples, medians, histograms, step
/// times), every derived figure recomputed, and its cost section priced again: the same
/// machine, `factor` times slower.
pub fn slowed(mut f: flopcost::result::ResultFile, factor: f64) -> flopcost::result::ResultFile {
    use flopcost::stats;
    let scale = |t: &flopcost::result::Timing| -> flopcost::result::Timing {
        let h = stats::decode_histogram(&t.histogram).unwrap();
        let samples: Vec<f64> = h
            .iter_recorded()
            .flat_map(|v| {
                std::iter::repeat_n(
                    h.median_equivalent(v.value_iterated_to()) as f64 * factor,
                    v.count_at_value() as usize,
                )
            })
            .collect();
        let mut s =
            flopcost::result::Timing::from_samples(t.method, &samples, t.warmup_runs).unwrap();
        // The recorded summary is of the exact samples; scale it the same way.
        for (dst, src) in [
            (&mut s.median_ns, t.median_ns),
            (&mut s.p10_ns, t.p10_ns),
            (&mut s.p90_ns, t.p90_ns),
            (&mut s.p99_ns, t.p99_ns),
            (&mut s.min_ns, t.min_ns),
            (&mut s.max_ns, t.max_ns),
            (&mut s.mean_ns, t.mean_ns),
            (&mut s.stddev_ns, t.stddev_ns),
        ] {
            *dst = src * factor;
        }
        s.cv = t.cv;
        s.gpu_host_ratio = t.gpu_host_ratio;
        s
    };
    for r in &mut f.records {
        if let Some(t) = r.timing.as_ref() {
            let t = scale(t);
            r.tflops = Some(flopcost::result::Tflops {
                median: r.flops as f64 / t.median_ns / 1e3,
                best: r.flops as f64 / t.min_ns / 1e3,
            });
            r.efficiency = r.efficiency.map(|e| e / factor);
            r.timing = Some(t);
        }
    }
    for b in &mut f.triplets {
        for l in &mut b.layers {
            let t = l.times.times().map(|x| x * factor);
            l.times = flopcost::result::TripletTimes::new(t, l.times.flops);
        }
        let t = b.total.times().map(|x| x * factor);
        b.total = flopcost::result::TripletTimes::new(t, b.total.flops);
    }
    let best = flopcost::result::best_record(&f.records)
        .and_then(|r| r.tflops.as_ref())
        .map(|t| t.median);
    if let Some(t) = f.training.as_mut() {
        t.step_time = scale(&t.step_time);
        t.tflops /= factor;
        t.tokens_per_second /= factor;
        t.seconds_to_target = t.seconds_to_target.map(|s| s * factor);
        t.best_gemm_tflops = best;
        t.tflops_vs_best_gemm = best.map(|b| t.tflops / b);
    }
    if let Some(r) = f.repeatability.as_mut() {
        for e in &mut r.records {
            e.medians_ns.iter_mut().for_each(|m| *m *= factor);
            for h in &mut e.histograms {
                let decoded = stats::decode_histogram(h).unwrap();
                let mut samples = Vec::new();
                for v in decoded.iter_recorded() {
                    let x = decoded.median_equivalent(v.value_iterated_to()) as f64 * factor;
                    samples.extend(std::iter::repeat_n(x, v.count_at_value() as usize));
                }
                *h = stats::encode_histogram(&stats::histogram(&samples).unwrap()).unwrap();
            }
        }
    }
    if let Some(w) = f.workload.as_mut() {
        w.step_times_ns.iter_mut().for_each(|t| *t *= factor);
        if let Some(m) = w.model_step.as_mut() {
            m.step_times_ns.iter_mut().for_each(|t| *t *= factor);
            m.tokens_per_second /= factor;
            // The MLP and the best GEMM both slowed by `factor`: the overhead stays.
        }
    }
    f.cost = None;
    let c = flopcost::cost::price_file(&f, &flopcost::cost::price::PriceSpec::default()).unwrap();
    f.cost = Some(c);
    f
}
