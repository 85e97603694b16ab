//! The accelerator catalog: datasheet figures (dense peaks, memory, power, prices) of the
//! accelerators people compare, embedded in the binary from `catalog.json`, each figure
//! with the document it comes from and that document's date. It supplies the prices and
//! peaks nobody gave on the command line, and says so in every figure it supplies.

use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::result::AdapterRecord;

/// The catalog's schema identifier.
pub const CATALOG_SCHEMA: &str = "flopcost/catalog/v1";

/// One published figure.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    /// The value, in the unit its field name says.
    pub value: f64,
    /// The document it comes from.
    pub source: String,
    /// That document's date, `YYYY-MM`.
    pub as_of: String,
}

impl Figure {
    /// `SOURCE (as of DATE)`.
    pub fn cite(&self) -> String {
        format!("{} (as of {})", self.source, self.as_of)
    }
}

/// How an adapter is recognised.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// PCI `vendor:device` ids in hex, e.g. `10de:2330`; a match here wins over names.
    #[serde(default)]
    pub pci: Vec<String>,
    /// Word sequences that appear in the adapter name (case and punctuation ignored).
    #[serde(default)]
    pub names: Vec<String>,
    /// Word sequences that rule a name match out (e.g. `nvl` for a PCIe variant).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Only on this wgpu backend (`vulkan`, `gl`, ...), for software adapters that share
    /// one name across backends.
    #[serde(default)]
    pub backend: Option<String>,
}

/// One accelerator.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Stable identifier, e.g. `nvidia-h100-sxm`.
    pub id: String,
    pub name: String,
    pub vendor: String,
    /// `gpu`, `npu` or `cpu` (software adapters running on the host CPU).
    pub kind: String,
    #[serde(rename = "match")]
    pub matcher: Match,
    /// Dense fp32 peak, 10¹² FLOP/s.
    pub fp32_tflops: Option<Figure>,
    /// Dense fp16/bf16 matrix (tensor core) peak with fp32 accumulation, 10¹² FLOP/s.
    pub fp16_tensor_tflops: Option<Figure>,
    /// Memory size, GB.
    pub memory_gb: Option<Figure>,
    /// Memory bandwidth, GB/s.
    pub memory_bandwidth_gbps: Option<Figure>,
    /// Board power, W.
    pub board_power_w: Option<Figure>,
    /// Launch list price, USD.
    pub launch_usd: Option<Figure>,
    /// A public on-demand rental price for one accelerator, USD per hour.
    pub rental_usd_per_hour: Option<Figure>,
    /// What is missing and why.
    #[serde(default)]
    pub notes: Option<String>,
}

impl Entry {
    /// The dense datasheet peak for a record precision (`f32`, `f16`, `bf16`).
    pub fn peak_tflops(&self, precision: &str) -> Option<&Figure> {
        match precision {
            "f32" => self.fp32_tflops.as_ref(),
            "f16" | "bf16" => self.fp16_tensor_tflops.as_ref(),
            _ => None,
        }
    }

    /// Every figure with its field name, for listings and checks.
    pub fn figures(&self) -> [(&'static str, Option<&Figure>); 7] {
        [
            ("fp32_tflops", self.fp32_tflops.as_ref()),
            ("fp16_tensor_tflops", self.fp16_tensor_tflops.as_ref()),
            ("memory_gb", self.memory_gb.as_ref()),
            ("memory_bandwidth_gbps", self.memory_bandwidth_gbps.as_ref()),
            ("board_power_w", self.board_power_w.as_ref()),
            ("launch_usd", self.launch_usd.as_ref()),
            ("rental_usd_per_hour", self.rental_usd_per_hour.as_ref()),
        ]
    }
}

/// The whole catalog.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// `flopcost/catalog/v1`.
    pub schema: String,
    /// What the figures mean.
    pub about: String,
    pub accelerators: Vec<Entry>,
}

/// The catalog embedded in the binary. Its data is checked by unit tests (it parses, every
/// figure has a source and a date, every value is a positive number).
pub fn builtin() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        serde_json::from_str(include_str!("catalog.json"))
            .expect("the embedded catalog parses (checked by a unit test)")
    })
}

/// Lower-case words of letters and digits, joined by single spaces.
pub fn words(s: &str) -> String {
    s.to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// True when `pattern`'s words appear in `name`'s words as a whole-word sequence.
fn contains_words(name: &str, pattern: &str) -> bool {
    let (name, pattern) = (format!(" {} ", words(name)), words(pattern));
    !pattern.is_empty() && name.contains(&format!(" {pattern} "))
}

impl Catalog {
    /// The entry with this id.
    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.accelerators.iter().find(|e| e.id == id)
    }

    /// The entry an adapter matches: by PCI id first, else by the longest name pattern.
    pub fn find(&self, adapter: &AdapterRecord) -> Option<&Entry> {
        let pci = format!("{:04x}:{:04x}", adapter.vendor_id, adapter.device_id);
        let backend_ok = |e: &Entry| {
            e.matcher
                .backend
                .as_deref()
                .is_none_or(|b| b.eq_ignore_ascii_case(&adapter.backend))
        };
        if let Some(e) = self
            .accelerators
            .iter()
            .find(|e| backend_ok(e) && e.matcher.pci.iter().any(|p| p.eq_ignore_ascii_case(&pci)))
        {
            return Some(e);
        }
        self.accelerators
            .iter()
            .filter(|e| backend_ok(e))
            .filter(|e| {
                !e.matcher
                    .exclude
                    .iter()
                    .any(|x| contains_words(&adapter.name, x))
            })
            .filter_map(|e| {
                e.matcher
                    .names
                    .iter()
                    .filter(|p| contains_words(&adapter.name, p))
                    .map(|p| words(p).len())
                    .max()
                    .map(|len| (len, e))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, e)| e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(name: &str, vendor: u32, device: u32, backend: &str) -> AdapterRecord {
        AdapterRecord {
            index: 0,
            name: name.into(),
            vendor_id: vendor,
            device_id: device,
            device_type: "discrete_gpu".into(),
            backend: backend.into(),
            driver: String::new(),
            driver_info: String::new(),
            device_pci_bus_id: String::new(),
            subgroup_min_size: 0,
            subgroup_max_size: 0,
            features: vec![],
            limits: Default::default(),
            cooperative_matrix: vec![],
            device_memory_bytes: None,
        }
    }

    #[test]
    fn embedded_catalog_is_complete_and_sourced() {
        let c = builtin();
        assert_eq!(c.schema, CATALOG_SCHEMA);
        let mut ids = std::collections::HashSet::new();
        for e in &c.accelerators {
            assert!(ids.insert(e.id.as_str()), "duplicate id {}", e.id);
            assert!(!e.matcher.pci.is_empty() || !e.matcher.names.is_empty());
            for p in &e.matcher.pci {
                let ok = p.len() == 9
                    && p.as_bytes()[4] == b':'
                    && p.split(':').all(|h| u32::from_str_radix(h, 16).is_ok());
                assert!(ok, "{}: bad pci id {p}", e.id);
            }
            for (name, f) in e.figures() {
                let Some(f) = f else { continue };
                assert!(
                    f.value.is_finite() && f.value > 0.0,
                    "{}.{name} = {}",
                    e.id,
                    f.value
                );
                assert!(f.source.len() > 10, "{}.{name} has no source", e.id);
                let d = f.as_of.as_bytes();
                let date_ok = d.len() == 7
                    && d[4] == b'-'
                    && f.as_of[..4].parse::<u32>().is_ok_and(|y| y >= 2019)
                    && f.as_of[5..]
                        .parse::<u32>()
                        .is_ok_and(|m| (1..=12).contains(&m));
                assert!(date_ok, "{}.{name}: as_of {:?}", e.id, f.as_of);
            }
        }
        for want in [
            "nvidia-h200-sxm",
            "nvidia-h100-sxm",
            "nvidia-a100-sxm-80gb",
            "nvidia-l40s",
            "nvidia-rtx-4090",
            "nvidia-rtx-5090",
            "amd-instinct-mi300x",
            "amd-instinct-mi250x",
            "amd-radeon-rx-7900-xtx",
            "intel-arc-a770-16gb",
            "apple-m2-max",
            "apple-m3-max",
            "apple-m4-max",
            "huawei-ascend-910b",
            "moore-threads-mtt-s4000",
            "lavapipe",
            "llvmpipe",
        ] {
            assert!(c.get(want).is_some(), "{want} missing");
        }
    }

    #[test]
    fn stated_dense_peaks() {
        let c = builtin();
        let peak = |id: &str, p: &str| c.get(id).unwrap().peak_tflops(p).unwrap().value;
        assert_eq!(peak("nvidia-h100-sxm", "f32"), 67.0);
        assert_eq!(peak("nvidia-h200-sxm", "bf16"), 989.0);
        assert_eq!(peak("nvidia-a100-sxm-80gb", "f32"), 19.5);
        assert_eq!(peak("nvidia-a100-sxm-80gb", "f16"), 312.0);
        // fp32 is the vector rate for every vendor, AMD's matrix rates (twice it) are not.
        assert_eq!(peak("amd-instinct-mi300x", "f32"), 81.7);
        assert_eq!(peak("amd-instinct-mi250x", "f32"), 47.9);
        for e in &c.accelerators {
            if let Some(f) = &e.fp32_tflops {
                assert!(
                    !f.source.contains("matrix") || f.source.contains("vector"),
                    "{}: an fp32 figure that is not the vector rate",
                    e.id
                );
            }
        }
        assert!((peak("amd-instinct-mi300x", "bf16") - 1307.0).abs() < 1.0);
        assert!(c.get("lavapipe").unwrap().fp32_tflops.is_none());
    }

    #[test]
    fn adapters_match_by_pci_id_then_name_and_backend() {
        let c = builtin();
        let id = |a: &AdapterRecord| c.find(a).map(|e| e.id.as_str());
        assert_eq!(
            id(&adapter("whatever", 0x10de, 0x2330, "vulkan")),
            Some("nvidia-h100-sxm")
        );
        assert_eq!(
            id(&adapter("NVIDIA H100 80GB HBM3", 0x10de, 0x1, "vulkan")),
            Some("nvidia-h100-sxm")
        );
        assert_eq!(
            id(&adapter("NVIDIA H100 PCIe", 0x10de, 0x2331, "vulkan")),
            None
        );
        assert_eq!(
            id(&adapter("NVIDIA H200", 0x10de, 0, "vulkan")),
            Some("nvidia-h200-sxm")
        );
        assert_eq!(id(&adapter("NVIDIA H200 NVL", 0x10de, 0, "vulkan")), None);
        assert_eq!(
            id(&adapter("NVIDIA A100-SXM4-80GB", 0x10de, 0, "vulkan")),
            Some("nvidia-a100-sxm-80gb")
        );
        assert_eq!(
            id(&adapter("NVIDIA GeForce RTX 4090", 0x10de, 0, "vulkan")),
            Some("nvidia-rtx-4090")
        );
        assert_eq!(
            id(&adapter(
                "Intel(R) Arc(tm) A770 Graphics (DG2)",
                0x8086,
                0,
                "vulkan"
            )),
            Some("intel-arc-a770-16gb")
        );
        assert_eq!(
            id(&adapter("Apple M3 Max", 0x106b, 0, "metal")),
            Some("apple-m3-max")
        );
        let lvp = "llvmpipe (LLVM 15.0.6, 256 bits)";
        assert_eq!(id(&adapter(lvp, 0x10005, 0, "vulkan")), Some("lavapipe"));
        assert_eq!(id(&adapter(lvp, 0x10005, 0, "gl")), Some("llvmpipe"));
        assert_eq!(
            id(&adapter("Mystery GPU 9000", 0x1234, 0x5678, "vulkan")),
            None
        );
        // Whole words only: "rtx 40900" is not an RTX 4090.
        assert_eq!(id(&adapter("RTX 40900", 0x10de, 0, "vulkan")), None);
    }
}
