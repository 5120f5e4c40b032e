//! Governor limits: per-execution quotas in the spirit of Apex's `Limits` class, plus the
//! per-store ("org-wide") daily cap on async executions.
//!
//! The defaults are Apex's numbers (see the README's limits table). [`Limits::unlimited`]
//! lifts them all, and each field can be overridden on its own.
//!
//! ```
//! use asyncapex_core::Limits;
//!
//! let limits = Limits { queueable_jobs_async: 2, ..Limits::default() };
//! assert_eq!(limits.queueable_jobs_sync, 50);
//! assert_eq!(Limits::unlimited().daily_async_executions, None);
//! ```

use std::time::Duration;

/// Per-execution quotas and the daily cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Queueable jobs one synchronous context may enqueue (Apex: 50). Synchronous contexts
    /// are code outside any job (an `EnqueueTransaction`) and finalizers' callers.
    pub queueable_jobs_sync: u32,
    /// Queueable jobs one asynchronous execution may enqueue (Apex: 1, so a chain never fans
    /// out). Applies inside queueables, futures and finalizers.
    pub queueable_jobs_async: u32,
    /// Future calls one synchronous context may make (Apex: 50).
    pub future_calls_sync: u32,
    /// Future calls one queueable or finalizer execution may make (Apex: 50). Futures and
    /// batches may make none, whatever this says (Apex's rule, not a quota).
    pub future_calls_async: u32,
    /// HTTP callouts one execution may make (Apex: 100).
    pub callouts: u32,
    /// Total time one execution may spend waiting on callouts (Apex: 120 s).
    pub callout_time: Duration,
    /// Timeout of one callout unless the request sets its own (Apex: 10 s).
    pub callout_timeout: Duration,
    /// Wall-clock time a synchronous execution (a finalizer) may run (Apex's CPU limit: 10 s).
    pub execution_time_sync: Duration,
    /// Wall-clock time an asynchronous execution (queueable, future) may run (Apex's CPU
    /// limit: 60 s). A job type may set its own.
    pub execution_time_async: Duration,
    /// Async jobs (queueables, futures, batches, scheduled runs; not finalizers) that may be
    /// submitted to one store in any rolling 24 hours (Apex: 250,000); `None` for no cap.
    pub daily_async_executions: Option<u64>,
    /// Consecutive times a finalizer may re-enqueue a job that keeps failing (Apex: 5).
    pub finalizer_failure_reenqueues: u32,
    /// Schedules that may be active (waiting, paused or in error) in one store at once
    /// (Apex: 100; 5 in a Developer Edition org).
    pub scheduled_jobs: u32,
    /// Batch jobs that may wait `Holding` in the flex queue (Apex: 100).
    pub flex_queue_size: u32,
    /// Batch jobs that may be queued or running at once (Apex: 5).
    pub active_batch_jobs: u32,
    /// Rows a batch's query locator may return before the job fails (Apex: 50 million).
    pub query_locator_rows: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            queueable_jobs_sync: 50,
            queueable_jobs_async: 1,
            future_calls_sync: 50,
            future_calls_async: 50,
            callouts: 100,
            callout_time: Duration::from_secs(120),
            callout_timeout: Duration::from_secs(10),
            execution_time_sync: Duration::from_secs(10),
            execution_time_async: Duration::from_secs(60),
            daily_async_executions: Some(250_000),
            finalizer_failure_reenqueues: 5,
            scheduled_jobs: 100,
            flex_queue_size: 100,
            active_batch_jobs: 5,
            query_locator_rows: 50_000_000,
        }
    }
}

impl Limits {
    /// Apex's limits (the default).
    pub fn apex() -> Limits {
        Limits::default()
    }

    /// No limits at all: for trusted workloads that need fan-out, long jobs or long retry
    /// loops. Rules that are not quotas (no future calls from a future) still hold.
    pub fn unlimited() -> Limits {
        Limits {
            queueable_jobs_sync: u32::MAX,
            queueable_jobs_async: u32::MAX,
            future_calls_sync: u32::MAX,
            future_calls_async: u32::MAX,
            callouts: u32::MAX,
            callout_time: Duration::MAX,
            callout_timeout: Duration::from_secs(120),
            execution_time_sync: Duration::MAX,
            execution_time_async: Duration::MAX,
            daily_async_executions: None,
            finalizer_failure_reenqueues: u32::MAX,
            scheduled_jobs: u32::MAX,
            flex_queue_size: u32::MAX,
            active_batch_jobs: u32::MAX,
            query_locator_rows: u64::MAX,
        }
    }
}

/// Which governor limit an [`Error::LimitExceeded`](crate::Error::LimitExceeded) broke: the
/// rows of Apex's limits table that asyncapex enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitName {
    /// Queueable jobs enqueued by one execution ([`Limits::queueable_jobs_sync`] /
    /// [`Limits::queueable_jobs_async`]).
    QueueableJobs,
    /// Future calls made by one execution ([`Limits::future_calls_sync`] /
    /// [`Limits::future_calls_async`]).
    FutureCalls,
    /// HTTP callouts made by one execution ([`Limits::callouts`]).
    Callouts,
    /// Time one execution waited on callouts ([`Limits::callout_time`]).
    CalloutTime,
    /// Consecutive finalizer re-enqueues of a failing job
    /// ([`Limits::finalizer_failure_reenqueues`]).
    FinalizerReenqueues,
    /// Async jobs submitted to one store in 24 hours ([`Limits::daily_async_executions`]).
    DailyAsyncExecutions,
    /// Batch jobs holding in the flex queue ([`Limits::flex_queue_size`]).
    FlexQueue,
    /// Active schedules in one store ([`Limits::scheduled_jobs`]).
    ScheduledJobs,
}

impl LimitName {
    /// The limit's name as messages and the HTTP API spell it, e.g. `"queueable jobs"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            LimitName::QueueableJobs => "queueable jobs",
            LimitName::FutureCalls => "future calls",
            LimitName::Callouts => "callouts",
            LimitName::CalloutTime => "callout time",
            LimitName::FinalizerReenqueues => "finalizer re-enqueues",
            LimitName::DailyAsyncExecutions => "daily async executions",
            LimitName::FlexQueue => "flex queue",
            LimitName::ScheduledJobs => "scheduled jobs",
        }
    }
}

impl std::fmt::Display for LimitName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
