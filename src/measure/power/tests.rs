//! The power rules against a fake source and fake times.

use std::collections::VecDeque;
use std::time::Duration;

use super::*;

/// Gives its scripted results in order, then nothing.
struct Fake {
    script: VecDeque<Result<Vec<Reading>, Fault>>,
    window: Option<Duration>,
}

impl Fake {
    fn new(script: Vec<Result<Vec<Reading>, Fault>>) -> Fake {
        Fake {
            script: script.into(),
            window: None,
        }
    }
}

impl PowerSource for Fake {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            kind: "fake",
            method: "the fake sensor".into(),
            window: self.window,
        }
    }

    fn read(&mut self) -> Result<Vec<Reading>, Fault> {
        self.script.pop_front().unwrap_or(Ok(Vec::new()))
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Polls `src` every 50 ms from 0 for `polls` polls.
fn drive(log: &mut PowerLog, src: &mut Fake, polls: u64) {
    for i in 0..polls {
        log.poll(src, ms(50 * i));
    }
}

fn watts(w: f64) -> Result<Vec<Reading>, Fault> {
    Ok(vec![Reading::Watts(w)])
}

#[test]
fn a_phase_gets_mean_watts_energy_and_joules_per_pflop() {
    let mut src = Fake::new(
        (0..20)
            .map(|i| watts(200.0 + f64::from(i % 2) * 100.0))
            .collect(),
    );
    let mut log = PowerLog::new(src.info(), Some(700.0));
    drive(&mut log, &mut src, 20);
    let f = log.figure(ms(0), ms(950), Some(500.0));
    assert_eq!(f.samples, 20);
    let w = f.mean_watts.unwrap();
    assert!((w - 250.0).abs() < 1e-9, "{w}");
    assert!((f.energy_joules.unwrap() - 250.0 * 0.95).abs() < 1e-9);
    // 250 W at 500 TFLOP/s: 0.5 PFLOP per second, so 500 J per PFLOP.
    assert!((f.joules_per_pflop.unwrap() - 500.0).abs() < 1e-9);
    assert!(f.none_reason.is_none());
    assert!(log.take_warnings().is_empty());
}

#[test]
fn a_short_phase_gets_no_figure_and_a_reason() {
    let mut src = Fake::new((0..20).map(|_| watts(300.0)).collect());
    let mut log = PowerLog::new(src.info(), None);
    drive(&mut log, &mut src, 20);
    let f = log.figure(ms(100), ms(140), Some(1.0));
    assert!(f.mean_watts.is_none() && f.energy_joules.is_none());
    assert!(f.none_reason.unwrap().contains("samples"));
    // A sensor with a one-second window: a 500 ms phase is too short, whatever its samples.
    let mut slow = Fake::new((0..40).map(|_| watts(300.0)).collect());
    slow.window = Some(Duration::from_secs(1));
    let mut log = PowerLog::new(slow.info(), None);
    drive(&mut log, &mut slow, 40);
    let f = log.figure(ms(0), ms(500), None);
    assert!(f.none_reason.unwrap().contains("averaging window"));
    assert!(log.figure(ms(0), ms(1500), None).mean_watts.is_some());
}

#[test]
fn an_energy_counter_gives_watts_and_its_wrap_is_handled() {
    // 100 J per second = 100 W, read every 50 ms (5 J = 5e6 µJ per poll), starting just
    // below 2³² µJ so it wraps.
    let start = (1u64 << 32) - 12_000_000;
    let script = (0..20)
        .map(|i| {
            Ok(vec![Reading::MicroJoules(
                (start + i * 5_000_000) % (1 << 32),
            )])
        })
        .collect();
    let mut src = Fake::new(script);
    let mut log = PowerLog::new(src.info(), None);
    drive(&mut log, &mut src, 20);
    let f = log.figure(ms(0), ms(1000), None);
    assert_eq!(f.samples, 19, "the first reading only starts the counter");
    assert!(
        (f.mean_watts.unwrap() - 100.0).abs() < 1e-6,
        "{:?}",
        f.mean_watts
    );
    let w = log.take_warnings();
    assert!(w.iter().any(|w| w.contains("wrapped")), "{w:?}");
}

#[test]
fn implausible_readings_are_refused_with_a_warning() {
    let mut script: Vec<_> = (0..10).map(|_| watts(300.0)).collect();
    script[2] = watts(0.0);
    script[3] = watts(-5.0);
    script[4] = watts(1000.0); // more than 125% of 700 W
    script[5] = watts(f64::NAN);
    let mut src = Fake::new(script);
    let mut log = PowerLog::new(src.info(), Some(700.0));
    drive(&mut log, &mut src, 10);
    let f = log.figure(ms(0), ms(500), None);
    assert_eq!(f.samples, 6);
    assert_eq!(f.mean_watts, Some(300.0));
    let w = log.take_warnings().join("\n");
    assert!(w.contains("≤ 0"), "{w}");
    assert!(w.contains("more than 125%"), "{w}");
    assert!(w.contains("non-finite"), "{w}");
    assert!(
        log.take_warnings().is_empty(),
        "each warning is handed out once"
    );
}

#[test]
fn garbage_is_skipped_and_a_vanished_sensor_stops_the_figures() {
    let mut script: Vec<_> = (0..10).map(|_| watts(200.0)).collect();
    script[1] = Err(Fault::Garbage("the fake printed 'abc'".into()));
    script[8] = Err(Fault::Gone("the sensor disappeared".into()));
    let mut src = Fake::new(script);
    let mut log = PowerLog::new(src.info(), None);
    drive(&mut log, &mut src, 20);
    let before = log.figure(ms(0), ms(350), None);
    assert_eq!(before.mean_watts, Some(200.0));
    let after = log.figure(ms(300), ms(900), None);
    assert!(after.mean_watts.is_none());
    assert!(after.none_reason.unwrap().contains("disappeared"));
    let w = log.take_warnings().join("\n");
    assert!(w.contains("'abc'") && w.contains("disappeared"), "{w}");
}

#[test]
fn the_sampler_thread_polls_at_least_ten_times_a_second() {
    let src = Fake::new((0..1000).map(|_| watts(123.0)).collect());
    let s = PowerSampler::start(Box::new(src), None);
    let begin = s.now();
    std::thread::sleep(Duration::from_millis(600));
    let f = s.end(begin, Some(1.0));
    assert!(f.samples >= 6, "{} samples in 600 ms", f.samples);
    assert_eq!(f.mean_watts, Some(123.0));
    assert!((f.energy_joules.unwrap() - 123.0 * f.seconds).abs() < 1e-9);
    assert_eq!(s.section().source, "fake");
}

#[test]
fn watts_parse_from_the_lines_tools_print() {
    use sources::parse_watts;
    assert_eq!(parse_watts("250"), Some(250.0));
    assert_eq!(parse_watts(" 245.31 W\n"), Some(245.31));
    assert_eq!(parse_watts("[N/A]"), None);
    assert_eq!(parse_watts("abc"), None);
    assert_eq!(
        sources::normalise_bus_id("00000000:01:00.0").as_deref(),
        Some("0000:01:00.0")
    );
    assert_eq!(
        sources::normalise_bus_id("0000:C1:00.0").as_deref(),
        Some("0000:c1:00.0")
    );
    assert_eq!(sources::normalise_bus_id("nope"), None);
    assert_eq!(sources::normalise_bus_id("../../x:1:2.3"), None);
}
