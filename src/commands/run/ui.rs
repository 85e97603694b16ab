//! Connects the runner to the result file and the terminal: every finished record,
//! triplet summary and training run is saved at once (atomically), progress and warnings
//! go to stderr, and each warning is kept in the file.

use anyhow::Result;

use crate::report::{self, progress::Progress};
use crate::result::{Record, ResultFile, ResultWriter, Training, TripletBlock};
use crate::workloads::runner::Observer;

pub struct RunUi<'p> {
    pub file: ResultFile,
    pub writer: ResultWriter,
    pub progress: &'p mut Progress,
}

impl RunUi<'_> {
    pub fn save(&self) -> Result<()> {
        self.writer.save(&self.file)
    }
}

impl Observer for RunUi<'_> {
    fn planned(&mut self, count: u64) {
        self.progress.add_total(count);
    }

    fn started(&mut self, label: &str) {
        self.progress.message(label);
    }

    fn finished(&mut self, record: &Record) -> Result<()> {
        self.file.records.push(record.clone());
        self.progress.finished(record);
        self.save()
    }

    fn repeated(&mut self, record: &Record) {
        self.progress.finished(record);
    }

    fn skipped(&mut self, _label: &str, _why: &str) {
        self.progress.skipped();
    }

    fn warn(&mut self, message: String) {
        if self.progress.warn(&message) {
            self.file.warnings.push(message);
        }
    }

    fn note(&mut self, message: String) {
        self.progress.info(&message);
    }

    fn triplets(&mut self, block: &TripletBlock) -> Result<()> {
        self.progress.info(&report::training::triplet_line(block));
        self.file.triplets.push(block.clone());
        self.save()
    }

    fn training(&mut self, section: &Training) -> Result<()> {
        if self.file.training.is_none() {
            self.file.training = Some(section.clone());
        } else {
            self.file.more_training.push(section.clone());
        }
        self.save()
    }
}
