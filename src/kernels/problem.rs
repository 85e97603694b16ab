//! One GEMM problem on the device: seeded inputs uploaded once, the f64 reference
//! computed once, and an output buffer that every kernel under test writes into.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use super::family::GemmBinding;
use super::pipeline::GemmPipeline;
use crate::gpu::Gpu;
use crate::types::{Batch, Layout, Precision, Shape, Strides};
use crate::verify::{self, Check, GemmInputs, ReferenceSample};

pub struct Problem {
    pub layout: Layout,
    pub shape: Shape,
    /// The products of one dispatch (one, unless the problem is batched).
    pub batch: Batch,
    /// Precision of A and B as uploaded (C is always f32).
    pub precision: Precision,
    pub a: wgpu::Buffer,
    pub b: wgpu::Buffer,
    pub c: wgpu::Buffer,
    pub reference: Arc<ReferenceSample>,
}

impl Problem {
    /// Generates the f32 inputs for (layout, shape, seed), uploads them and computes the
    /// reference entries.
    pub fn new(gpu: &Gpu, layout: Layout, shape: Shape, seed: u64) -> Result<Problem> {
        Problem::with_precision(gpu, layout, shape, seed, Precision::F32)
    }

    /// [`Problem::new`] with operands in `precision`: for f16 the same random values
    /// rounded to f16, uploaded as f16, with the reference of the rounded values.
    pub fn with_precision(
        gpu: &Gpu,
        layout: Layout,
        shape: Shape,
        seed: u64,
        precision: Precision,
    ) -> Result<Problem> {
        Problem::with_reference(gpu, layout, shape, seed, precision, None)
    }

    /// [`Problem::with_precision`] reusing `reference` when it was computed for the same
    /// (layout, shape, seed, precision) before: the inputs are generated again (they
    /// depend only on those), the f64 reference is not.
    pub fn with_reference(
        gpu: &Gpu,
        layout: Layout,
        shape: Shape,
        seed: u64,
        precision: Precision,
        reference: Option<Arc<ReferenceSample>>,
    ) -> Result<Problem> {
        Problem::batched(gpu, layout, shape, Batch::ONE, seed, precision, reference)
    }

    /// A batch of products of `shape` (see [`Batch`]): the inputs of every product
    /// uploaded one after the other, C sized for all of them, and a reference that checks
    /// each product as a single one is checked.
    pub fn batched(
        gpu: &Gpu,
        layout: Layout,
        shape: Shape,
        batch: Batch,
        seed: u64,
        precision: Precision,
        reference: Option<Arc<ReferenceSample>>,
    ) -> Result<Problem> {
        if let Err(why) = batch.check() {
            anyhow::bail!("{why}");
        }
        let mut inputs = GemmInputs::random_batched(layout, shape, batch, seed);
        if precision == Precision::F16 {
            inputs.round_to_f16();
        }
        let reference =
            reference.unwrap_or_else(|| Arc::new(ReferenceSample::compute(&inputs, seed)));
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let upload = |label: &str, v: &[f32]| match precision {
            Precision::F32 => gpu.buffer_init(label, bytemuck::cast_slice(v), storage),
            Precision::F16 => {
                gpu.buffer_init(label, bytemuck::cast_slice(&verify::f16_bits(v)), storage)
            }
        };
        let a = upload("A", &inputs.a)?;
        let b = upload("B", &inputs.b)?;
        let c = gpu.buffer(
            "C",
            shape.c_len() * u64::from(batch.count) * 4,
            storage | wgpu::BufferUsages::COPY_SRC,
        )?;
        Ok(Problem {
            layout,
            shape,
            batch,
            precision,
            a,
            b,
            c,
            reference,
        })
    }

    /// Binds this problem's buffers to a pipeline compiled for its layout.
    pub fn bind(&self, gpu: &Gpu, pipeline: &GemmPipeline) -> Result<GemmBinding> {
        self.bind_with(gpu, pipeline, Strides::of(self.shape))
    }

    /// [`Problem::bind`] telling the kernel other batch strides than the problem's (a
    /// test gives a wrong one, which verification must catch).
    pub fn bind_with(
        &self,
        gpu: &Gpu,
        pipeline: &GemmPipeline,
        strides: Strides,
    ) -> Result<GemmBinding> {
        pipeline.bind_batched(
            gpu,
            self.shape,
            self.batch,
            strides,
            [&self.a, &self.b, &self.c],
        )
    }

    /// Poisons C with NaN, runs the kernel once, reads C back and checks it. Returns the
    /// check and the host time of the run.
    pub fn verify(
        &self,
        gpu: &Gpu,
        pipeline: &GemmPipeline,
        binding: &GemmBinding,
        tolerance: f64,
        timeout: Duration,
    ) -> Result<(Check, Duration)> {
        let entries = self.shape.c_len() * u64::from(self.batch.count);
        let poison = crate::util::mem::try_filled(entries as usize, f32::NAN)?;
        gpu.queue
            .write_buffer(&self.c, 0, bytemuck::cast_slice(&poison));
        drop(poison);
        let encode = |pass: &mut wgpu::ComputePass<'_>| pipeline.encode(pass, binding);
        let took = crate::measure::gpu::run_untimed(gpu, &encode, timeout)
            .context("running the kernel")?;
        let out = gpu
            .read_buffer(&self.c, timeout)
            .context("reading the output back")?;
        let check = self
            .reference
            .check(bytemuck::cast_slice(&out), self.shape.n, tolerance);
        Ok((check, took))
    }
}
