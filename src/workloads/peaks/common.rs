//! What the peak measurements share: the time one run should take, the sampling
//! settings, the arithmetic peaks' uniform block and pipeline, the grid that spreads
//! invocations over workgroups, and timed runs through the meter.

use std::time::Duration;

use anyhow::{Result, bail};

use crate::gpu::Gpu;
use crate::measure::gpu::Meter;
use crate::measure::{Outcome, Plan, Timeout};

/// How long one timed FMA dispatch should take.
pub const TARGET_RUN: Duration = Duration::from_millis(40);

/// How far a peak may exceed its datasheet figure, or a record its measured peak,
/// before it is called implausible: the spread of repeated peak runs on a quiet device.
pub const PLAUSIBLE_SLACK: f64 = 0.05;

/// The uniform block and output binding of the arithmetic peak shaders, appended to each
/// (`shaders/peak_params.wgsl`); [`ArithParams`] is its host side.
pub const PARAMS_WGSL: &str = include_str!("../../../shaders/peak_params.wgsl");

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
pub fn grid(gpu: &Gpu, invocations: u64, wg: u32) -> (u32, u32, u32) {
    let groups = invocations.div_ceil(u64::from(wg));
    let max = u64::from(gpu.limits().max_compute_workgroups_per_dimension);
    let x = groups.min(max);
    let y = groups.div_ceil(x);
    (x as u32, y as u32, x as u32 * wg)
}

pub fn pipeline(
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
pub fn best_median(mut v: Vec<f64>) -> Result<(f64, f64)> {
    v.sort_by(f64::total_cmp);
    match (v.first(), v.get(v.len() / 2)) {
        (Some(&b), Some(&m)) if b > 0.0 => Ok((b, m)),
        _ => bail!("no valid peak samples"),
    }
}

/// `runs` timed runs after one untimed one, each wait bounded by the settings' timeout.
pub fn timed_runs(
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
pub struct Arith {
    pipeline: wgpu::ComputePipeline,
    bind: wgpu::BindGroup,
    params: wgpu::Buffer,
    dispatch: (u32, u32, u32),
    row: u32,
}

impl Arith {
    pub fn new(
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
    pub fn invocations(&self, wg: u32) -> u64 {
        u64::from(self.dispatch.0) * u64::from(self.dispatch.1) * u64::from(wg)
    }

    pub fn set_iters(&self, gpu: &Gpu, iters: u32) {
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

    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind, &[]);
        let (x, y, z) = self.dispatch;
        pass.dispatch_workgroups(x, y, z);
    }

    /// Grows the iteration count until one run takes about [`TARGET_RUN`]; the count.
    pub fn calibrate(&self, meter: &mut Meter, settings: &PeakSettings) -> Result<u32> {
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
    pub fn time(
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
