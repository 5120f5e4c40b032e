//! WAL checkpoints off the writer's thread.
//!
//! SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1,000 pages,
//! on the writer: it copies those pages into the database file and syncs it, and every call
//! queued behind that commit waits meanwhile. On this machine that put the enqueue → start
//! p99 at 4–6 ms on an idle store and 16–18 ms during a purge; with the checkpoint out of the
//! writer's way, 0.8 and 7.6 ms (`asyncapex bench scale`, BENCHMARKS.md). So the writer's WAL
//! hook only signals, and a thread with a connection of its own runs a PASSIVE checkpoint,
//! which never blocks the writer.
//!
//! A WAL restarts from its beginning only when a write finds it wholly copied; a writer that
//! never pauses can keep the checkpointer one commit behind for ever. When the WAL still grows
//! past [`WRITER_PAGES`], the writer checkpoints in its hook, as SQLite would have, which
//! bounds the file.

use std::os::raw::c_int;
use std::path::Path;
use std::sync::mpsc;
use std::thread;

use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, OpenFlags};

/// WAL pages after a commit at which the checkpointer is asked to run (SQLite's own default
/// for its automatic checkpoint).
const SIGNAL_PAGES: c_int = 1_000;

/// WAL pages after a commit at which the writer checkpoints itself (64 MiB of 4 KiB pages).
const WRITER_PAGES: c_int = 16_000;

/// Starts the checkpointer of the database at `path` and hands the writer's checkpoints to
/// it. `None` (the writer keeps SQLite's automatic checkpoint) when a second connection
/// cannot be opened or the thread cannot start. The thread ends once `writer` is closed.
pub(crate) fn start(
    writer: &mut Connection,
    path: &Path,
    name: &str,
) -> Option<thread::JoinHandle<()>> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let own = match Connection::open_with_flags(path, flags) {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!(error = %e, "no checkpointer connection; the writer checkpoints");
            return None;
        }
    };
    // One pending signal is enough: the checkpoint copies whatever the WAL holds by then.
    let (tx, rx) = mpsc::sync_channel::<()>(1);
    let handle = thread::Builder::new()
        .name(format!("asyncapex-sqlite:{name}:checkpoint"))
        .spawn(move || run(&own, &rx))
        .map_err(|e| tracing::warn!(error = %e, "no checkpointer thread; the writer checkpoints"))
        .ok()?;
    let hook = hook(tx, SIGNAL_PAGES, WRITER_PAGES);
    if let Err(e) = writer.wal_hook(Some(hook)) {
        // The hook (and with it the sender) is gone, so the thread ends at once.
        tracing::warn!(error = %e, "cannot hook the WAL; the writer checkpoints");
        return None;
    }
    Some(handle)
}

/// The writer's WAL hook: signal the checkpointer at `signal_at` pages, checkpoint on the
/// writer at `writer_at`.
fn hook(
    tx: mpsc::SyncSender<()>,
    signal_at: c_int,
    writer_at: c_int,
) -> impl FnMut(&mut rusqlite::hooks::Wal, c_int) -> rusqlite::Result<()> + Send + 'static {
    move |wal, pages| {
        if pages >= writer_at {
            // The commit has happened whatever this returns; an error here would only be
            // reported as the statement's, so it is dropped (the next commit tries again).
            let _ = wal.checkpoint_v2(CheckpointMode::PASSIVE);
        } else if pages >= signal_at {
            let _ = tx.try_send(());
        }
        Ok(())
    }
}

fn run(conn: &Connection, signals: &mpsc::Receiver<()>) {
    while signals.recv().is_ok() {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "WAL checkpoint failed; the next signal retries");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn open(path: &Path) -> Connection {
        let conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE t (x BLOB)").unwrap();
        conn
    }

    /// Writes about `pages` pages of 4 KiB in one transaction.
    fn write(conn: &Connection, pages: usize) {
        conn.execute_batch("BEGIN").unwrap();
        for _ in 0..pages {
            conn.execute("INSERT INTO t VALUES (zeroblob(4000))", [])
                .unwrap();
        }
        conn.execute_batch("COMMIT").unwrap();
    }

    fn file_len(path: &Path) -> u64 {
        std::fs::metadata(path).unwrap().len()
    }

    /// Past the signal mark a commit only signals: the database file does not grow until the
    /// checkpointer runs, and then it does.
    #[test]
    fn the_writer_signals_and_the_checkpointer_copies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let mut writer = open(&path);
        let (tx, rx) = mpsc::sync_channel(1);
        writer.wal_hook(Some(hook(tx, 50, 10_000))).unwrap();
        let before = file_len(&path);
        write(&writer, 200);
        assert_eq!(file_len(&path), before, "the writer did not checkpoint");
        assert_eq!(rx.try_recv(), Ok(()), "the checkpointer was asked to");
        let own = Connection::open(&path).unwrap();
        own.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .unwrap();
        assert!(
            file_len(&path) > before + 200 * 4000,
            "the pages were copied"
        );
    }

    /// A WAL that outgrows the writer's mark (the checkpointer fell behind) is checkpointed
    /// by the writer itself.
    #[test]
    fn the_writer_checkpoints_when_the_wal_outgrows_its_mark() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let mut writer = open(&path);
        let (tx, _rx) = mpsc::sync_channel(1);
        writer.wal_hook(Some(hook(tx, 50, 100))).unwrap();
        let before = file_len(&path);
        write(&writer, 200);
        assert!(file_len(&path) > before + 200 * 4000);
    }

    /// The started checkpointer ends once the writer is closed.
    #[test]
    fn the_checkpointer_ends_with_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let mut writer = open(&path);
        let handle = start(&mut writer, &path, "t").unwrap();
        write(&writer, 10);
        drop(writer);
        handle.join().unwrap();
    }
}
