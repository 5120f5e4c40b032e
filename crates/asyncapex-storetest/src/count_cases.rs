//! Counts: what the operator views read (counts by status, by type and status) stays equal
//! to the rows through every change. A store may keep finished jobs' counts in a table of
//! its own, updated with each change, so they are checked after each kind of change.

use std::collections::BTreeMap;
use std::time::Duration;

use asyncapex_core::clock::add;
use asyncapex_core::{
    JobAbortParams, JobCompleteManyParams, JobListParams, JobOutcome, JobPurgeParams,
    JobRescueParams, JobStatsParams, JobStatus, JobType, NewJob, Store,
};
use jiff::Timestamp;

use crate::factory::{factory_lease_until, job_in};
use crate::job_cases::{claim, finish, insert, t0};

/// Every job by (type, status), read row by row through the job list (the ground truth).
async fn tally_rows(store: &dyn Store) -> BTreeMap<(JobType, JobStatus), u64> {
    let mut tally = BTreeMap::new();
    let mut before = None;
    loop {
        let page = store
            .job_list(JobListParams {
                before,
                limit: 500,
                ..JobListParams::default()
            })
            .await
            .expect("list");
        for j in &page {
            *tally.entry((j.job_type, j.status)).or_insert(0) += 1;
        }
        match page.last() {
            Some(last) => before = Some(last.id),
            None => return tally,
        }
    }
}

/// Asserts that `job_count_by_status`, `job_count_finished` and `job_stats`' counts by type
/// and status equal a row-by-row tally of the store's jobs (zero counts may be reported or
/// left out).
///
/// # Panics
/// When they differ, or the store fails: a conformance failure.
pub async fn assert_counts_match_rows(store: &dyn Store) {
    let rows = tally_rows(store).await;
    let mut by_status: BTreeMap<JobStatus, u64> = BTreeMap::new();
    for ((_, status), n) in &rows {
        *by_status.entry(*status).or_insert(0) += n;
    }
    let counted: BTreeMap<JobStatus, u64> = store
        .job_count_by_status()
        .await
        .expect("count by status")
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(counted, by_status, "counts by status against the rows");
    let finished: BTreeMap<JobStatus, u64> = store
        .job_count_finished()
        .await
        .expect("count finished")
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    let expected: BTreeMap<JobStatus, u64> = by_status
        .iter()
        .filter(|(status, _)| status.is_terminal())
        .map(|(status, n)| (*status, *n))
        .collect();
    assert_eq!(finished, expected, "finished counts against the rows");
    let stats = store
        .job_stats(JobStatsParams {
            since: Timestamp::UNIX_EPOCH,
        })
        .await
        .expect("stats");
    let counted: BTreeMap<(JobType, JobStatus), u64> = stats
        .by_type_and_status
        .into_iter()
        .filter(|(_, _, n)| *n > 0)
        .map(|(t, s, n)| ((t, s), n))
        .collect();
    assert_eq!(counted, rows, "counts by type and status against the rows");
}

/// Inserts, claims, finishes (singly and many at once), aborts of waiting and running jobs,
/// rescues that requeue, fail and abort, and purges: after each, the counts are the rows'.
pub(crate) async fn counts_stay_true_through_every_change(store: &dyn Store) {
    let mut made = BTreeMap::new();
    for status in JobStatus::ALL {
        made.insert(status, job_in(store, status).await.id);
        assert_counts_match_rows(store).await;
    }

    // A future call of another type, failed: counted under its own type.
    let ids = asyncapex_core::IdGenerator::new(31);
    let call = NewJob {
        job_type: JobType::Future,
        method_name: Some("send".into()),
        ..crate::job_cases::job(&ids, t0())
    };
    insert(store, vec![call.clone()]).await;
    let claimed = claim(store, "w", t0(), 100).await;
    assert!(claimed.contains(&call.id), "the call is claimed");
    assert!(
        store
            .job_finish(finish(
                call.id,
                "w",
                t0(),
                JobOutcome::Failed {
                    message: "boom".into()
                }
            ))
            .await
            .expect("finish")
    );
    assert_counts_match_rows(store).await;

    // The rest of what that claim took (the factory's queued job) completes in a batch.
    let rest: Vec<_> = claimed.into_iter().filter(|id| *id != call.id).collect();
    let done = store
        .job_complete_many(JobCompleteManyParams {
            ids: rest.clone(),
            owner: "w".into(),
            now: t0(),
        })
        .await
        .expect("complete many");
    assert_eq!(done.len(), rest.len(), "every claimed job completes");
    assert_counts_match_rows(store).await;

    // A job on its last attempt, left running: the rescue below fails it.
    let last_try = NewJob {
        max_attempts: 1,
        ..crate::job_cases::job(&ids, t0())
    };
    insert(store, vec![last_try.clone()]).await;
    assert_eq!(claim(store, "w", t0(), 100).await, vec![last_try.id]);
    assert_counts_match_rows(store).await;

    // Aborting a holding job ends it; aborting a running one only asks, and the rescue
    // after its lease ran out ends it as aborted, while the preparing one is requeued.
    for status in [JobStatus::Holding, JobStatus::Processing] {
        store
            .job_abort(JobAbortParams {
                id: made[&status],
                now: t0(),
            })
            .await
            .expect("abort");
        assert_counts_match_rows(store).await;
    }
    store
        .job_rescue(JobRescueParams {
            now: add(factory_lease_until(), Duration::from_secs(1)),
            exclude_owner: None,
        })
        .await
        .expect("rescue");
    for (id, want) in [
        (last_try.id, JobStatus::Failed),
        (made[&JobStatus::Processing], JobStatus::Aborted),
        (made[&JobStatus::Preparing], JobStatus::Queued),
    ] {
        let got = store
            .job_get(id)
            .await
            .expect("get")
            .expect("exists")
            .status;
        assert_eq!(got, want, "the rescue moved {id}");
    }
    assert_counts_match_rows(store).await;

    // Purges in small steps take the finished jobs down to none.
    let far = add(factory_lease_until(), Duration::from_secs(86_400 * 365));
    loop {
        let deleted = store
            .job_purge(JobPurgeParams {
                before: far,
                statuses: vec![JobStatus::Completed, JobStatus::Failed, JobStatus::Aborted],
                job_types: None,
                limit: 2,
                ended_from: None,
            })
            .await
            .expect("purge")
            .deleted;
        assert_counts_match_rows(store).await;
        if deleted == 0 {
            break;
        }
    }
    let left = tally_rows(store).await;
    assert!(
        left.keys().all(|(_, s)| !s.is_terminal()),
        "only unfinished jobs are left: {left:?}"
    );
}

/// Checks a store opened on the demo's store as schema version 5 wrote it (each store crate
/// keeps that store as a fixture, `tests/fixtures/v5-demo.*`): all 16 jobs are there, the
/// counts the migration filled in are true (12 completed, 2 failed, 2 holding) and move with
/// later changes (purging the 2 failed ones).
///
/// # Panics
/// When anything was lost or miscounted: an upgrade failure.
pub async fn assert_v5_demo_survived(store: &dyn Store) {
    let all = store
        .job_list(JobListParams {
            limit: 1000,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(all.len(), 16, "every job is still there");
    let mut counts = store.job_count_by_status().await.expect("counts");
    counts.retain(|(_, n)| *n > 0);
    counts.sort();
    assert_eq!(
        counts,
        vec![
            (JobStatus::Holding, 2),
            (JobStatus::Completed, 12),
            (JobStatus::Failed, 2),
        ]
    );
    assert_counts_match_rows(store).await;
    // The completion figures kept since migration 7 were backfilled from the rows.
    let newest = all
        .iter()
        .filter_map(|j| j.completed_at)
        .max()
        .expect("finished jobs");
    let since = newest - jiff::SignedDuration::from_mins(30);
    let ended: Vec<_> = all
        .iter()
        .filter(|j| j.completed_at.is_some_and(|c| c >= since))
        .collect();
    let stats = store
        .job_stats(JobStatsParams { since })
        .await
        .expect("stats");
    let sum =
        |f: fn(&asyncapex_core::MinuteStats) -> u64| stats.per_minute.iter().map(f).sum::<u64>();
    let with = |s: JobStatus| ended.iter().filter(|j| j.status == s).count() as u64;
    assert_eq!(
        (sum(|m| m.completed), sum(|m| m.failed)),
        (with(JobStatus::Completed), with(JobStatus::Failed))
    );
    assert_eq!(
        stats.duration_counts.iter().sum::<u64>(),
        ended.iter().filter(|j| j.started_at.is_some()).count() as u64
    );
    // And the hourly creation counts too.
    let newest_created = all.iter().map(|j| j.created_at).max().expect("jobs");
    let since = newest_created - jiff::SignedDuration::from_micros(5 * 3_600_000_000 + 7);
    let types: Vec<JobType> = JobType::ALL.to_vec();
    let created = store
        .job_count_created_since(asyncapex_core::JobCountCreatedSinceParams {
            since,
            job_types: types,
        })
        .await
        .expect("created");
    assert_eq!(
        created,
        all.iter().filter(|j| j.created_at >= since).count() as u64
    );
    let deleted = store
        .job_purge(JobPurgeParams {
            before: Timestamp::MAX,
            statuses: vec![JobStatus::Failed],
            job_types: None,
            limit: 100,
            ended_from: None,
        })
        .await
        .expect("purge")
        .deleted;
    assert_eq!(deleted, 2);
    assert_counts_match_rows(store).await;
    // Every node written before migration 8 ran jobs, and none had recorded a stop: they
    // are listed as workers, dead (long silent), not stopped.
    let nodes = store
        .node_list(asyncapex_core::NodeListParams {
            now: Timestamp::now(),
            dead_after: std::time::Duration::from_secs(30),
            limit: 100,
            workers_only: true,
        })
        .await
        .expect("nodes");
    assert!(!nodes.is_empty(), "the demo's process is still registered");
    assert!(
        nodes
            .iter()
            .all(|n| n.runs_jobs && n.stopped_at.is_none() && n.state() == "dead"),
        "{nodes:?}"
    );
}

/// Checks a store written by the release before named queues (schema 13), once migrated:
/// every job is still there with the status counts it had (`before`, read from the old
/// schema), each in the default queue at priority 0 with no tenant, claims of the default
/// queue still find the due ones, and a job naming a queue, a priority and a tenant goes in
/// and comes back.
pub async fn assert_v13_store_survived(store: &dyn Store, before: &[(JobStatus, u64)]) {
    let all = store
        .job_list(JobListParams {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(
        all.len() as u64,
        before.iter().map(|(_, n)| n).sum::<u64>(),
        "every job is still there"
    );
    let mut counts = store.job_count_by_status().await.expect("counts");
    counts.retain(|(_, n)| *n > 0);
    counts.sort();
    let mut expected = before.to_vec();
    expected.sort();
    assert_eq!(counts, expected);
    assert!(
        all.iter()
            .all(|j| j.queue == "default" && j.priority == 0 && j.tenant.is_none()),
        "old jobs are in the default queue at priority 0"
    );
    assert_counts_match_rows(store).await;
    let far = jiff::Timestamp::from_second(4_000_000_000).expect("instant");
    let due = all.iter().filter(|j| j.status == JobStatus::Queued).count();
    let claimed = store
        .job_claim(asyncapex_core::JobClaimParams {
            owner: "upgrade".into(),
            now: far,
            lease_until: far,
            queues: asyncapex_core::QueueClaim::default_queue(10_000),
        })
        .await
        .expect("claim");
    assert_eq!(claimed.len(), due, "the waiting jobs are claimable");
    let ids = asyncapex_core::IdGenerator::new(9);
    let fresh = crate::job_cases::job(&ids, far)
        .queue("callouts")
        .priority(4)
        .tenant(Some("org".into()));
    store
        .job_insert_many(asyncapex_core::JobInsertManyParams::new(vec![
            fresh.clone(),
        ]))
        .await
        .expect("insert");
    let back = store.job_get(fresh.id).await.expect("get").expect("job");
    assert_eq!(
        (back.queue.as_str(), back.priority, back.tenant.as_deref()),
        ("callouts", 4, Some("org"))
    );
}
