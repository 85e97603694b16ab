//! Matching records across files: the key a record is matched by, each file's best
//! verified record per key, short labels for the files, and what has no counterpart.

use std::collections::HashMap;

use crate::result::Record;

use super::model::*;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub kind: &'static str,
    pub precision: &'static str,
    pub layout: &'static str,
    pub m: u32,
    pub n: u32,
    pub k: u32,
    /// Products of a batched record, and how many share a B (1, 1 for one product).
    pub batch: (u32, u32),
}

impl Key {
    fn of(r: &Record) -> Key {
        Key {
            kind: r.kind.as_str(),
            precision: r.precision.as_str(),
            layout: r.layout.as_str(),
            m: r.m,
            n: r.n,
            k: r.k,
            batch: (r.batch().count, r.batch().share_b),
        }
    }
}

/// Best verified record per key, in first-seen order.
pub fn best_by_key<'a>(
    records: &'a [Record],
    kernel: Option<&str>,
) -> (Vec<Key>, HashMap<Key, &'a Record>) {
    let mut order = Vec::new();
    let mut best: HashMap<Key, &Record> = HashMap::new();
    for r in records {
        if !r.verification.passed || kernel.is_some_and(|k| r.kernel.name != k) {
            continue;
        }
        let Some(tf) = r.tflops.as_ref() else {
            continue;
        };
        let key = Key::of(r);
        match best.get(&key) {
            None => {
                order.push(key.clone());
                best.insert(key, r);
            }
            Some(old) if old.tflops.as_ref().is_none_or(|o| tf.median > o.median) => {
                best.insert(key, r);
            }
            Some(_) => {}
        }
    }
    (order, best)
}

/// Short labels: file stems, or full paths where stems repeat.
pub fn labels(paths: &[String]) -> Vec<String> {
    let stem = |p: &String| {
        std::path::Path::new(p)
            .file_stem()
            .map_or_else(|| p.clone(), |s| s.to_string_lossy().into_owned())
    };
    let stems: Vec<String> = paths.iter().map(stem).collect();
    stems
        .iter()
        .zip(paths)
        .map(|(s, p)| {
            if stems.iter().filter(|t| *t == s).count() > 1 {
                p.clone()
            } else {
                s.clone()
            }
        })
        .collect()
}

/// The records of each file that have no counterpart.
pub fn unmatched(
    best: &[(Vec<Key>, HashMap<Key, &Record>)],
    labels: &[String],
    baseline: usize,
) -> Vec<Unmatched> {
    let base_map = &best[baseline].1;
    let mut out = Vec::new();
    for (idx, (order, _)) in best.iter().enumerate() {
        let (missing, reason): (Vec<&Key>, &str) = if idx == baseline {
            (
                order
                    .iter()
                    .filter(|k| {
                        best.iter()
                            .enumerate()
                            .all(|(j, (_, m))| j == idx || !m.contains_key(*k))
                    })
                    .collect(),
                "in no other file",
            )
        } else {
            (
                order
                    .iter()
                    .filter(|k| !base_map.contains_key(*k))
                    .collect(),
                "not in the baseline",
            )
        };
        if !missing.is_empty() {
            out.push(Unmatched {
                machine: idx,
                label: labels[idx].clone(),
                reason: reason.into(),
                records: missing.iter().map(|k| best[idx].1[*k].id.clone()).collect(),
            });
        }
    }
    out
}
