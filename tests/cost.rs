//! The cost model end to end: `flopcost cost`, `flopcost catalog`, prices given to `run`,
//! bad price input, and property tests of the formulas and of re-pricing.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::flopcost;
use flopcost::cost::{self, PriceSpec, model};
use flopcost::result::{self, CostField, Fields, ResultFile};
use predicates::prelude::*;
use proptest::prelude::*;

/// Price flags from (field, value) pairs, skipping the absent ones.
fn flags(pairs: &[(CostField, Option<f64>)]) -> Fields<f64> {
    let mut f = Fields::default();
    for &(field, v) in pairs {
        if let Some(v) = v {
            f.set(field, v);
        }
    }
    f
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn gl_file() -> ResultFile {
    result::read(&fixture("llvmpipe-gl.json")).unwrap()
}

fn rel_close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

proptest! {
    #[test]
    fn units_are_consistent(usd in 0.0f64..1e4, tflops in 1e-6f64..1e4, watts in 1.0f64..2000.0) {
        // One hour at R TFLOP/s does 3.6·R PFLOP, which costs the hourly price.
        prop_assert!(rel_close(model::usd_per_pflop(usd, tflops) * 3.6 * tflops, usd));
        // A PFLOP takes 1000/R seconds at W watts.
        prop_assert!(rel_close(model::joules_per_pflop(watts, tflops), watts * 1000.0 / tflops));
        // A million tokens at T tokens/s take 1e6 / T seconds: that share of the hourly
        // price, and of the energy at W watts.
        let tps = tflops * 1e3;
        prop_assert!(rel_close(model::usd_per_million_tokens(usd, tps), usd * 1e6 / tps / 3600.0));
        prop_assert!(rel_close(model::joules_per_million_tokens(watts, tps), watts * 1e6 / tps));
    }

    #[test]
    fn cost_falls_with_speed_and_rises_with_price(
        usd in 0.01f64..1e3, t1 in 1e-4f64..1e3, factor in 1.001f64..100.0,
    ) {
        prop_assert!(model::usd_per_pflop(usd, t1 * factor) < model::usd_per_pflop(usd, t1));
        prop_assert!(model::usd_per_pflop(usd * factor, t1) > model::usd_per_pflop(usd, t1));
        prop_assert!(model::joules_per_pflop(300.0, t1 * factor) < model::joules_per_pflop(300.0, t1));
    }

    #[test]
    fn ownership_price_is_monotone_in_each_input(
        capex in 100.0f64..1e5, years in 1.0f64..8.0, util in 0.05f64..1.0,
        watts in 10.0f64..1500.0, pue in 1.0f64..2.0, kwh in 0.01f64..0.5, up in 1.01f64..2.0,
    ) {
        let base = model::ownership_usd_per_hour(capex, years, util, watts, pue, kwh);
        let f = |c, y, u, w, p, k| model::ownership_usd_per_hour(c, y, u, w, p, k);
        prop_assert!(f(capex * up, years, util, watts, pue, kwh) > base);
        prop_assert!(f(capex, years * up, util, watts, pue, kwh) < base);
        prop_assert!(f(capex, years, (util / up).max(1e-3), watts, pue, kwh) > base);
        prop_assert!(f(capex, years, util, watts * up, pue, kwh) > base);
        prop_assert!(f(capex, years, util, watts, pue * up, kwh) > base);
        prop_assert!(f(capex, years, util, watts, pue, kwh * up) > base);
    }

    #[test]
    fn repricing_a_priced_file_reproduces_its_cost(
        usd in prop::option::of(0.0f64..100.0),
        capex in 100.0f64..1e5,
        watts in prop::option::of(1.0f64..1000.0),
    ) {
        let mut file = gl_file();
        let spec = PriceSpec {
            flags: flags(&[
                (CostField::UsdPerHour, usd),
                (CostField::CapexUsd, usd.is_none().then_some(capex)),
                (CostField::Watts, watts.or(usd.is_none().then_some(250.0))),
            ]),
            ..PriceSpec::default()
        };
        let first = cost::price_file(&file, &spec).unwrap();
        file.cost = Some(first.clone());
        // Through the file format and back, then re-priced with no inputs at all.
        let bytes = serde_json::to_vec_pretty(&file).unwrap();
        let back = result::parse(&bytes, "priced.json").unwrap();
        let again = cost::price_file(&back, &PriceSpec::default()).unwrap();
        prop_assert_eq!(&again, &first);
        let uph = first.usd_per_hour.unwrap();
        let gemm = first.throughput.gemm_tflops.unwrap();
        prop_assert!(rel_close(first.usd_per_pflop.unwrap(), uph / (3.6 * gemm)));
        prop_assert!(first.reference_run.is_none());
    }
}

#[test]
fn precedence_flag_then_price_file_then_recorded_then_catalog() {
    let mut file = gl_file();
    // Nothing given, no catalog price for a software adapter: no price, and a note.
    let none = cost::price_file(&file, &PriceSpec::default()).unwrap();
    assert_eq!(none.catalog_entry.as_deref(), Some("llvmpipe"));
    assert!(none.usd_per_hour.is_none() && none.usd_per_pflop.is_none());
    assert!(none.note.as_deref().unwrap().contains("--usd-per-hour"));
    let prices = cost::PriceFile::read(&fixture("prices.toml")).unwrap();
    let from_file = cost::price_file(
        &file,
        &PriceSpec {
            price_file: Some(prices.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(from_file.usd_per_hour, Some(0.25));
    let src = &from_file.inputs.get(CostField::UsdPerHour).unwrap().source;
    assert!(
        src.starts_with("price file ") && src.contains("test fixture"),
        "{src}"
    );
    assert_eq!(from_file.inputs.get(CostField::Watts).unwrap().value, 65.0);
    file.cost = Some(from_file);
    // A flag beats the price file and the recorded price.
    let flagged = cost::price_file(
        &file,
        &PriceSpec {
            flags: flags(&[(CostField::UsdPerHour, Some(3.0))]),
            price_file: Some(prices),
        },
    )
    .unwrap();
    assert_eq!(flagged.usd_per_hour, Some(3.0));
    assert_eq!(
        flagged.inputs.get(CostField::UsdPerHour).unwrap().source,
        "flag --usd-per-hour"
    );
    // Ownership with stated defaults: capex / (4 · 8766 · 0.8) + W/1000 · 1.3 · 0.12.
    let owned = cost::price_file(
        &file,
        &PriceSpec {
            flags: flags(&[(CostField::CapexUsd, Some(1000.0))]),
            ..Default::default()
        },
    )
    .unwrap();
    let want = 1000.0 / (4.0 * 8766.0 * 0.8) + 65.0 / 1000.0 * 1.3 * 0.12;
    assert!(rel_close(owned.usd_per_hour.unwrap(), want));
    assert_eq!(owned.pricing.map(|p| p.as_str()), Some("ownership"));
    assert_eq!(owned.inputs.get(CostField::Pue).unwrap().source, "default");
}

#[test]
fn ownership_without_power_is_bad_input() {
    let err = cost::price_file(
        &gl_file(),
        &PriceSpec {
            flags: flags(&[(CostField::CapexUsd, Some(1000.0))]),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("--watts"));
    assert!(err.chain().any(|e| e.is::<flopcost::error::InputError>()));
}

#[test]
fn cost_command_prints_the_breakdown_and_writes_a_priced_copy() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("llvmpipe-gl.json");
    flopcost()
        .arg("cost")
        .arg(&src)
        .assert()
        .success()
        .stdout(predicate::str::contains("no price: give --usd-per-hour"));
    let out = dir.path().join("priced.json");
    flopcost()
        .arg("cost")
        .arg(&src)
        .args(["--usd-per-hour", "0.5", "--watts", "65", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("usd_per_pflop"))
        .stdout(predicate::str::contains("flag --usd-per-hour"));
    let priced = result::read(&out).unwrap();
    let c = priced.cost.as_ref().unwrap();
    assert_eq!(c.usd_per_hour, Some(0.5));
    assert!(c.joules_per_pflop.is_some());
    // Re-pricing the copy with no flags keeps its prices; --json prints the section.
    let json = flopcost()
        .arg("cost")
        .arg(&out)
        .arg("--json")
        .assert()
        .success();
    let again: result::Cost = serde_json::from_slice(&json.get_output().stdout).unwrap();
    assert_eq!(&again, c);
    // Never overwritten without --force.
    let before = fs::read(&out).unwrap();
    flopcost()
        .arg("cost")
        .arg(&src)
        .args(["--usd-per-hour", "9", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--force"));
    assert_eq!(fs::read(&out).unwrap(), before);
}

#[test]
fn bad_price_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("llvmpipe-gl.json");
    let write = |name: &str, bytes: &[u8]| -> PathBuf {
        let p = dir.path().join(name);
        fs::write(&p, bytes).unwrap();
        p
    };
    let files = [
        write("empty.toml", b""),
        write("binary.toml", &[0xff, 0xfe, 0x00, 0x01]),
        write("broken.toml", b"[\"llvmpipe\"\nusd_per_hour = 1"),
        write("truncated.json", b"{\"llvmpipe\": {\"usd_per_hour\": 0."),
        write("negative.toml", b"[llvmpipe]\nusd_per_hour = -2\n"),
        write("nan.toml", b"[llvmpipe]\nusd_per_hour = nan\n"),
        write("unknown.toml", b"[llvmpipe]\nusd_per_hr = 2\n"),
        write("deep.json", "[".repeat(100_000).as_bytes()),
        write(
            "deep.toml",
            format!("a = {}", "[".repeat(100_000)).as_bytes(),
        ),
        dir.path().join("missing.toml"),
    ];
    for f in &files {
        let assert = flopcost()
            .arg("cost")
            .arg(&src)
            .arg("--price-file")
            .arg(f)
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert_eq!(stderr.lines().count(), 1, "{}: {stderr}", f.display());
        assert!(stderr.contains(&f.display().to_string()), "{stderr}");
        assert!(!stderr.contains("panicked"));
    }
    for flags in [
        &["--usd-per-hour", "nan"][..],
        &["--usd-per-hour=-1"],
        &["--utilization", "2"],
        &["--pue", "0.5"],
        &["--capex-usd", "1000"],
        &["--ref-tokens", "0"],
    ] {
        let assert = flopcost()
            .arg("cost")
            .arg(&src)
            .args(flags)
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert_eq!(stderr.lines().count(), 1, "{flags:?}: {stderr}");
    }
    // A hand-edited recorded price is caught, naming the file.
    let mut tampered = gl_file();
    let mut c = cost::price_file(
        &tampered,
        &PriceSpec {
            flags: flags(&[(CostField::UsdPerHour, Some(1.0))]),
            ..Default::default()
        },
    )
    .unwrap();
    c.inputs.get_mut(CostField::UsdPerHour).unwrap().value = -1.0;
    tampered.cost = Some(c);
    let t = write("tampered.json", &serde_json::to_vec(&tampered).unwrap());
    let assert = flopcost().arg("cost").arg(&t).assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("tampered.json") && stderr.contains("usd_per_hour = -1"),
        "{stderr}"
    );
    // Bad result files are named too.
    let empty = write("empty.json", b"");
    flopcost()
        .arg("cost")
        .arg(&empty)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("empty.json: empty file"));
}

#[test]
fn run_prices_its_result_and_rejects_bad_prices_before_measuring() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    flopcost()
        .args(["run", "--shape", "33x65x17", "--time-budget", "0.05"])
        .args([
            "--min-samples",
            "3",
            "--usd-per-hour",
            "1.5",
            "--watts",
            "100",
        ])
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("cost: $"));
    let file = result::read(&out).unwrap();
    let c = file.cost.as_ref().unwrap();
    assert_eq!(
        c.inputs.get(CostField::UsdPerHour).unwrap().source,
        "flag --usd-per-hour"
    );
    assert_eq!(c.inputs.get(CostField::Watts).unwrap().value, 100.0);
    let gemm = c.throughput.gemm_tflops.unwrap();
    assert!(rel_close(c.usd_per_pflop.unwrap(), 1.5 / (3.6 * gemm)));
    assert!(rel_close(
        c.joules_per_pflop.unwrap(),
        100.0 * 1000.0 / gemm
    ));

    let bad = dir.path().join("bad.toml");
    fs::write(&bad, b"[x]\npue = 0.2\n").unwrap();
    let never = dir.path().join("never.json");
    for extra in [
        vec!["--price-file".to_string(), bad.display().to_string()],
        vec!["--capex-usd".into(), "100".into()],
    ] {
        flopcost()
            .args(["run", "--shape", "8", "--out"])
            .arg(&never)
            .args(&extra)
            .assert()
            .code(2);
        assert!(!never.exists(), "{extra:?} wrote a file");
    }
}

#[test]
fn catalog_lists_every_entry_with_sources() {
    flopcost()
        .arg("catalog")
        .assert()
        .success()
        .stdout(predicate::str::contains("nvidia-h100-sxm"))
        .stdout(predicate::str::contains("Sources"));
    let out = flopcost().args(["catalog", "--json"]).assert().success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let list = v["accelerators"].as_array().unwrap();
    assert!(list.len() >= 17);
    let h200 = list.iter().find(|e| e["id"] == "nvidia-h200-sxm").unwrap();
    assert_eq!(h200["fp32_tflops"]["value"], 67.0);
    assert!(
        h200["fp32_tflops"]["source"]
            .as_str()
            .unwrap()
            .contains("H200")
    );
    assert!(h200["launch_usd"].is_null());
}
