//! Error kinds that decide the exit code.
//!
//! Everything that goes wrong is an `anyhow::Error` at the edge; what matters to the
//! caller is whether the *input* was bad (exit 2: nothing was measured and nothing was
//! written) or the *run* failed (exit 1: no adapter, verification failed, device lost,
//! timeout). Bad input is marked by wrapping it in [`InputError`] anywhere in the chain.

use std::process::ExitCode;

/// Bad usage or input: a malformed shape, an unreadable or malformed file, a shape over
/// the device's limits. Maps to exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// The run was stopped by a signal after saving what it had measured.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {signal}; the records finished so far were saved")]
pub struct Interrupted {
    /// The signal's name (`SIGINT`, `SIGTERM`).
    pub signal: &'static str,
    /// The conventional exit code, 128 + signal number.
    pub code: u8,
}

/// Shorthand for returning an [`InputError`] wrapped in `anyhow`.
pub fn input_error(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(InputError(msg.into()))
}

/// The process exit code for an error: 2 for bad input, 130/143 for interrupts, else 1.
pub fn exit_code(err: &anyhow::Error) -> ExitCode {
    for cause in err.chain() {
        if cause.is::<InputError>() {
            return ExitCode::from(2);
        }
        if let Some(i) = cause.downcast_ref::<Interrupted>() {
            return ExitCode::from(i.code);
        }
    }
    ExitCode::from(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn input_errors_map_to_two_even_with_context() {
        let err = Err::<(), _>(input_error("bad shape"))
            .context("reading --shape")
            .unwrap_err();
        assert_eq!(exit_code(&err), ExitCode::from(2));
        let run = anyhow::anyhow!("device lost");
        assert_eq!(exit_code(&run), ExitCode::from(1));
    }
}
