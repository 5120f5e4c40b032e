//! # asyncapex
//!
//! Salesforce Apex's asynchronous execution models for Rust, durable on an embedded SQLite
//! file by default.
//!
//! * **Queueable** ([`Queueable`]): enqueue typed state, get a `707…` [`JobId`] back, chain
//!   the next job from `execute`, attach a [`Finalizer`].
//! * **Scheduled** ([`Schedulable`], [`Engine::schedule`]): run a job on a Quartz/Apex cron
//!   expression in a time zone; pause, resume, abort.
//! * **Batch** ([`Batchable`], [`Engine::execute_batch`]): `start` → `execute` per chunk →
//!   `finish`, each chunk its own transaction, with the flex queue and error events.
//! * **Future** ([`macro@future`]): fire-and-forget a function call into its own execution,
//!   with HTTP callouts for futures that declare them.
//! * **Governor limits** ([`Limits`], [`LimitsView`]): Apex's per-execution quotas and the
//!   daily async cap.
//! * **Testing** (feature `testing`, `asyncapex::testing`): Apex's `Test.startTest()` /
//!   `Test.stopTest()`, unit tests of one execution, assertions on enqueued work and virtual
//!   time, all on the test's own task; the guide is `docs/testing.md`.
//! * **Beyond Apex**, each off unless a job type or an enqueue opts in: [`RetryPolicy`]
//!   (backoff with jitter, [`JobError::permanent`]), named [`Queue`]s with their own
//!   concurrency, a global cap, pause/resume ([`Engine::pause_queue`]) and rate limits,
//!   priorities and fair share by tenant ([`EnqueueOptions::priority`],
//!   [`EnqueueOptions::tenant`]), configured per type with [`JobOptions`]. Without them every
//!   job is in the default queue at priority 0 and a failure ends it, as in Apex.
//!
//! ```no_run
//! use asyncapex::{Engine, JobError, Queueable, QueueableContext};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct SendWelcome { account_id: String }
//!
//! impl Queueable for SendWelcome {
//!     async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
//!         println!("{}: welcome {}", ctx.job_id(), self.account_id);
//!         Ok(())
//!     }
//! }
//!
//! # async fn demo() -> Result<(), asyncapex::Error> {
//! let engine = Engine::builder().sqlite("asyncapex.db").register::<SendWelcome>().start().await?;
//! let id = engine.enqueue_job(SendWelcome { account_id: "001xx".into() }).await?;
//! let done = engine.wait_for(id, std::time::Duration::from_secs(10)).await?;
//! println!("{id}: {}", done.status);
//! # Ok(()) }
//! ```
//!
//! ## Guarantees
//!
//! * **Nothing is lost.** Every state change is a committed store transaction; a crashed
//!   worker's jobs are rescued when their lease expires (attempt + 1), and failed with a
//!   reason after [`EngineConfig::max_attempts`].
//! * **An execution is a transaction.** What `execute` enqueues is committed with its success
//!   and discarded on failure.
//! * **At least once.** A job runs once per successful claim; after a crash it may run again,
//!   and its context's [`attempt`](QueueableContext::attempt) says so. Make side effects
//!   outside the store idempotent, as Salesforce advises.

//!
//! ## Tracing
//!
//! The engine reports through [`tracing`](https://docs.rs/tracing); these span names and
//! fields are stable (a change is a breaking change):
//!
//! * `asyncapex.execution` (level INFO), one per execution of a claimed job, around its code:
//!   `job.id`, `job.class`, `job.method` (futures), `job.type` (`Queueable`, `Future`,
//!   `BatchApex`, `ScheduledApex`, `Finalizer`), `job.attempt`; recorded when it ends:
//!   `outcome` (`completed`, `failed`, `aborted`), `error` (when failed), `duration_ms`.
//!   A batch is one execution from `start` to `finish`.
//! * `asyncapex.store` (level DEBUG), around the store calls on a job's path: `op`
//!   (`job_insert_many`, `job_claim`, `job_finish`, `job_retry`, `job_complete_many`,
//!   `job_rescue`), with
//!   `jobs`, `limit`, `job.id` or `inserts` where they apply.
//!
//! With the `otel` feature each execution is also an **OpenTelemetry** span (through the
//! global tracer provider, tracer `asyncapex`, span `asyncapex.execution`, kind Consumer,
//! attributes `job.id`, `job.class`, `job.type`, `job.attempt`, `outcome`; status Error when
//! it failed). An enqueue records the W3C `traceparent` of the current OpenTelemetry span
//! with the job (`JobRecord::trace_parent`), and the execution's span names that span as its
//! parent, in whichever process runs it; what an execution enqueues (chained jobs, futures,
//! batches, its finalizer) is stamped with the execution's span, so one trace runs from the
//! request through every job it caused. The context read is OpenTelemetry's own current
//! context (`opentelemetry::Context::current()`): an application that creates its request
//! spans through `tracing-opentelemetry` should make the OpenTelemetry context current
//! around its enqueue (e.g. `.with_context(span.context())`).
//!
//! For the same steps as values a program can act on, see [`Engine::subscribe_lifecycle`].

// The engine's four layers, each using only those below it (checked by `tools/check-layers`):
// runtime → kinds → services → engine.
mod engine;
mod kinds;
mod runtime;
mod services;

pub use asyncapex_core::{
    AbortOutcome, AttemptOutcome, AttemptRecord, Clock, CronTriggerId, Error, JobId, JobListParams,
    JobRecord, JobStatus, JobType, LimitName, Limits, ManualClock, Redactions, Result,
    StoreErrorKind, SystemClock, TimeRange, clock,
};
#[cfg(feature = "postgres")]
pub use asyncapex_postgres::{PostgresOptions, PostgresStore, tokio_postgres};
#[cfg(feature = "sqlite")]
pub use asyncapex_sqlite::{Durability, SqliteOptions, SqliteStore, rusqlite};

pub use asyncapex_core::cron::{self, CronDialect, CronExpr, DstPolicy};
pub use asyncapex_core::{
    BatchChunkRecord, BatchErrorEvent, BatchPhase, ChunkStatus, FlexMove, NewBatchErrorEvent,
};
pub use asyncapex_core::{
    CronTriggerListParams, CronTriggerRecord, NewCronTrigger, StoredTriggerState, TriggerState,
};
pub use asyncapex_core::{QueueRecord, RateLimit, TenantCount, queue};

/// Turns an `async fn` whose arguments are serde types into a future method (Apex's
/// `@future`); see the [`future`](mod@future) module.
///
/// Options: `callout = true` lets it make HTTP callouts; `time_limit_ms = N` sets its own
/// execution time limit; `class = "Name"` sets the class name stored on its records (the
/// module path by default).
pub use asyncapex_macros::future;

/// The test kit: Apex's `Test.startTest`/`Test.stopTest`, unit tests of one execution,
/// assertions and virtual time (feature `testing`; guide in `docs/testing.md`).
#[cfg(feature = "testing")]
pub use engine::testing;
pub use engine::{
    AbortTarget, BULK_BATCH, BulkAction, BulkReport, Engine, EngineBuilder, EnqueueTransaction,
    PURGE_BATCH, PreparedEnqueue, PurgeFilter, ScheduleOptions, ShutdownReport,
};
pub use kinds::batch::{Batchable, QueryLocator, WorkSet};
pub use kinds::context::{
    BatchContext, FinalizerContext, FutureContext, QueueableContext, SchedulableContext,
};
pub use kinds::finalizer::Finalizer;
pub use kinds::queueable::{AsyncInfo, Queueable};
pub use kinds::schedulable::Schedulable;
#[cfg(feature = "callouts")]
pub use runtime::callout::Callout;
pub use runtime::config::EngineConfig;
pub use runtime::daily::{DailyUsage, daily_async_usage};
pub use runtime::enqueue::{DuplicateSignature, DuplicateSignatureBuilder, EnqueueOptions};
pub use runtime::job_error::JobError;
pub use runtime::limits::{LimitsView, TimeUsage, Usage};
pub use runtime::outcome::ParentJobResult;
pub use runtime::queues::{JobOptions, Queue, RetryPolicy};
pub use runtime::retention::Retention;
pub use runtime::signals::{JobEvent, JobLifecycle, LifecycleStep};

pub use kinds::future;
#[doc(hidden)]
pub use kinds::future::__private;
pub use kinds::future::{FutureMethod, FutureTarget};

/// Which kind of execution the calling code runs in: Apex's `System.isBatch()`,
/// `isFuture()`, `isQueueable()` and `isScheduled()`, for helpers shared between contexts.
///
/// ```
/// use asyncapex::{JobError, system};
///
/// /// Callable from anywhere; a batch may not call futures, so it works inline there.
/// fn sync_account(id: &str) -> Result<(), JobError> {
///     if system::is_batch() || system::is_future() {
///         println!("syncing {id} inline");
///     } else {
///         println!("syncing {id} in a future");
///     }
///     Ok(())
/// }
/// # sync_account("001").unwrap();
/// ```
pub mod system {
    pub use crate::runtime::current::{
        ExecutionKind, current, is_batch, is_future, is_queueable, is_scheduled,
    };
}

/// The HTTP client types a callout uses (only these: add `reqwest` yourself for more).
#[cfg(feature = "callouts")]
pub mod http {
    pub use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
}

/// **Unstable**: the store seam — the [`Store`](unstable::store::Store) trait, its params and
/// results, the records it inserts and the ID generator. For admin tools and store authors;
/// it changes between minor releases, unlike the rest of this crate's API.
pub mod unstable {
    pub use asyncapex_core::{IdGenerator, NewBatchChunk, NewJob, fill, id, job};
    pub use asyncapex_core::{rules, store};
}

/// The README's code blocks, compiled as doctests so they cannot drift from the API (they use
/// every store, so they run when the workspace is tested with all of them).
#[doc = include_str!("../../../README.md")]
#[cfg(all(
    doctest,
    feature = "sqlite",
    feature = "postgres",
    feature = "callouts"
))]
pub struct ReadmeDoctests;

/// The testing guide's code blocks (`docs/testing.md`), compiled and run as doctests so the
/// guide cannot drift from the kit.
#[doc = include_str!("../../../docs/testing.md")]
#[cfg(all(doctest, feature = "testing", feature = "sqlite"))]
pub struct TestingGuideDoctests;
