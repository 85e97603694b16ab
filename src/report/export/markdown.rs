//! Markdown: GitHub-flavoured tables, for READMEs, issues and pull requests.

use anyhow::Result;

use super::{Exporter, machine_cells, row_cells, unmatched_lines};
use crate::report::compare::Comparison;

pub struct MarkdownExporter;

/// A Markdown table; cells have `|` escaped; columns from `first_numeric` on are
/// right-aligned.
pub fn md_table(header: &[String], rows: &[Vec<String>], first_numeric: usize) -> String {
    let esc = |s: &str| s.replace('|', "\\|");
    let mut out = format!(
        "| {} |\n|{}\n",
        header
            .iter()
            .map(|h| esc(h))
            .collect::<Vec<_>>()
            .join(" | "),
        (0..header.len())
            .map(|i| if i >= first_numeric { "---:|" } else { "---|" })
            .collect::<String>()
    );
    for r in rows {
        out.push_str(&format!(
            "| {} |\n",
            r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
        ));
    }
    out
}

impl Exporter for MarkdownExporter {
    fn render(&self, c: &Comparison) -> Result<String> {
        let mut out = String::from("## Machines\n\n");
        let (h, r) = machine_cells(c);
        out.push_str(&md_table(&h, &r, 3));
        out.push_str(&format!(
            "\n## Matched records ({} shapes)\n\n",
            c.rows.len()
        ));
        let (h, r) = row_cells(c);
        out.push_str(&md_table(&h, &r, 3));
        out.push_str("\n## Summary\n\n");
        for v in &c.verdicts {
            out.push_str(&format!("- **{}**, over {}.\n", v.sentence, v.basis));
        }
        let unmatched = unmatched_lines(c);
        if !unmatched.is_empty() {
            out.push_str("\n## Unmatched records\n\n");
            for l in unmatched {
                out.push_str(&format!("- {l}\n"));
            }
        }
        out.push_str("\n## Notes\n\n");
        for n in &c.notes {
            out.push_str(&format!("- {n}\n"));
        }
        Ok(out)
    }
}
