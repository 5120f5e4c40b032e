//! Governor limits: per-execution quotas in the spirit of Apex's `Limits` class.
//!
//! The defaults are Apex's numbers. [`Limits::unlimited`] lifts them all, and each field can be
//! overridden on its own.
//!
//! ```
//! use asyncapex_core::Limits;
//!
//! let limits = Limits { queueable_jobs_async: 2, ..Limits::default() };
//! assert_eq!(limits.queueable_jobs_sync, 50);
//! ```

/// Per-execution quotas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Queueable jobs one synchronous context may enqueue (Apex: 50). A synchronous context is
    /// code outside any job: an [`EnqueueTransaction`](../asyncapex/struct.EnqueueTransaction.html)
    /// or a scheduled job's execution.
    pub queueable_jobs_sync: u32,
    /// Queueable jobs one asynchronous execution may enqueue (Apex: 1, so a chain never fans
    /// out). Applies inside queueables and finalizers.
    pub queueable_jobs_async: u32,
    /// Consecutive times a finalizer may re-enqueue a job that keeps failing (Apex: 5).
    pub finalizer_failure_reenqueues: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            queueable_jobs_sync: 50,
            queueable_jobs_async: 1,
            finalizer_failure_reenqueues: 5,
        }
    }
}

impl Limits {
    /// Apex's limits (the default).
    pub fn apex() -> Limits {
        Limits::default()
    }

    /// No limits at all: for trusted workloads that need fan-out or long retry loops.
    pub fn unlimited() -> Limits {
        Limits {
            queueable_jobs_sync: u32::MAX,
            queueable_jobs_async: u32::MAX,
            finalizer_failure_reenqueues: u32::MAX,
        }
    }
}
