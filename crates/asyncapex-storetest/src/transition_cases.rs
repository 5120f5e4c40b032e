//! Conformance cases of the status machine: every status-changing operation, applied to a job
//! in every status, moves jobs only as [`JobStatus::can_become`] allows, and the stores'
//! abort, rescue and cap answers are the ones `asyncapex_core::rules` gives.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use asyncapex_core::batch::BatchScope;
use asyncapex_core::clock::add;
use asyncapex_core::rules::{self, AbortStep, RescueStep};
use asyncapex_core::{
    AbortOutcome, BatchPromoteParams, BatchStartCompleteParams, CronTriggerInsertParams, Error,
    IdGenerator, JobAbortParams, JobClaimParams, JobCompleteManyParams, JobHeartbeatParams, JobId,
    JobInsertManyParams, JobListParams, JobOutcome, JobRecord, JobReleaseParams, JobRescueParams,
    JobStatus, JobType, NewCronTrigger, NewJob, Store,
};

use crate::factory::{FACTORY_OWNER, factory_lease_until, job_in};
use crate::job_cases::{LEASE, finish, secs, t0};

/// A status-changing store operation, as the case applies it.
#[derive(Debug, Clone)]
enum Op {
    /// `job_claim` at `t0`, taking everything due.
    Claim,
    /// `job_finish` by the factory's lease holder.
    Finish(JobOutcome),
    /// `job_complete_many` by the factory's lease holder.
    CompleteMany,
    /// `job_abort`.
    Abort,
    /// `job_heartbeat` by the factory's lease holder.
    Heartbeat,
    /// `job_release` by the factory's lease holder.
    Release,
    /// `batch_start_complete` by the factory's lease holder.
    StartComplete,
    /// `job_rescue` after every factory lease has expired.
    Rescue,
    /// `batch_promote` with no cap.
    Promote,
}

impl Op {
    /// Whether the operation names one job (and says whether it changed it), rather than
    /// sweeping every job it finds.
    fn targets_one_job(&self) -> bool {
        !matches!(self, Op::Claim | Op::Rescue | Op::Promote)
    }
}

/// Every job in the store, by ID.
async fn snapshot(store: &dyn Store) -> BTreeMap<JobId, JobRecord> {
    store
        .job_list(JobListParams {
            limit: 100_000,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_iter()
        .map(|j| (j.id, j))
        .collect()
}

/// Applies a one-job operation to `id`; returns whether the store says it changed the job.
async fn apply_to(store: &dyn Store, op: &Op, id: JobId) -> bool {
    let now = add(t0(), secs(1));
    match op {
        Op::Finish(outcome) => store
            .job_finish(finish(id, FACTORY_OWNER, now, outcome.clone()))
            .await
            .expect("finish"),
        Op::CompleteMany => store
            .job_complete_many(JobCompleteManyParams {
                ids: vec![id],
                owner: FACTORY_OWNER.into(),
                now,
            })
            .await
            .expect("complete many")
            .contains(&id),
        Op::Abort => matches!(
            store
                .job_abort(JobAbortParams { id, now })
                .await
                .expect("abort"),
            AbortOutcome::Aborted | AbortOutcome::AbortRequested
        ),
        Op::Heartbeat => store
            .job_heartbeat(JobHeartbeatParams {
                owner: FACTORY_OWNER.into(),
                ids: vec![id],
                lease_until: add(factory_lease_until(), secs(1)),
            })
            .await
            .expect("heartbeat")
            .iter()
            .any(|ack| ack.id == id),
        Op::Release => {
            store
                .job_release(JobReleaseParams {
                    owner: FACTORY_OWNER.into(),
                    ids: vec![id],
                })
                .await
                .expect("release")
                == 1
        }
        Op::StartComplete => store
            .batch_start_complete(BatchStartCompleteParams {
                job_id: id,
                owner: FACTORY_OWNER.into(),
                total_chunks: 0,
                state: "{}".into(),
                insert: Vec::new(),
            })
            .await
            .expect("start complete"),
        Op::Claim | Op::Rescue | Op::Promote => unreachable!("{op:?} sweeps; it names no job"),
    }
}

/// Applies a sweeping operation once.
async fn apply_sweep(store: &dyn Store, op: &Op) {
    match op {
        Op::Claim => {
            store
                .job_claim(JobClaimParams {
                    owner: "claimer".into(),
                    now: t0(),
                    lease_until: add(t0(), LEASE),
                    queues: asyncapex_core::QueueClaim::default_queue(100_000),
                })
                .await
                .expect("claim");
        }
        Op::Rescue => {
            store
                .job_rescue(JobRescueParams {
                    now: add(factory_lease_until(), secs(10)),
                    exclude_owner: None,
                })
                .await
                .expect("rescue");
        }
        Op::Promote => {
            store
                .batch_promote(BatchPromoteParams {
                    now: t0(),
                    max_active: u32::MAX,
                })
                .await
                .expect("promote");
        }
        _ => unreachable!("{op:?} names one job"),
    }
}

/// Checks every difference between two snapshots: a status change must be a legal move, and
/// a row whose status stayed put may change only when `may_touch` allows it (an abort
/// request or a lease renewal). Returns the moves seen.
fn moves_between(
    op: &Op,
    before: &BTreeMap<JobId, JobRecord>,
    after: &BTreeMap<JobId, JobRecord>,
    may_touch: Option<JobId>,
) -> Vec<(JobStatus, JobStatus)> {
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "{op:?} must neither insert nor delete jobs"
    );
    let mut moves = Vec::new();
    for (id, was) in before {
        let now = &after[id];
        if was.status != now.status {
            assert!(
                was.status.can_become(now.status),
                "{op:?} moved job {id} from {} to {}, which JobStatus::can_become forbids",
                was.status,
                now.status
            );
            moves.push((was.status, now.status));
        } else if may_touch != Some(*id) {
            assert_eq!(was, now, "{op:?} changed job {id} without moving it");
        }
    }
    moves
}

/// Every status-changing operation (claim, finish with each outcome, complete-many, abort,
/// heartbeat, release, start-complete, rescue of an expired lease, promote), applied to a
/// job in every status, moves jobs only as the status machine allows; a refused operation
/// changes nothing at all; and between them the operations make every legal move.
pub(crate) async fn every_status_change_is_one_the_status_machine_allows(store: &dyn Store) {
    let ops = [
        Op::Claim,
        Op::Finish(JobOutcome::Completed),
        Op::Finish(JobOutcome::Failed {
            message: "failed by the case".into(),
        }),
        Op::Finish(JobOutcome::Aborted {
            message: "aborted by the case".into(),
        }),
        Op::CompleteMany,
        Op::Abort,
        Op::Heartbeat,
        Op::Release,
        Op::StartComplete,
        Op::Rescue,
        Op::Promote,
    ];
    let ids = IdGenerator::new(1);
    let mut seen = BTreeSet::new();
    for op in &ops {
        let mut jobs = Vec::new();
        for status in JobStatus::ALL {
            jobs.push(job_in(store, status).await);
        }
        if matches!(op, Op::Claim) {
            // A queued batch whose start has not run is claimed into Preparing.
            let scope = BatchScope::new(10).expect("scope");
            let batch = NewJob {
                status: JobStatus::Queued,
                ..NewJob::batch(ids.job_id(t0()), "Reindex", "{}".into(), scope, t0())
            };
            store
                .job_insert_many(JobInsertManyParams::new(vec![batch]))
                .await
                .expect("insert a queued batch");
        }
        if op.targets_one_job() {
            for job in &jobs {
                let before = snapshot(store).await;
                let changed = apply_to(store, op, job.id).await;
                let after = snapshot(store).await;
                let touched = changed.then_some(job.id);
                let moves = moves_between(op, &before, &after, touched);
                let moved = !moves.is_empty();
                assert!(
                    !moved || changed,
                    "{op:?} on a {} job moved it but said it changed nothing",
                    job.status
                );
                if let (Op::Finish(outcome), true) = (op, changed) {
                    assert_eq!(after[&job.id].status, outcome.status(), "{op:?}");
                }
                seen.extend(moves);
            }
        } else {
            let before = snapshot(store).await;
            apply_sweep(store, op).await;
            let after = snapshot(store).await;
            seen.extend(moves_between(op, &before, &after, None));
        }
    }
    let legal: BTreeSet<(JobStatus, JobStatus)> = JobStatus::ALL
        .into_iter()
        .flat_map(|from| JobStatus::ALL.into_iter().map(move |to| (from, to)))
        .filter(|(from, to)| from.can_become(*to))
        .collect();
    let unseen: Vec<_> = legal.difference(&seen).collect();
    assert!(
        unseen.is_empty(),
        "no operation made these legal moves: {unseen:?}"
    );
}

/// The stores answer as `asyncapex_core::rules` decides: an abort's outcome for every
/// status, a rescue's fate and message for every mix of attempts and abort requests, and
/// the flex-queue and schedule caps' errors.
pub(crate) async fn rules_decide_the_stores_abort_and_rescue(store: &dyn Store) {
    for status in JobStatus::ALL {
        let job = job_in(store, status).await;
        let expected = match rules::abort_decision(Some(status)) {
            AbortStep::AbortWaiting => AbortOutcome::Aborted,
            AbortStep::RequestAbort => AbortOutcome::AbortRequested,
            AbortStep::Answer(outcome) => outcome,
        };
        let got = store
            .job_abort(JobAbortParams {
                id: job.id,
                now: t0(),
            })
            .await
            .expect("abort");
        assert_eq!(got, expected, "abort of a {status} job");
        if expected == AbortOutcome::Aborted {
            let ended = store.job_get(job.id).await.expect("get").expect("job");
            assert_eq!(
                ended.extended_status.as_deref(),
                Some(rules::ABORTED_BEFORE_START)
            );
        }
    }
    let ids = IdGenerator::new(1);
    let unknown = ids.job_id(t0());
    let expected = match rules::abort_decision(None) {
        AbortStep::Answer(outcome) => outcome,
        step => panic!("an unknown job must be answered, not {step:?}"),
    };
    assert_eq!(
        store
            .job_abort(JobAbortParams {
                id: unknown,
                now: t0(),
            })
            .await
            .expect("abort unknown"),
        expected
    );

    // Lost jobs: attempts left or not, abort requested or not.
    let mut lost = Vec::new();
    for (max_attempts, abort_requested) in [(2, false), (1, false), (2, true), (1, true)] {
        let j = NewJob::queueable(ids.job_id(t0()), "Lost", "{}".into(), t0())
            .max_attempts(max_attempts);
        store
            .job_insert_many(JobInsertManyParams::new(vec![j.clone()]))
            .await
            .expect("insert");
        let claimed = store
            .job_claim(JobClaimParams {
                owner: "lost".into(),
                now: t0(),
                lease_until: add(t0(), LEASE),
                queues: asyncapex_core::QueueClaim::default_queue(1),
            })
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 1);
        if abort_requested {
            store
                .job_abort(JobAbortParams {
                    id: j.id,
                    now: t0(),
                })
                .await
                .expect("abort");
        }
        lost.push((j.id, 1, max_attempts, abort_requested));
    }
    let out = store
        .job_rescue(JobRescueParams {
            now: add(t0(), secs(60)),
            exclude_owner: Some(FACTORY_OWNER.into()),
        })
        .await
        .expect("rescue");
    for (id, attempt, max_attempts, abort_requested) in lost {
        let step = rules::rescue_decision(attempt, max_attempts, abort_requested);
        let (listed, status, message) = match step {
            RescueStep::Abort => (
                &out.aborted,
                JobStatus::Aborted,
                Some(rules::RESCUED_ABORTED.to_owned()),
            ),
            RescueStep::Fail => (
                &out.failed,
                JobStatus::Failed,
                Some(rules::rescued_failed(attempt, max_attempts)),
            ),
            RescueStep::Requeue => (&out.requeued, JobStatus::Queued, None),
        };
        assert!(listed.contains(&id), "{step:?} for {id}: {out:?}");
        let job = store.job_get(id).await.expect("get").expect("job");
        assert_eq!(job.status, status, "{step:?}");
        assert_eq!(job.extended_status, message, "{step:?}");
    }
    assert_eq!(
        out.aborted.len() + out.failed.len() + out.requeued.len(),
        4,
        "{out:?}"
    );

    // The caps refuse with the rules' own errors.
    let scope = BatchScope::new(10).expect("scope");
    let holding = |n: usize| -> Vec<NewJob> {
        (0..n)
            .map(|_| NewJob::batch(ids.job_id(t0()), "Capped", "{}".into(), scope, t0()))
            .collect()
    };
    let already = store.flex_queue_list().await.expect("flex list").len() as u64;
    let max = u32::try_from(already + 2).expect("small");
    store
        .job_insert_many(JobInsertManyParams {
            jobs: holding(1),
            max_holding: max,
        })
        .await
        .expect("room for one");
    let err = store
        .job_insert_many(JobInsertManyParams {
            jobs: holding(2),
            max_holding: max,
        })
        .await
        .expect_err("no room for two");
    assert_eq!(err, rules::flex_queue_full(max, already + 1, 2));
    let trigger = |name: &str| NewCronTrigger {
        id: ids.cron_trigger_id(t0()),
        name: name.into(),
        job_type: JobType::ScheduledApex,
        class_name: "Nightly".into(),
        payload: "{}".into(),
        cron_expression: "0 0 2 * * ?".into(),
        time_zone: "UTC".into(),
        dst_policy: "quartz".into(),
        next_fire_time: add(t0(), Duration::from_secs(3_600)),
        start_time: t0(),
        batch_scope: None,
    };
    store
        .cron_trigger_insert(CronTriggerInsertParams {
            trigger: trigger("first"),
            max_active: 1,
        })
        .await
        .expect("room for one schedule");
    let err = store
        .cron_trigger_insert(CronTriggerInsertParams {
            trigger: trigger("second"),
            max_active: 1,
        })
        .await
        .expect_err("no room for a second schedule");
    assert_eq!(err, rules::schedule_cap_reached(1, 1));
    assert!(matches!(err, Error::LimitExceeded { .. }));
}
