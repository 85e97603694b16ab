//! `flopcost validate FILE...`: one line per file; exit 2 if any file is bad.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::result::{self, validate};

pub fn validate(files: &[PathBuf]) -> Result<ExitCode> {
    let mut bad = 0;
    for path in files {
        match result::read(path) {
            Err(e) => {
                bad += 1;
                println!("invalid {}", one_line(&format!("{e:#}")));
            }
            Ok(file) => {
                let problems = validate::problems(&file);
                if problems.is_empty() {
                    let verified = file
                        .records
                        .iter()
                        .filter(|r| r.verification.passed)
                        .count();
                    println!(
                        "ok      {}: {} records ({} verified), {}{}",
                        path.display(),
                        file.records.len(),
                        verified,
                        file.adapter.name,
                        if file.complete {
                            ""
                        } else {
                            ", incomplete run"
                        }
                    );
                } else {
                    bad += 1;
                    println!(
                        "invalid {}: {} (and {} more)",
                        path.display(),
                        problems[0],
                        problems.len() - 1
                    );
                }
            }
        }
    }
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("{bad} of {} files are invalid", files.len());
        ExitCode::from(2)
    })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
