//! The f16 plan for an adapter (which path f16 GEMMs take, [`plan_f16`]), and the f16
//! variants of the shaders.
//!
//! Every kernel reads its operands A and B in the run's precision and accumulates and
//! writes C in f32. f16 operands run either on the shader cores (`simt`: the same
//! kernels as f32, converting each operand to f32 as it is loaded) or on cooperative
//! matrices (`coopmat`: tensor cores, `shaders/gemm_coopmat.wgsl`) where the adapter
//! offers 16×16×16 or 8×8×8 f16 → f32.
//!
//! The shader-core kernels are written once: their operand type is a WGSL `alias`
//! (`alias In = f32;`, `alias In4 = vec4<f32>;`) and [`shader_source`] turns a file into its
//! f16 variant by enabling the extension and changing those two lines. WGSL `override`
//! constants cannot change a type, so this is the one specialisation done on the text.

use std::borrow::Cow;

use anyhow::{Result, bail};

use super::config::Variant;
use super::support::support_of;
use crate::error::input_error;
use crate::types::{PathChoice, Precision};

/// How a run's f16 GEMMs will run on an adapter: the variant of the tuned kernel, and
/// why cooperative matrices are not used where the automatic choice fell back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct F16Plan {
    pub variant: Variant,
    /// Why the automatic choice runs on the shader cores (absent when it did not fall
    /// back, or f16 was not asked for).
    pub fallback: Option<String>,
}

/// Decides the f16 path for an adapter before any GPU work. Asking for f16 on an adapter
/// without f16 in shaders, or for cooperative matrices on one without a 16×16×16 or 8×8×8 f16 →
/// f32 configuration, is bad input (exit 2) with the reason; the automatic choice falls
/// back to the shader cores and says why.
pub fn plan_f16(
    precisions: &[Precision],
    choice: PathChoice,
    features: wgpu::Features,
    properties: &[wgpu::CooperativeMatrixProperties],
    info: &wgpu::AdapterInfo,
) -> Result<F16Plan> {
    let simt = Variant::simt(Precision::F16);
    if !precisions.contains(&Precision::F16) {
        return Ok(F16Plan {
            variant: simt,
            fallback: None,
        });
    }
    if !features.contains(wgpu::Features::SHADER_F16) {
        return Err(input_error(format!(
            "adapter '{}' has no f16 in shaders (wgpu feature SHADER_F16), so --precision f16 \
             cannot run on it; use --precision f32, or another adapter (`flopcost devices`)",
            info.name
        )));
    }
    let coopmat = Variant {
        precision: Precision::F16,
        coopmat: true,
    };
    match (choice, support_of(features, properties, info)) {
        (PathChoice::Simt, _) => Ok(F16Plan {
            variant: simt,
            fallback: None,
        }),
        (PathChoice::Coopmat, Err(why)) => Err(input_error(format!(
            "--f16-path coopmat: {why}; use --f16-path auto (cooperative matrices where \
             available, else the shader cores) or simt"
        ))),
        (_, Ok(_)) => Ok(F16Plan {
            variant: coopmat,
            fallback: None,
        }),
        (PathChoice::Auto, Err(why)) => Ok(F16Plan {
            variant: simt,
            fallback: Some(format!(
                "f16 GEMMs run on the shader cores (kernel.path simt), not on cooperative \
                 matrices: {why}"
            )),
        }),
    }
}

/// The source of a shader-core kernel for a precision: unchanged for f32; for f16 see
/// [`f16_variant`].
pub fn shader_source(source: &'static str, precision: Precision) -> Result<Cow<'static, str>> {
    match precision {
        Precision::F32 => Ok(Cow::Borrowed(source)),
        Precision::F16 => Ok(Cow::Owned(f16_variant(source)?)),
    }
}

/// The f16 variant of a shader whose precision-dependent types are declared as f32
/// aliases (`alias In = f32;`, `alias In4 = vec4<f32>;`, one per line): the `f16`
/// extension enabled and each such alias set to `f16` / `vec4<f16>`.
pub fn f16_variant(source: &str) -> Result<String> {
    let mut aliases = 0;
    let mut out = String::from("enable f16;\n");
    for line in source.lines() {
        let t = line.trim();
        if t.starts_with("alias ") && t.ends_with("= f32;") {
            out.push_str(&line.replace("= f32;", "= f16;"));
            aliases += 1;
        } else if t.starts_with("alias ") && t.ends_with("= vec4<f32>;") {
            out.push_str(&line.replace("= vec4<f32>;", "= vec4<f16>;"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    if aliases == 0 {
        bail!(
            "internal error: this shader declares no `alias ... = f32;` for its f16 types, so \
             it has no f16 variant"
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_sources_swap_the_aliases_only() {
        let src = "alias In = f32;\nalias In4 = vec4<f32>;\nvar<private> x: f32;";
        assert_eq!(shader_source(src, Precision::F32).unwrap(), src);
        let f16 = shader_source(src, Precision::F16).unwrap();
        assert_eq!(f16.lines().count(), 4);
        assert!(f16.starts_with("enable f16;\n"));
        assert!(f16.contains("alias In = f16;") && f16.contains("alias In4 = vec4<f16>;"));
        assert!(f16.contains("var<private> x: f32;"));
        assert!(shader_source("var<private> x: f32;", Precision::F16).is_err());
    }
}
