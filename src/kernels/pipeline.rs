//! A named kernel compiled for one layout ([`GemmPipeline`]), and one problem's buffers
//! bound to it. A fixed configuration is compiled once by its family; the tuned kernel
//! chooses a configuration per shape when a problem is bound (from the adapter's tuning
//! cache, else the heuristic default) and compiles each on first use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::{Result, bail};

use super::config::{BlockConfig, KernelConfig, KernelSpec, Variant};
use super::family::{Compiled, GemmBinding, KernelFamily};
use super::registry::Registry;
use super::support::{Caps, support};
use super::table::Table;
use crate::gpu::Gpu;
use crate::types::{Batch, Layout, Precision, Shape, Strides};

/// One kernel compiled for one layout.
pub struct GemmPipeline {
    pub spec: KernelSpec,
    pub layout: Layout,
    /// Operand precision and path.
    pub variant: Variant,
    kind: Kind,
}

enum Kind {
    /// One configuration, compiled (a block configuration's split-K factors share it).
    Fixed {
        compiled: Arc<dyn Compiled>,
        config: KernelConfig,
    },
    /// The tuned kernel: the configuration is chosen per shape at bind time and compiled
    /// on first use. (Its precision and path are the pipeline's `variant`.)
    Auto {
        registry: Registry,
        table: Table,
        compiled: Mutex<HashMap<BlockConfig, Arc<dyn Compiled>>>,
    },
}

/// Compiles one configuration with the family that runs it, after checking that the
/// family can: its shader's contract and the adapter's limits, and what it needs of the
/// adapter in `variant`.
fn build(
    gpu: &Gpu,
    family: &dyn KernelFamily,
    name: &str,
    config: &KernelConfig,
    layout: Layout,
    variant: Variant,
) -> Result<Arc<dyn Compiled>> {
    let shown = match config {
        KernelConfig::Block(c) => format!("kernel '{name}' ({c})"),
        _ => format!("kernel '{name}'"),
    };
    if let Err(why) = family.check(config, &gpu.limits()) {
        bail!("{shown} does not fit this adapter: {why}");
    }
    if let Err(why) = family.needs(config, &Caps::of(gpu), variant) {
        bail!("{shown} cannot run on this adapter: {why}");
    }
    let label = match config {
        KernelConfig::Block(c) => format!("{name}-{}-{layout}", c.with_split(1)),
        _ => name.to_string(),
    };
    family.build(gpu, &label, config, layout, variant)
}

impl GemmPipeline {
    /// Compiles `spec` for `layout`. Shaders are created without runtime bounds checks:
    /// every kernel guards its own global indices, and the odd-shape tests cover them.
    ///
    /// For the tuned kernel this reads the adapter's tuning cache; the configuration for
    /// each shape is chosen (and compiled) when a problem is bound.
    pub fn new(gpu: &Gpu, spec: &KernelSpec, layout: Layout) -> Result<GemmPipeline> {
        GemmPipeline::new_with(gpu, spec, layout, Variant::F32)
    }

    /// [`GemmPipeline::new`] for operands in `variant.precision`, on cooperative matrices
    /// when `variant.coopmat` (the tuned kernel, or a cooperative-matrix configuration,
    /// only).
    pub fn new_with(
        gpu: &Gpu,
        spec: &KernelSpec,
        layout: Layout,
        variant: Variant,
    ) -> Result<GemmPipeline> {
        GemmPipeline::new_in(&Registry::default(), gpu, spec, layout, variant)
    }

    /// [`GemmPipeline::new_with`] with the families of `registry`.
    pub fn new_in(
        registry: &Registry,
        gpu: &Gpu,
        spec: &KernelSpec,
        layout: Layout,
        variant: Variant,
    ) -> Result<GemmPipeline> {
        if let Err(why) = registry.check(spec, &gpu.limits()) {
            bail!("kernel '{}' does not fit this adapter: {why}", spec.name);
        }
        if variant.precision == Precision::F16
            && !gpu.features().contains(wgpu::Features::SHADER_F16)
        {
            bail!(
                "kernel '{}' in f16 needs f16 in shaders (SHADER_F16), which adapter '{}' lacks",
                spec.name,
                gpu.info.name
            );
        }
        if variant.coopmat && variant.precision != Precision::F16 {
            bail!("cooperative matrices take f16 operands only");
        }
        let kind = match spec.config {
            KernelConfig::Tuned => {
                if variant.coopmat
                    && let Err(why) = support(gpu)
                {
                    bail!("kernel '{}' on cooperative matrices: {why}", spec.name);
                }
                Kind::Auto {
                    registry: registry.clone(),
                    table: Table::load_quiet(gpu),
                    compiled: Mutex::new(HashMap::new()),
                }
            }
            config => {
                let config = match config {
                    KernelConfig::Block(c) => {
                        if c.coopmat != variant.coopmat {
                            bail!(
                                "kernel '{}' ({c}) is not a {} kernel",
                                spec.name,
                                variant.path().as_str()
                            );
                        }
                        KernelConfig::Block(c.with_precision(variant.precision))
                    }
                    c => c,
                };
                let Some(family) = registry.family_of(&config) else {
                    bail!("no kernel family runs kernel '{}'", spec.name);
                };
                Kind::Fixed {
                    compiled: build(gpu, family, &spec.name, &config, layout, variant)?,
                    config,
                }
            }
        };
        Ok(GemmPipeline {
            spec: spec.clone(),
            layout,
            variant,
            kind,
        })
    }

    /// Binds one problem's buffers. `a`, `b` and `c` hold op(A), op(B) and C in the
    /// storage order of the layout; `c` must hold M·N floats. May allocate internal
    /// buffers (parameters, a split-K workspace).
    pub fn bind(
        &self,
        gpu: &Gpu,
        shape: Shape,
        a: &wgpu::Buffer,
        b: &wgpu::Buffer,
        c: &wgpu::Buffer,
    ) -> Result<GemmBinding> {
        self.bind_batched(gpu, shape, Batch::ONE, Strides::of(shape), [a, b, c])
    }

    /// Binds a batch of products of `shape` (see [`Batch`]) in one dispatch: the products'
    /// A and B `strides` apart in `a` and `b`, their C one after the other in `c`.
    pub fn bind_batched(
        &self,
        gpu: &Gpu,
        shape: Shape,
        batch: Batch,
        strides: Strides,
        buffers: [&wgpu::Buffer; 3],
    ) -> Result<GemmBinding> {
        if let Err(why) = batch.check() {
            bail!("{why}");
        }
        match &self.kind {
            Kind::Fixed { compiled, config } => {
                compiled.bind(gpu, config, shape, batch, strides, buffers)
            }
            Kind::Auto {
                registry,
                table,
                compiled,
            } => {
                let config = table
                    .choose_batched(gpu, self.layout, shape, batch, self.variant)
                    .config;
                let base = config.with_split(1);
                let existing = compiled.lock().ok().and_then(|m| m.get(&base).cloned());
                let p = match existing {
                    Some(p) => p,
                    None => {
                        let k = KernelConfig::Block(base);
                        let Some(family) = registry.family_of(&k) else {
                            bail!("no kernel family runs configuration {base}");
                        };
                        let p = build(gpu, family, &self.spec.name, &k, self.layout, self.variant)?;
                        if let Ok(mut m) = compiled.lock() {
                            m.insert(base, p.clone());
                        }
                        p
                    }
                };
                p.bind(
                    gpu,
                    &KernelConfig::Block(config),
                    shape,
                    batch,
                    strides,
                    buffers,
                )
            }
        }
    }

    /// The same compiled block configuration with another split-K factor (1..=64);
    /// `None` for other kernels. Compiles nothing.
    pub fn with_split(&self, split_k: u32) -> Option<GemmPipeline> {
        let Kind::Fixed {
            compiled,
            config: KernelConfig::Block(config),
        } = &self.kind
        else {
            return None;
        };
        if !(1..=64).contains(&split_k) {
            return None;
        }
        let config = KernelConfig::Block(config.with_split(split_k));
        let mut spec = self.spec.clone();
        spec.config = config;
        Some(GemmPipeline {
            spec,
            layout: self.layout,
            variant: self.variant,
            kind: Kind::Fixed {
                compiled: compiled.clone(),
                config,
            },
        })
    }

    /// Records one whole GEMM (all of its dispatches) into a compute pass.
    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>, binding: &GemmBinding) {
        binding.encode(pass);
    }
}
