//! What a run shows while it works: a progress bar with ETA on stderr when stderr is a
//! terminal, one line per finished benchmark when it is not, nothing with `--quiet`.
//! Warnings are always printed, once each.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{fmt_err, fmt_ns, fmt_sig};
use crate::result::Record;

pub struct Progress {
    bar: Option<ProgressBar>,
    lines: bool,
    done: u64,
    total: u64,
    warned: Vec<String>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let bar = (tty && !quiet).then(|| {
            let pb = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            pb.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30.cyan/blue} {pos}/{len} ETA {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            pb.enable_steady_tick(Duration::from_millis(200));
            pb
        });
        Progress {
            bar,
            lines: !tty && !quiet,
            done: 0,
            total: 0,
            warned: Vec::new(),
        }
    }

    /// Prints lines on stderr, each with any text from a driver or a file in it shown
    /// escaped (warnings quote adapter names and driver messages).
    fn println(&self, text: &str) {
        let text: Vec<String> = text.lines().map(super::escape::terminal_line).collect();
        let text = text.join("\n");
        match &self.bar {
            Some(pb) => pb.println(text),
            None => eprintln!("{text}"),
        }
    }

    pub fn add_total(&mut self, n: u64) {
        self.total += n;
        if let Some(pb) = &self.bar {
            pb.set_length(self.total);
        }
    }

    pub fn message(&self, msg: &str) {
        if let Some(pb) = &self.bar {
            pb.set_message(msg.to_string());
        }
    }

    pub fn finished(&mut self, r: &Record) {
        self.done += 1;
        if let Some(pb) = &self.bar {
            pb.inc(1);
        }
        if self.lines {
            let what = match (&r.tflops, &r.timing) {
                (Some(tf), Some(t)) => format!(
                    "{} TFLOP/s median, p90 {}, error {}",
                    fmt_sig(tf.median, 3),
                    fmt_ns(t.p90_ns),
                    fmt_err(r.verification.rel_error)
                ),
                _ => format!(
                    "verification FAILED, error {}",
                    fmt_err(r.verification.rel_error)
                ),
            };
            self.println(&format!(
                "[{}/{}] {} {}x{}x{} {}: {what}",
                self.done, self.total, r.layout, r.m, r.n, r.k, r.kernel.name
            ));
        }
    }

    pub fn skipped(&mut self) {
        self.done += 1;
        if let Some(pb) = &self.bar {
            pb.inc(1);
        }
    }

    /// Prints a warning unless it was printed before; returns whether it is new.
    pub fn warn(&mut self, msg: &str) -> bool {
        if self.warned.iter().any(|w| w == msg) {
            return false;
        }
        self.warned.push(msg.to_string());
        self.println(&format!("warning: {msg}"));
        true
    }

    /// A line of information (not a warning), unless quiet.
    pub fn info(&self, msg: &str) {
        if self.bar.is_some() || self.lines {
            self.println(msg);
        }
    }

    pub fn finish(&self) {
        if let Some(pb) = &self.bar {
            pb.finish_and_clear();
        }
    }
}
