//! `flopcost workloads`: the named, fixed workloads a comparison's headline can be about,
//! with their definitions and digests.

use std::process::ExitCode;

use anyhow::{Context, Result};
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};

use crate::report::write_stdout;
use crate::util::fmt_sig;
use crate::workloads::named::{self, DEFAULT_REPETITIONS};

pub fn workloads(json: bool) -> Result<ExitCode> {
    let all = named::all();
    if json {
        let list: Vec<serde_json::Value> = all
            .iter()
            .map(|w| {
                serde_json::json!({
                    "name": w.name,
                    "version": w.version,
                    "digest": w.digest(),
                    "description": w.description,
                    "meant_for": w.meant_for,
                    "repetitions": DEFAULT_REPETITIONS,
                    "precision": w.precision,
                    "arithmetic": crate::result::workload::precision_text(w.precision),
                    "step_flops": w.definition().step_flops(),
                    "model_step_flops": w.definition().model_step_flops(),
                    "definition": w.definition(),
                })
            })
            .collect();
        let mut text = serde_json::to_string_pretty(&list).context("serializing the list")?;
        text.push('\n');
        write_stdout(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header([
            "name",
            "version",
            "digest",
            "precision",
            "step: block (layers at B tokens), attention, LM head",
            "step GFLOP",
            "model (per token)",
            "MLP trained",
            "for",
        ]);
    for w in &all {
        let d = w.definition();
        let layers: Vec<String> = d
            .layers
            .iter()
            .map(|l| format!("{} {}→{}", l.name, l.d_in, l.d_out))
            .collect();
        let m = &d.mlp;
        t.add_row(vec![
            Cell::new(w.name),
            Cell::new(w.version),
            Cell::new(w.digest()),
            Cell::new(w.precision),
            Cell::new(format!(
                "{} at B={}: {}{}{}",
                d.block,
                d.tokens,
                layers.join(", "),
                d.attention.as_ref().map_or(String::new(), |a| format!(
                    "; attention {}×{} ({} kv heads) at L={}, 6 batched products",
                    a.heads, a.head_dim, a.kv_heads, a.seq_len
                )),
                d.lm_head.as_ref().map_or(String::new(), |h| format!(
                    "; LM head {}→{}",
                    h.d_in, h.d_out
                ))
            )),
            Cell::new(
                d.step_flops()
                    .map_or("-".into(), |f| fmt_sig(f as f64 / 1e9, 3)),
            )
            .set_alignment(CellAlignment::Right),
            Cell::new(d.model.as_ref().map_or("-".into(), |m| {
                format!("{}: {} layers + LM head", m.name, m.layers)
            })),
            Cell::new(format!(
                "{}×{}, batch {}, {} steps, {} lr {}, to {} of the start loss",
                m.depth, m.width, m.batch, m.steps, m.optimizer, m.learning_rate, m.target_fraction
            )),
            Cell::new(w.meant_for),
        ]);
    }
    write_stdout(&format!(
        "{t}\nEach runs {DEFAULT_REPETITIONS} repetitions by default (--repeat N) with the tuned \
         kernel. f16: f16 operands with f32 accumulation (WGSL has no bf16; the same \
         tensor-core rate on current NVIDIA and AMD parts), on cooperative matrices (tensor \
         cores) where the adapter offers them, else on the shader cores; the MLP trains with \
         f32 master weights and loss scaling. Attention's products are full and non-causal, as \
         a non-fused implementation computes them. `flopcost run` picks decoder-8b on a GPU \
         and small on a software adapter, or their f32 counterparts where the adapter has no \
         f16 in shaders; `flopcost run --workload NAME` chooses.\n"
    ))?;
    Ok(ExitCode::SUCCESS)
}
