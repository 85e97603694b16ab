//! How ratios read, how files are labelled, and which schema versions share a headline.

use super::matching::labels;
use super::refusals::schema_major;
use crate::util::fmt::{fmt_change, fmt_ratio};

#[test]
fn changes_and_ratios_read_as_in_the_sentence() {
    assert_eq!(fmt_ratio(0.8), "0.80×");
    assert_eq!(fmt_change(0.8), "−20%");
    assert_eq!(fmt_change(1.034), "+3%");
    assert_eq!(fmt_change(1.001), "±0%");
}

#[test]
fn labels_are_stems_unless_they_repeat() {
    let l = labels(&["a/x.json".into(), "b/x.json".into()]);
    assert_eq!(l, ["a/x.json", "b/x.json"]);
    let l = labels(&["a/x.json".into(), "b/y.json".into()]);
    assert_eq!(l, ["x", "y"]);
}

#[test]
fn schema_majors_are_read_from_the_id() {
    assert_eq!(schema_major("flopcost/result/v1"), Some(1));
    assert_eq!(schema_major("flopcost/result/v2.1"), Some(2));
    assert_eq!(schema_major("other"), None);
}
