//! The embedded SQLite store of asyncapex.
//!
//! One file, WAL journal, one connection on a dedicated thread with group commit (see
//! [`SqliteOptions`] for durability). Several processes may open the same file: SQLite's file
//! lock serialises their writers, and `busy_timeout` makes them wait their turn.
//!
//! ```no_run
//! # async fn demo() -> asyncapex_core::Result<()> {
//! use asyncapex_sqlite::SqliteStore;
//!
//! let store = SqliteStore::open("asyncapex.db").await?;
//! # Ok(()) }
//! ```

mod app_transaction;
mod batches;
mod checkpoint;
mod connection;
mod cron_triggers;
mod decode;
mod errors;
mod file_identity;
mod fill;
mod jobs;
mod migrate;
mod query_source;
mod queues;
mod retention;
mod wake;

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use asyncapex_core::IdGenerator;
use asyncapex_core::fill::FinishedJobsFill;
use asyncapex_core::{
    AbortOutcome, CronTriggerDeleteParams, CronTriggerDueParams, CronTriggerFailParams,
    CronTriggerFireParams, CronTriggerId, CronTriggerInsertParams, CronTriggerListParams,
    CronTriggerRecord, CronTriggerResumeParams, Error, HeartbeatAck, JobAbortParams,
    JobClaimParams, JobCompleteManyParams, JobCountCreatedSinceParams, JobFinalizerStoreParams,
    JobFinishParams, JobHeartbeatParams, JobId, JobInsertManyParams, JobListParams, JobPurgeParams,
    JobRecord, JobReleaseParams, JobRescueParams, JobStats, JobStatsParams, JobStatus, NewJob,
    NodeHeartbeatParams, NodeListParams, NodeRecord, NodeRegisterParams, PurgeBatch, RescueOutcome,
    Result, Store, StoreErrorKind, StrandedFinalizer,
};
use asyncapex_core::{
    BatchChunkFinishParams, BatchChunkListParams, BatchChunkRecord, BatchChunksInsertParams,
    BatchChunksResetParams, BatchErrorEvent, BatchErrorEventListParams, BatchPromoteParams,
    BatchStartCompleteParams, FlexQueueMoveParams, NewBatchErrorEvent,
};
use asyncapex_core::{JobRetryParams, QueueRecord, QueueSettings, TenantCount};
use asyncapex_core::{QueryPageParams, QuerySource};
use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags, named_params};
use serde_json::{Map, Value};

use crate::connection::{CallKind, ConnectionThread};
use crate::errors::from_sqlite;

/// The most rows a call may touch and still run on the caller's thread when the connection
/// is idle (see `connection`): tens of microseconds, not long enough to stall a runtime.
const SHORT_ROWS: usize = 64;
pub use crate::query_source::SqliteQuerySource;
/// The `rusqlite` this store is built with: an application that enqueues inside its own
/// transactions ([`SqliteStore::insert_in`]) opens its connection with it.
pub use rusqlite;

/// How hard SQLite works to make a commit survive a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=NORMAL` in WAL mode (the default): a commit that returned survives a crash
    /// of the process; a power cut or OS crash may lose the last few commits (never corrupt
    /// the file).
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit is fsynced before it returns, so it also survives a
    /// power cut, at the price of one fsync per group commit.
    Full,
}

/// Options for opening a store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Durability of commits.
    pub durability: Durability,
    /// How long to wait for another process holding the write lock.
    pub busy_timeout: Duration,
    /// Create the file if it does not exist (the CLI's admin commands turn this off, so a typo
    /// in a path is an error rather than a new empty database).
    pub create: bool,
    /// How often, at most, [`Store::node_heartbeat`] and [`Store::job_claim`] check that the
    /// path still names the file the store opened (a `stat`): a file deleted or replaced
    /// under a running worker then fails them with [`StoreErrorKind::Replaced`] instead of
    /// letting the worker run jobs nobody else sees. `ZERO` checks on every call.
    pub file_check_interval: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            durability: Durability::Normal,
            busy_timeout: Duration::from_secs(10),
            create: true,
            file_check_interval: Duration::from_secs(1),
        }
    }
}

/// The embedded store: an SQLite file (or memory) behind one connection thread.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: ConnectionThread,
    /// A read-only connection for the counts an operator or a benchmark polls (`None` in
    /// memory): every call on `conn` runs inside `BEGIN IMMEDIATE`, which waits for the write
    /// lock, so a process polling beside a busy worker waited behind its writes and, past the
    /// busy timeout, failed with "database is locked". WAL readers never wait for a writer.
    reader: Option<ConnectionThread>,
    path: Option<PathBuf>,
    wake: Option<std::sync::Arc<crate::wake::Wake>>,
    /// The file opened, to notice it being deleted or replaced (`None` in memory).
    file: Option<std::sync::Arc<crate::file_identity::FileIdentity>>,
}

impl SqliteStore {
    /// Writes `fill`'s finished job records straight into the job table, for benchmarks and
    /// load tests (a store with months of history, made in seconds): in transactions of
    /// 50,000 rows, calling `on_batch` with each one's count. The kept counts move with the
    /// rows, as with any insert. Returns how many records it wrote.
    ///
    /// ```no_run
    /// # async fn demo() -> asyncapex_core::Result<()> {
    /// use asyncapex_core::fill::FinishedJobsFill;
    /// let store = asyncapex_sqlite::SqliteStore::open("bench.db").await?;
    /// let fill = FinishedJobsFill::over_days(1_000_000, 30, jiff::Timestamp::now());
    /// store.fill_finished(&fill, |n| eprintln!("+{n}")).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A store error (rows of batches already committed stay); [`asyncapex_core::Error::Store`]
    /// with a constraint kind when an ID is taken (fill a store once per node number).
    pub async fn fill_finished(
        &self,
        fill: &FinishedJobsFill,
        mut on_batch: impl FnMut(u64),
    ) -> Result<u64> {
        const BATCH: u64 = 50_000;
        let ids = std::sync::Arc::new(IdGenerator::new(fill.node));
        let mut start = 0;
        while start < fill.count {
            let end = (start + BATCH).min(fill.count);
            let (f, g) = (fill.clone(), ids.clone());
            self.conn
                .call(move |conn| fill::rows(conn, &f, &g, start, end))
                .await?;
            on_batch(end - start);
            start = end;
        }
        Ok(fill.count)
    }

    /// Opens (creating if needed) the database file at `path` and migrates it.
    ///
    /// # Errors
    /// A store error when the file cannot be opened, is not an SQLite database, or was
    /// written by a newer asyncapex.
    pub async fn open(path: impl AsRef<Path>) -> Result<SqliteStore> {
        SqliteStore::open_with(path, SqliteOptions::default()).await
    }

    /// Opens the database file at `path` with options.
    ///
    /// # Errors
    /// As [`open`](SqliteStore::open); also [`StoreErrorKind::Unavailable`] when the file does
    /// not exist, or is empty, and `options.create` is false; [`StoreErrorKind::Corrupt`] for an
    /// SQLite database with tables named like asyncapex's but no migration table, and (when
    /// `options.create` is false) for any database without asyncapex's tables. A refused file
    /// is left untouched. With `options.create`, an application's database with no asyncapex
    /// objects gets asyncapex's tables beside its own.
    pub async fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<SqliteStore> {
        let path = path.as_ref().to_path_buf();
        if !options.create && !path.exists() {
            return Err(Error::store(
                StoreErrorKind::Unavailable,
                format!("no database at {}", path.display()),
            ));
        }
        let flags = if options.create {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let opened_path = path.clone();
        let busy_timeout = options.busy_timeout;
        let file_check_interval = options.file_check_interval;
        let thread_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = thread_name.clone();
        let reader_path = path.clone();
        let (conn, checkpointer) = tokio::task::spawn_blocking(move || -> Result<_> {
            let mut conn = Connection::open_with_flags(&opened_path, flags).map_err(|e| {
                Error::store(
                    StoreErrorKind::Unavailable,
                    format!("cannot open {}: {e}", opened_path.display()),
                )
            })?;
            // Before any write (even the WAL switch): refuse a file with objects named like
            // ours that is not ours, and, when the caller must not create a database, any file
            // that holds none.
            let found = migrate::inspect(&conn).map_err(|e| describe(e, &opened_path))?;
            if !options.create
                && let Some(refusal) = found.refusal_without_create()
            {
                return Err(describe(refusal, &opened_path));
            }
            configure(&conn, &options).map_err(|e| describe(e, &opened_path))?;
            migrate::migrate(&conn).map_err(|e| describe(e, &opened_path))?;
            let checkpointer = checkpoint::start(&mut conn, &opened_path, &thread_name);
            Ok((conn, checkpointer))
        })
        .await
        .map_err(|e| Error::store(StoreErrorKind::Other, e.to_string()))??;
        // Other processes on this file wake this one when they enqueue (see `wake`).
        let wake = crate::wake::Wake::open(&path);
        let file = crate::file_identity::FileIdentity::of(&path, file_check_interval)
            .map(std::sync::Arc::new);
        // Opened after the migration, so it reads the migrated schema; read-only, so it can
        // never take the write lock.
        let reader = Connection::open_with_flags(
            &reader_path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .and_then(|c| c.busy_timeout(busy_timeout).map(|()| c))
        .map_err(|e| {
            Error::store(
                StoreErrorKind::Unavailable,
                format!("cannot open {} for reading: {e}", reader_path.display()),
            )
        })?;
        Ok(SqliteStore {
            conn: ConnectionThread::spawn(conn, &name, busy_timeout, wake.clone(), checkpointer)?,
            reader: Some(ConnectionThread::spawn_reader(
                reader,
                &format!("{name}:read"),
            )?),
            path: Some(path),
            wake,
            file,
        })
    }

    /// A private in-memory database: for tests and the inline testing mode. It vanishes when
    /// the last clone of the store is dropped.
    ///
    /// # Errors
    /// A store error if SQLite cannot allocate it.
    pub async fn in_memory() -> Result<SqliteStore> {
        let conn = Connection::open_in_memory().map_err(from_sqlite)?;
        configure(&conn, &SqliteOptions::default())?;
        migrate::migrate(&conn)?;
        Ok(SqliteStore {
            conn: ConnectionThread::spawn(
                conn,
                "memory",
                SqliteOptions::default().busy_timeout,
                None,
                None,
            )?,
            reader: None,
            path: None,
            wake: None,
            file: None,
        })
    }

    /// The file this store was opened from (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Fails once the file this store opened has been deleted or replaced (see
    /// [`file_identity`](crate::file_identity)); checked by the calls a worker makes
    /// steadily, heartbeat and claim.
    fn check_file(&self) -> Result<()> {
        self.file.as_ref().map_or(Ok(()), |f| f.check())
    }
}

fn configure(conn: &Connection, options: &SqliteOptions) -> Result<()> {
    conn.busy_timeout(options.busy_timeout)
        .map_err(from_sqlite)?;
    // WAL lets readers (the CLI, the dashboard) run beside the writer.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(from_sqlite)?;
    let sync = match options.durability {
        Durability::Normal => "NORMAL",
        Durability::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", sync)
        .map_err(from_sqlite)?;
    // Every call in a group transaction runs under a savepoint, whose statement journal
    // would otherwise go to a temporary file: one pwrite per page a call changes (a profile
    // of a bulk insert spent a fifth of its time there). Kept in memory it is bounded by one
    // call's changes and gone at its end.
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(from_sqlite)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

fn describe(e: Error, path: &Path) -> Error {
    match e {
        Error::Store { kind, message } => Error::Store {
            kind,
            message: format!("{}: {message}", path.display()),
        },
        other => other,
    }
}

#[async_trait]
impl QuerySource for SqliteStore {
    async fn query_page(&self, params: QueryPageParams) -> Result<Vec<Map<String, Value>>> {
        self.conn
            .call(move |conn| query_source::page(conn, &params))
            .await
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    async fn job_stats(&self, params: JobStatsParams) -> Result<JobStats> {
        self.conn.call(move |conn| jobs::stats(conn, &params)).await
    }

    fn notifications(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.wake.as_ref().map(|w| w.subscribe())
    }

    async fn node_register(&self, params: NodeRegisterParams) -> Result<i64> {
        self.conn
            .call(move |conn| {
                conn.prepare_cached(include_str!("queries/node_register.sql"))
                    .map_err(from_sqlite)?
                    .query_row(
                        named_params! {
                            ":name": params.name,
                            ":now": params.now.as_microsecond(),
                            ":runs_jobs": params.runs_jobs,
                        },
                        |r| r.get(0),
                    )
                    .map_err(from_sqlite)
            })
            .await
    }

    async fn node_heartbeat(&self, params: NodeHeartbeatParams) -> Result<bool> {
        self.check_file()?;
        self.conn
            .call_single(move |conn| {
                let n = conn
                    .prepare_cached(include_str!("queries/node_heartbeat.sql"))
                    .map_err(from_sqlite)?
                    .execute(named_params! {":id": params.id, ":now": params.now.as_microsecond()})
                    .map_err(from_sqlite)?;
                Ok(n > 0)
            })
            .await
    }

    async fn node_stop(&self, params: NodeHeartbeatParams) -> Result<bool> {
        self.conn
            .call_single(move |conn| {
                let n = conn
                    .prepare_cached(include_str!("queries/node_stop.sql"))
                    .map_err(from_sqlite)?
                    .execute(named_params! {":id": params.id, ":now": params.now.as_microsecond()})
                    .map_err(from_sqlite)?;
                Ok(n > 0)
            })
            .await
    }

    async fn node_forget(&self, silent_before: Timestamp) -> Result<u64> {
        self.conn
            .call_single(move |conn| {
                let n = conn
                    .prepare_cached(include_str!("queries/node_forget.sql"))
                    .map_err(from_sqlite)?
                    .execute(named_params! {":cut": silent_before.as_microsecond()})
                    .map_err(from_sqlite)?;
                Ok(n as u64)
            })
            .await
    }

    async fn node_list(&self, params: NodeListParams) -> Result<Vec<NodeRecord>> {
        self.conn
            .call_single(move |conn| {
                let mut stmt = conn
                    .prepare_cached(include_str!("queries/node_list.sql"))
                    .map_err(from_sqlite)?;
                let rows = stmt
                    .query_map(
                        named_params! {":limit": params.limit, ":workers_only": params.workers_only},
                        |r| {
                        let heartbeat_at = jobs::ts("heartbeat_at", r.get("heartbeat_at")?)?;
                        let stopped_at = jobs::opt_ts("stopped_at", r.get("stopped_at")?)?;
                        let silent =
                            asyncapex_core::clock::duration_between(heartbeat_at, params.now);
                        Ok(NodeRecord {
                            id: r.get("id")?,
                            name: r.get("name")?,
                            owner: r.get("owner")?,
                            started_at: jobs::ts("started_at", r.get("started_at")?)?,
                            heartbeat_at,
                            alive: stopped_at.is_none() && silent <= params.dead_after,
                            running_jobs: r.get::<_, i64>("running_jobs")?.max(0) as u64,
                            runs_jobs: r.get("runs_jobs")?,
                            stopped_at,
                        })
                    })
                    .map_err(from_sqlite)?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(from_sqlite)
            })
            .await
    }

    async fn job_insert_many(&self, params: JobInsertManyParams) -> Result<()> {
        let kind = CallKind {
            wakes: true,
            single_statement: false,
            short: params.jobs.len() <= SHORT_ROWS,
        };
        self.conn
            .send(kind, move |conn| {
                jobs::insert_many(conn, &params.jobs, params.max_holding)
            })
            .await
    }

    async fn job_get(&self, id: JobId) -> Result<Option<JobRecord>> {
        self.conn.call_single(move |conn| jobs::get(conn, id)).await
    }

    async fn job_list(&self, params: JobListParams) -> Result<Vec<JobRecord>> {
        self.conn
            .call_single(move |conn| jobs::list(conn, &params))
            .await
    }

    async fn job_count(&self, params: JobListParams) -> Result<u64> {
        self.conn
            .call_single(move |conn| jobs::count_listed(conn, &params))
            .await
    }

    async fn job_class_names(&self, limit: u32) -> Result<Vec<String>> {
        self.conn
            .call_single(move |conn| jobs::class_names(conn, limit))
            .await
    }

    async fn sensitive_fields_put(
        &self,
        class_name: String,
        fields: Vec<String>,
        now: Timestamp,
    ) -> Result<()> {
        let fields = serde_json::Value::from(fields).to_string();
        self.conn
            .call_single(move |conn| {
                conn.prepare_cached(include_str!("queries/sensitive_fields_put.sql"))
                    .map_err(from_sqlite)?
                    .execute(named_params! {
                        ":class_name": class_name,
                        ":fields": fields,
                        ":now": now.as_microsecond(),
                    })
                    .map_err(from_sqlite)?;
                Ok(())
            })
            .await
    }

    async fn sensitive_fields_list(&self) -> Result<asyncapex_core::Redactions> {
        self.conn
            .call_single(move |conn| {
                let mut stmt = conn
                    .prepare_cached(include_str!("queries/sensitive_fields_list.sql"))
                    .map_err(from_sqlite)?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                    .map_err(from_sqlite)?;
                let mut out = asyncapex_core::Redactions::default();
                for row in rows {
                    let (class, fields) = row.map_err(from_sqlite)?;
                    out.insert(&class, asyncapex_core::redaction::field_list(&fields));
                }
                Ok(out)
            })
            .await
    }

    async fn job_attempts(&self, id: JobId) -> Result<Vec<asyncapex_core::AttemptRecord>> {
        self.conn
            .call_single(move |conn| jobs::attempts(conn, id))
            .await
    }

    async fn job_delete(&self, ids: Vec<JobId>) -> Result<u64> {
        self.conn
            .call(move |conn| retention::delete(conn, &ids))
            .await
    }

    async fn job_claim(&self, params: JobClaimParams) -> Result<Vec<JobRecord>> {
        self.check_file()?;
        let kind = CallKind {
            wakes: false,
            // Several queues, or a rate limit's slots, write more than one statement.
            single_statement: false,
            short: params
                .queues
                .iter()
                .map(|q| q.limit as usize)
                .sum::<usize>()
                <= SHORT_ROWS,
        };
        self.conn
            .send(kind, move |conn| queues::claim(conn, &params))
            .await
    }

    async fn job_next_run_at(
        &self,
        queues: Vec<String>,
        after: Timestamp,
    ) -> Result<Option<Timestamp>> {
        let kind = CallKind {
            wakes: false,
            single_statement: true,
            short: true,
        };
        self.conn
            .send(kind, move |conn| queues::next_run_at(conn, &queues, after))
            .await
    }

    async fn job_heartbeat(&self, params: JobHeartbeatParams) -> Result<Vec<HeartbeatAck>> {
        self.conn
            .call_single(move |conn| jobs::heartbeat(conn, &params))
            .await
    }

    async fn job_finish(&self, params: JobFinishParams) -> Result<bool> {
        // Without inserts it is one UPDATE; with them it needs a savepoint and wakes others.
        let inserts = !params.insert.is_empty();
        self.conn
            .send(
                CallKind {
                    wakes: inserts,
                    single_statement: !inserts,
                    short: params.insert.len() <= SHORT_ROWS,
                },
                move |conn| jobs::finish(conn, &params),
            )
            .await
    }

    async fn job_complete_many(&self, params: JobCompleteManyParams) -> Result<Vec<JobId>> {
        let kind = CallKind {
            wakes: false,
            single_statement: false,
            short: params.ids.len() <= SHORT_ROWS,
        };
        self.conn
            .send(kind, move |conn| jobs::complete_many(conn, &params))
            .await
    }

    async fn job_finalizer_store(&self, params: JobFinalizerStoreParams) -> Result<bool> {
        self.conn
            .call_single(move |conn| jobs::finalizer_store(conn, &params))
            .await
    }

    async fn job_finalizers_stranded(&self, limit: u32) -> Result<Vec<StrandedFinalizer>> {
        self.conn
            .call_single(move |conn| jobs::finalizers_stranded(conn, limit))
            .await
    }

    async fn job_finalizer_dispatch(&self, parent: JobId, run: NewJob) -> Result<bool> {
        self.conn
            .call_waking(move |conn| jobs::finalizer_dispatch(conn, parent, &run))
            .await
    }

    async fn job_abort(&self, params: JobAbortParams) -> Result<AbortOutcome> {
        self.conn.call(move |conn| jobs::abort(conn, &params)).await
    }

    async fn job_rescue(&self, params: JobRescueParams) -> Result<RescueOutcome> {
        self.conn
            .call_waking(move |conn| jobs::rescue(conn, &params))
            .await
    }

    async fn job_retry(&self, params: JobRetryParams) -> Result<bool> {
        self.conn
            .call_waking(move |conn| queues::retry(conn, &params))
            .await
    }

    async fn queue_configure(&self, settings: QueueSettings, now: Timestamp) -> Result<()> {
        self.conn
            .call(move |conn| queues::configure(conn, &settings, now))
            .await
    }

    async fn queue_pause(&self, name: String, now: Timestamp) -> Result<bool> {
        self.conn
            .call_single(move |conn| queues::pause(conn, &name, now))
            .await
    }

    async fn queue_resume(&self, name: String, now: Timestamp) -> Result<bool> {
        self.conn
            .call_waking(move |conn| queues::resume(conn, &name, now))
            .await
    }

    async fn queue_list(&self, now: Timestamp) -> Result<Vec<QueueRecord>> {
        self.conn
            .call_single(move |conn| queues::list(conn, now))
            .await
    }

    async fn tenant_counts(&self, limit: u32) -> Result<Vec<TenantCount>> {
        self.conn
            .call_single(move |conn| queues::tenant_counts(conn, limit))
            .await
    }

    async fn job_release(&self, params: JobReleaseParams) -> Result<u64> {
        self.conn
            .call_waking(move |conn| jobs::release(conn, &params))
            .await
    }

    async fn job_count_by_status(&self) -> Result<Vec<(JobStatus, u64)>> {
        match &self.reader {
            Some(reader) => reader.call(jobs::count_by_status).await,
            None => self.conn.call_single(jobs::count_by_status).await,
        }
    }

    async fn job_count_finished(&self) -> Result<Vec<(JobStatus, u64)>> {
        match &self.reader {
            Some(reader) => reader.call(jobs::count_finished).await,
            None => self.conn.call_single(jobs::count_finished).await,
        }
    }

    async fn job_count_created_since(&self, params: JobCountCreatedSinceParams) -> Result<u64> {
        self.conn
            .call_single(move |conn| jobs::count_created_since(conn, &params))
            .await
    }

    async fn job_purge(&self, params: JobPurgeParams) -> Result<PurgeBatch> {
        self.conn
            .call_yielding(move |conn, others_waiting| {
                retention::purge(conn, &params, others_waiting)
            })
            .await
    }

    async fn job_purge_count(&self, params: JobPurgeParams) -> Result<u64> {
        self.conn
            .call_single(move |conn| retention::purge_count(conn, &params))
            .await
    }

    async fn job_count_pending(&self, now: Timestamp) -> Result<u64> {
        self.conn
            .call_single(move |conn| jobs::count_pending(conn, now))
            .await
    }

    async fn cron_trigger_insert(&self, params: CronTriggerInsertParams) -> Result<()> {
        self.conn
            .call_waking(move |conn| cron_triggers::insert(conn, &params))
            .await
    }

    async fn cron_trigger_get(&self, id: CronTriggerId) -> Result<Option<CronTriggerRecord>> {
        self.conn
            .call_single(move |conn| cron_triggers::get(conn, id))
            .await
    }

    async fn cron_trigger_find(&self, name: String) -> Result<Option<CronTriggerRecord>> {
        self.conn
            .call_single(move |conn| cron_triggers::find(conn, &name))
            .await
    }

    async fn cron_trigger_list(
        &self,
        params: CronTriggerListParams,
    ) -> Result<Vec<CronTriggerRecord>> {
        self.conn
            .call_single(move |conn| cron_triggers::list(conn, &params))
            .await
    }

    async fn cron_trigger_due(
        &self,
        params: CronTriggerDueParams,
    ) -> Result<Vec<CronTriggerRecord>> {
        self.conn
            .call_single(move |conn| cron_triggers::due(conn, &params))
            .await
    }

    async fn cron_trigger_fire(&self, params: CronTriggerFireParams) -> Result<bool> {
        self.conn
            .call_waking(move |conn| cron_triggers::fire(conn, &params))
            .await
    }

    async fn cron_trigger_next_fire_time(&self) -> Result<Option<Timestamp>> {
        self.conn.call_single(cron_triggers::next_fire_time).await
    }

    async fn cron_trigger_pause(&self, id: CronTriggerId) -> Result<bool> {
        self.conn
            .call_single(move |conn| cron_triggers::pause(conn, id))
            .await
    }

    async fn cron_trigger_resume(&self, params: CronTriggerResumeParams) -> Result<bool> {
        self.conn
            .call_waking(move |conn| cron_triggers::resume(conn, &params))
            .await
    }

    async fn cron_trigger_delete(&self, params: CronTriggerDeleteParams) -> Result<bool> {
        self.conn
            .call_single(move |conn| cron_triggers::delete(conn, &params))
            .await
    }

    async fn cron_trigger_fail(&self, params: CronTriggerFailParams) -> Result<bool> {
        self.conn
            .call_single(move |conn| cron_triggers::fail(conn, &params))
            .await
    }

    async fn batch_promote(&self, params: BatchPromoteParams) -> Result<Vec<JobId>> {
        self.conn
            .call_waking(move |conn| batches::promote(conn, &params))
            .await
    }

    async fn flex_queue_list(&self) -> Result<Vec<JobRecord>> {
        self.conn.call_single(batches::flex_queue_list).await
    }

    async fn flex_queue_move(&self, params: FlexQueueMoveParams) -> Result<bool> {
        self.conn
            .call(move |conn| batches::flex_queue_move(conn, &params))
            .await
    }

    async fn batch_chunks_insert(&self, params: BatchChunksInsertParams) -> Result<bool> {
        self.conn
            .call(move |conn| batches::chunks_insert(conn, &params))
            .await
    }

    async fn batch_chunks_reset(&self, params: BatchChunksResetParams) -> Result<bool> {
        self.conn
            .call(move |conn| batches::chunks_reset(conn, &params))
            .await
    }

    async fn batch_chunks_release(&self, params: BatchChunksResetParams) -> Result<Option<u64>> {
        self.conn
            .call(move |conn| batches::chunks_release(conn, &params))
            .await
    }

    async fn batch_start_complete(&self, params: BatchStartCompleteParams) -> Result<bool> {
        self.conn
            .call_waking(move |conn| batches::start_complete(conn, &params))
            .await
    }

    async fn batch_chunk_list(
        &self,
        params: BatchChunkListParams,
    ) -> Result<Vec<BatchChunkRecord>> {
        self.conn
            .call_single(move |conn| batches::chunk_list(conn, &params))
            .await
    }

    async fn batch_chunk_finish(&self, params: BatchChunkFinishParams) -> Result<bool> {
        self.conn
            .call_waking(move |conn| batches::chunk_finish(conn, &params))
            .await
    }

    async fn batch_error_event_insert(&self, events: Vec<NewBatchErrorEvent>) -> Result<()> {
        self.conn
            .call(move |conn| batches::error_events_insert(conn, &events))
            .await
    }

    async fn batch_error_event_list(
        &self,
        params: BatchErrorEventListParams,
    ) -> Result<Vec<BatchErrorEvent>> {
        self.conn
            .call_single(move |conn| batches::error_event_list(conn, &params))
            .await
    }
}
