//! The test kit's start/stop-test semantics, one Apex rule per test (apex-semantics.md §6),
//! each on an in-memory and on a file SQLite store. Jobs are observed through the states
//! the kit hands back, never through statics.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use asyncapex::testing::{BatchMode, TestKit};
use asyncapex::{
    BatchContext, Batchable, Engine, EngineBuilder, EnqueueOptions, Error, JobError, JobStatus,
    JobType, Queueable, QueueableContext, Schedulable, SchedulableContext, WorkSet,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Records what it saw of its own execution.
#[derive(Default, Serialize, Deserialize)]
struct Probe {
    ran: bool,
    /// Queueable jobs used when `execute` began: 0 in a fresh context.
    used_at_start: u64,
    fail: bool,
}

impl Queueable for Probe {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        self.used_at_start = ctx.limits().queueable_jobs.used;
        self.ran = true;
        if self.fail {
            return Err(JobError::new("account 42 has no owner"));
        }
        Ok(())
    }
}

/// Re-enqueues itself forever: only the chain's maximum depth stops it.
#[derive(Default, Serialize, Deserialize)]
struct Forever {
    depth: u32,
}

impl Queueable for Forever {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        self.depth = ctx.async_info().current_queueable_stack_depth;
        ctx.enqueue_job(Forever::default())?;
        Ok(())
    }
}

#[derive(Default, Serialize, Deserialize)]
struct Nightly {
    fired: bool,
}

impl Schedulable for Nightly {
    async fn execute(&mut self, _ctx: &mut SchedulableContext) -> Result<(), JobError> {
        self.fired = true;
        Ok(())
    }
}

/// 0..n in chunks; fails the chunk holding `fail_on`; raises error events.
#[derive(Default, Serialize, Deserialize)]
struct Numbers {
    n: u32,
    fail_on: Option<u32>,
    sum: u32,
    finished: bool,
    /// Chains another (one-chunk) batch from `finish`.
    chain: bool,
}

impl Batchable for Numbers {
    type Item = u32;
    const STATEFUL: bool = true;
    const RAISES_ERROR_EVENTS: bool = true;

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<u32>, JobError> {
        Ok(WorkSet::iter(0..self.n))
    }
    async fn execute(&mut self, _ctx: &mut BatchContext, scope: Vec<u32>) -> Result<(), JobError> {
        if let Some(bad) = self.fail_on
            && scope.contains(&bad)
        {
            return Err(JobError::new(format!("item {bad} is bad")));
        }
        self.sum += scope.iter().sum::<u32>();
        Ok(())
    }
    async fn finish(&mut self, ctx: &mut BatchContext) -> Result<(), JobError> {
        self.finished = true;
        if self.chain {
            ctx.execute_batch(
                Numbers {
                    n: 1,
                    ..Default::default()
                },
                10,
            )?;
        }
        Ok(())
    }
}

#[asyncapex::future]
async fn send_receipt(order_id: u64) -> Result<(), JobError> {
    if order_id == 0 {
        return Err(JobError::new("order 0 does not exist"));
    }
    Ok(())
}

fn engine() -> EngineBuilder {
    Engine::builder()
        .register::<Probe>()
        .register::<Forever>()
        .register_schedulable::<Nightly>()
        .register_batch::<Numbers>()
}

/// One kit per store the kit is tested on, from `builder` and `mode`.
async fn kits(
    builder: impl Fn() -> EngineBuilder,
    mode: BatchMode,
) -> Vec<(&'static str, TestKit, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let file = TestKit::builder(builder().sqlite(dir.path().join("kit.db")))
        .batch_mode(mode)
        .start()
        .await
        .unwrap();
    let memory = TestKit::builder(builder())
        .batch_mode(mode)
        .start()
        .await
        .unwrap();
    vec![("in-memory", memory, None), ("file", file, Some(dir))]
}

#[tokio::test]
async fn stop_test_runs_collected_work_at_once_ignoring_enqueue_delays() {
    for (store, kit, _dir) in kits(engine, BatchMode::Strict).await {
        let before = kit.clock().now();
        let mut block = kit.start_test().await.unwrap();
        let delay = EnqueueOptions::default().delay(Duration::from_secs(600));
        let delayed = block.enqueue_job_with(Probe::default(), delay).unwrap();
        let direct = kit.engine().enqueue_job(Probe::default()).await.unwrap();
        let future = send_receipt::future(kit.engine(), 7).await.unwrap();
        assert_eq!(
            kit.engine().job(direct).await.unwrap().status,
            JobStatus::Queued,
            "{store}: collected, not run, inside the block"
        );
        let report = kit.stop_test(block).await.unwrap();
        for id in [delayed, direct, future] {
            assert_eq!(
                report.run(id).unwrap().record.status,
                JobStatus::Completed,
                "{store}"
            );
        }
        assert!(report.run(delayed).unwrap().state::<Probe>().unwrap().ran);
        assert_eq!(kit.clock().now(), before, "{store}: the clock did not move");
        assert!(report.failures().is_empty(), "{store}");
    }
}

#[tokio::test]
async fn a_schedule_made_in_the_block_shows_times_triggered_0_then_runs_once_at_stop() {
    for (store, kit, _dir) in kits(engine, BatchMode::Strict).await {
        let block = kit.start_test().await.unwrap();
        // The official Apex test schedules for 2042: the cron time does not matter.
        let id = kit
            .engine()
            .schedule("Far future", "0 0 0 15 3 ? 2042", Nightly::default())
            .await
            .unwrap();
        let pending = kit.engine().schedule_record("Far future").await.unwrap();
        assert_eq!(pending.times_triggered, 0, "{store}");
        assert_eq!(
            pending.next_fire_time,
            Some("2042-03-15T00:00:00Z".parse::<Timestamp>().unwrap()),
            "{store}"
        );
        let report = kit.stop_test(block).await.unwrap();
        let runs = report.runs_of("Nightly");
        assert_eq!(runs.len(), 1, "{store}: execute ran once");
        assert_eq!(runs[0].record.job_type, JobType::ScheduledApex);
        assert_eq!(runs[0].record.cron_trigger_id, Some(id));
        assert!(runs[0].state::<Nightly>().unwrap().fired, "{store}");
        let after = kit.engine().schedule_record("Far future").await.unwrap();
        assert_eq!(after.times_triggered, 1, "{store}");
    }
}

#[tokio::test]
async fn schedule_batch_in_the_block_submits_and_runs_its_batch_at_stop() {
    for (store, kit, _dir) in kits(engine, BatchMode::Strict).await {
        let block = kit.start_test().await.unwrap();
        let trigger = kit
            .engine()
            .schedule_batch(
                Numbers {
                    n: 5,
                    ..Default::default()
                },
                "Later",
                30,
                200,
            )
            .await
            .unwrap();
        assert_eq!(
            kit.engine()
                .schedule_record(&trigger.to_string())
                .await
                .unwrap()
                .times_triggered,
            0
        );
        let report = kit.stop_test(block).await.unwrap();
        let runs = report.runs_of("Numbers");
        assert_eq!(runs.len(), 1, "{store}");
        assert_eq!(runs[0].record.status, JobStatus::Completed, "{store}");
        assert_eq!(
            runs[0].record.job_type,
            JobType::BatchApex,
            "a batch, not a scheduled run"
        );
        assert!(runs[0].state::<Numbers>().unwrap().finished, "{store}");
    }
}

#[tokio::test]
async fn strict_mode_runs_one_batch_execute_then_reports_apexs_error() {
    for (store, kit, _dir) in kits(engine, BatchMode::Strict).await {
        let mut block = kit.start_test().await.unwrap();
        let id = block
            .execute_batch(
                Numbers {
                    n: 30,
                    ..Default::default()
                },
                10,
            )
            .unwrap();
        let report = kit.stop_test(block).await.unwrap();
        let failure = report.failure_of(id).expect("the batch failed");
        assert!(
            failure.message.starts_with(
                "No more than one executeBatch can be called from within a testmethod"
            ),
            "{store}: {failure}"
        );
        let chunks = kit.engine().batch_chunks(id, None, 10).await.unwrap();
        let done: Vec<_> = chunks.iter().map(|c| c.status).collect();
        use asyncapex::ChunkStatus::{Completed, Pending};
        assert_eq!(
            done,
            [Completed, Pending, Pending],
            "{store}: one execute ran"
        );
        assert!(report.clone().into_result().is_err());
    }
}

#[tokio::test]
async fn strict_mode_accepts_a_batch_that_fits_in_one_execute() {
    for (store, kit, _dir) in kits(engine, BatchMode::Strict).await {
        let mut block = kit.start_test().await.unwrap();
        let id = block
            .execute_batch(
                Numbers {
                    n: 10,
                    ..Default::default()
                },
                10,
            )
            .unwrap();
        let report = kit.stop_test(block).await.unwrap().into_result().unwrap();
        let job = &report.run(id).unwrap().record;
        assert_eq!(
            (job.status, job.items_processed),
            (JobStatus::Completed, 1),
            "{store}"
        );
        assert!(report.run(id).unwrap().state::<Numbers>().unwrap().finished);
    }
}

#[tokio::test]
async fn strict_mode_refuses_a_batch_chained_from_a_batchs_finish() {
    for (store, kit, _dir) in kits(engine, BatchMode::Strict).await {
        let mut block = kit.start_test().await.unwrap();
        let first = block
            .execute_batch(
                Numbers {
                    n: 5,
                    chain: true,
                    ..Default::default()
                },
                10,
            )
            .unwrap();
        let report = kit.stop_test(block).await.unwrap();
        assert!(report.failure_of(first).is_none(), "{store}");
        let failures = report.failures();
        assert_eq!(failures.len(), 1, "{store}");
        assert_eq!(failures[0].job_type, JobType::BatchApex);
        assert!(
            failures[0]
                .message
                .starts_with("No more than one executeBatch")
        );
    }
    for (store, kit, _dir) in kits(engine, BatchMode::AllChunks).await {
        let mut block = kit.start_test().await.unwrap();
        block
            .execute_batch(
                Numbers {
                    n: 5,
                    chain: true,
                    ..Default::default()
                },
                10,
            )
            .unwrap();
        let report = kit.stop_test(block).await.unwrap().into_result().unwrap();
        assert_eq!(
            report.runs_of("Numbers").len(),
            2,
            "{store}: the chained batch ran"
        );
    }
}

#[tokio::test]
async fn all_chunks_mode_runs_every_execute_and_finish() {
    for (store, kit, _dir) in kits(engine, BatchMode::AllChunks).await {
        let mut block = kit.start_test().await.unwrap();
        let id = block
            .execute_batch(
                Numbers {
                    n: 30,
                    ..Default::default()
                },
                10,
            )
            .unwrap();
        let report = kit.stop_test(block).await.unwrap().into_result().unwrap();
        let job = &report.run(id).unwrap().record;
        assert_eq!(job.items_processed, 3, "{store}");
        let state = report.run(id).unwrap().state::<Numbers>().unwrap();
        assert_eq!(
            state.sum,
            (0..30).sum::<u32>(),
            "{store}: stateful across chunks"
        );
        assert!(state.finished, "{store}");
    }
}

#[tokio::test]
async fn errors_of_jobs_run_at_stop_are_reported_with_their_messages_and_events() {
    for (store, kit, _dir) in kits(engine, BatchMode::AllChunks).await {
        let mut block = kit.start_test().await.unwrap();
        let failing = block
            .enqueue_job(Probe {
                fail: true,
                ..Default::default()
            })
            .unwrap();
        let batch = block
            .execute_batch(
                Numbers {
                    n: 30,
                    fail_on: Some(15),
                    ..Default::default()
                },
                10,
            )
            .unwrap();
        let future = send_receipt::future(&*block, 0).await.unwrap();
        let report = kit.stop_test(block).await.unwrap();
        assert_eq!(
            report.failure_of(failing).unwrap().message,
            "account 42 has no owner",
            "{store}"
        );
        let b = report.failure_of(batch).unwrap();
        assert_eq!(
            b.status,
            JobStatus::Completed,
            "{store}: a batch with failed chunks completes"
        );
        assert_eq!(b.message, "item 15 is bad", "{store}");
        assert_eq!(
            report.failure_of(future).unwrap().message,
            "order 0 does not exist"
        );
        let events = report.batch_error_events();
        assert_eq!(events.len(), 1, "{store}");
        assert_eq!(events[0].job_id, batch);
        assert_eq!(events[0].job_scope, "10,11,12,13,14,15,16,17,18,19");
        let err = report.into_result().unwrap_err();
        assert_eq!(err.0.len(), 3, "{store}: {err}");
    }
}

#[tokio::test]
async fn the_block_and_each_job_run_at_stop_get_fresh_governor_limits() {
    for (store, kit, _dir) in kits(engine, BatchMode::Strict).await {
        // Before the block, a synchronous context uses all 50 queueables.
        let mut before = kit.engine().begin();
        for _ in 0..50 {
            before.enqueue_job(Probe::default()).unwrap();
        }
        assert!(matches!(
            before.enqueue_job(Probe::default()),
            Err(Error::LimitExceeded { .. })
        ));
        let mut block = kit.start_test().await.unwrap();
        assert_eq!(block.limits().queueable_jobs.used, 0, "{store}");
        let mut ids = Vec::new();
        for _ in 0..50 {
            ids.push(block.enqueue_job(Probe::default()).unwrap());
        }
        assert_eq!(block.limits().queueable_jobs.used, 50);
        let report = kit.stop_test(block).await.unwrap().into_result().unwrap();
        assert_eq!(report.runs().len(), 50, "{store}");
        for id in ids {
            let seen = report.run(id).unwrap().state::<Probe>().unwrap();
            assert_eq!(
                seen.used_at_start, 0,
                "{store}: each execution starts fresh"
            );
        }
    }
}

#[tokio::test]
async fn chained_jobs_run_at_stop_until_the_chains_maximum_depth() {
    let depth_3 = || engine().default_max_stack_depth(3);
    for (depth, builder) in [(5, engine as fn() -> EngineBuilder), (3, depth_3)] {
        for (store, kit, _dir) in kits(builder, BatchMode::Strict).await {
            let mut block = kit.start_test().await.unwrap();
            block.enqueue_job(Forever::default()).unwrap();
            let report = kit.stop_test(block).await.unwrap();
            let depths: Vec<u32> = report.runs().iter().map(|r| r.record.stack_depth).collect();
            assert_eq!(depths, (1..=depth).collect::<Vec<_>>(), "{store}");
            let failures = report.failures();
            assert_eq!(failures.len(), 1, "{store}: the last link cannot chain");
            assert!(
                failures[0]
                    .message
                    .contains("maximum stack depth has been reached"),
                "{store}: {}",
                failures[0].message
            );
        }
    }
}

#[tokio::test]
async fn start_and_stop_each_happen_once_per_test() {
    for (store, kit, _dir) in kits(engine, BatchMode::Strict).await {
        let block = kit.start_test().await.unwrap();
        let again = kit.start_test().await.unwrap_err();
        assert!(
            again.to_string().contains("only once per test"),
            "{store}: {again}"
        );
        kit.stop_test(block).await.unwrap();
        let block = kit.engine().begin();
        drop(block);
        assert!(kit.start_test().await.is_err(), "{store}: no second block");
    }
    let (_, kit, _) = kits(engine, BatchMode::Strict).await.remove(0);
    let report = kit.run_queued().await.unwrap();
    assert!(report.runs().is_empty());
    // A block belongs to the kit that started it.
    let (_, other, _) = kits(engine, BatchMode::Strict).await.remove(0);
    let foreign = other.start_test().await.unwrap();
    let err = kit.stop_test(foreign).await.unwrap_err();
    assert!(err.to_string().contains("needs a Test.startTest"), "{err}");
}
