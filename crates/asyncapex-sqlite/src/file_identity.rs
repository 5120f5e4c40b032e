//! Noticing that the database file was deleted or replaced under a running store.
//!
//! SQLite keeps working on the file it opened even after that file is unlinked or another
//! file is moved to its path: a worker then claims and runs jobs in a copy nobody else sees,
//! and nothing says so. The store remembers the device and inode of the file it opened and,
//! at most once per [`crate::SqliteOptions::file_check_interval`], compares them with what
//! the path names now (one `stat`, about a microsecond). Once they differ the store fails
//! every heartbeat and claim with [`StoreErrorKind::Replaced`] for good: the file will not
//! come back, and the engine must stop claiming.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use asyncapex_core::{Error, Result, StoreErrorKind};

/// The file a store opened, and what the last check found.
#[derive(Debug)]
pub(crate) struct FileIdentity {
    path: PathBuf,
    device: u64,
    inode: u64,
    interval: Duration,
    last_check: Mutex<Option<Instant>>,
    broken: OnceLock<Error>,
}

impl FileIdentity {
    /// The identity of the file at `path`, just opened; `None` if it cannot be read (then no
    /// check is made, rather than a false alarm).
    pub(crate) fn of(path: &Path, interval: Duration) -> Option<FileIdentity> {
        let meta = std::fs::metadata(path).ok()?;
        Some(FileIdentity {
            path: path.to_path_buf(),
            device: meta.dev(),
            inode: meta.ino(),
            interval,
            last_check: Mutex::new(None),
            broken: OnceLock::new(),
        })
    }

    /// `Ok` while the path still names the file opened (or the interval since the last check
    /// has not passed).
    ///
    /// # Errors
    /// [`StoreErrorKind::Replaced`], naming the path and what was found there, from the first
    /// check that saw the file gone or replaced, and on every call after it.
    pub(crate) fn check(&self) -> Result<()> {
        if let Some(e) = self.broken.get() {
            return Err(e.clone());
        }
        {
            let mut last = self.last_check.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|at| at.elapsed() < self.interval) {
                return Ok(());
            }
            *last = Some(Instant::now());
        }
        let path = self.path.display();
        let seen = match std::fs::metadata(&self.path) {
            Ok(m) if (m.dev(), m.ino()) == (self.device, self.inode) => return Ok(()),
            Ok(m) => format!(
                "was replaced by another file (opened device {} inode {}, the path now names device {} inode {})",
                self.device,
                self.inode,
                m.dev(),
                m.ino()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                "was deleted (the path names no file now)".to_owned()
            }
            // Cannot tell (a permission change, say): not evidence of a replacement.
            Err(_) => return Ok(()),
        };
        let error = Error::store(
            StoreErrorKind::Replaced,
            format!(
                "the database file {path} {seen} while this process had it open: its work would go to a file nobody else sees; stop this process and start it again on the real file"
            ),
        );
        tracing::error!(error = %error, "database file lost");
        Err(self.broken.get_or_init(|| error).clone())
    }
}
