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

/// The V2 format's cookies (the HdrHistogram interchange format; 0x10 is the word-size
/// flag the format sets).
const V2_COOKIE: u32 = 0x1c84_9303 | 0x10;
const V2_DEFLATE_COOKIE: u32 = 0x1c84_9304 | 0x10;

/// Bytes of a V2 header: cookie, payload length, normalizing offset, digits, lowest and
/// highest trackable value, integer-to-double ratio.
const V2_HEADER: usize = 40;

/// The most payload bytes a histogram of `samples` samples can need: each distinct value
/// is at most one 9-byte varint and the run of empty buckets before it another.
pub fn payload_bound(samples: u64) -> u64 {
    18u64.saturating_mul(samples.saturating_add(8))
}

/// The largest payload any histogram may have, whatever its sample count claims.
pub const MAX_PAYLOAD: u64 = 1 << 20;

/// The most payload bytes a histogram encoded in `encoded` characters may inflate to. The
/// counts of real histograms compress by less than 2 (the published files: at most 1.35
/// inflated bytes per base64 character); padding of empty counts compresses a
/// thousandfold. Bounding each histogram by its own size bounds the decoding work of a
/// whole file by the file's size: at most 64 bytes inflated per byte read, plus 4 KiB per
/// histogram.
pub fn inflation_bound(encoded: usize) -> u64 {
    64 * encoded as u64 + 4096
}

/// Reads back a histogram written by [`encode_histogram`], at a cost proportional to its
/// encoded size: the compressed payload is inflated under a bound ([`MAX_PAYLOAD`], or
/// what `samples` samples can need), the header must describe exactly the bytes that
/// came out, and its range and precision must be ones flopcost writes (values up to
/// 2^62 ns, at most 3 significant digits), so no header can make the decoder allocate
/// more than the file holds.
pub fn decode_histogram(s: &str) -> Result<Histogram<u64>> {
    decode_histogram_for(s, None)
}

/// [`decode_histogram`] for a histogram that should hold `samples` samples.
pub fn decode_histogram_for(s: &str, samples: Option<u64>) -> Result<Histogram<u64>> {
    use std::io::Read;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .context("histogram is not valid base64")?;
    let u32_at = |b: &[u8], i: usize| -> Option<u32> {
        b.get(i..i + 4)
            .map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))
    };
    let u64_at = |b: &[u8], i: usize| -> Option<u64> {
        b.get(i..i + 8).map(|x| {
            let mut a = [0u8; 8];
            a.copy_from_slice(x);
            u64::from_be_bytes(a)
        })
    };
    let limit = samples
        .map_or(MAX_PAYLOAD, |n| payload_bound(n).min(MAX_PAYLOAD))
        .min(inflation_bound(s.len())) as usize;
    let v2: Vec<u8> = match u32_at(&bytes, 0) {
        Some(V2_DEFLATE_COOKIE) => {
            let len = u32_at(&bytes, 4).context("histogram is truncated")? as usize;
            let body = bytes
                .get(8..8 + len)
                .context("histogram is shorter than its header says")?;
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(body)
                .take((V2_HEADER + limit + 1) as u64)
                .read_to_end(&mut out)
                .context("histogram does not inflate")?;
            out
        }
        Some(V2_COOKIE) => bytes,
        _ => anyhow::bail!("histogram is not in the HdrHistogram V2 format"),
    };
    anyhow::ensure!(
        u32_at(&v2, 0) == Some(V2_COOKIE) && v2.len() >= V2_HEADER,
        "histogram does not hold a V2 histogram"
    );
    let payload = v2.len() - V2_HEADER;
    anyhow::ensure!(
        payload <= limit,
        "histogram holds more than {limit} bytes of counts, more than {} need",
        samples.map_or("any histogram flopcost reads".to_string(), |n| format!(
            "{n} samples"
        ))
    );
    anyhow::ensure!(
        u32_at(&v2, 4).map(|l| l as usize) == Some(payload),
        "histogram header claims a payload of {} bytes; it holds {payload}",
        u32_at(&v2, 4).unwrap_or(0)
    );
    let digits = u32_at(&v2, 12).unwrap_or(u32::MAX);
    let (low, high) = (u64_at(&v2, 16).unwrap_or(0), u64_at(&v2, 24).unwrap_or(0));
    anyhow::ensure!(
        (1..=u32::from(HISTOGRAM_SIGFIG)).contains(&digits) && low >= 1 && high <= 1 << 62,
        "histogram's range or precision is not one flopcost writes ({digits} digits, {low} to \
         {high})"
    );
    Deserializer::new()
        .deserialize(&mut v2.as_slice())
        .map_err(|e| anyhow::anyhow!("histogram does not decode: {e:?}"))
}

/// What a histogram says about the exact samples it was made from. Each sample was rounded
/// to a whole ns (at least 1) and recorded in a bucket of [`HISTOGRAM_SIGFIG`] digits, so
/// the k-th smallest sample lies in the k-th recorded bucket, widened by half a ns. A
/// summary computed from the exact samples ([`summarize`]) must fall within the bounds
/// these give, whatever the samples were: that is how a file's percentiles, mean and
/// spread are checked against the histogram it carries.
#[derive(Clone, Debug)]
pub struct Ranks {
    /// Per recorded bucket, ascending: the lowest and highest value a sample in it can
    /// have had (ns), and the count of samples up to and including it.
    buckets: Vec<(f64, f64, u64)>,
}

impl Ranks {
    pub fn of(h: &Histogram<u64>) -> Ranks {
        let mut cum = 0;
        let buckets = h
            .iter_recorded()
            .map(|v| {
                let at = v.value_iterated_to();
                cum += v.count_at_value();
                let lo = h.lowest_equivalent(at);
                // A sample recorded as 1 ns may have been anything below 1.5 ns.
                let low = if lo <= 1 { 0.0 } else { lo as f64 - 0.5 };
                (low, h.highest_equivalent(at) as f64 + 0.5, cum)
            })
            .collect();
        Ranks { buckets }
    }

    /// How many samples the histogram holds.
    pub fn len(&self) -> u64 {
        self.buckets.last().map_or(0, |b| b.2)
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Bounds of the `rank`-th smallest sample (1-based).
    pub fn rank(&self, rank: u64) -> (f64, f64) {
        let i = self.buckets.partition_point(|b| b.2 < rank);
        let b = self.buckets[i.min(self.buckets.len() - 1)];
        (b.0, b.1)
    }

    /// Bounds of the nearest-rank percentile `q` ([`percentile`]).
    pub fn percentile(&self, q: f64) -> (f64, f64) {
        let n = self.len();
        let rank = (q * n as f64).ceil() as u64;
        self.rank(rank.clamp(1, n))
    }

    /// Bounds of the median ([`median`]: the mean of the middle two for an even count).
    pub fn median(&self) -> (f64, f64) {
        let n = self.len();
        if n % 2 == 1 {
            self.rank(n / 2 + 1)
        } else {
            let (a, b) = (self.rank(n / 2), self.rank(n / 2 + 1));
            (0.5 * (a.0 + b.0), 0.5 * (a.1 + b.1))
        }
    }

    /// Bounds of the mean.
    pub fn mean(&self) -> (f64, f64) {
        let n = self.len() as f64;
        let (mut lo, mut hi, mut prev) = (0.0, 0.0, 0);
        for &(l, h, cum) in &self.buckets {
            let c = (cum - prev) as f64;
            prev = cum;
            lo += l * c;
            hi += h * c;
        }
        (lo / n, hi / n)
    }

    /// The sample standard deviation of the buckets' middles, and how far the exact
    /// samples' can be from it: moving each sample by at most w_i moves the standard
    /// deviation by at most sqrt(Σ w_i² / (n − 1)) (it is a norm of the centred samples
    /// over √(n − 1)).
    pub fn stddev(&self) -> (f64, f64) {
        let n = self.len();
        if n < 2 {
            return (0.0, 0.0);
        }
        let (mut prev, mut sum) = (0, 0.0);
        let mids: Vec<(f64, f64, f64)> = self
            .buckets
            .iter()
            .map(|&(l, h, cum)| {
                let c = (cum - prev) as f64;
                prev = cum;
                sum += 0.5 * (l + h) * c;
                (0.5 * (l + h), 0.5 * (h - l), c)
            })
            .collect();
        let mean = sum / n as f64;
        let (mut var, mut slack) = (0.0, 0.0);
        for (mid, w, c) in mids {
            var += c * (mid - mean) * (mid - mean);
            slack += c * w * w;
        }
        let d = (n - 1) as f64;
        ((var / d).sqrt(), (slack / d).sqrt())
    }
}

/// Whether `v` lies within `bounds`, allowing a relative 1e-9 for rounding in the file.
pub fn within(v: f64, (lo, hi): (f64, f64)) -> bool {
    let slack = 1e-9 * v.abs();
    v.is_finite() && v >= lo - slack && v <= hi + slack
}

/// The geometric mean of positive values (`None` for none, or any not positive and finite).
pub fn geo_mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty() && v.iter().all(|x| x.is_finite() && *x > 0.0))
        .then(|| (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp())
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

    proptest::proptest! {
        /// The summary of any samples lies within the bounds their histogram gives.
        #[test]
        fn a_summary_lies_within_its_histograms_bounds(
            raw in proptest::collection::vec(0.2f64..1e7, 1..300),
            spread in 0u32..3,
        ) {
            let v: Vec<f64> = raw.iter().map(|x| x.powi(spread as i32 + 1) % 1e9 + 0.3).collect();
            let s = summarize(&v).unwrap();
            let r = Ranks::of(&histogram(&v).unwrap());
            proptest::prop_assert_eq!(r.len(), s.samples);
            proptest::prop_assert!(within(s.min, r.rank(1)));
            proptest::prop_assert!(within(s.max, r.rank(s.samples)));
            proptest::prop_assert!(within(s.p10, r.percentile(0.10)));
            proptest::prop_assert!(within(s.p90, r.percentile(0.90)));
            proptest::prop_assert!(within(s.p99, r.percentile(0.99)));
            proptest::prop_assert!(within(s.median, r.median()));
            proptest::prop_assert!(within(s.mean, r.mean()));
            let (sd, slack) = r.stddev();
            proptest::prop_assert!((s.stddev - sd).abs() <= slack * (1.0 + 1e-9) + 1e-9);
        }
    }

    #[test]
    fn a_median_moved_to_the_fastest_sample_is_outside_its_bounds() {
        let v: Vec<f64> = (0..200).map(|i| 1e6 + 1e3 * f64::from(i)).collect();
        let s = summarize(&v).unwrap();
        let r = Ranks::of(&histogram(&v).unwrap());
        assert!(within(s.median, r.median()));
        assert!(!within(s.min, r.median()));
        assert!(!within(0.9 * s.mean, r.mean()));
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
        // A tight bound from the sample count still admits the real histogram.
        assert!(decode_histogram_for(&encode_histogram(&h).unwrap(), Some(4)).is_ok());
    }

    /// A V2-deflate histogram whose inner header claims `claimed` payload bytes.
    fn bomb(claimed: u32) -> String {
        use std::io::Write;
        let mut v2 = Vec::new();
        v2.extend(V2_COOKIE.to_be_bytes());
        v2.extend(claimed.to_be_bytes());
        v2.extend(0u32.to_be_bytes());
        v2.extend(3u32.to_be_bytes());
        v2.extend(1u64.to_be_bytes());
        v2.extend(1_000_000u64.to_be_bytes());
        v2.extend(1.0f64.to_be_bytes());
        v2.extend([2u8, 0, 2]);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&v2).unwrap();
        let body = z.finish().unwrap();
        let mut out = Vec::new();
        out.extend(V2_DEFLATE_COOKIE.to_be_bytes());
        out.extend((body.len() as u32).to_be_bytes());
        out.extend(body);
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    #[test]
    fn a_histogram_cannot_claim_more_than_it_holds() {
        let e = decode_histogram(&bomb(u32::MAX)).unwrap_err();
        assert!(format!("{e:#}").contains("claims a payload"), "{e:#}");
        // A payload that really is larger than the bound is refused while inflating.
        let zeros = vec![0u8; 4 << 20];
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut z, &zeros).unwrap();
        let body = z.finish().unwrap();
        let mut raw = Vec::new();
        raw.extend(V2_DEFLATE_COOKIE.to_be_bytes());
        raw.extend((body.len() as u32).to_be_bytes());
        raw.extend(body);
        let s = base64::engine::general_purpose::STANDARD.encode(raw);
        assert!(decode_histogram(&s).is_err());
        // Within the bound but beyond what 4 samples need.
        let many = histogram(&(1..2000).map(|i| i as f64 * 7.0).collect::<Vec<_>>()).unwrap();
        let enc = encode_histogram(&many).unwrap();
        assert!(decode_histogram(&enc).is_ok());
        assert!(decode_histogram_for(&enc, Some(4)).is_err());
    }

    proptest::proptest! {
        /// Any bytes, and any corruption of a real histogram, decode or fail: never a
        /// panic, and never a histogram holding more counts than the bound allows.
        #[test]
        fn the_decoder_holds_on_any_input(
            raw in proptest::collection::vec(proptest::num::u8::ANY, 0..256),
            flips in proptest::collection::vec((0usize..4096, proptest::num::u8::ANY), 0..8),
            samples in 1u64..64,
        ) {
            let b64 = base64::engine::general_purpose::STANDARD;
            let _ = decode_histogram_for(&b64.encode(&raw), Some(samples));
            let v: Vec<f64> = (1..=samples).map(|i| (i * 997) as f64).collect();
            let good = b64.decode(encode_histogram(&histogram(&v).unwrap()).unwrap()).unwrap();
            let mut bad = good.clone();
            for (at, x) in flips {
                let n = bad.len();
                bad[at % n] ^= x;
            }
            if let Ok(h) = decode_histogram_for(&b64.encode(&bad), Some(samples)) {
                proptest::prop_assert!(h.iter_recorded().count() as u64 <= payload_bound(samples));
            }
            let h = decode_histogram_for(&b64.encode(&good), Some(samples)).unwrap();
            proptest::prop_assert_eq!(h.len(), samples);
        }
    }
}
