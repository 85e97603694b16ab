//! `flopcost validate FILE...`: one line per file; exit 2 if any file is bad.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::result::{self, validate};
use crate::util::fmt::clean;

pub fn validate(files: &[PathBuf]) -> Result<ExitCode> {
    let mut bad = 0;
    for path in files {
        let name = clean(&path.display().to_string());
        // Read once: a pipe or standard input cannot be read twice.
        let bytes = match result::read_limited(path) {
            Ok(b) => b,
            Err(e) => {
                bad += 1;
                println!("invalid {}", clean(&format!("{e:#}")));
                continue;
            }
        };
        if result::is_result_schema(&bytes) {
            println!("skip    {name}: the JSON Schema of result files, not a result file");
            continue;
        }
        match result::parse(&bytes, &path.display().to_string()) {
            Err(e) => {
                bad += 1;
                println!("invalid {}", clean(&format!("{e:#}")));
            }
            Ok(file) => {
                let problems = validate::problems(&file);
                if problems.is_empty() {
                    let verified = file
                        .records
                        .iter()
                        .filter(|r| r.verification.passed)
                        .count();
                    let mut sections = String::new();
                    if let Some(w) = &file.workload {
                        sections += &format!(
                            ", workload {} v{} ({} of {} repetitions)",
                            w.name,
                            w.version,
                            w.step_times_ns.len(),
                            w.repetitions
                        );
                    }
                    if !file.triplets.is_empty() {
                        sections += &format!(", {} triplet summaries", file.triplets.len());
                    }
                    for t in file.trainings() {
                        let precision = if file.more_training.is_empty() {
                            String::new()
                        } else {
                            format!("{}, ", t.precision)
                        };
                        sections += &format!(
                            ", training ({precision}{} steps, loss {:.3} → {:.3})",
                            t.steps, t.loss_start, t.loss_end
                        );
                    }
                    if let Some(rt) = file.runtime.as_ref().filter(|r| r.name != "wgpu") {
                        sections += &format!(", runtime {} {}", rt.name, rt.version);
                    }
                    println!(
                        "ok      {name}: {} records ({} verified){}, {}{}",
                        file.records.len(),
                        verified,
                        clean(&sections),
                        clean(&file.adapter.name),
                        if file.complete {
                            ""
                        } else {
                            ", incomplete run"
                        }
                    );
                } else {
                    bad += 1;
                    let more = match problems.len() {
                        1 => String::new(),
                        n => format!(" (and {} more)", n - 1),
                    };
                    println!("invalid {name}: {}{more}", clean(&problems[0]));
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
