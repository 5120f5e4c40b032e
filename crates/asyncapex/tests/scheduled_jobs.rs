//! Scheduled jobs on the manual clock: firing, snapshots, DST weeks, two engines, missed fires,
//! pause/resume, abort, blocking, and refusals.
//!
//! Tests of the schedules themselves run on the test kit's virtual time (`TestKit::advance`),
//! which fires and runs everything due on the test's task and hands back each firing's
//! state; tests that need real workers (two engines, a firing still running) use engines.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use asyncapex::testing::{TestKit, TestReport};
use asyncapex::{
    AbortOutcome, CronDialect, CronTriggerId, CronTriggerListParams, DstPolicy, Engine, Error,
    JobError, JobListParams, JobStatus, JobType, Limits, ManualClock, Schedulable,
    SchedulableContext, ScheduleOptions, TriggerState,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use support::{WAIT, log, logged, signal, tag, wait_signal};

/// Notes each firing in its own state (read back through the kit) and in the log under its
/// tag (for the tests on engines); `runs` is part of the snapshot, so every firing sees the
/// scheduled value.
#[derive(Default, Serialize, Deserialize)]
struct Report {
    tag: String,
    runs: u32,
    fired_at: Option<Timestamp>,
    trigger: Option<CronTriggerId>,
}

impl Report {
    fn new(tag: &str) -> Report {
        Report {
            tag: tag.into(),
            ..Report::default()
        }
    }
}

impl Schedulable for Report {
    async fn execute(&mut self, ctx: &mut SchedulableContext) -> Result<(), JobError> {
        self.runs += 1;
        self.fired_at = Some(ctx.now());
        self.trigger = Some(ctx.trigger_id());
        log(
            &self.tag,
            format!(
                "fired at {} runs={} trigger={}",
                ctx.now(),
                self.runs,
                ctx.trigger_id()
            ),
        );
        Ok(())
    }
}

/// Signals that it started, then waits to be released. Its time limit is long, because these
/// tests move the clock by hours while it runs.
#[derive(Serialize, Deserialize)]
struct Slow {
    tag: String,
}

impl Schedulable for Slow {
    fn execution_time_limit() -> Option<Duration> {
        Some(Duration::from_secs(7 * 24 * 3600))
    }

    async fn execute(&mut self, _ctx: &mut SchedulableContext) -> Result<(), JobError> {
        signal(&format!("{}-started", self.tag));
        wait_signal(&format!("{}-release", self.tag)).await;
        log(&self.tag, "finished");
        Ok(())
    }
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn builder(clock: &ManualClock) -> asyncapex::EngineBuilder {
    Engine::builder()
        .in_memory()
        .clock(clock.clone())
        .register_schedulable::<Report>()
        .register_schedulable::<Slow>()
}

/// Waits until the schedule has fired `n` times and everything due has run.
async fn wait_fired(engine: &Engine, key: &str, n: u64) {
    tokio::time::timeout(WAIT, async {
        loop {
            if engine.schedule_record(key).await.unwrap().times_triggered >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{key} did not fire {n} times"));
    engine.wait_idle(WAIT).await.unwrap();
}

/// Moves the clock to each next fire time until `end`, letting every firing run; returns the
/// instants it fired at.
async fn drive(engine: &Engine, clock: &ManualClock, key: &str, end: Timestamp) -> Vec<Timestamp> {
    let mut fired = Vec::new();
    loop {
        let record = engine.schedule_record(key).await.unwrap();
        let Some(next) = record.next_fire_time else {
            return fired;
        };
        if next > end {
            return fired;
        }
        clock.set(next);
        wait_fired(engine, key, record.times_triggered + 1).await;
        fired.push(next);
    }
}

/// A test kit on `clock` knowing this file's schedulables.
async fn kit(clock: &ManualClock) -> TestKit {
    TestKit::builder(
        Engine::builder()
            .register_schedulable::<Report>()
            .register_schedulable::<Slow>(),
    )
    .clock(clock.clone())
    .start()
    .await
    .unwrap()
}

/// Each firing's state, in firing order.
fn firings(report: &TestReport) -> Vec<Report> {
    report
        .runs_of("Report")
        .iter()
        .map(|r| r.state::<Report>().unwrap())
        .collect()
}

async fn scheduled_runs(engine: &Engine) -> Vec<asyncapex::JobRecord> {
    engine
        .jobs(JobListParams {
            job_types: vec![JobType::ScheduledApex],
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_schedule_gets_an_08e_id_and_each_firing_a_scheduled_apex_job_from_the_snapshot() {
    let clock = ManualClock::new(at("2026-03-02T00:00:00Z"));
    let kit = kit(&clock).await;
    let engine = kit.engine();
    let id = engine
        .schedule("Hourly report", "0 0 * * * ?", Report::default())
        .await
        .unwrap();
    assert!(id.to_string().starts_with("08e") && id.to_string().len() == 18);
    let record = engine.schedule_record(&id.to_string()).await.unwrap();
    assert_eq!(record.name, "Hourly report");
    assert_eq!(record.time_zone, "UTC");
    assert_eq!(record.next_fire_time, Some(at("2026-03-02T01:00:00Z")));
    assert_eq!(record.state(clock.now()), TriggerState::Waiting);
    assert_eq!(record.times_triggered, 0);

    let report = kit.advance_to(at("2026-03-02T02:00:00Z")).await.unwrap();
    let fired: Vec<(Option<Timestamp>, u32, Option<CronTriggerId>)> = firings(&report)
        .into_iter()
        .map(|f| (f.fired_at, f.runs, f.trigger))
        .collect();
    assert_eq!(
        fired,
        vec![
            (Some(at("2026-03-02T01:00:00Z")), 1, Some(id)),
            (Some(at("2026-03-02T02:00:00Z")), 1, Some(id)),
        ],
        "each firing at its fire time, each starting from the scheduled snapshot"
    );
    let runs = scheduled_runs(engine).await;
    assert_eq!(runs.len(), 2);
    for run in &runs {
        assert_eq!(run.cron_trigger_id, Some(id));
        assert_eq!(run.class_name, "Report");
        assert_eq!(run.status, JobStatus::Completed);
    }
    let after = engine.schedule_record("Hourly report").await.unwrap();
    assert_eq!(after.times_triggered, 2);
    assert_eq!(after.previous_fire_time, Some(at("2026-03-02T02:00:00Z")));
    assert_eq!(after.last_job_id, Some(runs[0].id));
}

#[tokio::test]
async fn a_week_across_spring_forward_in_new_york_follows_the_dst_policy() {
    // 2026-03-08: clocks jump from 02:00 to 03:00 in America/New_York.
    let start = at("2026-03-05T05:00:00Z"); // midnight EST
    let end = at("2026-03-12T04:00:00Z"); // midnight EDT, a week later
    for (policy, expected_on_the_8th) in [
        (DstPolicy::Quartz, None),
        (DstPolicy::NeverSkip, Some(at("2026-03-08T07:00:00Z"))),
    ] {
        let clock = ManualClock::new(start);
        let kit = kit(&clock).await;
        kit.engine()
            .schedule_with(
                "Nightly 02:30",
                "0 30 2 * * ?",
                Report::default(),
                ScheduleOptions::default()
                    .time_zone("America/New_York")
                    .dst_policy(policy),
            )
            .await
            .unwrap();
        let report = kit.advance_to(end).await.unwrap();
        let fired: Vec<Timestamp> = firings(&report)
            .into_iter()
            .map(|f| f.fired_at.unwrap())
            .collect();
        let mut expected = vec![
            at("2026-03-05T07:30:00Z"),
            at("2026-03-06T07:30:00Z"),
            at("2026-03-07T07:30:00Z"),
        ];
        expected.extend(expected_on_the_8th);
        expected.extend([
            at("2026-03-09T06:30:00Z"),
            at("2026-03-10T06:30:00Z"),
            at("2026-03-11T06:30:00Z"),
        ]);
        assert_eq!(fired, expected, "{policy:?}");
        assert_eq!(scheduled_runs(kit.engine()).await.len(), expected.len());
    }
}

#[tokio::test]
async fn two_engines_on_one_store_fire_each_fire_time_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.db");
    let clock = ManualClock::new(at("2026-06-01T00:00:00Z"));
    let a = builder(&clock).sqlite(&path).start().await.unwrap();
    let b = builder(&clock).sqlite(&path).start().await.unwrap();
    let t = tag("two-engines");
    a.schedule("Every hour", "0 0 * * * ?", Report::new(&t))
        .await
        .unwrap();
    let fired = drive(&a, &clock, "Every hour", at("2026-06-02T00:00:00Z")).await;
    b.wait_idle(WAIT).await.unwrap();
    assert_eq!(fired.len(), 24);
    let runs = scheduled_runs(&b).await;
    assert_eq!(
        runs.len(),
        24,
        "one job per fire time, whichever engine fired it"
    );
    assert_eq!(logged(&t).len(), 24);
    let mut instants: Vec<String> = logged(&t);
    instants.sort();
    instants.dedup();
    assert_eq!(instants.len(), 24, "no fire time ran twice");
}

#[tokio::test]
async fn after_downtime_a_missed_schedule_fires_once_then_resumes() {
    let clock = ManualClock::new(at("2026-03-02T00:00:00Z"));
    let kit = kit(&clock).await;
    let engine = kit.engine();
    engine
        .schedule("Hourly", "0 0 * * * ?", Report::default())
        .await
        .unwrap();
    // Five fire times pass at once while nothing runs (the process was down, say); then the
    // scheduler looks.
    clock.set(at("2026-03-02T05:30:00Z"));
    let report = kit.advance(Duration::ZERO).await.unwrap();
    let record = engine.schedule_record("Hourly").await.unwrap();
    assert_eq!(record.times_triggered, 1, "missed fires are not replayed");
    assert_eq!(record.next_fire_time, Some(at("2026-03-02T06:00:00Z")));
    let fired: Vec<_> = firings(&report).into_iter().map(|f| f.fired_at).collect();
    assert_eq!(fired, [Some(at("2026-03-02T05:30:00Z"))]);
}

#[tokio::test]
async fn pause_stops_firing_and_resume_runs_once_at_once_skipping_what_was_missed() {
    let clock = ManualClock::new(at("2026-03-02T00:00:00Z"));
    let kit = kit(&clock).await;
    let engine = kit.engine();
    let id = engine
        .schedule("Hourly", "0 0 * * * ?", Report::default())
        .await
        .unwrap();
    assert!(engine.pause_schedule("Hourly").await.unwrap());
    assert!(
        !engine.pause_schedule(&id.to_string()).await.unwrap(),
        "already paused"
    );
    let paused_hours = kit.advance_to(at("2026-03-02T03:30:00Z")).await.unwrap();
    assert!(paused_hours.runs().is_empty());
    let paused = engine.schedule_record("Hourly").await.unwrap();
    assert_eq!(paused.state(clock.now()), TriggerState::Paused);
    assert_eq!(paused.times_triggered, 0);
    assert!(engine.resume_schedule("Hourly").await.unwrap());
    let report = kit.advance(Duration::ZERO).await.unwrap();
    assert_eq!(
        firings(&report).len(),
        1,
        "one run at once, nothing replayed"
    );
    let resumed = engine.schedule_record("Hourly").await.unwrap();
    assert_eq!(resumed.times_triggered, 1);
    assert_eq!(resumed.previous_fire_time, Some(at("2026-03-02T03:30:00Z")));
    assert_eq!(resumed.next_fire_time, Some(at("2026-03-02T04:00:00Z")));
}

#[tokio::test]
async fn aborting_a_schedule_deletes_it_while_its_running_firing_finishes() {
    let clock = ManualClock::new(at("2026-03-02T00:00:00Z"));
    let engine = builder(&clock).start().await.unwrap();
    let t = tag("abort-schedule");
    let id = engine
        .schedule("Slow hourly", "0 0 * * * ?", Slow { tag: t.clone() })
        .await
        .unwrap();
    clock.set(at("2026-03-02T01:00:00Z"));
    wait_signal(&format!("{t}-started")).await;
    assert_eq!(
        engine.abort_job(id).await.unwrap(),
        AbortOutcome::ScheduleDeleted
    );
    assert_eq!(
        engine.abort_job(id).await.unwrap(),
        AbortOutcome::ScheduleAlreadyDeleted
    );
    signal(&format!("{t}-release"));
    engine.wait_idle(WAIT).await.unwrap();
    assert_eq!(logged(&t), vec!["finished"], "the running firing completed");
    clock.set(at("2026-03-02T09:00:00Z"));
    engine.wait_idle(WAIT).await.unwrap();
    let record = engine.schedule_record(&id.to_string()).await.unwrap();
    assert_eq!(record.state(clock.now()), TriggerState::Deleted);
    assert_eq!(record.times_triggered, 1);
    assert_eq!(scheduled_runs(&engine).await.len(), 1);
    // The name is free again.
    engine
        .schedule("Slow hourly", "0 0 * * * ?", Slow { tag: tag("again") })
        .await
        .unwrap();
    let active = engine
        .schedules(CronTriggerListParams::default())
        .await
        .unwrap();
    assert_eq!(active.len(), 1);
}

#[tokio::test]
async fn a_due_schedule_waits_blocked_while_its_previous_run_is_going() {
    let clock = ManualClock::new(at("2026-03-02T00:00:00Z"));
    let engine = builder(&clock).start().await.unwrap();
    let t = tag("blocked");
    engine
        .schedule("Slow", "0 0 * * * ?", Slow { tag: t.clone() })
        .await
        .unwrap();
    clock.set(at("2026-03-02T01:00:00Z"));
    wait_signal(&format!("{t}-started")).await;
    let running = engine.schedule_record("Slow").await.unwrap();
    assert_eq!(running.state(clock.now()), TriggerState::Executing);
    clock.set(at("2026-03-02T02:00:00Z"));
    let blocked = engine.schedule_record("Slow").await.unwrap();
    assert_eq!(blocked.state(clock.now()), TriggerState::Blocked);
    assert_eq!(scheduled_runs(&engine).await.len(), 1, "no overlapping run");
    signal(&format!("{t}-release"));
    // The blocked fire runs once the first run ends.
    wait_signal(&format!("{t}-started")).await;
    let second = engine.schedule_record("Slow").await.unwrap();
    assert_eq!(second.times_triggered, 2);
    assert_eq!(second.next_fire_time, Some(at("2026-03-02T03:00:00Z")));
    signal(&format!("{t}-release"));
    engine.wait_idle(WAIT).await.unwrap();
    assert_eq!(logged(&t), vec!["finished", "finished"]);
}

#[tokio::test]
async fn bad_schedules_are_refused_with_reasons() {
    let clock = ManualClock::new(at("2026-03-02T00:00:00Z"));
    let engine = builder(&clock)
        .limits(Limits {
            scheduled_jobs: 2,
            ..Limits::default()
        })
        .start()
        .await
        .unwrap();
    let job = || Report::new(&tag("refusals"));
    let err = engine
        .schedule("bad", "0 0 25 * * ?", job())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCron { .. }), "{err:?}");
    assert!(err.to_string().contains("hours"), "{err}");
    let err = engine
        .schedule("never", "0 0 0 1 1 ? 2020", job())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("never fires"), "{err}");
    let err = engine
        .schedule_with(
            "strict",
            "0 */15 * * * ?",
            job(),
            ScheduleOptions::default().dialect(CronDialect::ApexStrict),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("minutes"), "{err}");
    let err = engine
        .schedule_with(
            "zone",
            "0 0 * * * ?",
            job(),
            ScheduleOptions::default().time_zone("Mars/Olympus_Mons"),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Mars/Olympus_Mons"), "{err}");
    let err = engine
        .schedule("  ", "0 0 * * * ?", job())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("schedule name"), "{err}");

    engine.schedule("one", "0 0 * * * ?", job()).await.unwrap();
    let err = engine
        .schedule("one", "0 0 * * * ?", job())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the job named \"one\" is already scheduled for execution"
    );
    engine.schedule("two", "0 0 * * * ?", job()).await.unwrap();
    let err = engine
        .schedule("three", "0 0 * * * ?", job())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("maximum number of scheduled jobs (2)"),
        "{err}"
    );
    let err = engine.pause_schedule("nobody").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "no scheduled job with ID or name \"nobody\""
    );
}

#[tokio::test]
async fn json_schedules_are_checked_against_registered_types() {
    let clock = ManualClock::new(at("2026-01-05T12:00:00Z"));
    let engine = builder(&clock).concurrency(0).start().await.unwrap();
    let id = engine
        .schedule_json(
            "From JSON",
            "0 0 2 * * ?",
            "Report",
            serde_json::json!({ "tag": "json", "runs": 0 }),
            ScheduleOptions::default().time_zone("Europe/Paris"),
        )
        .await
        .unwrap();
    let record = engine.schedule_record(&id.to_string()).await.unwrap();
    assert_eq!(record.class_name, "Report");
    assert_eq!(record.time_zone, "Europe/Paris");
    assert_eq!(record.next_fire_time, Some(at("2026-01-06T01:00:00Z")));
    let err = engine
        .schedule_json(
            "Bad payload",
            "0 0 2 * * ?",
            "Report",
            serde_json::json!({ "runs": "x" }),
            ScheduleOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Payload { .. }), "{err:?}");
    let err = engine
        .schedule_json(
            "From JSON",
            "0 0 2 * * ?",
            "Report",
            serde_json::json!({ "tag": "json", "runs": 0 }),
            ScheduleOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::DuplicateScheduleName { .. }),
        "{err:?}"
    );
    let err = engine
        .schedule_json(
            "Never",
            "not cron",
            "Report",
            serde_json::json!({ "tag": "json", "runs": 0 }),
            ScheduleOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCron { .. }), "{err:?}");
    // A class this engine does not know is stored as given.
    engine
        .schedule_json(
            "Elsewhere",
            "0 0 3 * * ?",
            "ElsewhereJob",
            serde_json::json!({}),
            ScheduleOptions::default(),
        )
        .await
        .unwrap();
}
