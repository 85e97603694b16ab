//! Ctrl-C and `kill`: the first SIGINT or SIGTERM asks the run to stop after the sample
//! in flight; the run then saves what it measured (`"complete": false` with the reason)
//! and exits 130 or 143. A second signal of either kind ends the process at once, which
//! is safe too: every result file is written atomically, so the last saved one is whole.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use anyhow::Result;

use crate::error::Interrupted;

/// The number of the first signal received, 0 for none.
fn signal() -> &'static Arc<AtomicUsize> {
    static SIGNAL: OnceLock<Arc<AtomicUsize>> = OnceLock::new();
    SIGNAL.get_or_init(|| Arc::new(AtomicUsize::new(0)))
}

/// Installs the handlers; later calls do nothing. Without it (library use, tests),
/// nothing is ever pending.
pub fn install() -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    let received = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        // Order matters: the conditional default runs first and ends the process only
        // if a signal was already received; otherwise the flags below are set.
        signal_hook::flag::register_conditional_default(sig, received.clone())?;
        signal_hook::flag::register(sig, received.clone())?;
        signal_hook::flag::register_usize(sig, signal().clone(), sig as usize)?;
    }
    Ok(())
}

/// The signal received, if any.
pub fn pending() -> Option<Interrupted> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    match signal().load(Ordering::SeqCst) as i32 {
        0 => None,
        s if s == SIGINT => Some(Interrupted {
            signal: "SIGINT",
            code: 130,
        }),
        s if s == SIGTERM => Some(Interrupted {
            signal: "SIGTERM",
            code: 143,
        }),
        s => Some(Interrupted {
            signal: "a signal",
            code: (128 + s).clamp(0, 255) as u8,
        }),
    }
}

/// Fails with [`Interrupted`] once a signal has arrived; call it between samples.
pub fn check() -> Result<()> {
    match pending() {
        Some(i) => Err(i.into()),
        None => Ok(()),
    }
}
