//! Measured power end to end, on the CI machine's software adapter with fake sensors: the
//! sysfs tree of an amdgpu card (`FLOPCOST_SYSFS_ROOT`), a fake `nvidia-smi` on `PATH`, and
//! `--power-command` scripts; then every fault of a source, none of which may end the run
//! or leave an unreadable file. (Rules for the readings themselves, such as wrap-around
//! and the board-power ceiling, are unit-tested in `src/measure/power/tests.rs` with a
//! fake source and fake times.)

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flopcost::result::{PhasePower, ResultFile};

const BUS: &str = "0000:03:00.0";

/// A short run: one small GEMM with the naive kernel.
const SHORT: [&str; 5] = ["run", "--shape", "96", "--kernel", "naive"];

/// One run at a time: on two cores, parallel software-adapter runs would starve the
/// sampler threads of each other.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A sysfs root with one amdgpu card at [`BUS`] whose `power1_average` reads `watts`.
fn amdgpu_root(dir: &Path, watts: f64) -> PathBuf {
    let hwmon = dir
        .join("sys/bus/pci/devices")
        .join(BUS)
        .join("hwmon/hwmon2");
    std::fs::create_dir_all(&hwmon).unwrap();
    std::fs::write(hwmon.join("name"), "amdgpu\n").unwrap();
    set_file(
        &hwmon.join("power1_average"),
        &format!("{}\n", (watts * 1e6) as u64),
    );
    hwmon.join("power1_average")
}

/// Replaces a sensor file's content at once (as the kernel's are read: whole).
fn set_file(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A fake `nvidia-smi` in `dir` printing `watts` (with `power.draw.instant` unless
/// `instant` is false: then only the one-second `power.draw`).
fn fake_nvidia_smi(dir: &Path, watts: f64, instant: bool) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let first = if instant {
        format!("{watts}")
    } else {
        "[N/A]".into()
    };
    let script = format!(
        "#!/bin/sh\n\
         loop=''; prev=''\n\
         for a in \"$@\"; do [ \"$prev\" = -lms ] && loop=$a; prev=$a; done\n\
         case \"$*\" in *power.draw.instant,power.draw*) echo '{first}, {watts}'; exit 0;; esac\n\
         if [ -n \"$loop\" ]; then s=$(awk \"BEGIN {{ print $loop / 1000 }}\"); while :; do echo {watts}; sleep $s; done; fi\n\
         echo {watts}\n"
    );
    let path = bin.join("nvidia-smi");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn path_with(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// A short run (one small GEMM with the naive kernel) with `args`, into `out`.
fn short_run(out: &Path, args: &[&str], env: &[(&str, &str)]) -> (ResultFile, String) {
    let mut c = common::flopcost();
    c.args(SHORT)
        .args(["--no-peaks", "--out"])
        .arg(out)
        .args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.timeout(Duration::from_secs(120)).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "the run failed:\n{stderr}");
    (read_valid(out), stderr)
}

/// The small workload, once, without peaks, reading the sensors of [`BUS`], into `out`.
fn small_run(out: &Path, env: &[(&str, &std::ffi::OsStr)]) -> std::process::Output {
    let mut c = common::flopcost();
    c.args([
        "run",
        "--workload",
        "small",
        "--repeat",
        "1",
        "--no-peaks",
        "--power-pci",
        BUS,
    ])
    .arg("--out")
    .arg(out);
    for (k, v) in env {
        c.env(k, v);
    }
    c.timeout(Duration::from_secs(600)).output().unwrap()
}

/// Reads a result file and asserts that `flopcost validate` accepts it.
fn read_valid(path: &Path) -> ResultFile {
    common::flopcost()
        .arg("validate")
        .arg(path)
        .assert()
        .success();
    flopcost::result::read(path).unwrap()
}

/// Every record's figure: mean within 2% of `watts`, energy = watts × seconds within 1%,
/// joules per PFLOP from its throughput.
fn assert_follows(f: &ResultFile, watts: f64, source: &str) {
    assert_eq!(f.power.as_ref().unwrap().source, source);
    let idle = f.power.as_ref().unwrap().idle_watts.expect("idle power");
    assert!((idle - watts).abs() <= 0.02 * watts, "idle {idle}");
    assert!(!f.records.is_empty());
    for r in &f.records {
        let p: &PhasePower = r
            .power
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no power", r.id));
        let w = p
            .mean_watts
            .unwrap_or_else(|| panic!("{}: {:?}", r.id, p.none_reason));
        assert!((w - watts).abs() <= 0.02 * watts, "{}: {w} W", r.id);
        let e = p.energy_joules.unwrap();
        assert!(
            (e - watts * p.seconds).abs() <= 0.01 * e,
            "{}: {e} J in {} s",
            r.id,
            p.seconds
        );
        let tf = r.tflops.as_ref().unwrap().median;
        let j = p.joules_per_pflop.unwrap();
        assert!((j - w * 1e3 / tf).abs() <= 1e-6 * j, "{}", r.id);
        assert!(p.samples >= 3);
    }
}

#[test]
fn amdgpu_hwmon_readings_reach_every_record_of_the_small_workload() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    amdgpu_root(&root, 150.0);
    let out = dir.path().join("small.json");
    let o = small_run(&out, &[("FLOPCOST_SYSFS_ROOT", root.as_os_str())]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("power: hwmon amdgpu power1_average"),
        "{stderr}"
    );
    assert!(
        stdout.contains("energy: ") && stdout.contains("J per PFLOP of the training work measured"),
        "{stdout}"
    );
    let f = read_valid(&out);
    assert_follows(&f, 150.0, "hwmon");
    let t = f.training.as_ref().unwrap().power.as_ref().unwrap();
    assert!((t.mean_watts.unwrap() - 150.0).abs() < 3.0);
    let c = f.cost.as_ref().unwrap();
    let j = c
        .joules_per_pflop_training_measured
        .expect("the workload step's measured J/PFLOP");
    assert!(
        j > 0.0 && c.joules_per_pflop_training.is_none(),
        "nameplate stays apart"
    );
    assert!((c.measured_watts.unwrap() - 150.0).abs() < 3.0);
    assert!(
        c.per_token
            .as_ref()
            .unwrap()
            .joules_per_million_tokens_measured
            .is_some()
    );

    // Another card drawing 250 W: the figures follow the sensor.
    let root2 = dir.path().join("root2");
    amdgpu_root(&root2, 250.0);
    let (f2, _) = short_run(
        &dir.path().join("short.json"),
        &["--power-pci", BUS],
        &[("FLOPCOST_SYSFS_ROOT", root2.to_str().unwrap())],
    );
    assert_follows(&f2, 250.0, "hwmon");

    // The same workload through a fake nvidia-smi at 300 W, and the two compared.
    let bin = fake_nvidia_smi(dir.path(), 300.0, true);
    let empty = dir.path().join("no-sysfs");
    std::fs::create_dir_all(&empty).unwrap();
    let out2 = dir.path().join("small-nvidia.json");
    let path = path_with(&bin);
    let o = small_run(
        &out2,
        &[
            ("FLOPCOST_SYSFS_ROOT", empty.as_os_str()),
            ("PATH", std::ffi::OsStr::new(&path)),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let g = read_valid(&out2);
    assert_follows(&g, 300.0, "nvidia-smi");
    assert!(
        g.power
            .as_ref()
            .unwrap()
            .method
            .contains("power.draw.instant")
    );
    let o = common::flopcost()
        .args(["compare"])
        .arg(&out)
        .arg(&out2)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("measured J/PFLOP (workload step)"), "{text}");
    assert!(text.contains("nameplate J/PFLOP (workload step)"), "{text}");
    assert!(text.contains("J per million tokens measured"), "{text}");
    // Each matched record with its measured watts, as FlagPerf gives power beside each GEMM.
    assert!(
        text.contains("small measured W") && text.contains("small-nvidia measured W"),
        "{text}"
    );
    let o = common::flopcost()
        .args(["compare", "--format", "csv"])
        .arg(&out)
        .arg(&out2)
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&o.stdout);
    // The last five columns hold no commas (the adapter's name, earlier, does).
    let header: Vec<&str> = csv.lines().next().unwrap().rsplit(',').collect();
    assert_eq!(header[2], "measured_watts", "{csv}");
    assert_eq!(header[3], "joules_per_pflop_measured", "{csv}");
    let (watts, measured) = (2, 3);
    let records: Vec<Vec<&str>> = csv
        .lines()
        .filter(|l| l.contains(",record,"))
        .map(|l| l.rsplit(',').collect())
        .collect();
    assert!(!records.is_empty(), "{csv}");
    for r in &records {
        let w: f64 = r[watts].parse().unwrap();
        assert!(
            (w / 150.0 - 1.0).abs() < 0.02 || (w / 300.0 - 1.0).abs() < 0.02,
            "{w}"
        );
        assert!(r[measured].parse::<f64>().unwrap() > 0.0);
    }
    let ja = f
        .cost
        .as_ref()
        .unwrap()
        .joules_per_pflop_training_measured
        .unwrap();
    let jb = g
        .cost
        .as_ref()
        .unwrap()
        .joules_per_pflop_training_measured
        .unwrap();
    // Priced as owned: the energy part of the hourly price at the measured watts.
    let priced = dir.path().join("priced.json");
    common::flopcost()
        .args(["cost"])
        .arg(&out)
        .args(["--capex-usd", "1000", "--watts", "999", "--out"])
        .arg(&priced)
        .assert()
        .success();
    let p = read_valid(&priced);
    let c = p.cost.as_ref().unwrap();
    let w = c.measured_watts.unwrap();
    let expected = 1000.0 / (4.0 * 8766.0 * 0.8) + w / 1000.0 * 1.3 * 0.12;
    let u = c.usd_per_hour.unwrap();
    assert!((u - expected).abs() < 1e-9 * expected, "{u} vs {expected}");
    assert!(
        c.usd_per_hour_energy
            .as_deref()
            .unwrap()
            .contains("measured")
    );
    for j in [ja, jb] {
        assert!(
            text.contains(&flopcost::util::fmt::fmt_big(j)),
            "{j} missing:\n{text}"
        );
    }
}

#[test]
fn a_power_command_printing_250_gives_250_watts_times_the_time() {
    let dir = tempfile::tempdir().unwrap();
    // A command that prints one reading and exits is run again for the next.
    let (f, stderr) = short_run(
        &dir.path().join("a.json"),
        &["--power-command", "echo 250"],
        &[],
    );
    assert!(
        stderr.contains("power: --power-command echo 250"),
        "{stderr}"
    );
    assert_follows(&f, 250.0, "command");
    // Edited figures fail validation: energy, J/PFLOP, an infinity, a figure without its
    // samples, a record's power without the run's power section.
    let text = std::fs::read_to_string(dir.path().join("a.json")).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit); 5] = [
        ("energy", |v| {
            v["records"][0]["power"]["energy_joules"] = 1.0.into()
        }),
        ("jpflop", |v| {
            let j = v["records"][0]["power"]["joules_per_pflop"]
                .as_f64()
                .unwrap();
            v["records"][0]["power"]["joules_per_pflop"] = (j * 1.1).into();
        }),
        ("infinity", |v| {
            v["records"][0]["power"]["mean_watts"] = 1e308.into()
        }),
        ("samples", |v| {
            v["records"][0]["power"]["samples"] = 1.into()
        }),
        ("section", |v| {
            v.as_object_mut().unwrap().remove("power");
        }),
    ];
    for (what, edit) in edits {
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        edit(&mut v);
        let bad = dir.path().join(format!("bad-{what}.json"));
        std::fs::write(&bad, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
        let o = common::flopcost()
            .arg("validate")
            .arg(&bad)
            .output()
            .unwrap();
        assert!(!o.status.success(), "an edited {what} passed validation");
    }
    // One that streams.
    let (f, _) = short_run(
        &dir.path().join("b.json"),
        &[
            "--power-command",
            "while :; do echo '250 W'; sleep 0.02; done",
        ],
        &[],
    );
    assert_follows(&f, 250.0, "command");
}

#[test]
fn garbage_and_non_positive_readings_are_warned_about_and_the_run_goes_on() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (f, _) = short_run(
        &dir.path().join("g.json"),
        &["--power-command", "echo abc; echo 200"],
        &[],
    );
    assert!(
        f.warnings.iter().any(|w| w.contains("\"abc\", not watts")),
        "{:?}",
        f.warnings
    );
    assert_follows(&f, 200.0, "command");
    let (f, _) = short_run(
        &dir.path().join("z.json"),
        &["--power-command", "echo 0"],
        &[],
    );
    assert!(
        f.warnings.iter().any(|w| w.contains("(≤ 0)")),
        "{:?}",
        f.warnings
    );
    let p = f.records[0].power.as_ref().unwrap();
    assert!(p.mean_watts.is_none() && p.none_reason.is_some(), "{p:?}");
}

#[test]
fn a_hanging_command_is_killed_and_the_run_goes_on() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let (f, _) = short_run(
        &dir.path().join("h.json"),
        &[
            "--power-command",
            "sleep 60",
            "--time-budget",
            "4",
            "--min-samples",
            "100000",
            "--max-samples",
            "100000",
        ],
        &[],
    );
    assert!(
        start.elapsed() < Duration::from_secs(50),
        "waited for the command"
    );
    assert!(
        f.warnings
            .iter()
            .any(|w| w.contains("printed nothing for 3 s: killed")),
        "{:?}",
        f.warnings
    );
    let p = f.records[0].power.as_ref().unwrap();
    assert!(p.mean_watts.is_none(), "{p:?}");
}

#[test]
fn a_sensor_that_disappears_mid_run_ends_the_figures_not_the_run() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let file = amdgpu_root(&root, 100.0);
    let remover = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(2500));
        std::fs::remove_file(&file).unwrap();
    });
    let (f, _) = short_run(
        &dir.path().join("d.json"),
        &[
            "--power-pci",
            BUS,
            "--time-budget",
            "4",
            "--min-samples",
            "100000",
            "--max-samples",
            "100000",
        ],
        &[("FLOPCOST_SYSFS_ROOT", root.to_str().unwrap())],
    );
    remover.join().unwrap();
    assert!(
        f.warnings.iter().any(|w| w.contains("disappeared")),
        "{:?}",
        f.warnings
    );
    let p = f.records[0].power.as_ref().unwrap();
    assert!(
        p.none_reason.as_deref().unwrap().contains("stopped"),
        "{p:?}"
    );
    assert_eq!(f.power.as_ref().unwrap().idle_watts, Some(100.0));
}

#[test]
fn a_wrapping_energy_counter_is_accounted_for() {
    let _serial = serial();
    // An i915-style energy counter in µJ, 10 W, crossing 2³² during the run.
    let dir = tempfile::tempdir().unwrap();
    let hwmon = dir
        .path()
        .join("root/sys/bus/pci/devices")
        .join(BUS)
        .join("hwmon/hwmon0");
    std::fs::create_dir_all(&hwmon).unwrap();
    std::fs::write(hwmon.join("name"), "i915\n").unwrap();
    let file = hwmon.join("energy1_input");
    let start = (1u64 << 32) - 15_000_000;
    set_file(&file, &format!("{start}\n"));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (file, stop) = (file.clone(), stop.clone());
        std::thread::spawn(move || {
            let t0 = Instant::now();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let uj = start + (t0.elapsed().as_secs_f64() * 10.0 * 1e6) as u64;
                set_file(&file, &format!("{}\n", uj % (1 << 32)));
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let (f, _) = short_run(
        &dir.path().join("w.json"),
        &["--power-pci", BUS, "--time-budget", "2"],
        &[(
            "FLOPCOST_SYSFS_ROOT",
            dir.path().join("root").to_str().unwrap(),
        )],
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert!(
        f.warnings.iter().any(|w| w.contains("wrapped")),
        "{:?}",
        f.warnings
    );
    let w = f.records[0].power.as_ref().unwrap().mean_watts.unwrap();
    assert!((w - 10.0).abs() < 1.0, "{w} W");
}

#[test]
fn a_phase_shorter_than_the_sensor_window_gets_no_figure() {
    let _serial = serial();
    // nvidia-smi without power.draw.instant: power.draw, a one-second average.
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_nvidia_smi(dir.path(), 280.0, false);
    let empty = dir.path().join("no-sysfs");
    std::fs::create_dir_all(&empty).unwrap();
    let (f, _) = short_run(
        &dir.path().join("s.json"),
        &["--power-pci", BUS, "--time-budget", "0.2"],
        &[
            ("FLOPCOST_SYSFS_ROOT", empty.to_str().unwrap()),
            ("PATH", &path_with(&bin)),
        ],
    );
    assert!(
        f.power
            .as_ref()
            .unwrap()
            .method
            .contains("one-second average")
    );
    let p = f.records[0].power.as_ref().unwrap();
    assert!(p.seconds < 1.0, "{p:?}");
    assert!(
        p.none_reason
            .as_deref()
            .unwrap()
            .contains("averaging window"),
        "{p:?}"
    );
    assert_eq!(f.power.as_ref().unwrap().idle_watts, Some(280.0));
}

#[test]
fn without_a_source_the_figures_stay_nameplate_and_bad_flags_are_refused() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (f, stderr) = short_run(&dir.path().join("n.json"), &["--watts", "300"], &[]);
    assert!(stderr.contains("power: not measured"), "{stderr}");
    assert!(f.power.is_none() && f.records.iter().all(|r| r.power.is_none()));
    assert!(f.cost.as_ref().unwrap().joules_per_pflop.is_some());
    assert!(f.cost.as_ref().unwrap().joules_per_pflop_measured.is_none());
    for bad in [
        vec!["--power-pci", "not-a-bus"],
        vec!["--power-command", " "],
        vec!["--no-power", "--power-command", "echo 1"],
    ] {
        let o = common::flopcost()
            .args(["run", "--shape", "64", "--no-peaks"])
            .args(&bad)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert_eq!(
            String::from_utf8_lossy(&o.stderr).trim().lines().count(),
            1,
            "{bad:?}"
        );
    }
}

#[test]
fn a_sensor_whose_permission_is_refused_gives_a_warning_and_nameplate_figures() {
    let _serial = serial();
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = amdgpu_root(&dir.path().join("root"), 100.0);
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    // Everything readable and writable by anyone but the sensor, which no one but root
    // may read; as root, the run is made as `nobody` (setpriv, from util-linux).
    for entry in walk(dir.path()) {
        let mode = if entry.is_dir() { 0o777 } else { 0o666 };
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
    let root = unsafe { libc_geteuid() } == 0;
    let bin = assert_cmd::cargo::cargo_bin("flopcost");
    let out = dir.path().join("p.json");
    let mut c = if root {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin);
        c
    } else {
        std::process::Command::new(&bin)
    };
    let o = c
        .args(SHORT)
        .args(["--no-peaks", "--power-pci", BUS, "--out"])
        .arg(&out)
        .env("FLOPCOST_SYSFS_ROOT", dir.path().join("root"))
        .env("FLOPCOST_CACHE_DIR", &cache)
        .env("NO_COLOR", "1")
        .output()
        .expect("setpriv (util-linux) runs the test as another user");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("permission refused reading"), "{stderr}");
    let f = read_valid(&out);
    assert!(f.power.is_none(), "no source: the figures stay nameplate");
    assert!(
        f.warnings.iter().any(|w| w.contains("permission refused")),
        "{:?}",
        f.warnings
    );
}

/// Every path under `dir`, `dir` included.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

#[test]
fn the_peaks_and_the_sustained_run_get_power_too() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pk.json");
    let o = common::flopcost()
        .args(SHORT)
        .args(["--sustain", "2"])
        .args([
            "--power-command",
            "while :; do echo 220; sleep 0.01; done",
            "--out",
        ])
        .arg(&out)
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let f = read_valid(&out);
    let pk = f.peaks.as_ref().expect("peaks measured");
    let rate = |m: &flopcost::result::PeakMethod| m.work_per_run / m.best_ns / 1e3;
    for (what, m) in [("fma f32", &pk.fma_f32), ("copy", &pk.copy)] {
        let p = m
            .power
            .as_ref()
            .unwrap_or_else(|| panic!("{what}: no power"));
        assert_eq!(p.mean_watts, Some(220.0), "{what}: {p:?}");
    }
    let j = pk.fma_f32.power.as_ref().unwrap().joules_per_pflop.unwrap();
    assert!((j - 220.0 * 1e3 / rate(&pk.fma_f32)).abs() <= 1e-6 * j);
    assert!(
        pk.copy.power.as_ref().unwrap().joules_per_pflop.is_none(),
        "no FLOPs in a copy"
    );
    let s = f.sustain.as_ref().expect("sustained run");
    let p = s.power.as_ref().expect("sustain power");
    assert_eq!(p.mean_watts, Some(220.0));
    assert!(p.seconds >= 1.5, "{p:?}");
}

#[test]
fn the_machines_own_hwmon_sensors_are_surveyed_and_found_by_their_device() {
    use flopcost::measure::power::sources::{Hwmon, survey};
    // A fake tree laid out as the kernel's: /sys/class/hwmon/hwmonN links to the device's
    // hwmon folder, whose `device` links to the PCI device.
    let dir = tempfile::tempdir().unwrap();
    let file = amdgpu_root(dir.path(), 150.0);
    let hwmon = file.parent().unwrap();
    let class = dir.path().join("sys/class/hwmon");
    std::fs::create_dir_all(&class).unwrap();
    std::os::unix::fs::symlink(hwmon, class.join("hwmon2")).unwrap();
    std::os::unix::fs::symlink(
        hwmon.parent().unwrap().parent().unwrap(),
        hwmon.join("device"),
    )
    .unwrap();
    let fake = survey(dir.path());
    assert_eq!(fake.len(), 1, "{fake:?}");
    assert_eq!(fake[0].name, "amdgpu");
    assert_eq!(fake[0].pci.as_deref(), Some(BUS));
    assert_eq!(
        fake[0].files,
        vec![("power1_average".to_string(), Ok(150_000_000))]
    );
    // This machine's own, printed as found; none is no failure. Every PCI device whose
    // folder has a readable power or energy file must be found by its bus id, as a run
    // on that device would.
    let real = survey(Path::new("/"));
    if real.is_empty() {
        println!("no /sys/class/hwmon folders on this machine: nothing to read");
    }
    for h in &real {
        println!(
            "{} ({}), PCI device {}: {}",
            h.path.display(),
            h.name,
            h.pci.as_deref().unwrap_or("none"),
            if h.files.is_empty() {
                "no power or energy file".to_string()
            } else {
                h.files
                    .iter()
                    .map(|(n, v)| match v {
                        Ok(v) => format!("{n} = {v}"),
                        Err(e) => format!("{n}: {e}"),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
        if let Some(pci) = &h.pci
            && h.files.iter().any(|(_, v)| v.is_ok())
        {
            let found = Hwmon::find(Path::new("/"), pci);
            assert!(
                found.is_ok(),
                "{} has a readable sensor, but its device {pci} gave none",
                h.path.display()
            );
        }
    }
}

#[test]
fn an_ownership_price_without_nameplate_watts_takes_the_measured_ones() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("own.json");
    let (f, stderr) = short_run(
        &out,
        &["--capex-usd", "1000", "--power-command", "echo 250"],
        &[],
    );
    let c = f.cost.as_ref().unwrap();
    // 1000 / (4 years × 8766 h × 0.8) + 250 W × 1.3 × $0.12/kWh, the defaults.
    let expected = 1000.0 / (4.0 * 8766.0 * 0.8) + 0.250 * 1.3 * 0.12;
    let usd = c.usd_per_hour.expect("an ownership price");
    assert!((usd / expected - 1.0).abs() < 1e-3, "{usd} vs {expected}");
    assert_eq!(c.pricing, Some(flopcost::result::Pricing::Ownership));
    let energy = c.usd_per_hour_energy.as_deref().unwrap_or("");
    assert!(energy.contains("measured 250"), "{energy}");
    assert!(stderr.contains("power: --power-command"), "{stderr}");
    // Re-pricing the file with no new inputs gives the same price.
    let o = common::flopcost()
        .args(["cost", "--json"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let again: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(again["usd_per_hour"].as_f64(), Some(usd));
    assert_eq!(again["ownership_watts"].as_f64(), Some(250.0));
    // The breakdown's formula shows the watts it used.
    let o = common::flopcost().arg("cost").arg(&out).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("+ 250.0 W / 1000") && text.contains("energy part") && !text.contains("NaN"),
        "{text}"
    );
    if c.inputs.get(flopcost::result::CostField::Watts).is_some() {
        println!(
            "NOT CHECKED: this adapter has nameplate watts in the catalog, so an ownership \
             price never waits for measured ones here"
        );
        return;
    }
    // Without a sensor, before anything runs: one line, exit 2, no file.
    let none = dir.path().join("none.json");
    let empty = dir.path().join("no-sysfs");
    std::fs::create_dir_all(&empty).unwrap();
    let o = common::flopcost()
        .args(["run", "--shape", "64", "--no-peaks", "--capex-usd", "1000"])
        .arg("--out")
        .arg(&none)
        .env("FLOPCOST_SYSFS_ROOT", &empty)
        .env("PATH", &empty)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("needs the board power") && err.contains("no power sensor"));
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!none.exists());
    // A file without measured power cannot be priced that way either.
    let (_, _) = short_run(&none, &["--no-power"], &[]);
    let o = common::flopcost()
        .args(["cost", "--capex-usd", "1000"])
        .arg(&none)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no measured watts"));
}

#[test]
fn training_triplets_get_a_measured_training_figure() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("quick.json");
    let o = common::flopcost()
        .args([
            "run",
            "--suite",
            "quick",
            "--no-peaks",
            "--capex-usd",
            "1000",
        ])
        .args(["--power-command", "echo 220", "--out"])
        .arg(&out)
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let f = read_valid(&out);
    let c = f.cost.as_ref().unwrap();
    assert_eq!(c.training_work, Some(flopcost::result::WorkBasis::Triplets));
    // 220 W over the triplets' products: J/PFLOP = 220 × 1000 / their TFLOP/s.
    let tf = c.training_work_tflops.unwrap();
    let j = c.joules_per_pflop_training_measured.unwrap();
    assert!(
        (j / (220.0 * 1000.0 / tf) - 1.0).abs() < 0.01,
        "{j} at {tf}"
    );
    assert!((c.measured_watts.unwrap() / 220.0 - 1.0).abs() < 0.01);
    // The ownership price's energy part is theirs.
    assert_eq!(c.ownership_watts, c.measured_watts);
    assert!(
        c.usd_per_hour_energy
            .as_deref()
            .unwrap()
            .contains("of the training work")
    );
    // Measured watts out of range fail validation.
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    v["cost"]["ownership_watts"] = (-3.0).into();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let o = common::flopcost()
        .arg("validate")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(said.contains("ownership_watts"), "{said}");
}
