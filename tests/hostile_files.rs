//! Readers and writers that hold against a hostile contributor and a hostile neighbour on
//! a shared folder: links planted at temporary names, a leaderboard page that is not a
//! file, infinities, figures that disagree with their own samples, training claims the
//! loss curve does not support, files that would take minutes, inputs that would only fail
//! after measuring, closed pipes, and readers that judge a file alike. One test per case
//! of docs/reliability.md's "Hostile files, round three" table; the wider corpus is
//! `tests/hostile-corpus/` (run by `hostile_corpus.rs`).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{fixture_file, flopcost, write_file};
use flopcost::result::{self, ResultFile, Timing, validate};
use flopcost::types::TimingMethod;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_flopcost"))
}

fn fixture() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lavapipe-vulkan.json"
    ))
}

fn other_fixture() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/llvmpipe-gl.json"
    ))
}

/// `flopcost ARGS` run by bash after `prefix` (so `$$` is flopcost's own pid, which the
/// temporary names of older versions contained), in `dir`, killed past `limit`: the exit
/// code (None when killed by a signal or the limit) and stdout + stderr.
fn run_in(dir: &Path, prefix: &str, args: &[&str], limit: Duration) -> (Option<i32>, String) {
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!("{prefix} exec \"$0\" \"$@\""))
        .arg(bin())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("FLOPCOST_CACHE_DIR", dir.join("cache"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read both streams while waiting, so a long output cannot fill a pipe and stall.
    let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(child.stdout.take().map(|r| Box::new(r) as _));
    let err = drain(child.stderr.take().map(|r| Box::new(r) as _));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = out.join().unwrap() + &err.join().unwrap();
    (status.and_then(|s| s.code()), text)
}

/// A file every reader must refuse: validate, compare and cost exit 2 naming a problem,
/// compare gives no headline, and the leaderboard lists it as refused without a rank.
fn refused_everywhere(file: &ResultFile, why: &str) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("hostile.json");
    write_file(&p, file);
    let problems = validate::problems(file);
    assert!(
        problems.iter().any(|p| p.contains(why)),
        "expected a problem containing {why:?}, got {problems:?}"
    );
    let p = p.to_str().unwrap();
    for args in [
        vec!["validate", p],
        vec!["compare", other_fixture().to_str().unwrap(), p],
        vec!["cost", p],
    ] {
        let (code, text) = run_in(dir.path(), "", &args, Duration::from_secs(20));
        assert_eq!(code, Some(2), "{args:?}: {text}");
        assert!(
            !text.contains("× its speed"),
            "{args:?} gave a headline: {text}"
        );
    }
    let board = dir.path().join("board");
    fs::create_dir(&board).unwrap();
    fs::copy(p, board.join("hostile.json")).unwrap();
    fs::copy(fixture(), board.join("good.json")).unwrap();
    let (code, text) = run_in(
        dir.path(),
        "",
        &["leaderboard", board.to_str().unwrap()],
        Duration::from_secs(20),
    );
    assert_eq!(code, Some(0), "{text}");
    let page = fs::read_to_string(board.join("README.md")).unwrap();
    assert!(
        page.contains("- hostile.json:"),
        "not listed as refused:\n{page}"
    );
    assert!(!page.contains("| [hostile.json]"), "ranked:\n{page}");
}

// ---- 1. Links planted at temporary names

#[cfg(unix)]
#[test]
fn links_planted_at_temporary_names_are_never_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let victim = d.join("victim.txt");
    let precious = b"precious, not flopcost's";
    fs::copy(fixture(), d.join("in.json")).unwrap();
    fs::copy(fixture(), d.join("forced.json")).unwrap();
    let board = d.join("board");
    fs::create_dir(&board).unwrap();
    fs::copy(fixture(), board.join("a.json")).unwrap();
    let v = victim.display();
    let bd = board.display();
    // Every name an older flopcost wrote through, with this process's pid in it.
    let plant = format!(
        "ln -s {v} .out.json.new-$$; ln -s {v} .forced.json.tmp-$$; \
         ln -s {v} .flopcost-write-test-$$; ln -s {v} .cmp.md.new-$$; \
         ln -s {v} {bd}/.README.md.tmp-$$;"
    );
    let cases: [&[&str]; 5] = [
        &["cost", "in.json", "--out", "out.json"],
        &["cost", "in.json", "--out", "forced.json", "--force"],
        &[
            "compare",
            "in.json",
            "forced.json",
            "--format",
            "markdown",
            "--out",
            "cmp.md",
        ],
        &["leaderboard", "board"],
        &[
            "run",
            "--shape",
            "33",
            "--kernel",
            "naive",
            "--repeat",
            "1",
            "--no-peaks",
            "--time-budget",
            "0.05",
            "--min-samples",
            "3",
            "--max-samples",
            "3",
            "-q",
            "--out",
            "r.json",
        ],
    ];
    for args in cases {
        fs::write(&victim, precious).unwrap();
        let (code, text) = run_in(d, &plant, args, Duration::from_secs(120));
        assert_eq!(code, Some(0), "{args:?}: {text}");
        assert_eq!(
            fs::read(&victim).unwrap(),
            precious,
            "{args:?} wrote through a link"
        );
        // Clear the links for the next command (their names hold another pid next time).
        for e in fs::read_dir(d)
            .unwrap()
            .chain(fs::read_dir(&board).unwrap())
        {
            let p = e.unwrap().path();
            if fs::symlink_metadata(&p).unwrap().file_type().is_symlink() {
                fs::remove_file(p).unwrap();
            }
        }
    }
    for out in [
        "out.json",
        "forced.json",
        "cmp.md",
        "r.json",
        "board/README.md",
    ] {
        let meta = fs::symlink_metadata(d.join(out)).unwrap();
        assert!(meta.is_file(), "{out} is not a regular file");
    }
}

// ---- 2. A leaderboard page that is not a plain file

#[cfg(unix)]
#[test]
fn a_leaderboard_page_that_is_not_a_plain_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let board = dir.path().join("board");
    fs::create_dir(&board).unwrap();
    fs::copy(fixture(), board.join("a.json")).unwrap();
    let page = board.join("README.md");
    let fifo = std::ffi::CString::new(page.to_str().unwrap()).unwrap();
    let b = board.to_str().unwrap();
    for setup in ["fifo", "dev-zero", "directory"] {
        let _ = fs::remove_file(&page);
        let _ = fs::remove_dir(&page);
        match setup {
            // SAFETY: a valid NUL-terminated path.
            "fifo" => assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0),
            "dev-zero" => std::os::unix::fs::symlink("/dev/zero", &page).unwrap(),
            _ => fs::create_dir(&page).unwrap(),
        }
        for args in [vec!["leaderboard", b], vec!["leaderboard", b, "--check"]] {
            let started = Instant::now();
            let (code, text) = run_in(dir.path(), "", &args, Duration::from_secs(10));
            assert_eq!(code, Some(2), "{setup} {args:?}: {text}");
            assert!(text.contains("not a regular file"), "{setup}: {text}");
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{setup} took long"
            );
        }
    }
}

// ---- 3. Infinities and sub-normal times

#[test]
fn sums_that_overflow_and_subnormal_times_are_refused() {
    // Two products' medians at 1e308 in a later repetition: their sum is infinite.
    let mut f = fixture_file();
    let w = f.workload.as_mut().unwrap();
    w.step_times_ns[1] = 1e308;
    let r = f.repeatability.as_mut().unwrap();
    for e in r.records.iter_mut().filter(|e| e.id != "training").take(2) {
        e.medians_ns[1] = 1e308;
        e.histograms.clear();
        e.spread = result::spread(&e.medians_ns);
        e.flagged = e.spread > r.threshold;
    }
    r.flagged = r.records.iter().filter(|e| e.flagged).count() as u32;
    refused_everywhere(&f, "not a positive plausible time");

    // A peak whose fastest run is sub-normal: work / best_ns is infinite.
    let mut f = fixture_file();
    f.peaks.as_mut().unwrap().fma_f32.best_ns = 5e-324;
    refused_everywhere(&f, "fma_f32");

    // Repetitions beyond what a run makes, and times beyond any run.
    let mut f = fixture_file();
    f.workload.as_mut().unwrap().repetitions = u32::MAX;
    refused_everywhere(&f, "repetitions");
    let mut f = fixture_file();
    f.workload.as_mut().unwrap().took_s = Some(f64::MAX);
    refused_everywhere(&f, "took_s");
}

// ---- 4. Figures that disagree with their own samples

#[test]
fn medians_and_spreads_must_agree_with_their_histograms() {
    // A record's median lowered to its fastest sample, its histogram kept, its
    // throughput and the sums above it made to agree.
    let mut f = fixture_file();
    let r = &mut f.records[0];
    let t = r.timing.as_mut().unwrap();
    t.median_ns = t.min_ns;
    t.p10_ns = t.min_ns;
    r.tflops.as_mut().unwrap().median = r.flops as f64 / t.min_ns / 1e3;
    let problems = validate::problems(&f);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("median_ns") && p.contains("disagrees with the histogram")),
        "{problems:?}"
    );

    // A negative cv, which would hide a noisy record.
    let mut f = fixture_file();
    f.records[0].timing.as_mut().unwrap().cv = -0.4;
    refused_everywhere(&f, "cv -0.4");

    // A later repetition's median moved to the bottom of its own histogram.
    let mut f = fixture_file();
    let e = &mut f.repeatability.as_mut().unwrap().records[0];
    let h = flopcost::stats::decode_histogram(&e.histograms[1]).unwrap();
    e.medians_ns[1] = h.min() as f64;
    refused_everywhere(&f, "disagrees with its histogram");

    // The repetitions' histograms dropped, so their medians cannot be checked.
    let mut f = fixture_file();
    for e in &mut f.repeatability.as_mut().unwrap().records {
        e.histograms.clear();
    }
    refused_everywhere(&f, "carry no histograms");
}

// ---- 5. Training claims

#[test]
fn training_claims_are_recomputed_from_the_curve_and_fixed_tolerances() {
    let mut f = fixture_file();
    let g = &mut f.training.as_mut().unwrap().gradient_check;
    g.tolerance = 1.0;
    g.gradient_rel_error = 0.9;
    refused_everywhere(&f, "gradient_check.tolerance");

    // Every logged loss above the target, the claim kept.
    let mut f = fixture_file();
    let t = f.training.as_mut().unwrap();
    let floor = 1.5 * t.target_loss;
    for p in &mut t.loss_curve {
        p.loss = p.loss.max(floor);
    }
    t.loss_end = t.loss_curve.last().unwrap().loss;
    assert!(t.reached_target);
    refused_everywhere(&f, "no logged loss is at or below the target");

    // A mean squared error below zero.
    let mut f = fixture_file();
    f.training.as_mut().unwrap().loss_curve[0].loss = -1.0;
    refused_everywhere(&f, "non-negative");
}

// ---- 6. Work bounded by the file's size

/// A valid file of `n` records with `samples` honest samples each (spread over a range),
/// built from the fixture's first record.
fn many_samples(n: usize, samples: usize) -> ResultFile {
    let mut f = fixture_file();
    f.workload = None;
    f.repeatability = None;
    f.training = None;
    f.more_training.clear();
    f.triplets.clear();
    f.cost = None;
    f.settings.suite = "custom".into();
    let base = f.records[0].clone();
    f.records.clear();
    for i in 0..n {
        // Distinct shapes, so that every record is a row of its own in a comparison.
        let mut r = base.clone();
        r.id = format!("r{i}");
        r.role = None;
        r.m = 1 + i as u32;
        r.flops = 2 * u64::from(r.m) * u64::from(r.n) * u64::from(r.k);
        r.verification.method = result::CheckMethod::Full;
        r.verification.checked_entries = u64::from(r.m) * u64::from(r.n);
        let times: Vec<f64> = (0..samples)
            .map(|j| 1e6 * (1.0 + ((j * 7919 + i) % 1000) as f64 / 2000.0))
            .collect();
        let t = Timing::from_samples(TimingMethod::GpuTimestamp, &times, 1).unwrap();
        r.tflops = Some(result::Tflops {
            median: r.flops as f64 / t.median_ns / 1e3,
            best: r.flops as f64 / t.min_ns / 1e3,
        });
        r.efficiency = None;
        r.timing = Some(t);
        f.records.push(r);
    }
    f
}

#[test]
fn large_honest_files_are_compared_in_bounded_time() {
    // 500 records of 24,000 samples each, every one a row of its own: the bootstrap draws
    // each resample's median as an order statistic, so its cost does not grow with the
    // sample count. Resampling every sample took 205 s for this file in a release build;
    // it takes 0.4 s now (2.3 s in the debug build this test runs). The limit separates
    // the two; it is not a speed claim (docs/performance.md has the figures).
    let f = many_samples(500, 24_000);
    assert!(
        validate::problems(&f).is_empty(),
        "{:?}",
        validate::problems(&f)
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.json");
    write_file(&p, &f);
    let p = p.to_str().unwrap();
    let (code, text) = run_in(
        dir.path(),
        "",
        &["compare", p, p, "--format", "json"],
        Duration::from_secs(15),
    );
    assert_eq!(code, Some(0), "{text}");
    // Memory: at most 8 MiB plus 12 times the bytes read (docs/reliability.md).
    let rss = dir.path().join("rss");
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o", rss.to_str().unwrap()])
        .arg(bin())
        .args(["compare", p, p, "--format", "json"])
        .stdout(Stdio::null())
        .status()
        .expect("/usr/bin/time runs (Debian's package time; .ci/run installs it)");
    assert!(status.success());
    let kib: f64 = fs::read_to_string(&rss).unwrap().trim().parse().unwrap();
    let read = 2.0 * fs::metadata(p).unwrap().len() as f64;
    let bound = 8.0 * 1024.0 * 1024.0 + 12.0 * read;
    assert!(
        kib * 1024.0 <= bound,
        "compare of two {read} B files took {kib} KiB, over the bound of {bound} B"
    );
}

#[test]
fn histograms_padded_beyond_their_own_size_are_refused() {
    // A repetition histogram whose compressed bytes inflate a thousandfold: refused by
    // the bound of 64 inflated bytes per encoded character.
    use std::io::{Read, Write};
    let mut f = fixture_file();
    let e = &mut f.repeatability.as_mut().unwrap().records[0];
    let raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &e.histograms[0])
        .unwrap();
    let mut inner = Vec::new();
    flate2::read::ZlibDecoder::new(&raw[8..])
        .read_to_end(&mut inner)
        .unwrap();
    let payload = inner.len() - 40;
    let padded = 1 << 20;
    inner[4..8].copy_from_slice(&(padded as u32).to_be_bytes());
    inner.resize(40 + padded.max(payload), 0);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&inner).unwrap();
    let body = z.finish().unwrap();
    let mut out = raw[..4].to_vec();
    out.extend((body.len() as u32).to_be_bytes());
    out.extend(body);
    e.histograms[0] = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, out);
    refused_everywhere(&f, "histogram");
}

// ---- 7. Inputs refused before anything runs

#[test]
fn cost_inputs_that_cannot_be_priced_are_refused_before_measuring() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let big = format!(
        "[llvmpipe]\nusd_per_hour = 1.0\nsource = \"{}\"\n",
        "x".repeat(900_000)
    );
    fs::write(d.join("big.toml"), big).unwrap();
    let fx = fixture();
    let fx = fx.to_str().unwrap();
    let run = [
        "run",
        "--shape",
        "33",
        "--kernel",
        "naive",
        "--repeat",
        "1",
        "--no-peaks",
        "-q",
        "--out",
        "a.json",
    ];
    for extra in [
        &[
            "--capex-usd",
            "1e10",
            "--watts",
            "1",
            "--lifetime-years",
            "5e-324",
        ][..],
        &[
            "--capex-usd",
            "1e10",
            "--watts",
            "1",
            "--utilization",
            "1e-320",
        ][..],
        &["--price-file", "big.toml"][..],
    ] {
        let args: Vec<&str> = run.iter().chain(extra).copied().collect();
        let started = Instant::now();
        let (code, text) = run_in(d, "", &args, Duration::from_secs(60));
        assert_eq!(code, Some(2), "{extra:?}: {text}");
        assert_eq!(text.trim().lines().count(), 1, "{extra:?}: {text}");
        assert!(!d.join("a.json").exists(), "{extra:?} left a file");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{extra:?} measured first"
        );
        let mut cost: Vec<&str> = vec!["cost", fx];
        cost.extend(extra);
        cost.extend(["--out", "c.json"]);
        let (code, text) = run_in(d, "", &cost, Duration::from_secs(20));
        assert_eq!(code, Some(2), "cost {extra:?}: {text}");
        assert!(!d.join("c.json").exists());
    }
}

// ---- 8. Closed pipes

#[cfg(unix)]
#[test]
fn a_closed_stdout_ends_commands_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let fx = fixture();
    let fx = fx.to_str().unwrap();
    let board = dir.path().join("board");
    fs::create_dir(&board).unwrap();
    fs::copy(fixture(), board.join("a.json")).unwrap();
    let b = board.to_str().unwrap();
    let many: Vec<&str> = std::iter::once("validate")
        .chain(std::iter::repeat_n(fx, 40))
        .collect();
    for args in [
        many,
        vec!["schema"],
        vec!["devices"],
        vec!["kernels"],
        vec!["catalog"],
        vec!["leaderboard", b],
        vec!["leaderboard", b, "--check"],
    ] {
        // stdout is a pipe whose reader has gone before flopcost starts.
        let (code, text) = run_in(
            dir.path(),
            "exec 3>&1; exec 1> >(exec 0<&-; true); sleep 0.3;",
            &args,
            Duration::from_secs(30),
        );
        assert!(
            matches!(code, None | Some(0) | Some(141)),
            "{args:?}: exit {code:?}: {text}"
        );
        assert!(!text.contains("panicked"), "{args:?}: {text}");
    }
}

// ---- 9. One strict reader

#[test]
fn every_reader_judges_a_file_as_validate_does() {
    let mut f = fixture_file();
    f.created_at.push(' ');
    refused_everywhere(&f, "created_at");

    let mut f = fixture_file();
    f.workload.as_mut().unwrap().definition.layers[0]
        .name
        .push(' ');
    refused_everywhere(&f, "digest");

    // A result file that names itself a JSON Schema: refused, not skipped.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("dollar.json");
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(fixture()).unwrap()).unwrap();
    let o = v.as_object_mut().unwrap();
    let schema = o.remove("schema").unwrap();
    o.insert("$schema".into(), schema);
    fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    flopcost()
        .args(["validate", p.to_str().unwrap()])
        .assert()
        .code(2);
    // The JSON Schema of result files itself is still skipped.
    let s = dir.path().join("schema.json");
    fs::write(&s, result::schema_json()).unwrap();
    flopcost()
        .args(["validate", s.to_str().unwrap()])
        .assert()
        .success();
}
