//! Summary statistics of timing samples. Pure functions: numbers in, numbers out.
//!
//! Percentiles are taken from the exact samples (nearest-rank on the sorted values);
//! the HDR histogram (3 significant digits, values in ns) is kept alongside so files can
//! be merged and re-summarised later without the raw samples.

pub mod bootstrap;
pub mod repeated;

use anyhow::{Context, Result};
use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

/// Significant decimal digits kept by the histograms (0.1% resolution).
pub const HISTOGRAM_SIGFIG: u8 = 3;

/// Name of the serialization used for `timing.histogram`.
pub const HISTOGRAM_FORMAT: &str = "hdrhistogram-v2-deflate-base64";

/// Coefficient of variation above which a record is called noisy.
pub const NOISY_CV: f64 = 0.10;

/// Summary of one set of samples, in ns.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub samples: u64,
    pub min: f64,
    pub p10: f64,
    pub median: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
    pub stddev: f64,
    /// stddev / mean.
    pub cv: f64,
}

/// Nearest-rank percentile of sorted values, `q` in [0, 1].
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    assert!(!sorted.is_empty(), "percentile of no samples");
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Median of sorted values (mean of the middle two for an even count).
pub fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    assert!(n > 0, "median of no samples");
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
    }
}

/// Summarises samples; `None` for an empty set.
pub fn summarize(samples: &[f64]) -> Option<Summary> {
    if samples.is_empty() {
        return None;
    }
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len() as f64;
    let mean = s.iter().sum::<f64>() / n;
    let var = if s.len() > 1 {
        s.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    let stddev = var.sqrt();
    Some(Summary {
        samples: s.len() as u64,
        min: s[0],
        p10: percentile(&s, 0.10),
        median: median(&s),
        p90: percentile(&s, 0.90),
        p99: percentile(&s, 0.99),
        max: s[s.len() - 1],
        mean,
        stddev,
        cv: if mean > 0.0 { stddev / mean } else { 0.0 },
    })
}

/// An HDR histogram of samples in ns (each rounded to a whole ns, at least 1).
pub fn histogram(samples: &[f64]) -> Result<Histogram<u64>> {
    let mut h = Histogram::<u64>::new(HISTOGRAM_SIGFIG).context("creating a histogram")?;
    for &v in samples {
        h.record(v.round().max(1.0) as u64)
            .context("recording a sample")?;
    }
    Ok(h)
}

/// Serializes a histogram as base64 of the compressed V2 format (the HdrHistogram
/// interchange format, readable by its Java, C, Go and Python ports).
pub fn encode_histogram(h: &Histogram<u64>) -> Result<String> {
    let mut buf = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut buf)
        .map_err(|e| anyhow::anyhow!("serializing a histogram: {e:?}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(buf))
}

/// Reads back a histogram written by [`encode_histogram`].
pub fn decode_histogram(s: &str) -> Result<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .context("histogram is not valid base64")?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| anyhow::anyhow!("histogram does not decode: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_known_values() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let s = summarize(&v).unwrap();
        assert_eq!(s.samples, 10);
        assert_eq!((s.min, s.max), (1.0, 10.0));
        assert_eq!(s.median, 5.5);
        assert_eq!(s.p10, 1.0);
        assert_eq!(s.p90, 9.0);
        assert_eq!(s.p99, 10.0);
        assert!((s.mean - 5.5).abs() < 1e-12);
        assert!((s.stddev - 3.0277).abs() < 1e-4);
        assert!(summarize(&[]).is_none());
        let one = summarize(&[7.0]).unwrap();
        assert_eq!((one.median, one.stddev, one.cv), (7.0, 0.0, 0.0));
    }

    #[test]
    fn percentiles_are_ordered() {
        let v: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1000) as f64 + 0.5)
            .collect();
        let s = summarize(&v).unwrap();
        assert!(s.min <= s.p10 && s.p10 <= s.median && s.median <= s.p90);
        assert!(s.p90 <= s.p99 && s.p99 <= s.max);
    }

    #[test]
    fn histograms_round_trip() {
        let v = [1000.0, 1500.0, 1_000_000.0, 2.4e9];
        let h = histogram(&v).unwrap();
        let back = decode_histogram(&encode_histogram(&h).unwrap()).unwrap();
        assert_eq!(back.len(), 4);
        assert_eq!(back.min(), h.min());
        assert_eq!(back.max(), h.max());
        assert!(decode_histogram("not base64!").is_err());
        assert!(decode_histogram("AAAA").is_err());
    }
}
