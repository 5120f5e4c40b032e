//! Queueable jobs: start a long-running operation, get an ID for it, chain the next.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::QueueableContext;
use crate::job_error::JobError;

/// A job whose state travels through the store as JSON and runs later, once (Apex's
/// `Queueable`).
///
/// The instance is serialized when it is enqueued (a snapshot: later changes to your copy do
/// not reach the job) and deserialized for each run. Fields marked `#[serde(skip)]` arrive as
/// their default, like Apex's `transient`.
///
/// What `execute` enqueues through its context — a chained job, a finalizer — is committed
/// only if `execute` returns `Ok`; an `Err` or a panic marks the job `Failed` with the message
/// and discards all of it.
///
/// ```
/// use asyncapex::{JobError, Queueable, QueueableContext};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct AccountUpdater {
///     account_ids: Vec<String>,
/// }
///
/// impl Queueable for AccountUpdater {
///     async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
///         let (batch, rest) = self.account_ids.split_at(self.account_ids.len().min(2));
///         println!("updating {batch:?}");
///         if !rest.is_empty() {
///             // Chaining: at most one child per execution, as in Apex.
///             ctx.enqueue_job(AccountUpdater { account_ids: rest.to_vec() })?;
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait Queueable: Serialize + DeserializeOwned + Send + 'static {
    /// Whether this job may make HTTP callouts (Apex's `Database.AllowsCallouts`).
    const ALLOWS_CALLOUTS: bool = false;

    /// This type's execution time limit; `None` uses the engine's asynchronous limit
    /// ([`Limits::execution_time_async`](crate::Limits::execution_time_async), 60 s by
    /// default).
    fn execution_time_limit() -> Option<std::time::Duration> {
        None
    }

    /// The name this type is registered and stored under (Apex's class name). Defaults to
    /// the type's name without its module path; override it to keep stored jobs runnable
    /// after renaming or moving the type.
    fn class_name() -> &'static str {
        short_type_name::<Self>()
    }

    /// Runs the job.
    fn execute(
        &mut self,
        ctx: &mut QueueableContext,
    ) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// `my_crate::jobs::Thing<T>` → `Thing`.
pub(crate) fn short_type_name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}
