//! `Engine::wait_idle` tells the truth: it does not return while a submitted batch waits in
//! the flex queue, nor while a schedule that a clock move made due has not fired and run.
//! Each case runs on an in-memory and on a file SQLite store.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use asyncapex::{
    BatchContext, Batchable, Engine, JobError, JobListParams, JobStatus, JobType, ManualClock,
    Schedulable, SchedulableContext, WorkSet,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use support::WAIT;

#[derive(Default, Serialize, Deserialize)]
struct Tally;

impl Batchable for Tally {
    type Item = u32;

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<u32>, JobError> {
        Ok(WorkSet::iter(0..10))
    }
    async fn execute(&mut self, _ctx: &mut BatchContext, _scope: Vec<u32>) -> Result<(), JobError> {
        Ok(())
    }
    async fn finish(&mut self, _ctx: &mut BatchContext) -> Result<(), JobError> {
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct Nightly;

impl Schedulable for Nightly {
    async fn execute(&mut self, _ctx: &mut SchedulableContext) -> Result<(), JobError> {
        Ok(())
    }
}

/// Engines on each store the tests cover, all on `clock`.
async fn engines(clock: &ManualClock) -> Vec<(&'static str, Engine, Option<tempfile::TempDir>)> {
    let builder = || {
        Engine::builder()
            .clock(clock.clone())
            .register_batch::<Tally>()
            .register_schedulable::<Nightly>()
    };
    let dir = tempfile::tempdir().unwrap();
    let file = builder()
        .sqlite(dir.path().join("wait_idle.db"))
        .start()
        .await
        .unwrap();
    let memory = builder().in_memory().start().await.unwrap();
    vec![("in-memory", memory, None), ("file", file, Some(dir))]
}

#[tokio::test]
async fn wait_idle_waits_for_a_batch_submitted_to_the_flex_queue() {
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).unwrap());
    for (store, engine, _dir) in engines(&clock).await {
        let id = engine.execute_batch(Tally, 3).await.unwrap();
        engine.wait_idle(WAIT).await.unwrap();
        let job = engine.job(id).await.unwrap();
        assert_eq!(
            job.status,
            JobStatus::Completed,
            "{store}: wait_idle returned while the batch was {}",
            job.status
        );
        assert_eq!(job.items_processed, 4, "{store}");
        engine.shutdown(Duration::from_secs(5)).await.unwrap();
    }
}

#[tokio::test]
async fn wait_idle_waits_for_a_schedule_that_a_clock_move_made_due() {
    let clock = ManualClock::new("2026-03-02T00:00:00Z".parse().unwrap());
    for (store, engine, _dir) in engines(&clock).await {
        let name = format!("Nightly {store}");
        engine
            .schedule(&name, "0 0 2 * * ?", Nightly)
            .await
            .unwrap();
        let next = engine
            .schedule_record(&name)
            .await
            .unwrap()
            .next_fire_time
            .unwrap();
        clock.set(next);
        engine.wait_idle(WAIT).await.unwrap();
        let trigger = engine.schedule_record(&name).await.unwrap();
        assert_eq!(
            trigger.times_triggered, 1,
            "{store}: wait_idle returned before the fire"
        );
        let runs = engine
            .jobs(JobListParams {
                job_types: vec![JobType::ScheduledApex],
                ..Default::default()
            })
            .await
            .unwrap();
        let run = runs
            .iter()
            .find(|j| j.cron_trigger_id == Some(trigger.id))
            .unwrap();
        assert_eq!(run.status, JobStatus::Completed, "{store}");
        engine.shutdown(Duration::from_secs(5)).await.unwrap();
    }
}
