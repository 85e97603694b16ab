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
        let r = Repeatability {
            repeats: repeats.runs,
            threshold: repeats.threshold,
            flagged: records.iter().filter(|r| r.flagged).count() as u32,
            records,
        };
        warn_flagged(&r, obs);
        Ok(r)
    }
}

/// One warning for the records whose medians spread more than the threshold across
/// the runs, naming the worst.
pub(super) fn warn_flagged(r: &Repeatability, obs: &mut dyn Observer) {
    let mut flagged: Vec<&RepeatRecord> = r.records.iter().filter(|e| e.flagged).collect();
    if flagged.is_empty() {
        return;
    }
    flagged.sort_by(|a, b| b.spread.total_cmp(&a.spread));
    let worst: Vec<String> = flagged
        .iter()
        .take(3)
        .map(|e| format!("{} {:.0}%", e.id, 100.0 * e.spread))
        .collect();
    obs.warn(format!(
        "{} of {} medians moved by more than {:.0}% across {} runs (the most: {}); figures \
         built on them are flagged as noisy: close other work on the machine, or run more \
         repetitions with --repeat",
        flagged.len(),
        r.records.len(),
        100.0 * r.threshold,
        r.repeats,
        worst.join(", ")
    ));
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
