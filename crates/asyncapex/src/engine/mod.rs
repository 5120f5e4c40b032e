//! The engine: the public facade over the runtime and its services — [`Engine`], its
//! [builder](EngineBuilder) (the one place that names every kind), submission, schedules,
//! control and transactions.

mod builder;
mod control;
mod operator;
mod queues;
mod retention;
mod schedule;
mod submit;
mod transaction;

#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;

use asyncapex_core::{
    BatchChunkListParams, BatchChunkRecord, BatchErrorEvent, BatchErrorEventListParams,
    ChunkStatus, Clock, Error, FlexMove, FlexQueueMoveParams, JobId, JobListParams, JobRecord,
    NewBatchErrorEvent, Store,
};
use tokio::sync::broadcast;

pub use self::builder::EngineBuilder;
pub use self::control::{AbortTarget, ShutdownReport};
pub use self::operator::{BULK_BATCH, BulkAction, BulkReport};
pub use self::retention::{PURGE_BATCH, PurgeFilter};
pub use self::schedule::ScheduleOptions;
pub use self::transaction::{EnqueueTransaction, PreparedEnqueue};
use crate::runtime::Runtime;
use crate::runtime::config::EngineConfig;
use crate::runtime::daily::DailyUsage;
use crate::services::Services;

/// A running asyncapex engine: the handle through which a service enqueues work, schedules
/// it, watches it and stops it. Cheap to clone; clones share the engine.
///
/// An engine with `concurrency > 0` also runs jobs: its executor claims due jobs, its
/// scheduler fires cron triggers, its heartbeat keeps leases alive and its rescuer re-queues
/// the jobs of processes that died. With `concurrency(0)` it only submits and reads (an API
/// server, a CLI).
///
/// ```no_run
/// use std::time::Duration;
/// use asyncapex::{Engine, JobError, Queueable, QueueableContext};
/// # #[derive(serde::Serialize, serde::Deserialize)] struct Welcome { account: u64 }
/// # impl Queueable for Welcome { async fn execute(&mut self, _: &mut QueueableContext) -> Result<(), JobError> { Ok(()) } }
/// # async fn demo() -> Result<(), asyncapex::Error> {
/// let engine = Engine::builder().sqlite("asyncapex.db").register::<Welcome>().start().await?;
/// let id = engine.enqueue_job(Welcome { account: 42 }).await?;        // "707…"
/// let done = engine.wait_for(id, Duration::from_secs(10)).await?;     // its final record
/// engine.shutdown(Duration::from_secs(5)).await?;                    // hands back unfinished work
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Engine {
    rt: Arc<Runtime>,
    services: Arc<Services>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("owner", &self.rt.owner)
            .field("registered", &self.rt.registry.names())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts building an engine.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::new()
    }

    /// The store this engine uses. **Unstable**: the [`Store`] trait belongs to
    /// [`unstable`](crate::unstable) and changes between minor releases; admin tools (the CLI,
    /// the dashboard) use it for reads the engine does not wrap.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.rt.store
    }

    /// The clock this engine uses.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.rt.clock
    }

    /// The configuration in force.
    pub fn config(&self) -> &EngineConfig {
        &self.rt.config
    }

    /// This process's lease-owner name.
    pub fn owner(&self) -> &str {
        &self.rt.owner
    }

    /// Registered job types as `Name (JobType)`, sorted.
    pub fn registered(&self) -> Vec<String> {
        self.rt.registry.names()
    }

    /// Async jobs submitted to this store in the last 24 hours, and the daily cap
    /// ([`Limits::daily_async_executions`](crate::Limits::daily_async_executions)); read fresh from the store.
    ///
    /// # Errors
    /// A store error.
    pub async fn daily_async_usage(&self) -> Result<DailyUsage, Error> {
        self.rt
            .daily
            .usage(self.rt.store.as_ref(), self.rt.clock.now())
            .await
    }

    /// Holding batch jobs in flex-queue order (position 0 runs next).
    ///
    /// # Errors
    /// A store error.
    pub async fn flex_queue(&self) -> Result<Vec<JobRecord>, Error> {
        self.rt.store.flex_queue_list().await
    }

    /// Moves a holding batch job in the flex queue (Apex's `System.FlexQueue`); returns
    /// whether anything moved.
    ///
    /// # Errors
    /// [`Error::NotInFlexQueue`] when either job is not holding; a store error.
    pub async fn flex_queue_move(&self, id: JobId, to: FlexMove) -> Result<bool, Error> {
        self.rt
            .store
            .flex_queue_move(FlexQueueMoveParams { id, to })
            .await
    }

    /// A batch job's chunks (optionally of one status), in order.
    ///
    /// # Errors
    /// A store error.
    pub async fn batch_chunks(
        &self,
        job_id: JobId,
        status: Option<ChunkStatus>,
        limit: u32,
    ) -> Result<Vec<BatchChunkRecord>, Error> {
        self.rt
            .store
            .batch_chunk_list(BatchChunkListParams {
                job_id,
                status,
                from_seq: 0,
                limit,
            })
            .await
    }

    /// Stored batch error events, newest first (optionally one job's).
    ///
    /// # Errors
    /// A store error.
    pub async fn batch_error_events(
        &self,
        job_id: Option<JobId>,
        limit: u32,
    ) -> Result<Vec<BatchErrorEvent>, Error> {
        self.rt
            .store
            .batch_error_event_list(BatchErrorEventListParams { job_id, limit })
            .await
    }

    /// Subscribes to batch error events published by this engine's batches from now on (Apex's
    /// `BatchApexErrorEvent` trigger). Events are also stored; see
    /// [`batch_error_events`](Self::batch_error_events).
    pub fn subscribe_batch_errors(&self) -> broadcast::Receiver<NewBatchErrorEvent> {
        self.rt.events.subscribe_batch_errors()
    }

    /// Subscribes to the endings of jobs this engine runs (or aborts while waiting), from
    /// now on: a test or a dashboard observes jobs without polling the store.
    ///
    /// ```
    /// # async fn demo(engine: &asyncapex::Engine) -> Result<(), asyncapex::Error> {
    /// let mut ended = engine.subscribe_jobs();
    /// # let id = engine.jobs(Default::default()).await?[0].id;
    /// while let Ok(event) = ended.recv().await {
    ///     if event.id == id { println!("{id} ended {}", event.status); break; }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn subscribe_jobs(&self) -> broadcast::Receiver<crate::runtime::signals::JobEvent> {
        self.rt.events.subscribe_jobs()
    }

    /// Subscribes to the steps of jobs' lives that this process takes from now on —
    /// enqueued, started, completed, failed (with the error), aborted, rescued — so a program
    /// can wire error reporting or metrics without patching the engine. Each process sees
    /// its own steps: subscribe in every worker to see them all. A receiver that falls more
    /// than 4,096 steps behind loses the oldest (`RecvError::Lagged`); nothing is built
    /// while nobody subscribes.
    ///
    /// ```
    /// # async fn demo(engine: &asyncapex::Engine) {
    /// use asyncapex::LifecycleStep;
    /// let mut steps = engine.subscribe_lifecycle();
    /// tokio::spawn(async move {
    ///     while let Ok(step) = steps.recv().await {
    ///         if let LifecycleStep::Failed { error } = &step.step {
    ///             eprintln!("{} {} failed: {error}", step.class_name, step.id);
    ///         }
    ///     }
    /// });
    /// # }
    /// ```
    pub fn subscribe_lifecycle(
        &self,
    ) -> broadcast::Receiver<crate::runtime::signals::JobLifecycle> {
        self.rt.events.subscribe_lifecycle()
    }

    /// One job record.
    ///
    /// # Errors
    /// [`Error::UnknownJob`] when no job has that ID; a store error.
    pub async fn job(&self, id: JobId) -> Result<JobRecord, Error> {
        self.rt
            .store
            .job_get(id)
            .await?
            .ok_or_else(|| Error::UnknownJob { id: id.to_string() })
    }

    /// Job records matching the filters, newest first.
    ///
    /// # Errors
    /// A store error.
    pub async fn jobs(&self, params: JobListParams) -> Result<Vec<JobRecord>, Error> {
        self.rt.store.job_list(params).await
    }
}
