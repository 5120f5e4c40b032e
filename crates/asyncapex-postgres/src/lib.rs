//! The PostgreSQL store of asyncapex: many processes on one database.
//!
//! Every table lives in one schema (`asyncapex` unless [`PostgresOptions::schema`] says
//! otherwise); every connection sets its `search_path` to it, so several stores (or test runs)
//! can share a database without sharing tables. Connecting creates the schema and migrates it
//! in one transaction under an advisory lock, so processes may start at once.
//!
//! How it stays correct with many processes:
//!
//! * claims lock rows with `FOR UPDATE SKIP LOCKED`: workers never wait for, or take, each
//!   other's jobs;
//! * duplicate signatures are refused by a partial unique index, race-free;
//! * every status change is a guarded `UPDATE` (a cron fire time fires once across nodes);
//! * the flex queue (its holding cap, positions and moves, promotion's active cap) and schedule
//!   inserts (unique names, the scheduled-jobs cap) are serialised with transaction-scoped
//!   advisory locks;
//! * inserts `pg_notify` the schema's channel and [`Store::notifications`] wakes engines in
//!   every process (see `listener.rs`);
//! * every method is one transaction.
//!
//! ```no_run
//! # async fn demo() -> asyncapex_core::Result<()> {
//! use asyncapex_postgres::PostgresStore;
//!
//! let store = PostgresStore::connect("postgres://app@localhost/app").await?;
//! # Ok(()) }
//! ```
//!
//! Connections are plain TCP or Unix sockets (no TLS yet).

mod batches;
mod cron_triggers;
mod db;
mod decode;
mod errors;
mod fill;
mod jobs;
mod listener;
mod maintenance;
mod migrate;
mod query_source;
mod queues;
mod retention;

/// The PostgreSQL client, re-exported for transactional enqueue (`job_insert_in`).
pub use tokio_postgres;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use asyncapex_core::query::is_plain_identifier;
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
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use jiff::Timestamp;
use serde_json::{Map, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::NoTls;

use crate::db::{get, micros};
use crate::errors::{from_pg, from_pool, is_connection_lost};

/// The longest schema name: its notification channel, `<schema>_wake`, must fit PostgreSQL's
/// 63-byte identifiers.
pub const MAX_SCHEMA_LEN: usize = 58;

/// How many connections a method tries, beyond the pool's size, when the pool hands out ones
/// the server has closed (a restart, terminated backends): every pooled one may be dead.
const EXTRA_CONNECT_ATTEMPTS: usize = 2;

/// Options for connecting a store.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// The schema holding asyncapex's tables, created if missing: a plain identifier
    /// (letters, digits, underscores) of at most [`MAX_SCHEMA_LEN`] bytes.
    pub schema: String,
    /// The most connections the store's pool opens (its LISTEN connection is extra).
    pub pool_size: usize,
    /// How long opening one connection may take.
    pub connect_timeout: Duration,
    /// How long a method waits for a free pooled connection.
    pub wait_timeout: Duration,
    /// Whether to LISTEN for other processes' inserts ([`Store::notifications`]); without it
    /// engines poll.
    pub listen: bool,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            schema: "asyncapex".to_owned(),
            pool_size: 10,
            connect_timeout: Duration::from_secs(10),
            wait_timeout: Duration::from_secs(30),
            listen: true,
        }
    }
}

/// The PostgreSQL store: a connection pool on one schema, plus one listening connection.
/// Cloning shares both.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    schema: String,
    /// How many connections a method tries before giving up.
    connect_attempts: usize,
    wake: Option<watch::Receiver<u64>>,
    listener: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = &self.listener {
            task.abort();
        }
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.inner.schema)
            .field("pool", &self.inner.pool.status())
            .field("listening", &self.inner.wake.is_some())
            .finish()
    }
}

/// Checks a schema name before it is spliced into SQL (quoted).
///
/// # Errors
/// [`Error::InvalidInput`] unless it is a plain identifier of at most [`MAX_SCHEMA_LEN`]
/// bytes.
pub fn validate_schema(schema: &str) -> Result<()> {
    if is_plain_identifier(schema) && schema.len() <= MAX_SCHEMA_LEN {
        Ok(())
    } else {
        Err(Error::InvalidInput {
            what: "PostgreSQL schema name",
            input: schema.to_owned(),
            rule: "a schema name must be a plain identifier (letters, digits, underscores, not starting with a digit) of at most 58 bytes",
        })
    }
}

/// The (version, name) of every migration this build knows, oldest first: the same list as
/// the SQLite store's, so both reach the same logical version.
pub fn migration_versions() -> Vec<(i64, &'static str)> {
    migrate::MIGRATIONS.iter().map(|m| (m.0, m.1)).collect()
}

/// Session settings of every store connection, before the URL's own options.
///
/// `plan_cache_mode=force_generic_plan`: every store statement is prepared once per
/// connection, and PostgreSQL otherwise re-plans a prepared statement at each run while its
/// custom plans look cheaper than the generic one, which for the statements whose parameters
/// are arrays (a job insert, the next-run lookup) is always. Re-planning cost more than
/// running: 1.0–1.8 ms per one-job insert and 1.4–4.5 ms per next-run lookup, against well
/// under a millisecond of execution (issue 19, BENCHMARKS.md). The store's statements
/// select through their own indexes whatever the values, which is what a generic plan keeps.
const OLTP_SETTINGS: &str =
    "-c jit=off -c max_parallel_workers_per_gather=0 -c plan_cache_mode=force_generic_plan";

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db` or the key=value
    /// form), with the default options: schema `asyncapex`.
    ///
    /// # Errors
    /// As [`connect_with`](PostgresStore::connect_with).
    pub async fn connect(url: &str) -> Result<PostgresStore> {
        PostgresStore::connect_with(url, PostgresOptions::default()).await
    }

    /// Drops a schema and everything in it: every job, schedule and batch of that store. For
    /// benchmarks and tests that need an empty store; no engine may be using it.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad schema name; a store error when the database refuses.
    pub async fn drop_schema(url: &str, schema: &str) -> Result<()> {
        validate_schema(schema)?;
        let (client, connection) = tokio_postgres::connect(url, NoTls).await.map_err(from_pg)?;
        let driver = tokio::spawn(connection);
        let result = client
            .batch_execute(&include_str!("queries/schema_drop.sql").replace("{schema}", schema))
            .await
            .map_err(from_pg);
        drop(client);
        let _ = driver.await;
        result
    }

    /// Connects with options: creates the schema if missing, migrates it, and starts
    /// listening for other processes' inserts.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad schema name; [`StoreErrorKind::Unavailable`] when the
    /// URL does not parse or the server cannot be reached; [`StoreErrorKind::TooNew`] when the
    /// schema was migrated by a newer asyncapex.
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<PostgresStore> {
        validate_schema(&options.schema)?;
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
            Error::store(
                StoreErrorKind::Unavailable,
                format!("cannot parse the PostgreSQL connection string: {e}"),
            )
        })?;
        // Every connection works in the schema, so the SQL files stay unqualified. JIT and
        // parallel plans are off unless the URL's own options turn them on (they come
        // after): the store's queries are short, and on a table of millions of rows their
        // cost estimates pass the JIT and parallel thresholds, so one paid 20 to 300 ms of
        // compilation, another 8 ms of starting workers, for well under a millisecond of
        // work (BENCHMARKS.md, scale).
        let search_path = format!("-c search_path=\"{}\"", options.schema);
        let startup = match config.get_options() {
            Some(existing) if !existing.trim().is_empty() => {
                format!("{OLTP_SETTINGS} {existing} {search_path}")
            }
            _ => format!("{OLTP_SETTINGS} {search_path}"),
        };
        config.options(&startup);
        if config.get_application_name().is_none() {
            // Names the schema, so an operator (or a test) can tell one store's sessions apart.
            config.application_name(format!("asyncapex:{}", options.schema));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                // A pooled connection the server closed is dropped on checkout; one that
                // died unnoticed fails its BEGIN, and the method retries on a new one.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(options.connect_timeout))
            .wait_timeout(Some(options.wait_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| {
                Error::store(
                    StoreErrorKind::Other,
                    format!("cannot build the connection pool: {e}"),
                )
            })?;
        migrate::migrate(&pool, &options.schema).await?;
        let (wake, listener) = if options.listen {
            let (rx, task) = listener::start(config, options.schema.clone()).await?;
            (Some(rx), Some(task))
        } else {
            (None, None)
        };
        Ok(PostgresStore {
            inner: Arc::new(Inner {
                pool,
                connect_attempts: options.pool_size.max(1) + EXTRA_CONNECT_ATTEMPTS,
                schema: options.schema,
                wake,
                listener,
            }),
        })
    }

    /// The schema holding this store's tables.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// The store's connection pool (its connections' `search_path` is the store's schema).
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// Inserts jobs that do not join the flex queue with one statement that is its own
    /// transaction: one round trip (and one commit) per enqueue.
    async fn insert_queued_alone(&self, jobs: &[NewJob]) -> Result<()> {
        if jobs.is_empty() {
            return Ok(());
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let client = self.client().await?;
            let stmt = match client.prepare_cached(jobs::INSERT_QUEUED).await {
                Ok(stmt) => stmt,
                Err(e) if attempt < self.inner.connect_attempts && is_connection_lost(&e) => {
                    continue;
                }
                Err(e) => return Err(from_pg(e)),
            };
            // Not retried: a connection lost while the statement was in flight may have
            // committed it, and a second insert would then be refused for the same IDs.
            return jobs::insert_queued(&client, &stmt, jobs).await;
        }
    }

    /// A pooled connection the server has not closed.
    async fn client(&self) -> Result<Object> {
        let mut last = None;
        for _ in 0..self.inner.connect_attempts {
            let client = self.inner.pool.get().await.map_err(from_pool)?;
            if client.is_closed() {
                last = Some(Object::take(client));
                continue;
            }
            return Ok(client);
        }
        drop(last);
        Err(Error::store(
            StoreErrorKind::Unavailable,
            "every pooled PostgreSQL connection was closed by the server",
        ))
    }
}

/// Runs `$body` in one transaction on a pooled connection and commits it. A connection that
/// turns out to be dead at `BEGIN` (nothing ran yet) is discarded and another one tried.
macro_rules! in_transaction {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut client = $store.client().await?;
            let begun = client.transaction().await;
            let $tx = match begun {
                Ok(tx) => tx,
                Err(e) if attempt < $store.inner.connect_attempts && is_connection_lost(&e) => {
                    tracing::debug!(error = %e, "discarding a dead pooled PostgreSQL connection");
                    continue;
                }
                Err(e) => return Err(from_pg(e)),
            };
            let out = $body;
            $tx.commit().await.map_err(from_pg)?;
            break Ok(out);
        }
    }};
}

/// Runs a call that is one statement on a pooled connection outside any transaction (the
/// statement commits on its own): one round trip instead of BEGIN, statement, COMMIT.
/// `retry: true` runs it again on another connection when the first was lost — only for
/// statements that may safely run twice.
macro_rules! autocommit {
    ($store:expr, retry: $retry:expr, |$c:ident| $body:expr) => {{
        let mut attempt = 0;
        loop {
            attempt += 1;
            let $c = $store.client().await?;
            let out: Result<_> = async { Ok($body) }.await;
            match out {
                Err(Error::Store {
                    kind: StoreErrorKind::Unavailable,
                    ..
                }) if $retry && attempt < $store.inner.connect_attempts => {
                    tracing::debug!("retrying a statement on another PostgreSQL connection");
                    continue;
                }
                out => break out,
            }
        }
    }};
}

/// Inserts jobs inside the application's own transaction: they exist only if it commits,
/// and other processes are woken when it does. `schema` is the store's schema; `max_holding`
/// caps the flex queue as in [`Store::job_insert_many`].
///
/// The inserts run under a savepoint, so a refusal leaves the application's transaction
/// usable (and nothing inserted); the transaction's `search_path` is put back afterwards.
///
/// # Errors
/// [`Error::DuplicateSignature`] and [`Error::LimitExceeded`] as
/// [`Store::job_insert_many`]; [`Error::InvalidInput`] for a bad schema name; a store error
/// when the database refuses.
pub async fn job_insert_in(
    tx: &tokio_postgres::Transaction<'_>,
    schema: &str,
    jobs: &[NewJob],
    max_holding: u32,
) -> Result<()> {
    validate_schema(schema)?;
    tx.batch_execute(include_str!("queries/savepoint_begin.sql"))
        .await
        .map_err(from_pg)?;
    let result = insert_in_schema(tx, schema, jobs, max_holding).await;
    let end = if result.is_ok() {
        include_str!("queries/savepoint_release.sql")
    } else {
        // Also restores the search_path, which was set after the savepoint.
        concat!(
            include_str!("queries/savepoint_rollback.sql"),
            ";\n",
            include_str!("queries/savepoint_release.sql")
        )
    };
    tx.batch_execute(end).await.map_err(from_pg)?;
    result
}

async fn insert_in_schema(
    tx: &tokio_postgres::Transaction<'_>,
    schema: &str,
    jobs: &[NewJob],
    max_holding: u32,
) -> Result<()> {
    let row = tx
        .query_one(include_str!("queries/search_path_get.sql"), &[])
        .await
        .map_err(from_pg)?;
    let previous: String = get(&row, 0)?;
    let ours = format!("\"{schema}\"");
    tx.query_one(include_str!("queries/search_path_set.sql"), &[&ours])
        .await
        .map_err(from_pg)?;
    jobs::insert_many(tx, jobs, max_holding).await?;
    tx.query_one(include_str!("queries/search_path_set.sql"), &[&previous])
        .await
        .map_err(from_pg)?;
    Ok(())
}

#[async_trait]
impl QuerySource for PostgresStore {
    async fn query_page(&self, params: QueryPageParams) -> Result<Vec<Map<String, Value>>> {
        let mut client = self.client().await?;
        query_source::page(&mut client, &params).await
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    async fn node_register(&self, params: NodeRegisterParams) -> Result<i64> {
        in_transaction!(self, |tx| {
            let row = db::query_opt(
                &tx,
                include_str!("queries/node_register.sql"),
                &[&params.name, &micros(params.now), &params.runs_jobs],
            )
            .await?
            .ok_or_else(|| Error::store(StoreErrorKind::Other, "node insert returned no id"))?;
            get::<_, i64>(&row, "id")?
        })
    }

    async fn node_heartbeat(&self, params: NodeHeartbeatParams) -> Result<bool> {
        in_transaction!(self, |tx| {
            db::execute(
                &tx,
                include_str!("queries/node_heartbeat.sql"),
                &[&params.id, &micros(params.now)],
            )
            .await?
                > 0
        })
    }

    async fn node_stop(&self, params: NodeHeartbeatParams) -> Result<bool> {
        in_transaction!(self, |tx| {
            db::execute(
                &tx,
                include_str!("queries/node_stop.sql"),
                &[&params.id, &micros(params.now)],
            )
            .await?
                > 0
        })
    }

    async fn node_forget(&self, silent_before: Timestamp) -> Result<u64> {
        in_transaction!(self, |tx| {
            db::execute(
                &tx,
                include_str!("queries/node_forget.sql"),
                &[&micros(silent_before)],
            )
            .await?
        })
    }

    async fn node_list(&self, params: NodeListParams) -> Result<Vec<NodeRecord>> {
        in_transaction!(self, |tx| {
            let rows = db::query(
                &tx,
                include_str!("queries/node_list.sql"),
                &[&i64::from(params.limit), &params.workers_only],
            )
            .await?;
            rows.iter()
                .map(|r| {
                    let heartbeat_at = db::ts("heartbeat_at", get(r, "heartbeat_at")?)?;
                    let stopped_at = db::opt_ts(r, "stopped_at")?;
                    let silent = asyncapex_core::clock::duration_between(heartbeat_at, params.now);
                    Ok(NodeRecord {
                        id: get(r, "id")?,
                        name: get(r, "name")?,
                        owner: get(r, "owner")?,
                        started_at: db::ts("started_at", get(r, "started_at")?)?,
                        heartbeat_at,
                        alive: stopped_at.is_none() && silent <= params.dead_after,
                        running_jobs: db::u64_col(r, "running_jobs")?,
                        runs_jobs: get(r, "runs_jobs")?,
                        stopped_at,
                    })
                })
                .collect::<Result<Vec<_>>>()?
        })
    }

    fn notifications(&self) -> Option<watch::Receiver<u64>> {
        self.inner.wake.clone()
    }

    async fn job_insert_many(&self, params: JobInsertManyParams) -> Result<()> {
        if jobs::none_holding(&params.jobs) && params.jobs.len() <= jobs::QUEUED_PER_STATEMENT {
            return self.insert_queued_alone(&params.jobs).await;
        }
        in_transaction!(self, |tx| jobs::insert_many(
            &tx,
            &params.jobs,
            params.max_holding
        )
        .await?)
    }

    async fn job_get(&self, id: JobId) -> Result<Option<JobRecord>> {
        autocommit!(self, retry: true, |c| jobs::get_job(&c, id).await?)
    }

    async fn job_list(&self, params: JobListParams) -> Result<Vec<JobRecord>> {
        autocommit!(self, retry: true, |c| jobs::list(&c, &params).await?)
    }

    async fn job_count(&self, params: JobListParams) -> Result<u64> {
        autocommit!(self, retry: true, |c| jobs::count_listed(&c, &params)
            .await?)
    }

    async fn job_class_names(&self, limit: u32) -> Result<Vec<String>> {
        autocommit!(self, retry: true, |c| jobs::class_names(&c, limit).await?)
    }

    async fn sensitive_fields_put(
        &self,
        class_name: String,
        fields: Vec<String>,
        now: Timestamp,
    ) -> Result<()> {
        let fields = serde_json::Value::from(fields).to_string();
        autocommit!(self, retry: true, |c| {
            db::execute(
                &c,
                include_str!("queries/sensitive_fields_put.sql"),
                &[&class_name, &fields, &micros(now)],
            )
            .await?;
        })
    }

    async fn sensitive_fields_list(&self) -> Result<asyncapex_core::Redactions> {
        autocommit!(self, retry: true, |c| {
            let rows = db::query(&c, include_str!("queries/sensitive_fields_list.sql"), &[]).await?;
            let mut out = asyncapex_core::Redactions::default();
            for r in &rows {
                let class: String = get(r, "class_name")?;
                let fields: String = get(r, "fields")?;
                out.insert(&class, asyncapex_core::redaction::field_list(&fields));
            }
            out
        })
    }

    async fn job_attempts(&self, id: JobId) -> Result<Vec<asyncapex_core::AttemptRecord>> {
        autocommit!(self, retry: true, |c| jobs::attempts(&c, id).await?)
    }

    async fn job_delete(&self, ids: Vec<JobId>) -> Result<u64> {
        // Deleting what is already deleted deletes nothing: safe to retry.
        autocommit!(self, retry: true, |c| retention::delete(&c, &ids).await?)
    }

    async fn job_claim(&self, params: JobClaimParams) -> Result<Vec<JobRecord>> {
        // Not retried here: a claim lost in flight may have committed; the executor claims
        // again on its next round, and the rescuer returns anything stranded.
        let client = self.client().await?;
        queues::claim_unflushed(&client, &params).await
    }

    async fn job_next_run_at(
        &self,
        queues: Vec<String>,
        after: Timestamp,
    ) -> Result<Option<Timestamp>> {
        autocommit!(self, retry: true, |c| queues::next_run_at(&c, &queues, after)
            .await?)
    }

    async fn job_retry(&self, params: JobRetryParams) -> Result<bool> {
        in_transaction!(self, |tx| queues::retry(&tx, &params).await?)
    }

    async fn queue_configure(&self, settings: QueueSettings, now: Timestamp) -> Result<()> {
        in_transaction!(self, |tx| queues::configure(&tx, &settings, now).await?)
    }

    async fn queue_pause(&self, name: String, now: Timestamp) -> Result<bool> {
        autocommit!(self, retry: true, |c| queues::pause(&c, &name, now).await?)
    }

    async fn queue_resume(&self, name: String, now: Timestamp) -> Result<bool> {
        autocommit!(self, retry: true, |c| queues::resume(&c, &name, now).await?)
    }

    async fn queue_list(&self, now: Timestamp) -> Result<Vec<QueueRecord>> {
        autocommit!(self, retry: true, |c| queues::list(&c, now).await?)
    }

    async fn tenant_counts(&self, limit: u32) -> Result<Vec<TenantCount>> {
        autocommit!(self, retry: true, |c| queues::tenant_counts(&c, limit).await?)
    }

    async fn job_heartbeat(&self, params: JobHeartbeatParams) -> Result<Vec<HeartbeatAck>> {
        // Extending a lease twice is harmless.
        autocommit!(self, retry: true, |c| jobs::heartbeat(&c, &params).await?)
    }

    async fn job_finish(&self, params: JobFinishParams) -> Result<bool> {
        in_transaction!(self, |tx| jobs::finish(&tx, &params).await?)
    }

    async fn job_complete_many(&self, params: JobCompleteManyParams) -> Result<Vec<JobId>> {
        // Completing twice changes nothing the second time.
        autocommit!(self, retry: true, |c| jobs::complete_many(&c, &params).await?)
    }

    async fn job_finalizer_store(&self, params: JobFinalizerStoreParams) -> Result<bool> {
        // Storing the same state twice changes nothing: safe to retry.
        autocommit!(self, retry: true, |c| jobs::finalizer_store(&c, &params).await?)
    }

    async fn job_finalizers_stranded(&self, limit: u32) -> Result<Vec<StrandedFinalizer>> {
        autocommit!(self, retry: true, |c| jobs::finalizers_stranded(&c, limit).await?)
    }

    async fn job_finalizer_dispatch(&self, parent: JobId, run: NewJob) -> Result<bool> {
        in_transaction!(self, |tx| jobs::finalizer_dispatch(&tx, parent, &run)
            .await?)
    }

    async fn job_abort(&self, params: JobAbortParams) -> Result<AbortOutcome> {
        in_transaction!(self, |tx| jobs::abort(&tx, &params).await?)
    }

    async fn job_rescue(&self, params: JobRescueParams) -> Result<RescueOutcome> {
        in_transaction!(self, |tx| jobs::rescue(&tx, &params).await?)
    }

    async fn job_release(&self, params: JobReleaseParams) -> Result<u64> {
        in_transaction!(self, |tx| jobs::release(&tx, &params).await?)
    }

    async fn job_count_by_status(&self) -> Result<Vec<(JobStatus, u64)>> {
        autocommit!(self, retry: true, |c| jobs::count_by_status(&c).await?)
    }

    async fn job_count_finished(&self) -> Result<Vec<(JobStatus, u64)>> {
        autocommit!(self, retry: true, |c| jobs::count_finished(&c).await?)
    }

    async fn job_count_created_since(&self, params: JobCountCreatedSinceParams) -> Result<u64> {
        autocommit!(self, retry: true, |c| jobs::count_created_since(&c, &params).await?)
    }

    async fn job_purge(&self, params: JobPurgeParams) -> Result<PurgeBatch> {
        // Deleting what is already deleted deletes nothing: safe to retry.
        autocommit!(self, retry: true, |c| retention::purge(&c, &params).await?)
    }

    async fn maintain(&self) -> Result<u32> {
        let client = self.client().await?;
        maintenance::maintain(&client).await
    }

    async fn job_purge_count(&self, params: JobPurgeParams) -> Result<u64> {
        autocommit!(self, retry: true, |c| retention::purge_count(&c, &params).await?)
    }

    async fn job_count_pending(&self, now: Timestamp) -> Result<u64> {
        autocommit!(self, retry: true, |c| jobs::count_pending(&c, now).await?)
    }

    async fn job_stats(&self, params: JobStatsParams) -> Result<JobStats> {
        in_transaction!(self, |tx| jobs::stats(&tx, &params).await?)
    }

    async fn cron_trigger_insert(&self, params: CronTriggerInsertParams) -> Result<()> {
        in_transaction!(self, |tx| cron_triggers::insert(&tx, &params).await?)
    }

    async fn cron_trigger_get(&self, id: CronTriggerId) -> Result<Option<CronTriggerRecord>> {
        in_transaction!(self, |tx| cron_triggers::get_trigger(&tx, id).await?)
    }

    async fn cron_trigger_find(&self, name: String) -> Result<Option<CronTriggerRecord>> {
        in_transaction!(self, |tx| cron_triggers::find(&tx, &name).await?)
    }

    async fn cron_trigger_list(
        &self,
        params: CronTriggerListParams,
    ) -> Result<Vec<CronTriggerRecord>> {
        in_transaction!(self, |tx| cron_triggers::list(&tx, &params).await?)
    }

    async fn cron_trigger_due(
        &self,
        params: CronTriggerDueParams,
    ) -> Result<Vec<CronTriggerRecord>> {
        in_transaction!(self, |tx| cron_triggers::due(&tx, &params).await?)
    }

    async fn cron_trigger_fire(&self, params: CronTriggerFireParams) -> Result<bool> {
        in_transaction!(self, |tx| cron_triggers::fire(&tx, &params).await?)
    }

    async fn cron_trigger_next_fire_time(&self) -> Result<Option<Timestamp>> {
        in_transaction!(self, |tx| cron_triggers::next_fire_time(&tx).await?)
    }

    async fn cron_trigger_pause(&self, id: CronTriggerId) -> Result<bool> {
        in_transaction!(self, |tx| cron_triggers::pause(&tx, id).await?)
    }

    async fn cron_trigger_resume(&self, params: CronTriggerResumeParams) -> Result<bool> {
        in_transaction!(self, |tx| cron_triggers::resume(&tx, &params).await?)
    }

    async fn cron_trigger_delete(&self, params: CronTriggerDeleteParams) -> Result<bool> {
        in_transaction!(self, |tx| cron_triggers::delete(&tx, &params).await?)
    }

    async fn cron_trigger_fail(&self, params: CronTriggerFailParams) -> Result<bool> {
        in_transaction!(self, |tx| cron_triggers::fail(&tx, &params).await?)
    }

    async fn batch_promote(&self, params: BatchPromoteParams) -> Result<Vec<JobId>> {
        in_transaction!(self, |tx| batches::promote(&tx, &params).await?)
    }

    async fn flex_queue_list(&self) -> Result<Vec<JobRecord>> {
        in_transaction!(self, |tx| batches::flex_queue_list(&tx).await?)
    }

    async fn flex_queue_move(&self, params: FlexQueueMoveParams) -> Result<bool> {
        in_transaction!(self, |tx| batches::flex_queue_move(&tx, &params).await?)
    }

    async fn batch_chunks_insert(&self, params: BatchChunksInsertParams) -> Result<bool> {
        in_transaction!(self, |tx| batches::chunks_insert(&tx, &params).await?)
    }

    async fn batch_chunks_reset(&self, params: BatchChunksResetParams) -> Result<bool> {
        in_transaction!(self, |tx| batches::chunks_reset(&tx, &params).await?)
    }

    async fn batch_chunks_release(&self, params: BatchChunksResetParams) -> Result<Option<u64>> {
        in_transaction!(self, |tx| batches::chunks_release(&tx, &params).await?)
    }

    async fn batch_start_complete(&self, params: BatchStartCompleteParams) -> Result<bool> {
        in_transaction!(self, |tx| batches::start_complete(&tx, &params).await?)
    }

    async fn batch_chunk_list(
        &self,
        params: BatchChunkListParams,
    ) -> Result<Vec<BatchChunkRecord>> {
        in_transaction!(self, |tx| batches::chunk_list(&tx, &params).await?)
    }

    async fn batch_chunk_finish(&self, params: BatchChunkFinishParams) -> Result<bool> {
        in_transaction!(self, |tx| batches::chunk_finish(&tx, &params).await?)
    }

    async fn batch_error_event_insert(&self, events: Vec<NewBatchErrorEvent>) -> Result<()> {
        in_transaction!(self, |tx| batches::error_events_insert(&tx, &events)
            .await?)
    }

    async fn batch_error_event_list(
        &self,
        params: BatchErrorEventListParams,
    ) -> Result<Vec<BatchErrorEvent>> {
        in_transaction!(self, |tx| batches::error_event_list(&tx, &params).await?)
    }
}

/// Enqueueing inside the application's own transaction: `EnqueueTransaction::commit_in(&tx)`
/// in the engine reaches this through [`AppTransaction`](asyncapex_core::AppTransaction).
impl asyncapex_core::AppTransaction<PostgresStore> for tokio_postgres::Transaction<'_> {
    async fn job_insert_in(
        &self,
        store: &PostgresStore,
        jobs: &[NewJob],
        max_holding: u32,
    ) -> Result<()> {
        job_insert_in(self, &store.inner.schema, jobs, max_holding).await
    }
}

/// Benchmark support (after the macros it uses).
impl PostgresStore {
    /// Writes `fill`'s finished job records straight into the job table, for benchmarks and
    /// load tests (a store with months of history, made in seconds): statements of 20,000
    /// rows, calling `on_batch` with each one's count, then fresh statistics (`ANALYZE`) so
    /// query plans see the history. The kept counts move with the rows, as with any insert.
    /// Returns how many records it wrote.
    ///
    /// ```no_run
    /// # async fn demo() -> asyncapex_core::Result<()> {
    /// use asyncapex_core::fill::FinishedJobsFill;
    /// let store = asyncapex_postgres::PostgresStore::connect("postgres://127.0.0.1/test").await?;
    /// let fill = FinishedJobsFill::over_days(1_000_000, 30, jiff::Timestamp::now());
    /// store.fill_finished(&fill, |n| eprintln!("+{n}")).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A store error (statements already run stay); a constraint error when an ID is taken
    /// (fill a store once per node number).
    pub async fn fill_finished(
        &self,
        fill: &asyncapex_core::fill::FinishedJobsFill,
        mut on_batch: impl FnMut(u64),
    ) -> Result<u64> {
        const BATCH: u64 = 20_000;
        let ids = asyncapex_core::IdGenerator::new(fill.node);
        let mut start = 0;
        while start < fill.count {
            let end = (start + BATCH).min(fill.count);
            autocommit!(self, retry: false, |c| fill::rows(&c, fill, &ids, start, end).await?)?;
            on_batch(end - start);
            start = end;
        }
        autocommit!(self, retry: true, |c| fill::vacuum(&c).await?)?;
        Ok(fill.count)
    }
}
