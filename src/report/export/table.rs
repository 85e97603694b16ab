//! The terminal format: comfy-table tables, then the summary sentences, the unmatched
//! records and how the figures were made.

use anyhow::Result;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};

use super::{Exporter, machine_cells, row_cells, unmatched_lines};
use crate::report::compare::Comparison;

pub struct TableExporter;

fn table(header: Vec<String>, rows: Vec<Vec<String>>, first_numeric: usize) -> String {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header);
    for row in rows {
        t.add_row(row.into_iter().enumerate().map(|(i, s)| {
            let cell = Cell::new(s);
            if i >= first_numeric {
                cell.set_alignment(CellAlignment::Right)
            } else {
                cell
            }
        }));
    }
    t.to_string()
}

impl Exporter for TableExporter {
    fn render(&self, c: &Comparison) -> Result<String> {
        let mut out = String::new();
        let (h, r) = machine_cells(c);
        out.push_str("Machines\n");
        out.push_str(&table(h, r, 3));
        out.push_str(&format!("\n\nMatched records ({} shapes)\n", c.rows.len()));
        let (h, r) = row_cells(c);
        out.push_str(&table(h, r, 3));
        out.push_str("\n\nSummary\n");
        for v in &c.verdicts {
            out.push_str(&format!("  {}\n", v.sentence));
            out.push_str(&format!("    over {}\n", v.basis));
        }
        let unmatched = unmatched_lines(c);
        if !unmatched.is_empty() {
            out.push_str("\nUnmatched records\n");
            for l in unmatched {
                out.push_str(&format!("  {l}\n"));
            }
        }
        out.push_str("\nNotes\n");
        for n in &c.notes {
            out.push_str(&format!("  {n}\n"));
        }
        Ok(out)
    }
}
