//! The one connection thread: every statement of a store runs here, with group commit.
//!
//! SQLite allows one writer at a time, so instead of a pool that fights over the write lock
//! the store owns one connection on a dedicated thread. Calls arrive on a channel; the thread
//! takes every call waiting at that moment, runs each inside its own `SAVEPOINT` (so one
//! call's failure rolls back only that call), and commits them all with one `COMMIT`. Replies
//! go out only after that commit, so a caller that got `Ok` knows its change is durable (as
//! durable as the `synchronous` setting makes it). Under load this turns N fsyncs into one.
//!
//! A short call that finds the connection idle (nothing queued, the thread not running a
//! group) runs on the caller's own thread instead, in a transaction of its own: handing it to
//! the thread and back costs two cross-thread wake-ups, which on this kind of machine are
//! most of a one-row insert's time (`perf` put 44 % of a one-by-one enqueue loop in
//! `try_to_wake_up` and futex waits). It never waits for another process's write lock there:
//! when the database is busy it goes to the thread after all.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use asyncapex_core::{Error, Result, StoreErrorKind};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::errors::from_sqlite;

type Reply = Box<dyn FnOnce(Option<&Error>) + Send>;
/// How a call runs inside the group transaction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallKind {
    /// Its success may have made work available to other processes: wake them after commit.
    pub(crate) wakes: bool,
    /// It runs one statement, which SQLite makes atomic by itself: no savepoint needed.
    pub(crate) single_statement: bool,
    /// It is short (a few rows): it may run on the caller's thread when the connection is
    /// idle. Calls that may touch many rows stay on the thread so they never block the
    /// caller's async runtime.
    pub(crate) short: bool,
}

type Command = (
    CallKind,
    Box<dyn FnOnce(&Connection) -> (bool, Reply) + Send>,
);

/// Most calls folded into one transaction; bounds the latency of the first caller.
const MAX_GROUP: usize = 512;

/// A handle to the connection thread. Cloning shares the thread.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionThread {
    // Declared before `_thread` so the last handle closes the channel before joining.
    tx: mpsc::Sender<Command>,
    /// The connection; the thread holds the lock while it runs a group.
    conn: Arc<Mutex<Connection>>,
    /// Calls sent to the thread and not yet taken by it.
    queued: Arc<AtomicUsize>,
    /// Whether short calls may run inline (the writer only).
    inline: bool,
    /// How long the thread waits for another process's write lock; restored after an
    /// inline attempt that does not wait at all.
    busy_timeout: Duration,
    wake: Option<Arc<Wake>>,
    _thread: std::sync::Arc<ThreadGuard>,
}

/// Joins the connection thread when the last handle goes, then its companion (the
/// checkpointer, which ends once the connection is closed), so the database is closed by the
/// time the store is dropped (a caller may then delete or replace the file safely).
#[derive(Debug)]
struct ThreadGuard {
    thread: Option<thread::JoinHandle<()>>,
    companion: Option<thread::JoinHandle<()>>,
}

impl Drop for ThreadGuard {
    fn drop(&mut self) {
        for handle in [self.thread.take(), self.companion.take()]
            .into_iter()
            .flatten()
        {
            if handle.thread().id() != thread::current().id() {
                let _ = handle.join();
            }
        }
    }
}

use crate::wake::Wake;

impl ConnectionThread {
    /// Starts the thread that owns `conn`, committing calls in groups. It ends when every
    /// handle is dropped; `companion` (a thread that ends once `conn` is closed) is joined
    /// after it.
    pub(crate) fn spawn(
        conn: Connection,
        name: &str,
        busy_timeout: Duration,
        wake: Option<std::sync::Arc<Wake>>,
        companion: Option<thread::JoinHandle<()>>,
    ) -> Result<ConnectionThread> {
        ConnectionThread::start(conn, name, true, busy_timeout, wake, companion)
    }

    /// Starts a thread for a read-only connection: calls run one by one, outside any
    /// transaction.
    pub(crate) fn spawn_reader(conn: Connection, name: &str) -> Result<ConnectionThread> {
        ConnectionThread::start(conn, name, false, Duration::ZERO, None, None)
    }

    fn start(
        conn: Connection,
        name: &str,
        writer: bool,
        busy_timeout: Duration,
        wake: Option<std::sync::Arc<Wake>>,
        companion: Option<thread::JoinHandle<()>>,
    ) -> Result<ConnectionThread> {
        let (tx, rx) = mpsc::channel::<Command>();
        let conn = Arc::new(Mutex::new(conn));
        let queued = Arc::new(AtomicUsize::new(0));
        let (thread_conn, thread_queued, thread_wake) =
            (conn.clone(), queued.clone(), wake.clone());
        let handle = thread::Builder::new()
            .name(format!("asyncapex-sqlite:{name}"))
            .spawn(move || {
                if writer {
                    run(&thread_conn, &thread_queued, rx, thread_wake)
                } else {
                    run_reads(&thread_conn, &thread_queued, rx)
                }
            })
            .map_err(|e| {
                Error::store(
                    StoreErrorKind::Unavailable,
                    format!("cannot start the SQLite thread: {e}"),
                )
            })?;
        Ok(ConnectionThread {
            tx,
            conn,
            queued,
            inline: writer,
            busy_timeout,
            wake,
            _thread: std::sync::Arc::new(ThreadGuard {
                thread: Some(handle),
                companion,
            }),
        })
    }

    /// Runs a short call on the caller's thread when the connection is idle; gives `f` back
    /// when it is not (busy thread, queued calls, or another process holding the write lock).
    fn try_inline<T, F>(&self, kind: CallKind, f: F) -> std::result::Result<Result<T>, F>
    where
        F: FnOnce(&Connection) -> Result<T>,
    {
        if !(self.inline && kind.short) || self.queued.load(Ordering::Acquire) > 0 {
            return Err(f);
        }
        let Ok(conn) = self.conn.try_lock() else {
            return Err(f);
        };
        // Never wait for another process's lock on the caller's thread.
        let _ = conn.busy_timeout(Duration::ZERO);
        let begun = statement(&conn, "BEGIN IMMEDIATE");
        let _ = conn.busy_timeout(self.busy_timeout);
        if begun.is_err() {
            return Err(f);
        }
        let result = f(&conn);
        let result = match result {
            Ok(v) => match statement(&conn, "COMMIT") {
                Ok(()) => Ok(v),
                Err(e) => {
                    let _ = conn.execute_batch("ROLLBACK");
                    Err(from_sqlite(e))
                }
            },
            Err(e) => {
                let _ = statement(&conn, "ROLLBACK");
                Err(e)
            }
        };
        drop(conn);
        if result.is_ok()
            && kind.wakes
            && let Some(w) = &self.wake
        {
            w.notify_others();
        }
        Ok(result)
    }

    /// Runs `f` on the connection inside the current group transaction and returns its result
    /// once that transaction has committed.
    pub(crate) async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.send(
            CallKind {
                wakes: false,
                single_statement: false,
                short: false,
            },
            f,
        )
        .await
    }

    /// [`call`](Self::call) for a call that runs a single statement (SQLite makes one
    /// statement atomic, so it needs no savepoint of its own).
    pub(crate) async fn call_single<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.send(
            CallKind {
                wakes: false,
                single_statement: true,
                short: false,
            },
            f,
        )
        .await
    }

    /// [`call`](Self::call) for a change that may make work available: once it commits, the
    /// other processes on this file are woken.
    pub(crate) async fn call_waking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.send(
            CallKind {
                wakes: true,
                single_statement: false,
                short: false,
            },
            f,
        )
        .await
    }

    /// [`call`](Self::call) for a long call that can stop at a safe point: `f` gets a check
    /// that says whether other calls are waiting for the connection, so it can end early and
    /// let them in (the purge does, between its steps) instead of making them wait for all
    /// of it.
    pub(crate) async fn call_yielding<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &dyn Fn() -> bool) -> Result<T> + Send + 'static,
    {
        let queued = self.queued.clone();
        self.call(move |conn| f(conn, &|| queued.load(Ordering::Acquire) > 0))
            .await
    }

    /// Runs `f` with an explicit [`CallKind`].
    pub(crate) async fn send<T, F>(&self, kind: CallKind, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let f = match self.try_inline(kind, f) {
            Ok(done) => return done,
            Err(f) => f,
        };
        let (reply_tx, reply_rx) = oneshot::channel::<Result<T>>();
        let command: Command = (
            kind,
            Box::new(move |conn| {
                let result = f(conn);
                let ok = result.is_ok();
                let reply: Reply = Box::new(move |commit_error| {
                    let result = match (result, commit_error) {
                        (Ok(_), Some(e)) => Err(e.clone()),
                        (r, _) => r,
                    };
                    // The caller may have given up waiting; nothing to do then.
                    let _ = reply_tx.send(result);
                });
                (ok, reply)
            }),
        );
        self.queued.fetch_add(1, Ordering::AcqRel);
        if self.tx.send(command).is_err() {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(closed());
        }
        reply_rx.await.map_err(|_| closed())?
    }
}

fn closed() -> Error {
    Error::store(
        StoreErrorKind::Unavailable,
        "the SQLite connection thread has stopped",
    )
}

/// Runs a fixed control statement through the statement cache (parsing it once).
fn statement(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

fn lock(conn: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    // A panic in a call cannot leave the connection half-changed: SQLite rolls back.
    conn.lock().unwrap_or_else(|e| e.into_inner())
}

fn run_reads(conn: &Mutex<Connection>, queued: &AtomicUsize, rx: mpsc::Receiver<Command>) {
    while let Ok((_, command)) = rx.recv() {
        queued.fetch_sub(1, Ordering::AcqRel);
        let conn = lock(conn);
        let (_, reply) = command(&conn);
        reply(None);
    }
}

fn run(
    conn: &Mutex<Connection>,
    queued: &AtomicUsize,
    rx: mpsc::Receiver<Command>,
    wake: Option<std::sync::Arc<Wake>>,
) {
    let mut group: Vec<Command> = Vec::with_capacity(MAX_GROUP);
    let mut replies: Vec<Reply> = Vec::with_capacity(MAX_GROUP);
    while let Ok(first) = rx.recv() {
        group.push(first);
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(c) => group.push(c),
                Err(_) => break,
            }
        }
        let conn = lock(conn);
        queued.fetch_sub(group.len(), Ordering::AcqRel);
        // IMMEDIATE takes the write lock up front, so another process's writer makes us wait
        // (busy_timeout) here rather than fail halfway through the group.
        if let Err(e) = statement(&conn, "BEGIN IMMEDIATE") {
            let err = from_sqlite(e);
            for (_, command) in group.drain(..) {
                let (_, reply) = command(&conn);
                reply(Some(&err));
            }
            continue;
        }
        let mut woke = false;
        for (kind, command) in group.drain(..) {
            if kind.single_statement {
                let (ok, reply) = command(&conn);
                woke |= kind.wakes && ok;
                replies.push(reply);
                continue;
            }
            let savepoint = statement(&conn, "SAVEPOINT call");
            let (ok, reply) = command(&conn);
            woke |= kind.wakes && ok;
            if savepoint.is_ok() {
                let ended = if ok {
                    statement(&conn, "RELEASE call")
                } else {
                    statement(&conn, "ROLLBACK TO call")
                        .and_then(|()| statement(&conn, "RELEASE call"))
                };
                if let Err(e) = ended {
                    tracing::error!(error = %e, "cannot end a savepoint");
                }
            }
            replies.push(reply);
        }
        let commit = statement(&conn, "COMMIT").map_err(from_sqlite);
        if commit.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        let commit_error = commit.err();
        if commit_error.is_none()
            && woke
            && let Some(w) = &wake
        {
            w.notify_others();
        }
        drop(conn);
        for reply in replies.drain(..) {
            reply(commit_error.as_ref());
        }
    }
}
