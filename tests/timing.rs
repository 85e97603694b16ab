//! Timing on a real adapter: records are self-consistent and pass the validator.

mod common;

use std::time::Duration;

use flopcost::kernels::{self};
use flopcost::result::{Record, validate};
use flopcost::stats;
use flopcost::types::{Layout, Shape};
use flopcost::workloads::runner::{Observer, RunSettings, Runner};
use flopcost::workloads::{Case, Step, Suite};

#[derive(Default)]
struct Collect {
    records: Vec<Record>,
    warnings: Vec<String>,
    planned: u64,
}

impl Observer for Collect {
    fn planned(&mut self, count: u64) {
        self.planned += count;
    }
    fn started(&mut self, _label: &str) {}
    fn finished(&mut self, record: &Record) -> anyhow::Result<()> {
        self.records.push(record.clone());
        Ok(())
    }
    fn skipped(&mut self, _label: &str, _why: &str) {}
    fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }
}

fn settings(timestamps: bool) -> RunSettings {
    RunSettings {
        seed: 3,
        time_budget: Duration::from_millis(150),
        total_budget: Duration::from_secs(60),
        max_samples: 40,
        min_samples: 5,
        timestamps,
        dispatch_timeout: None,
    }
}

fn run(timestamps: bool) -> Collect {
    let gpu = common::gpu();
    let mut runner = Runner::new(gpu, kernels::default_kernels(), settings(timestamps)).unwrap();
    let suite = Suite {
        name: "test".into(),
        steps: vec![Step::Cases(vec![
            Case::new(Layout::Nn, Shape::new(96, 80, 72)),
            Case::new(Layout::Tn, Shape::new(31, 47, 53)),
        ])],
        time_budget: Duration::from_millis(150),
        total_budget: Duration::from_secs(60),
    };
    let mut obs = Collect::default();
    runner.run_suite(&suite, &mut obs).unwrap();
    assert!(runner.failures.is_empty());
    obs
}

fn check_records(obs: &Collect, method: &str) {
    assert_eq!(obs.records.len() as u64, obs.planned);
    for r in &obs.records {
        let problems: Vec<String> = validate::record_problems(r);
        assert!(problems.is_empty(), "{}: {problems:?}", r.id);
        let t = r.timing.as_ref().expect("verified records are timed");
        let tf = r.tflops.as_ref().unwrap();
        assert_eq!(t.method.as_str(), method);
        assert!(t.samples >= 5 && t.samples <= 40, "{} samples", t.samples);
        assert!(t.min_ns <= t.median_ns && t.median_ns <= t.max_ns);
        assert!(tf.best >= tf.median);
        let h = stats::decode_histogram(&t.histogram).unwrap();
        assert_eq!(h.len(), t.samples);
        assert!(h.value_at_quantile(0.5) as f64 >= 0.99 * t.min_ns);
    }
}

#[test]
fn gpu_timestamp_records_are_self_consistent() {
    let gpu = common::gpu();
    let obs = run(true);
    let method = if gpu.has_timestamps() {
        "gpu_timestamp"
    } else {
        eprintln!("adapter has no timestamp queries: checking the host-clock fallback instead");
        "host_clock"
    };
    check_records(&obs, method);
}

#[test]
fn host_clock_records_are_self_consistent() {
    check_records(&run(false), "host_clock");
}
