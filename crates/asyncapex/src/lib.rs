//! # asyncapex
//!
//! Salesforce Apex's asynchronous execution models for Rust, durable on an embedded SQLite
//! file by default.
//!
//! * **Queueable** ([`Queueable`]): enqueue typed state, get a `707…` [`JobId`] back, chain
//!   the next job from `execute`, attach a [`Finalizer`].
//!
//! Scheduled, Batch and Future jobs arrive in later releases (see the README's feature list).
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

mod context;
mod engine;
mod enqueue;
mod executor;
mod finalizer;
mod job_error;
mod maintenance;
mod queueable;
mod registry;

pub use asyncapex_core::{
    AbortOutcome, Clock, CronTriggerId, Error, JobId, JobListParams, JobRecord, JobStatus, JobType,
    Limits, ManualClock, Result, StoreErrorKind, SystemClock, clock, id, job, store,
};
#[cfg(feature = "sqlite")]
pub use asyncapex_sqlite::{Durability, SqliteOptions, SqliteStore};

pub use context::{AsyncInfo, EnqueueTransaction, FinalizerContext, QueueableContext};
pub use engine::{Engine, EngineBuilder, EngineConfig, JobEvent, ShutdownReport};
pub use enqueue::{DuplicateSignature, DuplicateSignatureBuilder, EnqueueOptions};
pub use finalizer::{Finalizer, ParentJobResult};
pub use job_error::JobError;
pub use queueable::Queueable;

/// The README's code blocks, compiled as doctests so they cannot drift from the API.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
