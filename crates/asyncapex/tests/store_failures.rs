//! An engine whose SQLite file is deleted under it stops claiming and says why, instead of
//! working on against a file nobody sees (issue 13, hole 5).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use asyncapex::{Engine, Error, JobError, Queueable, QueueableContext, StoreErrorKind};
use serde::{Deserialize, Serialize};
use support::WAIT;

#[derive(Serialize, Deserialize)]
struct Noop;

impl Queueable for Noop {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_deleted_database_file_stops_the_engine_with_a_replaced_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let engine = Engine::builder()
        .sqlite(&path)
        .register::<Noop>()
        .lease_duration(Duration::from_millis(300))
        .poll_interval(Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let id = engine.enqueue_job(Noop).await.unwrap();
    engine.wait_for(id, WAIT).await.unwrap();
    assert!(engine.failure().is_none());
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
    let failed = tokio::time::timeout(WAIT, engine.wait_failure())
        .await
        .expect("the engine noticed the deleted file within the bound");
    assert!(
        matches!(
            failed,
            Error::Store {
                kind: StoreErrorKind::Replaced,
                ..
            }
        ),
        "{failed}"
    );
    assert!(
        failed.to_string().contains("jobs.db"),
        "the error names the file: {failed}"
    );
    assert!(engine.failure().is_some());
}

#[tokio::test]
async fn a_delay_past_what_a_store_keeps_is_refused_before_it_reaches_the_store() {
    let engine = Engine::builder()
        .in_memory()
        .register::<Noop>()
        .concurrency(0)
        .start()
        .await
        .unwrap();
    let err = engine
        .enqueue_job_with(
            Noop,
            asyncapex::EnqueueOptions::default().delay(Duration::from_secs(115_200_858_273_512)),
        )
        .await
        .expect_err("a run time after 9999 is refused");
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                what: "duration",
                ..
            }
        ),
        "{err}"
    );
    // Nothing reached the store: every listing still decodes.
    assert!(
        engine
            .jobs(asyncapex::JobListParams::default())
            .await
            .unwrap()
            .is_empty()
    );
}
