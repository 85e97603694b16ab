//! The `flopcost` binary: parse, run, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // Mesa's GL platform code prints an error for every probe when this is unset on a
        // headless machine; a temporary directory silences it and changes nothing else.
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
    }
    restore_sigpipe();
    quiet_panic_hook();
    let cli = match flopcost::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version print and exit 0.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{}", one_line_usage_error(&e.render().to_string()));
            return ExitCode::from(2);
        }
    };
    match flopcost::commands::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            // Text from a file or a driver in the message is shown escaped (escape
            // sequences, direction marks); the lines flopcost breaks it into stay.
            let text = format!("{err:#}");
            let lines: Vec<String> = text
                .lines()
                .map(flopcost::report::escape::terminal_line)
                .collect();
            eprintln!("Error: {}", lines.join("\n"));
            flopcost::error::exit_code(&err)
        }
    }
}

/// A reader that closes the pipe early (`flopcost validate *.json | head -1`) ends flopcost
/// as it ends other Unix tools, quietly by SIGPIPE (exit 141 in the shell), where Rust's
/// default (the signal ignored, then `println!` panicking on the write error) would print
/// a panic and exit 101. Result files are written atomically and whole, so a run ended this
/// way keeps every file it saved.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// A panic prints where it happened and its message, and no backtrace: the default hook
/// takes the backtrace lock and reads the working directory while printing, and a panic
/// raised because memory ran out (a thread whose signal stack cannot be mapped under an
/// address-space cap) then fails to allocate inside the hook and waits forever on that
/// same lock. This one ends the panicking thread, so the caller can carry on or fail
/// cleanly. Only the main thread's panics are printed: a worker's is its owner's to
/// report (the reference's workers are recomputed on the main thread, the power sampler's
/// failure becomes a phase without a figure).
fn quiet_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        use std::io::Write;
        if std::thread::current().name() != Some("main") {
            return;
        }
        let msg = info.payload_as_str().unwrap_or("(no message)");
        let mut err = std::io::stderr().lock();
        let _ = match info.location() {
            Some(l) => writeln!(err, "flopcost panicked at {l}: {msg}"),
            None => writeln!(err, "flopcost panicked: {msg}"),
        };
    }));
}

/// A usage error from the argument parser on one line: the error, its tips, and the
/// usage line, where clap spreads them over four or five.
fn one_line_usage_error(text: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut usage = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(u) = line.strip_prefix("Usage: ") {
            usage = Some(u.to_string());
        } else if line.starts_with("For more information") {
            continue;
        } else if line.starts_with("error:") || line.starts_with("tip:") || parts.is_empty() {
            parts.push(line.to_string());
        } else if let Some(last) = parts.last_mut() {
            last.push(' ');
            last.push_str(line);
        }
    }
    let mut out = parts.join("; ");
    if let Some(u) = usage {
        let cmd = u
            .split(" [")
            .next()
            .unwrap_or(&u)
            .split(" <")
            .next()
            .unwrap_or(&u);
        out.push_str(&format!(" (usage: {u}; see '{} --help')", cmd.trim()));
    }
    out
}
