//! Timing GPU work: timestamp queries around each compute pass where the adapter has
//! them, else the host clock around submit and wait.
//!
//! With timestamps, a batch of samples is encoded as back-to-back compute passes in one
//! command buffer, each pass with its own pair of timestamps, so each sample is the GPU
//! time of exactly one unit of work and the host never sits between samples. The resolved
//! queries are copied to a mappable buffer in a *second* command buffer (wgpu issue #6406:
//! Vulkan timestamps can read zero when the copy shares the resolving encoder).

use std::time::{Duration, Instant};

use anyhow::Result;

use super::Gpu;

/// How samples were timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimingMethod {
    /// GPU timestamp queries around each compute pass.
    GpuTimestamp,
    /// The host clock around submit + wait of one pass (includes launch overhead).
    HostClock,
}

impl TimingMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            TimingMethod::GpuTimestamp => "gpu_timestamp",
            TimingMethod::HostClock => "host_clock",
        }
    }
}

/// GPU timestamps that cannot be trusted (they did not advance across a pass).
#[derive(Debug, thiserror::Error)]
#[error("GPU timestamps did not advance across a pass ({start} then {end})")]
pub struct TimestampError {
    pub start: u64,
    pub end: u64,
}

/// The most samples one batch may hold (two queries each; wgpu allows 4096 queries a set).
pub const MAX_BATCH: usize = 1024;

/// Measures units of GPU work.
pub struct Timer {
    method: TimingMethod,
    period_ns: f64,
    queries: Option<QueryBuffers>,
}

struct QueryBuffers {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
}

impl Timer {
    /// A timer using timestamps when the device has them and `allow_timestamps` is set.
    pub fn new(gpu: &Gpu, allow_timestamps: bool) -> Result<Timer> {
        if !(allow_timestamps && gpu.has_timestamps()) {
            return Ok(Timer::host());
        }
        let count = (2 * MAX_BATCH) as u32;
        let set = gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count,
        });
        let bytes = u64::from(count) * wgpu::QUERY_SIZE as u64;
        let resolve = gpu.buffer(
            "timestamp resolve",
            bytes,
            wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
        )?;
        let readback = gpu.buffer(
            "timestamp readback",
            bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        )?;
        Ok(Timer {
            method: TimingMethod::GpuTimestamp,
            period_ns: f64::from(gpu.queue.get_timestamp_period()),
            queries: Some(QueryBuffers {
                set,
                resolve,
                readback,
            }),
        })
    }

    /// A timer that uses the host clock only.
    pub fn host() -> Timer {
        Timer {
            method: TimingMethod::HostClock,
            period_ns: 1.0,
            queries: None,
        }
    }

    pub fn method(&self) -> TimingMethod {
        self.method
    }

    /// Runs `encode` once without timing it (verification, warm-up).
    pub fn run_once(
        &self,
        gpu: &Gpu,
        encode: &dyn Fn(&mut wgpu::ComputePass<'_>),
        timeout: Duration,
    ) -> Result<Duration> {
        let start = Instant::now();
        let mut enc = gpu.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("run"),
                timestamp_writes: None,
            });
            encode(&mut pass);
        }
        let idx = gpu.queue.submit([enc.finish()]);
        gpu.wait(idx, timeout)?;
        Ok(start.elapsed())
    }

    /// Runs `count` samples of `encode` (each in its own compute pass) and returns each
    /// one's duration in ns. `timeout` bounds the whole batch.
    pub fn measure(
        &self,
        gpu: &Gpu,
        count: usize,
        encode: &dyn Fn(&mut wgpu::ComputePass<'_>),
        timeout: Duration,
    ) -> Result<Vec<f64>> {
        let count = count.clamp(1, MAX_BATCH);
        match &self.queries {
            None => {
                let mut out = Vec::with_capacity(count);
                for _ in 0..count {
                    out.push(self.run_once(gpu, encode, timeout)?.as_nanos() as f64);
                }
                Ok(out)
            }
            Some(q) => self.measure_timestamps(gpu, q, count, encode, timeout),
        }
    }

    fn measure_timestamps(
        &self,
        gpu: &Gpu,
        q: &QueryBuffers,
        count: usize,
        encode: &dyn Fn(&mut wgpu::ComputePass<'_>),
        timeout: Duration,
    ) -> Result<Vec<f64>> {
        let nq = (2 * count) as u32;
        let mut enc = gpu.device.create_command_encoder(&Default::default());
        for s in 0..count as u32 {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("sample"),
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: &q.set,
                    beginning_of_pass_write_index: Some(2 * s),
                    end_of_pass_write_index: Some(2 * s + 1),
                }),
            });
            encode(&mut pass);
        }
        enc.resolve_query_set(&q.set, 0..nq, &q.resolve, 0);
        let mut copy = gpu.device.create_command_encoder(&Default::default());
        let bytes = u64::from(nq) * wgpu::QUERY_SIZE as u64;
        copy.copy_buffer_to_buffer(&q.resolve, 0, &q.readback, 0, bytes);
        let idx = gpu.queue.submit([enc.finish(), copy.finish()]);
        let raw = gpu.map_and_read(&q.readback, idx, timeout)?;
        let ticks: &[u64] = bytemuck::cast_slice(&raw[..bytes as usize]);
        let mut out = Vec::with_capacity(count);
        for pair in ticks.chunks_exact(2) {
            let (t0, t1) = (pair[0], pair[1]);
            if t1 <= t0 {
                return Err(TimestampError { start: t0, end: t1 }.into());
            }
            out.push((t1 - t0) as f64 * self.period_ns);
        }
        Ok(out)
    }
}
