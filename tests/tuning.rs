//! The tuned family on a real adapter: every configuration the tuner can emit, in every
//! layout, at odd shapes, against the f64 reference; and the tuning cache, which is
//! written, read back, and ignored (with a warning) after a driver or version change or
//! when it is corrupt or edited by hand.

mod common;

use std::time::Duration;

use flopcost::kernels::cache::{self, AdapterKey};
use flopcost::kernels::problem::Problem;
use flopcost::kernels::tune::{self, Outcome, ShapeClass, Table, Trial, TuneObserver};
use flopcost::kernels::{BlockConfig, GemmPipeline, KernelConfig, KernelSpec, Variant};
use flopcost::measure::gpu::Meter;
use flopcost::types::ConfigSource;
use flopcost::types::{Layout, Shape};
use flopcost::verify::F32_TOLERANCE;

const TIMEOUT: Duration = Duration::from_secs(120);

/// Not multiples of any tile or of 4 (the vec4 paths' edges), plus aligned ones.
const ODD_SHAPES: [(u32, u32, u32); 7] = [
    (1, 1, 1),
    (7, 13, 5),
    (33, 65, 17),
    (127, 1, 255),
    (1, 127, 3),
    (130, 70, 129),
    (64, 64, 64),
];

/// Shapes whose K gives 2 to 16 splits with every BK the candidates use (8, 16).
const SPLIT_SHAPES: [(u32, u32, u32); 2] = [(37, 45, 300), (20, 132, 44)];

fn spec(config: BlockConfig) -> KernelSpec {
    KernelSpec {
        name: format!("test-{config}"),
        config: KernelConfig::Block(config),
        hidden: true,
        description: "test configuration",
    }
}

fn check(pipeline: &GemmPipeline, layout: Layout, shape: Shape, label: &str) {
    let gpu = common::gpu();
    let problem = Problem::new(gpu, layout, shape, 17).unwrap();
    let binding = problem.bind(gpu, pipeline).unwrap();
    let (check, _) = problem
        .verify(gpu, pipeline, &binding, F32_TOLERANCE, TIMEOUT)
        .unwrap();
    assert!(
        check.passed,
        "{label} {layout} {shape} ({} splits): rel error {:?}, {} unwritten",
        binding.splits(),
        check.rel_error,
        check.unwritten_entries
    );
}

#[test]
fn every_configuration_the_tuner_can_emit_is_correct() {
    let gpu = common::gpu();
    let all = tune::all_candidates(gpu);
    let bases: Vec<BlockConfig> = all.iter().copied().filter(|c| c.split_k == 1).collect();
    assert!(!bases.is_empty());
    // The list is bases × (no split, each split factor) and nothing else.
    assert_eq!(all.len(), bases.len() * (1 + tune::SPLITS.len()));
    let has_subgroups = bases.iter().any(|c| c.subgroup);
    if gpu.features().contains(wgpu::Features::SUBGROUP)
        && gpu.info.subgroup_min_size == gpu.info.subgroup_max_size
    {
        assert!(
            has_subgroups,
            "an adapter with fixed-size subgroups gets the subgroup path"
        );
    } else {
        eprintln!(
            "adapter '{}' has no fixed-size subgroups: the subgroup variant is not offered \
             here (checking that it is refused instead)",
            gpu.info.name
        );
        let sg = BlockConfig {
            subgroup: true,
            ..BlockConfig::new(64, 64, 8, 8, 8)
        };
        let err = GemmPipeline::new(gpu, &spec(sg), Layout::Nn).err().unwrap();
        assert!(format!("{err:#}").contains("subgroup"), "{err:#}");
    }
    for &base in &bases {
        for layout in Layout::ALL {
            let pipeline = GemmPipeline::new(gpu, &spec(base), layout).unwrap();
            for (m, n, k) in ODD_SHAPES {
                check(&pipeline, layout, Shape::new(m, n, k), &base.to_string());
            }
            for &s in &tune::SPLITS {
                let split = pipeline.with_split(s).unwrap();
                assert!(all.contains(&base.with_split(s)));
                for (m, n, k) in SPLIT_SHAPES {
                    check(
                        &split,
                        layout,
                        Shape::new(m, n, k),
                        &base.with_split(s).to_string(),
                    );
                }
            }
        }
    }
}

#[test]
fn split_k_uses_the_splits_asked_for_and_never_an_empty_one() {
    let c = BlockConfig::new(64, 64, 8, 4, 4).with_split(16);
    let big = u64::MAX;
    // 38 slices of 8 in 16 splits: 3 slices each, so 13 splits cover K.
    assert_eq!(c.splits_for(Shape::new(8, 8, 300), 64, big), (13, 24));
    // 13 = two slices of 8: two splits at most.
    assert_eq!(c.splits_for(Shape::new(8, 8, 13), 64, big), (2, 8));
    assert_eq!(c.splits_for(Shape::new(8, 8, 3), 64, big), (1, 8));
    // The workspace (splits·M·N floats) must fit the binding limit.
    assert_eq!(c.splits_for(Shape::new(8, 8, 300), 64, 4 * 64 * 4), (4, 80));
    for k in 1..200 {
        let (s, ks) = c.splits_for(Shape::new(3, 3, k), 9, big);
        assert!(
            ks.is_multiple_of(8) && (s - 1) * ks < k && s * ks >= k,
            "k={k}"
        );
    }
}

#[test]
fn the_tuned_kernel_runs_the_cached_or_default_configuration() {
    let gpu = common::gpu();
    let tuned = flopcost::kernels::lookup(&["tuned".to_string()])
        .unwrap()
        .remove(0);
    for layout in Layout::ALL {
        let pipeline = GemmPipeline::new(gpu, &tuned, layout).unwrap();
        for (m, n, k) in [(33, 65, 17), (130, 70, 129)] {
            check(&pipeline, layout, Shape::new(m, n, k), "tuned");
        }
    }
}

struct Quiet(Vec<Trial>);

impl TuneObserver for Quiet {
    fn trying(&mut self, _: usize, _: usize, _: &BlockConfig) {}
    fn tried(&mut self, t: &Trial) {
        self.0.push(t.clone());
    }
}

/// Tunes one small problem into a table stored in `dir`; returns the winner.
fn tune_into(dir: &std::path::Path, budget: Duration) -> (BlockConfig, Vec<Trial>) {
    let gpu = common::gpu();
    let (table, warnings) = Table::load_from(gpu, Some(dir.to_path_buf()));
    assert!(warnings.is_empty(), "{warnings:?}");
    let mut tuner = tune::Tuner::new(gpu, table);
    let problem = Problem::new(gpu, Layout::Nn, Shape::new(70, 90, 50), 5).unwrap();
    let mut meter = Meter::new(gpu, true).unwrap();
    let mut obs = Quiet(Vec::new());
    let t = tuner.tune(&problem, &mut meter, budget, &mut obs).unwrap();
    let (best, _) = t.best.expect("a candidate passes");
    assert!(
        obs.0
            .iter()
            .all(|t| !matches!(t.outcome, Outcome::Failed(_)))
    );
    tuner.table.save().unwrap();
    (best, t.trials)
}

fn cache_file(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join(AdapterKey::of(common::gpu()).file_name())
}

#[test]
fn the_cache_is_written_and_read_back() {
    let gpu = common::gpu();
    let dir = tempfile::tempdir().unwrap();
    // A zero budget tries the first candidate only.
    let (best, trials) = tune_into(dir.path(), Duration::ZERO);
    assert_eq!(
        best,
        tune::candidates(gpu, Shape::new(70, 90, 50), Variant::F32)[0]
    );
    assert!(
        trials
            .iter()
            .skip(1)
            .all(|t| matches!(t.outcome, Outcome::Skipped))
    );
    assert!(cache_file(dir.path()).exists());
    let (table, warnings) = Table::load_from(gpu, Some(dir.path().to_path_buf()));
    assert!(warnings.is_empty(), "{warnings:?}");
    let shape = Shape::new(90, 100, 60); // the same class as 70x90x50
    assert_eq!(
        ShapeClass::of(shape),
        ShapeClass::of(Shape::new(70, 90, 50))
    );
    let choice = table.choose(gpu, Layout::Nn, shape, Variant::F32);
    assert_eq!((choice.config, choice.source), (best, ConfigSource::Cache));
    // Another layout or class is not in the cache: the default, said so.
    let other = table.choose(gpu, Layout::Tn, shape, Variant::F32);
    assert_eq!(other.source, ConfigSource::Heuristic);
    assert_eq!(other.config, tune::heuristic(gpu, shape, Variant::F32));
}

/// Loads the table from `dir` and expects it empty with one warning containing `why`.
fn expect_ignored(dir: &std::path::Path, why: &str) {
    let gpu = common::gpu();
    let (table, warnings) = Table::load_from(gpu, Some(dir.to_path_buf()));
    assert_eq!(table.entries().count(), 0, "an untrusted cache was used");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("ignored") && warnings[0].contains(why),
        "{warnings:?}"
    );
}

#[test]
fn a_cache_from_another_driver_or_version_is_ignored() {
    let gpu = common::gpu();
    let dir = tempfile::tempdir().unwrap();
    tune_into(dir.path(), Duration::ZERO);
    let path = cache_file(dir.path());
    let text = std::fs::read_to_string(&path).unwrap();
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    let entries: Vec<cache::Entry> = serde_json::from_value(file["entries"].clone()).unwrap();
    let key = AdapterKey::of(gpu);

    let mut driver = key.clone();
    driver.driver_info.push_str(" (updated)");
    cache::write(&path, &driver, entries.clone()).unwrap();
    expect_ignored(dir.path(), "driver");

    let mut version = key.clone();
    version.tool_version = "0.0.0-older".into();
    cache::write(&path, &version, entries.clone()).unwrap();
    expect_ignored(dir.path(), "flopcost 0.0.0-older");

    // Written back with the right key, it is trusted again.
    cache::write(&path, &key, entries).unwrap();
    let (table, warnings) = Table::load_from(gpu, Some(dir.path().to_path_buf()));
    assert!(warnings.is_empty() && table.entries().count() == 1);
}

#[test]
fn a_corrupt_or_hand_edited_cache_is_ignored_with_a_warning() {
    let gpu = common::gpu();
    let dir = tempfile::tempdir().unwrap();
    let (best, _) = tune_into(dir.path(), Duration::ZERO);
    let path = cache_file(dir.path());
    let text = std::fs::read_to_string(&path).unwrap();

    // Hand edit: another tile size, checksum left alone.
    let edited = text.replacen(
        &format!("\"bm\": {}", best.bm),
        &format!("\"bm\": {}", best.bm / 2),
        1,
    );
    assert_ne!(edited, text);
    std::fs::write(&path, &edited).unwrap();
    expect_ignored(dir.path(), "checksum");

    // Corrupt bytes, truncation, the wrong format.
    for bad in [
        b"\x00\xff garbage".to_vec(),
        text.as_bytes()[..text.len() / 2].to_vec(),
        text.replace("flopcost/tune-cache/v1", "flopcost/tune-cache/v0")
            .into_bytes(),
    ] {
        std::fs::write(&path, &bad).unwrap();
        let (table, warnings) = Table::load_from(gpu, Some(dir.path().to_path_buf()));
        assert_eq!(table.entries().count(), 0);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    // A consistent checksum over a configuration the tuner never offers (a hand edit
    // that recomputed the checksum): still refused.
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut entries: Vec<cache::Entry> = serde_json::from_value(file["entries"].clone()).unwrap();
    entries[0].config = BlockConfig::new(96, 96, 12, 8, 8);
    cache::write(&path, &AdapterKey::of(gpu), entries).unwrap();
    expect_ignored(dir.path(), "not one the tuner offers");

    // Tuning again replaces the file, and it is trusted.
    std::fs::remove_file(&path).unwrap();
    tune_into(dir.path(), Duration::ZERO);
    let (table, warnings) = Table::load_from(gpu, Some(dir.path().to_path_buf()));
    assert!(warnings.is_empty() && table.entries().count() == 1);
}
