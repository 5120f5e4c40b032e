//! Conformance cases of concurrent callers on one store: what must hold under races holds.
//!
//! Each case starts its racing calls together with `tokio::join!`, so they are in flight at
//! once. A store that serialises its calls (SQLite) runs them one after the other in some
//! order, a store with a connection pool (PostgreSQL) runs them at the same time; the
//! invariant must hold either way, and each case checks it from the calls' answers and the
//! stored rows, not from timing.

use std::collections::BTreeSet;
use std::time::Duration;

use asyncapex_core::batch::BatchScope;
use asyncapex_core::clock::add;
use asyncapex_core::{
    CronTriggerFireParams, CronTriggerInsertParams, Error, IdGenerator, JobAbortParams, JobId,
    JobInsertManyParams, JobListParams, JobOutcome, JobRescueParams, JobStatus, JobType, LimitName,
    NewCronTrigger, NewJob, Store, rules,
};

use crate::job_cases::{claim, finish, insert, secs, t0};

/// Two workers claiming at the same time never both get one job, and between them they
/// drain the queue.
pub(crate) async fn two_owners_claiming_at_once_never_claim_the_same_job(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let jobs: Vec<NewJob> = (0..60)
        .map(|_| NewJob::queueable(ids.job_id(t0()), "Racy", "{}".into(), t0()).max_attempts(3))
        .collect();
    insert(store, jobs.clone()).await;
    let mut claimed_by: Vec<(JobId, &str)> = Vec::new();
    for _ in 0..20 {
        let (a, b) = tokio::join!(claim(store, "a", t0(), 7), claim(store, "b", t0(), 7));
        if a.is_empty() && b.is_empty() {
            break;
        }
        claimed_by.extend(a.into_iter().map(|id| (id, "a")));
        claimed_by.extend(b.into_iter().map(|id| (id, "b")));
    }
    let distinct: BTreeSet<JobId> = claimed_by.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        distinct.len(),
        claimed_by.len(),
        "a job was claimed twice: {claimed_by:?}"
    );
    let all: BTreeSet<JobId> = jobs.iter().map(|j| j.id).collect();
    assert_eq!(distinct, all, "together they claim every job once");
    for (id, owner) in claimed_by {
        let job = store.job_get(id).await.expect("get").expect("job");
        assert_eq!(job.lease_owner.as_deref(), Some(owner), "{id}");
        assert_eq!(job.attempt, 1, "{id} was claimed once");
    }
}

/// A worker finishing a job just as the rescuer finds its lease expired: exactly one of them
/// ends the attempt, and the row says which.
pub(crate) async fn a_finish_racing_a_rescue_leaves_exactly_one_ending(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let late = add(t0(), secs(31));
    let (mut finished, mut rescued) = (0, 0);
    for round in 0..20 {
        let j = NewJob::queueable(ids.job_id(t0()), "Racy", "{}".into(), t0()).max_attempts(3);
        insert(store, vec![j.clone()]).await;
        assert_eq!(
            claim(store, "w", t0(), 1).await,
            vec![j.id],
            "round {round}"
        );
        let (ended, out) = tokio::join!(
            store.job_finish(finish(j.id, "w", late, JobOutcome::Completed)),
            store.job_rescue(JobRescueParams {
                now: late,
                exclude_owner: None,
            })
        );
        let ended = ended.expect("finish");
        let out = out.expect("rescue");
        let requeued = out.requeued.contains(&j.id);
        assert!(out.failed.is_empty() && out.aborted.is_empty(), "{out:?}");
        assert!(
            ended != requeued,
            "round {round}: finish said {ended}, rescue said {out:?}; exactly one must end it"
        );
        let job = store.job_get(j.id).await.expect("get").expect("job");
        if ended {
            finished += 1;
            assert_eq!(job.status, JobStatus::Completed, "round {round}");
        } else {
            rescued += 1;
            assert_eq!(job.status, JobStatus::Queued, "round {round}");
            assert_eq!(job.lease_owner, None, "round {round}");
            // Out of the way of the next round's claim.
            store
                .job_abort(JobAbortParams {
                    id: j.id,
                    now: late,
                })
                .await
                .expect("abort");
        }
    }
    assert_eq!(finished + rescued, 20);
}

/// Two schedulers firing one trigger's fire time at once: it fires once, with one job.
pub(crate) async fn a_trigger_fired_by_two_callers_at_once_fires_once(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    for round in 0..10_u64 {
        let due = add(t0(), secs(round));
        let trigger = NewCronTrigger {
            id: ids.cron_trigger_id(t0()),
            name: format!("racy-{round}"),
            job_type: JobType::ScheduledApex,
            class_name: "Nightly".into(),
            payload: "{}".into(),
            cron_expression: "0 0 0 * * ?".into(),
            time_zone: "UTC".into(),
            dst_policy: "quartz".into(),
            next_fire_time: due,
            start_time: t0(),
            batch_scope: None,
        };
        store
            .cron_trigger_insert(CronTriggerInsertParams {
                trigger: trigger.clone(),
                max_active: 100,
            })
            .await
            .expect("insert trigger");
        let fire = |job: NewJob| CronTriggerFireParams {
            id: trigger.id,
            expected_next_fire_time: due,
            next_fire_time: Some(add(due, Duration::from_secs(86_400))),
            fired_at: due,
            job,
        };
        let firing = |ids: &IdGenerator| NewJob {
            job_type: JobType::ScheduledApex,
            cron_trigger_id: Some(trigger.id),
            ..NewJob::queueable(ids.job_id(due), "Nightly", "{}".into(), due)
        };
        let (a, b) = (firing(&ids), firing(&ids));
        let (fired_a, fired_b) = tokio::join!(
            store.cron_trigger_fire(fire(a.clone())),
            store.cron_trigger_fire(fire(b.clone()))
        );
        let (fired_a, fired_b) = (fired_a.expect("fire"), fired_b.expect("fire"));
        assert!(
            fired_a != fired_b,
            "round {round}: fired {fired_a} and {fired_b}; exactly one must fire"
        );
        let kept = if fired_a { &a } else { &b };
        let dropped = if fired_a { &b } else { &a };
        assert!(store.job_get(kept.id).await.expect("get").is_some());
        assert!(store.job_get(dropped.id).await.expect("get").is_none());
        let runs = store
            .job_list(JobListParams {
                job_types: vec![JobType::ScheduledApex],
                limit: 1_000,
                ..Default::default()
            })
            .await
            .expect("list")
            .into_iter()
            .filter(|j| j.cron_trigger_id == Some(trigger.id))
            .count();
        assert_eq!(runs, 1, "round {round}");
    }
}

/// Inserts racing for the last places in the flex queue: the cap holds, every refusal is
/// the cap's own error, and exactly as many get in as fit.
pub(crate) async fn inserts_racing_past_the_flex_queue_cap_never_exceed_it(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let scope = BatchScope::new(10).expect("scope");
    let pair = || -> Vec<NewJob> {
        (0..2)
            .map(|_| NewJob::batch(ids.job_id(t0()), "Racy", "{}".into(), scope, t0()))
            .collect()
    };
    let insert = |jobs: Vec<NewJob>| {
        store.job_insert_many(JobInsertManyParams {
            jobs,
            max_holding: 5,
        })
    };
    let results = {
        let (a, b, c, d) = tokio::join!(
            insert(pair()),
            insert(pair()),
            insert(pair()),
            insert(pair())
        );
        [a, b, c, d]
    };
    let admitted = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(admitted, 2, "two pairs fit under a cap of 5: {results:?}");
    for refused in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(
                refused,
                Error::LimitExceeded {
                    limit: LimitName::FlexQueue,
                    ..
                }
            ),
            "{refused:?}"
        );
        assert_eq!(refused, &rules::flex_queue_full(5, 4, 2));
    }
    let holding = store.flex_queue_list().await.expect("flex list");
    assert_eq!(holding.len(), 4, "{holding:?}");
}
