//! The histogram decoder on arbitrary text and sample counts: any input must decode or
//! fail, never panic, and never cost more time or memory than its own size (a header
//! claiming gigabytes is refused, not allocated).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (samples, text) = match data.split_first() {
        Some((&n, rest)) => (Some(u64::from(n) + 1), rest),
        None => (None, data),
    };
    let text = String::from_utf8_lossy(text);
    if let Ok(h) = flopcost::stats::decode_histogram_for(&text, samples) {
        let bound = samples.map_or(flopcost::stats::MAX_PAYLOAD, flopcost::stats::payload_bound);
        assert!(h.iter_recorded().count() as u64 <= bound);
    }
    // The same bytes as base64, so the fuzzer reaches past the text decoding.
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, text.as_bytes());
    let _ = flopcost::stats::decode_histogram_for(&b64, samples);
});
