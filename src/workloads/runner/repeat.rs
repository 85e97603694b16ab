//! `--repeat N`: the suite run again after its first run, each repetition with its own
//! warm-up; the records of the first run stay the file's records, and every record's
//! median in each run goes to the repeatability section.

use std::collections::BTreeMap;

use anyhow::Result;

use super::{Observer, Runner};
use crate::result::{Record, RepeatRecord, Repeatability, Training, TripletBlock};
use crate::workloads::Suite;

/// How many times and with what threshold.
#[derive(Clone, Copy, Debug)]
pub struct Repeats {
    /// Runs in all, the first included (at least 2 to mean anything).
    pub runs: u32,
    /// Spread ((max − min) / median of the medians) above which a record is flagged.
    pub threshold: f64,
}

impl Runner<'_> {
    /// Runs `suite` `repeats.runs − 1` more times after the run whose records are
    /// `first`, and returns each record's medians over all runs.
    pub fn repeat(
        &mut self,
        suite: &Suite,
        first: &[Record],
        repeats: Repeats,
        obs: &mut dyn Observer,
    ) -> Result<Repeatability> {
        let mut medians: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for r in first {
            if let Some(t) = &r.timing {
                medians.entry(r.id.clone()).or_default().push(t.median_ns);
            }
        }
        for run in 2..=repeats.runs {
            obs.note(format!("repeat {run} of {}", repeats.runs));
            self.restart();
            let mut again = Medians {
                inner: &mut *obs,
                medians: &mut medians,
            };
            self.run_suite(suite, &mut again)?;
        }
        let records: Vec<RepeatRecord> = medians
            .into_iter()
            .filter(|(_, m)| m.len() > 1)
            .map(|(id, m)| RepeatRecord::new(id, m, repeats.threshold))
            .collect();
        for r in records.iter().filter(|r| r.flagged) {
            obs.warn(format!(
                "{}: its median moved by {:.1}% across {} runs, more than the {:.1}% \
                 threshold; its figure is not reproducible on this machine as it is (close \
                 other work, raise --time-budget)",
                r.id,
                100.0 * r.spread,
                r.medians_ns.len(),
                100.0 * repeats.threshold
            ));
        }
        Ok(Repeatability {
            repeats: repeats.runs,
            threshold: repeats.threshold,
            flagged: records.iter().filter(|r| r.flagged).count() as u32,
            records,
        })
    }
}

/// Receives a repetition: progress and warnings go on, each record's median is kept, and
/// nothing else reaches the file.
struct Medians<'o> {
    inner: &'o mut dyn Observer,
    medians: &'o mut BTreeMap<String, Vec<f64>>,
}

impl Observer for Medians<'_> {
    fn planned(&mut self, count: u64) {
        self.inner.planned(count);
    }
    fn started(&mut self, label: &str) {
        self.inner.started(label);
    }
    fn finished(&mut self, record: &Record) -> Result<()> {
        self.inner.repeated(record);
        if let Some(t) = &record.timing {
            self.medians
                .entry(record.id.clone())
                .or_default()
                .push(t.median_ns);
        }
        Ok(())
    }
    fn skipped(&mut self, label: &str, why: &str) {
        self.inner.skipped(label, why);
    }
    fn warn(&mut self, message: String) {
        self.inner.warn(message);
    }
    fn note(&mut self, message: String) {
        self.inner.note(message);
    }
    fn triplets(&mut self, _block: &TripletBlock) -> Result<()> {
        Ok(())
    }
    fn training(&mut self, _section: &Training) -> Result<()> {
        Ok(())
    }
}
