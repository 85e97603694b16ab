//! The one contract between a kernel family and the rest of the crate.
//!
//! A family is a WGSL kernel with its parameters: naive, tiled, block, subgroup and
//! cooperative matrix each have a file that implements [`KernelFamily`]. The registry
//! (`registry.rs`) lists them, one line each; selection, tuning and the cache know them
//! only through this trait. A family compiles a configuration into a [`Compiled`] kernel,
//! which binds one problem's buffers into a [`GemmBinding`]: the dispatches of one GEMM.

use std::sync::Arc;

use anyhow::Result;

use super::config::{BlockConfig, KernelConfig, KernelSpec, Variant};
use super::shader::ShaderSource;
use super::support::Caps;
use crate::gpu::Gpu;
use crate::types::{Batch, Layout, Shape, Strides};

/// Workgroup size (x, y) and the block of C (columns, rows) one workgroup covers.
pub type Geometry = ((u32, u32), (u32, u32));

/// A kernel family: what it needs from the adapter, its configurations, and how to build
/// and dispatch them.
pub trait KernelFamily: Sync {
    /// Its name, in listings and messages.
    fn name(&self) -> &'static str;

    /// Whether this family runs `config`.
    fn runs(&self, config: &KernelConfig) -> bool;

    /// The kernels `--kernel` can name from it.
    fn kernels(&self) -> Vec<KernelSpec> {
        Vec::new()
    }

    /// The workgroup size and the block of C one workgroup covers.
    fn geometry(&self, config: &KernelConfig) -> Geometry;

    /// Whether `config` satisfies the shader's contract and fits the adapter's limits;
    /// `Err` says why not.
    fn check(&self, config: &KernelConfig, limits: &wgpu::Limits) -> Result<(), String>;

    /// What it needs from the adapter beyond its limits to run `config` in `variant`: by
    /// default nothing but a path on the shader cores (f16 in shaders is checked for every
    /// kernel before its family is asked).
    fn needs(&self, _config: &KernelConfig, _caps: &Caps, variant: Variant) -> Result<(), String> {
        if variant.coopmat {
            return Err("has no cooperative-matrix variant".into());
        }
        Ok(())
    }

    /// The parameters a result file records.
    fn params(&self, config: &KernelConfig) -> Vec<(&'static str, serde_json::Value)>;

    /// The configurations the tuned kernel may choose from this family in `variant` on
    /// the adapter, preferred first, before its limits are checked (none: not tuned).
    fn candidates(&self, _caps: &Caps, _variant: Variant) -> Vec<BlockConfig> {
        Vec::new()
    }

    /// The shader [`KernelFamily::build`] compiles for `config`, `layout` and `variant`:
    /// its WGSL and override constants.
    fn shader(
        &self,
        config: &KernelConfig,
        layout: Layout,
        variant: Variant,
    ) -> Result<ShaderSource>;

    /// Compiles `config` for `layout` with operands in `variant` (the shader of
    /// [`KernelFamily::shader`]); `label` names it in driver messages.
    fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        config: &KernelConfig,
        layout: Layout,
        variant: Variant,
    ) -> Result<Arc<dyn Compiled>>;
}

/// A configuration compiled for one layout.
pub trait Compiled: Send + Sync {
    /// Binds one problem's buffers: `a`, `b` and `c` hold op(A), op(B) and C in the
    /// storage order of the layout, for each product of `batch` (A and B `strides` apart,
    /// C M·N apart). `config` is the one compiled, or for a block configuration another
    /// split-K factor of it (splits share a shader).
    #[allow(clippy::too_many_arguments)]
    fn bind(
        &self,
        gpu: &Gpu,
        config: &KernelConfig,
        shape: Shape,
        batch: Batch,
        strides: Strides,
        buffers: [&wgpu::Buffer; 3],
    ) -> Result<GemmBinding>;
}

/// One dispatch of a binding.
pub struct Dispatch {
    pub pipeline: wgpu::ComputePipeline,
    pub group: wgpu::BindGroup,
    pub size: (u32, u32, u32),
}

/// One problem's buffers bound to a compiled kernel: its dispatches (a split-K product
/// and its reduction are two), and the buffers they use, kept alive with them.
pub struct GemmBinding {
    pub steps: Vec<Dispatch>,
    /// Parameter blocks and the split-K workspace, kept alive with the bind groups.
    pub buffers: Vec<wgpu::Buffer>,
    /// Workgroups of the main dispatch.
    pub dispatch: (u32, u32, u32),
    pub(crate) config: Option<BlockConfig>,
    pub(crate) splits: u32,
}

impl GemmBinding {
    /// The block configuration that runs, for the block and tuned kernels.
    pub fn config(&self) -> Option<BlockConfig> {
        self.config
    }

    /// K splits actually used (1: no split-K).
    pub fn splits(&self) -> u32 {
        self.splits
    }

    /// Records the whole GEMM (all of its dispatches) into a compute pass; wgpu orders
    /// dispatches within a pass (it inserts the barrier between a split-K product and its
    /// reduction).
    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>) {
        for d in &self.steps {
            let (x, y, z) = d.size;
            pass.set_pipeline(&d.pipeline);
            pass.set_bind_group(0, &d.group, &[]);
            pass.dispatch_workgroups(x, y, z);
        }
    }
}
