//! Invariants a result file must hold beyond its schema. Validation is a list of checks,
//! each of which reads the whole file and returns what it finds broken, as sentences; no
//! check calls another, and what they share (recomputation slack, the timing checks) is in
//! [`common`]. Every derived figure is recomputed from what it is derived from, no file
//! can loosen its own checks, and a figure that is not finite matches nothing.

mod common;
mod peaks;
mod power;
mod records;
mod repeats;
mod training;
mod triplets;
pub mod workload;

pub use records::record_problems;

use crate::result::types::{ResultFile, SCHEMA_ID};

/// A check: the problems it finds in a file.
pub type Check = fn(&ResultFile) -> Vec<String>;

/// Every check, in the order their problems are listed.
pub const CHECKS: [(&str, Check); 10] = [
    ("header", header),
    ("peaks", peaks::check),
    ("records", records::check),
    ("cost", cost),
    ("triplets", triplets::check),
    ("training", training::check),
    ("repeatability", repeats::check),
    ("sustain", repeats::check_sustain),
    ("workload", workload::check),
    ("power", power::check),
];

/// Every broken invariant, as a sentence; empty when the file is valid.
pub fn problems(file: &ResultFile) -> Vec<String> {
    CHECKS.iter().flat_map(|(_, check)| check(file)).collect()
}

/// The schema, the creation time and the completion flag.
fn header(file: &ResultFile) -> Vec<String> {
    let mut out = Vec::new();
    if file.schema != SCHEMA_ID {
        out.push(format!(
            "schema is {:?}, expected {SCHEMA_ID:?}",
            file.schema
        ));
    }
    if chrono::DateTime::parse_from_rfc3339(&file.created_at).is_err() {
        out.push(format!("created_at {:?} is not RFC 3339", file.created_at));
    }
    if !file.complete && file.incomplete_reason.is_none() {
        out.push("complete is false but incomplete_reason is missing".into());
    }
    out
}

/// The recorded cost inputs, each within its field's range, and the measured watts.
fn cost(file: &ResultFile) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(c) = &file.cost {
        for (field, i) in c.inputs.iter() {
            if let Err(why) = field.check(i.value) {
                out.push(format!(
                    "cost: the recorded input {} = {} {why}",
                    field.name(),
                    crate::util::fmt_num(i.value)
                ));
            }
        }
        // Measured watts are held to the range of the `watts` input.
        for (name, v) in [
            ("measured_watts", c.measured_watts),
            ("ownership_watts", c.ownership_watts),
        ] {
            if let Some(Err(why)) = v.map(|v| crate::result::CostField::Watts.check(v)) {
                out.push(format!(
                    "cost: {name} = {} {why}",
                    crate::util::fmt_num(v.unwrap_or_default())
                ));
            }
        }
    }
    out
}
