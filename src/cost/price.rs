//! Price inputs and their precedence. A price per hour comes from the first of:
//! 1. `--usd-per-hour` (rental);
//! 2. the ownership flags (`--capex-usd`, `--lifetime-years`, `--utilization`,
//!    `--usd-per-kwh`, `--pue`, with `--watts`), each missing one taken from the next
//!    sources or its stated default;
//! 3. `--price-file FILE` (TOML or JSON, machines keyed by adapter name);
//! 4. the inputs already recorded in the result file (so re-pricing reproduces them);
//! 5. the catalog entry the adapter matches (its rental price, else its launch price as
//!    an ownership purchase).
//!
//! Every input that is used is recorded with its source; with none, there is no price.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde::Deserialize;

use super::catalog::{Entry, words};
use super::model::{self, defaults};
use crate::error::input_error;
use crate::result::{AdapterRecord, Cost, CostInput, CostInputs};

/// Price inputs given on the command line (already checked to be in range).
#[derive(Clone, Debug, Default)]
pub struct PriceSpec {
    pub usd_per_hour: Option<f64>,
    pub capex_usd: Option<f64>,
    pub lifetime_years: Option<f64>,
    pub utilization: Option<f64>,
    pub watts: Option<f64>,
    pub usd_per_kwh: Option<f64>,
    pub pue: Option<f64>,
    pub price_file: Option<PriceFile>,
    pub ref_params: Option<f64>,
    pub ref_tokens: Option<f64>,
}

/// The range an input must lie in.
#[derive(Clone, Copy, Debug)]
enum Range {
    /// ≥ 0 (prices).
    NonNegative,
    /// > 0.
    Positive,
    /// (0, 1].
    Fraction,
    /// ≥ 1.
    AtLeastOne,
}

fn check(value: f64, range: Range) -> Result<(), &'static str> {
    let ok = value.is_finite()
        && match range {
            Range::NonNegative => value >= 0.0,
            Range::Positive => value > 0.0,
            Range::Fraction => value > 0.0 && value <= 1.0,
            Range::AtLeastOne => value >= 1.0,
        };
    if ok {
        Ok(())
    } else {
        Err(match range {
            Range::NonNegative => "must be a number ≥ 0",
            Range::Positive => "must be a number > 0",
            Range::Fraction => "must be a fraction in (0, 1]",
            Range::AtLeastOne => "must be a number ≥ 1",
        })
    }
}

/// Each field's name, range and accessor, shared by the flags and the price file.
const FIELDS: [(&str, Range); 7] = [
    ("usd_per_hour", Range::NonNegative),
    ("capex_usd", Range::NonNegative),
    ("lifetime_years", Range::Positive),
    ("utilization", Range::Fraction),
    ("watts", Range::Positive),
    ("usd_per_kwh", Range::NonNegative),
    ("pue", Range::AtLeastOne),
];

impl PriceSpec {
    /// Checks every flag's range; `Err` is bad input naming the flag.
    pub fn validate(&self) -> Result<()> {
        let values = [
            self.usd_per_hour,
            self.capex_usd,
            self.lifetime_years,
            self.utilization,
            self.watts,
            self.usd_per_kwh,
            self.pue,
        ];
        for ((name, range), v) in FIELDS.iter().zip(values) {
            if let Some(v) = v {
                check(v, *range).map_err(|why| {
                    input_error(format!("--{} {v}: {why}", name.replace('_', "-")))
                })?;
            }
        }
        for (flag, v) in [
            ("--ref-params", self.ref_params),
            ("--ref-tokens", self.ref_tokens),
        ] {
            if let Some(v) = v {
                check(v, Range::Positive)
                    .map_err(|why| input_error(format!("{flag} {v}: {why}")))?;
            }
        }
        Ok(())
    }

    fn ownership_flags(&self) -> bool {
        self.capex_usd.is_some()
            || self.lifetime_years.is_some()
            || self.utilization.is_some()
            || self.usd_per_kwh.is_some()
            || self.pue.is_some()
    }

    /// True when no price input at all was given.
    pub fn is_empty(&self) -> bool {
        self.usd_per_hour.is_none()
            && !self.ownership_flags()
            && self.watts.is_none()
            && self.price_file.is_none()
            && self.ref_params.is_none()
            && self.ref_tokens.is_none()
    }
}

/// One machine in a price file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriceEntry {
    pub usd_per_hour: Option<f64>,
    pub capex_usd: Option<f64>,
    pub lifetime_years: Option<f64>,
    pub utilization: Option<f64>,
    pub watts: Option<f64>,
    pub usd_per_kwh: Option<f64>,
    pub pue: Option<f64>,
    /// Where the prices come from (a quote, an invoice, a provider's price list).
    pub source: Option<String>,
}

impl PriceEntry {
    fn values(&self) -> [Option<f64>; 7] {
        [
            self.usd_per_hour,
            self.capex_usd,
            self.lifetime_years,
            self.utilization,
            self.watts,
            self.usd_per_kwh,
            self.pue,
        ]
    }
}

/// A price file: machines keyed by adapter name, in TOML or JSON.
///
/// ```toml
/// ["NVIDIA H100 80GB HBM3"]
/// usd_per_hour = 2.49
/// source = "provider price list, 2026-04"
///
/// ["AMD Instinct MI300X"]
/// capex_usd = 15000
/// watts = 750
/// usd_per_kwh = 0.08
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PriceFile {
    /// The path as given, for sources and messages.
    pub path: String,
    pub machines: BTreeMap<String, PriceEntry>,
}

/// Largest price file accepted.
const MAX_PRICE_FILE_BYTES: u64 = 1 << 20;

impl PriceFile {
    /// Reads and checks a price file; every problem is bad input naming the file.
    pub fn read(path: &Path) -> Result<PriceFile> {
        let name = path.display().to_string();
        let meta = std::fs::metadata(path)
            .map_err(|e| input_error(format!("{name}: cannot read the price file: {e}")))?;
        if !meta.is_file() {
            return Err(input_error(format!("{name}: not a regular file")));
        }
        if meta.len() > MAX_PRICE_FILE_BYTES {
            return Err(input_error(format!(
                "{name}: larger than {} KiB; not a price file",
                MAX_PRICE_FILE_BYTES >> 10
            )));
        }
        let bytes = std::fs::read(path)
            .map_err(|e| input_error(format!("{name}: cannot read the price file: {e}")))?;
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        PriceFile::parse(&bytes, &name, json)
    }

    /// Parses a price file's bytes: JSON when `json` or when it starts with `{`, else TOML.
    pub fn parse(bytes: &[u8], name: &str, json: bool) -> Result<PriceFile> {
        let bad = |why: String| input_error(format!("{name}: {why}"));
        let text = std::str::from_utf8(bytes)
            .map_err(|_| bad("not a text file (invalid UTF-8); expected TOML or JSON".into()))?;
        if text.trim().is_empty() {
            return Err(bad(
                "empty file; expected TOML or JSON prices keyed by adapter name".into(),
            ));
        }
        let machines: BTreeMap<String, PriceEntry> = if json || text.trim_start().starts_with('{') {
            // serde_json stops at 128 levels of nesting: deep input is an error, not a crash.
            serde_json::from_str(text)
                .map_err(|e| bad(format!("not a valid JSON price file: {e}")))?
        } else {
            // The TOML parser also limits nesting depth.
            toml::from_str(text).map_err(|e| {
                let line = e
                    .span()
                    .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
                let at = line.map_or(String::new(), |l| format!(" (line {l})"));
                bad(format!(
                    "not a valid TOML price file{at}: {}",
                    e.message().split_whitespace().collect::<Vec<_>>().join(" ")
                ))
            })?
        };
        if machines.is_empty() {
            return Err(bad(
                "lists no machines; expected a table per adapter name, e.g. \
                 [\"NVIDIA H100 80GB HBM3\"] with usd_per_hour = 2.49"
                    .into(),
            ));
        }
        for (key, entry) in &machines {
            if entry.values().iter().all(Option::is_none) {
                return Err(bad(format!(
                    "[{key:?}] gives no price: set usd_per_hour, or capex_usd (with watts), \
                     or watts"
                )));
            }
            for ((field, range), v) in FIELDS.iter().zip(entry.values()) {
                if let Some(v) = v {
                    check(v, *range)
                        .map_err(|why| bad(format!("[{key:?}] {field} = {v}: {why}")))?;
                }
            }
        }
        Ok(PriceFile {
            path: name.to_string(),
            machines,
        })
    }

    /// The entry for an adapter: an exact (case-insensitive) key, else the longest key
    /// whose words appear in the adapter name.
    pub fn lookup(&self, adapter_name: &str) -> Option<(&str, &PriceEntry)> {
        if let Some((k, e)) = self
            .machines
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(adapter_name))
        {
            return Some((k, e));
        }
        let name = format!(" {} ", words(adapter_name));
        self.machines
            .iter()
            .filter(|(k, _)| {
                let w = words(k);
                !w.is_empty() && name.contains(&format!(" {w} "))
            })
            .max_by_key(|(k, _)| words(k).len())
            .map(|(k, e)| (k.as_str(), e))
    }
}

/// How the price per hour was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pricing {
    Rental,
    Ownership,
}

impl Pricing {
    pub fn as_str(self) -> &'static str {
        match self {
            Pricing::Rental => "rental",
            Pricing::Ownership => "ownership",
        }
    }
}

/// The inputs chosen for one result file.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    pub inputs: CostInputs,
    pub pricing: Option<Pricing>,
    pub usd_per_hour: Option<f64>,
    pub watts: Option<f64>,
    pub ref_params: f64,
    pub ref_tokens: f64,
}

fn input(value: f64, source: impl Into<String>) -> CostInput {
    CostInput {
        value,
        source: source.into(),
    }
}

/// The fields of [`CostInputs`] by name.
fn recorded_field<'a>(inputs: &'a CostInputs, field: &str) -> Option<&'a CostInput> {
    match field {
        "usd_per_hour" => inputs.usd_per_hour.as_ref(),
        "capex_usd" => inputs.capex_usd.as_ref(),
        "lifetime_years" => inputs.lifetime_years.as_ref(),
        "utilization" => inputs.utilization.as_ref(),
        "watts" => inputs.watts.as_ref(),
        "usd_per_kwh" => inputs.usd_per_kwh.as_ref(),
        "pue" => inputs.pue.as_ref(),
        "ref_params" => inputs.ref_params.as_ref(),
        "ref_tokens" => inputs.ref_tokens.as_ref(),
        _ => None,
    }
}

struct Sources<'a> {
    spec: &'a PriceSpec,
    file: Option<(&'a PriceFile, &'a str, &'a PriceEntry)>,
    recorded: Option<&'a Cost>,
    entry: Option<&'a Entry>,
}

impl Sources<'_> {
    fn flag(&self, field: &str) -> Option<f64> {
        let s = self.spec;
        match field {
            "usd_per_hour" => s.usd_per_hour,
            "capex_usd" => s.capex_usd,
            "lifetime_years" => s.lifetime_years,
            "utilization" => s.utilization,
            "watts" => s.watts,
            "usd_per_kwh" => s.usd_per_kwh,
            "pue" => s.pue,
            "ref_params" => s.ref_params,
            "ref_tokens" => s.ref_tokens,
            _ => None,
        }
    }

    fn price_file_input(&self, field: &str) -> Option<CostInput> {
        let (file, key, e) = self.file?;
        let v = match field {
            "usd_per_hour" => e.usd_per_hour,
            "capex_usd" => e.capex_usd,
            "lifetime_years" => e.lifetime_years,
            "utilization" => e.utilization,
            "watts" => e.watts,
            "usd_per_kwh" => e.usd_per_kwh,
            "pue" => e.pue,
            _ => None,
        }?;
        let mut source = format!("price file {} [{key:?}]", file.path);
        if let Some(s) = &e.source {
            source.push_str(&format!(": {s}"));
        }
        Some(input(v, source))
    }

    fn catalog_input(&self, field: &str) -> Option<CostInput> {
        let e = self.entry?;
        let f = match field {
            "usd_per_hour" => e.rental_usd_per_hour.as_ref(),
            "capex_usd" => e.launch_usd.as_ref(),
            "watts" => e.board_power_w.as_ref(),
            _ => None,
        }?;
        Some(input(f.value, format!("catalog {}: {}", e.id, f.cite())))
    }

    /// The first of flag, price file, recorded, catalog for one field.
    fn chain(&self, field: &str) -> Option<CostInput> {
        if let Some(v) = self.flag(field) {
            return Some(input(v, format!("flag --{}", field.replace('_', "-"))));
        }
        self.price_file_input(field)
            .or_else(|| {
                self.recorded
                    .and_then(|c| recorded_field(&c.inputs, field))
                    .cloned()
            })
            .or_else(|| self.catalog_input(field))
    }

    fn recorded_pricing(&self) -> Option<&str> {
        self.recorded.and_then(|c| c.pricing.as_deref())
    }
}

/// Chooses every input for one result file by the precedence in the module docs.
/// `recorded` is the file's existing cost section, if any.
pub fn resolve(
    spec: &PriceSpec,
    adapter: &AdapterRecord,
    entry: Option<&Entry>,
    recorded: Option<&Cost>,
) -> Result<Resolved> {
    if let Some(c) = recorded {
        check_recorded(&c.inputs)?;
    }
    let file = spec
        .price_file
        .as_ref()
        .and_then(|f| f.lookup(&adapter.name).map(|(k, e)| (f, k, e)));
    let src = Sources {
        spec,
        file,
        recorded,
        entry,
    };
    let mut inputs = CostInputs {
        watts: src.chain("watts"),
        ref_params: Some(
            src.chain("ref_params")
                .unwrap_or_else(|| input(defaults::REF_PARAMS, "default")),
        ),
        ref_tokens: Some(
            src.chain("ref_tokens")
                .unwrap_or_else(|| input(defaults::REF_TOKENS, "default")),
        ),
        ..CostInputs::default()
    };
    let file_entry = file.map(|(_, _, e)| e);
    let rental = |i: CostInput| (Pricing::Rental, i);
    let choice = if spec.usd_per_hour.is_some() {
        Some(Pricing::Rental)
    } else if spec.ownership_flags() {
        Some(Pricing::Ownership)
    } else if file_entry.is_some_and(|e| e.usd_per_hour.is_some()) {
        Some(Pricing::Rental)
    } else if file_entry.is_some_and(|e| e.capex_usd.is_some()) {
        Some(Pricing::Ownership)
    } else if src.recorded_pricing() == Some("rental") {
        Some(Pricing::Rental)
    } else if src.recorded_pricing() == Some("ownership") {
        Some(Pricing::Ownership)
    } else if entry.is_some_and(|e| e.rental_usd_per_hour.is_some()) {
        Some(Pricing::Rental)
    } else if entry.is_some_and(|e| e.launch_usd.is_some()) && inputs.watts.is_some() {
        Some(Pricing::Ownership)
    } else {
        None
    };
    let mut usd_per_hour = None;
    match choice {
        Some(Pricing::Rental) => {
            if let Some((_, i)) = src.chain("usd_per_hour").map(rental) {
                usd_per_hour = Some(i.value);
                inputs.usd_per_hour = Some(i);
            }
        }
        Some(Pricing::Ownership) => {
            let capex = src.chain("capex_usd").ok_or_else(|| {
                input_error(format!(
                    "ownership pricing for '{}' needs a purchase price: give --capex-usd \
                     (the catalog has no launch price for it)",
                    adapter.name
                ))
            })?;
            let watts = inputs.watts.clone().ok_or_else(|| {
                input_error(format!(
                    "ownership pricing for '{}' needs the board power: give --watts \
                     (the catalog has no power figure for it)",
                    adapter.name
                ))
            })?;
            let or_default =
                |field: &str, d: f64| src.chain(field).unwrap_or_else(|| input(d, "default"));
            let lifetime = or_default("lifetime_years", defaults::LIFETIME_YEARS);
            let utilization = or_default("utilization", defaults::UTILIZATION);
            let kwh = or_default("usd_per_kwh", defaults::USD_PER_KWH);
            let pue = or_default("pue", defaults::PUE);
            usd_per_hour = Some(model::ownership_usd_per_hour(
                capex.value,
                lifetime.value,
                utilization.value,
                watts.value,
                pue.value,
                kwh.value,
            ));
            inputs.capex_usd = Some(capex);
            inputs.lifetime_years = Some(lifetime);
            inputs.utilization = Some(utilization);
            inputs.usd_per_kwh = Some(kwh);
            inputs.pue = Some(pue);
        }
        None => {}
    }
    Ok(Resolved {
        pricing: usd_per_hour.and(choice),
        usd_per_hour,
        watts: inputs.watts.as_ref().map(|w| w.value),
        ref_params: inputs
            .ref_params
            .as_ref()
            .map_or(defaults::REF_PARAMS, |i| i.value),
        ref_tokens: inputs
            .ref_tokens
            .as_ref()
            .map_or(defaults::REF_TOKENS, |i| i.value),
        inputs,
    })
}

/// Checks the inputs recorded in a file's cost section, which re-pricing reuses: a
/// hand-edited negative or out-of-range value is bad input, not a price.
fn check_recorded(inputs: &CostInputs) -> Result<()> {
    let ranges = FIELDS.iter().copied().chain([
        ("ref_params", Range::Positive),
        ("ref_tokens", Range::Positive),
    ]);
    for (field, range) in ranges {
        if let Some(i) = recorded_field(inputs, field) {
            check(i.value, range).map_err(|why| {
                input_error(format!(
                    "the recorded cost input {field} = {} {why}; re-price the file with \
                     `flopcost cost FILE --{} X --out FILE --force`",
                    i.value,
                    field.replace('_', "-")
                ))
            })?;
        }
    }
    Ok(())
}

/// What to tell a user whose file has no price (or no power figure).
pub fn missing_note(has_price: bool, has_watts: bool) -> Option<String> {
    let mut parts = Vec::new();
    if !has_price {
        parts.push(format!(
            "no price: give --usd-per-hour X (rental), or --capex-usd X for ownership \
             (--lifetime-years, --utilization, --usd-per-kwh and --pue default to {}, {}, {} \
             and {}; --watts is needed), or --price-file FILE with prices keyed by adapter \
             name; `flopcost cost FILE ...` prices an existing result",
            defaults::LIFETIME_YEARS,
            defaults::UTILIZATION,
            defaults::USD_PER_KWH,
            defaults::PUE
        ));
    }
    if !has_watts {
        parts.push("no power figure: give --watts W for joules per PFLOP".into());
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_files_parse_as_toml_or_json_and_match_by_name() {
        let toml = br#"
["llvmpipe"]
usd_per_hour = 0.1
source = "a quote"

["NVIDIA H100 80GB HBM3"]
capex_usd = 25000
watts = 700
"#;
        let f = PriceFile::parse(toml, "p.toml", false).unwrap();
        let (k, e) = f.lookup("llvmpipe (LLVM 15.0.6, 256 bits)").unwrap();
        assert_eq!((k, e.usd_per_hour), ("llvmpipe", Some(0.1)));
        assert_eq!(
            f.lookup("nvidia h100 80gb hbm3").unwrap().1.watts,
            Some(700.0)
        );
        assert!(f.lookup("NVIDIA H100 PCIe").is_none());
        let json = br#"{"llvmpipe": {"usd_per_hour": 0.1, "source": "a quote"}}"#;
        let j = PriceFile::parse(json, "p.json", true).unwrap();
        assert_eq!(j.machines["llvmpipe"], f.machines["llvmpipe"]);
    }

    #[test]
    fn bad_price_files_are_input_errors_naming_the_file() {
        let deep = format!("a = {}1{}", "[".repeat(5000), "]".repeat(5000));
        let cases: Vec<&[u8]> = vec![
            b"",
            b"   \n",
            b"\xff\xfe\x00",
            b"not = [toml",
            b"{\"x\": ",
            b"[x]\nusd_per_hour = -1\n",
            b"[x]\nusd_per_hour = nan\n",
            b"[x]\nusd_per_hour = inf\n",
            b"[x]\nutilization = 1.5\n",
            b"[x]\npue = 0.5\n",
            b"[x]\nusd_per_hour = \"cheap\"\n",
            b"[x]\nprice = 3\n",
            b"[x]\nsource = \"nothing else\"\n",
            b"{}",
            deep.as_bytes(),
        ];
        for bytes in cases {
            let err = PriceFile::parse(bytes, "prices.toml", false).unwrap_err();
            let msg = format!("{err:#}");
            assert!(msg.starts_with("prices.toml: "), "{msg}");
            assert!(!msg.contains('\n'), "{msg}");
            assert!(err.chain().any(|e| e.is::<crate::error::InputError>()));
        }
        let json_deep = "[".repeat(10_000);
        assert!(PriceFile::parse(json_deep.as_bytes(), "p.json", true).is_err());
    }

    #[test]
    fn flags_out_of_range_are_rejected() {
        for spec in [
            PriceSpec {
                usd_per_hour: Some(-1.0),
                ..Default::default()
            },
            PriceSpec {
                utilization: Some(0.0),
                ..Default::default()
            },
            PriceSpec {
                watts: Some(f64::NAN),
                ..Default::default()
            },
            PriceSpec {
                ref_tokens: Some(0.0),
                ..Default::default()
            },
        ] {
            assert!(spec.validate().is_err(), "{spec:?}");
        }
        assert!(PriceSpec::default().validate().is_ok());
    }
}
