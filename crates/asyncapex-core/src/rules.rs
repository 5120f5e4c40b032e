//! The rules every store applies the same way: the flex-queue and schedule caps and their
//! messages, how an abort and a rescue decide what to do with a job, and the canonical list
//! of schema migrations.
//!
//! Each store owns its SQL, but the decisions behind it live here, once: a store reads what
//! it needs (a count, a status, an attempt number), asks the function here, and runs the
//! guarded query for the answer. A message or a rule therefore cannot drift between stores;
//! the conformance suite in `asyncapex-storetest` checks that both stores' answers agree
//! with these functions.
//!
//! ```
//! use asyncapex_core::rules::{self, AbortStep, RescueStep};
//! use asyncapex_core::JobStatus;
//!
//! assert!(rules::ensure_flex_queue_room(100, 99, 1).is_ok());
//! assert!(rules::ensure_flex_queue_room(100, 100, 1).is_err());
//! assert_eq!(rules::abort_decision(Some(JobStatus::Queued)), AbortStep::AbortWaiting);
//! assert_eq!(rules::rescue_decision(3, 3, false), RescueStep::Fail);
//! ```

use crate::error::{Error, Result};
use crate::limits::LimitName;
use crate::status::JobStatus;
use crate::store::AbortOutcome;

/// The error for a flex queue that cannot take `adding` more batch jobs: `holding` are
/// already there and at most `max` may be.
pub fn flex_queue_full(max: u32, holding: u64, adding: u64) -> Error {
    Error::LimitExceeded {
        limit: LimitName::FlexQueue,
        used: holding.saturating_add(adding),
        max: u64::from(max),
        message: format!(
            "you've exceeded the limit of {max} jobs in the flex queue: {holding} are holding; wait for some batch jobs to finish before adding more"
        ),
    }
}

/// The flex-queue cap (Apex: 100 holding batch jobs): `adding` more may join the `holding`
/// ones only if the total stays within `max`.
///
/// # Errors
/// [`Error::LimitExceeded`] with [`LimitName::FlexQueue`] ([`flex_queue_full`]) otherwise.
pub fn ensure_flex_queue_room(max: u32, holding: u64, adding: u64) -> Result<()> {
    if holding.saturating_add(adding) > u64::from(max) {
        return Err(flex_queue_full(max, holding, adding));
    }
    Ok(())
}

/// The error for a schedule that cannot be added: `active` schedules already exist and at
/// most `max` may.
pub fn schedule_cap_reached(max: u32, active: u64) -> Error {
    Error::LimitExceeded {
        limit: LimitName::ScheduledJobs,
        used: active.saturating_add(1),
        max: u64::from(max),
        message: format!(
            "you have exceeded the maximum number of scheduled jobs ({max}): {active} are already scheduled"
        ),
    }
}

/// The schedule cap (Apex: 100 active schedules): one more may be added while fewer than
/// `max` are active.
///
/// # Errors
/// [`Error::LimitExceeded`] with [`LimitName::ScheduledJobs`] ([`schedule_cap_reached`])
/// otherwise.
pub fn ensure_schedule_room(max: u32, active: u64) -> Result<()> {
    if active >= u64::from(max) {
        return Err(schedule_cap_reached(max, active));
    }
    Ok(())
}

/// What `job_abort` does with a job, decided from its status ([`abort_decision`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbortStep {
    /// It is waiting (`Holding` or `Queued`): end it `Aborted` at once, guarded by its
    /// status still being a waiting one; answer [`AbortOutcome::Aborted`].
    AbortWaiting,
    /// It is running (`Preparing` or `Processing`): set its abort request, guarded by its
    /// status still being a running one; answer [`AbortOutcome::AbortRequested`]. Its
    /// worker (or the rescuer) ends it `Aborted`.
    RequestAbort,
    /// Nothing to change; answer this outcome ([`AbortOutcome::AlreadyFinished`] or
    /// [`AbortOutcome::NotFound`]).
    Answer(AbortOutcome),
}

/// How `job_abort` treats a job whose status is `status` (`None`: no such job).
///
/// A store reads the status, runs the guarded query for the step, and when that query
/// changes nothing (the job moved on between the read and the write) reads again and asks
/// again; [`ABORT_ROUNDS`] bounds how often.
pub const fn abort_decision(status: Option<JobStatus>) -> AbortStep {
    match status {
        None => AbortStep::Answer(AbortOutcome::NotFound),
        Some(s) if s.is_waiting() => AbortStep::AbortWaiting,
        Some(s) if s.is_running() => AbortStep::RequestAbort,
        Some(s) => AbortStep::Answer(AbortOutcome::AlreadyFinished(s)),
    }
}

/// How many times a store reads a job's status and tries its abort step before giving up.
/// Statuses only move forward except for a requeue, so a job that keeps moving faster than
/// it can be aborted is a store fault, not a race to wait out.
pub const ABORT_ROUNDS: usize = JobStatus::ALL.len();

/// The error a store returns when a job's status changed under every one of its
/// [`ABORT_ROUNDS`] abort attempts.
pub fn abort_kept_moving(id: &str) -> Error {
    Error::store(
        crate::error::StoreErrorKind::Other,
        format!(
            "job {id} changed status under each of {ABORT_ROUNDS} abort attempts; nothing was aborted"
        ),
    )
}

/// `extended_status` of a waiting job that `job_abort` ended (unless it already had one).
pub const ABORTED_BEFORE_START: &str = "aborted before it started";

/// What the rescuer does with a running job whose lease expired ([`rescue_decision`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RescueStep {
    /// It was asked to abort: it ends `Aborted` ([`RESCUED_ABORTED`]).
    Abort,
    /// It has used all its attempts: it ends `Failed` ([`rescued_failed`]).
    Fail,
    /// It has attempts left: it goes back to `Queued`, due at once.
    Requeue,
}

/// What the rescuer does with a lost job on its `attempt`th claim of `max_attempts`: an
/// abort request wins over everything (the job must not run again), then the attempt limit
/// over a requeue.
pub const fn rescue_decision(attempt: u32, max_attempts: u32, abort_requested: bool) -> RescueStep {
    if abort_requested {
        RescueStep::Abort
    } else if attempt >= max_attempts {
        RescueStep::Fail
    } else {
        RescueStep::Requeue
    }
}

/// `extended_status` of a lost job that had been asked to abort (unless it already had one).
pub const RESCUED_ABORTED: &str = "aborted while running; its worker stopped heartbeating";

/// The error of an attempt the rescuer re-queued: its worker died (or lost the store)
/// while it ran.
pub const RESCUED_REQUEUED: &str =
    "its worker stopped heartbeating (crashed or lost the store); re-queued for another attempt";

/// `extended_status` of a lost job that used its last attempt (unless it already had one).
pub fn rescued_failed(attempt: u32, max_attempts: u32) -> String {
    format!(
        "the worker running it stopped heartbeating (crashed or lost the store) on attempt {attempt} of {max_attempts}; not retried"
    )
}

/// Every schema migration, oldest first: (version, name). Each store keeps its own SQL for
/// each one (`migrations/NNNN_name.sql`), and a test in each store checks that its list is
/// exactly this one, so both stores reach the same logical version.
pub const MIGRATIONS: &[(u32, &str)] = &[
    (1, "create_jobs"),
    (2, "job_created_index"),
    (3, "create_cron_triggers"),
    (4, "batches"),
    (5, "node_heartbeats"),
    (6, "job_counts"),
    (7, "job_window_counts"),
    (8, "node_roles"),
    (9, "job_links"),
    (10, "job_attempts"),
    (11, "sensitive_fields"),
    (12, "durable_finalizers"),
    (13, "job_trace_context"),
    (14, "queues"),
];

/// Checks that an operator may retry `job`: it failed or was aborted, and it is not a
/// finalizer's record.
///
/// # Errors
/// [`Error::WrongStatus`] for any other status; [`Error::NotAllowed`] for a finalizer.
pub fn check_retryable(job: &crate::JobRecord) -> Result<(), Error> {
    if !matches!(job.status, JobStatus::Failed | JobStatus::Aborted) {
        return Err(Error::WrongStatus {
            id: job.id.to_string(),
            status: job.status,
            rule: "only a Failed or Aborted job can be retried",
        });
    }
    if job.job_type == crate::JobType::Finalizer {
        return Err(Error::NotAllowed {
            rule: format!(
                "job {} is a finalizer's record; a finalizer runs with its job, so retry job {} instead",
                job.id,
                job.parent_job_id
                    .map_or_else(|| "its parent".to_owned(), |p| p.to_string())
            ),
        });
    }
    Ok(())
}

/// Checks that an operator may delete `job`'s record: it has finished.
///
/// # Errors
/// [`Error::WrongStatus`] for a job that is waiting or running (abort it first).
pub fn check_deletable(job: &crate::JobRecord) -> Result<(), Error> {
    if !job.status.is_terminal() {
        return Err(Error::WrongStatus {
            id: job.id.to_string(),
            status: job.status,
            rule: "only a finished (Completed, Failed or Aborted) job's record can be deleted; abort it first",
        });
    }
    Ok(())
}

/// Checks that a purge names only terminal statuses: waiting and running jobs are never
/// purged.
///
/// ```
/// use asyncapex_core::{JobStatus, rules::check_purge_statuses};
/// assert!(check_purge_statuses(&[JobStatus::Completed, JobStatus::Failed]).is_ok());
/// assert!(check_purge_statuses(&[JobStatus::Queued]).is_err());
/// assert!(check_purge_statuses(&[]).is_err());
/// ```
///
/// # Errors
/// [`Error::InvalidInput`] naming the first status that is not terminal, or an empty list.
pub fn check_purge_statuses(statuses: &[JobStatus]) -> Result<(), Error> {
    if statuses.is_empty() {
        return Err(Error::InvalidInput {
            what: "purge statuses",
            input: String::new(),
            rule: "name at least one of Completed, Failed, Aborted",
        });
    }
    match statuses.iter().find(|s| !s.is_terminal()) {
        Some(s) => Err(Error::InvalidInput {
            what: "purge status",
            input: s.to_string(),
            rule: "only finished jobs (Completed, Failed, Aborted) are purged",
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_flex_queue_takes_jobs_up_to_its_cap_and_names_it_when_full() {
        assert!(ensure_flex_queue_room(3, 0, 3).is_ok());
        assert!(ensure_flex_queue_room(3, 2, 1).is_ok());
        let err = ensure_flex_queue_room(3, 2, 2).unwrap_err();
        assert_eq!(err, flex_queue_full(3, 2, 2));
        let Error::LimitExceeded {
            limit,
            used,
            max,
            message,
        } = err
        else {
            panic!("not a limit error: {err:?}");
        };
        assert_eq!((limit, used, max), (LimitName::FlexQueue, 4, 3));
        assert!(
            message.contains("limit of 3 jobs in the flex queue: 2 are holding"),
            "{message}"
        );
    }

    #[test]
    fn a_schedule_is_refused_once_the_cap_is_reached() {
        assert!(ensure_schedule_room(2, 1).is_ok());
        let err = ensure_schedule_room(2, 2).unwrap_err();
        let Error::LimitExceeded {
            limit, used, max, ..
        } = &err
        else {
            panic!("not a limit error: {err:?}");
        };
        assert_eq!((*limit, *used, *max), (LimitName::ScheduledJobs, 3, 2));
        assert!(
            err.to_string()
                .contains("maximum number of scheduled jobs (2): 2 are already scheduled"),
            "{err}"
        );
        assert!(
            ensure_schedule_room(0, 0).is_err(),
            "a cap of 0 admits none"
        );
    }

    #[test]
    fn abort_decides_from_the_status_alone() {
        assert_eq!(
            abort_decision(None),
            AbortStep::Answer(AbortOutcome::NotFound)
        );
        for status in JobStatus::ALL {
            let step = abort_decision(Some(status));
            let expected = if status.is_waiting() {
                AbortStep::AbortWaiting
            } else if status.is_running() {
                AbortStep::RequestAbort
            } else {
                AbortStep::Answer(AbortOutcome::AlreadyFinished(status))
            };
            assert_eq!(step, expected, "{status}");
        }
    }

    #[test]
    fn an_abort_ends_a_waiting_job_by_a_legal_move() {
        for status in JobStatus::ALL {
            if abort_decision(Some(status)) == AbortStep::AbortWaiting {
                assert!(status.can_become(JobStatus::Aborted), "{status}");
            }
        }
    }

    #[test]
    fn rescue_puts_abort_before_the_attempt_limit_before_a_requeue() {
        assert_eq!(rescue_decision(1, 3, true), RescueStep::Abort);
        assert_eq!(rescue_decision(3, 3, true), RescueStep::Abort);
        assert_eq!(rescue_decision(3, 3, false), RescueStep::Fail);
        assert_eq!(rescue_decision(4, 3, false), RescueStep::Fail);
        assert_eq!(rescue_decision(2, 3, false), RescueStep::Requeue);
        assert_eq!(rescue_decision(0, 1, false), RescueStep::Requeue);
    }

    #[test]
    fn the_migration_list_is_numbered_from_one_without_gaps() {
        for (i, (version, name)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*version as usize, i + 1, "{name}");
            assert!(!name.is_empty() && !name.contains(' '), "{name:?}");
        }
    }
}
