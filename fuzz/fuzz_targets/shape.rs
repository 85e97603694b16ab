//! The `--shape` parser on arbitrary strings: a shape with every dimension >= 1 whose
//! display parses back to itself, or an input error; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match flopcost::types::Shape::parse(text) {
        Ok(s) => {
            assert!(s.m >= 1 && s.n >= 1 && s.k >= 1);
            assert_eq!(flopcost::types::Shape::parse(&s.to_string()).unwrap(), s);
            assert_eq!(s.flops(), 2 * u64::from(s.m) * u64::from(s.n) * u64::from(s.k));
        }
        Err(e) => assert!(e.chain().any(|c| c.is::<flopcost::error::InputError>())),
    }
});
