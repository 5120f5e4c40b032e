//! # asyncapex
//!
//! Salesforce Apex's asynchronous execution models for Rust, durable on an embedded SQLite
//! file by default.
//!
//! * **Queueable** ([`Queueable`]): enqueue typed state, get a `707…` [`JobId`] back, chain
//!   the next job from `execute`, attach a [`Finalizer`].
//! * **Future** ([`macro@future`]): fire-and-forget a function call into its own execution,
//!   with HTTP callouts for futures that declare them.
//! * **Governor limits** ([`Limits`], [`LimitsView`]): Apex's per-execution quotas and the
//!   daily async cap.
//!
//! Scheduled and Batch jobs arrive in later releases (see the README's feature list).
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

mod batch_runner;
mod batchable;
#[cfg(feature = "callouts")]
mod callout;
mod context;
mod engine;
mod enqueue;
mod executor;
mod finalizer;
pub mod future;
mod governor;
mod job_error;
mod maintenance;
mod queueable;
mod registry;
mod schedulable;
mod scheduler;

pub use asyncapex_core::{
    AbortOutcome, Clock, CronTriggerId, Error, JobId, JobListParams, JobRecord, JobStatus, JobType,
    Limits, ManualClock, Result, StoreErrorKind, SystemClock, clock, id, job, store,
};
#[cfg(feature = "postgres")]
pub use asyncapex_postgres::{PostgresOptions, PostgresStore, tokio_postgres};
#[cfg(feature = "sqlite")]
pub use asyncapex_sqlite::{Durability, SqliteOptions, SqliteStore};

pub use asyncapex_core::cron::{self, CronDialect, CronExpr, DstPolicy};
pub use asyncapex_core::{
    BatchChunkRecord, BatchErrorEvent, BatchPhase, ChunkStatus, FlexMove, NewBatchErrorEvent,
};
pub use asyncapex_core::{
    CronTriggerListParams, CronTriggerRecord, NewCronTrigger, StoredTriggerState, TriggerState,
};
pub use batchable::{Batchable, QueryLocator, WorkSet};
#[cfg(feature = "callouts")]
pub use callout::Callout;
pub use context::{
    AsyncInfo, BatchContext, EnqueueTransaction, FinalizerContext, FutureContext, QueueableContext,
    SchedulableContext,
};
#[doc(hidden)]
pub use future::__private;
pub use future::{FutureMethod, FutureTarget};
pub use governor::{DailyUsage, LimitsView, TimeUsage, Usage, daily_async_usage};
#[cfg(feature = "callouts")]
pub use reqwest;
pub use schedulable::Schedulable;

/// Turns an `async fn` whose arguments are serde types into a future method (Apex's
/// `@future`); see the [`future`](mod@future) module.
///
/// Options: `callout = true` lets it make HTTP callouts; `time_limit_ms = N` sets its own
/// execution time limit; `class = "Name"` sets the class name stored on its records (the
/// module path by default).
pub use asyncapex_macros::future;
pub use engine::{
    AbortTarget, Engine, EngineBuilder, EngineConfig, JobEvent, ScheduleOptions, ShutdownReport,
};
pub use enqueue::{DuplicateSignature, DuplicateSignatureBuilder, EnqueueOptions};
pub use finalizer::{Finalizer, ParentJobResult};
pub use job_error::JobError;
pub use queueable::Queueable;

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
