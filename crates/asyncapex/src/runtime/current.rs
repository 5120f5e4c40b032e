//! Which kind of execution the running code is in (Apex's `System.isBatch()`,
//! `isFuture()`, `isQueueable()`, `isScheduled()`), for helper code shared between contexts
//! that must not, say, call a future from a batch.
//!
//! The engine sets it around every execution it isolates (the same seam that catches panics
//! and applies the time limit), as a task-local value: it is seen by the job's own code and
//! everything that code awaits, not by a task the code spawns with `tokio::spawn`.

use asyncapex_core::BatchPhase;

use super::limits::ContextKind;

/// The kind of execution code runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExecutionKind {
    /// A queueable's `execute`.
    Queueable,
    /// A transaction finalizer, run after its queueable ended.
    Finalizer,
    /// A future method.
    Future,
    /// A schedulable's `execute`, as its schedule fires.
    Scheduled,
    /// A batch's `start`, `execute` or `finish`.
    Batch(BatchPhase),
}

impl ExecutionKind {
    fn of(kind: ContextKind) -> Option<ExecutionKind> {
        Some(match kind {
            ContextKind::Sync => return None,
            ContextKind::Queueable => ExecutionKind::Queueable,
            ContextKind::Finalizer { .. } => ExecutionKind::Finalizer,
            ContextKind::Future => ExecutionKind::Future,
            ContextKind::Scheduled => ExecutionKind::Scheduled,
            ContextKind::Batch(phase) => ExecutionKind::Batch(phase),
        })
    }
}

tokio::task_local! {
    static CURRENT: ExecutionKind;
}

/// Runs `work` as an execution of `kind` (code outside any job stays outside).
pub(crate) async fn scoped<F: std::future::Future>(kind: ContextKind, work: F) -> F::Output {
    match ExecutionKind::of(kind) {
        Some(kind) => CURRENT.scope(kind, work).await,
        None => work.await,
    }
}

/// The kind of execution the calling code runs in, or `None` outside any job (in a request
/// handler, in `main`, in a task the job spawned).
///
/// ```
/// use asyncapex::system::{self, ExecutionKind};
/// // Outside any job:
/// assert_eq!(system::current(), None);
/// assert!(!system::is_batch() && !system::is_future());
/// # let _ = ExecutionKind::Queueable;
/// ```
pub fn current() -> Option<ExecutionKind> {
    CURRENT.try_with(|kind| *kind).ok()
}

/// Whether the calling code runs in a batch's `start`, `execute` or `finish` (Apex's
/// `System.isBatch()`).
pub fn is_batch() -> bool {
    matches!(current(), Some(ExecutionKind::Batch(_)))
}

/// Whether the calling code runs in a future method (Apex's `System.isFuture()`).
pub fn is_future() -> bool {
    current() == Some(ExecutionKind::Future)
}

/// Whether the calling code runs in a queueable's `execute` (Apex's `System.isQueueable()`:
/// false in a batch, a future, a schedulable and a finalizer).
pub fn is_queueable() -> bool {
    current() == Some(ExecutionKind::Queueable)
}

/// Whether the calling code runs in a schedulable's `execute` (Apex's
/// `System.isScheduled()`).
pub fn is_scheduled() -> bool {
    current() == Some(ExecutionKind::Scheduled)
}
