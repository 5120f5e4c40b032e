//! Durable finalizers: a finalizer stored with its running job outlives the process that
//! attached it, and a job the rescuer fails after its last attempt still gets it run, once.

use asyncapex_core::clock::add;
use asyncapex_core::{
    IdGenerator, JobFinalizerStoreParams, JobFinishParams, JobId, JobOutcome, JobRescueParams,
    JobStatus, NewJob, Store,
};

use crate::job_cases::{claim, insert, job, secs, t0};

fn attach(id: JobId, owner: &str, state: &str) -> JobFinalizerStoreParams {
    JobFinalizerStoreParams {
        id,
        owner: owner.into(),
        class: "Notify".into(),
        state: state.into(),
    }
}

async fn rescue_at(store: &dyn Store, seconds: u64) {
    store
        .job_rescue(JobRescueParams {
            now: add(t0(), secs(seconds)),
            exclude_owner: None,
        })
        .await
        .expect("rescue");
}

async fn stranded(store: &dyn Store) -> Vec<(JobId, String, String)> {
    store
        .job_finalizers_stranded(100)
        .await
        .expect("stranded")
        .into_iter()
        .map(|s| (s.job.id, s.class, s.state))
        .collect()
}

/// Only the lease holder stores a finalizer, on a running job; it is stranded (left to run
/// from the store) only when a rescue fails its job. An end clears it, and so does a rescue
/// that requeues the job (its next attempt attaches its own).
pub(crate) async fn a_stored_finalizer_is_stranded_only_when_a_rescue_fails_its_job(
    store: &dyn Store,
) {
    let ids = IdGenerator::new(1);
    let mut last = job(&ids, t0());
    last.max_attempts = 1;
    let mut again = job(&ids, t0());
    again.max_attempts = 2;
    let ended = job(&ids, t0());
    let waiting = job(&ids, add(t0(), secs(3600)));
    insert(
        store,
        vec![last.clone(), again.clone(), ended.clone(), waiting.clone()],
    )
    .await;
    assert_eq!(claim(store, "dead", t0(), 3).await.len(), 3);
    for (id, state) in [(last.id, "1"), (again.id, "2"), (ended.id, "3")] {
        assert!(
            store
                .job_finalizer_store(attach(id, "dead", "0"))
                .await
                .unwrap()
        );
        // Replaced by a later store (the state at the end of the execution wins).
        assert!(
            store
                .job_finalizer_store(attach(id, "dead", state))
                .await
                .unwrap()
        );
    }
    assert!(
        !store
            .job_finalizer_store(attach(last.id, "someone-else", "x"))
            .await
            .unwrap(),
        "only the lease holder stores one"
    );
    assert!(
        !store
            .job_finalizer_store(attach(waiting.id, "dead", "x"))
            .await
            .unwrap(),
        "only on a running job"
    );
    assert!(
        stranded(store).await.is_empty(),
        "running jobs strand nothing"
    );
    let finished = store
        .job_finish(JobFinishParams {
            id: ended.id,
            owner: "dead".into(),
            now: t0(),
            outcome: JobOutcome::Failed {
                message: "boom".into(),
            },
            insert: Vec::new(),
            max_holding: 100,
        })
        .await
        .unwrap();
    assert!(finished);
    rescue_at(store, 60).await;
    assert_eq!(
        store.job_get(last.id).await.unwrap().unwrap().status,
        JobStatus::Failed
    );
    assert_eq!(
        store.job_get(again.id).await.unwrap().unwrap().status,
        JobStatus::Queued
    );
    assert_eq!(
        stranded(store).await,
        vec![(last.id, "Notify".to_owned(), "1".to_owned())],
        "the job failed by the rescue, not the one that ended nor the requeued one"
    );
    // The requeued job's next attempt dies too, without attaching: nothing of the first
    // attempt's finalizer is left to run.
    assert_eq!(
        claim(store, "dead-again", add(t0(), secs(61)), 1).await,
        vec![again.id]
    );
    rescue_at(store, 3600).await;
    assert_eq!(
        store.job_get(again.id).await.unwrap().unwrap().status,
        JobStatus::Failed
    );
    assert_eq!(stranded(store).await.len(), 1);
}

/// Dispatching a stranded finalizer clears it and inserts its run in one transaction, once:
/// a second dispatch (another node's) changes nothing and inserts nothing.
pub(crate) async fn a_stranded_finalizer_is_dispatched_once_with_its_run(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let mut parent = job(&ids, t0());
    parent.max_attempts = 1;
    insert(store, vec![parent.clone()]).await;
    claim(store, "dead", t0(), 1).await;
    assert!(
        store
            .job_finalizer_store(attach(parent.id, "dead", "{}"))
            .await
            .unwrap()
    );
    rescue_at(store, 60).await;
    let [s] = store
        .job_finalizers_stranded(10)
        .await
        .unwrap()
        .try_into()
        .unwrap();
    let run = |n: u64| {
        NewJob::finalizer(
            ids.job_id(add(t0(), secs(60 + n))),
            s.class.clone(),
            "{}".into(),
            &s.job,
            add(t0(), secs(60)),
        )
    };
    let (first, second) = (run(1), run(2));
    assert!(
        store
            .job_finalizer_dispatch(parent.id, first.clone())
            .await
            .unwrap()
    );
    assert!(
        !store
            .job_finalizer_dispatch(parent.id, second.clone())
            .await
            .unwrap()
    );
    let inserted = store.job_get(first.id).await.unwrap().expect("the run");
    assert_eq!(inserted.status, JobStatus::Queued);
    assert_eq!(inserted.parent_job_id, Some(parent.id));
    assert!(store.job_get(second.id).await.unwrap().is_none());
    assert!(stranded(store).await.is_empty());
}

/// A graceful shutdown's release gives the job back without its stored finalizer: if its
/// next attempt attaches none and then dies on the last attempt, nothing stale runs.
pub(crate) async fn a_released_job_keeps_no_stored_finalizer(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let mut j = job(&ids, t0());
    j.max_attempts = 1;
    insert(store, vec![j.clone()]).await;
    claim(store, "leaving", t0(), 1).await;
    assert!(
        store
            .job_finalizer_store(attach(j.id, "leaving", "{}"))
            .await
            .unwrap()
    );
    let released = store
        .job_release(asyncapex_core::JobReleaseParams {
            owner: "leaving".into(),
            ids: vec![j.id],
        })
        .await
        .unwrap();
    assert_eq!(released, 1);
    assert_eq!(claim(store, "dead", t0(), 1).await, vec![j.id]);
    rescue_at(store, 60).await;
    assert_eq!(
        store.job_get(j.id).await.unwrap().unwrap().status,
        JobStatus::Failed
    );
    assert!(
        stranded(store).await.is_empty(),
        "the released attempt's finalizer is gone"
    );
}
