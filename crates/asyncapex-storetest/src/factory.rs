//! [`job_in`]: a job in any status, made through the store's own operations.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use asyncapex_core::batch::BatchScope;
use asyncapex_core::clock::add;
use asyncapex_core::{
    AbortOutcome, IdGenerator, JobAbortParams, JobClaimParams, JobInsertManyParams, JobOutcome,
    JobRecord, JobStatus, NewJob, Store,
};
use jiff::{SignedDuration, Timestamp};

use crate::job_cases::{finish, t0};

/// The lease holder of every job [`job_in`] puts in a running status (`Preparing` or
/// `Processing`).
pub const FACTORY_OWNER: &str = "storetest-factory";

/// When the leases [`job_in`] takes run out: a day after the suite's fixed instant, so no
/// case's rescue takes its running jobs unless it asks with a later `now`.
pub fn factory_lease_until() -> Timestamp {
    add(t0(), Duration::from_secs(86_400))
}

/// One generator for every factory job in the process, on a node number no case uses, so
/// factory IDs never collide with each other or with a case's own.
static IDS: LazyLock<IdGenerator> = LazyLock::new(|| IdGenerator::new(4_001));

/// How many factory jobs have been made in this process.
static MADE: AtomicU64 = AtomicU64::new(0);

/// A run time earlier than every factory job made before it (and a day before any case's
/// own jobs): the factory claims at exactly this instant, so the only job due then is the
/// one it just inserted, whatever else the store holds.
fn next_run_at() -> Timestamp {
    let n = MADE.fetch_add(1, Ordering::Relaxed);
    let back = SignedDuration::from_secs(86_400 + i64::try_from(n).unwrap_or(i64::MAX / 2));
    t0().checked_sub(back).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Puts a new job in `status` through the store's own operations, and returns it as stored:
///
/// - `Holding`: a batch job inserted into the flex queue (no cap);
/// - `Queued`: a queueable (3 attempts) inserted due at once;
/// - `Preparing`: a queued batch job claimed before its `start` ran;
/// - `Processing`: a queueable claimed;
/// - `Completed`, `Failed`: a claimed queueable finished that way;
/// - `Aborted`: a queued queueable aborted.
///
/// Running jobs are held by [`FACTORY_OWNER`] until [`factory_lease_until`], on attempt 1
/// of 3. Every factory job's run time lies before the suite's fixed instant `t0`, earlier
/// for each one made, so its claim takes it and nothing else, and a claim at `t0` or later
/// sees every factory job still queued.
///
/// # Panics
/// When the store refuses one of the operations, or does not leave the job in `status`:
/// either is a conformance failure.
pub async fn job_in(store: &dyn Store, status: JobStatus) -> JobRecord {
    let at = next_run_at();
    let id = IDS.job_id(at);
    let queueable =
        NewJob::queueable(id, "StoreTestJob", r#"{"factory":true}"#.into(), at).max_attempts(3);
    let scope = BatchScope::new(200).expect("a valid scope");
    let batch = NewJob::batch(id, "StoreTestBatch", "{}".into(), scope, at);
    let inserted = match status {
        JobStatus::Holding => batch,
        JobStatus::Preparing => NewJob {
            status: JobStatus::Queued,
            max_attempts: 3,
            ..batch
        },
        _ => queueable,
    };
    store
        .job_insert_many(JobInsertManyParams::new(vec![inserted]))
        .await
        .unwrap_or_else(|e| panic!("factory insert for {status}: {e}"));
    if status.is_running() || matches!(status, JobStatus::Completed | JobStatus::Failed) {
        let claimed = store
            .job_claim(JobClaimParams {
                owner: FACTORY_OWNER.into(),
                now: at,
                lease_until: factory_lease_until(),
                queues: asyncapex_core::QueueClaim::default_queue(1),
            })
            .await
            .unwrap_or_else(|e| panic!("factory claim for {status}: {e}"));
        let claimed: Vec<_> = claimed.iter().map(|j| j.id).collect();
        assert_eq!(
            claimed,
            vec![id],
            "the factory's claim at {at} must take only its own job"
        );
    }
    let ending = match status {
        JobStatus::Completed => Some(JobOutcome::Completed),
        JobStatus::Failed => Some(JobOutcome::Failed {
            message: "failed by the factory".into(),
        }),
        _ => None,
    };
    if let Some(outcome) = ending {
        let ended = store
            .job_finish(finish(id, FACTORY_OWNER, at, outcome))
            .await
            .unwrap_or_else(|e| panic!("factory finish for {status}: {e}"));
        assert!(ended, "the factory's finish for {status} must end its job");
    }
    if status == JobStatus::Aborted {
        let outcome = store
            .job_abort(JobAbortParams { id, now: at })
            .await
            .unwrap_or_else(|e| panic!("factory abort: {e}"));
        assert_eq!(outcome, AbortOutcome::Aborted);
    }
    let job = store
        .job_get(id)
        .await
        .unwrap_or_else(|e| panic!("factory get for {status}: {e}"))
        .unwrap_or_else(|| panic!("the factory's {status} job is gone"));
    assert_eq!(
        job.status, status,
        "the factory's job is in the status asked"
    );
    job
}

/// The factory makes a job in every status, and each is as the status says: a lease exactly
/// while running, a completion time exactly when terminal.
pub(crate) async fn the_factory_puts_a_job_in_every_status(store: &dyn Store) {
    let mut made = Vec::new();
    for status in JobStatus::ALL {
        let job = job_in(store, status).await;
        assert_eq!(job.status, status);
        assert_eq!(
            job.lease_owner.as_deref(),
            status.is_running().then_some(FACTORY_OWNER),
            "{status}"
        );
        assert_eq!(job.completed_at.is_some(), status.is_terminal(), "{status}");
        assert_eq!(
            job.attempt,
            u32::from(
                status.is_running()
                    || status == JobStatus::Completed
                    || status == JobStatus::Failed
            ),
            "{status}"
        );
        made.push(job);
    }
    // Making more leaves the earlier ones as they were.
    for job in &made {
        let again = store.job_get(job.id).await.expect("get").expect("exists");
        assert_eq!(&again, job);
    }
}
