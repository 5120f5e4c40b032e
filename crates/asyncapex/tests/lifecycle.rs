//! Lifecycle steps a program can subscribe to (`Engine::subscribe_lifecycle`): enqueued,
//! started, completed, failed with its error, aborted, rescued.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use asyncapex::clock::add;
use asyncapex::unstable::store::{JobClaimParams, Store};
use asyncapex::{
    Engine, EnqueueOptions, JobError, JobId, JobLifecycle, JobStatus, JobType, LifecycleStep,
    ManualClock, Queueable, QueueableContext,
};
use serde::{Deserialize, Serialize};
use support::WAIT;
use tokio::sync::broadcast;

#[derive(Serialize, Deserialize)]
struct Step {
    fail: bool,
    chain: bool,
}

impl Queueable for Step {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        if self.chain {
            ctx.enqueue_job(Step {
                fail: false,
                chain: false,
            })?;
        }
        if self.fail {
            return Err(JobError::new("the card was declined"));
        }
        Ok(())
    }
}

/// Receives steps until `done` says the collected ones are enough.
async fn collect(
    rx: &mut broadcast::Receiver<JobLifecycle>,
    done: impl Fn(&HashMap<JobId, Vec<LifecycleStep>>) -> bool,
) -> HashMap<JobId, Vec<LifecycleStep>> {
    let mut by_job: HashMap<JobId, Vec<LifecycleStep>> = HashMap::new();
    tokio::time::timeout(WAIT, async {
        while !done(&by_job) {
            let step = rx.recv().await.unwrap();
            assert_eq!(step.class_name, "Step");
            assert_eq!(step.job_type, JobType::Queueable);
            by_job.entry(step.id).or_default().push(step.step);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("steps seen so far: {by_job:?}"));
    by_job
}

#[tokio::test]
async fn every_step_of_a_jobs_life_is_published_in_order() {
    let engine = Engine::builder()
        .in_memory()
        .register::<Step>()
        .start()
        .await
        .unwrap();
    let mut rx = engine.subscribe_lifecycle();
    let ok = engine
        .enqueue_job(Step {
            fail: false,
            chain: true,
        })
        .await
        .unwrap();
    let failing = engine
        .enqueue_job(Step {
            fail: true,
            chain: true,
        })
        .await
        .unwrap();
    let later = engine
        .enqueue_job_with(
            Step {
                fail: false,
                chain: false,
            },
            EnqueueOptions::default().delay(Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    engine.wait_for(ok, WAIT).await.unwrap();
    engine.wait_for(failing, WAIT).await.unwrap();
    engine.abort_job(later).await.unwrap();
    let steps = collect(&mut rx, |s| {
        s.len() == 4 && s.values().map(Vec::len).sum::<usize>() == 3 + 3 + 3 + 2
    })
    .await;
    let queued = LifecycleStep::Enqueued {
        status: JobStatus::Queued,
    };
    let first = LifecycleStep::Started { attempt: 1 };
    assert_eq!(
        steps[&ok],
        vec![queued.clone(), first.clone(), LifecycleStep::Completed]
    );
    assert_eq!(
        steps[&failing],
        vec![
            queued.clone(),
            first.clone(),
            LifecycleStep::Failed {
                error: "the card was declined".into()
            }
        ],
        "a failed execution's chained job is discarded, and not announced"
    );
    let child = steps
        .keys()
        .find(|id| ![ok, failing, later].contains(id))
        .copied()
        .unwrap();
    assert_eq!(
        engine.job(child).await.unwrap().parent_job_id,
        Some(ok),
        "the child is the succeeding job's"
    );
    assert_eq!(
        steps[&child],
        vec![queued.clone(), first, LifecycleStep::Completed]
    );
    assert_eq!(steps[&later], vec![queued, LifecycleStep::Aborted]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rescued_job_is_published_then_started_again() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        asyncapex::SqliteStore::open(dir.path().join("jobs.db"))
            .await
            .unwrap(),
    );
    // Enqueued by a process that runs nothing; claimed by a worker that then dies.
    let api = Engine::builder()
        .store(store.clone())
        .register::<Step>()
        .concurrency(0)
        .start()
        .await
        .unwrap();
    let id = api
        .enqueue_job(Step {
            fail: false,
            chain: false,
        })
        .await
        .unwrap();
    let now = jiff::Timestamp::now();
    let claimed = store
        .job_claim(JobClaimParams {
            owner: "dead-worker".into(),
            now,
            lease_until: add(now, Duration::from_secs(30)),
            queues: asyncapex_core::QueueClaim::default_queue(1),
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    // The worker's clock stands still until the test has subscribed; then the dead worker's
    // lease expires.
    let clock = ManualClock::new(now);
    let worker = Engine::builder()
        .store(store)
        .register::<Step>()
        .clock(clock.clone())
        .rescue_interval(Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let mut rx = worker.subscribe_lifecycle();
    clock.advance(Duration::from_secs(60));
    let steps = collect(&mut rx, |s| s.get(&id).is_some_and(|v| v.len() == 3)).await;
    let mut seen = steps[&id].clone();
    // The rescue's step is published after the rescue commits, and a worker may claim the
    // job in between: its Started step can come first (documented).
    let rescued = LifecycleStep::Rescued {
        status: JobStatus::Queued,
    };
    let at = seen.iter().position(|s| *s == rescued).expect("rescued");
    seen.remove(at);
    assert_eq!(
        seen,
        vec![
            LifecycleStep::Started { attempt: 2 },
            LifecycleStep::Completed
        ]
    );
    worker.shutdown(Duration::from_secs(5)).await.unwrap();
    api.shutdown(Duration::from_secs(5)).await.unwrap();
}
