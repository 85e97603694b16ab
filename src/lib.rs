//! flopcost: what a unit of neural-network training work costs on a given accelerator.
//!
//! The top-level modules form layers that import one way: each may use only the modules
//! listed before it (`tests/layers.rs` reads every `crate::` path and fails otherwise).
//!
//! 1. [`error`]: the error kinds that decide the exit code.
//! 2. [`util`]: formatting, safe file reading and writing, host memory, slugs.
//! 3. [`types`]: the shared vocabulary (shape, layout, precision and its tolerance,
//!    kernel path, timing method, dense layer and its training triplet).
//! 4. [`interrupt`]: Ctrl-C and SIGTERM.
//! 5. [`stats`]: pure statistics of samples.
//! 6. [`verify`]: the f64 reference and the checks against it.
//! 7. [`gpu`]: adapters, the device, buffers, waits with a watchdog, timestamp queries.
//! 8. [`measure`]: the one sampling contract every timed loop goes through.
//! 9. [`kernels`]: the GEMM kernels, their problems, tuning and its cache.
//! 10. [`result`]: the result file's types, reader, writer and validation.
//! 11. [`provenance`]: what a file says about the tool, the host and the adapter.
//! 12. [`cost`]: the catalog, prices and the cost model.
//! 13. [`workloads`]: suites, the runner, peaks and training.
//! 14. [`analysis`]: result files read, validated and priced, and the comparison, fleet
//!     and leaderboard models built from them.
//! 15. [`report`]: rendering: tables, exports of the models, progress.
//! 16. [`cli`]: the command line and its validated plans.
//! 17. [`commands`]: one module per subcommand.
//!
//! Data flows the same way: [`cli`] builds a plan; [`gpu`] opens the device;
//! [`workloads`] runs each benchmark through a kernel from [`kernels`], checks it with
//! [`verify`] and times it through [`measure`]; [`result`] stores the records in a file
//! rewritten atomically after each one; [`report`] shows them.

pub mod analysis;
pub mod cli;
pub mod commands;
pub mod cost;
pub mod error;
pub mod gpu;
pub mod interrupt;
pub mod kernels;
pub mod measure;
pub mod provenance;
pub mod report;
pub mod result;
pub mod stats;
pub mod types;
pub mod util;
pub mod verify;
pub mod workloads;

/// The order of the layers above, lowest first, as `tests/layers.rs` checks it.
pub const LAYERS: [&str; 17] = [
    "error",
    "util",
    "types",
    "interrupt",
    "stats",
    "verify",
    "gpu",
    "measure",
    "kernels",
    "result",
    "provenance",
    "cost",
    "workloads",
    "analysis",
    "report",
    "cli",
    "commands",
];
