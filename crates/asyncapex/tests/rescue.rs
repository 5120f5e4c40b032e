//! Rescue: a live process's long job is never taken from it, however many leases it outlives
//! (its heartbeats renew them), while another process's rescuer keeps looking — on both
//! stores (PostgreSQL with `ASYNCAPEX_TEST_POSTGRES_URL`; required when
//! `ASYNCAPEX_REQUIRE_POSTGRES=1`, as in CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use asyncapex::unstable::store::Store;
use asyncapex::{Engine, JobError, JobStatus, Queueable, QueueableContext};
use serde::{Deserialize, Serialize};
use support::{WAIT, log, logged, signal, wait_signal};

#[derive(Serialize, Deserialize)]
struct Long {
    tag: String,
}

impl Queueable for Long {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        log(&self.tag, "ran");
        signal(&self.tag);
        // Five leases long.
        tokio::time::sleep(Duration::from_millis(3000)).await;
        Ok(())
    }
}

async fn node(store: Arc<dyn Store>) -> Engine {
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

/// Node A runs a job five leases long while node B's rescuer looks every 100 ms.
async fn outlives_its_leases(store: Arc<dyn Store>, tag: &str) {
    let a = node(store.clone()).await;
    let id = a.enqueue_job(Long { tag: tag.into() }).await.unwrap();
    wait_signal(tag).await;
    let b = node(store.clone()).await;
    let done = a.wait_for(id, WAIT).await.unwrap();
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.attempt, 1, "never rescued: still its first attempt");
    assert_eq!(logged(tag), vec!["ran"], "it ran once");
    b.shutdown(Duration::from_secs(5)).await.unwrap();
    a.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_job_on_a_live_node_is_never_rescued() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        asyncapex::SqliteStore::open(dir.path().join("jobs.db"))
            .await
            .unwrap(),
    );
    outlives_its_leases(store, "sqlite-long").await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_job_on_a_live_postgres_node_is_never_rescued() {
    let Some(url) = support::postgres_url() else {
        return;
    };
    let schema = format!("asyncapex_rescue_{}", std::process::id());
    let store: Arc<dyn Store> = Arc::new(
        asyncapex::PostgresStore::connect_with(
            &url,
            asyncapex::PostgresOptions {
                schema: schema.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap(),
    );
    outlives_its_leases(store, "postgres-long").await;
    asyncapex::PostgresStore::drop_schema(&url, &schema)
        .await
        .unwrap();
}
