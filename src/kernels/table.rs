//! Which configuration the tuned kernel runs, per adapter, precision and path, layout
//! and shape class: the candidates (the families' base configurations that fit the
//! adapter, plus split-K variants for shapes with few output blocks), the untuned default
//! ([`heuristic`]), and the table of tuned winners read from and written to the cache
//! ([`super::cache`]). The families are known here only through the registry.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use anyhow::Result;

use super::cache::{self, AdapterKey, Entry};
use super::config::{BlockConfig, PORTABLE_BLOCK, Variant};
use super::registry::Registry;
use super::support::Caps;
use crate::gpu::Gpu;
use crate::types::{Batch, ConfigSource, Layout, Precision, Shape};

/// Output blocks below which split-K variants are tried: about one workgroup per compute
/// unit of a large GPU (an H200 has 132 SMs). wgpu does not report compute units.
pub const FILL_BLOCKS: u64 = 128;

/// Split-K factors the tuner tries.
pub const SPLITS: [u32; 4] = [2, 4, 8, 16];

/// Base configurations of f32 that fit this adapter.
pub fn fitting_bases(gpu: &Gpu) -> Vec<BlockConfig> {
    fitting_bases_for(gpu, Variant::F32)
}

/// Base configurations of a precision and path that fit this adapter, from every family
/// the tuned kernel chooses among (none for a path the adapter cannot run).
pub fn fitting_bases_for(gpu: &Gpu, variant: Variant) -> Vec<BlockConfig> {
    Registry::default().candidates(&Caps::of(gpu), variant)
}

/// Every f32 configuration the tuner can emit on this adapter (any layout, any shape).
pub fn all_candidates(gpu: &Gpu) -> Vec<BlockConfig> {
    all_candidates_for(gpu, Variant::F32)
}

/// Every configuration of a precision and path the tuner can emit on this adapter.
pub fn all_candidates_for(gpu: &Gpu, variant: Variant) -> Vec<BlockConfig> {
    let mut out = Vec::new();
    for b in fitting_bases_for(gpu, variant) {
        out.push(b);
        out.extend(SPLITS.iter().map(|&s| b.with_split(s)));
    }
    out
}

fn blocks(c: BlockConfig, shape: Shape) -> u64 {
    u64::from(shape.m.div_ceil(c.bm)) * u64::from(shape.n.div_ceil(c.bn))
}

/// Blocks of all the products of a batch.
fn batch_blocks(c: BlockConfig, shape: Shape, batch: Batch) -> u64 {
    blocks(c, shape) * u64::from(batch.count)
}

/// The candidates for one shape, in order of preference: each fitting base
/// configuration, and where it leaves fewer than [`FILL_BLOCKS`] blocks and K is long
/// enough, its split-K variants.
pub fn candidates(gpu: &Gpu, shape: Shape, variant: Variant) -> Vec<BlockConfig> {
    candidates_batched(gpu, shape, Batch::ONE, variant)
}

/// [`candidates`] for a batch of products (all of whose blocks fill the device).
pub fn candidates_batched(
    gpu: &Gpu,
    shape: Shape,
    batch: Batch,
    variant: Variant,
) -> Vec<BlockConfig> {
    candidates_among_batched(&fitting_bases_for(gpu, variant), shape, batch)
}

/// [`candidates`] for a given list of base configurations.
pub fn candidates_among(bases: &[BlockConfig], shape: Shape) -> Vec<BlockConfig> {
    candidates_among_batched(bases, shape, Batch::ONE)
}

/// [`candidates_among`] for a batch of products.
pub fn candidates_among_batched(
    bases: &[BlockConfig],
    shape: Shape,
    batch: Batch,
) -> Vec<BlockConfig> {
    let mut out = Vec::new();
    for &b in bases {
        out.push(b);
        let n = batch_blocks(b, shape, batch);
        if n < FILL_BLOCKS {
            for &s in &SPLITS {
                // Each split keeps at least two slices, and splits stop where the blocks
                // would already fill the device several times over.
                if shape.k >= 2 * s * b.bk && n * u64::from(s) <= 4 * FILL_BLOCKS {
                    out.push(b.with_split(s));
                }
            }
        }
    }
    out
}

/// The untuned default for a shape: the first base configuration (without subgroups,
/// the variant with the fewest requirements) that gives at least 32 blocks, else the one
/// that gives the most; with split-K when even that leaves the device mostly idle.
pub fn heuristic(gpu: &Gpu, shape: Shape, variant: Variant) -> BlockConfig {
    heuristic_batched(gpu, shape, Batch::ONE, variant)
}

/// [`heuristic`] for a batch of products: the blocks of every product count.
pub fn heuristic_batched(gpu: &Gpu, shape: Shape, batch: Batch, variant: Variant) -> BlockConfig {
    let bases: Vec<BlockConfig> = fitting_bases_for(gpu, variant)
        .into_iter()
        .filter(|c| !c.subgroup)
        .collect();
    let Some(&first) = bases.first() else {
        // Without a fitting base the portable block (which fits WebGPU's defaults) runs;
        // a cooperative-matrix variant with none is refused before it gets here.
        return PORTABLE_BLOCK.with_precision(variant.precision);
    };
    let pick = bases
        .iter()
        .copied()
        .find(|&c| batch_blocks(c, shape, batch) >= 32)
        .unwrap_or_else(|| {
            bases
                .iter()
                .copied()
                .max_by_key(|&c| (batch_blocks(c, shape, batch), c.bm * c.bn))
                .unwrap_or(first)
        });
    let n = batch_blocks(pick, shape, batch);
    if n < 16 && shape.k >= 8 * pick.bk * 4 {
        pick.with_split(4)
    } else {
        pick
    }
}

/// A coarse class of shapes that share a tuned configuration: each of M, N and K falls
/// in one of five buckets (≤ 64, ≤ 256, ≤ 1024, ≤ 4096, larger), four times apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShapeClass {
    m: u8,
    n: u8,
    k: u8,
    /// 0 for a single product; else the bucket of the batch's count (≤ 8, ≤ 64, more).
    b: u8,
}

const BUCKETS: [u32; 4] = [64, 256, 1024, 4096];

fn bucket(x: u32) -> u8 {
    BUCKETS
        .iter()
        .position(|&b| x <= b)
        .unwrap_or(BUCKETS.len()) as u8
}

fn bucket_name(b: u8) -> String {
    match BUCKETS.get(usize::from(b)) {
        Some(v) => v.to_string(),
        None => format!("{}+", BUCKETS[BUCKETS.len() - 1] + 1),
    }
}

/// The batch counts' buckets: a batch of heads tunes apart from a single product.
const BATCH_BUCKETS: [u32; 2] = [8, 64];

impl ShapeClass {
    pub fn of(shape: Shape) -> ShapeClass {
        ShapeClass::of_batched(shape, Batch::ONE)
    }

    /// The class of a batch of products of `shape`.
    pub fn of_batched(shape: Shape, batch: Batch) -> ShapeClass {
        let b = if batch.count <= 1 {
            0
        } else {
            1 + BATCH_BUCKETS
                .iter()
                .position(|&x| batch.count <= x)
                .unwrap_or(BATCH_BUCKETS.len()) as u8
        };
        ShapeClass {
            m: bucket(shape.m),
            n: bucket(shape.n),
            k: bucket(shape.k),
            b,
        }
    }
}

impl fmt::Display for ShapeClass {
    /// `m1024.n1024.k4097+`: the upper bound of each dimension's bucket; a batch adds
    /// `.b8`, `.b64` or `.b65+`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "m{}.n{}.k{}",
            bucket_name(self.m),
            bucket_name(self.n),
            bucket_name(self.k)
        )?;
        match self.b {
            0 => Ok(()),
            b => match BATCH_BUCKETS.get(usize::from(b) - 1) {
                Some(x) => write!(f, ".b{x}"),
                None => write!(f, ".b{}+", BATCH_BUCKETS[BATCH_BUCKETS.len() - 1] + 1),
            },
        }
    }
}

/// A configuration chosen for one problem.
#[derive(Clone, Debug)]
pub struct Choice {
    pub config: BlockConfig,
    pub source: ConfigSource,
    pub class: ShapeClass,
}

/// The tuned winners of one adapter, as read from and written to its cache file.
pub struct Table {
    key: AdapterKey,
    path: Option<PathBuf>,
    /// Keyed by (precision and path as in [`Variant::key`], layout, shape class).
    entries: BTreeMap<(String, Layout, String), Entry>,
}

impl Table {
    /// Reads the adapter's cache. The warnings say why a cache file was ignored or why
    /// there is no cache directory.
    pub fn load(gpu: &Gpu) -> (Table, Vec<String>) {
        Table::load_from(gpu, cache::dir())
    }

    /// [`Table::load`] from the cache directory `dir` (`None`: keep nothing on disk).
    pub fn load_from(gpu: &Gpu, dir: Option<PathBuf>) -> (Table, Vec<String>) {
        let key = AdapterKey::of(gpu);
        let mut warnings = Vec::new();
        let mut path = dir.map(|d| d.join(key.file_name()));
        if let Some(p) = &path
            && std::fs::metadata(p).is_ok_and(|m| !m.is_file())
        {
            // A FIFO or device (or a link to one) in the cache's place is neither read
            // nor replaced.
            warnings.push(format!(
                "tuning cache {} is not a regular file (a pipe or device, or a link to one); it is neither \
                 read nor replaced, so tuning results are not kept: remove it",
                crate::util::clean(&p.display().to_string())
            ));
            path = None;
        }
        let mut entries = BTreeMap::new();
        match &path {
            None if !warnings.is_empty() => {}
            None => warnings.push(format!(
                "no cache directory (set {} to choose one): tuning results are not kept",
                cache::DIR_ENV
            )),
            Some(p) => {
                let mut allowed = Vec::new();
                for v in [
                    Variant::F32,
                    Variant::simt(Precision::F16),
                    Variant {
                        precision: Precision::F16,
                        coopmat: true,
                    },
                ] {
                    allowed.extend(all_candidates_for(gpu, v));
                }
                match cache::read(p, &key, |_, c| allowed.contains(c)) {
                    Ok(None) => {}
                    Ok(Some(list)) => {
                        for e in list {
                            entries.insert(entry_key(&e), e);
                        }
                    }
                    Err(why) => warnings.push(format!(
                        "tuning cache {} ignored: {why}; the kernels will be tuned again and \
                         the file replaced",
                        p.display()
                    )),
                }
            }
        }
        (Table { key, path, entries }, warnings)
    }

    /// [`Table::load`] without the warnings (for code that cannot show them).
    pub fn load_quiet(gpu: &Gpu) -> Table {
        Table::load(gpu).0
    }

    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    pub fn get(&self, variant: Variant, layout: Layout, class: ShapeClass) -> Option<&Entry> {
        self.entries
            .get(&(variant.key(), layout, class.to_string()))
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// The cached winner for the shape's class, else the heuristic default.
    pub fn choose(&self, gpu: &Gpu, layout: Layout, shape: Shape, variant: Variant) -> Choice {
        self.choose_batched(gpu, layout, shape, Batch::ONE, variant)
    }

    /// [`Table::choose`] for a batch of products.
    pub fn choose_batched(
        &self,
        gpu: &Gpu,
        layout: Layout,
        shape: Shape,
        batch: Batch,
        variant: Variant,
    ) -> Choice {
        let class = ShapeClass::of_batched(shape, batch);
        match self.get(variant, layout, class) {
            Some(e) => Choice {
                config: e.config,
                source: ConfigSource::Cache,
                class,
            },
            None => Choice {
                config: heuristic_batched(gpu, shape, batch, variant),
                source: ConfigSource::Heuristic,
                class,
            },
        }
    }

    pub fn insert(&mut self, entry: Entry) {
        self.entries.insert(entry_key(&entry), entry);
    }

    /// Writes the table to its cache file (a no-op without a cache directory).
    pub fn save(&self) -> Result<()> {
        match &self.path {
            Some(p) => cache::write(p, &self.key, self.entries.values().cloned().collect()),
            None => Ok(()),
        }
    }
}

/// The table key of a cache entry: its configuration's precision and path, layout and
/// class.
fn entry_key(e: &Entry) -> (String, Layout, String) {
    (e.config.variant().key(), e.layout, e.class.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_classes_bucket_each_dimension() {
        let c = |m, n, k| ShapeClass::of(Shape::new(m, n, k)).to_string();
        assert_eq!(c(1, 64, 65), "m64.n64.k256");
        assert_eq!(c(256, 257, 1024), "m256.n1024.k1024");
        assert_eq!(c(4096, 4097, 16384), "m4096.n4097+.k4097+");
        assert_eq!(
            ShapeClass::of(Shape::cube(512)),
            ShapeClass::of(Shape::cube(1024))
        );
        assert_ne!(
            ShapeClass::of(Shape::cube(1024)),
            ShapeClass::of(Shape::cube(1025))
        );
        let b = |count| ShapeClass::of_batched(Shape::cube(100), Batch::new(count, 1)).to_string();
        assert_eq!(b(1), "m256.n256.k256");
        assert_eq!(b(3), "m256.n256.k256.b8");
        assert_eq!(b(32), "m256.n256.k256.b64");
        assert_eq!(b(100), "m256.n256.k256.b65+");
    }

    #[test]
    fn split_k_is_offered_only_where_blocks_are_few_and_k_is_long() {
        let mut bases = crate::kernels::block::base_configs();
        bases.extend(crate::kernels::subgroup::base_configs(32));
        let splits = |s: Shape| {
            candidates_among(&bases, s)
                .into_iter()
                .filter(|c| c.split_k > 1)
                .count()
        };
        // 4096² outputs: 1024 blocks of 128×128, enough everywhere.
        assert_eq!(splits(Shape::cube(4096)), 0);
        // 32 tokens × 4096: few blocks, long K.
        assert!(splits(Shape::new(32, 4096, 4096)) > 0);
        // Few blocks but K too short to split.
        assert_eq!(splits(Shape::new(32, 32, 16)), 0);
        for c in candidates_among(&bases, Shape::new(32, 4096, 4096)) {
            assert!(SPLITS.contains(&c.split_k) || c.split_k == 1);
        }
    }
}
