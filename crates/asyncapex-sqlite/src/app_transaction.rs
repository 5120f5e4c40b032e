//! Enqueueing inside the application's own transaction on the store's file (Apex's "async
//! work is dispatched when the transaction commits"): the jobs exist if and only if the
//! application's transaction commits, and every engine on the file hears of them when it does.

use std::path::Path;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use asyncapex_core::{BlockingAppTransaction, Error, NewJob, Result};
use rusqlite::Connection;
use rusqlite::hooks::Action;
use rusqlite::wal::CheckpointMode;

use crate::SqliteStore;
use crate::errors::from_sqlite;

/// WAL pages after which the application's connection checkpoints on its own: its WAL hook
/// replaces SQLite's automatic checkpoint (which is itself a WAL hook), so this keeps the
/// same bound SQLite's default would.
const CHECKPOINT_PAGES: std::ffi::c_int = 1000;

impl SqliteStore {
    /// Prepares the application's own connection to this store's file for enqueueing inside
    /// its transactions (call it once per connection, before [`insert_in`](Self::insert_in)):
    /// checks that it is this file in WAL mode (the store leaves the file in it), sets a busy
    /// timeout of 5 s (the application and the engines take turns at the file's write lock;
    /// set your own after this to change it), and hooks its commits so that one that inserted
    /// jobs wakes every engine on the file at once — in this process or another — as an
    /// engine's own enqueue does.
    ///
    /// The hooks replace any update, rollback or WAL hook the application set on `conn`,
    /// and SQLite's automatic checkpoint (itself a WAL hook), which they take over at the
    /// same 1,000 pages. While the application's transaction holds the write lock (from its
    /// first write to its commit) every engine's writes to the file wait: keep it short.
    ///
    /// ```no_run
    /// # async fn demo(store: &asyncapex_sqlite::SqliteStore) -> asyncapex_core::Result<()> {
    /// let mut conn = rusqlite::Connection::open("app.db").expect("open");
    /// store.enlist(&mut conn)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::NotAllowed`] when the store is in memory, `conn` is another file or not in
    /// WAL mode; a store error.
    pub fn enlist(&self, conn: &mut Connection) -> Result<()> {
        self.check_same_file(conn)?;
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .map_err(from_sqlite)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::NotAllowed {
                rule: format!(
                    "the connection's journal mode is {mode}; the store's file runs in WAL mode (PRAGMA journal_mode = WAL)"
                ),
            });
        }
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(from_sqlite)?;
        // Armed by an insert into the job table, disarmed by a rollback, fired by a commit.
        let armed = Arc::new(AtomicBool::new(false));
        let on_insert = armed.clone();
        conn.update_hook(Some(move |action, _db: &str, table: &str, _rowid| {
            if action == Action::SQLITE_INSERT && table == "asyncapex_job" {
                on_insert.store(true, Ordering::Relaxed);
            }
        }))
        .map_err(from_sqlite)?;
        let on_rollback = armed.clone();
        conn.rollback_hook(Some(move || on_rollback.store(false, Ordering::Relaxed)))
            .map_err(from_sqlite)?;
        let wake = self.wake.clone();
        conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages| {
            if armed.swap(false, Ordering::Relaxed)
                && let Some(w) = &wake
            {
                w.notify_all();
            }
            if pages >= CHECKPOINT_PAGES {
                // The commit has happened whatever this returns; a failed checkpoint is
                // retried by the next commit past the mark.
                let _ = wal.checkpoint_v2(CheckpointMode::PASSIVE);
            }
            Ok(())
        }))
        .map_err(from_sqlite)
    }

    /// Inserts `jobs` inside the transaction open on `conn` (an [`enlist`](Self::enlist)ed
    /// connection to this store's file): they commit or roll back with it, all or none of
    /// them. Called by the engine's `PreparedEnqueue::insert_in`, which checked the limits.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] when the store is in memory, `conn` is another file or has no
    /// transaction open; [`Error::DuplicateSignature`] and the flex queue's cap as for any
    /// insert (none of these jobs is inserted then, and the application's transaction stays
    /// open); a store error.
    pub fn insert_in(&self, conn: &Connection, jobs: &[NewJob], max_holding: u32) -> Result<()> {
        self.check_same_file(conn)?;
        if conn.is_autocommit() {
            return Err(Error::NotAllowed {
                rule: "jobs are inserted inside the application's transaction: begin one first (conn.transaction())".into(),
            });
        }
        conn.execute_batch("SAVEPOINT asyncapex_insert_in")
            .map_err(from_sqlite)?;
        match crate::jobs::insert_many(conn, jobs, max_holding) {
            Ok(()) => conn
                .execute_batch("RELEASE asyncapex_insert_in")
                .map_err(from_sqlite),
            Err(e) => {
                // All or nothing, as any insert; the application's own work stays.
                let _ = conn
                    .execute_batch("ROLLBACK TO asyncapex_insert_in; RELEASE asyncapex_insert_in");
                Err(e)
            }
        }
    }

    fn check_same_file(&self, conn: &Connection) -> Result<()> {
        let Some(ours) = &self.path else {
            return Err(Error::NotAllowed {
                rule: "an in-memory store cannot take jobs from another connection: open the store on a file".into(),
            });
        };
        let theirs = conn.path().filter(|p| !p.is_empty()).map(Path::new);
        let same = theirs.is_some_and(|t| match (t.canonicalize(), ours.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        });
        if same {
            return Ok(());
        }
        Err(Error::NotAllowed {
            rule: format!(
                "the connection is to {}, not to the store's file {}",
                theirs.map_or("an in-memory database".into(), |t| t.display().to_string()),
                ours.display()
            ),
        })
    }
}

impl BlockingAppTransaction<SqliteStore> for Connection {
    fn job_insert_in(&self, store: &SqliteStore, jobs: &[NewJob], max_holding: u32) -> Result<()> {
        store.insert_in(self, jobs, max_holding)
    }
}

impl BlockingAppTransaction<SqliteStore> for rusqlite::Transaction<'_> {
    fn job_insert_in(&self, store: &SqliteStore, jobs: &[NewJob], max_holding: u32) -> Result<()> {
        store.insert_in(self, jobs, max_holding)
    }
}
