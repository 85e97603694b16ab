//! Measured power in result files: the types live with the sampler that fills them
//! ([`crate::measure::power`]), below this module.

pub use crate::measure::power::record::{PhasePower, PowerSection};
