//! The contract's rules, each against the fake device and clock.

use std::time::Duration;

use super::fake::{FakeClock, FakeTarget};
use super::*;

const MS: Duration = Duration::from_millis(1);

fn sampler(clock: &FakeClock) -> Sampler<FakeClock> {
    Sampler::with_clock(clock.clone(), true).with_interrupt(|| Ok(()))
}

fn sampled(o: Outcome) -> Sampled {
    match o {
        Outcome::Sampled(s) => s,
        other => panic!("expected samples, got {other:?}"),
    }
}

#[test]
fn warm_up_runs_a_tenth_of_the_budget_at_most_fifty_times_and_not_after_a_long_first_run() {
    let clock = FakeClock::default();
    let mut s = sampler(&clock);
    let mut t = FakeTarget::new(&clock, 10 * MS);
    let out = sampled(
        s.sample(&mut t, &Plan::benchmark(Duration::from_secs(1), 10, 1000))
            .unwrap(),
    );
    // 100 ms of warm-up at 10 ms a run.
    assert!((10..=11).contains(&out.warmup_runs), "{}", out.warmup_runs);

    let mut t = FakeTarget::new(&clock, Duration::from_micros(100));
    let out = sampled(
        s.sample(&mut t, &Plan::benchmark(Duration::from_secs(1), 10, 1000))
            .unwrap(),
    );
    assert_eq!(out.warmup_runs, MAX_WARMUP_RUNS);

    // The verified run took longer than the whole budget: it was the warm-up.
    let mut t = FakeTarget::new(&clock, 2 * Duration::from_secs(1));
    let plan =
        Plan::benchmark(Duration::from_secs(1), 10, 1000).after_first_run(Duration::from_secs(2));
    let out = sampled(s.sample(&mut t, &plan).unwrap());
    assert_eq!(out.warmup_runs, 0);
    assert!(t.submissions.iter().all(|(_, ts, _)| *ts), "no untimed run");
}

#[test]
fn sampling_stops_at_the_budget_in_batches_of_a_tenth_of_it() {
    let clock = FakeClock::default();
    let mut s = sampler(&clock);
    let mut t = FakeTarget::new(&clock, MS);
    let budget = Duration::from_secs(1);
    let start = clock.now();
    let out = sampled(
        s.sample(&mut t, &Plan::benchmark(budget, 10, 100_000))
            .unwrap(),
    );
    let took = clock.now() - start;
    // About the budget's worth of samples; the last batch may run over by one batch.
    assert!(
        (850..=1150).contains(&out.samples_ns.len()),
        "{}",
        out.samples_ns.len()
    );
    assert!(took < budget + budget / 10 + budget / 5, "{took:?}");
    let timed: Vec<usize> = t
        .submissions
        .iter()
        .filter(|(_, ts, _)| *ts)
        .map(|(n, _, _)| *n)
        .collect();
    assert!(timed.iter().all(|&n| (90..=100).contains(&n)), "{timed:?}");
    assert_eq!(out.method, TimingMethod::GpuTimestamp);
    assert!(out.samples_ns.iter().all(|&v| (v - 1e6).abs() < 1.0));
}

#[test]
fn the_sample_cap_and_the_minimum_are_kept() {
    let clock = FakeClock::default();
    let mut s = sampler(&clock);
    let mut t = FakeTarget::new(&clock, MS);
    let out = sampled(
        s.sample(&mut t, &Plan::benchmark(Duration::from_secs(10), 10, 20))
            .unwrap(),
    );
    assert_eq!(out.samples_ns.len(), 20, "cap");

    // 10 ms of budget would stop at 14 samples of 1 ms; the minimum asks for 15.
    let mut t = FakeTarget::new(&clock, MS);
    let out = sampled(
        s.sample(&mut t, &Plan::benchmark(10 * MS, 15, 1000))
            .unwrap(),
    );
    assert!(out.samples_ns.len() >= 15, "{}", out.samples_ns.len());

    // A run far longer than the budget: three samples, not ten.
    let mut t = FakeTarget::new(&clock, Duration::from_secs(5));
    let out = sampled(
        s.sample(&mut t, &Plan::benchmark(Duration::from_secs(1), 10, 1000))
            .unwrap(),
    );
    assert_eq!(out.samples_ns.len(), 3);
}

#[test]
fn the_watchdog_stops_a_run_that_hangs() {
    let clock = FakeClock::default();
    let mut s = sampler(&clock);
    // Fine for 100 runs, then every run takes an hour.
    let mut t = FakeTarget::scripted(&clock, |i| {
        if i < 100 {
            MS
        } else {
            Duration::from_secs(3600)
        }
    });
    let err = s
        .sample(
            &mut t,
            &Plan::benchmark(Duration::from_secs(1), 10, 100_000),
        )
        .unwrap_err();
    assert!(err.is::<crate::gpu::DispatchTimeout>(), "{err:#}");
    // The wait that failed was bounded by ten times the expected time, at least 30 s.
    let (runs, _, timeout) = *t.submissions.last().unwrap();
    assert_eq!(timeout, Timeout::Derived.for_runs(runs, MS));
    assert!(timeout >= MIN_TIMEOUT && timeout < Duration::from_secs(60));
    // A fixed --dispatch-timeout applies to every wait.
    let mut t = FakeTarget::new(&clock, Duration::from_secs(3));
    let plan = Plan::benchmark(Duration::from_secs(1), 3, 10)
        .with_timeout(Timeout::Fixed(Duration::from_secs(2)));
    let err = s.sample(&mut t, &plan).unwrap_err();
    assert!(err.is::<crate::gpu::DispatchTimeout>());
    assert!(t.submissions.iter().all(|s| s.2 == Duration::from_secs(2)));
}

#[test]
fn frozen_timestamps_fall_back_to_the_host_clock_once_for_the_rest_of_the_run() {
    let clock = FakeClock::default();
    let mut s = sampler(&clock);
    let mut t = FakeTarget::new(&clock, 2 * MS);
    t.frozen = true;
    let plan = Plan::benchmark(Duration::from_millis(200), 10, 1000);
    let out = sampled(s.sample(&mut t, &plan).unwrap());
    assert_eq!(out.method, TimingMethod::HostClock);
    assert_eq!(out.clock_check, None);
    // Host samples: the run plus what launching it costs, and at least the minimum.
    assert!(out.samples_ns.len() >= 10);
    let host = (2 * MS + t.launch + t.per_run).as_nanos() as f64;
    assert!(
        out.samples_ns.iter().all(|&v| (v - host).abs() < 1.0),
        "{:?}",
        &out.samples_ns[..3]
    );
    let w = s.take_warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("did not advance") && w[0].contains("host clock"),
        "{w:?}"
    );
    // The next benchmark stays on the host clock without a second warning.
    let mut t2 = FakeTarget::new(&clock, 2 * MS);
    let out = sampled(s.sample(&mut t2, &plan).unwrap());
    assert_eq!(out.method, TimingMethod::HostClock);
    assert!(t2.submissions.iter().all(|(n, ts, _)| !*ts && *n == 1));
    assert!(s.take_warnings().is_empty());
}

#[test]
fn a_wrong_timestamp_period_is_caught_by_the_host_clock() {
    for (period, what) in [
        (3.0, "the host saw complete"),
        (0.01, "far more than launching"),
    ] {
        let clock = FakeClock::default();
        let mut s = sampler(&clock);
        let mut t = FakeTarget::new(&clock, 10 * MS);
        t.period_ns = period;
        let out = sampled(
            s.sample(
                &mut t,
                &Plan::benchmark(Duration::from_millis(500), 10, 1000),
            )
            .unwrap(),
        );
        assert_eq!(out.method, TimingMethod::HostClock, "period {period}");
        let w = s.take_warnings();
        assert!(
            w.len() == 1 && w[0].contains(what),
            "period {period}: {w:?}"
        );
    }
}

#[test]
fn agreeing_clocks_keep_the_timestamps_and_record_the_ratio() {
    let clock = FakeClock::default();
    let mut s = sampler(&clock);
    let mut t = FakeTarget::new(&clock, 10 * MS);
    let out = sampled(
        s.sample(
            &mut t,
            &Plan::benchmark(Duration::from_millis(500), 10, 1000),
        )
        .unwrap(),
    );
    assert_eq!(out.method, TimingMethod::GpuTimestamp);
    let r = out.clock_check.unwrap().ratio().unwrap();
    assert!(r > 0.99 && r <= 1.0, "{r}");
    assert!(s.take_warnings().is_empty());
    // Launch costs alone (short runs, slow launches) are not a wrong period.
    let mut t = FakeTarget::new(&clock, Duration::from_micros(20));
    t.per_run = Duration::from_micros(200);
    t.launch = Duration::from_millis(5);
    let out = sampled(
        s.sample(
            &mut t,
            &Plan::benchmark(Duration::from_millis(500), 10, 1000),
        )
        .unwrap(),
    );
    assert_eq!(out.method, TimingMethod::GpuTimestamp);
    assert!(out.clock_check.unwrap().ratio().unwrap() < 0.2);
}

#[test]
fn a_candidate_slower_than_the_cut_off_is_given_up_after_its_warm_up() {
    let clock = FakeClock::default();
    let mut s = sampler(&clock);
    let mut t = FakeTarget::new(&clock, 5 * MS);
    let mut plan = Plan::benchmark(Duration::from_millis(50), 3, 30);
    plan.give_up_above = Some(2 * MS);
    assert!(matches!(
        s.sample(&mut t, &plan).unwrap(),
        Outcome::GaveUp { .. }
    ));
    assert_eq!(t.runs, 1);
}

#[test]
fn an_interrupt_stops_between_batches() {
    let clock = FakeClock::default();
    let mut s = Sampler::with_clock(clock.clone(), true)
        .with_interrupt(|| Err(anyhow::anyhow!("interrupted")));
    let mut t = FakeTarget::new(&clock, MS);
    assert!(
        s.sample(&mut t, &Plan::benchmark(Duration::from_secs(1), 10, 100))
            .is_err()
    );
    assert_eq!(t.runs, 0);
}

#[test]
fn a_batch_with_bad_timestamps_keeps_its_host_time() {
    // Training cannot run its steps twice: the failed batch is timed by the host.
    let clock = FakeClock::default();
    let mut s = sampler(&clock);
    let mut t = FakeTarget::new(&clock, 4 * MS);
    t.frozen = true;
    let b = s.batch(&mut t, 5, Duration::from_secs(60)).unwrap();
    assert!(b.fell_back);
    assert_eq!(b.method, TimingMethod::HostClock);
    let each = (t.launch + 5 * (4 * MS + t.per_run)).as_nanos() as f64 / 5.0;
    assert_eq!(b.samples_ns, vec![each; 5]);
    assert_eq!(s.method(), TimingMethod::HostClock);
    let b = s.batch(&mut t, 5, Duration::from_secs(60)).unwrap();
    assert!(!b.fell_back && b.samples_ns.len() == 5);
}

#[test]
fn fixed_plans_take_exactly_their_runs() {
    let clock = FakeClock::default();
    let mut s = sampler(&clock);
    let mut t = FakeTarget::new(&clock, 40 * MS);
    let out = sampled(s.sample(&mut t, &Plan::fixed(7)).unwrap());
    assert_eq!(out.samples_ns.len(), 7);
    assert_eq!(out.warmup_runs, 1);
}
