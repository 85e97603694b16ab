//! JSON: the whole comparison, for scripts.

use anyhow::{Context, Result};

use super::Exporter;
use crate::analysis::compare::Comparison;

pub struct JsonExporter;

impl Exporter<Comparison> for JsonExporter {
    fn render(&self, c: &Comparison) -> Result<String> {
        let mut s = serde_json::to_string_pretty(c).context("serializing the comparison")?;
        s.push('\n');
        Ok(s)
    }
}
