//! `flopcost peak`: the adapter's measured FMA peaks and copy bandwidth, as a table, as
//! JSON, or as a result file with only the peaks section.

use std::process::ExitCode;

use anyhow::Result;

use super::startup::Startup;
use crate::cli::PeakArgs;
use crate::measure::gpu::Meter;
use crate::report;
use crate::result::{ResultWriter, Settings};
use crate::types::{PathChoice, Precision};
use crate::workloads::peaks::{self, PeakSettings};

pub fn peak(args: PeakArgs) -> Result<ExitCode> {
    args.check()?;
    let startup = Startup::new(
        &args.selector(),
        args.backend(),
        &[Precision::F32],
        PathChoice::Auto,
    )?;
    let writer = match &args.out {
        Some(p) => Some(ResultWriter::prepare(p.clone(), args.force, false)?),
        None => None,
    };
    let created = chrono::Utc::now();
    let session = startup.open(&mut |_| {})?;
    eprintln!(
        "measuring: FMA f32, FMA f16 (where supported; each the fastest of a family of \
         kernels), cooperative matrices (where supported), shader and transfer copies, upload \
         and readback"
    );
    let settings = PeakSettings {
        runs: args.runs,
        ..PeakSettings::default()
    };
    let mut meter = Meter::new(&session.gpu, true)?;
    let p = peaks::measure(&mut meter, &settings)?;
    let mut warnings = session.warnings.clone();
    warnings.extend(meter.take_warnings());
    let adapter = session.adapter.clone();
    warnings.extend(peaks::plausibility(
        &p,
        crate::cost::catalog::builtin().find(&adapter),
    ));
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&p)?);
    } else {
        println!("{}", report::peaks::table(&p));
    }
    if let Some(w) = writer {
        let mut file = crate::provenance::result_file(
            session.adapter,
            Settings::peak(args.runs as u64),
            created,
        );
        file.peaks = Some(p);
        file.warnings = warnings;
        file.complete = true;
        file.incomplete_reason = None;
        w.save(&file)?;
        println!("result file: {}", w.path().display());
    }
    Ok(ExitCode::SUCCESS)
}
