//! The plans the arguments become, checked without a GPU.

use anyhow::Result;
use clap::Parser;

use super::*;
use crate::error::input_error;
use crate::types::Shape;
use crate::workloads::Step;

fn parse(args: &[&str]) -> Result<RunPlan> {
    let mut v = vec!["flopcost", "run"];
    v.extend_from_slice(args);
    let cli = Cli::try_parse_from(v).map_err(|e| input_error(e.to_string()))?;
    let Command::Run(r) = cli.command else {
        unreachable!()
    };
    r.plan()
}

#[test]
fn explicit_shapes_replace_the_suite() {
    let p = parse(&[
        "--shape", "7x13x5", "--shape", "7x13x5", "--layout", "nn,tn",
    ])
    .unwrap();
    assert_eq!(p.suite.name, "custom");
    assert_eq!(p.explicit_shapes, vec![Shape::new(7, 13, 5)]);
}

#[test]
fn bad_values_are_input_errors() {
    for args in [
        &["--shape", "0x1x1"][..],
        &["--suite", "nope"],
        &["--kernel", "nope"],
        &["--layout", "xx"],
        &["--time-budget", "-1"],
        &["--time-budget", "nan"],
        &["--min-samples", "20", "--max-samples", "10"],
        &["--tokens", "0"],
        &["--tokens", "99999999"],
        &["--tokens", "64", "--shape", "64"],
    ] {
        let err = parse(args).unwrap_err();
        assert!(
            err.chain().any(|e| e.is::<crate::error::InputError>()),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn tokens_set_every_block_and_kernels_widen_them() {
    let p = parse(&["--suite", "llm", "--tokens", "64"]).unwrap();
    assert_eq!(p.tokens, Some(64));
    for step in &p.suite.steps {
        if let Step::Layers {
            tokens,
            fastest_only,
            ..
        } = step
        {
            assert_eq!(*tokens, Some(64));
            let _ = fastest_only;
        }
    }
    let p = parse(&["--suite", "llm", "--kernel", "tiled"]).unwrap();
    assert!(p.suite.steps.iter().all(|s| !matches!(
        s,
        Step::Layers {
            fastest_only: true,
            ..
        }
    )));
}

#[test]
fn train_flags_are_checked() {
    let train = |args: &[&str]| -> Result<RunPlan> {
        let mut v = vec!["flopcost", "train"];
        v.extend_from_slice(args);
        let cli = Cli::try_parse_from(v).map_err(|e| input_error(e.to_string()))?;
        let Command::Train(t) = cli.command else {
            unreachable!()
        };
        t.plan()
    };
    let p = train(&["--depth", "2", "--width", "32", "--batch", "16"]).unwrap();
    assert_eq!(p.suite.name, "train");
    for bad in [
        &["--depth", "0"][..],
        &["--width", "0"],
        &["--batch", "0"],
        &["--steps", "0"],
        &["--log-every", "5000"],
        &["--target", "0"],
        &["--target", "1.5"],
        &["--lr", "-1"],
        &["--lr", "nan"],
        &["--data-batches", "0"],
        &["--kernel", "nope"],
    ] {
        let err = train(bad).unwrap_err();
        assert!(
            err.chain().any(|e| e.is::<crate::error::InputError>()),
            "{bad:?}: {err}"
        );
    }
}

#[test]
fn cli_definition_is_consistent() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
}
