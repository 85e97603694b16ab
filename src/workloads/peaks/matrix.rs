//! The cooperative-matrix peak (`shaders/peak_coopmat.wgsl`): f16 fragments multiplied
//! back to back, for each fragment size the adapter offers with f32 accumulators, and
//! with f16 accumulators where it offers those too. Operands change every iteration
//! (they are loaded from workgroup memory at offsets that depend on it), so no product
//! is hoisted; four independent products per iteration keep the units busy.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use super::common::{Arith, PARAMS_WGSL, PeakSettings, best_median};
use crate::kernels::coop::Support;
use crate::kernels::{Caps, ShaderSource};
use crate::measure::gpu::Meter;
use crate::result::{MatrixPeak, PeakMethod};
use crate::types::Precision;

const MATRIX_WGSL: &str = include_str!("../../../shaders/peak_coopmat.wgsl");

/// Subgroups per workgroup.
const SUBGROUPS: u32 = 4;
/// Fragment products per subgroup per loop iteration.
const PRODUCTS: u32 = 4;

/// The shader for fragments of `frag` and accumulators of `acc`.
pub fn source(frag: u32, acc: Precision) -> String {
    let mut s = MATRIX_WGSL.to_string();
    if frag == 8 {
        s = s.replace("coop_mat16x16", "coop_mat8x8");
    }
    if acc == Precision::F16 {
        s = s.replace("alias ACC = f32;", "alias ACC = f16;");
    }
    s.push_str(PARAMS_WGSL);
    s
}

/// Workgroup memory of the kernel: four f16 tiles of A and of B, and four accumulator
/// tiles per subgroup.
fn workgroup_bytes(frag: u32, acc: Precision) -> u64 {
    let tile = u64::from(frag * frag);
    let acc_bytes = if acc == Precision::F32 { 4 } else { 2 };
    2 * 4 * tile * 2 + u64::from(SUBGROUPS) * 4 * tile * acc_bytes
}

/// Whether `properties` (an adapter's) offer `frag`³ f16 × f16 → `acc`.
fn offers(properties: &[wgpu::CooperativeMatrixProperties], frag: u32, acc: Precision) -> bool {
    let want = match acc {
        Precision::F32 => wgpu::CooperativeScalarType::F32,
        Precision::F16 => wgpu::CooperativeScalarType::F16,
    };
    properties.iter().any(|p| {
        p.m_size == frag
            && p.n_size == frag
            && p.k_size == frag
            && p.ab_type == wgpu::CooperativeScalarType::F16
            && p.cr_type == want
    })
}

/// The matrix peak's shaders on an adapter of `caps` with cooperative-matrix `support`:
/// one per fragment size it offers and accumulator type, within its workgroup limits,
/// as [`measure`] compiles them.
pub fn shaders(caps: &Caps, support: &Support) -> Vec<ShaderSource> {
    kernels(caps, support)
        .into_iter()
        .map(|(_, _, s)| s)
        .collect()
}

/// [`shaders`] with the fragment size and accumulator type of each.
fn kernels(caps: &Caps, support: &Support) -> Vec<(u32, Precision, ShaderSource)> {
    let mut out = Vec::new();
    for &frag in &support.frags {
        for acc in [Precision::F32, Precision::F16] {
            let wg = SUBGROUPS * support.lanes;
            if !offers(&caps.coopmat, frag, acc)
                || wg > caps.limits.max_compute_invocations_per_workgroup
                || workgroup_bytes(frag, acc)
                    > u64::from(caps.limits.max_compute_workgroup_storage_size)
            {
                continue;
            }
            out.push((
                frag,
                acc,
                ShaderSource::main(
                    format!("peak coopmat {frag}x{frag} {acc}"),
                    source(frag, acc),
                    vec![
                        ("FRAG", f64::from(frag)),
                        ("SUBGROUPS", f64::from(SUBGROUPS)),
                        ("LANES", f64::from(support.lanes)),
                    ],
                ),
            ));
        }
    }
    out
}

pub fn measure(
    meter: &mut Meter,
    settings: &PeakSettings,
    support: &Support,
) -> Result<Vec<MatrixPeak>> {
    let gpu = meter.gpu();
    let mut out = Vec::new();
    for (frag, acc, s) in kernels(&Caps::of(gpu), support) {
        let power_begin = meter.power_begin();
        let wg = SUBGROUPS * support.lanes;
        let label = &s.label;
        let subgroups: u64 = if gpu.is_software() { 1 << 9 } else { 1 << 16 };
        let invocations = subgroups * u64::from(support.lanes);
        let arith = Arith::new(gpu, label, &s.source, &s.constants, invocations, wg)
            .with_context(|| format!("{frag}x{frag}x{frag} with {acc} accumulators"))?;
        let iters = arith.calibrate(meter, settings)?;
        let samples = arith.time(meter, iters, settings.runs, settings)?;
        let runs = samples.len() as u64;
        let (best_ns, median_ns) = best_median(samples)?;
        let invocations = arith.invocations(wg);
        let subgroups = invocations / u64::from(support.lanes);
        let f = f64::from(frag);
        let flops = subgroups as f64 * f64::from(iters) * f64::from(PRODUCTS) * 2.0 * f * f * f;
        let mut p = BTreeMap::new();
        p.insert("fragment".into(), format!("{frag}x{frag}x{frag}").into());
        p.insert("accumulator".into(), acc.as_str().into());
        p.insert("subgroups_per_workgroup".into(), SUBGROUPS.into());
        p.insert("lanes".into(), support.lanes.into());
        p.insert("products_per_iteration".into(), PRODUCTS.into());
        p.insert("iterations".into(), iters.into());
        let method = PeakMethod {
            kernel: format!(
                "{frag}x{frag}x{frag} f16 cooperative-matrix products into {acc} \
                     accumulators, {PRODUCTS} independent products per subgroup per loop \
                     iteration, operands loaded from workgroup memory at offsets that change \
                     every iteration, no global memory traffic; result written only if equal \
                     to a runtime sentinel"
            ),
            timing_method: meter.method(),
            invocations,
            work_per_run: flops,
            runs,
            best_ns,
            median_ns,
            params: p,
            bytes: None,
            power: meter
                .power_end(power_begin)
                .map(|pw| pw.at_tflops(flops / best_ns / 1e3)),
        };
        out.push(MatrixPeak {
            fragment: format!("{frag}x{frag}x{frag}"),
            accumulator: acc,
            tflops: flops / best_ns / 1e3,
            method,
        });
    }
    Ok(out)
}
