//! The test kit's virtual time: moving the clock runs what comes due on the way, before the
//! call returns — no polling loops in tests. Also job-ending events without statics.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use asyncapex::testing::TestKit;
use asyncapex::{
    Engine, EnqueueOptions, JobError, JobStatus, ManualClock, Queueable, QueueableContext,
    Schedulable, SchedulableContext,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Default, Serialize, Deserialize)]
struct Stamp {
    at: Option<Timestamp>,
}

impl Schedulable for Stamp {
    async fn execute(&mut self, ctx: &mut SchedulableContext) -> Result<(), JobError> {
        self.at = Some(ctx.now());
        Ok(())
    }
}

impl Queueable for Stamp {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        self.at = Some(ctx.now());
        Ok(())
    }
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

async fn kit() -> TestKit {
    TestKit::builder(
        Engine::builder()
            .register::<Stamp>()
            .register_schedulable::<Stamp>(),
    )
    .clock(ManualClock::new(at("2026-03-02T00:00:00Z")))
    .start()
    .await
    .unwrap()
}

#[tokio::test]
async fn advancing_fires_a_schedule_at_each_of_its_fire_times() {
    let kit = kit().await;
    kit.engine()
        .schedule("Hourly", "0 0 * * * ?", Stamp::default())
        .await
        .unwrap();
    let report = kit
        .advance(Duration::from_secs(3 * 3600 + 1800))
        .await
        .unwrap();
    let fired: Vec<Timestamp> = report
        .runs()
        .iter()
        .map(|r| r.state::<Stamp>().unwrap().at.unwrap())
        .collect();
    assert_eq!(
        fired,
        [
            at("2026-03-02T01:00:00Z"),
            at("2026-03-02T02:00:00Z"),
            at("2026-03-02T03:00:00Z")
        ],
        "each firing ran at its own fire time, before the clock moved on"
    );
    assert_eq!(kit.clock().now(), at("2026-03-02T03:30:00Z"));
    let trigger = kit.engine().schedule_record("Hourly").await.unwrap();
    assert_eq!(trigger.times_triggered, 3);
    assert_eq!(trigger.next_fire_time, Some(at("2026-03-02T04:00:00Z")));
}

#[tokio::test]
async fn advance_to_next_fire_runs_exactly_that_firing() {
    let kit = kit().await;
    kit.engine()
        .schedule("Nightly", "0 30 2 * * ?", Stamp::default())
        .await
        .unwrap();
    let report = kit.advance_to_next_fire("Nightly").await.unwrap();
    assert_eq!(report.runs().len(), 1);
    assert_eq!(kit.clock().now(), at("2026-03-02T02:30:00Z"));
    assert_eq!(report.runs()[0].record.status, JobStatus::Completed);
}

#[tokio::test]
async fn a_delayed_job_runs_when_the_clock_reaches_its_run_time_and_not_before() {
    let kit = kit().await;
    let id = kit
        .engine()
        .enqueue_job_with(
            Stamp::default(),
            EnqueueOptions::default().delay(Duration::from_secs(600)),
        )
        .await
        .unwrap();
    let early = kit.advance(Duration::from_secs(60)).await.unwrap();
    assert!(early.runs().is_empty(), "not due after one minute");
    let report = kit.advance_to_run_at(id).await.unwrap();
    let stamp = report.run(id).unwrap().state::<Stamp>().unwrap();
    assert_eq!(stamp.at, Some(at("2026-03-02T00:10:00Z")));
}

#[tokio::test]
async fn subscribers_hear_each_job_the_kit_runs_end() {
    let kit = kit().await;
    let mut ended = kit.engine().subscribe_jobs();
    let id = kit.engine().enqueue_job(Stamp::default()).await.unwrap();
    kit.run_queued().await.unwrap();
    let event = ended.try_recv().unwrap();
    assert_eq!((event.id, event.status), (id, JobStatus::Completed));
}
