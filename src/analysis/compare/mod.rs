//! Side-by-side comparison of result files, and the sentence a buyer can quote.
//!
//! A headline is only ever about a named, fixed workload: both files must have run the
//! same workload (name, version and digest of its definition), verified all of it and
//! finished, in the same major version of the result schema; otherwise the comparison
//! says "no headline" and why, and still shows the matched records. The headline's
//! interval covers the variation between repetitions as well as within a run
//! ([`crate::stats::repeated`]). Every cost figure names its basis, and no column mixes
//! bases. This module builds the comparison; the exporters in [`super::export`]
//! present it.

//!
//! The model is in `model.rs`; matching, statistics, refusals, rows and the verdict each
//! have their file, and `build.rs` puts them together.

mod build;
mod matching;
mod model;
mod refusals;
mod rows;
mod statistics;
mod verdict;

pub use build::build;
pub use model::*;
pub use refusals::unfit;
pub use rows::paths_of;
pub use statistics::geo_mean;

#[cfg(test)]
mod tests;
