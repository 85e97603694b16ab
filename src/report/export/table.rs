//! The terminal format: comfy-table tables, then the summary sentences, the unmatched
//! records and how the figures were made; every cell and line through
//! [`escape::terminal`].

use anyhow::Result;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};

use super::{Exporter, headline_lines, machine_cells, noisy_lines, row_cells, unmatched_lines};
use crate::analysis::compare::Comparison;
use crate::report::escape;

pub struct TableExporter;

fn table(header: Vec<String>, rows: Vec<Vec<String>>, first_numeric: usize) -> String {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().map(|h| escape::terminal(h)));
    for row in rows {
        t.add_row(row.into_iter().enumerate().map(|(i, s)| {
            let cell = Cell::new(escape::terminal(&s));
            if i >= first_numeric {
                cell.set_alignment(CellAlignment::Right)
            } else {
                cell
            }
        }));
    }
    t.to_string()
}

impl Exporter<Comparison> for TableExporter {
    fn render(&self, c: &Comparison) -> Result<String> {
        let mut out = String::from("Summary\n");
        for l in headline_lines(c) {
            out.push_str(&format!("  {}\n", escape::terminal_line(&l)));
        }
        if !c.warnings.is_empty() {
            out.push_str("\nWarnings\n");
            for w in &c.warnings {
                out.push_str(&format!("  {}\n", escape::terminal(w)));
            }
        }
        let (h, r) = machine_cells(c);
        out.push_str("\nMachines\n");
        out.push_str(&table(h, r, 4));
        out.push_str(&format!("\n\nMatched records ({} shapes)\n", c.rows.len()));
        let (h, r) = row_cells(c);
        out.push_str(&table(h, r, 3));
        out.push('\n');
        for l in noisy_lines(c) {
            out.push_str(&format!("{}\n", escape::terminal_line(&l)));
        }
        let unmatched = unmatched_lines(c);
        if !unmatched.is_empty() {
            out.push_str("\nUnmatched records\n");
            for l in unmatched {
                out.push_str(&format!("  {}\n", escape::terminal_line(&l)));
            }
        }
        out.push_str("\nNotes\n");
        for n in &c.notes {
            out.push_str(&format!("  {}\n", escape::terminal(n)));
        }
        Ok(out)
    }
}
