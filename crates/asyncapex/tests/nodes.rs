//! The node list tells the truth: an engine that runs no jobs (a dashboard) is not listed
//! among the workers, yet heartbeats like one; a worker that shuts down is listed as
//! stopped at once, not as alive until its heartbeat goes stale.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use asyncapex::unstable::store::{NodeListParams, Store};
use asyncapex::{Engine, SqliteStore};

const WAIT: Duration = Duration::from_secs(30);

async fn nodes(
    store: &dyn Store,
    workers_only: bool,
) -> Vec<asyncapex::unstable::store::NodeRecord> {
    store
        .node_list(NodeListParams {
            now: jiff::Timestamp::now(),
            dead_after: Duration::from_secs(60),
            limit: 10,
            workers_only,
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_dashboard_is_no_worker_and_a_stopped_worker_is_not_alive() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let worker = Engine::builder()
        .store(store.clone())
        .concurrency(2)
        .start()
        .await
        .unwrap();
    let dashboard = Engine::builder()
        .store(store.clone())
        .concurrency(0)
        .scheduler(false)
        .lease_duration(Duration::from_millis(60))
        .start()
        .await
        .unwrap();
    let workers = nodes(store.as_ref(), true).await;
    assert_eq!(workers.len(), 1, "{workers:?}");
    assert!(workers[0].runs_jobs && workers[0].alive);
    let all = nodes(store.as_ref(), false).await;
    let dash = all
        .iter()
        .find(|n| !n.runs_jobs)
        .expect("the dashboard is registered");
    // It heartbeats: a dashboard that has served for a while is not "dead".
    let first_beat = dash.heartbeat_at;
    tokio::time::timeout(WAIT, async {
        loop {
            let all = nodes(store.as_ref(), false).await;
            if all
                .iter()
                .any(|n| !n.runs_jobs && n.heartbeat_at > first_beat)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the dashboard's node heartbeats");

    worker.shutdown(WAIT).await.unwrap();
    let workers = nodes(store.as_ref(), true).await;
    assert_eq!(workers[0].state(), "stopped", "{workers:?}");
    assert!(!workers[0].alive && workers[0].stopped_at.is_some());
    dashboard.shutdown(WAIT).await.unwrap();
}
