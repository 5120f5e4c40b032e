//! Governor limits of one execution: the table of limits per context kind, and what an
//! execution has used of them (Apex's `Limits` class).
//!
//! Apex documents its per-transaction limits as one table whose columns are the kinds of
//! context; [`ContextKind::row`] is that table, and every check reads its row from it.

use std::time::Duration;

use asyncapex_core::{BatchPhase, Limits};

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

/// One row of the limits table: what an execution of one context kind may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LimitsRow {
    /// Queueable jobs it may enqueue.
    pub(crate) queueable_jobs: u32,
    /// Whether it may call futures at all (Apex: not from a future or a batch).
    pub(crate) may_call_futures: bool,
    /// Future calls it may make.
    pub(crate) future_calls: u32,
    /// Whether it may submit batch jobs (Apex: not from a future, batch start or execute).
    pub(crate) may_submit_batches: bool,
    /// Whether it may call out without declaring it (finalizers may, as in Apex).
    pub(crate) callouts_by_default: bool,
    /// Its execution time limit unless its type sets one.
    pub(crate) execution_time: Duration,
    /// Whether it is code outside any job (an `EnqueueTransaction`): its limit errors say
    /// "synchronous", and the daily cap is checked with a fresh count when it commits.
    pub(crate) outside_job: bool,
}

impl ContextKind {
    /// The row of the limits table for this kind of context.
    pub(crate) fn row(self, l: &Limits) -> LimitsRow {
        use ContextKind::*;
        let (sync, asynchronous) = (l.execution_time_sync, l.execution_time_async);
        #[rustfmt::skip]
        let (queueable_jobs, may_call_futures, future_calls, may_submit_batches, callouts_by_default, execution_time, outside_job) = match self {
            //                           queueables              futures? future calls           batches? callouts? time          outside a job?
            Sync =>                     (l.queueable_jobs_sync,  true,    l.future_calls_sync,  true,    false,     sync,         true),
            Queueable =>                (l.queueable_jobs_async, true,    l.future_calls_async, true,    false,     asynchronous, false),
            Finalizer { .. } =>         (l.queueable_jobs_async, true,    l.future_calls_async, true,    true,      sync,         false),
            Future =>                   (l.queueable_jobs_async, false,   0,                    false,   false,     asynchronous, false),
            Scheduled =>                (l.queueable_jobs_sync,  true,    l.future_calls_sync,  true,    false,     sync,         false),
            Batch(BatchPhase::Finish) => (l.queueable_jobs_async, false,  0,                    true,    false,     asynchronous, false),
            Batch(_) =>                 (l.queueable_jobs_async, false,   0,                    false,   false,     asynchronous, false),
        };
        LimitsRow {
            queueable_jobs,
            may_call_futures,
            future_calls,
            may_submit_batches,
            callouts_by_default,
            execution_time,
            outside_job,
        }
    }
}

/// How much of one countable limit an execution has used (Apex's `Limits.getX()` and
/// `Limits.getLimitX()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Used so far in this execution.
    pub used: u64,
    /// The limit in force.
    pub limit: u64,
}

/// How much of one time limit an execution has used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeUsage {
    /// Used so far in this execution.
    pub used: Duration,
    /// The limit in force.
    pub limit: Duration,
}

/// A snapshot of an execution's governor limits (Apex's `Limits` class).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitsView {
    /// Queueable jobs enqueued (`System.enqueueJob`).
    pub queueable_jobs: Usage,
    /// Future calls made (`@future`).
    pub future_calls: Usage,
    /// HTTP callouts made.
    pub callouts: Usage,
    /// Time spent waiting on callouts.
    pub callout_time: TimeUsage,
    /// Batch jobs submitted (`Database.executeBatch`); the limit shown is the flex queue's
    /// size, which is what bounds submissions (0 where Apex forbids them).
    pub batch_submissions: Usage,
    /// Wall-clock time since the execution started.
    pub execution_time: TimeUsage,
}

#[cfg(test)]
mod tests {
    use asyncapex_core::{BatchPhase, Limits};

    use super::ContextKind;

    #[test]
    fn the_table_matches_apex_for_each_context_kind() {
        let l = Limits::default();
        let sync = ContextKind::Sync.row(&l);
        assert_eq!(
            (sync.queueable_jobs, sync.future_calls, sync.outside_job),
            (50, 50, true)
        );
        let queueable = ContextKind::Queueable.row(&l);
        assert_eq!((queueable.queueable_jobs, queueable.future_calls), (1, 50));
        assert!(!queueable.callouts_by_default);
        let finalizer = ContextKind::Finalizer {
            parent_failed: true,
        }
        .row(&l);
        assert!(
            finalizer.callouts_by_default,
            "finalizers may call out, as in Apex"
        );
        assert_eq!(finalizer.execution_time, l.execution_time_sync);
        let future = ContextKind::Future.row(&l);
        assert!(!future.may_call_futures && !future.may_submit_batches);
        let scheduled = ContextKind::Scheduled.row(&l);
        assert_eq!(
            scheduled.queueable_jobs, 50,
            "scheduled jobs run under synchronous limits"
        );
        for phase in [BatchPhase::Start, BatchPhase::Execute] {
            let row = ContextKind::Batch(phase).row(&l);
            assert!(!row.may_call_futures && !row.may_submit_batches);
        }
        assert!(
            ContextKind::Batch(BatchPhase::Finish)
                .row(&l)
                .may_submit_batches
        );
    }
}
