//! The cost formulas (docs/cost.md), as pure functions: numbers
//! in, numbers out, so they can be checked by property tests (units, monotonicity) apart
//! from any file or flag.
//!
//! Units: prices in USD, power in W, throughput in TFLOP/s (10¹² FLOP/s), work in PFLOP
//! (10¹⁵ FLOP). One hour at R TFLOP/s does 3600 · R · 10¹² FLOP = 3.6 · R PFLOP.

/// Hours in a year: 365.25 days of 24 hours (the Julian year, so leap years average out).
pub const HOURS_PER_YEAR: f64 = 8766.0;

/// PFLOP done in one hour at one TFLOP/s.
pub const PFLOP_PER_TFLOPS_HOUR: f64 = 3.6;

/// Defaults for the ownership inputs nobody gave, stated in `--help` and in every output
/// that uses them (source `default`).
pub mod defaults {
    /// Years over which a purchase is written off: a common depreciation period for
    /// accelerator servers.
    pub const LIFETIME_YEARS: f64 = 4.0;
    /// Fraction of the hours in which the accelerator does paid work.
    pub const UTILIZATION: f64 = 0.8;
    /// Electricity price, USD per kWh.
    pub const USD_PER_KWH: f64 = 0.12;
    /// Power usage effectiveness: facility power over IT power.
    pub const PUE: f64 = 1.3;
}

/// Ownership price per hour of paid work: the purchase spread over the hours the
/// accelerator works in its lifetime, plus the facility's energy for one hour:
/// `capex / (lifetime_years · 8766 · utilization) + watts / 1000 · pue · usd_per_kwh`.
pub fn ownership_usd_per_hour(
    capex_usd: f64,
    lifetime_years: f64,
    utilization: f64,
    watts: f64,
    pue: f64,
    usd_per_kwh: f64,
) -> f64 {
    capex_usd / (lifetime_years * HOURS_PER_YEAR * utilization) + watts / 1000.0 * pue * usd_per_kwh
}

/// USD per 10¹⁵ FLOP at `tflops`: `usd_per_hour / (3.6 · tflops)`.
pub fn usd_per_pflop(usd_per_hour: f64, tflops: f64) -> f64 {
    usd_per_hour / (PFLOP_PER_TFLOPS_HOUR * tflops)
}

/// Board energy per 10¹⁵ FLOP at `tflops`: one PFLOP takes 1000 / tflops seconds, so
/// `watts · 1000 / tflops` joules.
pub fn joules_per_pflop(watts: f64, tflops: f64) -> f64 {
    watts * 1000.0 / tflops
}

/// USD per million tokens at `tokens_per_second`: `usd_per_hour / (3600 ·
/// tokens_per_second) · 10⁶`.
pub fn usd_per_million_tokens(usd_per_hour: f64, tokens_per_second: f64) -> f64 {
    usd_per_hour / (3600.0 * tokens_per_second) * 1e6
}

/// Board energy per million tokens at `tokens_per_second`: `watts / tokens_per_second ·
/// 10⁶` joules.
pub fn joules_per_million_tokens(watts: f64, tokens_per_second: f64) -> f64 {
    watts / tokens_per_second * 1e6
}

/// Measured over peak throughput.
pub fn efficiency(measured_tflops: f64, peak_tflops: f64) -> f64 {
    measured_tflops / peak_tflops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_examples() {
        // $2.49/h at 500 TFLOP/s: 1800 PFLOP per hour, so 0.00138 $/PFLOP.
        assert!((usd_per_pflop(2.49, 500.0) - 2.49 / 1800.0).abs() < 1e-15);
        // 700 W at 700 TFLOP/s: one PFLOP in 1/0.7 s, 1000 J.
        assert!((joules_per_pflop(700.0, 700.0) - 1000.0).abs() < 1e-9);
        // $30000 over 4 years at full use is $0.8556/h; 700 W at PUE 1.3 and $0.10 adds $0.091.
        let h = ownership_usd_per_hour(30000.0, 4.0, 1.0, 700.0, 1.3, 0.10);
        assert!((h - (30000.0 / 35064.0 + 0.091)).abs() < 1e-12);
        // $3.60/h at 1000 tokens/s: 3.6e6 tokens per hour, so $1 per million tokens;
        // 500 W at 1000 tokens/s is 0.5 J per token.
        assert!((usd_per_million_tokens(3.6, 1000.0) - 1.0).abs() < 1e-12);
        assert!((joules_per_million_tokens(500.0, 1000.0) - 5e5).abs() < 1e-6);
    }
}
