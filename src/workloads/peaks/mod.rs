//! Micro peaks: the adapter's arithmetic ceilings (FMA chains with no memory traffic, per
//! precision; cooperative-matrix fragments multiplied back to back, where the adapter
//! has them) and its bandwidths (a shader copy, a transfer copy, uploads and readbacks),
//! the roofline every GEMM record is judged against (`efficiency`).
//!
//! Method (as vkpeak): many independent chains per invocation, unrolled, many
//! invocations, and a dispatch long enough (about [`TARGET_RUN`]) that launch cost
//! vanishes; the number of loop iterations is calibrated until a run takes that long.
//! No one kernel shape reaches the ceiling on every compiler (chains held as named
//! values are fastest on some, arrays on others), so the FMA peak screens a small family
//! of variants briefly and times the fastest in full ([`fma`]). The peak is the fastest
//! of several timed runs. A peak above the catalog's datasheet figure, or a record
//! faster than its peak by more than noise, is a warning ([`plausibility`]).

mod common;
mod copy;
pub mod fma;
pub mod matrix;

use anyhow::{Context, Result};

use crate::cost::catalog::Entry;
use crate::kernels::{Caps, ShaderSource};
use crate::measure::gpu::Meter;
use crate::result::Peaks;
use crate::types::Precision;

pub use common::{PLAUSIBLE_SLACK, PeakSettings, TARGET_RUN};

/// Every shader the peaks may compile on an adapter of `caps`: each FMA variant in f32
/// (and f16 with `SHADER_F16`), the matrix peak's where cooperative matrices are supported,
/// and the copy.
pub fn shaders(caps: &Caps) -> Result<Vec<ShaderSource>> {
    let mut out = Vec::new();
    let mut precisions = vec![Precision::F32];
    if caps.features.contains(wgpu::Features::SHADER_F16) {
        precisions.push(Precision::F16);
    }
    for p in precisions {
        for v in fma::variants() {
            out.push(v.shader(p)?);
        }
    }
    if let Ok(support) = crate::kernels::support::support_in(caps) {
        out.extend(matrix::shaders(caps, &support));
    }
    out.push(copy::shader());
    Ok(out)
}

/// Measures the FMA peaks (f32, and f16 where the adapter has `SHADER_F16`), the
/// cooperative-matrix peaks where it has cooperative matrices, and the bandwidths,
/// through the device's meter.
pub fn measure(meter: &mut Meter, settings: &PeakSettings) -> Result<Peaks> {
    let gpu = meter.gpu();
    let fma_f32 =
        fma::measure(meter, settings, Precision::F32).context("measuring the f32 FMA peak")?;
    let fma_f16 = if gpu.features().contains(wgpu::Features::SHADER_F16) {
        Some(fma::measure(meter, settings, Precision::F16).context("measuring the f16 FMA peak")?)
    } else {
        None
    };
    let matrix = match crate::kernels::coop::support(gpu) {
        Ok(support) => matrix::measure(meter, settings, &support)
            .context("measuring the cooperative-matrix peak")?,
        Err(_) => Vec::new(),
    };
    let bw = copy::measure(meter, settings).context("measuring the copy bandwidth")?;
    let rate = |m: &crate::result::PeakMethod| m.work_per_run / m.best_ns;
    Ok(Peaks {
        fma_f32_tflops: rate(&fma_f32) / 1e3,
        fma_f16_tflops: fma_f16.as_ref().map(|p| rate(p) / 1e3),
        copy_gbps: rate(&bw.shader),
        fma_f32,
        fma_f16,
        copy: bw.shader,
        matrix,
        transfer_gbps: Some(rate(&bw.transfer)),
        transfer: Some(bw.transfer),
        upload_gbps: Some(rate(&bw.upload)),
        upload: Some(bw.upload),
        readback_gbps: Some(rate(&bw.readback)),
        readback: Some(bw.readback),
    })
}

/// Peaks above the datasheet figures of the adapter's catalog entry (by more than
/// [`PLAUSIBLE_SLACK`]), each as a warning that says what to suspect: a peak above the
/// chip's ceiling is a measurement bug (a kernel the compiler shortened, a clock that
/// runs slow), not a fast chip.
pub fn plausibility(p: &Peaks, entry: Option<&Entry>) -> Vec<String> {
    let Some(e) = entry else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut check = |what: &str, measured: f64, sheet: Option<f64>, unit: &str| {
        if let Some(s) = sheet.filter(|s| *s > 0.0)
            && measured > s * (1.0 + PLAUSIBLE_SLACK)
        {
            out.push(format!(
                "the measured {what} peak, {} {unit}, is above the datasheet's {} {unit} for \
                 {} ({:.0}% over): a figure above the chip's ceiling means the measurement \
                 is wrong (a kernel the compiler shortened, a timer running slow), so treat \
                 this file's efficiencies with suspicion and please report it",
                crate::util::fmt_sig(measured, 3),
                crate::util::fmt_sig(s, 3),
                e.name,
                100.0 * (measured / s - 1.0)
            ));
        }
    };
    let sheet = |f: Option<&crate::cost::catalog::Figure>| f.map(|f| f.value);
    check(
        "f32 FMA",
        p.fma_f32_tflops,
        sheet(e.fp32_tflops.as_ref()),
        "TFLOP/s",
    );
    if let Some(m) = p.tflops_for(Precision::F16, Some(crate::types::KernelPath::Coopmat)) {
        check(
            "cooperative-matrix f16",
            m,
            sheet(e.fp16_tensor_tflops.as_ref()),
            "TFLOP/s",
        );
    }
    let bw = sheet(e.memory_bandwidth_gbps.as_ref());
    // The shader copy counts bytes read and written, as a datasheet's bandwidth does;
    // the transfer copy counts each byte once, so it moves twice its figure.
    check("shader-copy", p.copy_gbps, bw, "GB/s");
    if let Some(t) = p.transfer_gbps {
        check("transfer-copy (read + write)", 2.0 * t, bw, "GB/s");
    }
    out
}

/// A warning when a record's throughput is above its measured peak by more than noise
/// (the record's own spread, and at least [`PLAUSIBLE_SLACK`]).
pub fn above_peak(id: &str, tflops: f64, peak: f64, cv: f64) -> Option<String> {
    let slack = PLAUSIBLE_SLACK.max(2.0 * cv);
    (peak > 0.0 && tflops > peak * (1.0 + slack)).then(|| {
        format!(
            "record {id}: {} TFLOP/s is {:.0}% above the measured peak of {} TFLOP/s, more \
             than its noise: the peak is not the ceiling here (or the timing is wrong); its \
             efficiency above 1 says so",
            crate::util::fmt_sig(tflops, 3),
            100.0 * (tflops / peak - 1.0),
            crate::util::fmt_sig(peak, 3)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{MatrixPeak, PeakMethod};
    use crate::types::TimingMethod;

    fn method(work: f64, ns: f64) -> PeakMethod {
        PeakMethod {
            kernel: "test".into(),
            timing_method: TimingMethod::GpuTimestamp,
            invocations: 1,
            work_per_run: work,
            runs: 1,
            best_ns: ns,
            median_ns: ns,
            params: Default::default(),
            bytes: None,
            power: None,
        }
    }

    fn peaks(f32_tflops: f64, matrix: f64, copy: f64) -> Peaks {
        Peaks {
            fma_f32_tflops: f32_tflops,
            fma_f16_tflops: None,
            copy_gbps: copy,
            fma_f32: method(f32_tflops * 1e3, 1.0),
            fma_f16: None,
            copy: method(copy, 1.0),
            matrix: vec![MatrixPeak {
                fragment: "16x16x16".into(),
                accumulator: Precision::F32,
                tflops: matrix,
                method: method(matrix * 1e3, 1.0),
            }],
            transfer_gbps: None,
            transfer: None,
            upload_gbps: None,
            upload: None,
            readback_gbps: None,
            readback: None,
        }
    }

    #[test]
    fn peaks_above_the_datasheet_are_warned_about() {
        let catalog = crate::cost::catalog::builtin();
        let h200 = catalog
            .accelerators
            .iter()
            .find(|e| e.id.contains("h200"))
            .expect("the catalog has the H200");
        let sheet = h200.fp32_tflops.as_ref().unwrap().value;
        let bw = h200.memory_bandwidth_gbps.as_ref().unwrap().value;
        let tensor = h200.fp16_tensor_tflops.as_ref().unwrap().value;
        assert!(plausibility(&peaks(0.95 * sheet, 0.6 * tensor, 0.9 * bw), Some(h200)).is_empty());
        let w = plausibility(&peaks(1.3 * sheet, 2.0 * tensor, 1.2 * bw), Some(h200));
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("above the datasheet"), "{}", w[0]);
        assert!(plausibility(&peaks(1e9, 1e9, 1e9), None).is_empty());
        // A record above its peak by more than its noise.
        assert!(above_peak("r", 10.6, 10.0, 0.01).is_some());
        assert!(above_peak("r", 10.4, 10.0, 0.01).is_none());
        assert!(above_peak("r", 10.6, 10.0, 0.05).is_none(), "within 2·CV");
    }

    /// The matrix peak's shader, in each fragment size and accumulator type, is valid
    /// WGSL for a device with cooperative matrices (it runs in CI on lavapipe 26.1).
    #[test]
    fn the_matrix_peak_shader_validates() {
        let features = crate::gpu::wanted_features() | wgpu::Features::SHADER_F64;
        for frag in [8, 16] {
            for acc in [Precision::F32, Precision::F16] {
                let src = matrix::source(frag, acc);
                let module = naga::front::wgsl::parse_str(&src)
                    .unwrap_or_else(|e| panic!("{frag} {acc}: {}", e.emit_to_string(&src)));
                wgpu_naga_bridge::create_validator(
                    features,
                    wgpu::DownlevelFlags::all(),
                    naga::valid::ValidationFlags::all(),
                )
                .validate(&module)
                .unwrap_or_else(|e| panic!("{frag} {acc}: {}", e.emit_to_string(&src)));
            }
        }
    }
}
