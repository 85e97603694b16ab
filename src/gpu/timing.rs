//! GPU timestamp queries: each run of a batch in its own compute pass, bracketed by a
//! pair of timestamps, all in one command buffer, so each sample is the GPU time of
//! exactly one unit of work and the host never sits between samples. The resolved
//! queries are copied to a mappable buffer in a *second* command buffer (wgpu issue
//! #6406: Vulkan timestamps can read zero when the copy shares the resolving encoder).
//!
//! This module only records and reads the raw ticks; whether they can be trusted is
//! decided by the measurement contract (the `measure` module).

use std::time::Duration;

use anyhow::Result;

use super::Gpu;

/// The most runs one batch may hold (two queries each; wgpu allows 4096 a set).
pub const MAX_QUERIES_RUNS: usize = 1024;

/// A device's timestamp query set and the buffers its results pass through.
pub struct Timestamps {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    period_ns: f64,
}

impl Timestamps {
    /// The device's query buffers, or `None` when it has no timestamp queries.
    pub fn new(gpu: &Gpu) -> Result<Option<Timestamps>> {
        if !gpu.has_timestamps() {
            return Ok(None);
        }
        let count = (2 * MAX_QUERIES_RUNS) as u32;
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
        Ok(Some(Timestamps {
            set,
            resolve,
            readback,
            period_ns: f64::from(gpu.queue.get_timestamp_period()),
        }))
    }

    /// Nanoseconds per tick, as the driver reports it.
    pub fn period_ns(&self) -> f64 {
        self.period_ns
    }

    /// Runs `encode` `count` times, each in its own timestamped pass, in one submission;
    /// the (start, end) ticks of each run. `timeout` bounds the wait.
    pub fn run(
        &self,
        gpu: &Gpu,
        count: usize,
        encode: &dyn Fn(&mut wgpu::ComputePass<'_>),
        timeout: Duration,
    ) -> Result<Vec<(u64, u64)>> {
        let count = count.clamp(1, MAX_QUERIES_RUNS);
        let nq = (2 * count) as u32;
        let mut enc = gpu.device.create_command_encoder(&Default::default());
        for s in 0..count as u32 {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("sample"),
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: &self.set,
                    beginning_of_pass_write_index: Some(2 * s),
                    end_of_pass_write_index: Some(2 * s + 1),
                }),
            });
            encode(&mut pass);
        }
        enc.resolve_query_set(&self.set, 0..nq, &self.resolve, 0);
        let mut copy = gpu.device.create_command_encoder(&Default::default());
        let bytes = u64::from(nq) * wgpu::QUERY_SIZE as u64;
        copy.copy_buffer_to_buffer(&self.resolve, 0, &self.readback, 0, bytes);
        let idx = gpu.queue.submit([enc.finish(), copy.finish()]);
        let raw = gpu.map_and_read(&self.readback, idx, timeout)?;
        let ticks: &[u64] = bytemuck::cast_slice(&raw[..bytes as usize]);
        Ok(ticks.chunks_exact(2).map(|p| (p[0], p[1])).collect())
    }
}

impl Gpu {
    /// Runs `encode` `count` times, each in its own compute pass, in one submission, and
    /// waits (at most `timeout`).
    pub fn run_passes(
        &self,
        count: usize,
        encode: &dyn Fn(&mut wgpu::ComputePass<'_>),
        timeout: Duration,
    ) -> Result<()> {
        let mut enc = self.device.create_command_encoder(&Default::default());
        for _ in 0..count.max(1) {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("run"),
                timestamp_writes: None,
            });
            encode(&mut pass);
        }
        let idx = self.queue.submit([enc.finish()]);
        self.wait(idx, timeout)
    }
}
