//! `flopcost catalog`: the accelerator catalog the cost model uses, with every figure's
//! source, so a reader can check where a peak or a price came from.

use std::process::ExitCode;

use anyhow::{Context, Result};
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};

use crate::cost::catalog::{self, Figure};
use crate::report::write_stdout;
use crate::util::fmt::NONE;
use crate::util::fmt_sig;

pub fn catalog(json: bool) -> Result<ExitCode> {
    let c = catalog::builtin();
    if json {
        let mut text = serde_json::to_string_pretty(c).context("serializing the catalog")?;
        text.push('\n');
        write_stdout(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header([
            "id",
            "name",
            "kind",
            "fp32 TFLOP/s",
            "fp16/bf16 tensor TFLOP/s",
            "memory GB",
            "bandwidth GB/s",
            "power W",
            "launch USD",
            "rental USD/h",
        ]);
    let v = |f: &Option<Figure>| {
        f.as_ref()
            .map_or_else(|| NONE.to_string(), |f| fmt_sig(f.value, 4))
    };
    for e in &c.accelerators {
        let mut row = vec![Cell::new(&e.id), Cell::new(&e.name), Cell::new(&e.kind)];
        for f in [
            &e.fp32_tflops,
            &e.fp16_tensor_tflops,
            &e.memory_gb,
            &e.memory_bandwidth_gbps,
            &e.board_power_w,
            &e.launch_usd,
            &e.rental_usd_per_hour,
        ] {
            row.push(Cell::new(v(f)).set_alignment(CellAlignment::Right));
        }
        t.add_row(row);
    }
    let mut text = format!(
        "{t}\n{}\n\nSources (`flopcost catalog --json` has them per figure):\n",
        c.about
    );
    for e in &c.accelerators {
        let mut sources: Vec<String> = Vec::new();
        for (_, f) in e.figures() {
            if let Some(f) = f {
                let s = f.cite();
                if !sources.contains(&s) {
                    sources.push(s);
                }
            }
        }
        let mut line = if sources.is_empty() {
            "no published figures".to_string()
        } else {
            sources.join("; ")
        };
        if let Some(n) = &e.notes {
            line.push_str(&format!(". {n}"));
        }
        text.push_str(&format!("  {}: {line}\n", e.id));
    }
    write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}
