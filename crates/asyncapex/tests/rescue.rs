//! Rescue: a live process's long job is never taken from it, however many leases it outlives
//! (its heartbeats renew them), while another process's rescuer keeps looking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use asyncapex::{Engine, JobError, JobStatus, Queueable, QueueableContext};
use serde::{Deserialize, Serialize};
use support::WAIT;

static RUNS: AtomicU32 = AtomicU32::new(0);

#[derive(Serialize, Deserialize)]
struct Long;

impl Queueable for Long {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        RUNS.fetch_add(1, Ordering::SeqCst);
        // Five leases long.
        tokio::time::sleep(Duration::from_millis(3000)).await;
        Ok(())
    }
}

async fn node(store: std::sync::Arc<dyn asyncapex::unstable::store::Store>) -> Engine {
    Engine::builder()
        .store(store)
        .register::<Long>()
        .concurrency(1)
        .lease_duration(Duration::from_millis(600))
        .rescue_interval(Duration::from_millis(100))
        .poll_interval(Duration::from_millis(50))
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_job_on_a_live_node_is_never_rescued() {
    let dir = tempfile::tempdir().unwrap();
    let store: std::sync::Arc<dyn asyncapex::unstable::store::Store> = std::sync::Arc::new(
        asyncapex::SqliteStore::open(dir.path().join("jobs.db"))
            .await
            .unwrap(),
    );
    let a = node(store.clone()).await;
    let id = a.enqueue_job(Long).await.unwrap();
    tokio::time::timeout(WAIT, async {
        while RUNS.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    // Another node, whose rescuer looks every 100 ms while the job outlives five leases.
    let b = node(store.clone()).await;
    let done = a.wait_for(id, WAIT).await.unwrap();
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.attempt, 1, "never rescued: still its first attempt");
    assert_eq!(RUNS.load(Ordering::SeqCst), 1, "it ran once");
    b.shutdown(Duration::from_secs(5)).await.unwrap();
    a.shutdown(Duration::from_secs(5)).await.unwrap();
}
