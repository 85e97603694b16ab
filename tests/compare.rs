//! `flopcost compare` and its output formats, on fixed fixture files (two real runs, on
//! lavapipe and on llvmpipe GL) so the snapshots are deterministic.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{flopcost, slowed};
use flopcost::analysis::compare::{self, Basis, Comparison, Input};
use flopcost::cost::{PriceFile, PriceSpec};
use flopcost::report::export::{self, Format};
use flopcost::result;
use predicates::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn comparison(priced: bool) -> Comparison {
    let spec = PriceSpec {
        price_file: priced.then(|| PriceFile::read(&fixture("prices.toml")).unwrap()),
        ..PriceSpec::default()
    };
    let inputs: Vec<Input> = ["lavapipe-vulkan.json", "llvmpipe-gl.json"]
        .iter()
        .map(|n| {
            let file = result::read(&fixture(n)).unwrap();
            Input::of(&format!("tests/fixtures/{n}"), file, &spec).unwrap()
        })
        .collect();
    compare::build(&inputs, 0, None).unwrap()
}

#[test]
fn table_snapshot() {
    let text = export::exporter(Format::Table)
        .render(&comparison(true))
        .unwrap();
    insta::assert_snapshot!("compare_table", text);
}

#[test]
fn markdown_snapshot() {
    let text = export::exporter(Format::Markdown)
        .render(&comparison(true))
        .unwrap();
    insta::assert_snapshot!("compare_markdown", text);
}

#[test]
fn long_file_names_become_machine_numbers_in_column_names() {
    let short = comparison(false);
    let (header, _) = export::row_cells(&short);
    assert!(header.contains(&"llvmpipe-gl / lavapipe-vulkan [95% CI]".to_string()));
    let mut long = short.clone();
    long.machines[1].label = "llvmpipe-llvm-15-0-6-256-bits-gl-standard-20261129T013539Z".into();
    let (header, _) = export::row_cells(&long);
    assert!(
        header.contains(&"#2 / #1 [95% CI]".to_string()),
        "{header:?}"
    );
    assert!(header.contains(&"#1 TFLOP/s".to_string()), "{header:?}");
    assert!(header.iter().all(|h| !h.contains("llvmpipe")), "{header:?}");
}

#[test]
fn unpriced_files_say_how_to_give_a_price() {
    let c = comparison(false);
    let v = c.headline.as_ref().unwrap();
    assert!(v.cost_ratio.is_none());
    assert!(v.sentence.contains("cost is unknown"), "{}", v.sentence);
    assert!(c.machines.iter().all(|m| m.usd_per_hour.is_none()));
    assert!(c.notes.iter().any(|n| n.contains("--usd-per-hour")));
}

#[test]
fn the_headline_names_its_workload_and_its_intervals_bracket_the_ratios() {
    let c = comparison(true);
    assert_eq!(c.rows.len(), 12, "15 products of 12 distinct shapes");
    for r in &c.rows {
        let (a, b) = (r.cells[0].as_ref().unwrap(), r.cells[1].as_ref().unwrap());
        let i = b.interval.unwrap();
        let ratio = b.ratio.unwrap();
        assert!(i.low <= ratio && ratio <= i.high, "{r:?}");
        assert_eq!(b.repetitions, 3);
        // Same price on both sides: cost per PFLOP is inversely proportional to speed.
        let cost = b.usd_per_pflop.unwrap() / a.usd_per_pflop.unwrap();
        assert!((cost * b.tflops / a.tflops - 1.0).abs() < 1e-9);
    }
    let v = c.headline.as_ref().unwrap();
    assert!(c.refusals.is_empty());
    assert_eq!(v.workload, "small v1");
    assert_eq!(v.repetitions, [3, 3]);
    assert!(!v.within_run_only);
    assert!((v.cost_ratio.unwrap() * v.speed_ratio - 1.0).abs() < 1e-9);
    let i = v.speed_interval;
    assert!(i.low < v.speed_ratio && v.speed_ratio < i.high);
    assert!(
        v.sentence.starts_with(
            "llvmpipe-gl does the small v1 training step (f32 operands and accumulation; \
             both on shader cores) at "
        ),
        "{}",
        v.sentence
    );
    assert!(v.sentence.contains("the cost of lavapipe-vulkan ("));
    assert!(v.sentence.contains("its speed (95% interval: cost "));
    assert!(v.sentence.ends_with("3 runs each"), "{}", v.sentence);
    // Both adapters are software rasterisers, and the comparison says so.
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("software rasterisers"))
    );
    assert!(v.warnings.iter().any(|w| w.contains("software adapter")));
    // Every basis has its own figure and none falls back to another.
    for m in &c.machines {
        for b in Basis::ALL {
            let f = m.figure(b).unwrap();
            assert_eq!(f.basis, b);
            assert!(f.usd_per_pflop.unwrap() > 0.0);
        }
    }
}

#[test]
fn a_copy_with_every_time_doubled_reads_half_the_speed_and_twice_the_cost() {
    let a = result::read(&fixture("lavapipe-vulkan.json")).unwrap();
    let b = slowed(a.clone(), 2.0);
    assert!(
        result::validate::problems(&b).is_empty(),
        "{:?}",
        result::validate::problems(&b)
    );
    let spec = PriceSpec {
        price_file: Some(PriceFile::read(&fixture("prices.toml")).unwrap()),
        ..PriceSpec::default()
    };
    let inputs = vec![
        Input::of("a.json", a, &spec).unwrap(),
        Input::of("doubled.json", b, &spec).unwrap(),
    ];
    let c = compare::build(&inputs, 0, None).unwrap();
    let v = c.headline.as_ref().expect("a headline");
    assert!(
        (v.speed_ratio - 0.5).abs() <= 0.03 * 0.5,
        "{}",
        v.speed_ratio
    );
    let cost = v.cost_ratio.unwrap();
    assert!((cost - 2.0).abs() <= 0.03 * 2.0, "{cost}");
    let (s, k) = (v.speed_interval, v.cost_interval.unwrap());
    assert!(s.high < 1.0 && k.low > 1.0, "{s:?} {k:?}");
    assert!(s.low <= 0.5 && 0.5 <= s.high);
}

/// The comparison of the lavapipe fixture with a copy of itself changed by `edit`.
fn against_edited(edit: impl Fn(&mut result::ResultFile)) -> Comparison {
    let a = result::read(&fixture("lavapipe-vulkan.json")).unwrap();
    let mut b = a.clone();
    edit(&mut b);
    let spec = PriceSpec::default();
    let inputs = vec![
        Input::of("a.json", a, &spec).unwrap(),
        Input::of("b.json", b, &spec).unwrap(),
    ];
    compare::build(&inputs, 0, None).unwrap()
}

#[test]
fn a_headline_needs_the_same_workload_all_verified_and_finished() {
    // The same file: a headline.
    let same = against_edited(|_| {});
    assert!(same.headline.is_some() && same.refusals.is_empty());
    let refused = |c: &Comparison, why: &str| {
        assert!(c.headline.is_none(), "a headline despite: {why}");
        assert!(
            c.refusals.iter().any(|r| r.contains(why)),
            "{why}: {:?}",
            c.refusals
        );
        assert!(!c.rows.is_empty(), "the matched rows stay");
        let json = export::exporter(Format::Json).render(c).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(v["headline"].is_null());
        assert!(!v["refusals"].as_array().unwrap().is_empty());
        let text = export::exporter(Format::Table).render(c).unwrap();
        assert!(text.contains("no headline for b against a:"), "{text}");
    };
    // Another version of the workload, or another definition under the same name.
    refused(
        &against_edited(|f| f.workload.as_mut().unwrap().version = 2),
        "different workloads",
    );
    refused(
        &against_edited(|f| {
            let w = f.workload.as_mut().unwrap();
            w.definition.mlp.steps = 301;
            w.digest = w.definition.digest();
        }),
        "definitions of small v1 differ",
    );
    // No workload at all (an exploratory suite).
    refused(
        &against_edited(|f| f.workload = None),
        "ran no named workload",
    );
    // A run that did not finish.
    refused(
        &against_edited(|f| {
            f.complete = false;
            f.incomplete_reason = Some("interrupted by SIGINT".into());
        }),
        "did not finish (interrupted by SIGINT)",
    );
    // A product that failed verification (untimed, as the runner records it), so no
    // repetition has a step time.
    refused(
        &against_edited(|f| {
            let r = &mut f.records[3];
            r.verification.passed = false;
            r.verification.rel_error = Some(0.5);
            r.timing = None;
            r.tflops = None;
            r.efficiency = None;
            f.workload.as_mut().unwrap().step_times_ns.clear();
            f.triplets.clear();
            f.repeatability = None;
            f.training = None;
            f.cost = None;
        }),
        "failed verification",
    );
}

#[test]
fn a_file_cannot_loosen_its_own_checks() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixture("lavapipe-vulkan.json");
    let text = fs::read_to_string(&good).unwrap();
    let edited = |name: &str, edit: &dyn Fn(&mut serde_json::Value)| -> PathBuf {
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        edit(&mut v["records"][0]);
        let p = dir.path().join(name);
        fs::write(&p, v.to_string()).unwrap();
        p
    };
    let cases: Vec<(PathBuf, &str)> = vec![
        // A tolerance of its own, loose enough that any error passes.
        (
            edited("loose.json", &|r| {
                r["verification"]["tolerance"] = serde_json::json!(1e300);
                r["verification"]["rel_error"] = serde_json::json!(1e200);
            }),
            "looser than the f32 tolerance",
        ),
        // A "sampled" check of a single entry.
        (
            edited("one-entry.json", &|r| {
                r["verification"]["method"] = serde_json::json!("sampled");
                r["verification"]["checked_entries"] = serde_json::json!(1);
            }),
            "compares at least",
        ),
        // A "full" check of a fraction of C.
        (
            edited("partial-full.json", &|r| {
                r["verification"]["method"] = serde_json::json!("full");
                r["verification"]["checked_entries"] = serde_json::json!(3057);
            }),
            "method is full but 3057",
        ),
        // A shape whose 2·M·N·K does not fit in 64 bits (it would wrap and read as fast).
        (
            edited("huge.json", &|r| {
                for d in ["m", "n", "k"] {
                    r[d] = serde_json::json!(u32::MAX);
                }
                r["flops"] =
                    serde_json::json!(2u64.wrapping_mul(u64::from(u32::MAX).wrapping_pow(3)));
            }),
            "does not fit in 64 bits",
        ),
    ];
    for (path, why) in &cases {
        let out = flopcost().arg("validate").arg(path).assert().code(2);
        let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        assert!(stdout.contains(why), "{}: {stdout}", path.display());
        for cmd in [&["compare"][..], &["cost"]] {
            let mut c = flopcost();
            c.args(cmd);
            if cmd[0] == "compare" {
                c.arg(&good);
            }
            let out = c.arg(path).assert().code(2);
            let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
            assert!(
                stderr.contains(why) && stderr.lines().count() == 1,
                "{cmd:?} {}: {stderr}",
                path.display()
            );
        }
    }
}

/// A copy of a fixture keeping only the records whose shape passes `keep`.
fn filtered(dir: &Path, name: &str, keep: impl Fn(&result::Record) -> bool) -> PathBuf {
    let mut f = result::read(&fixture(name)).unwrap();
    f.records.retain(|r| keep(r));
    // No longer the whole workload: an exploratory file of these records.
    f.workload = None;
    f.repeatability = None;
    f.triplets.clear();
    f.training = None;
    f.cost = None;
    let p = dir.join(format!("filtered-{name}"));
    fs::write(&p, serde_json::to_vec(&f).unwrap()).unwrap();
    p
}

#[test]
fn unmatched_records_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let a = fixture("lavapipe-vulkan.json");
    let b = filtered(dir.path(), "llvmpipe-gl.json", |r| r.m != 256);
    flopcost()
        .arg("compare")
        .args([&a, &b])
        .assert()
        .success()
        .stdout(predicate::str::contains("Unmatched records"))
        .stdout(predicate::str::contains(
            "lavapipe-vulkan (in no other file): gemm-nn-256x768x256-tuned",
        ));
}

#[test]
fn bad_inputs_exit_2_with_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixture("lavapipe-vulkan.json");
    let text = fs::read_to_string(&good).unwrap();
    let write = |name: &str, bytes: &[u8]| -> PathBuf {
        let p = dir.path().join(name);
        fs::write(&p, bytes).unwrap();
        p
    };
    let disjoint_a = filtered(dir.path(), "lavapipe-vulkan.json", |r| r.m == 256);
    let disjoint_b = filtered(dir.path(), "llvmpipe-gl.json", |r| r.m == 512);
    let mut negative: serde_json::Value = serde_json::from_str(&text).unwrap();
    negative["records"][0]["timing"]["median_ns"] = serde_json::json!(-5.0);
    let cases: Vec<(PathBuf, &str)> = vec![
        (write("empty.json", b""), "empty"),
        (write("text.json", b"hello"), "not valid JSON"),
        (
            write("truncated.json", &text.as_bytes()[..text.len() / 2]),
            "not valid JSON",
        ),
        (
            write("binary.json", &[0xff, 0x00, 0x12, 0x80]),
            "not valid JSON",
        ),
        (
            write(
                "deep.json",
                &("[".repeat(10_000) + &"]".repeat(10_000)).into_bytes(),
            ),
            "not valid JSON",
        ),
        (write("other.json", br#"{"schema": "else/v1"}"#), "schema"),
        (
            write("future.json", br#"{"schema": "flopcost/result/v9"}"#),
            "different version",
        ),
        (
            write("missing.json", br#"{"schema": "flopcost/result/v1"}"#),
            "missing field",
        ),
        (
            write("negative.json", negative.to_string().as_bytes()),
            "not a valid result file",
        ),
        (disjoint_b.clone(), "shares no records"),
    ];
    for (path, why) in &cases {
        let base = if path == &disjoint_b {
            &disjoint_a
        } else {
            &good
        };
        let assert = flopcost()
            .arg("compare")
            .args([base, path])
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert_eq!(stderr.lines().count(), 1, "{}: {stderr}", path.display());
        assert!(
            stderr.contains(&path.display().to_string()) && stderr.contains(why),
            "{}: {stderr}",
            path.display()
        );
        assert!(!stderr.contains("panicked"));
    }
    // Bad flags and a bad price file.
    let bad_prices = write("prices.toml", b"[\"llvmpipe\"]\nusd_per_hour = -3\n");
    for args in [
        vec!["--baseline", "3"],
        vec!["--baseline", "nope.json"],
        vec!["--format", "html"],
        vec!["--price-file", bad_prices.to_str().unwrap()],
        vec!["--kernel", "no-such-kernel"],
    ] {
        let assert = flopcost()
            .arg("compare")
            .args([&good, &fixture("llvmpipe-gl.json")])
            .args(&args)
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
    flopcost().args(["compare"]).arg(&good).assert().code(2);
}

/// The two `small` v2 fixtures: Debian 12's lavapipe (shader cores) and Mesa 26.1's
/// (cooperative matrices), both real runs.
fn small_v2(names: [&str; 2], edit: impl Fn(&mut result::ResultFile)) -> Comparison {
    let spec = PriceSpec {
        price_file: Some(PriceFile::read(&fixture("prices.toml")).unwrap()),
        ..PriceSpec::default()
    };
    let inputs: Vec<Input> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut file = result::read(&fixture(n)).unwrap();
            if i == 1 {
                edit(&mut file);
            }
            Input::of(&format!("tests/fixtures/{n}"), file, &spec).unwrap()
        })
        .collect();
    compare::build(&inputs, 0, None).unwrap()
}

#[test]
fn a_small_v2_headline_names_precision_and_paths_and_the_cost_per_token() {
    let c = small_v2(["small-v2-lavapipe.json", "small-v2-coopmat.json"], |_| {});
    let v = c.headline.as_ref().expect("a headline");
    assert_eq!(v.workload, "small v2");
    assert!(
        v.sentence.starts_with(
            "small-v2-coopmat does the small v2 training step (f16 operands, f32 \
             accumulation; small-v2-lavapipe on shader cores, small-v2-coopmat on tensor \
             cores) at "
        ),
        "{}",
        v.sentence
    );
    let t = v.per_token.as_ref().expect("a per-token line");
    assert_eq!(t.model, "small decoder");
    assert!(
        t.sentence
            .starts_with("per training token of small decoder: small-v2-coopmat at ")
    );
    assert!(t.sentence.contains("matmul work only"), "{}", t.sentence);
    assert!(t.speed_interval.low <= t.speed_ratio && t.speed_ratio <= t.speed_interval.high);
    assert!((t.cost_ratio.unwrap() * t.speed_ratio - 1.0).abs() < 1e-9);
    // The ratio of tokens per second is the ratio of the model steps' geometric means.
    assert!((t.tokens_per_second[1] / t.tokens_per_second[0] / t.speed_ratio - 1.0).abs() < 1e-9);
    let paths: Vec<Option<&str>> = c
        .machines
        .iter()
        .map(|m| m.kernel_path.as_deref())
        .collect();
    assert_eq!(paths, [Some("simt"), Some("coopmat")]);
    for format in [Format::Table, Format::Markdown, Format::Csv] {
        let text = export::exporter(format).render(&c).unwrap();
        assert!(
            text.contains("USD/Mtok") || text.contains("usd_per_million_tokens"),
            "{format:?}"
        );
    }
    let text = export::exporter(Format::Table).render(&c).unwrap();
    assert!(text.contains(&t.sentence), "{text}");
}

#[test]
fn a_small_v2_copy_with_every_time_doubled_reads_half_on_both_headline_lines() {
    let c = small_v2(["small-v2-lavapipe.json", "small-v2-lavapipe.json"], |f| {
        *f = slowed(f.clone(), 2.0);
        assert!(
            result::validate::problems(f).is_empty(),
            "{:?}",
            result::validate::problems(f)
        );
    });
    let v = c.headline.as_ref().expect("a headline");
    assert!(
        (v.speed_ratio - 0.5).abs() <= 0.03 * 0.5,
        "{}",
        v.speed_ratio
    );
    assert!((v.cost_ratio.unwrap() - 2.0).abs() <= 0.03 * 2.0);
    let t = v.per_token.as_ref().unwrap();
    assert!(
        (t.speed_ratio - 0.5).abs() <= 0.03 * 0.5,
        "{}",
        t.speed_ratio
    );
    assert!((t.cost_ratio.unwrap() - 2.0).abs() <= 0.03 * 2.0);
    assert!(t.speed_interval.high < 1.0 && t.cost_interval.unwrap().low > 1.0);
}

#[test]
fn v1_against_v2_gets_no_headline() {
    let c = small_v2(["lavapipe-vulkan.json", "small-v2-lavapipe.json"], |_| {});
    assert!(c.headline.is_none());
    assert!(
        c.refusals.iter().any(|r| r.contains("different workloads")),
        "{:?}",
        c.refusals
    );
    // Both files validate: v1 files stay readable.
    for n in ["lavapipe-vulkan.json", "llvmpipe-gl.json"] {
        let f = result::read(&fixture(n)).unwrap();
        assert_eq!(f.workload.as_ref().unwrap().version, 1);
        assert!(result::validate::problems(&f).is_empty());
    }
}

/// Tokens per second and USD per million tokens, recomputed from the file's JSON alone
/// (records' medians, the repeatability section, the definition's model and the price) as
/// the README's formula says, agree with what flopcost prints and writes within 1%.
#[test]
fn the_cost_per_token_is_recomputable_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["small-v2-lavapipe.json", "small-v2-coopmat.json"] {
        let out = dir.path().join(name);
        flopcost()
            .args([
                "cost",
                fixture(name).to_str().unwrap(),
                "--usd-per-hour",
                "2.5",
            ])
            .args(["--watts", "300", "--out", out.to_str().unwrap()])
            .assert()
            .success()
            .stdout(predicate::str::contains("usd_per_million_tokens"));
        let v: serde_json::Value = serde_json::from_slice(&fs::read(&out).unwrap()).unwrap();
        let w = &v["workload"];
        let layers = w["definition"]["model"]["layers"].as_f64().unwrap();
        let tokens = w["definition"]["tokens"].as_f64().unwrap();
        let reps = w["step_times_ns"].as_array().unwrap().len();
        let head = format!(" {} ", w["definition"]["lm_head"]["name"].as_str().unwrap());
        let repeat = v["repeatability"]["records"].as_array().unwrap();
        let mut steps = vec![0.0f64; reps];
        let mut products = 0;
        for r in v["records"].as_array().unwrap() {
            let Some(role) = r["role"].as_str() else {
                continue;
            };
            products += 1;
            let weight = if role.contains(&head) { 1.0 } else { layers };
            let id = r["id"].as_str().unwrap();
            let medians: Vec<f64> = match repeat.iter().find(|e| e["id"] == id) {
                Some(e) => e["medians_ns"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m.as_f64().unwrap())
                    .collect(),
                None => vec![r["timing"]["median_ns"].as_f64().unwrap()],
            };
            assert_eq!(medians[0], r["timing"]["median_ns"].as_f64().unwrap());
            for (s, m) in steps.iter_mut().zip(&medians) {
                *s += weight * m;
            }
        }
        assert_eq!(products, 24, "5 layers × 3, attention's 6, the LM head's 3");
        let geo = (steps.iter().map(|s| s.ln()).sum::<f64>() / reps as f64).exp();
        let tps = tokens / geo * 1e9;
        let usd = 2.5 / (3600.0 * tps) * 1e6;
        let joules = 300.0 / tps * 1e6;
        let p = &v["cost"]["per_token"];
        let near = |a: f64, b: f64| (a / b - 1.0).abs() < 0.01;
        assert!(
            near(p["tokens_per_second"].as_f64().unwrap(), tps),
            "{p} {tps}"
        );
        assert!(
            near(p["usd_per_million_tokens"].as_f64().unwrap(), usd),
            "{p} {usd}"
        );
        assert!(
            near(p["joules_per_million_tokens"].as_f64().unwrap(), joules),
            "{p}"
        );
        assert!(near(
            w["model_step"]["tokens_per_second"].as_f64().unwrap(),
            tps
        ));
    }
}

#[test]
fn an_edited_model_step_or_path_does_not_validate() {
    let good = result::read(&fixture("small-v2-lavapipe.json")).unwrap();
    assert!(result::validate::problems(&good).is_empty());
    type Edit = fn(&mut result::WorkloadRecord);
    let edits: [(&str, Edit); 6] = [
        ("tokens_per_second", |w| {
            w.model_step.as_mut().unwrap().tokens_per_second *= 2.0
        }),
        ("step_times_ns", |w| {
            w.model_step.as_mut().unwrap().step_times_ns[1] *= 0.5
        }),
        ("layers", |w| w.model_step.as_mut().unwrap().layers = 32),
        ("training_overhead", |w| {
            w.model_step.as_mut().unwrap().training_overhead = Some(1.0)
        }),
        ("paths", |w| {
            w.paths = vec![flopcost::types::KernelPath::Coopmat]
        }),
        ("no model_step", |w| w.model_step = None),
    ];
    for (what, edit) in edits {
        let mut f = good.clone();
        edit(f.workload.as_mut().unwrap());
        assert!(
            !result::validate::problems(&f).is_empty(),
            "an edited {what} validated"
        );
    }
}
