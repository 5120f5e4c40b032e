//! `Engine::wait_idle` tells the truth: it does not return while a submitted batch waits in
//! the flex queue, nor while a schedule that a clock move made due has not fired and run.
//! Each case runs on an in-memory and on a file SQLite store.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use asyncapex::{
    BatchContext, Batchable, Engine, Finalizer, FinalizerContext, JobError, JobListParams,
    JobStatus, JobType, ManualClock, ParentJobResult, Queueable, QueueableContext, Schedulable,
    SchedulableContext, WorkSet,
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

/// Fails until its third run; its finalizer re-enqueues it after each failure.
#[derive(Clone, Serialize, Deserialize)]
struct Flaky {
    run: u32,
}

impl Queueable for Flaky {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        ctx.attach_finalizer(Retry(self.clone()))?;
        if self.run < 3 {
            return Err(JobError::new(format!("run {} failed", self.run)));
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct Retry(Flaky);

impl Finalizer for Retry {
    async fn execute(&mut self, ctx: &mut FinalizerContext) -> Result<(), JobError> {
        if ctx.result() == ParentJobResult::UnhandledException {
            ctx.enqueue_job(Flaky {
                run: self.0.run + 1,
            })?;
        }
        Ok(())
    }
}

/// Engines on each store the tests cover, all on `clock` (the system clock when `None`).
async fn engines(
    clock: Option<&ManualClock>,
) -> Vec<(&'static str, Engine, Option<tempfile::TempDir>)> {
    let builder = || {
        let builder = Engine::builder();
        let builder = match clock {
            Some(clock) => builder.clock(clock.clone()),
            None => builder,
        };
        builder
            .register_batch::<Tally>()
            .register_schedulable::<Nightly>()
            .register::<Flaky>()
            .register_finalizer::<Retry>()
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
    for (store, engine, _dir) in engines(Some(&clock)).await {
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
    for (store, engine, _dir) in engines(Some(&clock)).await {
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

#[tokio::test]
async fn wait_idle_waits_for_what_an_ending_job_enqueues() {
    // A job's end inserts what it enqueued (here a finalizer, then the retry it enqueues),
    // due "now" by the clock at that moment: a look that read the clock earlier must not
    // miss it. That needs a clock that moves, so this test runs on the system clock; the
    // race is narrow, so the chain is repeated.
    for (store, engine, _dir) in engines(None).await {
        for round in 1..=10 {
            engine.enqueue_job(Flaky { run: 1 }).await.unwrap();
            engine.wait_idle(WAIT).await.unwrap();
            let jobs = engine.jobs(JobListParams::default()).await.unwrap();
            let unfinished: Vec<_> = jobs.iter().filter(|j| !j.status.is_terminal()).collect();
            assert!(
                unfinished.is_empty(),
                "{store}, round {round}: {unfinished:?}"
            );
            let completed = jobs
                .iter()
                .filter(|j| j.class_name == "Flaky" && j.status == JobStatus::Completed)
                .count();
            assert_eq!(
                completed, round,
                "{store}: each chain reached its third run"
            );
        }
        engine.shutdown(Duration::from_secs(5)).await.unwrap();
    }
}
