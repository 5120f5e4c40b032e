//! The public context types, one per kind of execution. Each wraps the runtime's
//! [`ExecContext`]; the methods that make a context useful live with the kind they belong to
//! (a finalizer's `result()` in `finalizer`, `enqueue_job` everywhere in `queueable`, …).

use asyncapex_core::{BatchPhase, CronTriggerId, Error, JobId};
use jiff::Timestamp;

use crate::runtime::context::{ExecContext, RunningJob};
use crate::runtime::limits::LimitsView;

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
            pub fn callout(&self) -> Result<crate::runtime::callout::Callout<'_>, Error> {
                crate::runtime::callout::Callout::new(&self.inner)
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
                self.inner.shared.abort_requested().await
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
    "The HTTP client for callouts; only for queueables that declare [`Queueable::ALLOWS_CALLOUTS`](crate::Queueable::ALLOWS_CALLOUTS) (Apex's `Database.AllowsCallouts`)."
);

/// What a running finalizer may ask of the engine (Apex's `FinalizerContext`).
pub struct FinalizerContext {
    pub(crate) inner: ExecContext,
    pub(crate) job: RunningJob,
    pub(crate) parent_job_id: JobId,
    pub(crate) result: crate::runtime::outcome::ParentJobResult,
    pub(crate) error: Option<String>,
}

job_context_common!(
    FinalizerContext,
    "finalizer run",
    "The HTTP client for callouts (finalizers may always call out, as in Apex)."
);

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
    "The HTTP client for callouts; only for batches that declare [`Batchable::ALLOWS_CALLOUTS`](crate::Batchable::ALLOWS_CALLOUTS) (Apex's `Database.AllowsCallouts`)."
);
