//! One module per subcommand; each takes its validated arguments and returns the exit code.

pub mod catalog;
pub mod compare;
pub mod cost;
pub mod devices;
pub mod fleet;
pub mod leaderboard;
pub mod peak;
pub mod run;
mod startup;
pub mod tune;
pub mod validate;
pub mod workloads;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::result::ResultWriter;

/// The writer of `--out`, taken before any work is done (exclusively, unless `--force`).
fn out_writer(out: &Option<PathBuf>, force: bool) -> Result<Option<ResultWriter>> {
    out.as_ref()
        .map(|o| ResultWriter::prepare(o.clone(), force, false))
        .transpose()
}

/// `text` into the `--out` file when there is one (saying so on stderr), else to stdout.
fn emit(writer: Option<ResultWriter>, text: &str) -> Result<()> {
    match writer {
        Some(w) => {
            w.write(text.as_bytes())?;
            eprintln!("wrote {}", w.path().display());
            Ok(())
        }
        None => crate::report::write_stdout(text),
    }
}

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run::run(args.plan()?),
        Command::Train(args) => run::run(args.plan()?),
        // (run and train install the interrupt handlers once the plan is valid.)
        Command::Devices(args) => devices::devices(args.json, args.backend.map(Into::into)),
        Command::Kernels(args) => devices::kernels(args.json),
        Command::Tune(args) => tune::tune(args.plan()?),
        Command::Peak(args) => peak::peak(args),
        Command::Validate(args) => validate::validate(&args.files),
        Command::Catalog(args) => catalog::catalog(args.json),
        Command::Workloads(args) => workloads::workloads(args.json),
        Command::Cost(args) => cost::cost(args),
        Command::Compare(args) => compare::compare(args.plan()?),
        Command::Fleet(args) => fleet::fleet(args.plan()?),
        Command::Leaderboard(args) => leaderboard::leaderboard(&args.dir, args.check, args.force),
        Command::Schema => {
            print!("{}", crate::result::schema_json());
            Ok(ExitCode::SUCCESS)
        }
    }
}
