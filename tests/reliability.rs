//! Failure modes on a real adapter: signals, the watchdog, device loss and wgpu errors,
//! memory, oversized and hostile files, output paths and failed writes, repeats and
//! sustained runs. docs/reliability.md lists which test covers which behaviour.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::flopcost;
use flopcost::gpu::{Gpu, adapter};
use flopcost::kernels::problem::Problem;
use flopcost::result::{self, validate};
use flopcost::types::{Layout, Shape};
use predicates::prelude::*;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_flopcost"))
}

/// A long run of small naive GEMMs: many records, each a fraction of a second.
fn spawn_long_run(out: &Path) -> Child {
    let mut cmd = Command::new(bin());
    cmd.args([
        "run",
        "--kernel",
        "naive",
        "--no-peaks",
        "--time-budget",
        "0.3",
    ])
    .args(["--min-samples", "2", "--quiet", "--out"])
    .arg(out);
    for n in 40..90 {
        cmd.args(["--shape", &n.to_string()]);
    }
    cmd.env(
        "FLOPCOST_CACHE_DIR",
        std::env::temp_dir().join("flopcost-test-cache"),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("flopcost starts")
}

/// Waits until the result file holds at least `n` records.
fn wait_for_records(out: &Path, n: usize, child: &mut Child) {
    let start = Instant::now();
    loop {
        if let Ok(f) = result::read(out)
            && f.records.len() >= n
        {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the run ended early: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no records appeared"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for a child, failing the test instead of hanging.
fn wait_with_timeout(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("the process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn send(child: &Child, signal: &str) {
    let ok = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {signal} failed");
}

fn interrupted_run(signal: &str, code: i32, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let mut child = spawn_long_run(&out);
    wait_for_records(&out, 2, &mut child);
    send(&child, signal);
    let status = wait_with_timeout(&mut child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(code), "{status}");
    let file = result::read(&out).unwrap();
    assert!(!file.complete);
    let reason = file.incomplete_reason.clone().unwrap();
    assert!(reason.contains(name), "{reason}");
    assert!(file.records.len() >= 2);
    assert!(
        validate::problems(&file).is_empty(),
        "{:?}",
        validate::problems(&file)
    );
    assert!(
        file.records
            .iter()
            .all(|r| r.verification.passed && r.tflops.is_some())
    );
}

#[test]
fn sigint_saves_the_finished_records_and_exits_130() {
    interrupted_run("-INT", 130, "SIGINT");
}

#[test]
fn sigterm_saves_the_finished_records_and_exits_143() {
    interrupted_run("-TERM", 143, "SIGTERM");
}

#[test]
fn sigint_during_training_stops_it_and_keeps_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("train.json");
    let mut child = Command::new(bin())
        .args(["train", "--depth", "2", "--width", "32", "--batch", "32"])
        .args([
            "--steps",
            "1000000",
            "--log-every",
            "10",
            "--kernel",
            "naive",
        ])
        .args(["--time-budget", "0.05", "--quiet", "--out"])
        .arg(&out)
        .env("FLOPCOST_CACHE_DIR", dir.path().join("cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The model layer's three products are timed first; then training starts.
    wait_for_records(&out, 3, &mut child);
    std::thread::sleep(Duration::from_secs(3));
    send(&child, "-INT");
    let status = wait_with_timeout(&mut child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(130), "{status}");
    let file = result::read(&out).unwrap();
    assert!(!file.complete);
    assert!(file.incomplete_reason.unwrap().contains("SIGINT"));
    assert!(file.records.len() >= 3);
}

#[test]
fn sigkill_at_any_moment_leaves_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    for (i, delay_ms) in [150u64, 700, 1300, 2100, 3200].iter().enumerate() {
        let out = dir.path().join(format!("kill-{i}.json"));
        let mut child = spawn_long_run(&out);
        std::thread::sleep(Duration::from_millis(*delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();
        if out.exists() {
            let file =
                result::read(&out).unwrap_or_else(|e| panic!("killed after {delay_ms} ms: {e:#}"));
            assert!(validate::problems(&file).is_empty());
            assert!(!file.complete);
        }
    }
}

#[test]
fn a_dispatch_past_the_watchdog_fails_cleanly_and_keeps_what_was_measured() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("watchdog.json");
    // 16³ finishes in well under half a second anywhere; the naive 1024³ product takes
    // seconds on a software adapter (and 2 GFLOP on any device).
    let mut child = Command::new(bin())
        .args([
            "run",
            "--kernel",
            "naive",
            "--no-peaks",
            "--time-budget",
            "0.1",
        ])
        .args([
            "--shape",
            "16",
            "--shape",
            "1024",
            "--dispatch-timeout",
            "0.5",
        ])
        .args(["--quiet", "--out"])
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_with_timeout(&mut child, Duration::from_secs(60));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    let gpu = common::gpu();
    if gpu.info.device_type != wgpu::DeviceType::Cpu {
        eprintln!("adapter is a GPU: the 1024³ product may finish within 0.5 s; not asserting");
        return;
    }
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("dispatch did not finish within 0.5 s"),
        "{stderr}"
    );
    let file = result::read(&out).unwrap();
    assert!(!file.complete);
    assert_eq!(file.records.len(), 1, "the 16³ record is kept");
    assert!(validate::problems(&file).is_empty());
}

fn fresh_gpu() -> Gpu {
    let filter = adapter::BackendFilter::All;
    let choice = adapter::choose(
        adapter::enumerate(filter),
        &adapter::AdapterSelector::Best,
        filter,
    )
    .unwrap();
    Gpu::open(choice.entry).unwrap()
}

#[test]
fn uncaptured_wgpu_errors_become_errors_not_panics() {
    let gpu = fresh_gpu();
    assert!(gpu.errors.check().is_ok());
    // MAP_READ with STORAGE is invalid without a feature flopcost never asks for.
    let _bad = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("invalid"),
        size: 256,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let err = gpu.errors.check().unwrap_err();
    assert!(
        format!("{err:#}").contains("wgpu reported an error"),
        "{err:#}"
    );
}

#[test]
fn readback_completes_while_another_thread_polls_the_same_device() {
    // Tests (and a future multi-threaded runner) share one device. A poll on another
    // thread can take a readback's map callback before it has run; the readback must
    // still see it rather than report that mapping never completed.
    let gpu = fresh_gpu();
    let data: Vec<u32> = (0..4096).collect();
    let src = gpu
        .buffer_init(
            "source",
            bytemuck::cast_slice(&data),
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        )
        .unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = gpu.device.poll(wgpu::PollType::Poll);
                }
            });
        }
        let outcome = (0..400).try_for_each(|i| {
            let back = gpu.read_buffer(&src, Duration::from_secs(30))?;
            anyhow::ensure!(
                bytemuck::cast_slice::<u8, u32>(&back) == data.as_slice(),
                "readback {i} returned the wrong contents"
            );
            Ok(())
        });
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        outcome.unwrap();
    });
}

#[test]
fn a_lost_device_becomes_a_clear_error() {
    let gpu = fresh_gpu();
    gpu.device.destroy();
    let outcome = Problem::new(&gpu, Layout::Nn, Shape::new(8, 8, 8), 1).and_then(|p| {
        gpu.read_buffer(&p.c, Duration::from_secs(10))?;
        gpu.errors.check()
    });
    let err = outcome.expect_err("work on a destroyed device must fail");
    let text = format!("{err:#}");
    assert!(text.to_lowercase().contains("lost"), "{text}");
    assert!(gpu.errors.is_lost());
}

#[cfg(unix)]
#[test]
fn running_out_of_memory_is_a_clear_error() {
    // lavapipe's device memory is the process's own: capping the address space makes
    // the allocations of a 6000x5000 output fail, on the GPU side or the host side.
    // Find the smallest cap (in 100 MB steps) under which a tiny run works, then run the
    // large shape under it.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("oom.json");
    let run = |cap_kb: u64, shape: &str| {
        Command::new("bash")
            .arg("-c")
            .arg(format!(
                "ulimit -v {cap_kb}; exec \"$0\" run --kernel naive --no-peaks --quiet \
                 --time-budget 0.05 --min-samples 1 --shape {shape} --out \"$1\" --force"
            ))
            .arg(bin())
            .arg(&out)
            .output()
            .unwrap()
    };
    let Some(cap) = (8..40)
        .map(|i| i * 100_000)
        .find(|&cap| run(cap, "16").status.success())
    else {
        panic!("no address-space cap up to 4 GB lets a tiny run work");
    };
    let gpu = common::gpu();
    if gpu.info.device_type != wgpu::DeviceType::Cpu {
        eprintln!("adapter is a GPU: capping host memory does not limit it; not asserting");
        return;
    }
    // 100 MB of headroom for start-up; the large shape needs several times that more
    // (its output, the NaN poison and the readback are 120 MB each).
    let out = run(cap + 100_000, "6000x5000x1");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("memory"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn oversized_and_hostile_files_are_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    fs::File::create(&big).unwrap().set_len(3 << 30).unwrap(); // sparse: 3 GiB of size, no disk
    let start = Instant::now();
    flopcost()
        .args(["validate", big.to_str().unwrap()])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("larger than"));
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lavapipe-vulkan.json"
    );
    let toml = dir.path().join("big.toml");
    fs::File::create(&toml).unwrap().set_len(3 << 30).unwrap();
    flopcost()
        .args(["cost", fixture, "--price-file", toml.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("larger than"));
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "refusing took {:?}",
        start.elapsed()
    );
    let deep = dir.path().join("deep.toml");
    fs::write(
        &deep,
        format!("a = {}{}", "[".repeat(50_000), "]".repeat(50_000)),
    )
    .unwrap();
    flopcost()
        .args(["cost", fixture, "--price-file", deep.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn bad_output_paths_are_refused_before_any_gpu_work() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    fs::write(&file, b"x").unwrap();
    for out in [
        dir.path().join("missing-dir/r.json"),
        file.join("r.json"),
        dir.path().to_path_buf(),
        PathBuf::from("/proc/self/r.json"),
        // Not a regular file: replacing it would delete the device node.
        PathBuf::from("/dev/null"),
    ] {
        let start = Instant::now();
        flopcost()
            .args(["run", "--shape", "8", "--out", out.to_str().unwrap()])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("adapter 0:").not());
        assert!(start.elapsed() < Duration::from_secs(30));
    }
}

#[cfg(unix)]
#[test]
fn a_failed_write_leaves_the_previous_file_intact() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("kept.json");
    flopcost()
        .args(["run", "--shape", "8", "--no-peaks", "--time-budget", "0.02"])
        .args(["--min-samples", "2", "--out", out.to_str().unwrap()])
        .assert()
        .success();
    let before = fs::read(&out).unwrap();
    // A file-size limit of 4 KiB makes every result write fail (EFBIG), as a full disk
    // would; SIGXFSZ is ignored so the write returns an error instead of killing.
    let status = Command::new("bash")
        .arg("-c")
        .arg(
            "trap '' XFSZ; ulimit -f 4; exec \"$0\" run --shape 8 --no-peaks --quiet \
             --time-budget 0.02 --min-samples 2 --force --out \"$1\"",
        )
        .arg(bin())
        .arg(&out)
        .env("FLOPCOST_CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert_eq!(status.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("could not write"), "{stderr}");
    assert_eq!(fs::read(&out).unwrap(), before, "the previous file changed");
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(names.is_empty(), "temporary files left: {names:?}");
}

#[test]
fn repeats_report_each_records_spread_and_sustain_records_each_second() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("repeat.json");
    flopcost()
        .args([
            "run", "--shape", "48", "--shape", "33x65x17", "--kernel", "naive",
        ])
        .args(["--no-peaks", "--time-budget", "0.05", "--min-samples", "3"])
        .args([
            "--repeat",
            "3",
            "--sustain",
            "2.5",
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .success();
    let file = result::read(&out).unwrap();
    assert!(
        validate::problems(&file).is_empty(),
        "{:?}",
        validate::problems(&file)
    );
    let rep = file
        .repeatability
        .as_ref()
        .expect("a repeatability section");
    assert_eq!(rep.repeats, 3);
    assert_eq!(rep.records.len(), file.records.len());
    for r in &rep.records {
        assert_eq!(r.medians_ns.len(), 3, "{}", r.id);
        let first = file.records.iter().find(|x| x.id == r.id).unwrap();
        assert_eq!(r.medians_ns[0], first.timing.as_ref().unwrap().median_ns);
    }
    let s = file.sustain.as_ref().expect("a sustain section");
    assert_eq!((s.m, s.n, s.k), (48, 48, 48));
    assert!(s.windows.len() >= 2, "{} windows", s.windows.len());
    assert!(s.windows.windows(2).all(|w| w[0].start_s < w[1].start_s));
    // The repeatability threshold is enforced by the validator too.
    let mut bad = file.clone();
    if let Some(r) = bad.repeatability.as_mut() {
        r.records[0].flagged = !r.records[0].flagged;
    }
    assert!(!validate::problems(&bad).is_empty());
    // Bad values are bad input.
    for args in [
        ["--repeat", "0"],
        ["--sustain", "-1"],
        ["--repeat-threshold", "nan"],
    ] {
        flopcost()
            .args(["run", "--shape", "8"])
            .args(args)
            .assert()
            .code(2);
    }
}
