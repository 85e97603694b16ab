//! The kernel families flopcost has, one line each, and what the rest of the crate asks
//! of a named kernel through them: its geometry, its limits check, its recorded
//! parameters, and the tuned kernel's candidates.
//!
//! Adding a family is a file that implements [`KernelFamily`] and a line in [`FAMILIES`]
//! (a family whose parameters are of a new kind also adds that kind to
//! [`KernelConfig`]); `tests/kernel_family.rs` builds and runs an example family through
//! [`Registry::with`] to show it.

use anyhow::Result;

use super::block::Block;
use super::config::{
    BlockConfig, KernelConfig, KernelSpec, PORTABLE_BLOCK, SMALLEST_BLOCK, Variant,
};
use super::coop::Coopmat;
use super::family::{Geometry, KernelFamily};
use super::naive::Naive;
use super::shader::ShaderSource;
use super::subgroup::Subgroup;
use super::support::Caps;
use super::tiled::Tiled;
use crate::error::input_error;
use crate::types::{Layout, Precision, Shape};

/// Every family, in the order their kernels are listed and their tuning candidates tried.
pub static FAMILIES: [&dyn KernelFamily; 5] = [&Naive, &Tiled, &Block, &Subgroup, &Coopmat];

/// A set of families: the built-in ones, and any a caller adds.
#[derive(Clone)]
pub struct Registry {
    families: Vec<&'static dyn KernelFamily>,
}

impl Default for Registry {
    fn default() -> Registry {
        Registry {
            families: FAMILIES.to_vec(),
        }
    }
}

/// The tuned kernel: it has no family of its own, it chooses a block configuration.
fn tuned() -> KernelSpec {
    KernelSpec {
        name: "tuned".into(),
        config: KernelConfig::Tuned,
        hidden: false,
        description: "register-blocked family, configuration autotuned per adapter, \
                      precision, layout and shape class (see `flopcost tune`); f16 on \
                      cooperative matrices (tensor cores: 16x16x16 or 8x8x8 f16 -> f32 \
                      fragments, as the adapter offers) where the adapter has them",
    }
}

impl Registry {
    /// The built-in families plus `family`.
    pub fn with(mut self, family: &'static dyn KernelFamily) -> Registry {
        self.families.push(family);
        self
    }

    /// The family that runs `config` (`None` for the tuned kernel, which chooses).
    pub fn family_of(&self, config: &KernelConfig) -> Option<&'static dyn KernelFamily> {
        self.families.iter().copied().find(|f| f.runs(config))
    }

    /// Every kernel `--kernel` can name: the families' visible kernels, the tuned one,
    /// then the hidden self-tests.
    pub fn kernels(&self) -> Vec<KernelSpec> {
        let all: Vec<KernelSpec> = self.families.iter().flat_map(|f| f.kernels()).collect();
        let (hidden, visible): (Vec<_>, Vec<_>) = all.into_iter().partition(|k| k.hidden);
        visible
            .into_iter()
            .chain(std::iter::once(tuned()))
            .chain(hidden)
            .collect()
    }

    /// The configuration a named kernel's limits and geometry are judged by: its own, or
    /// for the tuned kernel the smallest block any tuned configuration uses (the most
    /// workgroups a tuned dispatch can need).
    fn judged(&self, spec: &KernelSpec) -> KernelConfig {
        match spec.config {
            KernelConfig::Tuned => KernelConfig::Block(SMALLEST_BLOCK),
            c => c,
        }
    }

    /// Workgroup size (x, y) and the C block (columns, rows) one workgroup covers.
    pub fn geometry(&self, spec: &KernelSpec) -> Geometry {
        let c = self.judged(spec);
        self.family_of(&c)
            .map_or(((1, 1), (1, 1)), |f| f.geometry(&c))
    }

    /// Workgroups to dispatch for a shape.
    pub fn dispatch(&self, spec: &KernelSpec, s: Shape) -> (u32, u32, u32) {
        let (_, (bx, by)) = self.geometry(spec);
        (s.n.div_ceil(bx), s.m.div_ceil(by), 1)
    }

    /// Whether the kernel fits an adapter's limits; `Err` says why not.
    pub fn check(&self, spec: &KernelSpec, limits: &wgpu::Limits) -> Result<(), String> {
        let c = self.judged(spec);
        match self.family_of(&c) {
            Some(f) => f.check(&c, limits),
            None => Err(format!("no kernel family runs kernel '{}'", spec.name)),
        }
    }

    /// The parameters recorded in the result file.
    pub fn params(&self, spec: &KernelSpec) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        match spec.config {
            // The tuned kernel's record names the configuration that ran; here only its
            // workgroup bound.
            KernelConfig::Tuned => {
                let ((x, y), _) = self.geometry(spec);
                m.insert("workgroup_x".into(), x.into());
                m.insert("workgroup_y".into(), y.into());
            }
            c => {
                if let Some(f) = self.family_of(&c) {
                    for (k, v) in f.params(&c) {
                        m.insert(k.into(), v);
                    }
                }
            }
        }
        m
    }

    /// The tuned kernel's base configurations of `variant` that fit the adapter, in the
    /// families' order of preference.
    pub fn candidates(&self, caps: &Caps, variant: Variant) -> Vec<BlockConfig> {
        self.families
            .iter()
            .flat_map(|f| f.candidates(caps, variant))
            .filter(|c| {
                let k = KernelConfig::Block(*c);
                self.family_of(&k).is_some_and(|f| {
                    f.check(&k, &caps.limits).is_ok() && f.needs(&k, caps, variant).is_ok()
                })
            })
            .collect()
    }

    /// Every shader the families may compile on an adapter of `caps`: each configuration
    /// the tuned kernel may choose (its candidates and the portable block it falls back
    /// to) and each named kernel, in every layout and in each precision and path the
    /// adapter allows (f16 where it has f16 in shaders, cooperative matrices where
    /// [`super::support::support_in`] accepts them), and the split-K reduction; each once.
    pub fn shaders(&self, caps: &Caps) -> Vec<ShaderSource> {
        let mut variants = vec![Variant::simt(Precision::F32)];
        if caps.features.contains(wgpu::Features::SHADER_F16) {
            variants.push(Variant::simt(Precision::F16));
            if super::support::support_in(caps).is_ok() {
                variants.push(Variant {
                    precision: Precision::F16,
                    coopmat: true,
                });
            }
        }
        let mut configs: Vec<(KernelConfig, Variant)> = Vec::new();
        for &v in &variants {
            for c in self.candidates(caps, v) {
                configs.push((KernelConfig::Block(c.with_split(1)), v));
            }
            if !v.coopmat {
                let portable = KernelConfig::Block(PORTABLE_BLOCK.with_precision(v.precision));
                configs.push((portable, v));
                for spec in self.kernels() {
                    match spec.config {
                        KernelConfig::Tuned => {}
                        KernelConfig::Block(b) => {
                            configs.push((KernelConfig::Block(b.with_precision(v.precision)), v))
                        }
                        c => configs.push((c, v)),
                    }
                }
            }
        }
        let mut out: Vec<ShaderSource> = Vec::new();
        for (config, v) in configs {
            let Some(f) = self.family_of(&config) else {
                continue;
            };
            if f.check(&config, &caps.limits).is_err() || f.needs(&config, caps, v).is_err() {
                continue;
            }
            for layout in Layout::ALL {
                if let Ok(s) = f.shader(&config, layout, v)
                    && !out
                        .iter()
                        .any(|o| o.source == s.source && o.constants == s.constants)
                {
                    out.push(s);
                }
            }
        }
        out.push(super::blocked::reduce_shader());
        out
    }

    /// Looks up kernels by name; an unknown name is bad input.
    pub fn lookup(&self, names: &[String]) -> anyhow::Result<Vec<KernelSpec>> {
        let all = self.kernels();
        let mut out: Vec<KernelSpec> = Vec::new();
        for name in names {
            let spec = all.iter().find(|k| k.name == *name).ok_or_else(|| {
                let known: Vec<&str> = all
                    .iter()
                    .filter(|k| !k.hidden)
                    .map(|k| k.name.as_str())
                    .collect();
                input_error(format!(
                    "unknown kernel '{name}'; known kernels: {}",
                    known.join(", ")
                ))
            })?;
            if !out.contains(spec) {
                out.push(spec.clone());
            }
        }
        Ok(out)
    }
}

/// Every kernel `--kernel` can name.
pub fn registry() -> Vec<KernelSpec> {
    Registry::default().kernels()
}

/// Looks up kernels by name; an unknown name is bad input.
pub fn lookup(names: &[String]) -> anyhow::Result<Vec<KernelSpec>> {
    Registry::default().lookup(names)
}

/// The kernels run when `--kernel` is not given: the naive baseline and the tuned
/// family. `tiled` and `block` (fixed configurations) run when named.
pub fn default_kernels() -> Vec<KernelSpec> {
    registry()
        .into_iter()
        .filter(|k| ["naive", "tuned"].contains(&k.name.as_str()))
        .collect()
}

/// Workgroups to dispatch `spec` for a shape.
pub fn dispatch(spec: &KernelSpec, s: Shape) -> (u32, u32, u32) {
    Registry::default().dispatch(spec, s)
}

/// The parameters recorded for `spec`.
pub fn params(spec: &KernelSpec) -> serde_json::Map<String, serde_json::Value> {
    Registry::default().params(spec)
}

/// Whether `spec` fits an adapter's limits.
pub fn check(spec: &KernelSpec, limits: &wgpu::Limits) -> Result<(), String> {
    Registry::default().check(spec, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_covers_every_output() {
        let k = &registry()[1];
        assert_eq!(k.name, "tiled");
        let s = Shape::new(127, 1, 255);
        let (x, y, _) = dispatch(k, s);
        let (_, (bx, by)) = Registry::default().geometry(k);
        assert!(x * bx >= s.n && (x - 1) * bx < s.n);
        assert!(y * by >= s.m && (y - 1) * by < s.m);
    }

    #[test]
    fn kernels_are_listed_as_before() {
        let names: Vec<String> = registry().into_iter().map(|k| k.name).collect();
        assert_eq!(
            names,
            ["naive", "tiled", "block", "tuned", "faulty", "faulty-tile"]
        );
        for k in registry() {
            let c = k.config;
            assert!(
                k.is_tuned() || Registry::default().family_of(&c).is_some(),
                "{}",
                k.name
            );
        }
    }
}
