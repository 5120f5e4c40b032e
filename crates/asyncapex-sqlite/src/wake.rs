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

use std::io::ErrorKind;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

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
        let dir = std::env::temp_dir().join(format!(
            "asyncapex-wake-{:016x}",
            fnv1a(canonical.as_os_str().as_encoded_bytes())
        ));
        std::fs::create_dir_all(&dir).ok()?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let me = dir.join(format!("{}-{nanos}.sock", std::process::id()));
        let listener = UnixDatagram::bind(&me).ok()?;
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

impl Drop for Wake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = std::fs::remove_file(&self.me);
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
}
