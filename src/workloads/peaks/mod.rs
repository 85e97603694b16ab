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

mod copy;
pub mod fma;
pub mod matrix;

use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::cost::catalog::Entry;
use crate::gpu::Gpu;
use crate::measure::gpu::Meter;
use crate::measure::{Outcome, Plan, Timeout};
use crate::result::Peaks;
use crate::types::Precision;

/// How long one timed FMA dispatch should take.
pub const TARGET_RUN: Duration = Duration::from_millis(40);

/// How far a peak may exceed its datasheet figure, or a record its measured peak,
/// before it is called implausible: the spread of repeated peak runs on a quiet device.
pub const PLAUSIBLE_SLACK: f64 = 0.05;

/// The uniform block and output binding of the arithmetic peak shaders, appended to each
/// (`shaders/peak_params.wgsl`); [`ArithParams`] is its host side.
const PARAMS_WGSL: &str = include_str!("../../../shaders/peak_params.wgsl");

/// The uniform block of the arithmetic peaks (FMA and matrix).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ArithParams {
    iters: u32,
    row: u32,
    mul: f32,
    add: f32,
    sentinel: f32,
    _pad: [u32; 3],
}

/// How hard to measure.
#[derive(Clone, Debug)]
pub struct PeakSettings {
    /// Timed runs of each kernel after calibration (the peak is the fastest).
    pub runs: usize,
    /// Timed runs of each FMA variant while screening.
    pub screen_runs: usize,
    /// Timeout of any one wait.
    pub timeout: Duration,
}

impl Default for PeakSettings {
    fn default() -> PeakSettings {
        PeakSettings {
            runs: 7,
            screen_runs: 3,
            timeout: Duration::from_secs(120),
        }
    }
}

/// A 2-D dispatch of `invocations` in workgroups of `wg`: (x, y, invocations per row).
fn grid(gpu: &Gpu, invocations: u64, wg: u32) -> (u32, u32, u32) {
    let groups = invocations.div_ceil(u64::from(wg));
    let max = u64::from(gpu.limits().max_compute_workgroups_per_dimension);
    let x = groups.min(max);
    let y = groups.div_ceil(x);
    (x as u32, y as u32, x as u32 * wg)
}

fn pipeline(
    gpu: &Gpu,
    label: &str,
    source: &str,
    constants: &[(&str, f64)],
) -> Result<(wgpu::ComputePipeline, wgpu::BindGroupLayout)> {
    // SAFETY: the FMA kernels index their chain arrays below the constant CHAINS ≤ 16
    // and their output modulo its length; the matrix kernel loads its fragments from
    // workgroup arrays at offsets below their size; the copy reads and writes below
    // `len`, the length of both buffers; every loop is bounded by a uniform count.
    let pipeline = unsafe { gpu.compile_unchecked(label, source, constants, None) }?;
    let layout = pipeline.get_bind_group_layout(0);
    Ok((pipeline, layout))
}

/// Sorted samples → (best, median).
fn best_median(mut v: Vec<f64>) -> Result<(f64, f64)> {
    v.sort_by(f64::total_cmp);
    match (v.first(), v.get(v.len() / 2)) {
        (Some(&b), Some(&m)) if b > 0.0 => Ok((b, m)),
        _ => bail!("no valid peak samples"),
    }
}

/// `runs` timed runs after one untimed one, each wait bounded by the settings' timeout.
fn timed_runs(
    meter: &mut Meter,
    encode: &dyn Fn(&mut wgpu::ComputePass<'_>),
    runs: usize,
    settings: &PeakSettings,
) -> Result<Vec<f64>> {
    let plan = Plan::fixed(runs.max(1) as u64).with_timeout(Timeout::Fixed(settings.timeout));
    match meter.sample(encode, &plan)? {
        Outcome::Sampled(s) => Ok(s.samples_ns),
        Outcome::GaveUp { .. } => bail!("a peak measurement gave up"),
    }
}

/// An arithmetic kernel ready to time: its dispatch and the uniform block that sets its
/// iteration count.
struct Arith {
    pipeline: wgpu::ComputePipeline,
    bind: wgpu::BindGroup,
    params: wgpu::Buffer,
    dispatch: (u32, u32, u32),
    row: u32,
}

impl Arith {
    fn new(
        gpu: &Gpu,
        label: &str,
        source: &str,
        constants: &[(&str, f64)],
        invocations: u64,
        wg: u32,
    ) -> Result<Arith> {
        let (pipeline, layout) = pipeline(gpu, label, source, constants)?;
        let (x, y, row) = grid(gpu, invocations, wg);
        let out = gpu.buffer("peak out", 1024, wgpu::BufferUsages::STORAGE)?;
        let params = gpu.buffer(
            "peak params",
            std::mem::size_of::<ArithParams>() as u64,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        )?;
        let bind = gpu.bind_buffers("peak", &layout, &[&out, &params]);
        Ok(Arith {
            pipeline,
            bind,
            params,
            dispatch: (x, y, 1),
            row,
        })
    }

    /// Invocations of one dispatch.
    fn invocations(&self, wg: u32) -> u64 {
        u64::from(self.dispatch.0) * u64::from(self.dispatch.1) * u64::from(wg)
    }

    fn set_iters(&self, gpu: &Gpu, iters: u32) {
        let p = ArithParams {
            iters,
            row: self.row,
            mul: 0.999,
            add: 0.001,
            sentinel: -1.0e30,
            _pad: [0; 3],
        };
        gpu.queue
            .write_buffer(&self.params, 0, bytemuck::bytes_of(&p));
    }

    fn encode(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind, &[]);
        let (x, y, z) = self.dispatch;
        pass.dispatch_workgroups(x, y, z);
    }

    /// Grows the iteration count until one run takes about [`TARGET_RUN`]; the count.
    fn calibrate(&self, meter: &mut Meter, settings: &PeakSettings) -> Result<u32> {
        let gpu = meter.gpu();
        let encode = |pass: &mut wgpu::ComputePass<'_>| self.encode(pass);
        let target = TARGET_RUN.as_nanos() as f64;
        let mut iters: u32 = 4;
        self.set_iters(gpu, iters);
        meter.run_once(&encode, settings.timeout)?; // compilation
        loop {
            let t = best_median(meter.batch(&encode, 1, settings.timeout)?.samples_ns)?.0;
            if t >= 0.5 * target || iters >= 1 << 24 {
                return Ok(iters);
            }
            let scale = (target / t.max(1.0)).clamp(1.5, 64.0);
            iters = ((f64::from(iters) * scale) as u32).min(1 << 24);
            self.set_iters(gpu, iters);
        }
    }

    /// `runs` timed runs at `iters`: their times, ns.
    fn time(
        &self,
        meter: &mut Meter,
        iters: u32,
        runs: usize,
        settings: &PeakSettings,
    ) -> Result<Vec<f64>> {
        self.set_iters(meter.gpu(), iters);
        let encode = |pass: &mut wgpu::ComputePass<'_>| self.encode(pass);
        timed_runs(meter, &encode, runs, settings)
    }
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
