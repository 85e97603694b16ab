//! Bandwidths, each labelled with how its bytes count: the shader copy
//! (`shaders/peak_copy.wgsl`, bytes read + written, the convention of device copy
//! benchmarks), the transfer copy (`copy_buffer_to_buffer`, bytes once), and upload and
//! readback between host and device (bytes once). Buffers are far beyond any cache: 1 GiB
//! on a GPU, and on a software adapter (whose "device memory" is the host's) 256 MiB,
//! which is beyond any CPU's last-level cache (the shader copy is limited to what one
//! binding may hold).
//!
//! The shader copy is timed like every kernel (GPU timestamps where the adapter has
//! them); copies outside compute passes have no timestamps there, so the transfer copy,
//! the upload and the readback are timed on the host clock around submit and wait, with
//! buffers large enough that the submission's own cost is negligible.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result};

use super::common::{PeakSettings, best_median, grid, pipeline, timed_runs};
use crate::gpu::Gpu;
use crate::kernels::ShaderSource;
use crate::measure::gpu::Meter;
use crate::result::{ByteCount, PeakMethod};
use crate::types::TimingMethod;

const COPY_WGSL: &str = include_str!("../../../shaders/peak_copy.wgsl");

const WG: u32 = 256;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct CopyParams {
    len: u32,
    row: u32,
    _pad: [u32; 2],
}

pub struct Bandwidths {
    pub shader: PeakMethod,
    pub transfer: PeakMethod,
    pub upload: PeakMethod,
    pub readback: PeakMethod,
}

/// Bytes of each buffer: `want` within the adapter's limits, a multiple of 16.
fn size(gpu: &Gpu, want: u64, binding: bool) -> u64 {
    let limits = gpu.limits();
    let mut b = want.min(limits.max_buffer_size);
    if binding {
        b = b.min(limits.max_storage_buffer_binding_size);
    }
    b / 16 * 16
}

fn want(gpu: &Gpu) -> u64 {
    if gpu.is_software() {
        256 << 20
    } else {
        1 << 30
    }
}

pub fn measure(meter: &mut Meter, settings: &PeakSettings) -> Result<Bandwidths> {
    let shader = shader_copy(meter, settings)?;
    let gpu = meter.gpu();
    let bytes = size(gpu, want(gpu), false);
    let runs = 3 * settings.runs.max(1);
    let transfer = transfer(gpu, bytes, runs, settings).context("the transfer copy")?;
    let upload = upload(gpu, bytes, runs, settings).context("the upload")?;
    let readback = readback(gpu, bytes, runs, settings).context("the readback")?;
    Ok(Bandwidths {
        shader,
        transfer,
        upload,
        readback,
    })
}

/// The shader of the copy peak.
pub fn shader() -> ShaderSource {
    ShaderSource::main(
        "peak copy".into(),
        COPY_WGSL.to_string(),
        vec![("WG", f64::from(WG))],
    )
}

fn shader_copy(meter: &mut Meter, settings: &PeakSettings) -> Result<PeakMethod> {
    let gpu = meter.gpu();
    let power_begin = meter.power_begin();
    let s = shader();
    let (pipeline, layout) = pipeline(gpu, &s.label, &s.source, &s.constants)?;
    let bytes = size(gpu, want(gpu), true);
    let len = u32::try_from(bytes / 16).context("copy buffer too large")?;
    let src = gpu.buffer("peak copy src", bytes, wgpu::BufferUsages::STORAGE)?;
    let dst = gpu.buffer("peak copy dst", bytes, wgpu::BufferUsages::STORAGE)?;
    let (x, y, row) = grid(gpu, u64::from(len), WG);
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
        kernel: "shader copy: a compute kernel copying one vec4 per invocation; bytes read + \
                 written"
            .into(),
        timing_method: meter.method(),
        invocations: u64::from(x) * u64::from(y) * u64::from(WG),
        work_per_run: 2.0 * bytes as f64,
        runs,
        best_ns,
        median_ns,
        params: p,
        bytes: Some(ByteCount::ReadPlusWrite),
        power: meter.power_end(power_begin),
    })
}

/// A host-timed bandwidth: `runs` runs of `once` after one untimed, each its host time.
fn host_timed(
    kernel: &str,
    bytes: u64,
    runs: usize,
    mut once: impl FnMut() -> Result<()>,
) -> Result<PeakMethod> {
    once()?;
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        once()?;
        samples.push(t.elapsed().as_nanos() as f64);
    }
    let (best_ns, median_ns) = best_median(samples)?;
    let mut p = BTreeMap::new();
    p.insert("buffer_bytes".into(), bytes.into());
    Ok(PeakMethod {
        kernel: kernel.into(),
        timing_method: TimingMethod::HostClock,
        invocations: 0,
        work_per_run: bytes as f64,
        runs: runs as u64,
        best_ns,
        median_ns,
        params: p,
        bytes: Some(ByteCount::Once),
        power: None,
    })
}

fn transfer(gpu: &Gpu, bytes: u64, runs: usize, settings: &PeakSettings) -> Result<PeakMethod> {
    let usage = wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
    let src = gpu.buffer("peak transfer src", bytes, usage)?;
    let dst = gpu.buffer("peak transfer dst", bytes, usage)?;
    host_timed(
        "transfer copy: copy_buffer_to_buffer between two device buffers, submitted and \
         waited for (host clock); bytes copied counted once",
        bytes,
        runs,
        || {
            let mut enc = gpu.device.create_command_encoder(&Default::default());
            enc.copy_buffer_to_buffer(&src, 0, &dst, 0, bytes);
            let idx = gpu.queue.submit([enc.finish()]);
            gpu.wait(idx, settings.timeout)
        },
    )
}

fn upload(gpu: &Gpu, bytes: u64, runs: usize, settings: &PeakSettings) -> Result<PeakMethod> {
    let dst = gpu.buffer("peak upload dst", bytes, wgpu::BufferUsages::COPY_DST)?;
    let mut host = Vec::new();
    host.try_reserve_exact(bytes as usize)
        .context("out of host memory for the upload buffer")?;
    host.resize(bytes as usize, 0x5a_u8);
    host_timed(
        "upload: queue.write_buffer from host memory into a device buffer, submitted and \
         waited for (host clock); bytes counted once",
        bytes,
        runs,
        || {
            gpu.queue.write_buffer(&dst, 0, &host);
            let idx = gpu.queue.submit([]);
            gpu.wait(idx, settings.timeout)
        },
    )
}

fn readback(gpu: &Gpu, bytes: u64, runs: usize, settings: &PeakSettings) -> Result<PeakMethod> {
    let src = gpu.buffer("peak readback src", bytes, wgpu::BufferUsages::COPY_SRC)?;
    let staging = gpu.buffer(
        "peak readback staging",
        bytes,
        wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
    )?;
    host_timed(
        "readback: a copy into a mappable buffer, mapped and read into host memory (host \
         clock); bytes counted once",
        bytes,
        runs,
        || {
            let mut enc = gpu.device.create_command_encoder(&Default::default());
            enc.copy_buffer_to_buffer(&src, 0, &staging, 0, bytes);
            let idx = gpu.queue.submit([enc.finish()]);
            let data = gpu.map_and_read(&staging, idx, settings.timeout)?;
            std::hint::black_box(&data);
            Ok(())
        },
    )
}
