//! The tuning cache on disk: one JSON file per adapter in the user's cache directory
//! (`$FLOPCOST_CACHE_DIR`, else the platform's cache directory + `flopcost/`).
//!
//! A file is trusted only when everything about it checks out: its format, a checksum
//! over its contents (FNV-1a 64 of the canonical JSON: it catches corruption and hand
//! edits, it is not a security measure), the adapter it was tuned on (name, PCI ids,
//! backend), the driver (name and `driver_info`) and the flopcost version, and every
//! entry's configuration must be one the tuner can emit for that adapter and layout.
//! Anything else is ignored with a warning that says why, and the next tuning replaces
//! the file. Even a trusted entry only picks a kernel: every run verifies it again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::config::BlockConfig;
use crate::gpu::Gpu;
use crate::types::{Layout, Precision};

/// The format identifier written into every cache file.
pub const FORMAT: &str = "flopcost/tune-cache/v1";

/// Overrides the cache directory (tests point it at a temporary directory).
pub const DIR_ENV: &str = "FLOPCOST_CACHE_DIR";

/// Largest cache file read; real ones are a few KiB.
const MAX_BYTES: u64 = 4 << 20;

/// What identifies the adapter, driver and program a cache was tuned with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdapterKey {
    pub name: String,
    pub vendor_id: u32,
    pub device_id: u32,
    pub backend: String,
    pub driver: String,
    pub driver_info: String,
    /// The flopcost version that tuned it: kernels change between versions.
    pub tool_version: String,
}

impl AdapterKey {
    pub fn of(gpu: &Gpu) -> AdapterKey {
        let info = &gpu.info;
        AdapterKey {
            name: info.name.clone(),
            vendor_id: info.vendor,
            device_id: info.device,
            backend: crate::gpu::adapter::backend_name(info.backend).to_string(),
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// The same physical adapter and backend (the file name is derived from these).
    fn same_adapter(&self, other: &AdapterKey) -> bool {
        self.name == other.name
            && self.vendor_id == other.vendor_id
            && self.device_id == other.device_id
            && self.backend == other.backend
    }

    /// The cache file's name: one per adapter and backend.
    pub fn file_name(&self) -> String {
        format!(
            "tune-{}-{:04x}-{:04x}-{}.json",
            crate::util::slug(&self.name),
            self.vendor_id,
            self.device_id,
            self.backend
        )
    }
}

/// One tuned winner: the best configuration for (precision, path, layout, shape class);
/// the path (shader cores or cooperative matrices) is part of the configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// `f32` or `f16`: the configuration's operand precision.
    pub precision: Precision,
    pub layout: Layout,
    /// The shape class, e.g. `m1024.n1024.k1024` (see `tune::ShapeClass`).
    pub class: String,
    pub config: BlockConfig,
    /// The shape it was tuned on, `MxNxK`.
    pub tuned_shape: String,
    /// Median time of the winner on that shape, in ns.
    pub median_ns: f64,
    /// Its fastest sample (what candidates are ranked by), in ns.
    pub best_ns: f64,
    /// Its throughput there, 10¹² FLOP/s.
    pub tflops: f64,
    /// Candidates verified and timed, failed verification, and offered.
    pub candidates_timed: u32,
    pub candidates_failed: u32,
    pub candidates_total: u32,
    /// When it was tuned, RFC 3339 UTC.
    pub tuned_at: String,
}

#[derive(Serialize, Deserialize)]
struct Body {
    adapter: AdapterKey,
    entries: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
struct File {
    format: String,
    checksum: String,
    #[serde(flatten)]
    body: Body,
}

/// FNV-1a 64 over the canonical JSON of the body. (serde_json's `float_roundtrip`
/// feature makes floats read back bit for bit, so a file's body serialises again to the
/// same bytes.)
fn checksum(body: &Body) -> String {
    crate::util::digest(&serde_json::to_vec(body).unwrap_or_default())
}

/// The directory cache files live in, if there is one.
pub fn dir() -> Option<PathBuf> {
    match std::env::var_os(DIR_ENV) {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => dirs::cache_dir().map(|d| d.join("flopcost")),
    }
}

/// Reads the entries of `path` for `key`. `Ok(None)`: no file. `Err`: the file exists
/// but is not trusted; the message says why.
pub fn read(
    path: &Path,
    key: &AdapterKey,
    allowed: impl Fn(Layout, &BlockConfig) -> bool,
) -> Result<Option<Vec<Entry>>, String> {
    // A link to /dev/zero or a FIFO in its place is refused as not a regular file, never
    // read without bound or waited on.
    if std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        return Ok(None);
    }
    let bytes = crate::util::fs::read_capped(path, MAX_BYTES, "tuning cache")
        .map_err(|e| format!("{e:#}"))?;
    let file: File = serde_json::from_slice(&bytes)
        .map_err(|e| format!("it is not a valid tuning cache ({e})"))?;
    if file.format != FORMAT {
        return Err(format!(
            "its format is {:?}, expected {FORMAT:?}",
            file.format
        ));
    }
    if checksum(&file.body) != file.checksum {
        return Err("its checksum does not match its contents (corrupt or edited by hand)".into());
    }
    let have = &file.body.adapter;
    if !have.same_adapter(key) {
        return Err(format!(
            "it was tuned on another adapter ({} {:04x}:{:04x} {})",
            have.name, have.vendor_id, have.device_id, have.backend
        ));
    }
    if have.driver != key.driver || have.driver_info != key.driver_info {
        return Err(format!(
            "it was tuned with driver {} {}, this is {} {}",
            have.driver, have.driver_info, key.driver, key.driver_info
        ));
    }
    if have.tool_version != key.tool_version {
        return Err(format!(
            "it was tuned by flopcost {}, this is {}",
            have.tool_version, key.tool_version
        ));
    }
    let mut seen = BTreeMap::new();
    for e in &file.body.entries {
        if e.precision != e.config.precision {
            return Err(format!(
                "entry {} has precision {:?} but its configuration is {}",
                e.class,
                e.precision.as_str(),
                e.config.precision.as_str()
            ));
        }
        if !allowed(e.layout, &e.config) {
            return Err(format!(
                "entry {} {} names configuration {}, which is not one the tuner offers on this \
                 adapter",
                e.layout, e.class, e.config
            ));
        }
        if !(e.median_ns.is_finite()
            && e.median_ns > 0.0
            && e.best_ns.is_finite()
            && e.best_ns > 0.0
            && e.tflops.is_finite())
        {
            return Err(format!(
                "entry {} {} has no valid timing",
                e.layout, e.class
            ));
        }
        if seen
            .insert((e.config.variant().key(), e.layout, e.class.clone()), ())
            .is_some()
        {
            return Err(format!(
                "entry {} {} {} appears twice",
                e.config.variant().key(),
                e.layout,
                e.class
            ));
        }
    }
    Ok(Some(file.body.entries))
}

/// Writes `entries` for `key` to `path` atomically, creating the directory.
pub fn write(path: &Path, key: &AdapterKey, entries: Vec<Entry>) -> anyhow::Result<()> {
    use anyhow::Context;
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)
            .with_context(|| format!("cannot create the cache directory {}", d.display()))?;
    }
    let body = Body {
        adapter: key.clone(),
        entries,
    };
    let file = File {
        format: FORMAT.into(),
        checksum: checksum(&body),
        body,
    };
    let mut bytes = serde_json::to_vec_pretty(&file)?;
    bytes.push(b'\n');
    crate::util::fs::write_atomic(path, &bytes)
}
