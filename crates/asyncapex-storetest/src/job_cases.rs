//! Conformance cases of the job table. Each takes a fresh, empty store; each is run only
//! through the one list in `lib.rs`.

use std::time::Duration;

use asyncapex_core::clock::add;
use asyncapex_core::{
    AbortOutcome, Error, IdGenerator, JobAbortParams, JobClaimParams, JobCompleteManyParams,
    JobCountCreatedSinceParams, JobFinishParams, JobHeartbeatParams, JobId, JobInsertManyParams,
    JobListParams, JobOutcome, JobReleaseParams, JobRescueParams, JobStatsParams, JobStatus,
    JobType, NewJob, NodeHeartbeatParams, NodeListParams, NodeRegisterParams, Store,
};
use jiff::Timestamp;

pub(crate) const LEASE: Duration = Duration::from_secs(30);

pub(crate) fn t0() -> Timestamp {
    // A fixed instant keeps every case deterministic.
    Timestamp::from_second(1_800_000_000).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub(crate) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A minimal queued queueable due at `run_at` (class `TestJob`), for store tests.
pub fn job(ids: &IdGenerator, run_at: Timestamp) -> NewJob {
    NewJob {
        id: ids.job_id(run_at),
        job_type: JobType::Queueable,
        class_name: "TestJob".into(),
        method_name: None,
        status: JobStatus::Queued,
        parent_job_id: None,
        cron_trigger_id: None,
        created_at: run_at,
        run_at,
        max_attempts: 3,
        stack_depth: 1,
        max_stack_depth: None,
        failure_reenqueues: 0,
        signature: None,
        payload: r#"{"n":1}"#.into(),
        batch_scope: None,
        retry_of: None,
        trace_parent: None,
        queue: "default".into(),
        priority: 0,
        tenant: None,
    }
}

pub(crate) async fn insert(store: &dyn Store, jobs: Vec<NewJob>) {
    store
        .job_insert_many(JobInsertManyParams::new(jobs))
        .await
        .expect("insert");
}

pub(crate) async fn claim(
    store: &dyn Store,
    owner: &str,
    now: Timestamp,
    limit: u32,
) -> Vec<JobId> {
    store
        .job_claim(JobClaimParams {
            owner: owner.into(),
            now,
            lease_until: add(now, LEASE),
            queues: asyncapex_core::QueueClaim::default_queue(limit),
        })
        .await
        .expect("claim")
        .into_iter()
        .map(|j| j.id)
        .collect()
}

async fn status(store: &dyn Store, id: JobId) -> JobStatus {
    store
        .job_get(id)
        .await
        .expect("get")
        .expect("job exists")
        .status
}

pub(crate) fn finish(
    id: JobId,
    owner: &str,
    now: Timestamp,
    outcome: JobOutcome,
) -> JobFinishParams {
    JobFinishParams {
        id,
        owner: owner.into(),
        now,
        outcome,
        insert: Vec::new(),
        max_holding: u32::MAX,
    }
}

/// Two registrations never share a node ID; heartbeats and the node list say who is alive.
pub(crate) async fn nodes_register_heartbeat_and_list_their_running_jobs(store: &dyn Store) {
    let mut seen = Vec::new();
    for i in 0..3 {
        let id = store
            .node_register(NodeRegisterParams {
                name: format!("host:{i}"),
                now: t0(),
                runs_jobs: true,
            })
            .await
            .expect("register");
        assert!(!seen.contains(&id), "node ID {id} handed out twice");
        seen.push(id);
    }
    assert!(
        store
            .node_heartbeat(NodeHeartbeatParams {
                id: seen[2],
                now: add(t0(), secs(100)),
            })
            .await
            .expect("heartbeat")
    );
    assert!(
        !store
            .node_heartbeat(NodeHeartbeatParams { id: -1, now: t0() })
            .await
            .expect("heartbeat of an unknown node")
    );
    let ids = IdGenerator::new(1);
    let owner = format!("host:2#{}", seen[2]);
    insert(store, vec![job(&ids, t0())]).await;
    claim(store, &owner, t0(), 1).await;
    let nodes = store
        .node_list(NodeListParams {
            now: add(t0(), secs(110)),
            dead_after: secs(30),
            limit: 10,
            workers_only: true,
        })
        .await
        .expect("list");
    assert_eq!(nodes.len(), 3);
    assert_eq!(nodes[0].id, seen[2], "newest first");
    assert_eq!(nodes[0].owner, owner);
    assert!(nodes[0].alive);
    assert_eq!(nodes[0].running_jobs, 1);
    assert_eq!(nodes[0].heartbeat_at, add(t0(), secs(100)));
    assert!(!nodes[1].alive && !nodes[2].alive, "silent for 110 s");
    assert_eq!(nodes[1].running_jobs, 0);
    assert!(nodes.iter().all(|n| n.runs_jobs && n.stopped_at.is_none()));
    assert_eq!(nodes[1].state(), "dead");
}

/// A process that runs no jobs is no worker; a stopped node is listed as stopped, not alive,
/// however fresh its last heartbeat; stale nodes are forgotten unless they hold a lease.
pub(crate) async fn nodes_say_who_runs_jobs_who_stopped_and_stale_ones_are_forgotten(
    store: &dyn Store,
) {
    let register = |name: &str, runs_jobs| NodeRegisterParams {
        name: name.into(),
        now: t0(),
        runs_jobs,
    };
    let dashboard = store
        .node_register(register("dash:1", false))
        .await
        .expect("register");
    let stopped = store
        .node_register(register("w:2", true))
        .await
        .expect("register");
    let holder = store
        .node_register(register("w:3", true))
        .await
        .expect("register");
    let live = store
        .node_register(register("w:4", true))
        .await
        .expect("register");
    let at = |s| NodeHeartbeatParams {
        id: stopped,
        now: add(t0(), secs(s)),
    };
    assert!(store.node_stop(at(10)).await.expect("stop"));
    assert!(
        !store
            .node_stop(NodeHeartbeatParams { id: -1, now: t0() })
            .await
            .expect("stop")
    );
    // The holder dies holding a running job's lease.
    let ids = IdGenerator::new(1);
    insert(store, vec![job(&ids, t0())]).await;
    claim(store, &format!("w:3#{holder}"), t0(), 1).await;
    let list = |workers_only, now| NodeListParams {
        now,
        dead_after: secs(30),
        limit: 10,
        workers_only,
    };
    let all = store
        .node_list(list(false, add(t0(), secs(11))))
        .await
        .expect("list");
    assert_eq!(all.len(), 4);
    let by_id = |id| all.iter().find(|n| n.id == id).expect("listed");
    assert!(!by_id(dashboard).runs_jobs && by_id(live).runs_jobs);
    assert_eq!(by_id(stopped).stopped_at, Some(add(t0(), secs(10))));
    assert_eq!(by_id(stopped).state(), "stopped");
    assert!(!by_id(stopped).alive, "stopped a second ago, yet not alive");
    assert_eq!(by_id(live).state(), "alive");
    let workers: Vec<i64> = store
        .node_list(list(true, add(t0(), secs(11))))
        .await
        .expect("list")
        .iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(
        workers,
        vec![live, holder, stopped],
        "no dashboard among the workers"
    );
    // The live node beats later; a cut between the others' last signs of life and that beat
    // forgets the stopped node and the dashboard, not the live node nor the lease holder.
    assert!(
        store
            .node_heartbeat(NodeHeartbeatParams {
                id: live,
                now: add(t0(), secs(100))
            })
            .await
            .expect("beat")
    );
    // Exactly at the stop's instant: kept (the cut is strict).
    assert_eq!(
        store
            .node_forget(add(t0(), secs(10)))
            .await
            .expect("forget"),
        1,
        "the dashboard, silent since t0"
    );
    assert_eq!(
        store
            .node_forget(add(t0(), secs(50)))
            .await
            .expect("forget"),
        1,
        "the stopped node"
    );
    let left: Vec<i64> = store
        .node_list(list(false, add(t0(), secs(100))))
        .await
        .expect("list")
        .iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(left, vec![live, holder]);
    // A new registration never reuses a forgotten node's number.
    let next = store
        .node_register(register("w:5", true))
        .await
        .expect("register");
    assert!(next > live, "node {next} after forgetting, {live} before");
}

/// What goes in comes back, field by field.
pub(crate) async fn insert_then_get_round_trips_every_field(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let parent = ids.job_id(t0());
    let mut j = job(&ids, add(t0(), secs(5)));
    j.class_name = "Übersetzer \"quoted\"".into();
    j.method_name = Some("send".into());
    j.parent_job_id = Some(parent);
    j.created_at = t0();
    j.max_attempts = 7;
    j.stack_depth = 3;
    j.max_stack_depth = Some(9);
    j.failure_reenqueues = 2;
    j.signature = Some("sig-1".into());
    j.payload = r#"{"nested":{"list":[1,2,3]},"text":"<b>"}"#.into();
    j.trace_parent = Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into());
    j.queue = "callouts.eu-1".into();
    j.priority = 9;
    j.tenant = Some("org 00D5 \"ünï\"".into());
    insert(store, vec![j.clone()]).await;
    let got = store.job_get(j.id).await.expect("get").expect("exists");
    assert_eq!(got.id, j.id);
    assert_eq!(got.job_type, JobType::Queueable);
    assert_eq!(got.class_name, j.class_name);
    assert_eq!(got.method_name.as_deref(), Some("send"));
    assert_eq!(got.status, JobStatus::Queued);
    assert_eq!(got.extended_status, None);
    assert_eq!(
        (got.items_processed, got.total_items, got.number_of_errors),
        (0, 0, 0)
    );
    assert_eq!(got.parent_job_id, Some(parent));
    assert_eq!(got.created_at, t0());
    assert_eq!(got.started_at, None);
    assert_eq!(got.completed_at, None);
    assert_eq!(got.run_at, add(t0(), secs(5)));
    assert_eq!((got.attempt, got.max_attempts), (0, 7));
    assert_eq!((got.stack_depth, got.max_stack_depth), (3, Some(9)));
    assert_eq!(got.failure_reenqueues, 2);
    assert_eq!(got.signature.as_deref(), Some("sig-1"));
    assert_eq!(got.payload, j.payload);
    assert_eq!(got.lease_owner, None);
    assert!(!got.abort_requested);
    assert_eq!(got.retry_of, None);
    assert_eq!(got.trace_parent, j.trace_parent);
    assert_eq!(
        (got.queue.as_str(), got.priority, got.tenant.as_deref()),
        ("callouts.eu-1", 9, j.tenant.as_deref())
    );
    // A retry's link round-trips too, through the single and the batched insert.
    let mut retry = job(&ids, add(t0(), secs(6)));
    retry.retry_of = Some(j.id);
    retry.trace_parent = Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00".into());
    let mut other = job(&ids, add(t0(), secs(7)));
    other.retry_of = Some(parent);
    other.trace_parent = j.trace_parent.clone();
    insert(store, vec![retry.clone()]).await;
    insert(store, vec![other.clone(), job(&ids, add(t0(), secs(8)))]).await;
    for (sent, of) in [(&retry, j.id), (&other, parent)] {
        let got = store.job_get(sent.id).await.expect("get").expect("exists");
        assert_eq!(got.retry_of, Some(of));
        assert_eq!(got.trace_parent, sent.trace_parent, "the trace context too");
    }
}

/// An ID nobody inserted is simply absent.
pub(crate) async fn get_of_unknown_id_is_none(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    assert!(
        store
            .job_get(ids.job_id(t0()))
            .await
            .expect("get")
            .is_none()
    );
}

/// A batch with one conflicting signature inserts nothing.
pub(crate) async fn insert_many_is_all_or_nothing_on_duplicate_signature(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let mut a = job(&ids, t0());
    a.signature = Some("same".into());
    let mut b = job(&ids, t0());
    b.signature = Some("same".into());
    let c = job(&ids, t0());
    let err = store
        .job_insert_many(JobInsertManyParams::new(vec![
            c.clone(),
            a.clone(),
            b.clone(),
        ]))
        .await
        .expect_err("duplicate signature in one call must be refused");
    assert_eq!(
        err,
        Error::DuplicateSignature {
            signature: "same".into()
        }
    );
    for id in [a.id, b.id, c.id] {
        assert!(store.job_get(id).await.expect("get").is_none());
    }
}

/// A bulk insert large enough to be sent in several statements is still one transaction: a
/// collision in its last job leaves none of them, and the error names the signature.
pub(crate) async fn a_large_bulk_insert_is_all_or_nothing(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let mut waiting = job(&ids, add(t0(), secs(60)));
    waiting.signature = Some("taken".into());
    insert(store, vec![waiting]).await;
    let mut jobs: Vec<NewJob> = (0..12_000).map(|_| job(&ids, t0())).collect();
    if let Some(last) = jobs.last_mut() {
        last.signature = Some("taken".into());
    }
    let err = store
        .job_insert_many(JobInsertManyParams::new(jobs.clone()))
        .await
        .expect_err("the last job collides");
    assert_eq!(
        err,
        Error::DuplicateSignature {
            signature: "taken".into()
        }
    );
    assert!(store.job_get(jobs[0].id).await.expect("get").is_none());
    assert!(store.job_get(jobs[6_000].id).await.expect("get").is_none());
    jobs.pop();
    store
        .job_insert_many(JobInsertManyParams::new(jobs.clone()))
        .await
        .expect("without the collision");
    let queued = store
        .job_count_by_status()
        .await
        .expect("count")
        .into_iter()
        .find(|(s, _)| *s == JobStatus::Queued)
        .map_or(0, |(_, n)| n);
    assert_eq!(queued, 12_000, "11,999 new jobs and the waiting one");
}

/// Signatures block duplicates only until the first job starts.
pub(crate) async fn duplicate_signature_is_refused_while_waiting_and_accepted_once_started(
    store: &dyn Store,
) {
    let ids = IdGenerator::new(1);
    let mut first = job(&ids, t0());
    first.signature = Some("acct-42".into());
    insert(store, vec![first.clone()]).await;
    let mut dup = job(&ids, t0());
    dup.signature = Some("acct-42".into());
    let err = store
        .job_insert_many(JobInsertManyParams::new(vec![dup.clone()]))
        .await
        .expect_err("refused while the first waits");
    assert!(matches!(err, Error::DuplicateSignature { .. }), "{err:?}");
    assert_eq!(claim(store, "w", t0(), 10).await, vec![first.id]);
    let mut again = job(&ids, t0());
    again.signature = Some("acct-42".into());
    insert(store, vec![again.clone()]).await;
    assert_eq!(status(store, again.id).await, JobStatus::Queued);
}

/// Claims are ordered by run time and bounded.
pub(crate) async fn claim_takes_due_jobs_oldest_first_up_to_the_limit(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let late = job(&ids, add(t0(), secs(2)));
    let early = job(&ids, t0());
    let middle = job(&ids, add(t0(), secs(1)));
    insert(store, vec![late.clone(), early.clone(), middle.clone()]).await;
    let now = add(t0(), secs(10));
    assert_eq!(
        claim(store, "w", now, 2).await,
        vec![early.id, middle.id],
        "oldest run time first, at most the limit"
    );
    assert_eq!(claim(store, "w", now, 2).await, vec![late.id]);
    assert!(claim(store, "w", now, 2).await.is_empty(), "nothing left");
}

/// A delayed job is not claimed before its run time.
pub(crate) async fn claim_skips_jobs_not_yet_due(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let delayed = job(&ids, add(t0(), secs(60)));
    insert(store, vec![delayed.clone()]).await;
    assert!(claim(store, "w", add(t0(), secs(59)), 10).await.is_empty());
    assert_eq!(
        claim(store, "w", add(t0(), secs(60)), 10).await,
        vec![delayed.id]
    );
}

/// A claim is a lease: owner, expiry, attempt, start time; and the signature is released.
pub(crate) async fn claim_sets_lease_attempt_start_and_clears_signature(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let mut j = job(&ids, t0());
    j.signature = Some("s".into());
    insert(store, vec![j.clone()]).await;
    let now = add(t0(), secs(1));
    let claimed = store
        .job_claim(JobClaimParams {
            owner: "worker-a".into(),
            now,
            lease_until: add(now, LEASE),
            queues: asyncapex_core::QueueClaim::default_queue(1),
        })
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let got = &claimed[0];
    assert_eq!(got.status, JobStatus::Processing);
    assert_eq!(got.lease_owner.as_deref(), Some("worker-a"));
    assert_eq!(got.lease_expires_at, Some(add(now, LEASE)));
    assert_eq!(got.attempt, 1);
    assert_eq!(got.started_at, Some(now));
    assert_eq!(got.signature, None);
    let stored = store.job_get(j.id).await.expect("get").expect("exists");
    assert_eq!(&stored, got, "the returned row is the stored row");
}

/// Aborting a waiting job takes it out of the queue for good.
pub(crate) async fn aborted_job_is_never_claimed(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let j = job(&ids, t0());
    insert(store, vec![j.clone()]).await;
    let outcome = store
        .job_abort(JobAbortParams {
            id: j.id,
            now: t0(),
        })
        .await
        .expect("abort");
    assert_eq!(outcome, AbortOutcome::Aborted);
    assert!(
        claim(store, "w", add(t0(), secs(3600)), 10)
            .await
            .is_empty()
    );
    let got = store.job_get(j.id).await.expect("get").expect("exists");
    assert_eq!(got.status, JobStatus::Aborted);
    assert_eq!(got.completed_at, Some(t0()));
}

/// Completing a job and inserting its children happen together.
pub(crate) async fn finish_completes_a_running_job_and_inserts_children_atomically(
    store: &dyn Store,
) {
    let ids = IdGenerator::new(1);
    let parent = job(&ids, t0());
    insert(store, vec![parent.clone()]).await;
    claim(store, "w", t0(), 1).await;
    let mut child = job(&ids, t0());
    child.parent_job_id = Some(parent.id);
    child.stack_depth = 2;
    let mut p = finish(parent.id, "w", add(t0(), secs(1)), JobOutcome::Completed);
    p.insert = vec![child.clone()];
    assert!(store.job_finish(p).await.expect("finish"));
    let got = store
        .job_get(parent.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(got.status, JobStatus::Completed);
    assert_eq!(got.completed_at, Some(add(t0(), secs(1))));
    assert_eq!(got.lease_owner, None);
    let kid = store.job_get(child.id).await.expect("get").expect("child");
    assert_eq!(kid.parent_job_id, Some(parent.id));
    assert_eq!(kid.status, JobStatus::Queued);
}

/// Only the lease holder can finish a job.
pub(crate) async fn finish_by_another_owner_changes_nothing(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let j = job(&ids, t0());
    insert(store, vec![j.clone()]).await;
    claim(store, "owner-a", t0(), 1).await;
    let changed = store
        .job_finish(finish(j.id, "owner-b", t0(), JobOutcome::Completed))
        .await
        .expect("finish");
    assert!(!changed);
    assert_eq!(status(store, j.id).await, JobStatus::Processing);
}

/// A result for a job that was rescued or aborted meanwhile is ignored, children and all.
pub(crate) async fn finish_of_a_job_no_longer_running_changes_nothing_and_inserts_nothing(
    store: &dyn Store,
) {
    let ids = IdGenerator::new(1);
    let j = job(&ids, t0());
    insert(store, vec![j.clone()]).await;
    claim(store, "w", t0(), 1).await;
    assert!(
        store
            .job_finish(finish(j.id, "w", t0(), JobOutcome::Completed))
            .await
            .expect("first finish")
    );
    let child = job(&ids, t0());
    let mut again = finish(
        j.id,
        "w",
        t0(),
        JobOutcome::Failed {
            message: "late".into(),
        },
    );
    again.insert = vec![child.clone()];
    assert!(!store.job_finish(again).await.expect("second finish"));
    assert_eq!(status(store, j.id).await, JobStatus::Completed);
    assert!(store.job_get(child.id).await.expect("get").is_none());
    let queued_job = job(&ids, add(t0(), secs(100)));
    insert(store, vec![queued_job.clone()]).await;
    assert!(
        !store
            .job_finish(finish(queued_job.id, "w", t0(), JobOutcome::Completed))
            .await
            .expect("finish of a queued job"),
        "a job that never started cannot be finished"
    );
    assert_eq!(status(store, queued_job.id).await, JobStatus::Queued);
}

/// A child that collides on its signature rolls the whole finish back.
pub(crate) async fn finish_with_a_duplicate_child_signature_leaves_the_job_running(
    store: &dyn Store,
) {
    let ids = IdGenerator::new(1);
    let mut waiting = job(&ids, add(t0(), secs(500)));
    waiting.signature = Some("taken".into());
    let j = job(&ids, t0());
    insert(store, vec![waiting, j.clone()]).await;
    claim(store, "w", t0(), 1).await;
    let mut child = job(&ids, t0());
    child.signature = Some("taken".into());
    let mut p = finish(j.id, "w", t0(), JobOutcome::Completed);
    p.insert = vec![child.clone()];
    let err = store.job_finish(p).await.expect_err("conflict");
    assert!(matches!(err, Error::DuplicateSignature { .. }), "{err:?}");
    assert_eq!(status(store, j.id).await, JobStatus::Processing);
    assert!(store.job_get(child.id).await.expect("get").is_none());
}

/// Completing many jobs at once ends exactly those still running under the owner.
pub(crate) async fn complete_many_ends_only_the_jobs_the_owner_still_runs(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let mine: Vec<NewJob> = (0..5).map(|_| job(&ids, t0())).collect();
    insert(store, mine.clone()).await;
    let claimed = claim(store, "w", t0(), 5).await;
    assert_eq!(claimed.len(), 5);
    let theirs = job(&ids, t0());
    insert(store, vec![theirs.clone()]).await;
    claim(store, "other", t0(), 1).await;
    let queued = job(&ids, add(t0(), secs(100)));
    insert(store, vec![queued.clone()]).await;
    // One of ours was aborted while it ran, and already ended elsewhere.
    assert!(
        store
            .job_finish(finish(
                mine[4].id,
                "w",
                t0(),
                JobOutcome::Aborted {
                    message: "aborted while running".into()
                }
            ))
            .await
            .expect("abort-finish")
    );
    let when = add(t0(), secs(2));
    let mut asked: Vec<JobId> = mine.iter().map(|j| j.id).collect();
    asked.push(theirs.id);
    asked.push(queued.id);
    let mut done = store
        .job_complete_many(JobCompleteManyParams {
            ids: asked,
            owner: "w".into(),
            now: when,
        })
        .await
        .expect("complete many");
    done.sort();
    let mut expected: Vec<JobId> = mine[..4].iter().map(|j| j.id).collect();
    expected.sort();
    assert_eq!(done, expected);
    for j in &mine[..4] {
        let got = store.job_get(j.id).await.expect("get").expect("exists");
        assert_eq!(got.status, JobStatus::Completed);
        assert_eq!(got.completed_at, Some(when));
        assert_eq!(got.lease_owner, None);
        assert_eq!(got.extended_status, None);
    }
    assert_eq!(status(store, mine[4].id).await, JobStatus::Aborted);
    assert_eq!(status(store, theirs.id).await, JobStatus::Processing);
    assert_eq!(status(store, queued.id).await, JobStatus::Queued);
    let none = store
        .job_complete_many(JobCompleteManyParams {
            ids: Vec::new(),
            owner: "w".into(),
            now: when,
        })
        .await
        .expect("empty");
    assert!(none.is_empty());
}

/// A failure keeps its message in the extended status.
pub(crate) async fn failed_finish_records_the_message(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let j = job(&ids, t0());
    insert(store, vec![j.clone()]).await;
    claim(store, "w", t0(), 1).await;
    assert!(
        store
            .job_finish(finish(
                j.id,
                "w",
                t0(),
                JobOutcome::Failed {
                    message: "boom: <script>".into()
                }
            ))
            .await
            .expect("finish")
    );
    let got = store.job_get(j.id).await.expect("get").expect("exists");
    assert_eq!(got.status, JobStatus::Failed);
    assert_eq!(got.extended_status.as_deref(), Some("boom: <script>"));
}

/// Abort says what it did for each kind of job.
pub(crate) async fn abort_reports_waiting_running_finished_and_unknown(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let running = job(&ids, t0());
    insert(store, vec![running.clone()]).await;
    claim(store, "w", t0(), 1).await;
    let waiting = job(&ids, add(t0(), secs(60)));
    insert(store, vec![waiting.clone()]).await;
    let abort = |id| store.job_abort(JobAbortParams { id, now: t0() });
    assert_eq!(
        abort(waiting.id).await.expect("abort"),
        AbortOutcome::Aborted
    );
    assert_eq!(
        abort(waiting.id).await.expect("abort again"),
        AbortOutcome::AlreadyFinished(JobStatus::Aborted)
    );
    assert_eq!(
        abort(running.id).await.expect("abort running"),
        AbortOutcome::AbortRequested
    );
    let got = store
        .job_get(running.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        got.status,
        JobStatus::Processing,
        "a running job keeps running"
    );
    assert!(got.abort_requested);
    assert_eq!(
        abort(ids.job_id(t0())).await.expect("abort unknown"),
        AbortOutcome::NotFound
    );
}

/// Heartbeats renew only the caller's leases and carry abort requests back.
pub(crate) async fn heartbeat_extends_only_owned_leases_and_reports_abort_requests(
    store: &dyn Store,
) {
    let ids = IdGenerator::new(1);
    let mine = job(&ids, t0());
    let theirs = job(&ids, t0());
    insert(store, vec![mine.clone()]).await;
    claim(store, "me", t0(), 1).await;
    insert(store, vec![theirs.clone()]).await;
    claim(store, "them", t0(), 1).await;
    store
        .job_abort(JobAbortParams {
            id: mine.id,
            now: t0(),
        })
        .await
        .expect("abort");
    let later = add(t0(), secs(100));
    let acks = store
        .job_heartbeat(JobHeartbeatParams {
            owner: "me".into(),
            ids: vec![mine.id, theirs.id],
            lease_until: later,
        })
        .await
        .expect("heartbeat");
    assert_eq!(
        acks.len(),
        1,
        "only the owned job is acknowledged: {acks:?}"
    );
    assert_eq!(acks[0].id, mine.id);
    assert!(acks[0].abort_requested);
    let got = store.job_get(mine.id).await.expect("get").expect("exists");
    assert_eq!(got.lease_expires_at, Some(later));
    let other = store
        .job_get(theirs.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(other.lease_expires_at, Some(add(t0(), LEASE)));
}

/// Expired leases go back to the queue, in their old place; live ones stay.
pub(crate) async fn rescue_requeues_expired_leases_and_spares_live_ones(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let expired = job(&ids, t0());
    insert(store, vec![expired.clone()]).await;
    claim(store, "dead", t0(), 1).await;
    let live = job(&ids, t0());
    insert(store, vec![live.clone()]).await;
    claim(store, "alive", add(t0(), secs(20)), 1).await;
    let now = add(t0(), secs(31));
    let out = store
        .job_rescue(JobRescueParams {
            now,
            exclude_owner: None,
        })
        .await
        .expect("rescue");
    assert_eq!(out.requeued, vec![expired.id]);
    assert!(out.failed.is_empty() && out.aborted.is_empty());
    let got = store
        .job_get(expired.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(got.status, JobStatus::Queued);
    assert_eq!(got.lease_owner, None);
    assert_eq!(
        got.run_at, expired.run_at,
        "a rescued job keeps its run time, so it keeps its place in the queue"
    );
    assert_eq!(status(store, live.id).await, JobStatus::Processing);
    // The rescued job is claimable again and its attempt count says it is a retry.
    let again = store
        .job_claim(JobClaimParams {
            owner: "alive".into(),
            now,
            lease_until: add(now, LEASE),
            queues: asyncapex_core::QueueClaim::default_queue(10),
        })
        .await
        .expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 2);
}

/// After its last attempt a lost job fails with a reason instead of looping forever.
pub(crate) async fn rescue_fails_a_job_after_its_last_attempt(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let mut j = job(&ids, t0());
    j.max_attempts = 1;
    insert(store, vec![j.clone()]).await;
    claim(store, "dead", t0(), 1).await;
    let out = store
        .job_rescue(JobRescueParams {
            now: add(t0(), secs(60)),
            exclude_owner: None,
        })
        .await
        .expect("rescue");
    assert_eq!(out.failed, vec![j.id]);
    let got = store.job_get(j.id).await.expect("get").expect("exists");
    assert_eq!(got.status, JobStatus::Failed);
    let why = got.extended_status.unwrap_or_default();
    assert!(why.contains("stopped heartbeating"), "{why}");
    assert!(why.contains("attempt 1 of 1"), "{why}");
}

/// A live process's own leases are never rescued from under it.
pub(crate) async fn rescue_spares_the_excluded_owner(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let j = job(&ids, t0());
    insert(store, vec![j.clone()]).await;
    claim(store, "me", t0(), 1).await;
    let out = store
        .job_rescue(JobRescueParams {
            now: add(t0(), secs(3600)),
            exclude_owner: Some("me".into()),
        })
        .await
        .expect("rescue");
    assert_eq!(out, Default::default());
    assert_eq!(status(store, j.id).await, JobStatus::Processing);
}

/// A lost job that had been asked to abort ends aborted, not retried.
pub(crate) async fn rescue_ends_an_abort_requested_job_as_aborted(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let j = job(&ids, t0());
    insert(store, vec![j.clone()]).await;
    claim(store, "dead", t0(), 1).await;
    store
        .job_abort(JobAbortParams {
            id: j.id,
            now: t0(),
        })
        .await
        .expect("abort");
    let out = store
        .job_rescue(JobRescueParams {
            now: add(t0(), secs(60)),
            exclude_owner: None,
        })
        .await
        .expect("rescue");
    assert_eq!(out.aborted, vec![j.id]);
    assert_eq!(status(store, j.id).await, JobStatus::Aborted);
}

/// Shutdown hands jobs back without using up an attempt.
pub(crate) async fn release_requeues_without_counting_the_attempt(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let j = job(&ids, t0());
    insert(store, vec![j.clone()]).await;
    claim(store, "me", t0(), 1).await;
    let n = store
        .job_release(JobReleaseParams {
            owner: "someone-else".into(),
            ids: vec![j.id],
        })
        .await
        .expect("release");
    assert_eq!(n, 0, "only the owner can release");
    let n = store
        .job_release(JobReleaseParams {
            owner: "me".into(),
            ids: vec![j.id],
        })
        .await
        .expect("release");
    assert_eq!(n, 1);
    let got = store.job_get(j.id).await.expect("get").expect("exists");
    assert_eq!(got.status, JobStatus::Queued);
    assert_eq!(got.attempt, 0);
    assert_eq!(got.lease_owner, None);
}

/// Listing filters by status, type, class and parent, newest first, with keyset pages.
pub(crate) async fn list_filters_and_pages_newest_first(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let mut all = Vec::new();
    for i in 0..5u64 {
        let mut j = job(&ids, add(t0(), secs(i)));
        if i % 2 == 0 {
            j.class_name = "Even".into();
        }
        if i == 4 {
            j.job_type = JobType::Future;
            j.parent_job_id = Some(all[0]);
        }
        all.push(j.id);
        insert(store, vec![j]).await;
    }
    store
        .job_abort(JobAbortParams {
            id: all[1],
            now: t0(),
        })
        .await
        .expect("abort");
    let list = |p: JobListParams| async move {
        store
            .job_list(p)
            .await
            .expect("list")
            .into_iter()
            .map(|j| j.id)
            .collect::<Vec<_>>()
    };
    let newest_first: Vec<JobId> = all.iter().rev().copied().collect();
    assert_eq!(list(JobListParams::default()).await, newest_first);
    assert_eq!(
        list(JobListParams {
            class_name: Some("Even".into()),
            ..Default::default()
        })
        .await,
        vec![all[4], all[2], all[0]]
    );
    assert_eq!(
        list(JobListParams {
            statuses: vec![JobStatus::Aborted],
            ..Default::default()
        })
        .await,
        vec![all[1]]
    );
    assert_eq!(
        list(JobListParams {
            job_types: vec![JobType::Future],
            ..Default::default()
        })
        .await,
        vec![all[4]]
    );
    assert_eq!(
        list(JobListParams {
            parent_job_id: Some(all[0]),
            ..Default::default()
        })
        .await,
        vec![all[4]]
    );
    let page1 = list(JobListParams {
        limit: 2,
        ..Default::default()
    })
    .await;
    assert_eq!(page1, vec![all[4], all[3]]);
    let page2 = list(JobListParams {
        limit: 2,
        before: page1.last().copied(),
        ..Default::default()
    })
    .await;
    assert_eq!(page2, vec![all[2], all[1]]);

    // Several statuses or types (a value named twice counts once), and a type with a status,
    // page newest first across all of them.
    let b = NewJob {
        status: JobStatus::Queued,
        ..NewJob::batch(
            ids.job_id(add(t0(), secs(10))),
            "Reindex",
            "{}".into(),
            asyncapex_core::batch::BatchScope::DEFAULT,
            add(t0(), secs(10)),
        )
    };
    insert(store, vec![b.clone()]).await;
    assert_eq!(
        list(JobListParams {
            statuses: vec![JobStatus::Queued],
            job_types: vec![JobType::BatchApex],
            ..Default::default()
        })
        .await,
        vec![b.id]
    );
    let queued_or_aborted = JobListParams {
        statuses: vec![JobStatus::Queued, JobStatus::Aborted, JobStatus::Queued],
        ..Default::default()
    };
    assert_eq!(
        list(queued_or_aborted.clone()).await,
        vec![b.id, all[4], all[3], all[2], all[1], all[0]]
    );
    assert_eq!(
        list(JobListParams {
            limit: 2,
            before: Some(all[3]),
            ..queued_or_aborted
        })
        .await,
        vec![all[2], all[1]]
    );
    assert_eq!(
        list(JobListParams {
            job_types: vec![JobType::Future, JobType::BatchApex],
            ..Default::default()
        })
        .await,
        vec![b.id, all[4]]
    );
}

/// Counts reflect statuses and what is due.
pub(crate) async fn counts_by_status_and_pending(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let due = job(&ids, t0());
    let later = job(&ids, add(t0(), secs(100)));
    let running = job(&ids, t0());
    insert(store, vec![running.clone()]).await;
    claim(store, "w", t0(), 1).await;
    insert(store, vec![due, later]).await;
    let mut counts = store.job_count_by_status().await.expect("counts");
    counts.sort();
    assert_eq!(
        counts,
        vec![(JobStatus::Queued, 2), (JobStatus::Processing, 1)]
    );
    assert_eq!(store.job_count_pending(t0()).await.expect("pending"), 2);
    assert_eq!(
        store
            .job_count_pending(add(t0(), secs(100)))
            .await
            .expect("pending"),
        3
    );
}

/// Workers sleep until the earliest queued run time.
pub(crate) async fn next_run_at_is_the_earliest_queued_run_time(store: &dyn Store) {
    assert_eq!(
        store
            .job_next_run_at(vec!["default".into()], jiff::Timestamp::MIN)
            .await
            .expect("next"),
        None
    );
    let ids = IdGenerator::new(1);
    let a = job(&ids, add(t0(), secs(30)));
    let b = job(&ids, add(t0(), secs(10)));
    insert(store, vec![a, b]).await;
    assert_eq!(
        store
            .job_next_run_at(vec!["default".into()], jiff::Timestamp::MIN)
            .await
            .expect("next"),
        Some(add(t0(), secs(10)))
    );
    claim(store, "w", add(t0(), secs(10)), 1).await;
    assert_eq!(
        store
            .job_next_run_at(vec!["default".into()], jiff::Timestamp::MIN)
            .await
            .expect("next"),
        Some(add(t0(), secs(30)))
    );
}

/// The daily cap's count: a window start and a set of job types.
pub(crate) async fn count_created_since_counts_only_the_window_and_the_types(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let old = job(&ids, t0());
    let mut recent = job(&ids, add(t0(), secs(100)));
    recent.created_at = add(t0(), secs(100));
    let mut future_call = job(&ids, add(t0(), secs(200)));
    future_call.created_at = add(t0(), secs(200));
    future_call.job_type = JobType::Future;
    let mut finalizer = job(&ids, add(t0(), secs(300)));
    finalizer.created_at = add(t0(), secs(300));
    finalizer.job_type = JobType::Finalizer;
    insert(store, vec![old, recent, future_call, finalizer]).await;
    let count = |since, job_types| async move {
        store
            .job_count_created_since(JobCountCreatedSinceParams { since, job_types })
            .await
            .expect("count")
    };
    let counted = vec![JobType::Queueable, JobType::Future];
    assert_eq!(count(t0(), counted.clone()).await, 3);
    assert_eq!(
        count(add(t0(), secs(100)), counted.clone()).await,
        2,
        "inclusive start"
    );
    assert_eq!(count(add(t0(), secs(101)), counted).await, 1);
    assert_eq!(count(t0(), vec![JobType::Finalizer]).await, 1);
    assert_eq!(count(t0(), vec![]).await, 0);
}

/// The last hour's figures (per minute, durations, rescues) are exact to the microsecond at
/// the window's start (a store may keep them per minute), and for a window older than such
/// figures are kept (days back) too.
pub(crate) async fn job_stats_are_exact_at_minute_edges_and_days_back(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let at = |micros: i64| {
        t0().checked_add(jiff::SignedDuration::from_micros(micros))
            .expect("in range")
    };
    let minute = 60_000_000;
    let failed = || JobOutcome::Failed {
        message: "broken".into(),
    };
    // Each runs 2 ms and ends at its offset from t0 (the start of a whole minute).
    let ends = [
        (-3 * 86_400_000_000, JobOutcome::Completed),
        (0, JobOutcome::Completed),
        (30_000_000, JobOutcome::Completed),
        (30_000_000, failed()),
        (minute - 1, JobOutcome::Completed),
        (minute, JobOutcome::Completed),
        (90_000_000, JobOutcome::Completed),
    ];
    for (end, outcome) in ends {
        let start = at(end - 2_000);
        let j = job(&ids, start);
        insert(store, vec![j.clone()]).await;
        assert_eq!(claim(store, "w", start, 1).await, vec![j.id]);
        let done = store
            .job_finish(finish(j.id, "w", at(end), outcome))
            .await
            .expect("finish");
        assert!(done);
    }
    // One aborted before it ran: on the minute chart, not among the durations.
    let waiting = job(&ids, at(45_000_000));
    insert(store, vec![waiting.clone()]).await;
    store
        .job_abort(JobAbortParams {
            id: waiting.id,
            now: at(45_000_000),
        })
        .await
        .expect("abort");
    let figures = |since| async move {
        let s = store
            .job_stats(JobStatsParams { since })
            .await
            .expect("stats");
        let minutes: Vec<(i64, u64, u64)> = s
            .per_minute
            .iter()
            .map(|m| {
                (
                    (m.minute.as_microsecond() - t0().as_microsecond()) / minute,
                    m.completed,
                    m.failed,
                )
            })
            .filter(|m| m.1 + m.2 > 0)
            .collect();
        let ran: u64 = s.duration_counts.iter().sum();
        assert_eq!(s.duration_counts[0], ran, "every run took 2 ms");
        assert_eq!(s.duration_sum_ms, 2 * ran);
        assert_eq!(s.rescued, 0);
        (minutes, ran)
    };
    assert_eq!(
        figures(at(0)).await,
        (vec![(0, 3, 1), (1, 2, 0)], 6),
        "from a whole minute"
    );
    assert_eq!(
        figures(at(1)).await,
        (vec![(0, 2, 1), (1, 2, 0)], 5),
        "one microsecond later"
    );
    assert_eq!(
        figures(at(30_000_000)).await,
        (vec![(0, 2, 1), (1, 2, 0)], 5),
        "an end at the window's start is in it"
    );
    assert_eq!(
        figures(at(30_000_001)).await,
        (vec![(0, 1, 0), (1, 2, 0)], 3),
        "one microsecond after an end"
    );
    assert_eq!(figures(at(minute)).await, (vec![(1, 2, 0)], 2));
    assert_eq!(figures(at(minute + 1)).await, (vec![(1, 1, 0)], 1));
    assert_eq!(figures(at(91_000_000)).await, (vec![], 0));
    assert_eq!(
        figures(at(-86_400_000_000)).await,
        (vec![(0, 3, 1), (1, 2, 0)], 6),
        "a day back"
    );
    assert_eq!(
        figures(at(-4 * 86_400_000_000)).await,
        (vec![(-4320, 1, 0), (0, 3, 1), (1, 2, 0)], 7),
        "four days back"
    );
}

/// The creation count is exact to the microsecond at minute edges (a store may keep counts
/// per minute), and for a window older than such counts keep (days back) too.
pub(crate) async fn count_created_since_is_exact_at_minute_edges_and_days_back(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let at = |micros: i64| {
        t0().checked_add(jiff::SignedDuration::from_micros(micros))
            .expect("in range")
    };
    let minute = 60_000_000;
    let mut jobs = Vec::new();
    // Three days before, then around the minute that starts at t0 (a whole minute).
    for offset in [
        -3 * 86_400_000_000,
        0,
        30_000_000,
        minute - 1,
        minute,
        90_000_000,
    ] {
        let mut j = job(&ids, at(offset));
        j.created_at = at(offset);
        jobs.push(j);
    }
    for j in jobs {
        insert(store, vec![j]).await;
    }
    let count = |since| async move {
        store
            .job_count_created_since(JobCountCreatedSinceParams {
                since,
                job_types: vec![JobType::Queueable],
            })
            .await
            .expect("count")
    };
    assert_eq!(count(at(0)).await, 5);
    assert_eq!(count(at(1)).await, 4, "mid-minute start");
    assert_eq!(
        count(at(minute - 1)).await,
        3,
        "the minute's last microsecond"
    );
    assert_eq!(count(at(minute)).await, 2, "a whole minute");
    assert_eq!(count(at(minute + 1)).await, 1);
    assert_eq!(count(at(-86_400_000_000)).await, 5, "a day back");
    assert_eq!(count(at(-4 * 86_400_000_000)).await, 6, "four days back");
}

/// The creation count is exact at hour edges too (a store may keep counts per hour beside
/// the minutes): every window start around two hour boundaries counts exactly the jobs
/// created at or after it.
pub(crate) async fn count_created_since_is_exact_at_hour_edges(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let at = |micros: i64| {
        t0().checked_add(jiff::SignedDuration::from_micros(micros))
            .expect("in range")
    };
    let (minute, hour) = (60_000_000, 3_600_000_000);
    // t0 starts a whole hour.
    let created = [
        -hour - 1,
        -hour,
        -1,
        0,
        1,
        minute - 1,
        minute,
        hour - minute,
        hour - 1,
        hour,
        hour + 30 * minute,
        2 * hour + 1,
        23 * hour,
    ];
    for offset in created {
        let mut j = job(&ids, at(offset));
        j.created_at = at(offset);
        insert(store, vec![j]).await;
    }
    let mut starts = vec![
        -2 * hour,
        -hour - minute,
        -hour + 1,
        -minute,
        0,
        1,
        minute + 1,
    ];
    starts.extend([
        hour - minute - 1,
        hour - minute + 1,
        hour - 1,
        hour,
        hour + 1,
    ]);
    starts.extend([hour + minute, 2 * hour, 2 * hour + 2, 23 * hour, 24 * hour]);
    for since in starts {
        let n = store
            .job_count_created_since(JobCountCreatedSinceParams {
                since: at(since),
                job_types: vec![JobType::Queueable],
            })
            .await
            .expect("count");
        let want = created.iter().filter(|&&c| c >= since).count() as u64;
        assert_eq!(n, want, "created at or after t0 {since:+} µs");
    }
}

/// Dashboard counts: by type and status, per minute, durations and rescues.
pub(crate) async fn job_stats_count_by_type_status_minute_and_duration(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let ms = |n: u64| add(t0(), Duration::from_millis(n));
    let runs: Vec<NewJob> = (0..3).map(|_| job(&ids, t0())).collect();
    insert(store, runs.clone()).await;
    assert_eq!(claim(store, "w", t0(), 3).await.len(), 3);
    // A fourth job's worker dies; it is rescued and runs again.
    let rescued = job(&ids, t0());
    insert(store, vec![rescued.clone()]).await;
    claim(store, "dead", t0(), 1).await;
    store
        .job_rescue(JobRescueParams {
            now: ms(31_000),
            exclude_owner: Some("w".into()),
        })
        .await
        .expect("rescue");
    claim(store, "w", ms(31_000), 1).await;
    insert(store, vec![job(&ids, add(t0(), secs(1_000)))]).await;
    let ends = [
        (runs[0].id, ms(3), JobOutcome::Completed),
        (runs[1].id, ms(40), JobOutcome::Completed),
        (
            runs[2].id,
            ms(2_000),
            JobOutcome::Failed {
                message: "slow and broken".into(),
            },
        ),
        (rescued.id, ms(31_001), JobOutcome::Completed),
    ];
    for (id, when, outcome) in ends {
        assert!(
            store
                .job_finish(finish(id, "w", when, outcome))
                .await
                .expect("finish")
        );
    }
    let stats = store
        .job_stats(JobStatsParams { since: t0() })
        .await
        .expect("stats");
    let mut by = stats.by_type_and_status.clone();
    by.sort();
    assert_eq!(
        by,
        vec![
            (JobType::Queueable, JobStatus::Queued, 1),
            (JobType::Queueable, JobStatus::Completed, 3),
            (JobType::Queueable, JobStatus::Failed, 1),
        ]
    );
    let completed: u64 = stats.per_minute.iter().map(|m| m.completed).sum();
    let failed: u64 = stats.per_minute.iter().map(|m| m.failed).sum();
    assert_eq!((completed, failed), (3, 1));
    assert!(
        stats
            .per_minute
            .iter()
            .all(|m| m.minute.as_second() % 60 == 0)
    );
    // Durations run from the first start: 3 ms, 40 ms, 2 s and 31.001 s.
    let mut expected = vec![0; asyncapex_core::DURATION_BUCKETS_MS.len() + 1];
    expected[0] = 1; // <= 5 ms
    expected[3] = 1; // <= 50 ms
    expected[8] = 1; // <= 2.5 s
    expected[12] = 1; // <= 60 s
    assert_eq!(stats.duration_counts, expected);
    assert_eq!(stats.duration_sum_ms, 3 + 40 + 2_000 + 31_001);
    assert_eq!(stats.rescued, 1);
    let later = store
        .job_stats(JobStatsParams {
            since: add(t0(), secs(10_000)),
        })
        .await
        .expect("stats");
    assert!(later.per_minute.is_empty());
    assert_eq!(later.duration_counts.iter().sum::<u64>(), 0);
}

/// The filters an operator searches with: retries of a job, a schedule's firings, any of
/// several class names, submitted and ended ranges (half-open, exact to the microsecond),
/// each alone and together, paged newest first; and `job_count` counts what `job_list`
/// lists, up to its limit.
pub(crate) async fn list_searches_by_link_class_and_time_and_counts_what_it_lists(
    store: &dyn Store,
) {
    let ids = IdGenerator::new(31);
    let trigger: asyncapex_core::CronTriggerId = ids.cron_trigger_id(t0());
    let mut all = Vec::new();
    for i in 0..8u64 {
        let created = add(t0(), secs(60 * i));
        let mut j = job(&ids, created);
        j.class_name = ["SendMail", "SendSms", "Reindex", "sendLater"][i as usize % 4].into();
        if i == 5 || i == 7 {
            j.retry_of = Some(all[1]);
        }
        if i % 3 == 0 {
            j.cron_trigger_id = Some(trigger);
        }
        all.push(j.id);
        insert(store, vec![j]).await;
    }
    // Jobs 0 and 1 end, at t0 + 10 min and t0 + 10 min + 1 µs.
    let claimed = claim(store, "w", add(t0(), secs(3600)), 2).await;
    assert_eq!(claimed, vec![all[0], all[1]]);
    let end0 = add(t0(), secs(600));
    let end1 = add(end0, Duration::from_micros(1));
    for (id, end) in [(all[0], end0), (all[1], end1)] {
        assert!(
            store
                .job_finish(finish(id, "w", end, JobOutcome::Completed))
                .await
                .expect("finish")
        );
    }
    let list = |p: JobListParams| async move {
        let listed: Vec<JobId> = store
            .job_list(p.clone())
            .await
            .expect("list")
            .into_iter()
            .map(|j| j.id)
            .collect();
        let counted = store
            .job_count(JobListParams {
                limit: 1000,
                before: None,
                ..p
            })
            .await
            .expect("count");
        (listed, counted)
    };
    let pick = |idx: &[usize]| idx.iter().map(|&i| all[i]).collect::<Vec<_>>();
    let retries = list(JobListParams {
        retry_of: Some(all[1]),
        ..Default::default()
    })
    .await;
    assert_eq!(retries, (pick(&[7, 5]), 2));
    let fired = list(JobListParams {
        cron_trigger_id: Some(trigger),
        ..Default::default()
    })
    .await;
    assert_eq!(fired, (pick(&[6, 3, 0]), 3));
    let classes = list(JobListParams {
        class_names: vec!["SendSms".into(), "SendMail".into(), "SendMail".into()],
        ..Default::default()
    })
    .await;
    assert_eq!(
        classes,
        (pick(&[5, 4, 1, 0]), 4),
        "a name given twice lists once"
    );
    let range = |from: Option<Timestamp>, before: Option<Timestamp>| asyncapex_core::TimeRange {
        from,
        before,
    };
    // Submitted in [t0 + 2 min, t0 + 5 min): jobs 2, 3, 4; the end is exclusive.
    let created = list(JobListParams {
        created: range(Some(add(t0(), secs(120))), Some(add(t0(), secs(300)))),
        ..Default::default()
    })
    .await;
    assert_eq!(created, (pick(&[4, 3, 2]), 3));
    // Ended in [end0, end1): job 0 only; from end1 on: job 1 only; unfinished never match.
    let ended = list(JobListParams {
        completed: range(Some(end0), Some(end1)),
        ..Default::default()
    })
    .await;
    assert_eq!(ended, (pick(&[0]), 1));
    let later = list(JobListParams {
        completed: range(Some(end1), None),
        ..Default::default()
    })
    .await;
    assert_eq!(later, (pick(&[1]), 1));
    // Together, and paged: the schedule's firings submitted from t0 + 1 min, one per page.
    let both = JobListParams {
        cron_trigger_id: Some(trigger),
        created: range(Some(add(t0(), secs(60))), None),
        limit: 1,
        ..Default::default()
    };
    let page1 = list(both.clone()).await;
    assert_eq!(page1.0, pick(&[6]));
    assert_eq!(page1.1, 2, "the count covers every page");
    let page2 = list(JobListParams {
        before: Some(all[6]),
        ..both.clone()
    })
    .await;
    assert_eq!(page2.0, pick(&[3]));
    let page3 = list(JobListParams {
        before: Some(all[3]),
        ..both
    })
    .await;
    assert!(page3.0.is_empty());
    // A count stops at its limit.
    let capped = store
        .job_count(JobListParams {
            limit: 3,
            ..Default::default()
        })
        .await
        .expect("count");
    assert_eq!(capped, 3);
    // The distinct class names, in byte order (upper case before lower case), bounded.
    let names = store.job_class_names(10).await.expect("names");
    assert_eq!(names, vec!["Reindex", "SendMail", "SendSms", "sendLater"]);
    assert_eq!(store.job_class_names(2).await.expect("names").len(), 2);
}

/// `job_delete` deletes only the finished jobs it names, with their chunks and events, and
/// keeps the kept counts true; waiting, running and unknown IDs are skipped.
pub(crate) async fn delete_removes_only_finished_jobs_with_their_chunks(store: &dyn Store) {
    let ids = IdGenerator::new(32);
    let done = job(&ids, t0());
    let running = job(&ids, t0());
    let waiting = job(&ids, add(t0(), secs(3600)));
    insert(store, vec![done.clone(), running.clone(), waiting.clone()]).await;
    assert_eq!(claim(store, "w", t0(), 2).await, vec![done.id, running.id]);
    assert!(
        store
            .job_finish(finish(
                done.id,
                "w",
                t0(),
                JobOutcome::Failed {
                    message: "x".into()
                }
            ))
            .await
            .expect("finish")
    );
    let unknown = ids.job_id(t0());
    let deleted = store
        .job_delete(vec![done.id, running.id, waiting.id, unknown, done.id])
        .await
        .expect("delete");
    assert_eq!(deleted, 1);
    assert!(store.job_get(done.id).await.expect("get").is_none());
    for id in [running.id, waiting.id] {
        assert!(
            store.job_get(id).await.expect("get").is_some(),
            "{id} is kept"
        );
    }
    assert_eq!(store.job_delete(vec![]).await.expect("delete"), 0);
    assert_eq!(
        store.job_delete(vec![done.id]).await.expect("delete"),
        0,
        "already gone"
    );
    crate::count_cases::assert_counts_match_rows(store).await;
}

/// Each attempt that ends without completing its job leaves a record — a rescue after its
/// worker died, a failure — with its start, end, runner and error; a completion leaves none
/// (the job row holds its last attempt), and `JobRecord::attempts` joins the two. A delete
/// takes the history with the job.
pub(crate) async fn attempts_record_rescues_and_failures_but_not_completions(store: &dyn Store) {
    use asyncapex_core::AttemptOutcome;

    let ids = IdGenerator::new(33);
    let flaky = job(&ids, t0());
    let fine = job(&ids, t0());
    insert(store, vec![flaky.clone(), fine.clone()]).await;
    assert_eq!(claim(store, "w1#1", t0(), 1).await, vec![flaky.id]);
    // w1 dies: its lease runs out and the rescuer queues the job again.
    let rescued_at = add(t0(), secs(31));
    let out = store
        .job_rescue(JobRescueParams {
            now: rescued_at,
            exclude_owner: None,
        })
        .await
        .expect("rescue");
    assert_eq!(out.requeued, vec![flaky.id]);
    let second_start = add(t0(), secs(40));
    let claimed = claim(store, "w2#2", second_start, 2).await;
    assert_eq!(claimed, vec![flaky.id, fine.id]);
    let failed_at = add(t0(), secs(45));
    assert!(
        store
            .job_finish(finish(
                flaky.id,
                "w2#2",
                failed_at,
                JobOutcome::Failed {
                    message: "boom".into()
                }
            ))
            .await
            .expect("finish")
    );
    let done = store
        .job_complete_many(JobCompleteManyParams {
            ids: vec![fine.id],
            owner: "w2#2".into(),
            now: failed_at,
        })
        .await
        .expect("complete");
    assert_eq!(done, vec![fine.id]);

    let recorded = store.job_attempts(flaky.id).await.expect("attempts");
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    let (first, second) = (&recorded[0], &recorded[1]);
    assert_eq!(
        (first.attempt, first.outcome, first.owner.as_deref()),
        (1, AttemptOutcome::Rescued, Some("w1#1"))
    );
    assert_eq!(
        (first.started_at, first.ended_at),
        (Some(t0()), Some(rescued_at))
    );
    assert_eq!(
        first.error.as_deref(),
        Some(asyncapex_core::rules::RESCUED_REQUEUED)
    );
    assert_eq!(
        (second.attempt, second.outcome, second.owner.as_deref()),
        (2, AttemptOutcome::Failed, Some("w2#2"))
    );
    assert_eq!(
        (second.started_at, second.ended_at),
        (Some(second_start), Some(failed_at))
    );
    assert_eq!(second.error.as_deref(), Some("boom"));
    // The record adds nothing the rows already say.
    let record = store.job_get(flaky.id).await.expect("get").expect("exists");
    assert_eq!(record.attempts(recorded.clone()), recorded);

    // A completion: no row, and the record itself gives its one attempt.
    assert!(
        store
            .job_attempts(fine.id)
            .await
            .expect("attempts")
            .is_empty()
    );
    let fine_record = store.job_get(fine.id).await.expect("get").expect("exists");
    assert_eq!(fine_record.last_owner.as_deref(), Some("w2#2"));
    let history = fine_record.attempts(Vec::new());
    assert_eq!(history.len(), 1);
    assert_eq!(
        (
            history[0].outcome,
            history[0].started_at,
            history[0].ended_at
        ),
        (
            AttemptOutcome::Completed,
            Some(second_start),
            Some(failed_at)
        )
    );
    assert_eq!(history[0].owner.as_deref(), Some("w2#2"));

    // The history goes with the job.
    assert_eq!(store.job_delete(vec![flaky.id]).await.expect("delete"), 1);
    assert!(
        store
            .job_attempts(flaky.id)
            .await
            .expect("attempts")
            .is_empty()
    );
}

/// The sensitive fields an engine records for a class are listed for every view, and a
/// second record for the class replaces the first.
pub(crate) async fn sensitive_fields_are_recorded_per_class_and_replaced(store: &dyn Store) {
    assert!(
        store
            .sensitive_fields_list()
            .await
            .expect("list")
            .is_empty()
    );
    store
        .sensitive_fields_put("Charge".into(), vec!["card".into(), "cvv".into()], t0())
        .await
        .expect("put");
    store
        .sensitive_fields_put("Signup".into(), vec!["user.email".into()], t0())
        .await
        .expect("put");
    store
        .sensitive_fields_put("Charge".into(), vec!["card".into()], add(t0(), secs(1)))
        .await
        .expect("replace");
    let listed = store.sensitive_fields_list().await.expect("list");
    assert_eq!(listed.fields("Charge"), ["card".to_owned()]);
    assert_eq!(listed.fields("Signup"), ["user.email".to_owned()]);
    assert!(listed.fields("Other").is_empty());
}
