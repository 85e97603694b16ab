//! The FMA peak: a family of FMA-chain kernels, each screened briefly, the fastest timed
//! in full and recorded with its variant.
//!
//! Every variant runs CHAINS independent dependency chains per invocation,
//! `x = fma(x, m, a)`, UNROLL steps per loop iteration, with no memory traffic. The
//! chains start from values derived from the invocation id and step by a multiplier and
//! addend from the uniform block, so nothing can be folded at compile time; the final
//! sum is written only when it equals a runtime sentinel (never, in practice), so the
//! compiler cannot delete the chains either. What differs is the shape the compiler
//! sees: chains as named values (`shaders/peak_fma_named.wgsl`, instantiated here with
//! the chains and steps written out) or as an array updated in loops
//! (`shaders/peak_fma.wgsl`); 4 to 32 chains; vec4 or scalar; 64 or 256 invocations per
//! workgroup. Compilers differ in which they keep in registers and fully unroll (Mesa
//! 22.3's lavapipe emulates f16 and is fastest with arrays there; Mesa 26.1's with named
//! values), so no single shape reaches the ceiling everywhere.
//!
//! FLOP per dispatch = invocations · iters · UNROLL · CHAINS · width · 2.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use super::common::{Arith, PARAMS_WGSL, PeakSettings, best_median};
use crate::kernels::ShaderSource;
use crate::kernels::precision::f16_variant;
use crate::measure::gpu::Meter;
use crate::result::PeakMethod;
use crate::types::Precision;

const ARRAY_WGSL: &str = include_str!("../../../shaders/peak_fma.wgsl");
const NAMED_WGSL: &str = include_str!("../../../shaders/peak_fma_named.wgsl");

/// Chain steps per loop iteration.
pub const UNROLL: u32 = 8;

/// How the chains are held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// One named value per chain, every step written out.
    Named,
    /// An array of chains updated in constant-bound loops.
    Array,
}

/// One kernel of the family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variant {
    pub form: Form,
    pub chains: u32,
    /// 4 (vec4) or 1 (scalar).
    pub width: u32,
    pub workgroup: u32,
}

impl Variant {
    /// `named-16x-vec4-wg256`.
    pub fn name(self) -> String {
        format!(
            "{}-{}x-{}-wg{}",
            match self.form {
                Form::Named => "named",
                Form::Array => "array",
            },
            self.chains,
            if self.width == 4 { "vec4" } else { "scalar" },
            self.workgroup
        )
    }

    /// FLOP of one invocation's loop iteration.
    fn flops_per_iter(self) -> f64 {
        f64::from(UNROLL) * f64::from(self.chains) * f64::from(self.width) * 2.0
    }

    /// The WGSL of the variant for `precision`.
    pub fn source(self, precision: Precision) -> Result<String> {
        let f32_source = match self.form {
            Form::Array => ARRAY_WGSL.to_string(),
            Form::Named => named_source(self.chains, self.width),
        };
        let mut source = match precision {
            Precision::F32 => f32_source,
            Precision::F16 => f16_variant(&f32_source)?,
        };
        source.push_str(PARAMS_WGSL);
        Ok(source)
    }

    /// The variant's shader in `precision`, as [`measure`] compiles it.
    pub fn shader(self, precision: Precision) -> Result<ShaderSource> {
        Ok(ShaderSource::main(
            format!("peak fma {precision} {}", self.name()),
            self.source(precision)?,
            self.constants(),
        ))
    }

    fn constants(self) -> Vec<(&'static str, f64)> {
        let mut c = vec![("WG", f64::from(self.workgroup))];
        if self.form == Form::Array {
            c.push(("CHAINS", f64::from(self.chains)));
            c.push(("UNROLL", f64::from(UNROLL)));
        }
        c
    }
}

/// The family, in the order screened.
pub fn variants() -> Vec<Variant> {
    let mut out = Vec::new();
    for workgroup in [256, 64] {
        for (form, chains, width) in [
            (Form::Named, 16, 4),
            (Form::Named, 8, 4),
            (Form::Named, 4, 4),
            (Form::Named, 32, 1),
            (Form::Named, 16, 1),
            (Form::Array, 16, 4),
            (Form::Array, 8, 4),
        ] {
            out.push(Variant {
                form,
                chains,
                width,
                workgroup,
            });
        }
    }
    out
}

/// `shaders/peak_fma_named.wgsl` with its `// CHAINS:` lines written once per chain
/// (`#` → the chain's index, `@` → index + 1), its `// STEP:` line once per chain and
/// step, and its `// VEC4:` or `// SCALAR:` lines by `width`.
pub fn named_source(chains: u32, width: u32) -> String {
    let mut out = String::new();
    for line in NAMED_WGSL.lines() {
        let t = line.trim_start();
        let indent = &line[..line.len() - t.len()];
        if let Some(body) = t.strip_prefix("// CHAINS: ") {
            for c in 0..chains {
                out.push_str(indent);
                out.push_str(
                    &body
                        .replace('#', &c.to_string())
                        .replace("@", &(c + 1).to_string()),
                );
                out.push('\n');
            }
        } else if let Some(body) = t.strip_prefix("// STEP: ") {
            for _ in 0..UNROLL {
                for c in 0..chains {
                    out.push_str(indent);
                    out.push_str(&body.replace('#', &c.to_string()));
                    out.push('\n');
                }
            }
        } else if let Some(body) = t.strip_prefix("// VEC4: ") {
            if width == 4 {
                out.push_str(indent);
                out.push_str(body);
                out.push('\n');
            }
        } else if let Some(body) = t.strip_prefix("// SCALAR: ") {
            if width == 1 {
                out.push_str(indent);
                out.push_str(body);
                out.push('\n');
            }
        } else if t.starts_with("alias V = ") {
            out.push_str(if width == 4 {
                "alias V = T4;"
            } else {
                "alias V = T;"
            });
            out.push('\n');
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Invocations per dispatch: 4M fill any GPU many times over; a CPU rasteriser gets
/// fewer so that calibration stays short.
fn invocations(software: bool) -> u64 {
    if software { 1 << 14 } else { 1 << 22 }
}

/// How many of the screened variants are timed in full.
const FINALISTS: usize = 4;

/// One screened variant: its kernel, calibrated iteration count, FLOP per run and every
/// timed run so far.
struct Candidate {
    variant: Variant,
    arith: Arith,
    iters: u32,
    flops: f64,
    samples: Vec<f64>,
}

impl Candidate {
    fn best_tflops(&self) -> f64 {
        let best = self.samples.iter().copied().fold(f64::INFINITY, f64::min);
        self.flops / best / 1e3
    }
}

/// Screens every variant (calibrated, then `screen_runs` runs), then times the
/// [`FINALISTS`] fastest with `runs` runs each, interleaved so that a noisy moment hurts
/// them alike; the peak is the fastest run of the fastest. Its method records the variant
/// and every variant's screening rate.
pub fn measure(
    meter: &mut Meter,
    settings: &PeakSettings,
    precision: Precision,
) -> Result<PeakMethod> {
    let gpu = meter.gpu();
    let power_begin = meter.power_begin();
    let mut candidates = Vec::new();
    let mut rates = serde_json::Map::new();
    for v in variants() {
        let s = v.shader(precision)?;
        let arith = Arith::new(
            gpu,
            &s.label,
            &s.source,
            &s.constants,
            invocations(gpu.is_software()),
            v.workgroup,
        )
        .with_context(|| format!("variant {}", v.name()))?;
        let iters = arith.calibrate(meter, settings)?;
        let samples = arith.time(meter, iters, settings.screen_runs, settings)?;
        let flops = arith.invocations(v.workgroup) as f64 * f64::from(iters) * v.flops_per_iter();
        let c = Candidate {
            variant: v,
            arith,
            iters,
            flops,
            samples,
        };
        rates.insert(v.name(), serde_json::json!(c.best_tflops()));
        candidates.push(c);
    }
    candidates.sort_by(|a, b| b.best_tflops().total_cmp(&a.best_tflops()));
    candidates.truncate(FINALISTS);
    for _ in 0..settings.runs.max(1) {
        for c in &mut candidates {
            let s = c.arith.time(meter, c.iters, 1, settings)?;
            c.samples.extend(s);
        }
    }
    let c = candidates
        .into_iter()
        .max_by(|a, b| a.best_tflops().total_cmp(&b.best_tflops()))
        .context("no FMA variant ran")?;
    let v = c.variant;
    let runs = c.samples.len() as u64;
    let (best_ns, median_ns) = best_median(c.samples)?;
    let invocations = c.arith.invocations(v.workgroup);
    let ty = precision.as_str();
    let mut p = BTreeMap::new();
    p.insert("variant".into(), v.name().into());
    p.insert("variants".into(), serde_json::Value::Object(rates));
    p.insert("chains".into(), v.chains.into());
    p.insert("vector_width".into(), v.width.into());
    p.insert("unroll".into(), UNROLL.into());
    p.insert("iterations".into(), c.iters.into());
    p.insert("workgroup_size".into(), v.workgroup.into());
    p.insert("precision".into(), ty.into());
    let lanes = if v.width == 4 {
        format!("vec4<{ty}>")
    } else {
        ty.to_string()
    };
    Ok(PeakMethod {
        kernel: format!(
            "the fastest of {} FMA-chain variants ({}): {} independent {lanes} FMA chains per \
             invocation held as {}, {UNROLL} steps per loop iteration, {} invocations per \
             workgroup, no memory traffic; result written only if equal to a runtime sentinel",
            variants().len(),
            v.name(),
            v.chains,
            match v.form {
                Form::Named => "named values",
                Form::Array => "an array",
            },
            v.workgroup
        ),
        timing_method: meter.method(),
        invocations,
        work_per_run: c.flops,
        runs,
        best_ns,
        median_ns,
        params: p,
        bytes: None,
        power: meter
            .power_end(power_begin)
            .map(|pw| pw.at_tflops(c.flops / best_ns / 1e3)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_is_valid_wgsl_in_both_precisions() {
        for v in variants() {
            for precision in [Precision::F32, Precision::F16] {
                let src = v.source(precision).unwrap();
                let module = naga::front::wgsl::parse_str(&src).unwrap_or_else(|e| {
                    panic!("{} {precision}: {}", v.name(), e.emit_to_string(&src))
                });
                let mut validator = naga::valid::Validator::new(
                    naga::valid::ValidationFlags::all(),
                    naga::valid::Capabilities::all(),
                );
                validator.validate(&module).unwrap_or_else(|e| {
                    panic!("{} {precision}: {}", v.name(), e.emit_to_string(&src))
                });
            }
        }
        let named = named_source(16, 4);
        assert_eq!(
            named.matches("x15 = fma(x15, m, a);").count(),
            UNROLL as usize
        );
        assert!(named.contains("alias V = T4;"));
        assert!(named_source(8, 1).contains("alias V = T;"));
        assert!(!named_source(8, 1).contains("x8 "));
    }
}
