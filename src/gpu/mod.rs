//! The GPU side: choosing an adapter, opening a device with everything it offers, moving
//! buffers, waiting with a watchdog, and timing dispatches.
//!
//! Every wait on the GPU goes through [`Gpu::wait`], which has a timeout, and every wgpu
//! error that is not captured by an error scope lands in [`Gpu::errors`] instead of
//! panicking, so a hang, a device loss or a validation error becomes a clear error.

pub mod adapter;
pub mod memory;
pub mod timing;

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::util::fmt_bytes;

pub use adapter::{AdapterChoice, AdapterEntry, AdapterSelector, BackendFilter};

/// The features flopcost asks for when the adapter has them.
pub fn wanted_features() -> wgpu::Features {
    wgpu::Features::TIMESTAMP_QUERY
        | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS
        | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES
        | wgpu::Features::SHADER_F16
        | wgpu::Features::SUBGROUP
        | wgpu::Features::SUBGROUP_BARRIER
        | wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX
}

/// A wait on the GPU ran past its timeout (the watchdog).
#[derive(Debug, thiserror::Error)]
#[error(
    "dispatch did not finish within {seconds} s; the GPU may be hung or far slower than \
     expected: try a smaller shape, or raise --dispatch-timeout"
)]
pub struct DispatchTimeout {
    pub seconds: f64,
}

/// Errors reported by wgpu outside any error scope, and device loss.
#[derive(Default)]
pub struct ErrorSink {
    messages: Mutex<Vec<String>>,
    lost: AtomicBool,
    /// A wait timed out: the GPU may still be running (or stuck in) that work.
    hung: AtomicBool,
    /// What the device-lost callback said.
    lost_reason: Mutex<Option<String>>,
}

impl ErrorSink {
    fn push(&self, msg: String) {
        if let Ok(mut m) = self.messages.lock() {
            m.push(msg);
        }
    }

    /// True once a wait on the GPU timed out.
    pub fn is_hung(&self) -> bool {
        self.hung.load(Ordering::SeqCst)
    }

    /// True once the device was lost.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Fails with the first error seen since the last check, if any.
    pub fn check(&self) -> Result<()> {
        let messages: Vec<String> = self
            .messages
            .lock()
            .map(|mut m| m.drain(..).collect())
            .unwrap_or_default();
        let oom = messages
            .iter()
            .any(|m| m.to_lowercase().contains("out of memory"));
        if self.is_lost() {
            let why = self
                .lost_reason
                .lock()
                .ok()
                .and_then(|r| r.clone())
                .unwrap_or_default();
            if oom || why.to_lowercase().contains("out of memory") {
                bail!(
                    "the GPU device was lost after running out of memory ({why}); try a \
                     smaller shape"
                );
            }
            bail!(
                "the GPU device was lost ({why}); check the driver's log (dmesg), then run \
                 again"
            );
        }
        match messages.into_iter().next() {
            Some(msg) => bail!("wgpu reported an error: {msg}"),
            None => Ok(()),
        }
    }
}

/// An open device on the chosen adapter.
pub struct Gpu {
    pub adapter: wgpu::Adapter,
    /// Dropped with the `Gpu`, except after a watchdog timeout: dropping a device waits
    /// for its work to finish, which on a hung GPU is never (see `Drop for Gpu`).
    pub device: ManuallyDrop<wgpu::Device>,
    pub queue: ManuallyDrop<wgpu::Queue>,
    pub info: wgpu::AdapterInfo,
    /// Index of the adapter in `flopcost devices`.
    pub index: usize,
    pub errors: Arc<ErrorSink>,
}

impl Gpu {
    /// Opens a device with the adapter's full limits and the wanted features it has.
    pub fn open(entry: AdapterEntry) -> Result<Gpu> {
        let AdapterEntry {
            index,
            adapter,
            info,
        } = entry;
        let features = adapter.features() & wanted_features();
        let experimental = if features.contains(wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX) {
            // SAFETY: cooperative matrices are only used through shaders that the adapter
            // reports a matching configuration for; the API is marked experimental because
            // its surface may change, not because it is unsound to enable.
            unsafe { wgpu::ExperimentalFeatures::enabled() }
        } else {
            wgpu::ExperimentalFeatures::disabled()
        };
        let desc = wgpu::DeviceDescriptor {
            label: Some("flopcost"),
            required_features: features,
            required_limits: adapter.limits(),
            experimental_features: experimental,
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .with_context(|| format!("could not open a device on adapter '{}'", info.name))?;
        let errors = Arc::new(ErrorSink::default());
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let oom = matches!(e, wgpu::Error::OutOfMemory { .. });
            let text = format!("{e}");
            sink.push(if oom || text.to_lowercase().contains("out of memory") {
                format!("out of memory: {text}; try a smaller shape")
            } else {
                text
            });
        }));
        let sink = errors.clone();
        // flopcost never destroys a device it still uses, so every loss is reported; one
        // at drop time lands in a sink nobody reads any more.
        device.set_device_lost_callback(move |reason, msg| {
            if let Ok(mut r) = sink.lost_reason.lock() {
                *r = Some(format!("{reason:?}: {msg}"));
            }
            sink.lost.store(true, Ordering::SeqCst);
        });
        Ok(Gpu {
            adapter,
            device: ManuallyDrop::new(device),
            queue: ManuallyDrop::new(queue),
            info,
            index,
            errors,
        })
    }

    pub fn features(&self) -> wgpu::Features {
        self.device.features()
    }

    pub fn limits(&self) -> wgpu::Limits {
        self.device.limits()
    }

    pub fn has_timestamps(&self) -> bool {
        self.features().contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// True for software rasterisers (lavapipe, llvmpipe, WARP).
    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// Waits for a submission, failing after `timeout` instead of hanging.
    pub fn wait(&self, index: wgpu::SubmissionIndex, timeout: Duration) -> Result<()> {
        let res = self.device.poll(wgpu::PollType::Wait {
            submission_index: Some(index),
            timeout: Some(timeout),
        });
        match res {
            Ok(_) => self.errors.check(),
            Err(wgpu::PollError::Timeout) => {
                self.errors.hung.store(true, Ordering::SeqCst);
                self.errors.check()?;
                Err(DispatchTimeout {
                    seconds: timeout.as_secs_f64(),
                }
                .into())
            }
            Err(e) => {
                // A submission that failed (out of memory, say) reports its reason to the
                // sink; that is the error worth showing.
                self.errors.check()?;
                Err(anyhow!("waiting for the GPU failed: {e}"))
            }
        }
    }

    /// Creates a buffer initialised with `data`, turning an out-of-memory into a clear error.
    pub fn buffer_init(
        &self,
        label: &str,
        data: &[u8],
        usage: wgpu::BufferUsages,
    ) -> Result<wgpu::Buffer> {
        // Not `create_buffer_init`: on a lost device its mapping step panics. A plain
        // buffer and a queued write fail into the error sink instead.
        let size = (data.len() as u64)
            .next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT)
            .max(4);
        let buf = self.buffer(label, size, usage | wgpu::BufferUsages::COPY_DST)?;
        if data
            .len()
            .is_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT as usize)
        {
            self.queue.write_buffer(&buf, 0, data);
        } else {
            let mut padded = data.to_vec();
            padded.resize(size as usize, 0);
            self.queue.write_buffer(&buf, 0, &padded);
        }
        self.errors.check()?;
        Ok(buf)
    }

    /// Creates an uninitialised buffer, turning an out-of-memory into a clear error.
    pub fn buffer(
        &self,
        label: &str,
        size: u64,
        usage: wgpu::BufferUsages,
    ) -> Result<wgpu::Buffer> {
        self.allocating(label, size, || {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage,
                mapped_at_creation: false,
            })
        })
    }

    /// Fails with any error wgpu reported, device loss first; polls once so that
    /// pending callbacks (a loss, say) have run.
    pub fn check(&self) -> Result<()> {
        let _ = self.device.poll(wgpu::PollType::Poll);
        self.errors.check()
    }

    fn allocating<T>(&self, label: &str, size: u64, f: impl FnOnce() -> T) -> Result<T> {
        // Nothing can be allocated on a lost device; say so rather than fail obscurely.
        self.check()?;
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let invalid = pollster::block_on(validation.pop());
        let out_of_memory = pollster::block_on(oom.pop());
        if let Some(e) = out_of_memory {
            bail!(
                "out of GPU memory allocating {label} ({}): {e}; try a smaller shape",
                fmt_bytes(size)
            );
        }
        if let Some(e) = invalid {
            bail!("could not allocate {label} ({}): {e}", fmt_bytes(size));
        }
        Ok(out)
    }

    /// Compiles a compute shader (entry point `main`) with its override constants and
    /// without runtime bounds checks or zeroed workgroup memory, turning validation
    /// errors into an error that names it. With no `bind_layout` the pipeline derives its
    /// own (`get_bind_group_layout(0)`).
    ///
    /// # Safety
    /// With the checks off, an out-of-bounds index, an unbounded loop or an integer
    /// division by zero is undefined behaviour: the shader must guard every access for
    /// every dispatch it is used with, and must not read workgroup memory it has not
    /// written.
    pub unsafe fn compile_unchecked(
        &self,
        label: &str,
        source: &str,
        constants: &[(&str, f64)],
        bind_layout: Option<&wgpu::BindGroupLayout>,
    ) -> Result<wgpu::ComputePipeline> {
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        // SAFETY: the caller vouches for the shader (see above).
        let module = unsafe {
            self.device.create_shader_module_trusted(
                wgpu::ShaderModuleDescriptor {
                    label: Some(label),
                    source: wgpu::ShaderSource::Wgsl(source.into()),
                },
                wgpu::ShaderRuntimeChecks::unchecked(),
            )
        };
        let layout = bind_layout.map(|b| {
            self.device
                .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                    label: Some(label),
                    bind_group_layouts: &[Some(b)],
                    immediate_size: 0,
                })
        });
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(label),
                layout: layout.as_ref(),
                module: &module,
                entry_point: Some("main"),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants,
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            });
        if let Some(e) = pollster::block_on(scope.pop()) {
            bail!("kernel '{label}' failed to compile: {e}");
        }
        Ok(pipeline)
    }

    /// A bind group of whole buffers at the given binding numbers.
    pub fn bind_group(
        &self,
        label: &str,
        layout: &wgpu::BindGroupLayout,
        entries: &[(u32, &wgpu::Buffer)],
    ) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry<'_>> = entries
            .iter()
            .map(|(binding, b)| wgpu::BindGroupEntry {
                binding: *binding,
                resource: b.as_entire_binding(),
            })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout,
            entries: &entries,
        })
    }

    /// [`Gpu::bind_group`] with `buffers` at bindings 0, 1, 2, ... in order.
    pub fn bind_buffers(
        &self,
        label: &str,
        layout: &wgpu::BindGroupLayout,
        buffers: &[&wgpu::Buffer],
    ) -> wgpu::BindGroup {
        let entries: Vec<(u32, &wgpu::Buffer)> = (0u32..).zip(buffers.iter().copied()).collect();
        self.bind_group(label, layout, &entries)
    }

    /// Copies a buffer back to the host. `timeout` bounds the wait.
    pub fn read_buffer(&self, src: &wgpu::Buffer, timeout: Duration) -> Result<Vec<u8>> {
        let size = src.size();
        let staging = self.buffer(
            "readback",
            size,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        )?;
        let mut enc = self.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(src, 0, &staging, 0, size);
        let idx = self.queue.submit([enc.finish()]);
        self.map_and_read(&staging, idx, timeout)
    }

    /// Maps a MAP_READ buffer after submission `idx` and returns its contents.
    pub fn map_and_read(
        &self,
        buf: &wgpu::Buffer,
        idx: wgpu::SubmissionIndex,
        timeout: Duration,
    ) -> Result<Vec<u8>> {
        let status = Arc::new(Mutex::new(None));
        let s = status.clone();
        buf.map_async(wgpu::MapMode::Read, .., move |r| {
            if let Ok(mut slot) = s.lock() {
                *slot = Some(r);
            }
        });
        let start = Instant::now();
        self.wait(idx, timeout)?;
        // The callback usually runs during the wait above. When another thread polls the
        // same device, that thread may have taken the callback and not yet run it, so
        // keep polling (bounded by the same timeout) until it has.
        let outcome = loop {
            let _ = self.device.poll(wgpu::PollType::Poll);
            if let Some(r) = status.lock().ok().and_then(|mut s| s.take()) {
                break r;
            }
            if start.elapsed() >= timeout {
                self.errors.check()?;
                bail!(
                    "mapping a buffer for readback did not complete within {:.0} s",
                    timeout.as_secs_f64()
                );
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        if let Err(e) = outcome {
            bail!("mapping a buffer for readback failed: {e}");
        }
        let view = buf
            .get_mapped_range(..)
            .map_err(|e| anyhow!("reading a mapped buffer failed: {e}"))?;
        let mut data = Vec::new();
        data.try_reserve_exact(view.len()).map_err(|_| {
            anyhow!(
                "out of host memory reading back {}; try a smaller shape",
                fmt_bytes(view.len() as u64)
            )
        })?;
        data.extend_from_slice(&view);
        drop(view);
        buf.unmap();
        Ok(data)
    }
}

impl Drop for Gpu {
    fn drop(&mut self) {
        if self.errors.is_hung() {
            // Dropping the queue and device would wait for the timed-out work, perhaps
            // forever; the process is about to exit with the error, and the OS reclaims
            // the device then.
            return;
        }
        // SAFETY: dropped exactly once, here, and never used after.
        unsafe {
            ManuallyDrop::drop(&mut self.queue);
            ManuallyDrop::drop(&mut self.device);
        }
    }
}
