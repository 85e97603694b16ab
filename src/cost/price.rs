//! Price inputs and their precedence. A price per hour comes from the first of:
//! 1. `--usd-per-hour` (rental);
//! 2. the ownership flags (`--capex-usd`, `--lifetime-years`, `--utilization`,
//!    `--usd-per-kwh`, `--pue`, with `--watts` or the watts a power sensor measures),
//!    each missing one taken from the next sources or its stated default;
//! 3. `--price-file FILE` (TOML or JSON, machines keyed by adapter name);
//! 4. the inputs already recorded in the result file (so re-pricing reproduces them);
//! 5. the catalog entry the adapter matches (its rental price, else its launch price as
//!    an ownership purchase).
//!
//! Every input that is used is recorded with its source; with none, there is no price.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use super::catalog::{Entry, words};
use super::model::{self, defaults};
use crate::error::input_error;
use crate::result::{AdapterRecord, Cost, CostField, CostInput, CostInputs, Fields, Pricing};
use crate::util::fmt_num;

/// Price inputs given on the command line (already checked to be in range).
#[derive(Clone, Debug, Default)]
pub struct PriceSpec {
    /// The flags given, by field.
    pub flags: Fields<f64>,
    pub price_file: Option<PriceFile>,
}

impl PriceSpec {
    /// Checks every flag's range; `Err` is bad input naming the flag.
    pub fn validate(&self) -> Result<()> {
        for (field, &v) in self.flags.iter() {
            field
                .check(v)
                .map_err(|why| input_error(format!("--{} {}: {why}", field.flag(), fmt_num(v))))?;
        }
        Ok(())
    }

    fn ownership_flags(&self) -> bool {
        [
            CostField::CapexUsd,
            CostField::LifetimeYears,
            CostField::Utilization,
            CostField::UsdPerKwh,
            CostField::Pue,
        ]
        .iter()
        .any(|&f| self.flags.get(f).is_some())
    }

    /// True when no price input at all was given.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty() && self.price_file.is_none()
    }
}

/// The longest `source` a price file may give: with the file's path and key it must fit
/// the 16 KiB a result file allows a message, or a priced file would not read back.
pub const MAX_SOURCE_BYTES: usize = 4 << 10;

/// A machine's key is an adapter name, recorded in the source of every price taken from
/// it: at most the 1 KiB a result file allows a name.
fn check_key(key: &str) -> Result<(), String> {
    let most = crate::result::strict::MAX_NAME_BYTES;
    if key.len() > most {
        return Err(format!(
            "a key of {} bytes; an adapter name is at most {most}",
            key.len()
        ));
    }
    Ok(())
}

/// One machine in a price file: values of the price fields, and where they come from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PriceEntry {
    pub values: Fields<f64>,
    /// Where the prices come from (a quote, an invoice, a provider's price list).
    pub source: Option<String>,
}

impl PriceEntry {
    /// An entry from its table in the file: each key a price field (a number) or
    /// `source` (text); anything else says what is expected.
    fn from_table<'a>(
        items: impl Iterator<Item = (&'a str, Value<'a>)>,
    ) -> Result<PriceEntry, String> {
        let mut e = PriceEntry::default();
        for (key, value) in items {
            if key == "source" {
                match value {
                    Value::Text(t) if t.len() > MAX_SOURCE_BYTES => {
                        return Err(format!(
                            "source is {} bytes; at most {MAX_SOURCE_BYTES} are allowed (it is \
                             recorded in every result file priced with it)",
                            t.len()
                        ));
                    }
                    Value::Text(t) => e.source = Some(t.to_string()),
                    _ => return Err("source must be text".into()),
                }
                continue;
            }
            let field = CostField::from_name(key)
                .filter(|f| CostField::PRICES.contains(f))
                .ok_or_else(|| {
                    format!(
                        "unknown field `{key}`; expected one of {}, source",
                        CostField::PRICES.map(CostField::name).join(", ")
                    )
                })?;
            match value {
                Value::Number(v) => e.values.set(field, v),
                _ => return Err(format!("{key} must be a number")),
            }
        }
        Ok(e)
    }
}

/// A value in a price file's table.
enum Value<'a> {
    Number(f64),
    Text(&'a str),
    Other,
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
        let name = crate::util::clean(&path.display().to_string());
        let bytes = crate::util::fs::read_capped(path, MAX_PRICE_FILE_BYTES, "price file")?;
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
        let mut machines: BTreeMap<String, PriceEntry> = BTreeMap::new();
        if json || text.trim_start().starts_with('{') {
            // serde_json stops at 128 levels of nesting: deep input is an error, not a crash.
            let tables: BTreeMap<String, serde_json::Map<String, serde_json::Value>> =
                crate::result::strict::parse(bytes)
                    .and_then(serde_json::from_value)
                    .map_err(|e| bad(format!("not a valid JSON price file: {e}")))?;
            for (key, table) in &tables {
                let items = table.iter().map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::Number(n) => {
                            n.as_f64().map_or(Value::Other, Value::Number)
                        }
                        serde_json::Value::String(t) => Value::Text(t),
                        _ => Value::Other,
                    };
                    (k.as_str(), v)
                });
                let entry =
                    PriceEntry::from_table(items).map_err(|why| bad(format!("[{key:?}] {why}")))?;
                check_key(key).map_err(&bad)?;
                machines.insert(key.clone(), entry);
            }
        } else {
            // The TOML parser also limits nesting depth.
            let tables: BTreeMap<String, toml::Table> = toml::from_str(text).map_err(|e| {
                let line = e
                    .span()
                    .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
                let at = line.map_or(String::new(), |l| format!(" (line {l})"));
                bad(format!(
                    "not a valid TOML price file{at}: {}",
                    e.message().split_whitespace().collect::<Vec<_>>().join(" ")
                ))
            })?;
            for (key, table) in &tables {
                let items = table.iter().map(|(k, v)| {
                    let v = match v {
                        toml::Value::Float(f) => Value::Number(*f),
                        toml::Value::Integer(i) => Value::Number(*i as f64),
                        toml::Value::String(t) => Value::Text(t),
                        _ => Value::Other,
                    };
                    (k.as_str(), v)
                });
                let entry =
                    PriceEntry::from_table(items).map_err(|why| bad(format!("[{key:?}] {why}")))?;
                check_key(key).map_err(&bad)?;
                machines.insert(key.clone(), entry);
            }
        }
        if machines.is_empty() {
            return Err(bad(
                "lists no machines; expected a table per adapter name, e.g. \
                 [\"NVIDIA H100 80GB HBM3\"] with usd_per_hour = 2.49"
                    .into(),
            ));
        }
        for (key, entry) in &machines {
            if entry.values.is_empty() {
                return Err(bad(format!(
                    "[{key:?}] gives no price: set usd_per_hour, or capex_usd (with watts), \
                     or watts"
                )));
            }
            for (field, &v) in entry.values.iter() {
                field
                    .check(v)
                    .map_err(|why| bad(format!("[{key:?}] {} = {v}: {why}", field.name())))?;
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

/// The inputs chosen for one result file.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    pub inputs: CostInputs,
    pub pricing: Option<Pricing>,
    pub usd_per_hour: Option<f64>,
    pub watts: Option<f64>,
    /// Set when a price file was given but has no entry for the adapter: says so, and
    /// which keys it has.
    pub unmatched: Option<String>,
    /// Ownership pricing was chosen but no nameplate watts were found: the hourly price
    /// waits for the watts a power sensor measures ([`crate::cost::priced`]). The text is
    /// the error to give where none is measured.
    pub awaiting_watts: Option<String>,
}

fn input(value: f64, source: impl Into<String>) -> CostInput {
    CostInput {
        value,
        source: source.into(),
    }
}

struct Sources<'a> {
    spec: &'a PriceSpec,
    file: Option<(&'a PriceFile, &'a str, &'a PriceEntry)>,
    recorded: Option<&'a Cost>,
    entry: Option<&'a Entry>,
}

impl Sources<'_> {
    fn price_file_input(&self, field: CostField) -> Option<CostInput> {
        let (file, key, e) = self.file?;
        let v = *e.values.get(field)?;
        let mut source = format!("price file {} [{key:?}]", file.path);
        if let Some(s) = &e.source {
            source.push_str(&format!(": {s}"));
        }
        Some(input(v, source))
    }

    fn catalog_input(&self, field: CostField) -> Option<CostInput> {
        let e = self.entry?;
        let f = match field {
            CostField::UsdPerHour => e.rental_usd_per_hour.as_ref(),
            CostField::CapexUsd => e.launch_usd.as_ref(),
            CostField::Watts => e.board_power_w.as_ref(),
            _ => None,
        }?;
        Some(input(f.value, format!("catalog {}: {}", e.id, f.cite())))
    }

    /// The first of flag, price file, recorded, catalog for one field.
    fn chain(&self, field: CostField) -> Option<CostInput> {
        if let Some(&v) = self.spec.flags.get(field) {
            return Some(input(v, format!("flag --{}", field.flag())));
        }
        self.price_file_input(field)
            .or_else(|| self.recorded.and_then(|c| c.inputs.get(field)).cloned())
            .or_else(|| self.catalog_input(field))
    }

    fn recorded_pricing(&self) -> Option<Pricing> {
        self.recorded.and_then(|c| c.pricing)
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
    let unmatched = match (&spec.price_file, file) {
        (Some(f), None) => {
            let keys: Vec<&str> = f.machines.keys().map(String::as_str).take(8).collect();
            Some(crate::util::clean(&format!(
                "price file {} has no entry for adapter '{}' (its keys: {}{}); add one keyed \
                 by the adapter's name or a part of it",
                f.path,
                adapter.name,
                keys.join(", "),
                if f.machines.len() > keys.len() {
                    ", ..."
                } else {
                    ""
                }
            )))
        }
        _ => None,
    };
    let src = Sources {
        spec,
        file,
        recorded,
        entry,
    };
    let mut inputs = CostInputs::default();
    if let Some(w) = src.chain(CostField::Watts) {
        inputs.set(CostField::Watts, w);
    }
    let file_entry = file.map(|(_, _, e)| e);
    let rental = |i: CostInput| (Pricing::Rental, i);
    let in_file = |f| file_entry.is_some_and(|e| e.values.get(f).is_some());
    let choice = if spec.flags.get(CostField::UsdPerHour).is_some() {
        Some(Pricing::Rental)
    } else if spec.ownership_flags() {
        Some(Pricing::Ownership)
    } else if in_file(CostField::UsdPerHour) {
        Some(Pricing::Rental)
    } else if in_file(CostField::CapexUsd) {
        Some(Pricing::Ownership)
    } else if let Some(p) = src.recorded_pricing() {
        Some(p)
    } else if entry.is_some_and(|e| e.rental_usd_per_hour.is_some()) {
        Some(Pricing::Rental)
    } else if entry.is_some_and(|e| e.launch_usd.is_some())
        && inputs.get(CostField::Watts).is_some()
    {
        Some(Pricing::Ownership)
    } else {
        None
    };
    let mut usd_per_hour = None;
    let mut awaiting_watts = None;
    match choice {
        Some(Pricing::Rental) => {
            if let Some((_, i)) = src.chain(CostField::UsdPerHour).map(rental) {
                usd_per_hour = Some(i.value);
                inputs.set(CostField::UsdPerHour, i);
            }
        }
        Some(Pricing::Ownership) => {
            let capex = src.chain(CostField::CapexUsd).ok_or_else(|| {
                input_error(format!(
                    "ownership pricing for '{}' needs a purchase price: give --capex-usd \
                     (the catalog has no launch price for it)",
                    adapter.name
                ))
            })?;
            let watts = inputs.get(CostField::Watts).map(|w| w.value);
            if watts.is_none() {
                awaiting_watts = Some(format!(
                    "ownership pricing for '{}' needs the board power: give --watts (the \
                     catalog has no power figure for it), or measure it with a power sensor \
                     (see `flopcost run --help`: --power-command, --power-pci)",
                    adapter.name
                ));
            }
            let or_default =
                |field, d: f64| src.chain(field).unwrap_or_else(|| input(d, "default"));
            let lifetime = or_default(CostField::LifetimeYears, defaults::LIFETIME_YEARS);
            let utilization = or_default(CostField::Utilization, defaults::UTILIZATION);
            let kwh = or_default(CostField::UsdPerKwh, defaults::USD_PER_KWH);
            let pue = or_default(CostField::Pue, defaults::PUE);
            usd_per_hour = watts.map(|w| {
                model::ownership_usd_per_hour(
                    capex.value,
                    lifetime.value,
                    utilization.value,
                    w,
                    pue.value,
                    kwh.value,
                )
            });
            inputs.set(CostField::CapexUsd, capex);
            inputs.set(CostField::LifetimeYears, lifetime);
            inputs.set(CostField::Utilization, utilization);
            inputs.set(CostField::UsdPerKwh, kwh);
            inputs.set(CostField::Pue, pue);
        }
        None => {}
    }
    Ok(Resolved {
        unmatched,
        pricing: usd_per_hour.and(choice),
        usd_per_hour,
        watts: inputs.get(CostField::Watts).map(|w| w.value),
        inputs,
        awaiting_watts,
    })
}

/// Checks the inputs recorded in a file's cost section, which re-pricing reuses: a
/// hand-edited negative or out-of-range value is bad input, not a price.
fn check_recorded(inputs: &CostInputs) -> Result<()> {
    for (field, i) in inputs.iter() {
        field.check(i.value).map_err(|why| {
            input_error(format!(
                "the recorded cost input {} = {} {why}; re-price the file with \
                 `flopcost cost FILE --{} X --out FILE --force`",
                field.name(),
                fmt_num(i.value),
                field.flag()
            ))
        })?;
    }
    Ok(())
}

/// The part of [`missing_note`] on a missing power figure.
pub const NO_WATTS_NOTE: &str = "no power figure: give --watts W for joules per PFLOP";

/// What to tell a user whose file has no price (or no power figure).
pub fn missing_note(has_price: bool, has_watts: bool) -> Option<String> {
    let mut parts = Vec::new();
    if !has_price {
        parts.push(format!(
            "no price: give --usd-per-hour X (rental), or --capex-usd X for ownership \
             (--lifetime-years, --utilization, --usd-per-kwh and --pue default to {}, {}, {} \
             and {}; --watts or a power sensor is needed), or --price-file FILE with prices keyed by adapter \
             name; `flopcost cost FILE ...` prices an existing result",
            defaults::LIFETIME_YEARS,
            defaults::UTILIZATION,
            defaults::USD_PER_KWH,
            defaults::PUE
        ));
    }
    if !has_watts {
        parts.push(NO_WATTS_NOTE.into());
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
        assert_eq!(
            (k, e.values.get(CostField::UsdPerHour).copied()),
            ("llvmpipe", Some(0.1))
        );
        assert_eq!(
            f.lookup("nvidia h100 80gb hbm3")
                .unwrap()
                .1
                .values
                .get(CostField::Watts)
                .copied(),
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
        for (field, v) in [
            (CostField::UsdPerHour, -1.0),
            (CostField::Utilization, 0.0),
            (CostField::Watts, f64::NAN),
            (CostField::Pue, 0.5),
            (CostField::UsdPerHour, 1e308),
            (CostField::CapexUsd, f64::INFINITY),
        ] {
            let spec = PriceSpec {
                flags: Fields::default().with(field, v),
                ..Default::default()
            };
            let e = format!("{:#}", spec.validate().unwrap_err());
            assert!(e.starts_with(&format!("--{} ", field.flag())), "{e}");
        }
        assert!(PriceSpec::default().validate().is_ok());
    }
}
