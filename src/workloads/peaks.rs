//! Micro peaks: the adapter's arithmetic ceiling per precision (FMA chains with no
//! memory traffic) and its memory bandwidth (a vec4 copy), the roofline every GEMM record
//! is judged against (`efficiency`).
//!
//! Method (as vkpeak): many independent chains per invocation, unrolled, millions of
//! invocations, and a dispatch long enough (about [`TARGET_RUN`]) that launch cost
//! vanishes; the number of loop iterations is calibrated until a run takes that long.
//! The peak is the fastest of several timed runs.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::gpu::Gpu;
use crate::kernels::precision::shader_source;
use crate::measure::gpu::Meter;
use crate::measure::{Outcome, Plan, Timeout};
use crate::result::{PeakMethod, Peaks};
use crate::types::Precision;

const FMA_WGSL: &str = include_str!("../../shaders/peak_fma.wgsl");
const COPY_WGSL: &str = include_str!("../../shaders/peak_copy.wgsl");

const WG: u32 = 256;
/// Independent vec4 chains per invocation (the shader's maximum).
const CHAINS: u32 = 16;
/// Chain steps per loop iteration.
const UNROLL: u32 = 8;
/// How long one timed FMA dispatch should take.
pub const TARGET_RUN: Duration = Duration::from_millis(40);

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct FmaParams {
    iters: u32,
    row: u32,
    mul: f32,
    add: f32,
    sentinel: f32,
    _pad: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct CopyParams {
    len: u32,
    row: u32,
    _pad: [u32; 2],
}

/// How hard to measure.
#[derive(Clone, Debug)]
pub struct PeakSettings {
    /// Timed runs of each kernel after calibration (the peak is the fastest).
    pub runs: usize,
    /// Timeout of any one wait.
    pub timeout: Duration,
}

impl Default for PeakSettings {
    fn default() -> PeakSettings {
        PeakSettings {
            runs: 7,
            timeout: Duration::from_secs(120),
        }
    }
}

/// A 2-D dispatch of `invocations` (a multiple of [`WG`]): (x, y, invocations per row).
fn grid(gpu: &Gpu, invocations: u64) -> (u32, u32, u32) {
    let groups = invocations.div_ceil(u64::from(WG));
    let max = u64::from(gpu.limits().max_compute_workgroups_per_dimension);
    let x = groups.min(max);
    let y = groups.div_ceil(x);
    (x as u32, y as u32, x as u32 * WG)
}

fn pipeline(
    gpu: &Gpu,
    label: &str,
    source: &str,
    constants: &[(&str, f64)],
) -> Result<(wgpu::ComputePipeline, wgpu::BindGroupLayout)> {
    // SAFETY: the FMA kernels index their chain arrays below the constant CHAINS ≤ 16
    // and their output modulo its length; the copy reads and writes below `len`, the
    // length of both buffers; every loop is bounded by a uniform count.
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

/// Measures the f32 FMA peak, the f16 one where the adapter has `SHADER_F16`, and the
/// copy bandwidth, through the device's meter.
pub fn measure(meter: &mut Meter, settings: &PeakSettings) -> Result<Peaks> {
    let gpu = meter.gpu();
    let fma_f32 = fma(meter, settings, Precision::F32).context("measuring the f32 FMA peak")?;
    let fma_f16 = if gpu.features().contains(wgpu::Features::SHADER_F16) {
        Some(fma(meter, settings, Precision::F16).context("measuring the f16 FMA peak")?)
    } else {
        None
    };
    let copy = copy(meter, settings).context("measuring the copy bandwidth")?;
    Ok(Peaks {
        fma_f32_tflops: fma_f32.work_per_run / fma_f32.best_ns / 1e3,
        fma_f16_tflops: fma_f16.as_ref().map(|p| p.work_per_run / p.best_ns / 1e3),
        copy_gbps: copy.work_per_run / copy.best_ns,
        fma_f32,
        fma_f16,
        copy,
    })
}

fn fma(meter: &mut Meter, settings: &PeakSettings, precision: Precision) -> Result<PeakMethod> {
    let gpu = meter.gpu();
    let label = format!("peak fma {precision}");
    let source = shader_source(FMA_WGSL, precision)?;
    let (pipeline, layout) = pipeline(
        gpu,
        &label,
        &source,
        &[
            ("WG", f64::from(WG)),
            ("CHAINS", f64::from(CHAINS)),
            ("UNROLL", f64::from(UNROLL)),
        ],
    )?;
    // 4M invocations fill any GPU many times over; a CPU rasteriser gets fewer so that
    // calibration stays short.
    let invocations: u64 = if gpu.is_software() { 1 << 14 } else { 1 << 22 };
    let (x, y, row) = grid(gpu, invocations);
    let invocations = u64::from(x) * u64::from(y) * u64::from(WG);
    let out = gpu.buffer("peak out", 1024, wgpu::BufferUsages::STORAGE)?;
    let params = gpu.buffer(
        "peak params",
        std::mem::size_of::<FmaParams>() as u64,
        wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
    )?;
    let bind = gpu.bind_buffers("peak", &layout, &[&out, &params]);
    let encode = |pass: &mut wgpu::ComputePass<'_>| {
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(x, y, 1);
    };
    let set_iters = |iters: u32| {
        let p = FmaParams {
            iters,
            row,
            mul: 0.999,
            add: 0.001,
            sentinel: -1.0e30,
            _pad: [0; 3],
        };
        gpu.queue.write_buffer(&params, 0, bytemuck::bytes_of(&p));
    };
    // Calibrate: grow the iteration count until one run takes about TARGET_RUN.
    let target = TARGET_RUN.as_nanos() as f64;
    let mut iters: u32 = 4;
    set_iters(iters);
    meter.run_once(&encode, settings.timeout)?; // compilation
    loop {
        let t = best_median(meter.batch(&encode, 1, settings.timeout)?.samples_ns)?.0;
        if t >= 0.5 * target || iters >= 1 << 24 {
            break;
        }
        let scale = (target / t.max(1.0)).clamp(1.5, 64.0);
        iters = ((f64::from(iters) * scale) as u32).min(1 << 24);
        set_iters(iters);
    }
    let samples = timed_runs(meter, &encode, settings.runs, settings)?;
    let runs = samples.len() as u64;
    let (best_ns, median_ns) = best_median(samples)?;
    let flops =
        invocations as f64 * f64::from(iters) * f64::from(UNROLL) * f64::from(CHAINS) * 4.0 * 2.0;
    let ty = precision.as_str();
    let mut p = BTreeMap::new();
    p.insert("chains".into(), CHAINS.into());
    p.insert("vector_width".into(), 4.into());
    p.insert("unroll".into(), UNROLL.into());
    p.insert("iterations".into(), iters.into());
    p.insert("workgroup_size".into(), WG.into());
    p.insert("precision".into(), ty.into());
    Ok(PeakMethod {
        kernel: format!(
            "{CHAINS} independent vec4<{ty}> FMA chains per invocation, {UNROLL} steps per \
             loop iteration, no memory traffic; result written only if equal to a runtime \
             sentinel"
        ),
        timing_method: meter.method(),
        invocations,
        work_per_run: flops,
        runs,
        best_ns,
        median_ns,
        params: p,
    })
}

fn copy(meter: &mut Meter, settings: &PeakSettings) -> Result<PeakMethod> {
    let gpu = meter.gpu();
    let (pipeline, layout) = pipeline(gpu, "peak copy", COPY_WGSL, &[("WG", f64::from(WG))])?;
    let limits = gpu.limits();
    // 1 GiB each way on a GPU (far beyond any cache), 16 MiB on a CPU rasteriser; never
    // beyond what one binding may hold.
    let want: u64 = if gpu.is_software() { 16 << 20 } else { 1 << 30 };
    let bytes = want
        .min(limits.max_storage_buffer_binding_size)
        .min(limits.max_buffer_size)
        / 16
        * 16;
    let len = u32::try_from(bytes / 16).context("copy buffer too large")?;
    let src = gpu.buffer("peak copy src", bytes, wgpu::BufferUsages::STORAGE)?;
    let dst = gpu.buffer("peak copy dst", bytes, wgpu::BufferUsages::STORAGE)?;
    let (x, y, row) = grid(gpu, u64::from(len));
    let params = CopyParams {
        len,
        row,
        _pad: [0; 2],
    };
    let pbuf = gpu.buffer_init(
        "peak copy params",
        bytemuck::bytes_of(&params),
        wgpu::BufferUsages::UNIFORM,
    )?;
    let bind = gpu.bind_buffers("peak copy", &layout, &[&src, &dst, &pbuf]);
    let encode = |pass: &mut wgpu::ComputePass<'_>| {
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(x, y, 1);
    };
    // More runs than the FMA peak: one copy is short (0.5 ms for 2 GiB on an H200).
    let samples = timed_runs(meter, &encode, 3 * settings.runs.max(1), settings)?;
    let runs = samples.len() as u64;
    let (best_ns, median_ns) = best_median(samples)?;
    let mut p = BTreeMap::new();
    p.insert("buffer_bytes".into(), bytes.into());
    p.insert("vector_width".into(), 4.into());
    p.insert("workgroup_size".into(), WG.into());
    Ok(PeakMethod {
        kernel: "vec4 copy, one vec4 per invocation; bytes read + written".into(),
        timing_method: meter.method(),
        invocations: u64::from(x) * u64::from(y) * u64::from(WG),
        work_per_run: 2.0 * bytes as f64,
        runs,
        best_ns,
        median_ns,
        params: p,
    })
}
