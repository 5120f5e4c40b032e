//! What a command ends with, and the exit code each outcome gives.
//!
//! One rule for every command: **0** it did what was asked; **1** the command line was fine
//! but the command could not do it (no database, unknown ID, a watched job that failed, a
//! cron expression that never fires again); **2** the command line itself is wrong (unknown
//! command or flag, a value that does not parse, a value out of range). A reader that closes
//! the pipe early (`asyncapex jobs list | head`) is not an error: the command stops quietly
//! with 0, as `ripgrep` does.

use std::process::ExitCode;

/// Why a command stopped before doing all it was asked.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line is wrong: a value that does not parse or is out of range (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The command could not do what was asked (exit 1).
    #[error("{0}")]
    Failed(String),
    /// Standard output was closed by its reader: stop quietly (exit 0).
    #[error("standard output was closed")]
    BrokenPipe,
}

impl CliError {
    /// The process exit code for this outcome.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) => ExitCode::from(2),
            CliError::Failed(_) => ExitCode::FAILURE,
            CliError::BrokenPipe => ExitCode::SUCCESS,
        }
    }
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        CliError::Failed(message)
    }
}

impl From<&str> for CliError {
    fn from(message: &str) -> Self {
        CliError::Failed(message.to_owned())
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            CliError::BrokenPipe
        } else {
            CliError::Failed(format!("cannot write to standard output: {e}"))
        }
    }
}

impl From<asyncapex::Error> for CliError {
    fn from(e: asyncapex::Error) -> Self {
        CliError::Failed(e.to_string())
    }
}

impl From<serde_json::Error> for CliError {
    fn from(e: serde_json::Error) -> Self {
        CliError::Failed(format!("cannot write JSON: {e}"))
    }
}
