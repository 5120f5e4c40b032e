//! Batch jobs: push a large work set through `start` → `execute` per chunk → `finish`, each
//! chunk its own transaction (Apex's `Database.Batchable`).

mod cutter;
mod locator;
mod runner;

use std::future::Future;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use asyncapex_core::batch::BatchScope;
use asyncapex_core::{BatchPhase, Error, JobId, JobRecord, JobType, NewJob};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::kinds::context::{
    BatchContext, FinalizerContext, FutureContext, QueueableContext, SchedulableContext,
};
use crate::runtime::context::ExecContext;
use crate::runtime::handler::{Handler, JobFuture};
use crate::runtime::job_error::JobError;
use crate::runtime::limits::ContextKind;

/// The work set `start` returns (Apex's `Iterable` or `Database.QueryLocator`).
pub enum WorkSet<T> {
    /// Any iterator of serde items; it is consumed once, as `start`'s result is cut into
    /// chunks, so it may be lazy (a generator of ten million items never sits in memory).
    Iterable(Box<dyn Iterator<Item = T> + Send>),
    /// A SQL query over the application's tables, read in keyset-paged pages and
    /// deserialized into the item type by column name.
    QueryLocator(QueryLocator),
}

impl<T> WorkSet<T> {
    /// A work set from anything iterable.
    ///
    /// ```
    /// use asyncapex::WorkSet;
    /// let work: WorkSet<u64> = WorkSet::iter(0..1_000_000);
    /// ```
    pub fn iter<I>(items: I) -> WorkSet<T>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
    {
        WorkSet::Iterable(Box::new(items.into_iter()))
    }
}

/// A query whose rows are the work set (Apex's `Database.getQueryLocator`).
///
/// Rows are read in pages ordered by `key_column` (which must be unique: a primary key), so
/// the query streams however many rows it returns, up to
/// [`Limits::query_locator_rows`](crate::Limits::query_locator_rows) (Apex: 50 million; the
/// job fails past that). Each row becomes a JSON object keyed by column name and is
/// deserialized into the batch's item type.
///
/// `start` reads only the key column and stores each chunk as a key range (after one key,
/// through another); each chunk reads its range's rows when it runs. So the store keeps one
/// small record per chunk, not a copy of the rows, and memory holds one page of keys or one
/// chunk's rows at a time. Unlike Apex's cursor, which sees the rows as `start` found them,
/// a chunk sees its range as it is when the chunk runs: rows inserted into it since are
/// processed, rows deleted or changed to no longer match are not.
///
/// ```
/// use asyncapex::QueryLocator;
/// let accounts = QueryLocator::new("SELECT id, name, region FROM account WHERE active = 1")
///     .key_column("id");
/// let elsewhere = QueryLocator::new("SELECT id, total FROM invoice").database("billing.db");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryLocator {
    pub(crate) query: String,
    pub(crate) key_column: String,
    pub(crate) database: Option<PathBuf>,
    pub(crate) page_size: u32,
}

impl QueryLocator {
    /// A query over tables in the engine's own store database; keyed by `id` unless told.
    pub fn new(query: impl Into<String>) -> QueryLocator {
        QueryLocator {
            query: query.into(),
            key_column: "id".into(),
            database: None,
            page_size: 10_000,
        }
    }

    /// The unique, ordered column to page by (default `id`).
    pub fn key_column(mut self, column: impl Into<String>) -> Self {
        self.key_column = column.into();
        self
    }

    /// Read another SQLite file (opened read-only) instead of the store's database.
    pub fn database(mut self, path: impl Into<PathBuf>) -> Self {
        self.database = Some(path.into());
        self
    }

    /// Rows read per page (default 10,000).
    pub fn page_size(mut self, rows: u32) -> Self {
        self.page_size = rows.max(1);
        self
    }
}

/// A batch job (Apex's `Database.Batchable`).
///
/// * `start` runs once and returns the [`WorkSet`]; its items are cut into chunks of the
///   scope size given to `execute_batch` and stored, so a crash never loses or repeats a
///   committed chunk. As in Apex, a query locator's chunks hold at most 2,000 records (a
///   larger scope is cut down to it) and an iterable's scope has no upper limit: memory
///   bounds it, since one chunk's items are held at once and stored as one JSON value (at
///   most 1 GB in either store).
/// * `execute` runs once per chunk, each in its own transaction: what it enqueues commits
///   only if it succeeds; a failed chunk counts in the job's failures (the first error goes
///   to its status detail) and the remaining chunks and `finish` still run.
/// * `finish` runs once at the end; it may chain the next batch with
///   [`BatchContext::execute_batch`].
///
/// A batch that fails in `start` ends `Failed`; one whose chunks failed still ends
/// `Completed`, as in Apex.
///
/// **State.** Without [`STATEFUL`](Self::STATEFUL), every chunk (and `finish`) starts from the
/// state the batch was submitted with, as in Apex: what `start` or an `execute` sets is not
/// seen by the next transaction. With it (Apex's `Database.Stateful`), the state `start` leaves
/// and the state after each successful chunk is saved with that chunk and carried into the next; stateful chunks run in order, one
/// at a time. A non-stateful batch may run up to [`PARALLEL_CHUNKS`](Self::PARALLEL_CHUNKS)
/// chunks at once (an asyncapex extension; Apex gives no order guarantee either).
///
/// ```
/// use asyncapex::{BatchContext, Batchable, JobError, WorkSet};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Default, Serialize, Deserialize)]
/// struct SumOrders { total: u64 }
///
/// impl Batchable for SumOrders {
///     type Item = u64;
///     const STATEFUL: bool = true;
///
///     async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<u64>, JobError> {
///         Ok(WorkSet::iter(1..=1_000))
///     }
///     async fn execute(&mut self, _ctx: &mut BatchContext, scope: Vec<u64>) -> Result<(), JobError> {
///         self.total += scope.iter().sum::<u64>();
///         Ok(())
///     }
///     async fn finish(&mut self, _ctx: &mut BatchContext) -> Result<(), JobError> {
///         println!("total {}", self.total);
///         Ok(())
///     }
/// }
/// ```
pub trait Batchable: Serialize + DeserializeOwned + Send + 'static {
    /// One item of the work set.
    type Item: Serialize + DeserializeOwned + Send + 'static;

    /// Keep instance state across chunks (Apex's `Database.Stateful`).
    const STATEFUL: bool = false;

    /// Chunks a non-stateful batch may run at once in the process that runs it (ignored
    /// when stateful).
    const PARALLEL_CHUNKS: usize = 1;

    /// Publish an error event for every unhandled error (Apex's
    /// `Database.RaisesPlatformEvents`).
    const RAISES_ERROR_EVENTS: bool = false;

    /// Allow HTTP callouts in `start`, `execute` and `finish` (Apex's
    /// `Database.AllowsCallouts`).
    const ALLOWS_CALLOUTS: bool = false;

    /// Payload fields that hold secrets or customer data: the dashboard, the API and the
    /// CLI show them as `"[redacted]"` (the job itself gets them). Paths of keys joined by
    /// dots (`card`, `customer.email`); a path through an array applies to each element.
    /// An extension beyond Apex (whose Apex Jobs page shows no payloads at all).
    const SENSITIVE_FIELDS: &'static [&'static str] = &[];

    /// The name this type is registered and stored under; defaults to the type's name.
    fn class_name() -> &'static str {
        super::short_type_name::<Self>()
    }

    /// The time limit of each `start`, `execute` and `finish`; `None` uses the engine's
    /// asynchronous limit (60 s by default).
    fn execution_time_limit() -> Option<Duration> {
        None
    }

    /// The key an item is named by in an error event's job scope (Apex lists record IDs);
    /// by default the item as JSON.
    fn item_key(item: &Self::Item) -> String {
        serde_json::to_string(item).unwrap_or_default()
    }

    /// Produces the work set.
    fn start(
        &mut self,
        ctx: &mut BatchContext,
    ) -> impl Future<Output = Result<WorkSet<Self::Item>, JobError>> + Send;

    /// Processes one chunk (scope).
    fn execute(
        &mut self,
        ctx: &mut BatchContext,
        scope: Vec<Self::Item>,
    ) -> impl Future<Output = Result<(), JobError>> + Send;

    /// Runs once after the last chunk.
    fn finish(
        &mut self,
        ctx: &mut BatchContext,
    ) -> impl Future<Output = Result<(), JobError>> + Send;
}

struct BatchHandler<B>(PhantomData<fn() -> B>);

/// The handler that runs stored batch records of `B`.
pub(crate) fn handler<B: Batchable>() -> (&'static str, Arc<dyn Handler>) {
    (B::class_name(), Arc::new(BatchHandler::<B>(PhantomData)))
}

impl<B: Batchable> Handler for BatchHandler<B> {
    fn job_type(&self) -> JobType {
        JobType::BatchApex
    }

    fn sensitive_fields(&self) -> &'static [&'static str] {
        B::SENSITIVE_FIELDS
    }

    fn check_payload(&self, payload: &str) -> Result<(), String> {
        serde_json::from_str::<B>(payload)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn context_kind(&self, _job: &JobRecord) -> ContextKind {
        // The job-level context is the one `finish` runs in: what it enqueues commits with the
        // job's end.
        ContextKind::Batch(BatchPhase::Finish)
    }

    fn allows_callouts(&self) -> bool {
        B::ALLOWS_CALLOUTS
    }

    fn time_limit(&self) -> Option<Duration> {
        // The whole run has no limit; each start, execute and finish has its own.
        Some(Duration::MAX)
    }

    fn run(&self, job: &JobRecord, inner: ExecContext) -> JobFuture {
        Box::pin(runner::run::<B>(job.clone(), inner))
    }
}

/// Buffers a typed batch submission in `ctx` (Apex's `Database.executeBatch`).
pub(crate) fn submit<B: Batchable>(
    ctx: &ExecContext,
    batch: &B,
    scope: u32,
) -> Result<JobId, Error> {
    let scope = BatchScope::new(scope)?;
    if !ctx.row().may_submit_batches {
        return Err(Error::NotAllowed {
            rule: "Database.executeBatch cannot be called from a batch start, batch execute, or future method (only from finish, queueables, schedulables and synchronous code)".into(),
        });
    }
    let class = B::class_name();
    ctx.rt.registry.require(class, JobType::BatchApex)?;
    let payload = super::to_payload(class, "batch", batch)?;
    buffer(ctx, class, payload, scope)
}

/// Buffers a batch job whose payload is already JSON (checked by the caller): it will join
/// the end of the flex queue when `ctx` commits.
pub(crate) fn buffer(
    ctx: &ExecContext,
    class: &str,
    payload: String,
    scope: BatchScope,
) -> Result<JobId, Error> {
    let now = ctx.now();
    let mut buffer = ctx.shared.lock();
    ctx.check_daily(&mut buffer)?;
    buffer.batches_submitted += 1;
    let id = ctx.rt.ids.job_id(now);
    buffer.enqueued.push(
        NewJob::batch(id, class, payload, scope, now)
            .parent(ctx.parent_id())
            .max_attempts(ctx.rt.config.max_attempts),
    );
    Ok(id)
}

/// `execute_batch` on every job context.
macro_rules! execute_batch_on {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// Submits a batch job (Apex's `Database.executeBatch`): it joins the end of the
            /// flex queue, committed with this execution's success. `scope` is the number of
            /// items per `execute` (Apex's default is 200).
            ///
            /// # Errors
            /// [`Error::InvalidInput`] for a scope of 0; [`Error::NotAllowed`] from
            /// a future or a batch's `start`/`execute`; [`Error::UnknownJobType`] for an
            /// unregistered batch; the flex queue's cap when the execution commits.
            pub fn execute_batch<B: Batchable>(
                &mut self,
                batch: B,
                scope: u32,
            ) -> Result<JobId, Error> {
                submit(&self.inner, &batch, scope)
            }
        }
    )*};
}

execute_batch_on!(
    QueueableContext,
    FinalizerContext,
    FutureContext,
    SchedulableContext,
    BatchContext
);

impl BatchContext {
    /// Which method is running.
    pub fn phase(&self) -> BatchPhase {
        self.phase
    }

    /// The chunk being processed, in `execute` (Apex's `getChildJobId`).
    pub fn chunk_id(&self) -> Option<JobId> {
        self.chunk_id
    }
}
