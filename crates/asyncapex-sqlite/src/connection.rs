//! The one connection thread: every statement of a store runs here, with group commit.
//!
//! SQLite allows one writer at a time, so instead of a pool that fights over the write lock
//! the store owns one connection on a dedicated thread. Calls arrive on a channel; the thread
//! takes every call waiting at that moment, runs each inside its own `SAVEPOINT` (so one
//! call's failure rolls back only that call), and commits them all with one `COMMIT`. Replies
//! go out only after that commit, so a caller that got `Ok` knows its change is durable (as
//! durable as the `synchronous` setting makes it). Under load this turns N fsyncs into one.

use std::sync::mpsc;
use std::thread;

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
    _thread: std::sync::Arc<ThreadGuard>,
}

/// Joins the connection thread when the last handle goes, so the database is closed by the
/// time the store is dropped (a caller may then delete or replace the file safely).
#[derive(Debug)]
struct ThreadGuard(Option<thread::JoinHandle<()>>);

impl Drop for ThreadGuard {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take()
            && handle.thread().id() != thread::current().id()
        {
            let _ = handle.join();
        }
    }
}

use crate::wake::Wake;

impl ConnectionThread {
    /// Starts the thread that owns `conn`, committing calls in groups. It ends when every
    /// handle is dropped.
    pub(crate) fn spawn(
        conn: Connection,
        name: &str,
        wake: Option<std::sync::Arc<Wake>>,
    ) -> Result<ConnectionThread> {
        ConnectionThread::start(conn, name, true, wake)
    }

    /// Starts a thread for a read-only connection: calls run one by one, outside any
    /// transaction.
    pub(crate) fn spawn_reader(conn: Connection, name: &str) -> Result<ConnectionThread> {
        ConnectionThread::start(conn, name, false, None)
    }

    fn start(
        conn: Connection,
        name: &str,
        writer: bool,
        wake: Option<std::sync::Arc<Wake>>,
    ) -> Result<ConnectionThread> {
        let (tx, rx) = mpsc::channel::<Command>();
        let handle = thread::Builder::new()
            .name(format!("asyncapex-sqlite:{name}"))
            .spawn(move || {
                if writer {
                    run(conn, rx, wake)
                } else {
                    run_reads(conn, rx)
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
            _thread: std::sync::Arc::new(ThreadGuard(Some(handle))),
        })
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
            },
            f,
        )
        .await
    }

    /// Runs `f` with an explicit [`CallKind`].
    pub(crate) async fn send<T, F>(&self, kind: CallKind, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
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
        self.tx.send(command).map_err(|_| closed())?;
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

fn run_reads(conn: Connection, rx: mpsc::Receiver<Command>) {
    while let Ok((_, command)) = rx.recv() {
        let (_, reply) = command(&conn);
        reply(None);
    }
}

fn run(conn: Connection, rx: mpsc::Receiver<Command>, wake: Option<std::sync::Arc<Wake>>) {
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
        for reply in replies.drain(..) {
            reply(commit_error.as_ref());
        }
    }
}
