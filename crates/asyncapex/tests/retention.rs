//! Retention: the cleaner deletes finished records past their retention, and
//! `purge_old_async_jobs` deletes on demand (Apex's `System.purgeOldAsyncJobs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use asyncapex::{
    Engine, Error, JobError, JobStatus, ManualClock, PurgeFilter, Queueable, QueueableContext,
    Retention,
};
use serde::{Deserialize, Serialize};
use support::WAIT;

const DAY: Duration = Duration::from_secs(86_400);

#[derive(Serialize, Deserialize)]
struct Work {
    fail: bool,
}

impl Queueable for Work {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        if self.fail {
            Err(JobError::new("failed on purpose"))
        } else {
            Ok(())
        }
    }
}

async fn engine(clock: &ManualClock, retention: Retention) -> Engine {
    Engine::builder()
        .in_memory()
        .clock(clock.clone())
        .register::<Work>()
        .retention(retention)
        .start()
        .await
        .unwrap()
}

async fn gone(engine: &Engine, id: asyncapex::JobId) -> bool {
    matches!(engine.job(id).await, Err(Error::UnknownJob { .. }))
}

#[tokio::test]
async fn purge_old_async_jobs_deletes_finished_records_before_the_date_and_counts_them() {
    let clock = ManualClock::starting_now();
    let engine = engine(&clock, Retention::forever()).await;
    let done = engine.enqueue_job(Work { fail: false }).await.unwrap();
    let failed = engine.enqueue_job(Work { fail: true }).await.unwrap();
    engine.wait_for(done, WAIT).await.unwrap();
    assert_eq!(
        engine.wait_for(failed, WAIT).await.unwrap().status,
        JobStatus::Failed
    );
    let waiting = engine
        .enqueue_job_with(
            Work { fail: false },
            asyncapex::EnqueueOptions::default().delay(DAY),
        )
        .await
        .unwrap();
    clock.advance(Duration::from_secs(1));
    let cut = clock.now();
    assert_eq!(
        engine.purge_count(&PurgeFilter::before(cut)).await.unwrap(),
        2
    );
    assert_eq!(engine.purge_old_async_jobs(cut).await.unwrap(), 2);
    assert!(gone(&engine, done).await && gone(&engine, failed).await);
    assert_eq!(
        engine.job(waiting).await.unwrap().status,
        JobStatus::Queued,
        "waiting jobs stay"
    );
    assert_eq!(engine.purge_old_async_jobs(cut).await.unwrap(), 0);
}

#[tokio::test]
async fn the_cleaner_deletes_records_past_retention_and_keeps_failures_longer() {
    let clock = ManualClock::starting_now();
    let engine = engine(
        &clock,
        Retention::default().keep_status(JobStatus::Failed, 30 * DAY),
    )
    .await;
    let done = engine.enqueue_job(Work { fail: false }).await.unwrap();
    let failed = engine.enqueue_job(Work { fail: true }).await.unwrap();
    engine.wait_for(done, WAIT).await.unwrap();
    engine.wait_for(failed, WAIT).await.unwrap();
    clock.advance(8 * DAY);
    // The cleaner wakes at its next pass by the engine clock; wait (bounded) for its delete.
    tokio::time::timeout(WAIT, async {
        while !gone(&engine, done).await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the cleaner deleted the completed record within the bound");
    assert!(!gone(&engine, failed).await, "failures are kept 30 days");
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[derive(Serialize, Deserialize)]
struct Tens {
    fail_chunk_with: u64,
}

impl asyncapex::Batchable for Tens {
    type Item = u64;

    async fn start(
        &mut self,
        _ctx: &mut asyncapex::BatchContext,
    ) -> Result<asyncapex::WorkSet<u64>, JobError> {
        Ok(asyncapex::WorkSet::iter(0..10))
    }

    async fn execute(
        &mut self,
        _ctx: &mut asyncapex::BatchContext,
        scope: Vec<u64>,
    ) -> Result<(), JobError> {
        if scope.contains(&self.fail_chunk_with) {
            return Err(JobError::new("this chunk fails"));
        }
        Ok(())
    }

    async fn finish(&mut self, _ctx: &mut asyncapex::BatchContext) -> Result<(), JobError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_finished_batch_keeps_only_its_failed_chunks() {
    let engine = Engine::builder()
        .in_memory()
        .register_batch::<Tens>()
        .start()
        .await
        .unwrap();
    let id = engine
        .execute_batch(Tens { fail_chunk_with: 4 }, 2)
        .await
        .unwrap();
    let done = engine.wait_for(id, WAIT).await.unwrap();
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(
        (
            done.items_processed,
            done.total_items,
            done.number_of_errors
        ),
        (5, 5, 1)
    );
    let chunks = engine.batch_chunks(id, None, 100).await.unwrap();
    assert_eq!(
        chunks.iter().map(|c| c.seq).collect::<Vec<_>>(),
        vec![2],
        "the four completed chunks were released when the batch ended; the failed one stays"
    );
}
