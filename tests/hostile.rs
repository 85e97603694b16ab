//! Readers and writers under hostile and concurrent use: histogram bombs, pipes and FIFOs,
//! two runs on one `--out`, numbers that would not read back, forged output, over-long
//! strings, late output checks, a hand-written leaderboard page. docs/reliability.md
//! lists which test covers which case.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{fixture_file, flopcost, write_file};
use flopcost::result::{self, validate};
use predicates::prelude::*;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_flopcost"))
}

fn fixture() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lavapipe-vulkan.json"
    ))
}

/// Runs `flopcost ARGS` through bash with a limit, failing (not hanging) past `limit`.
fn run_limited(shell_prefix: &str, args: &[&str], limit: Duration) -> (Option<i32>, String) {
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!("{shell_prefix} exec \"$0\" \"$@\""))
        .arg(bin())
        .args(args)
        .env("NO_COLOR", "1")
        .env(
            "FLOPCOST_CACHE_DIR",
            std::env::temp_dir().join("flopcost-hostile-cache"),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("flopcost {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut text = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut text).unwrap();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut text).unwrap();
    (status.code(), text)
}

/// A histogram in the V2-deflate encoding whose header claims a 4 GiB payload: 60 bytes
/// that once made the decoder allocate and zero 4 GiB.
fn bomb() -> String {
    use base64::Engine;
    let mut v2 = Vec::new();
    v2.extend(0x1c84_9313u32.to_be_bytes());
    v2.extend(u32::MAX.to_be_bytes());
    v2.extend(0u32.to_be_bytes());
    v2.extend(3u32.to_be_bytes());
    v2.extend(1u64.to_be_bytes());
    v2.extend(1_000_000u64.to_be_bytes());
    v2.extend(1.0f64.to_be_bytes());
    v2.extend([2u8, 0, 2]);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&v2).unwrap();
    let body = z.finish().unwrap();
    let mut out = Vec::new();
    out.extend(0x1c84_9314u32.to_be_bytes());
    out.extend((body.len() as u32).to_be_bytes());
    out.extend(body);
    base64::engine::general_purpose::STANDARD.encode(out)
}

/// The fixture with 22 records whose histograms each claim 4 GiB (about 46 KB).
fn bomb_file(path: &Path) {
    let mut f = fixture_file();
    let timed: Vec<_> = f
        .records
        .iter()
        .filter(|r| r.timing.is_some())
        .cloned()
        .collect();
    f.records.clear();
    f.repeatability = None;
    f.workload = None;
    f.cost = None;
    for i in 0..22 {
        let mut r = timed[i % timed.len()].clone();
        r.id = format!("{}-{i}", r.id);
        r.timing.as_mut().unwrap().histogram = bomb();
        f.records.push(r);
    }
    write_file(path, &f);
}

#[test]
fn a_histogram_bomb_is_refused_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.json");
    bomb_file(&bomb);
    let lb = dir.path().join("board");
    fs::create_dir(&lb).unwrap();
    fs::copy(&bomb, lb.join("bomb.json")).unwrap();
    let (b, fx, l) = (
        bomb.to_str().unwrap(),
        fixture().display().to_string(),
        lb.to_str().unwrap().to_string(),
    );
    // 1 GiB of address space: decoding one claimed 4 GiB payload would abort.
    let cap = "ulimit -v 1048576;";
    let limit = Duration::from_secs(30);
    let (code, text) = run_limited(cap, &["validate", b], limit);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("claims a payload"), "{text}");
    for args in [vec!["compare", b, &fx], vec!["cost", b]] {
        let (code, text) = run_limited(cap, &args, limit);
        assert_eq!(code, Some(2), "{args:?}: {text}");
        assert!(text.contains("bomb.json"), "{text}");
    }
    let (code, text) = run_limited(cap, &["leaderboard", &l], limit);
    assert_eq!(code, Some(0), "{text}");
    let page = fs::read_to_string(lb.join("README.md")).unwrap();
    assert!(
        page.contains("bomb.json: not a valid result file"),
        "{page}"
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_at_once_and_pipes_are_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.json");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let f = fifo.to_str().unwrap();
    let fx = fixture().display().to_string();
    let limit = Duration::from_secs(20);
    for args in [
        vec!["validate", f],
        vec!["cost", f],
        vec!["compare", f, &fx],
        vec!["cost", &fx, "--price-file", f],
    ] {
        let (code, text) = run_limited("", &args, limit);
        assert_eq!(code, Some(2), "{args:?}: {text}");
        assert!(text.contains("named pipe (FIFO)"), "{text}");
        assert!(text.contains("pass it as -"), "{text}");
    }
    // A valid file through a pipe, as `-`, `/dev/stdin` and a process substitution.
    for how in [
        "cat \"$1\" | \"$0\" validate -",
        "cat \"$1\" | \"$0\" validate /dev/stdin",
        "\"$0\" validate <(cat \"$1\")",
    ] {
        let out = Command::new("bash")
            .arg("-c")
            .arg(how)
            .arg(bin())
            .arg(fixture())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{how}: {text}");
        assert!(text.starts_with("ok "), "{how}: {text}");
    }
    let stdin = fs::read(fixture()).unwrap();
    flopcost()
        .args(["cost", "-"])
        .write_stdin(stdin)
        .assert()
        .success();
}

#[test]
fn of_two_runs_on_one_new_out_one_refuses_and_none_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    for pair in 0..4 {
        let out = dir.path().join(format!("race-{pair}.json"));
        let spawn = || {
            Command::new(bin())
                .args(["run", "--shape", "33", "--no-peaks", "--quiet"])
                .args(["--time-budget", "0.05", "--min-samples", "2", "--out"])
                .arg(&out)
                .env("FLOPCOST_CACHE_DIR", dir.path().join("cache"))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let mut codes = [a.status.code(), b.status.code()];
        codes.sort();
        let why = format!(
            "{}\n{}",
            String::from_utf8_lossy(&a.stderr),
            String::from_utf8_lossy(&b.stderr)
        );
        assert_eq!(codes, [Some(0), Some(2)], "pair {pair}: {why}");
        let file = result::read(&out).unwrap();
        assert!(file.complete, "pair {pair}");
        assert!(!file.records.is_empty());
        assert!(validate::problems(&file).is_empty());
    }
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn a_path_taken_after_the_checks_is_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("taken.json");
    let writer = result::ResultWriter::prepare(out.clone(), false, false).unwrap();
    fs::write(&out, b"another run's file").unwrap();
    let e = writer.save(&fixture_file()).unwrap_err();
    assert!(
        e.chain().any(|c| c.is::<flopcost::error::InputError>()),
        "{e:#}"
    );
    assert!(
        format!("{e:#}").contains("created by another process"),
        "{e:#}"
    );
    assert_eq!(fs::read(&out).unwrap(), b"another run's file");
    drop(writer);
    assert_eq!(fs::read(&out).unwrap(), b"another run's file");
}

#[test]
fn a_file_without_measurements_is_removed_and_force_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut empty = fixture_file();
    empty.records.clear();
    empty.triplets.clear();
    empty.training = None;
    empty.more_training.clear();
    empty.peaks = None;
    empty.complete = false;
    empty.incomplete_reason = Some("in progress".into());
    let out = dir.path().join("new.json");
    {
        let w = result::ResultWriter::prepare(out.clone(), false, false).unwrap();
        w.save(&empty).unwrap();
        assert!(out.exists(), "the path is taken at the first save");
    }
    assert!(!out.exists(), "a run that measured nothing leaves no file");
    {
        let w = result::ResultWriter::prepare(out.clone(), false, false).unwrap();
        w.save(&empty).unwrap();
        w.save(&fixture_file()).unwrap();
    }
    assert!(result::read(&out).is_ok(), "a file with records is kept");
    let before = fs::read(&out).unwrap();
    {
        let w = result::ResultWriter::prepare(out.clone(), true, false).unwrap();
        w.save(&empty).unwrap();
        assert_eq!(
            fs::read(&out).unwrap(),
            before,
            "--force keeps the old file"
        );
    }
    assert_eq!(fs::read(&out).unwrap(), before);
}

#[test]
fn a_run_that_fails_before_its_first_record_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("failed.json");
    let o = out.to_str().unwrap().to_string();
    // The naive 1024³ product takes seconds on a software adapter.
    let (code, text) = run_limited(
        "",
        &[
            "run",
            "--kernel",
            "naive",
            "--no-peaks",
            "--shape",
            "1024",
            "--dispatch-timeout",
            "0.5",
            "--quiet",
            "--out",
            &o,
        ],
        Duration::from_secs(120),
    );
    if common::gpu().info.device_type != wgpu::DeviceType::Cpu {
        eprintln!("adapter is a GPU: the 1024³ product may finish within 0.5 s; not asserting");
        return;
    }
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("no result file was written"), "{text}");
    assert!(!out.exists(), "a file was left at {}", out.display());
}

#[test]
fn numbers_that_would_not_read_back_are_refused_when_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let fx = fixture().display().to_string();
    let out = dir.path().join("priced.json");
    let o = out.to_str().unwrap();
    for args in [
        vec![
            "run",
            "--shape",
            "64",
            "--capex-usd",
            "1e308",
            "--watts",
            "300",
        ],
        vec!["cost", &fx, "--usd-per-hour", "1e308", "--out", o],
        vec!["cost", &fx, "--watts", "inf"],
    ] {
        flopcost()
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("at most"))
            .stderr(predicate::str::contains("adapter 0:").not());
    }
    for field in ["usd_per_hour", "capex_usd", "watts"] {
        let prices = dir.path().join(format!("{field}.toml"));
        fs::write(&prices, format!("[llvmpipe]\n{field} = 1e308\n")).unwrap();
        flopcost()
            .args(["cost", &fx, "--price-file", prices.to_str().unwrap()])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(field));
    }
    assert!(!out.exists());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Whatever prices are accepted, the file flopcost writes with them validates.
    #[test]
    fn any_file_flopcost_writes_validates(
        exp in proptest::collection::vec(-30.0f64..30.0, 9),
        which in proptest::collection::vec(proptest::bool::ANY, 9),
    ) {
        use flopcost::result::CostField;
        let file = fixture_file();
        let mut spec = flopcost::cost::price::PriceSpec::default();
        for ((field, e), on) in CostField::ALL.into_iter().zip(&exp).zip(&which) {
            let v = 10f64.powf(*e);
            if *on && field.check(v).is_ok() {
                spec.flags.set(field, v);
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("p.json");
        let Ok(cost) = flopcost::cost::price_file(&file, &spec) else {
            return Ok(());
        };
        let mut priced = file.clone();
        priced.cost = Some(cost);
        let w = result::ResultWriter::prepare(out.clone(), false, false).unwrap();
        w.save(&priced).unwrap();
        let back = result::read(&out).unwrap();
        let problems = validate::problems(&back);
        proptest::prop_assert!(problems.is_empty(), "{:?}", problems);
    }
}

#[cfg(unix)]
#[test]
fn a_tuning_cache_that_is_not_a_file_is_neither_read_nor_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    fs::create_dir(&cache).unwrap();
    // The cache's file name for this adapter, from a first tuning.
    let (code, text) = run_limited(
        &format!("export FLOPCOST_CACHE_DIR={};", cache.display()),
        &["tune", "--shape", "33", "--budget", "2", "--quiet"],
        Duration::from_secs(120),
    );
    assert_eq!(code, Some(0), "{text}");
    let name = fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .expect("a cache file was written");
    for make in ["ln -sf /dev/zero", "rm -f \"$1\"; mkfifo"] {
        let ok = Command::new("bash")
            .arg("-c")
            .arg(format!("rm -f \"$1\"; {make} \"$1\""))
            .arg("x")
            .arg(&name)
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let (code, text) = run_limited(
            &format!(
                "ulimit -v 4194304; export FLOPCOST_CACHE_DIR={};",
                cache.display()
            ),
            &["tune", "--shape", "33", "--budget", "2", "--quiet"],
            Duration::from_secs(120),
        );
        assert_eq!(code, Some(0), "{make}: {text}");
        assert!(text.contains("is not a regular file"), "{make}: {text}");
    }
}

/// The fixture with hostile text in the adapter name, a record id and a warning.
fn forged_file(path: &Path) {
    let mut f = fixture_file();
    f.adapter.name = "evil\nok      forged.json: 99 records\x1b[2K\r".into();
    f.warnings.push("line one\nline two\x1b]0;title\x07".into());
    f.cost = None;
    write_file(path, &f);
}

fn assert_clean(what: &str, text: &str, lines: Option<usize>) {
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{what} printed a raw control character: {text:?}"
    );
    assert!(!text.contains("\nok      forged"), "{what}: {text}");
    if let Some(n) = lines {
        assert_eq!(text.lines().count(), n, "{what}: {text}");
    }
}

#[test]
fn text_from_files_cannot_forge_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let forged = dir.path().join("forged.json");
    forged_file(&forged);
    let f = forged.to_str().unwrap();
    let out = flopcost().args(["validate", f]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_clean("validate", &text, Some(1));
    assert!(text.contains("evil\\nok"), "{text}");
    let fx = fixture().display().to_string();
    for args in [
        vec!["compare", &fx, f],
        vec!["compare", &fx, f, "--format", "markdown"],
        vec!["compare", &fx, f, "--format", "csv"],
        vec!["cost", f, "--usd-per-hour", "2"],
    ] {
        let out = flopcost().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_clean(
            &format!("{args:?}"),
            &String::from_utf8_lossy(&out.stdout),
            None,
        );
        assert_clean(
            &format!("{args:?}"),
            &String::from_utf8_lossy(&out.stderr),
            None,
        );
    }
    // A newline in a record id: the error stays on one line.
    let mut bad = fixture_file();
    bad.records[0].id = "a\nb".into();
    bad.records[1].id = "a\nb".into();
    let p = dir.path().join("dup-id.json");
    write_file(&p, &bad);
    let out = flopcost()
        .args(["validate", p.to_str().unwrap()])
        .output()
        .unwrap();
    assert_clean("validate", &String::from_utf8_lossy(&out.stdout), Some(1));
    // A price file's source is printed escaped.
    let prices = dir.path().join("p.toml");
    fs::write(
        &prices,
        "[llvmpipe]\nusd_per_hour = 1.5\nsource = \"list\\nok   fake\\u001b[31m\"\n",
    )
    .unwrap();
    let out = flopcost()
        .args(["cost", &fx, "--price-file", prices.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_clean("cost", &String::from_utf8_lossy(&out.stdout), None);
}

#[test]
fn over_long_strings_and_duplicate_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = fixture_file();
    f.adapter.name = "x".repeat(4 << 20);
    let long = dir.path().join("long.json");
    write_file(&long, &f);
    let fx = fixture().display().to_string();
    for args in [
        vec!["validate", long.to_str().unwrap()],
        vec!["compare", &fx, long.to_str().unwrap()],
    ] {
        let out = flopcost().args(&args).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(text.contains("longer than the 1024 bytes"), "{text}");
        assert!(text.len() < 4096, "the message repeats the string");
    }
    // A key given twice: refused, not "the last one wins".
    let text = fs::read_to_string(fixture()).unwrap();
    let dup = text.replacen(
        "\"complete\": true",
        "\"complete\": true, \"complete\": false",
        1,
    );
    assert_ne!(dup, text);
    let p = dir.path().join("dup.json");
    fs::write(&p, dup).unwrap();
    flopcost()
        .args(["validate", p.to_str().unwrap()])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("\"complete\" appears twice"));
}

#[test]
fn output_paths_are_checked_before_any_gpu_work() {
    let dir = tempfile::tempdir().unwrap();
    let slash = format!("{}/new/", dir.path().display());
    let long = dir.path().join(format!("{}.json", "n".repeat(300)));
    for out in [slash.as_str(), long.to_str().unwrap()] {
        flopcost()
            .args(["run", "--shape", "8", "--out", out])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--out"))
            .stderr(predicate::str::contains("adapter 0:").not());
    }
}

#[test]
fn leaderboard_keeps_a_hand_written_readme() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(fixture(), dir.path().join("a.json")).unwrap();
    let readme = dir.path().join("README.md");
    fs::write(&readme, "# My notes\n").unwrap();
    let d = dir.path().to_str().unwrap();
    flopcost()
        .args(["leaderboard", d])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--force"));
    assert_eq!(fs::read_to_string(&readme).unwrap(), "# My notes\n");
    flopcost()
        .args(["leaderboard", d, "--force"])
        .assert()
        .success();
    let page = fs::read_to_string(&readme).unwrap();
    assert!(page.contains("Generated by `flopcost leaderboard"));
    // A generated page is replaced without --force.
    fs::copy(fixture(), dir.path().join("b.json")).unwrap();
    flopcost().args(["leaderboard", d]).assert().success();
    assert_ne!(fs::read_to_string(&readme).unwrap(), page);
}

#[test]
fn the_smaller_cases() {
    let dir = tempfile::tempdir().unwrap();
    // A negative recorded price fails validate, and cost names the file.
    let f = fixture_file();
    let mut priced = f.clone();
    let mut spec = flopcost::cost::price::PriceSpec::default();
    spec.flags.set(flopcost::result::CostField::UsdPerHour, 2.0);
    priced.cost = Some(flopcost::cost::price_file(&f, &spec).unwrap());
    let mut text = serde_json::to_string_pretty(&priced).unwrap();
    text = text.replacen("\"value\": 2.0", "\"value\": -2.0", 1);
    let neg = dir.path().join("negative.json");
    fs::write(&neg, &text).unwrap();
    let n = neg.to_str().unwrap();
    flopcost()
        .args(["validate", n])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("usd_per_hour = -2"));
    flopcost()
        .args(["cost", n])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("negative.json"));
    // A price file that matches no adapter says so.
    let prices = dir.path().join("other.toml");
    fs::write(&prices, "[\"Some Other GPU\"]\nusd_per_hour = 3\n").unwrap();
    let fx = fixture().display().to_string();
    flopcost()
        .args(["cost", &fx, "--price-file", prices.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("has no entry for adapter"));
    // Argument-parser errors take one line.
    let out = flopcost().args(["run", "--bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}
