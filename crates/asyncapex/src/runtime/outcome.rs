//! The one mapping from how user code ended to how its execution ends — used by queueables,
//! futures, finalizers, schedulables and every batch phase alike.
//!
//! An abort wins; then a broken governor limit (it cannot be caught, as Apex's
//! `LimitException`); then the code's own result, a panic or the time limit.

use asyncapex_core::JobOutcome;

use super::context::ExecShared;
use super::isolation::Ended;

/// Why an execution failed: its message (the job's `extended_status`) and the kind of error
/// (a batch error event's `ExceptionType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) message: String,
    pub(crate) exception_type: &'static str,
    /// Whether a retry policy must not retry it: a broken governor limit, or an error the
    /// job's code marked permanent.
    pub(crate) permanent: bool,
}

/// How an execution ends.
pub(crate) enum Settled<T> {
    /// It succeeded with this value.
    Succeeded(T),
    /// It failed.
    Failed(Failure),
    /// `abort_job` asked it to stop.
    Aborted,
}

/// The mapping itself.
pub(crate) fn settle<T>(ended: Ended<T>, shared: &ExecShared) -> Settled<T> {
    if shared.is_abort_requested() {
        return Settled::Aborted;
    }
    if let Some(v) = shared.lock().violation.clone() {
        return Settled::Failed(Failure {
            message: v.to_string(),
            exception_type: "LimitException",
            permanent: true,
        });
    }
    match ended {
        Ended::Returned(Ok(v)) => Settled::Succeeded(v),
        Ended::Returned(Err(e)) => Settled::Failed(Failure {
            message: e.message().to_owned(),
            exception_type: "JobError",
            permanent: e.is_permanent(),
        }),
        Ended::Panicked(m) => Settled::Failed(Failure {
            message: format!("panicked: {m}"),
            exception_type: "Panic",
            permanent: false,
        }),
        Ended::TimedOut(limit) => Settled::Failed(Failure {
            message: format!(
                "execution time limit exceeded: the job ran longer than {limit:?} and was stopped"
            ),
            exception_type: "TimeLimit",
            permanent: false,
        }),
    }
}

impl<T> Settled<T> {
    /// The job record's ending for this settlement.
    pub(crate) fn job_outcome(&self) -> JobOutcome {
        match self {
            Settled::Succeeded(_) => JobOutcome::Completed,
            Settled::Failed(f) => JobOutcome::Failed {
                message: f.message.clone(),
            },
            Settled::Aborted => JobOutcome::Aborted {
                message: "aborted while running".into(),
            },
        }
    }
}

/// How the parent job ended (Apex's `System.ParentJobResult`), as its finalizer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ParentJobResult {
    /// `execute` returned `Ok`.
    Success,
    /// `execute` returned `Err`, panicked, or broke a limit.
    UnhandledException,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use asyncapex_core::{Error, JobOutcome, LimitName};

    use super::{Settled, settle};
    use crate::runtime::context::ExecShared;
    use crate::runtime::isolation::Ended;
    use crate::runtime::job_error::JobError;

    fn failed(settled: Settled<()>) -> (String, &'static str) {
        match settled {
            Settled::Failed(f) => (f.message, f.exception_type),
            Settled::Succeeded(()) => panic!("expected a failure, got a success"),
            Settled::Aborted => panic!("expected a failure, got an abort"),
        }
    }

    #[test]
    fn an_abort_wins_over_everything() {
        let shared = ExecShared::default();
        shared.lock().violation = Some(Error::NotAllowed { rule: "x".into() });
        shared.request_abort();
        let settled = settle(Ended::<()>::Returned(Ok(())), &shared);
        assert!(matches!(settled, Settled::Aborted));
        assert!(matches!(settled.job_outcome(), JobOutcome::Aborted { .. }));
    }

    #[test]
    fn a_broken_limit_fails_even_a_returned_ok() {
        let shared = ExecShared::default();
        shared.lock().violation = Some(Error::LimitExceeded {
            limit: LimitName::QueueableJobs,
            used: 2,
            max: 1,
            message: "too many queueable jobs added to the queue: 2".into(),
        });
        let (message, kind) = failed(settle(Ended::Returned(Ok(())), &shared));
        assert_eq!(kind, "LimitException");
        assert!(message.contains("too many queueable jobs"));
    }

    #[test]
    fn errors_panics_and_time_limits_each_name_what_happened() {
        let shared = ExecShared::default();
        let (m, k) = failed(settle(
            Ended::Returned(Err(JobError::new("no owner"))),
            &shared,
        ));
        assert_eq!((m.as_str(), k), ("no owner", "JobError"));
        let (m, k) = failed(settle(Ended::Panicked("boom".into()), &shared));
        assert_eq!((m.as_str(), k), ("panicked: boom", "Panic"));
        let (m, k) = failed(settle(Ended::TimedOut(Duration::from_secs(5)), &shared));
        assert_eq!(k, "TimeLimit");
        assert!(m.starts_with("execution time limit exceeded: the job ran longer than 5s"));
    }
}
