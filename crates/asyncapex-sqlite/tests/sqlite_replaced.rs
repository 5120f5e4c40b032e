//! A database file deleted or replaced under a running store: the store must say so (a typed
//! error on heartbeat and claim) instead of working on a file nobody else sees.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use asyncapex_core::{
    Error, JobClaimParams, NodeHeartbeatParams, NodeRegisterParams, Store, StoreErrorKind,
};
use asyncapex_sqlite::{SqliteOptions, SqliteStore};

/// Checks on every call, so the test needs no waiting.
fn every_call() -> SqliteOptions {
    SqliteOptions {
        file_check_interval: Duration::ZERO,
        ..Default::default()
    }
}

async fn node(store: &SqliteStore) -> i64 {
    store
        .node_register(NodeRegisterParams {
            name: "test".into(),
            now: jiff::Timestamp::now(),
            runs_jobs: true,
        })
        .await
        .unwrap()
}

fn heartbeat(id: i64) -> NodeHeartbeatParams {
    NodeHeartbeatParams {
        id,
        now: jiff::Timestamp::now(),
    }
}

fn claim() -> JobClaimParams {
    let now = jiff::Timestamp::now();
    JobClaimParams {
        owner: "test".into(),
        now,
        lease_until: now,
        queues: asyncapex_core::QueueClaim::default_queue(10),
    }
}

fn remove_with_sidecars(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

fn assert_replaced(err: &Error, path: &std::path::Path, seen: &str) {
    assert!(
        matches!(
            err,
            Error::Store {
                kind: StoreErrorKind::Replaced,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains(seen), "{text}");
}

#[tokio::test]
async fn a_deleted_database_file_fails_heartbeat_and_claim_with_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gone.db");
    let store = SqliteStore::open_with(&path, every_call()).await.unwrap();
    let id = node(&store).await;
    assert!(store.node_heartbeat(heartbeat(id)).await.unwrap());
    assert!(store.job_claim(claim()).await.unwrap().is_empty());

    remove_with_sidecars(&path);
    let err = store.node_heartbeat(heartbeat(id)).await.unwrap_err();
    assert_replaced(&err, &path, "deleted");
    let err = store.job_claim(claim()).await.unwrap_err();
    assert_replaced(&err, &path, "deleted");
}

#[tokio::test]
async fn a_database_file_replaced_by_another_fails_heartbeat_and_claim_with_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("swapped.db");
    let store = SqliteStore::open_with(&path, every_call()).await.unwrap();
    let id = node(&store).await;
    // Another database moved into its place (as a restore from a backup would).
    let other = dir.path().join("other.db");
    drop(SqliteStore::open(&other).await.unwrap());
    remove_with_sidecars(&path);
    std::fs::rename(&other, &path).unwrap();

    let err = store.node_heartbeat(heartbeat(id)).await.unwrap_err();
    assert_replaced(&err, &path, "replaced");
    let err = store.job_claim(claim()).await.unwrap_err();
    assert_replaced(&err, &path, "replaced");
}

#[tokio::test]
async fn the_file_is_checked_at_most_once_per_interval() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rate.db");
    let options = SqliteOptions {
        file_check_interval: Duration::from_secs(3600),
        ..Default::default()
    };
    let store = SqliteStore::open_with(&path, options).await.unwrap();
    let id = node(&store).await;
    // The first heartbeat checks and finds the file; within the hour no call stats it again,
    // so the check costs one stat per interval however often a worker claims.
    assert!(store.node_heartbeat(heartbeat(id)).await.unwrap());
    remove_with_sidecars(&path);
    assert!(store.node_heartbeat(heartbeat(id)).await.is_ok());
    assert!(store.job_claim(claim()).await.is_ok());
}
