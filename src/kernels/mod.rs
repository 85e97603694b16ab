//! GEMM kernels: what each one computes, what it needs from the adapter, and how to
//! dispatch it.
//!
//! The files import one way (`tests/layers.rs` checks that no two reach each other),
//! lowest first:
//! - vocabulary: [`config`] (variants, configurations, named kernels) and [`support`]
//!   (what an adapter offers); [`precision`] (the f16 plan and f16 shader text) and
//!   [`shader`] (compiling);
//! - [`family`]: the one trait every kernel family implements, and a problem's binding;
//! - what families share: [`single`] (one-dispatch kernels) and [`blocked`]
//!   (register-blocked kernels with split-K);
//! - one file per family: [`naive`], [`tiled`], [`block`], [`subgroup`], [`coop`]
//!   (cooperative matrices);
//! - [`registry`]: the families, one line each, and the named kernels;
//! - selection and tuning, which know the families only through the trait: [`cache`]
//!   (the tuning cache on disk), [`table`] (candidates, the default, the tuned winners),
//!   [`pipeline`] (a named kernel compiled for a layout), [`problem`] (a problem's
//!   buffers and reference), [`tune`] (the tuner) and [`probe`] (checks before a run).
//!
//! This file declares the modules and re-exports the names the rest of the crate uses.

pub mod block;
pub mod blocked;
pub mod cache;
pub mod config;
pub mod coop;
pub mod family;
pub mod naive;
pub mod pipeline;
pub mod precision;
pub mod probe;
pub mod problem;
pub mod registry;
pub mod shader;
pub mod single;
pub mod subgroup;
pub mod support;
pub mod table;
pub mod tiled;
pub mod tune;

pub use config::{
    BlockConfig, Fault, KernelConfig, KernelSpec, PORTABLE_BLOCK, SMALLEST_BLOCK, TileConfig,
    Variant,
};
pub use family::{Compiled, GemmBinding, KernelFamily};
pub use pipeline::GemmPipeline;
pub use problem::Problem;
pub use registry::{Registry, default_kernels, lookup, registry};
pub use shader::ShaderSource;
pub use support::Caps;
pub use tiled::DEFAULT_TILE;
