//! Standard output for every command, without `println!`: `println!` panics when the reader
//! has closed the pipe (`asyncapex jobs list | head -1`), and a command must then stop quietly.
//!
//! While a progress bar is drawn (the demo's batch, `jobs watch`), lines are printed above it
//! instead of through it, so neither the line nor the bar is torn.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::ProgressBar;

use crate::error::CliError;

/// Set once a write found the pipe closed; later writes are skipped at once.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// The progress bar currently on screen, if any.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Writes `text` to standard output and flushes it.
///
/// # Errors
/// [`CliError::BrokenPipe`] once the reader has gone; another write error as
/// [`CliError::Failed`].
pub(crate) fn write(text: &str) -> Result<(), CliError> {
    if CLOSED.load(Ordering::Relaxed) {
        return Err(CliError::BrokenPipe);
    }
    let bar = BAR.lock().ok().and_then(|b| b.clone());
    let written = match bar {
        Some(bar) => bar.suspend(|| write_now(text)),
        None => write_now(text),
    };
    if let Err(CliError::BrokenPipe) = written {
        CLOSED.store(true, Ordering::Relaxed);
    }
    written
}

fn write_now(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Draws lines printed with [`write`] above `bar` until [`clear_bar`].
pub(crate) fn set_bar(bar: &ProgressBar) {
    if let Ok(mut slot) = BAR.lock() {
        *slot = Some(bar.clone());
    }
}

/// Lines go straight to standard output again.
pub(crate) fn clear_bar() {
    if let Ok(mut slot) = BAR.lock() {
        *slot = None;
    }
}

/// `print!` that returns a [`CliError`] instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write(&format!($($arg)*))
    };
}

/// `println!` that returns a [`CliError`] instead of panicking.
macro_rules! outln {
    () => {
        $crate::output::write("\n")
    };
    ($($arg:tt)*) => {
        $crate::output::write(&format!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};
