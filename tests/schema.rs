//! The committed JSON Schema must match the Rust types it is generated from.

#[test]
fn committed_schema_matches_the_types() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/results/schema.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = flopcost::result::schema_json();
    assert!(
        committed == generated,
        "results/schema.json is stale; regenerate it with `cargo run -- schema > results/schema.json`"
    );
}
