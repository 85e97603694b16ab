//! What a run reports as it goes: the observer every part of a run (the runner, the
//! trainer) tells about progress, finished records, warnings and sections. The terminal
//! progress, the result file's writer and the tests implement it.

use anyhow::Result;

use crate::result::{Record, Training, TripletBlock};

/// Receives what the runner does: progress, finished records, warnings.
pub trait Observer {
    /// More benchmarks are planned.
    fn planned(&mut self, count: u64);
    /// A benchmark is starting.
    fn started(&mut self, label: &str);
    /// A benchmark finished (verified and timed, or failed verification).
    fn finished(&mut self, record: &Record) -> Result<()>;
    /// A benchmark of a repetition (`--repeat`) finished; its record is not the file's.
    fn repeated(&mut self, _record: &Record) {}
    /// A planned benchmark will not run.
    fn skipped(&mut self, label: &str, why: &str);
    /// Something the user should know, with its remedy.
    fn warn(&mut self, message: String);
    /// A line of information about what the run is doing (not a warning).
    fn note(&mut self, _message: String) {}
    /// A block of training layers finished: the cost of its training step, per kernel.
    fn triplets(&mut self, _block: &TripletBlock) -> Result<()> {
        Ok(())
    }
    /// A training run finished (whether or not it reached its target).
    fn training(&mut self, _section: &Training) -> Result<()> {
        Ok(())
    }
}
