//! The price-file reader (TOML and JSON) on arbitrary bytes: any input must give a price
//! file or an input error naming the file, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for json in [false, true] {
        match flopcost::cost::price::PriceFile::parse(data, "fuzz.toml", json) {
            Ok(prices) => {
                // Every accepted entry is usable: looking it up by its own key works.
                for key in prices.machines.keys() {
                    assert!(prices.lookup(key).is_some(), "{key:?} not found");
                }
            }
            Err(e) => assert!(
                e.chain().any(|c| c.is::<flopcost::error::InputError>()),
                "a reader error must be an input error: {e:#}"
            ),
        }
    }
});
