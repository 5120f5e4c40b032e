//! Transaction finalizers: code that runs after a queueable ends, whatever the ending.

use std::future::Future;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::context::FinalizerContext;
use crate::job_error::JobError;
use crate::queueable::short_type_name;

/// Runs after the queueable it was attached to ends — successfully or with an unhandled
/// error or panic — in its own execution (Apex's `System.Finalizer`).
///
/// Attach one from `execute` with
/// [`QueueableContext::attach_finalizer`](crate::QueueableContext::attach_finalizer). The
/// finalizer's state is serialized when attached. It runs as a job record of type
/// `Finalizer` (an asyncapex extension that makes the run durable and visible), and may
/// enqueue one job — typically a retry. A job that keeps failing can be re-enqueued by its
/// finalizer at most 5 consecutive times (configurable in [`Limits`](crate::Limits)); the count
/// resets when the job succeeds.
///
/// Finalizers do not run for a job aborted with `abort_job`.
///
/// ```
/// use asyncapex::{Finalizer, FinalizerContext, JobError, ParentJobResult};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct LogOutcome;
///
/// impl Finalizer for LogOutcome {
///     async fn execute(&mut self, ctx: &mut FinalizerContext) -> Result<(), JobError> {
///         if ctx.result() == ParentJobResult::UnhandledException {
///             eprintln!("job {} failed: {:?}", ctx.async_apex_job_id(), ctx.error());
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait Finalizer: Serialize + DeserializeOwned + Send + 'static {
    /// The name this type is registered and stored under; defaults to the type's name.
    fn class_name() -> &'static str {
        short_type_name::<Self>()
    }

    /// Runs the finalizer.
    fn execute(
        &mut self,
        ctx: &mut FinalizerContext,
    ) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// How the parent job ended (Apex's `System.ParentJobResult`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ParentJobResult {
    /// `execute` returned `Ok`.
    Success,
    /// `execute` returned `Err`, panicked, or broke a limit.
    UnhandledException,
}

/// What a finalizer job record carries: the finalizer's own state plus its parent's ending.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FinalizerEnvelope {
    pub(crate) parent_job_id: asyncapex_core::JobId,
    pub(crate) result: ParentJobResult,
    pub(crate) error: Option<String>,
    pub(crate) finalizer: serde_json::Value,
}
