//! Markdown: GitHub-flavoured tables, for READMEs, issues and pull requests.

use anyhow::Result;

use super::{Exporter, headline_lines, machine_cells, noisy_lines, row_cells, unmatched_lines};
use crate::analysis::compare::Comparison;
use crate::report::escape;

pub struct MarkdownExporter;

/// A Markdown table; every cell is text ([`escape::markdown`]); columns from
/// `first_numeric` on are right-aligned.
pub fn md_table(header: &[String], rows: &[Vec<String>], first_numeric: usize) -> String {
    let esc = escape::markdown;
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

impl Exporter<Comparison> for MarkdownExporter {
    fn render(&self, c: &Comparison) -> Result<String> {
        let mut out = String::from("## Summary\n\n");
        for l in headline_lines(c) {
            match l.strip_prefix("  ") {
                Some(detail) => out.push_str(&format!("  {}\n", escape::markdown_line(detail))),
                None => out.push_str(&format!("- **{}**\n", escape::markdown(&l))),
            }
        }
        if !c.warnings.is_empty() {
            out.push_str("\n## Warnings\n\n");
            for w in &c.warnings {
                out.push_str(&format!("- {}\n", escape::markdown_line(w)));
            }
        }
        out.push_str("\n## Machines\n\n");
        let (h, r) = machine_cells(c);
        out.push_str(&md_table(&h, &r, 4));
        out.push_str(&format!(
            "\n## Matched records ({} shapes)\n\n",
            c.rows.len()
        ));
        let (h, r) = row_cells(c);
        out.push_str(&md_table(&h, &r, 3));
        let noisy = noisy_lines(c);
        if !noisy.is_empty() {
            out.push('\n');
            for l in noisy {
                out.push_str(&format!("{}  \n", escape::markdown_line(&l)));
            }
        }
        let unmatched = unmatched_lines(c);
        if !unmatched.is_empty() {
            out.push_str("\n## Unmatched records\n\n");
            for l in unmatched {
                out.push_str(&format!("- {}\n", escape::markdown_line(&l)));
            }
        }
        out.push_str("\n## Notes\n\n");
        for n in &c.notes {
            out.push_str(&format!("- {}\n", escape::markdown_line(n)));
        }
        Ok(out)
    }
}
