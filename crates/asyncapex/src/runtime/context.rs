//! The execution context every kind's context wraps: what running code may ask of the
//! engine, buffered until it succeeds.
//!
//! Every execution — a queueable's `execute`, a finalizer, a batch phase, or a synchronous
//! `EnqueueTransaction` — owns a [`Buffer`]. Submissions are checked against the limits table
//! ([`ContextKind::row`]) and the stack depth at call time (so the caller gets the ID or the
//! error at once) and land in the buffer; the executor commits the buffer in the same store
//! transaction as the job's success, and drops it on failure.
//!
//! A broken limit is remembered even if the job code swallows the error: like Apex's
//! uncatchable `LimitException`, it fails the execution (see [`super::outcome`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use asyncapex_core::{Error, JobId, JobRecord, LimitName, NewJob};
use jiff::Timestamp;
use tokio::sync::Notify;

use super::Runtime;
use super::limits::{ContextKind, LimitsRow, LimitsView, TimeUsage, Usage};

/// The running job as seen by its context.
#[derive(Debug, Clone)]
pub(crate) struct RunningJob {
    pub(crate) id: JobId,
    pub(crate) stack_depth: u32,
    pub(crate) max_stack_depth: Option<u32>,
    pub(crate) failure_reenqueues: u32,
    pub(crate) attempt: u32,
    /// Its tenant: work it chains counts against the same tenant unless it names another.
    pub(crate) tenant: Option<String>,
}

impl RunningJob {
    pub(crate) fn from_record(job: &JobRecord) -> RunningJob {
        RunningJob {
            id: job.id,
            stack_depth: job.stack_depth,
            max_stack_depth: job.max_stack_depth,
            failure_reenqueues: job.failure_reenqueues,
            attempt: job.attempt,
            tenant: job.tenant.clone(),
        }
    }
}

/// What an execution has asked for so far.
#[derive(Debug, Default)]
pub(crate) struct Buffer {
    pub(crate) enqueued: Vec<NewJob>,
    pub(crate) queueables_attempted: u32,
    pub(crate) futures_attempted: u32,
    pub(crate) batches_submitted: u32,
    pub(crate) callouts: u32,
    pub(crate) callout_time: Duration,
    /// The attached finalizer, kept typed so its state is taken when the execution ends.
    pub(crate) finalizer: Option<AttachedFinalizer>,
    /// The first broken limit; it fails the execution whatever the code returns.
    pub(crate) violation: Option<Error>,
    /// The job's state as its code left it, as JSON (kept only under the test kit).
    pub(crate) final_state: Option<String>,
}

/// A finalizer's value behind its type, so the buffer can hold any and serialize it later.
pub(crate) trait FinalizerValue: std::any::Any + Send {
    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error>;
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;
}

impl<T: serde::Serialize + std::any::Any + Send> FinalizerValue for T {
    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

/// The finalizer an execution attached: Apex hands the finalizer the state its instance has
/// when the execution ends, so the value stays live (and changeable) until then.
pub(crate) struct AttachedFinalizer {
    pub(crate) class: String,
    pub(crate) value: Box<dyn FinalizerValue>,
    /// Its state when attached: what is stored with the job at once, and the fallback if the
    /// final state cannot be serialized.
    pub(crate) attached: serde_json::Value,
}

impl std::fmt::Debug for AttachedFinalizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachedFinalizer")
            .field("class", &self.class)
            .field("attached", &self.attached)
            .finish_non_exhaustive()
    }
}

impl AttachedFinalizer {
    /// Its class and its state now, as the finalizer's run will see it.
    pub(crate) fn into_state(self) -> (String, serde_json::Value) {
        match self.value.to_json() {
            Ok(state) => (self.class, state),
            Err(e) => {
                tracing::error!(class = %self.class, error = %e, "cannot serialize the finalizer's final state; it runs with its state when attached");
                (self.class, self.attached)
            }
        }
    }
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

    /// Takes what the execution buffered, its jobs stamped with the current span's trace
    /// context (feature `otel`): this is called where the jobs are about to be committed,
    /// in the span of the code that enqueued them.
    pub(crate) fn take_buffer(&self) -> Buffer {
        let mut buffer = std::mem::take(&mut *self.lock());
        super::trace_context::stamp(&mut buffer.enqueued);
        buffer
    }

    pub(crate) fn request_abort(&self) {
        self.abort.store(true, Ordering::SeqCst);
        self.abort_notify.notify_waiters();
    }

    pub(crate) fn is_abort_requested(&self) -> bool {
        self.abort.load(Ordering::SeqCst)
    }

    /// Completes when an abort is requested.
    pub(crate) async fn abort_requested(&self) {
        loop {
            let notified = self.abort_notify.notified();
            if self.is_abort_requested() {
                return;
            }
            notified.await;
        }
    }
}

/// The machinery behind every context type.
#[derive(Clone)]
pub(crate) struct ExecContext {
    pub(crate) rt: Arc<Runtime>,
    pub(crate) kind: ContextKind,
    pub(crate) job: Option<RunningJob>,
    pub(crate) shared: Arc<ExecShared>,
    pub(crate) allows_callouts: bool,
    pub(crate) started_at: Timestamp,
    pub(crate) time_limit: Duration,
}

impl ExecContext {
    /// A context of `kind` with its row's defaults (time limit, callouts).
    pub(crate) fn new(
        rt: Arc<Runtime>,
        kind: ContextKind,
        job: Option<RunningJob>,
        shared: Arc<ExecShared>,
    ) -> ExecContext {
        let row = kind.row(&rt.config.limits);
        let started_at = rt.clock.now();
        ExecContext {
            rt,
            kind,
            job,
            shared,
            allows_callouts: row.callouts_by_default,
            started_at,
            time_limit: row.execution_time,
        }
    }

    /// This context's row of the limits table.
    pub(crate) fn row(&self) -> LimitsRow {
        self.kind.row(&self.rt.config.limits)
    }

    /// Remembers the first broken limit (it fails the execution) and returns the error.
    pub(crate) fn violate(&self, buffer: &mut Buffer, error: Error) -> Error {
        if buffer.violation.is_none() {
            buffer.violation = Some(error.clone());
        }
        error
    }

    /// A limit error for `used` of `max` (Apex-style wording), remembered as a violation.
    pub(crate) fn exceeded(
        &self,
        buffer: &mut Buffer,
        limit: LimitName,
        used: u64,
        max: u64,
        message: String,
    ) -> Error {
        let error = Error::LimitExceeded {
            limit,
            used,
            max,
            message,
        };
        self.violate(buffer, error)
    }

    /// Checks the daily cap for one more job against the cached count (a job's context
    /// cannot wait for the store; code outside any job checks a fresh count when it commits).
    pub(crate) fn check_daily(&self, buffer: &mut Buffer) -> Result<(), Error> {
        if self.row().outside_job {
            return Ok(());
        }
        match self.rt.daily.check_now(1 + buffer.enqueued.len() as u64) {
            Ok(()) => Ok(()),
            Err(err) => Err(self.violate(buffer, err)),
        }
    }

    /// Keeps the state `value` was left in after the job's code ran, when the test kit asked
    /// for it: a test then reads what the job did without statics.
    pub(crate) fn keep_state<T: serde::Serialize>(&self, value: &T) {
        if self.rt.test.capture_state {
            self.shared.lock().final_state = serde_json::to_string(value).ok();
        }
    }

    /// The job that a submission from here names as its parent.
    pub(crate) fn parent_id(&self) -> Option<JobId> {
        self.job.as_ref().map(|j| j.id)
    }

    /// The tenant of the running job, which the work it chains inherits.
    pub(crate) fn tenant(&self) -> Option<String> {
        self.job.as_ref().and_then(|j| j.tenant.clone())
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.rt.clock.now()
    }

    /// What this execution has used of its limits.
    pub(crate) fn limits_view(&self) -> LimitsView {
        let limits = &self.rt.config.limits;
        let row = self.row();
        let buffer = self.shared.lock();
        LimitsView {
            queueable_jobs: Usage {
                used: u64::from(buffer.queueables_attempted),
                limit: u64::from(row.queueable_jobs),
            },
            future_calls: Usage {
                used: u64::from(buffer.futures_attempted),
                limit: u64::from(row.future_calls),
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
                limit: if row.may_submit_batches {
                    u64::from(limits.flex_queue_size)
                } else {
                    0
                },
            },
            execution_time: TimeUsage {
                used: asyncapex_core::clock::duration_between(self.started_at, self.now()),
                limit: self.time_limit,
            },
        }
    }
}
