//! Cross-process wake-ups for processes sharing one SQLite file.
//!
//! SQLite has no notification mechanism of its own, so an engine in one process would only
//! see another process's enqueue at its next poll. Instead, every process that opens a file
//! binds a Unix datagram socket in a directory named after that file, and after each commit
//! that may have made work available it sends a one-byte datagram to the other sockets there.
//! A receiving process bumps a counter that its engine waits on. Datagrams are fire-and-forget:
//! a full receive buffer already means a wake-up is pending; a socket whose process died is
//! refused by the kernel and removed. Polling remains the fallback, so a lost datagram only
//! delays work, never loses it.
//!
//! Nothing is left behind (invariant 7, bounded growth): a process removes its socket when it
//! closes the store, and the directory when it was the last one there. A killed process cannot
//! tidy up, so every open also clears sockets nobody is bound to any more (a `connect` to them
//! is refused) — in its own directory and in the other wake-up directories — and removes
//! directories that leaves empty. `rmdir` refuses a directory that is not empty, so a
//! directory another process is still in is never removed; one removed between another
//! process's `create_dir_all` and its `bind` is simply created again.

use std::io::ErrorKind;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// The name every wake-up directory starts with, under the temporary directory.
const DIR_PREFIX: &str = "asyncapex-wake-";

/// How many times to create the directory and bind when another process removed the directory
/// in between (it was empty for an instant).
const BIND_ATTEMPTS: usize = 5;

/// How long the list of peer sockets is trusted before the directory is read again.
const PEERS_TTL: Duration = Duration::from_millis(500);

/// One process's end of the wake-up directory of one database file.
#[derive(Debug)]
pub(crate) struct Wake {
    dir: PathBuf,
    me: PathBuf,
    sender: UnixDatagram,
    peers: Mutex<(Option<Instant>, Vec<PathBuf>)>,
    counter: watch::Sender<u64>,
    stop: Arc<AtomicBool>,
}

/// A stable 64-bit FNV-1a hash, so every binary agrees on a file's directory name.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Wake {
    /// Joins the wake-up directory of `db`; `None` (polling only) if sockets are unavailable.
    pub(crate) fn open(db: &Path) -> Option<Arc<Wake>> {
        let canonical = db.canonicalize().ok()?;
        // Under the temporary directory, not beside the file: socket paths are limited to about
        // 100 bytes, and the database's directory may not allow sockets.
        let temp = std::env::temp_dir();
        let dir = temp.join(format!(
            "{DIR_PREFIX}{:016x}",
            fnv1a(canonical.as_os_str().as_encoded_bytes())
        ));
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let me = dir.join(format!("{}-{nanos}.sock", std::process::id()));
        let mut attempt = 1;
        let listener = loop {
            std::fs::create_dir_all(&dir).ok()?;
            match UnixDatagram::bind(&me) {
                Ok(listener) => break listener,
                // Another process removed the directory, empty for an instant: again.
                Err(e) if e.kind() == ErrorKind::NotFound && attempt < BIND_ATTEMPTS => {
                    attempt += 1;
                }
                Err(_) => return None,
            }
        };
        sweep(&dir, Some(&me));
        sweep_others(&temp, &dir);
        listener
            .set_read_timeout(Some(Duration::from_millis(500)))
            .ok()?;
        let sender = UnixDatagram::unbound().ok()?;
        sender.set_nonblocking(true).ok()?;
        let (counter, _) = watch::channel(0u64);
        let stop = Arc::new(AtomicBool::new(false));
        let thread_counter = counter.clone();
        let thread_stop = stop.clone();
        std::thread::Builder::new()
            .name("asyncapex-sqlite:wake".into())
            .spawn(move || {
                let mut buf = [0u8; 16];
                while !thread_stop.load(Ordering::Relaxed) {
                    match listener.recv(&mut buf) {
                        Ok(_) => {
                            thread_counter.send_modify(|n| *n = n.wrapping_add(1));
                        }
                        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "wake-up socket failed; falling back to polling");
                            return;
                        }
                    }
                }
            })
            .ok()?;
        Some(Arc::new(Wake {
            dir,
            me,
            sender,
            peers: Mutex::new((None, Vec::new())),
            counter,
            stop,
        }))
    }

    /// A receiver of this process's wake-up counter.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.counter.subscribe()
    }

    /// Tells every process on this file, this one included, that work may be available:
    /// after a commit the store did not make itself (an application's own transaction).
    pub(crate) fn notify_all(&self) {
        self.counter.send_modify(|n| *n = n.wrapping_add(1));
        self.notify_others();
    }

    /// Tells every other process on this file that work may be available.
    pub(crate) fn notify_others(&self) {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        let stale = peers.0.is_none_or(|at| at.elapsed() > PEERS_TTL);
        if stale {
            let found: Vec<PathBuf> = std::fs::read_dir(&self.dir)
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| *p != self.me)
                        .collect()
                })
                .unwrap_or_default();
            *peers = (Some(Instant::now()), found);
        }
        peers
            .1
            .retain(|peer| match self.sender.send_to(b"w", peer) {
                Ok(_) => true,
                Err(e)
                    if matches!(e.kind(), ErrorKind::ConnectionRefused | ErrorKind::NotFound) =>
                {
                    // Its process is gone: tidy up so nobody keeps trying.
                    let _ = std::fs::remove_file(peer);
                    false
                }
                Err(_) => true,
            });
    }
}

/// Whether nobody is bound to the socket at `path` any more (its process is gone). A socket
/// that cannot be checked (another user's, say) counts as alive.
fn is_dead(path: &Path) -> bool {
    let Ok(probe) = UnixDatagram::unbound() else {
        return false;
    };
    match probe.connect(path) {
        Ok(()) => false,
        Err(e) => matches!(e.kind(), ErrorKind::ConnectionRefused),
    }
}

/// Removes the sockets in `dir` whose process is gone (never `keep`), then `dir` itself if
/// that left it empty. The kernel refuses to remove a directory that is not empty, so one that
/// a live process is in stays.
fn sweep(dir: &Path, keep: Option<&Path>) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if Some(path.as_path()) != keep && is_dead(&path) {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// [`sweep`]s the other wake-up directories under `temp`: those of database files whose last
/// process was killed would otherwise stay for good.
fn sweep_others(temp: &Path, mine: &Path) {
    let Ok(entries) = std::fs::read_dir(temp) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let is_wake_dir = entry.file_name().to_string_lossy().starts_with(DIR_PREFIX)
            && entry.file_type().is_ok_and(|t| t.is_dir());
        let path = entry.path();
        if is_wake_dir && path != mine {
            sweep(&path, None);
        }
    }
}

impl Drop for Wake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = std::fs::remove_file(&self.me);
        // The last one out removes the directory (and any dead sockets still in it).
        sweep(&self.dir, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_datagram_from_one_end_bumps_the_others_counter() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("w.db");
        std::fs::write(&db, b"").unwrap();
        let a = Wake::open(&db).unwrap();
        let b = Wake::open(&db).unwrap();
        let mut rx = b.subscribe();
        a.notify_others();
        tokio::time::timeout(Duration::from_secs(10), rx.changed())
            .await
            .expect("the other end hears it")
            .unwrap();
        // A dead peer's socket is removed on the next send.
        let c = Wake::open(&db).unwrap();
        let c_path = c.me.clone();
        drop(c);
        std::fs::write(&c_path, b"").ok();
        *a.peers.lock().unwrap() = (None, Vec::new());
        a.notify_others();
        assert!(!a.peers.lock().unwrap().1.contains(&c_path));
    }

    #[test]
    fn the_last_process_to_leave_removes_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("leave.db");
        std::fs::write(&db, b"").unwrap();
        let a = Wake::open(&db).unwrap();
        let b = Wake::open(&db).unwrap();
        let wake_dir = a.dir.clone();
        drop(a);
        assert!(wake_dir.exists(), "b is still there");
        drop(b);
        assert!(!wake_dir.exists(), "{} was left behind", wake_dir.display());
    }

    /// A socket file whose process is gone, as a killed process leaves it.
    fn dead_socket(path: &Path) {
        let socket = UnixDatagram::bind(path).unwrap();
        drop(socket);
        assert!(path.exists());
    }

    #[test]
    fn sockets_of_killed_processes_are_cleared_and_their_directories_removed() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("killed.db");
        std::fs::write(&db, b"").unwrap();
        // A process on this file was killed: its socket is still in the directory.
        let first = Wake::open(&db).unwrap();
        let wake_dir = first.dir.clone();
        drop(first);
        std::fs::create_dir_all(&wake_dir).unwrap();
        let killed = wake_dir.join("4194304-1.sock");
        dead_socket(&killed);
        let next = Wake::open(&db).unwrap();
        assert!(!killed.exists(), "the dead socket is cleared on open");
        drop(next);
        assert!(!wake_dir.exists());

        // Another file's directory, left with only a dead socket: the next open of any file
        // removes it, so directories do not pile up under the temporary directory.
        let other_db = dir.path().join("other.db");
        std::fs::write(&other_db, b"").unwrap();
        let other = Wake::open(&other_db).unwrap();
        let other_dir = other.dir.clone();
        drop(other);
        std::fs::create_dir_all(&other_dir).unwrap();
        dead_socket(&other_dir.join("4194305-1.sock"));
        let opener = Wake::open(&db).unwrap();
        assert!(
            !other_dir.exists(),
            "{} was left behind",
            other_dir.display()
        );
        drop(opener);
    }
}
