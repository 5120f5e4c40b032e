//! Scheduled jobs: a job instance that runs each time a cron expression fires (Apex's
//! `Schedulable`).

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use asyncapex_core::{CronTriggerId, JobRecord, JobType};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::kinds::context::SchedulableContext;
use crate::runtime::context::{ExecContext, RunningJob};
use crate::runtime::handler::{Handler, JobFuture};
use crate::runtime::job_error::JobError;
use crate::runtime::limits::ContextKind;

/// A job run on a schedule (Apex's `Schedulable`).
///
/// The instance is serialized when it is scheduled, and **every firing starts from that
/// snapshot**: changes made during one run are not seen by the next (keep state that must
/// carry over in your own tables, or enqueue a queueable with it). Each firing creates a job
/// record of type `ScheduledApex` whose context gives the schedule's `08e…` ID.
///
/// Scheduled jobs run under Apex's **synchronous** limits: they may enqueue up to 50
/// queueables and call 50 futures, typically to hand the real work to asynchronous jobs;
/// they may not make callouts.
///
/// ```
/// use asyncapex::{JobError, Schedulable, SchedulableContext};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct NightlyCleanup { keep_days: u32 }
///
/// impl Schedulable for NightlyCleanup {
///     async fn execute(&mut self, ctx: &mut SchedulableContext) -> Result<(), JobError> {
///         println!("schedule {} fired: purging rows older than {} days", ctx.trigger_id(), self.keep_days);
///         Ok(())
///     }
/// }
/// ```
pub trait Schedulable: Serialize + DeserializeOwned + Send + 'static {
    /// Payload fields that hold secrets or customer data: the dashboard, the API and the
    /// CLI show them as `"[redacted]"` (the job itself gets them). Paths of keys joined by
    /// dots (`card`, `customer.email`); a path through an array applies to each element.
    /// An extension beyond Apex (whose Apex Jobs page shows no payloads at all).
    const SENSITIVE_FIELDS: &'static [&'static str] = &[];

    /// The name this type is registered and stored under; defaults to the type's name.
    fn class_name() -> &'static str {
        super::short_type_name::<Self>()
    }

    /// This type's execution time limit; `None` uses the engine's synchronous limit
    /// ([`Limits::execution_time_sync`](crate::Limits::execution_time_sync), 10 s by default).
    fn execution_time_limit() -> Option<std::time::Duration> {
        None
    }

    /// Runs one firing.
    fn execute(
        &mut self,
        ctx: &mut SchedulableContext,
    ) -> impl Future<Output = Result<(), JobError>> + Send;
}

struct SchedulableHandler<S>(PhantomData<fn() -> S>);

/// The handler that runs the records a schedule of `S` fires.
pub(crate) fn handler<S: Schedulable>() -> (&'static str, Arc<dyn Handler>) {
    (
        S::class_name(),
        Arc::new(SchedulableHandler::<S>(PhantomData)),
    )
}

impl<S: Schedulable> Handler for SchedulableHandler<S> {
    fn job_type(&self) -> JobType {
        JobType::ScheduledApex
    }

    fn sensitive_fields(&self) -> &'static [&'static str] {
        S::SENSITIVE_FIELDS
    }

    fn check_payload(&self, payload: &str) -> Result<(), String> {
        serde_json::from_str::<S>(payload)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn context_kind(&self, _job: &JobRecord) -> ContextKind {
        ContextKind::Scheduled
    }

    fn allows_callouts(&self) -> bool {
        false
    }

    fn time_limit(&self) -> Option<std::time::Duration> {
        S::execution_time_limit()
    }

    fn run(&self, job: &JobRecord, inner: ExecContext) -> JobFuture {
        let payload = job.payload.clone();
        let running = RunningJob::from_record(job);
        let trigger = job.cron_trigger_id;
        Box::pin(async move {
            let trigger_id = trigger.ok_or_else(|| {
                JobError::new("a ScheduledApex job record without a cron trigger ID")
            })?;
            let mut value: S = serde_json::from_str(&payload).map_err(|e| {
                JobError::new(format!(
                    "the scheduled payload no longer deserializes into {}: {e}",
                    S::class_name()
                ))
            })?;
            let mut ctx = SchedulableContext {
                inner,
                job: running,
                trigger_id,
            };
            let result = value.execute(&mut ctx).await;
            ctx.inner.keep_state(&value);
            result
        })
    }
}

impl SchedulableContext {
    /// The schedule that fired (Apex's `getTriggerId`).
    pub fn trigger_id(&self) -> CronTriggerId {
        self.trigger_id
    }
}
