//! Scheduled jobs: a job instance that runs each time a cron expression fires (Apex's
//! `Schedulable`).

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::SchedulableContext;
use crate::job_error::JobError;
use crate::queueable::short_type_name;

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
    /// The name this type is registered and stored under; defaults to the type's name.
    fn class_name() -> &'static str {
        short_type_name::<Self>()
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
