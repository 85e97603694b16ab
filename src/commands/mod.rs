//! One module per subcommand; each takes its validated arguments and returns the exit code.

pub mod devices;
pub mod run;
pub mod validate;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run::run(args.plan()?),
        Command::Train(args) => run::run(args.plan()?),
        Command::Devices(args) => devices::devices(args.json, args.backend.map(Into::into)),
        Command::Kernels(args) => devices::kernels(args.json),
        Command::Validate(args) => validate::validate(&args.files),
        Command::Schema => {
            print!("{}", crate::result::schema_json());
            Ok(ExitCode::SUCCESS)
        }
    }
}
