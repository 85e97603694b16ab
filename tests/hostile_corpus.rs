//! The hostile corpus kept apart in `tests/hostile-corpus/`: more than eighty cases a
//! hostile contributor or a hostile neighbour on a shared folder would try (planted links,
//! pages that are not files, infinities, figures against their samples, training claims,
//! padded histograms, inputs that fail late, closed pipes, readers that disagree, and text
//! that would be live in a spreadsheet, a Markdown page or a terminal), generated from two
//! frozen published files and run against the binary. Each case must give exit 2 with one
//! line within 1 s and 100 MB (or its stated outcome), change no file outside the intended
//! output, and give no headline or rank to a file whose figures disagree with themselves.
//!
//! It needs python3, jq, prlimit and /usr/bin/time (`.ci/run` installs them); without
//! them it fails and says which is missing, as CI must run it.

use std::path::PathBuf;
use std::process::Command;

#[cfg(unix)]
#[test]
fn every_case_of_the_hostile_corpus_holds() {
    let missing: Vec<&str> = [
        ("python3", "python3"),
        ("jq", "jq"),
        ("prlimit", "util-linux"),
    ]
    .into_iter()
    .filter(|(tool, _)| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map_or(true, |o| !o.status.success())
    })
    .map(|(_, pkg)| pkg)
    .chain((!std::path::Path::new("/usr/bin/time").exists()).then_some("time"))
    .collect();
    assert!(
        missing.is_empty(),
        "the hostile corpus needs these packages: {} (apt-get install -y {})",
        missing.join(", "),
        missing.join(" ")
    );
    let here = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hostile-corpus"));
    let out = Command::new("bash")
        .arg(here.join("run-all.sh"))
        .arg(env!("CARGO_BIN_EXE_flopcost"))
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("bash runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let failed: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL")).collect();
    eprintln!("{}", text.lines().last().unwrap_or("no output"));
    assert!(
        out.status.success() && failed.is_empty(),
        "{} checks failed:\n{}\n{}",
        failed.len(),
        failed.join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
}
