//! Execution contexts: what running code may ask of the engine, buffered until it succeeds.
//!
//! Every execution — a queueable's `execute`, a finalizer, or a synchronous
//! [`EnqueueTransaction`](crate::EnqueueTransaction) — owns a buffer. Enqueues are checked
//! against the governor limits and the stack depth at call time (so the caller gets the ID
//! or the error at once) and land in the buffer; the executor commits the buffer in the same
//! store transaction as the job's success, and drops it on failure.
//!
//! A broken limit is remembered even if the job code swallows the error: like Apex's
//! uncatchable `LimitException`, it fails the execution.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use asyncapex_core::clock::add;
use asyncapex_core::{
    BatchPhase, CronTriggerId, Error, JobId, JobRecord, JobStatus, JobType, NewJob,
};
use jiff::Timestamp;
use tokio::sync::Notify;

use crate::batchable::Batchable;
use crate::engine::EngineInner;
use crate::enqueue::EnqueueOptions;
use crate::finalizer::{Finalizer, ParentJobResult};
use crate::future::FutureMethod;
use crate::governor::{LimitsView, TimeUsage, Usage};
use crate::queueable::Queueable;

/// Which rules an execution follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContextKind {
    /// Code outside any job: synchronous limits.
    Sync,
    /// A queueable's `execute`: asynchronous limits, may attach a finalizer.
    Queueable,
    /// A finalizer: may enqueue one job; a retry of a failed parent counts toward the
    /// consecutive re-enqueue limit.
    Finalizer { parent_failed: bool },
    /// A future method: may not call futures.
    Future,
    /// A scheduled job's firing: synchronous limits, no callouts.
    Scheduled,
    /// A batch's `start`, `execute` or `finish`.
    Batch(BatchPhase),
}

/// The running job as seen by its context.
#[derive(Debug, Clone)]
pub(crate) struct RunningJob {
    pub(crate) id: JobId,
    pub(crate) stack_depth: u32,
    pub(crate) max_stack_depth: Option<u32>,
    pub(crate) failure_reenqueues: u32,
    pub(crate) attempt: u32,
}

impl RunningJob {
    pub(crate) fn from_record(job: &JobRecord) -> RunningJob {
        RunningJob {
            id: job.id,
            stack_depth: job.stack_depth,
            max_stack_depth: job.max_stack_depth,
            failure_reenqueues: job.failure_reenqueues,
            attempt: job.attempt,
        }
    }
}

/// What an execution has asked for so far.
#[derive(Debug, Default)]
pub(crate) struct Buffer {
    pub(crate) enqueued: Vec<NewJob>,
    attempted: u32,
    futures_attempted: u32,
    batches_submitted: u32,
    pub(crate) callouts: u32,
    pub(crate) callout_time: Duration,
    pub(crate) finalizer: Option<(String, serde_json::Value)>,
    pub(crate) violation: Option<Error>,
}

/// State shared between an execution's context and the executor watching it, so the buffer
/// (and an attached finalizer) survive even a panic in the job.
#[derive(Debug, Default)]
pub(crate) struct ExecShared {
    buffer: Mutex<Buffer>,
    abort: AtomicBool,
    abort_notify: Notify,
}

impl ExecShared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Buffer> {
        // A panic while the lock was held cannot leave the buffer half-written in a way that
        // matters: the execution fails and the buffer is dropped.
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn take_buffer(&self) -> Buffer {
        std::mem::take(&mut *self.lock())
    }

    pub(crate) fn request_abort(&self) {
        self.abort.store(true, Ordering::SeqCst);
        self.abort_notify.notify_waiters();
    }

    pub(crate) fn is_abort_requested(&self) -> bool {
        self.abort.load(Ordering::SeqCst)
    }
}

/// The machinery behind every context type.
#[derive(Clone)]
pub(crate) struct ExecContext {
    pub(crate) engine: Arc<EngineInner>,
    pub(crate) kind: ContextKind,
    pub(crate) job: Option<RunningJob>,
    pub(crate) shared: Arc<ExecShared>,
    pub(crate) allows_callouts: bool,
    pub(crate) started_at: Timestamp,
    pub(crate) time_limit: Duration,
}

impl ExecContext {
    pub(crate) fn new(
        engine: Arc<EngineInner>,
        kind: ContextKind,
        job: Option<RunningJob>,
        shared: Arc<ExecShared>,
    ) -> ExecContext {
        let limits = &engine.config.limits;
        let time_limit = match kind {
            ContextKind::Sync | ContextKind::Finalizer { .. } | ContextKind::Scheduled => {
                limits.execution_time_sync
            }
            ContextKind::Queueable | ContextKind::Future | ContextKind::Batch(_) => {
                limits.execution_time_async
            }
        };
        let started_at = engine.clock.now();
        ExecContext {
            engine,
            kind,
            job,
            shared,
            // Apex lets finalizers call out; queueables and futures must declare it.
            allows_callouts: matches!(kind, ContextKind::Finalizer { .. }),
            started_at,
            time_limit,
        }
    }

    fn enqueue_limit(&self) -> u32 {
        let limits = &self.engine.config.limits;
        match self.kind {
            ContextKind::Sync | ContextKind::Scheduled => limits.queueable_jobs_sync,
            ContextKind::Queueable
            | ContextKind::Finalizer { .. }
            | ContextKind::Future
            | ContextKind::Batch(_) => limits.queueable_jobs_async,
        }
    }

    fn future_limit(&self) -> u32 {
        let limits = &self.engine.config.limits;
        match self.kind {
            ContextKind::Sync | ContextKind::Scheduled => limits.future_calls_sync,
            ContextKind::Queueable | ContextKind::Finalizer { .. } => limits.future_calls_async,
            ContextKind::Future | ContextKind::Batch(_) => 0,
        }
    }

    pub(crate) fn violate(&self, buffer: &mut Buffer, error: Error) -> Error {
        if buffer.violation.is_none() {
            buffer.violation = Some(error.clone());
        }
        error
    }

    pub(crate) fn enqueue<Q: Queueable>(
        &self,
        job: &Q,
        options: EnqueueOptions,
    ) -> Result<JobId, Error> {
        let class = Q::class_name();
        self.engine.registry.require(class, JobType::Queueable)?;
        let payload = serde_json::to_string(job).map_err(|e| Error::Payload {
            class: class.to_owned(),
            message: format!("cannot serialize the job: {e}"),
        })?;
        self.enqueue_serialized(class, payload, options)
    }

    /// Buffers a queueable already serialized (the typed path above, or JSON from the HTTP
    /// API, which has checked it).
    pub(crate) fn enqueue_serialized(
        &self,
        class: &str,
        payload: String,
        options: EnqueueOptions,
    ) -> Result<JobId, Error> {
        if options.max_stack_depth == Some(0) {
            return Err(Error::InvalidInput {
                what: "maximum stack depth",
                input: "0".into(),
                rule: "the maximum stack depth must be at least 1",
            });
        }
        let now = self.engine.clock.now();
        let mut buffer = self.shared.lock();
        buffer.attempted += 1;
        let limit = self.enqueue_limit();
        if buffer.attempted > limit {
            let used = buffer.attempted;
            let err = Error::LimitExceeded {
                limit: asyncapex_core::LimitName::QueueableJobs,
                used: u64::from(used),
                max: u64::from(limit),
                message: format!(
                    "too many queueable jobs added to the queue: {used} (the limit for this {} context is {limit})",
                    if self.kind == ContextKind::Sync {
                        "synchronous"
                    } else {
                        "asynchronous"
                    }
                ),
            };
            return Err(self.violate(&mut buffer, err));
        }
        let (depth, inherited_max, failure_reenqueues) = match (&self.job, self.kind) {
            (None, _) => (1, self.engine.config.default_max_stack_depth, 0),
            (Some(parent), ContextKind::Finalizer { parent_failed }) => {
                let count = if parent_failed {
                    parent.failure_reenqueues.saturating_add(1)
                } else {
                    0
                };
                (parent.stack_depth + 1, parent.max_stack_depth, count)
            }
            (Some(parent), _) => (parent.stack_depth + 1, parent.max_stack_depth, 0),
        };
        let max_stack_depth = match (inherited_max, options.max_stack_depth) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let (Some(max), Some(parent)) = (max_stack_depth, &self.job)
            && depth > max
        {
            let err = Error::MaxStackDepth {
                depth: parent.stack_depth,
                max,
            };
            return Err(self.violate(&mut buffer, err));
        }
        let retry_limit = self.engine.config.limits.finalizer_failure_reenqueues;
        if failure_reenqueues > retry_limit {
            let err = Error::LimitExceeded {
                limit: asyncapex_core::LimitName::FinalizerReenqueues,
                used: u64::from(failure_reenqueues),
                max: u64::from(retry_limit),
                message: format!(
                    "a finalizer may re-enqueue a failing job at most {retry_limit} consecutive times; this would be re-enqueue {failure_reenqueues}"
                ),
            };
            return Err(self.violate(&mut buffer, err));
        }
        // A synchronous context checks the cap with a fresh count when it commits.
        if self.kind != ContextKind::Sync
            && let Err(err) = self
                .engine
                .daily
                .check_now(1 + buffer.enqueued.len() as u64)
        {
            return Err(self.violate(&mut buffer, err));
        }
        let delay = options
            .delay
            .or(self.engine.config.default_delay)
            .unwrap_or(Duration::ZERO);
        let id = self.engine.ids.job_id(now);
        buffer.enqueued.push(NewJob {
            id,
            job_type: JobType::Queueable,
            class_name: class.to_owned(),
            method_name: None,
            status: JobStatus::Queued,
            parent_job_id: self.job.as_ref().map(|j| j.id),
            cron_trigger_id: None,
            created_at: now,
            run_at: add(now, delay),
            max_attempts: self.engine.config.max_attempts,
            stack_depth: depth,
            max_stack_depth,
            failure_reenqueues,
            signature: options.signature.map(|s| s.as_str().to_owned()),
            payload,
            batch_scope: None,
        });
        Ok(id)
    }

    pub(crate) fn enqueue_future(
        &self,
        method: &'static FutureMethod,
        args: String,
    ) -> Result<JobId, Error> {
        if matches!(self.kind, ContextKind::Future | ContextKind::Batch(_)) {
            return Err(Error::NotAllowed {
                rule: format!(
                    "future method cannot be called from a future or batch method (calling {} from future {})",
                    method.key(),
                    self.job
                        .as_ref()
                        .map(|j| j.id.to_string())
                        .unwrap_or_default()
                ),
            });
        }
        let key = method.key();
        self.engine.registry.require(&key, JobType::Future)?;
        let now = self.engine.clock.now();
        let mut buffer = self.shared.lock();
        buffer.futures_attempted += 1;
        let limit = self.future_limit();
        if buffer.futures_attempted > limit {
            let used = buffer.futures_attempted;
            let err = Error::LimitExceeded {
                limit: asyncapex_core::LimitName::FutureCalls,
                used: u64::from(used),
                max: u64::from(limit),
                message: format!(
                    "too many future calls: {used} (the limit for this execution is {limit})"
                ),
            };
            return Err(self.violate(&mut buffer, err));
        }
        // A synchronous context checks the cap with a fresh count when it commits.
        if self.kind != ContextKind::Sync
            && let Err(err) = self
                .engine
                .daily
                .check_now(1 + buffer.enqueued.len() as u64)
        {
            return Err(self.violate(&mut buffer, err));
        }
        let id = self.engine.ids.job_id(now);
        buffer.enqueued.push(NewJob {
            id,
            job_type: JobType::Future,
            class_name: method.class_name().to_owned(),
            method_name: Some(method.method_name().to_owned()),
            status: JobStatus::Queued,
            parent_job_id: self.job.as_ref().map(|j| j.id),
            cron_trigger_id: None,
            created_at: now,
            run_at: now,
            max_attempts: self.engine.config.max_attempts,
            // Futures do not chain: each starts a depth of its own.
            stack_depth: 1,
            max_stack_depth: None,
            failure_reenqueues: 0,
            signature: None,
            payload: args,
            batch_scope: None,
        });
        Ok(id)
    }

    pub(crate) fn enqueue_batch<B: Batchable>(
        &self,
        batch: &B,
        scope: u32,
    ) -> Result<JobId, Error> {
        if !(1..=2000).contains(&scope) {
            return Err(Error::InvalidInput {
                what: "batch scope",
                input: scope.to_string(),
                rule: "the scope (items per execute) must be between 1 and 2000",
            });
        }
        if matches!(
            self.kind,
            ContextKind::Future | ContextKind::Batch(BatchPhase::Start | BatchPhase::Execute)
        ) {
            return Err(Error::NotAllowed {
                rule: "Database.executeBatch cannot be called from a batch start, batch execute, or future method (only from finish, queueables, schedulables and synchronous code)".into(),
            });
        }
        let class = B::class_name();
        self.engine.registry.require(class, JobType::BatchApex)?;
        let payload = serde_json::to_string(batch).map_err(|e| Error::Payload {
            class: class.to_owned(),
            message: format!("cannot serialize the batch: {e}"),
        })?;
        self.enqueue_batch_serialized(class, payload, scope)
    }

    /// Buffers a batch job whose payload is already JSON (checked by the caller).
    pub(crate) fn enqueue_batch_serialized(
        &self,
        class: &str,
        payload: String,
        scope: u32,
    ) -> Result<JobId, Error> {
        if !(1..=2000).contains(&scope) {
            return Err(Error::InvalidInput {
                what: "batch scope",
                input: scope.to_string(),
                rule: "the scope (items per execute) must be between 1 and 2000",
            });
        }
        let now = self.engine.clock.now();
        let mut buffer = self.shared.lock();
        if self.kind != ContextKind::Sync
            && let Err(err) = self
                .engine
                .daily
                .check_now(1 + buffer.enqueued.len() as u64)
        {
            return Err(self.violate(&mut buffer, err));
        }
        buffer.batches_submitted += 1;
        let id = self.engine.ids.job_id(now);
        buffer.enqueued.push(NewJob {
            id,
            job_type: JobType::BatchApex,
            class_name: class.to_owned(),
            method_name: None,
            // Every batch enters the flex queue; the promoter moves it on when a slot frees.
            status: JobStatus::Holding,
            parent_job_id: self.job.as_ref().map(|j| j.id),
            cron_trigger_id: None,
            created_at: now,
            run_at: now,
            max_attempts: self.engine.config.max_attempts,
            stack_depth: 1,
            max_stack_depth: None,
            failure_reenqueues: 0,
            signature: None,
            payload,
            batch_scope: Some(scope),
        });
        Ok(id)
    }

    pub(crate) fn limits_view(&self) -> LimitsView {
        let limits = &self.engine.config.limits;
        let buffer = self.shared.lock();
        LimitsView {
            queueable_jobs: Usage {
                used: u64::from(buffer.attempted),
                limit: u64::from(self.enqueue_limit()),
            },
            future_calls: Usage {
                used: u64::from(buffer.futures_attempted),
                limit: u64::from(self.future_limit()),
            },
            callouts: Usage {
                used: u64::from(buffer.callouts),
                limit: if self.allows_callouts {
                    u64::from(limits.callouts)
                } else {
                    0
                },
            },
            callout_time: TimeUsage {
                used: buffer.callout_time,
                limit: limits.callout_time,
            },
            batch_submissions: Usage {
                used: u64::from(buffer.batches_submitted),
                limit: match self.kind {
                    ContextKind::Future
                    | ContextKind::Batch(BatchPhase::Start | BatchPhase::Execute) => 0,
                    _ => u64::from(limits.flex_queue_size),
                },
            },
            execution_time: TimeUsage {
                used: asyncapex_core::clock::duration_between(
                    self.started_at,
                    self.engine.clock.now(),
                ),
                limit: self.time_limit,
            },
        }
    }

    pub(crate) fn attach_finalizer<F: Finalizer>(&self, finalizer: &F) -> Result<(), Error> {
        let class = F::class_name();
        self.engine.registry.require(class, JobType::Finalizer)?;
        let value = serde_json::to_value(finalizer).map_err(|e| Error::Payload {
            class: class.to_owned(),
            message: format!("cannot serialize the finalizer: {e}"),
        })?;
        let mut buffer = self.shared.lock();
        if buffer.finalizer.is_some() {
            return Err(Error::NotAllowed {
                rule: "more than one finalizer cannot be attached to the same async job".into(),
            });
        }
        buffer.finalizer = Some((class.to_owned(), value));
        Ok(())
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.engine.clock.now()
    }

    pub(crate) fn async_info(&self) -> AsyncInfo {
        AsyncInfo {
            current_queueable_stack_depth: self.job.as_ref().map_or(0, |j| j.stack_depth),
            maximum_queueable_stack_depth: self
                .job
                .as_ref()
                .and_then(|j| j.max_stack_depth)
                .or(self.engine.config.default_max_stack_depth),
            minimum_queueable_delay: self.engine.config.default_delay,
        }
    }

    async fn abort_requested(&self) {
        loop {
            let notified = self.shared.abort_notify.notified();
            if self.shared.is_abort_requested() {
                return;
            }
            notified.await;
        }
    }
}

/// Stack-depth and delay information for the running job (Apex's `AsyncInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsyncInfo {
    /// Depth of the running job in its chain: 1 for a job enqueued from outside any job.
    pub current_queueable_stack_depth: u32,
    /// The chain's maximum depth, if one is set.
    pub maximum_queueable_stack_depth: Option<u32>,
    /// The engine's default minimum delay, if one is set.
    pub minimum_queueable_delay: Option<Duration>,
}

impl AsyncInfo {
    /// Whether the chain has a maximum depth (Apex's `hasMaxStackDepth`).
    pub fn has_max_stack_depth(&self) -> bool {
        self.maximum_queueable_stack_depth.is_some()
    }
}

/// Methods every running job's context shares: its record, the clock, limits, callouts and
/// abort requests.
macro_rules! job_context_common {
    ($ty:ident, $what:literal, $callout_doc:literal) => {
        impl $ty {
            #[doc = concat!("This ", $what, "'s job record ID (Apex's `getJobId`).")]
            pub fn job_id(&self) -> JobId {
                self.job.id
            }

            /// Which run this is: 1 on the first, more after a crash rescued the job.
            pub fn attempt(&self) -> u32 {
                self.job.attempt
            }

            /// The engine clock's current instant.
            pub fn now(&self) -> Timestamp {
                self.inner.now()
            }

            /// What this execution has used of its governor limits (Apex's `Limits`).
            pub fn limits(&self) -> LimitsView {
                self.inner.limits_view()
            }

            #[doc = $callout_doc]
            ///
            /// # Errors
            /// [`Error::NotAllowed`] when this execution may not call out.
            #[cfg(feature = "callouts")]
            pub fn callout(&self) -> Result<crate::callout::Callout<'_>, Error> {
                crate::callout::Callout::new(&self.inner)
            }

            /// Whether `abort_job` asked this execution to stop. Long-running code should
            /// check it (or await [`aborted`](Self::aborted)) and return early; the job ends
            /// `Aborted` either way.
            pub fn is_abort_requested(&self) -> bool {
                self.inner.shared.is_abort_requested()
            }

            /// Completes when `abort_job` asks this execution to stop; use it in
            /// `tokio::select!`.
            pub async fn aborted(&self) {
                self.inner.abort_requested().await
            }

            /// Submits a batch job (Apex's `Database.executeBatch`): it joins the end of the
            /// flex queue, committed with this execution's success. `scope` is the number of
            /// items per `execute` (Apex's default is 200).
            ///
            /// # Errors
            /// [`Error::InvalidInput`] for a scope outside 1–2000; [`Error::NotAllowed`] from
            /// a future or a batch's `start`/`execute`; [`Error::UnknownJobType`] for an
            /// unregistered batch; the flex queue's cap when the execution commits.
            pub fn execute_batch<B: Batchable>(
                &mut self,
                batch: B,
                scope: u32,
            ) -> Result<JobId, Error> {
                self.inner.enqueue_batch(&batch, scope)
            }
        }
    };
}

/// What a running queueable may ask of the engine (Apex's `QueueableContext` plus the
/// `System` calls that only make sense inside a job).
pub struct QueueableContext {
    pub(crate) inner: ExecContext,
    pub(crate) job: RunningJob,
}

job_context_common!(
    QueueableContext,
    "job",
    "The HTTP client for callouts; only for queueables that declare [`Queueable::ALLOWS_CALLOUTS`] (Apex's `Database.AllowsCallouts`)."
);

impl QueueableContext {
    /// Chains a job to run after this one succeeds. Returns its ID at once; the job is
    /// committed only if this execution returns `Ok`.
    ///
    /// # Errors
    /// [`Error::LimitExceeded`] past the per-execution limit (1 by default, as in Apex);
    /// [`Error::MaxStackDepth`] when the chain would exceed its maximum depth;
    /// [`Error::UnknownJobType`] for a type the engine did not register;
    /// [`Error::Payload`] when the job cannot be serialized. The first two fail this
    /// execution even if the error is ignored.
    pub fn enqueue_job<Q: Queueable>(&mut self, job: Q) -> Result<JobId, Error> {
        self.inner.enqueue(&job, EnqueueOptions::default())
    }

    /// [`enqueue_job`](Self::enqueue_job) with options (delay, depth, signature).
    ///
    /// # Errors
    /// As [`enqueue_job`](Self::enqueue_job).
    pub fn enqueue_job_with<Q: Queueable>(
        &mut self,
        job: Q,
        options: EnqueueOptions,
    ) -> Result<JobId, Error> {
        self.inner.enqueue(&job, options)
    }

    /// Attaches a finalizer that runs after this job ends, however it ends (Apex's
    /// `System.attachFinalizer`).
    ///
    /// # Errors
    /// [`Error::NotAllowed`] when one is already attached; [`Error::UnknownJobType`] when the
    /// finalizer type is not registered; [`Error::Payload`] when it cannot be serialized.
    pub fn attach_finalizer<F: Finalizer>(&mut self, finalizer: F) -> Result<(), Error> {
        self.inner.attach_finalizer(&finalizer)
    }

    /// Stack depth and delay information (Apex's `AsyncInfo`).
    pub fn async_info(&self) -> AsyncInfo {
        self.inner.async_info()
    }
}

/// What a running finalizer may ask of the engine (Apex's `FinalizerContext`).
pub struct FinalizerContext {
    pub(crate) inner: ExecContext,
    pub(crate) job: RunningJob,
    pub(crate) parent_job_id: JobId,
    pub(crate) result: ParentJobResult,
    pub(crate) error: Option<String>,
}

job_context_common!(
    FinalizerContext,
    "finalizer run",
    "The HTTP client for callouts (finalizers may always call out, as in Apex)."
);

impl FinalizerContext {
    /// The queueable this finalizer belongs to (Apex's `getAsyncApexJobId`).
    pub fn async_apex_job_id(&self) -> JobId {
        self.parent_job_id
    }

    /// How the queueable ended (Apex's `getResult`).
    pub fn result(&self) -> ParentJobResult {
        self.result
    }

    /// The queueable's error message when it failed (Apex's `getException`).
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Enqueues one job, typically a retry of the parent. Committed only if the finalizer
    /// returns `Ok`.
    ///
    /// # Errors
    /// [`Error::LimitExceeded`] for a second enqueue, or when the parent failed and has
    /// already been re-enqueued 5 consecutive times; otherwise as
    /// [`QueueableContext::enqueue_job`].
    pub fn enqueue_job<Q: Queueable>(&mut self, job: Q) -> Result<JobId, Error> {
        self.inner.enqueue(&job, EnqueueOptions::default())
    }

    /// [`enqueue_job`](Self::enqueue_job) with options.
    ///
    /// # Errors
    /// As [`enqueue_job`](Self::enqueue_job).
    pub fn enqueue_job_with<Q: Queueable>(
        &mut self,
        job: Q,
        options: EnqueueOptions,
    ) -> Result<JobId, Error> {
        self.inner.enqueue(&job, options)
    }
}

/// What a running future method may ask of the engine. Take it as the first parameter,
/// `ctx: &mut FutureContext`, of a `#[future]` function to use it.
pub struct FutureContext {
    pub(crate) inner: ExecContext,
    pub(crate) job: RunningJob,
}

job_context_common!(
    FutureContext,
    "future",
    "The HTTP client for callouts; only for futures declared with `#[future(callout = true)]`."
);

impl FutureContext {
    /// Enqueues one queueable (the asynchronous limit), committed if this future succeeds.
    ///
    /// # Errors
    /// As [`QueueableContext::enqueue_job`].
    pub fn enqueue_job<Q: Queueable>(&mut self, job: Q) -> Result<JobId, Error> {
        self.inner.enqueue(&job, EnqueueOptions::default())
    }
}

/// What a scheduled job's firing may ask of the engine (Apex's `SchedulableContext`).
pub struct SchedulableContext {
    pub(crate) inner: ExecContext,
    pub(crate) job: RunningJob,
    pub(crate) trigger_id: CronTriggerId,
}

job_context_common!(
    SchedulableContext,
    "firing",
    "Always refused: Apex does not support callouts from scheduled jobs; enqueue a queueable that declares callouts, or call a `#[future(callout = true)]`."
);

impl SchedulableContext {
    /// The schedule that fired (Apex's `getTriggerId`).
    pub fn trigger_id(&self) -> CronTriggerId {
        self.trigger_id
    }

    /// Enqueues a queueable (up to 50 per firing: scheduled jobs run under synchronous
    /// limits), committed if this firing succeeds.
    ///
    /// # Errors
    /// As [`QueueableContext::enqueue_job`].
    pub fn enqueue_job<Q: Queueable>(&mut self, job: Q) -> Result<JobId, Error> {
        self.inner.enqueue(&job, EnqueueOptions::default())
    }

    /// [`enqueue_job`](Self::enqueue_job) with options.
    ///
    /// # Errors
    /// As [`enqueue_job`](Self::enqueue_job).
    pub fn enqueue_job_with<Q: Queueable>(
        &mut self,
        job: Q,
        options: EnqueueOptions,
    ) -> Result<JobId, Error> {
        self.inner.enqueue(&job, options)
    }
}

/// What a batch's `start`, `execute` and `finish` may ask of the engine (Apex's
/// `Database.BatchableContext`).
pub struct BatchContext {
    pub(crate) inner: ExecContext,
    pub(crate) job: RunningJob,
    pub(crate) phase: BatchPhase,
    pub(crate) chunk_id: Option<JobId>,
}

job_context_common!(
    BatchContext,
    "batch job",
    "The HTTP client for callouts; only for batches that declare [`Batchable::ALLOWS_CALLOUTS`] (Apex's `Database.AllowsCallouts`)."
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

    /// Enqueues a queueable (one per method, the asynchronous limit), committed with this
    /// method's success.
    ///
    /// # Errors
    /// As [`QueueableContext::enqueue_job`].
    pub fn enqueue_job<Q: Queueable>(&mut self, job: Q) -> Result<JobId, Error> {
        self.inner.enqueue(&job, EnqueueOptions::default())
    }
}

/// A synchronous context: enqueue up to 50 jobs (Apex's synchronous limit) and commit them in
/// one store transaction, all or none.
///
/// Dropping it without [`commit`](Self::commit) discards everything, like a rolled-back Apex
/// transaction.
///
/// ```no_run
/// # use asyncapex::{Engine, JobError, Queueable, QueueableContext};
/// # #[derive(serde::Serialize, serde::Deserialize)] struct Step(u32);
/// # impl Queueable for Step { async fn execute(&mut self, _: &mut QueueableContext) -> Result<(), JobError> { Ok(()) } }
/// # async fn demo(engine: &Engine) -> Result<(), asyncapex::Error> {
/// let mut tx = engine.begin();
/// let first = tx.enqueue_job(Step(1))?;
/// let second = tx.enqueue_job(Step(2))?;
/// tx.commit().await?; // both exist now, or neither
/// # Ok(()) }
/// ```
pub struct EnqueueTransaction {
    pub(crate) inner: ExecContext,
}

impl EnqueueTransaction {
    /// Buffers a job and returns its ID.
    ///
    /// # Errors
    /// [`Error::LimitExceeded`] past the synchronous limit; otherwise as
    /// [`QueueableContext::enqueue_job`].
    pub fn enqueue_job<Q: Queueable>(&mut self, job: Q) -> Result<JobId, Error> {
        self.inner.enqueue(&job, EnqueueOptions::default())
    }

    /// [`enqueue_job`](Self::enqueue_job) with options.
    ///
    /// # Errors
    /// As [`enqueue_job`](Self::enqueue_job); also [`Error::InvalidInput`] for a maximum
    /// stack depth of 0.
    pub fn enqueue_job_with<Q: Queueable>(
        &mut self,
        job: Q,
        options: EnqueueOptions,
    ) -> Result<JobId, Error> {
        self.inner.enqueue(&job, options)
    }

    /// Submits a batch job (it joins the end of the flex queue when this commits).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a scope outside 1–2000; [`Error::UnknownJobType`].
    pub fn execute_batch<B: Batchable>(&mut self, batch: B, scope: u32) -> Result<JobId, Error> {
        self.inner.enqueue_batch(&batch, scope)
    }

    /// Commits every buffered job inside the application's own PostgreSQL transaction: the
    /// jobs exist only if `tx` commits (Apex's "enqueued work is dispatched when the
    /// transaction commits"), and other processes are woken when it does.
    ///
    /// ```no_run
    /// # async fn demo(engine: &asyncapex::Engine, client: &mut asyncapex::tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct Welcome { id: i64 }
    /// # impl asyncapex::Queueable for Welcome { async fn execute(&mut self, _: &mut asyncapex::QueueableContext) -> Result<(), asyncapex::JobError> { Ok(()) } }
    /// let tx = client.transaction().await?;
    /// tx.execute("INSERT INTO account (id) VALUES ($1)", &[&42i64]).await?;
    /// let mut jobs = engine.begin();
    /// jobs.enqueue_job(Welcome { id: 42 })?;
    /// jobs.commit_in(&tx).await?;   // buffered into the app's transaction
    /// tx.commit().await?;           // the account and its job, or neither
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::NotAllowed`] when the engine's store is not a PostgreSQL store it opened with
    /// [`EngineBuilder::postgres`](crate::EngineBuilder::postgres); otherwise as
    /// [`commit`](Self::commit).
    #[cfg(feature = "postgres")]
    pub async fn commit_in(
        self,
        tx: &asyncapex_postgres::tokio_postgres::Transaction<'_>,
    ) -> Result<Vec<JobId>, Error> {
        let buffer = self.inner.shared.take_buffer();
        if let Some(violation) = buffer.violation {
            return Err(violation);
        }
        let engine = &self.inner.engine;
        let Some(schema) = engine.postgres_schema.as_deref() else {
            return Err(Error::NotAllowed {
                rule: "enqueueing inside an application transaction needs an engine built with .postgres(..)".into(),
            });
        };
        let ids = buffer.enqueued.iter().map(|j| j.id).collect();
        engine
            .daily
            .check(
                engine.store.as_ref(),
                engine.clock.now(),
                crate::governor::counted(&buffer.enqueued),
            )
            .await?;
        asyncapex_postgres::job_insert_in(
            tx,
            schema,
            &buffer.enqueued,
            engine.config.limits.flex_queue_size,
        )
        .await?;
        Ok(ids)
    }

    /// Commits every buffered job in one store transaction.
    ///
    /// # Errors
    /// The limit error if a limit was broken (nothing is committed);
    /// [`Error::DuplicateSignature`] when a job's signature is taken (nothing is committed);
    /// a store error.
    pub async fn commit(self) -> Result<Vec<JobId>, Error> {
        let buffer = self.inner.shared.take_buffer();
        if let Some(violation) = buffer.violation {
            return Err(violation);
        }
        let ids = buffer.enqueued.iter().map(|j| j.id).collect();
        let engine = &self.inner.engine;
        engine
            .daily
            .check(
                engine.store.as_ref(),
                engine.clock.now(),
                crate::governor::counted(&buffer.enqueued),
            )
            .await?;
        engine.insert(buffer.enqueued).await?;
        Ok(ids)
    }
}
