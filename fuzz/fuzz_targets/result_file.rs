//! The result-file reader and validator on arbitrary bytes: any input must give a result
//! file or an input error, never a panic, a hang or unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match flopcost::result::parse(data, "fuzz.json") {
        Ok(file) => {
            // Whatever parses must survive the validator, re-serialisation and re-reading.
            let _ = flopcost::result::validate::problems(&file);
            let bytes = serde_json::to_vec(&file).expect("a parsed file serialises");
            let again = flopcost::result::parse(&bytes, "again.json").expect("round trip");
            assert_eq!(again, file);
        }
        Err(e) => assert!(
            e.chain().any(|c| c.is::<flopcost::error::InputError>()),
            "a reader error must be an input error: {e:#}"
        ),
    }
});
