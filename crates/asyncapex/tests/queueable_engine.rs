//! Queueable behaviour end to end: chaining, limits, depth, delays, signatures, abort, bad
//! payloads, rescue and shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use asyncapex::unstable::id::IdGenerator;
use asyncapex::unstable::job::NewJob;
use asyncapex::unstable::store::{JobClaimParams, JobInsertManyParams, Store};
use asyncapex::{
    AbortOutcome, DuplicateSignature, Engine, EnqueueOptions, Error, JobError, JobListParams,
    JobStatus, JobType, Limits, ManualClock, Queueable, QueueableContext,
};
use serde::{Deserialize, Serialize};
use support::{WAIT, log, logged, signal, tag, wait_signal};

/// Chains itself `remaining` more times, logging its depth as it goes.
#[derive(Serialize, Deserialize)]
struct Chain {
    tag: String,
    remaining: u32,
    fail_after_enqueue: bool,
}

impl Queueable for Chain {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        let info = ctx.async_info();
        log(
            &self.tag,
            format!(
                "depth={} max={:?}",
                info.current_queueable_stack_depth, info.maximum_queueable_stack_depth
            ),
        );
        if self.remaining > 0 {
            ctx.enqueue_job(Chain {
                tag: self.tag.clone(),
                remaining: self.remaining - 1,
                fail_after_enqueue: false,
            })?;
        }
        if self.fail_after_enqueue {
            return Err(JobError::new("failing on purpose after enqueueing"));
        }
        Ok(())
    }
}

/// Enqueues `children` jobs, ignoring any error, and succeeds.
#[derive(Serialize, Deserialize)]
struct FanOut {
    tag: String,
    children: u32,
}

impl Queueable for FanOut {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        for _ in 0..self.children {
            if let Err(e) = ctx.enqueue_job(Noop {
                tag: self.tag.clone(),
            }) {
                // Swallowing the error must not save the execution (LimitException).
                log(&self.tag, e.to_string());
            }
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct Noop {
    tag: String,
}

impl Queueable for Noop {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        log(&self.tag, "ran");
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct Panics;

impl Queueable for Panics {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        panic!("the job exploded");
    }
}

/// Signals that it started, then runs until aborted (or forever).
#[derive(Serialize, Deserialize)]
struct Blocker {
    tag: String,
}

impl Queueable for Blocker {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        log(&self.tag, format!("attempt {}", ctx.attempt()));
        signal(&self.tag);
        ctx.aborted().await;
        log(&self.tag, "saw abort");
        Ok(())
    }
}

fn engine() -> asyncapex::EngineBuilder {
    Engine::builder()
        .in_memory()
        .register::<Chain>()
        .register::<FanOut>()
        .register::<Noop>()
        .register::<Panics>()
        .register::<Blocker>()
}

async fn children_of(engine: &Engine, id: asyncapex::JobId) -> Vec<asyncapex::JobRecord> {
    engine
        .jobs(JobListParams {
            parent_job_id: Some(id),
            ..Default::default()
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_chained_job_runs_after_its_parent_one_level_deeper() {
    let engine = engine().start().await.unwrap();
    let t = tag("chain");
    let root = engine
        .enqueue_job(Chain {
            tag: t.clone(),
            remaining: 2,
            fail_after_enqueue: false,
        })
        .await
        .unwrap();
    assert!(root.to_string().starts_with("707") && root.to_string().len() == 18);
    engine.wait_idle(WAIT).await.unwrap();
    let parent = engine.job(root).await.unwrap();
    assert_eq!(parent.status, JobStatus::Completed);
    let kids = children_of(&engine, root).await;
    assert_eq!(kids.len(), 1);
    let child = &kids[0];
    assert_eq!(child.status, JobStatus::Completed);
    assert_eq!(child.stack_depth, 2);
    assert!(child.started_at.unwrap() >= parent.completed_at.unwrap());
    let grandkids = children_of(&engine, child.id).await;
    assert_eq!(grandkids.len(), 1);
    assert_eq!(grandkids[0].stack_depth, 3);
    assert_eq!(
        logged(&t),
        vec!["depth=1 max=None", "depth=2 max=None", "depth=3 max=None"]
    );
}

#[tokio::test]
async fn a_failed_parent_leaves_no_child() {
    let engine = engine().start().await.unwrap();
    let t = tag("fail");
    let root = engine
        .enqueue_job(Chain {
            tag: t.clone(),
            remaining: 1,
            fail_after_enqueue: true,
        })
        .await
        .unwrap();
    let done = engine.wait_for(root, WAIT).await.unwrap();
    assert_eq!(done.status, JobStatus::Failed);
    assert_eq!(
        done.extended_status.as_deref(),
        Some("failing on purpose after enqueueing")
    );
    engine.wait_idle(WAIT).await.unwrap();
    assert!(children_of(&engine, root).await.is_empty());
    assert_eq!(logged(&t).len(), 1, "only the parent ran");
}

#[tokio::test]
async fn a_panic_fails_the_job_and_the_worker_survives() {
    let engine = engine().concurrency(1).start().await.unwrap();
    let boom = engine.enqueue_job(Panics).await.unwrap();
    let done = engine.wait_for(boom, WAIT).await.unwrap();
    assert_eq!(done.status, JobStatus::Failed);
    // The message, and where the code panicked.
    let status = done.extended_status.unwrap_or_default();
    assert!(
        status.starts_with("panicked: the job exploded (at ")
            && status.contains("tests/queueable_engine.rs:"),
        "{status}"
    );
    // Its attempt history says the same, with who ran it and when.
    let attempts = engine.job_attempts(boom).await.unwrap();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].outcome, asyncapex::AttemptOutcome::Failed);
    assert_eq!(attempts[0].error.as_deref(), Some(status.as_str()));
    assert!(
        attempts[0]
            .owner
            .as_deref()
            .is_some_and(|o| o.contains('#'))
    );
    assert!(attempts[0].started_at.is_some() && attempts[0].ended_at >= attempts[0].started_at);
    let t = tag("after-panic");
    let next = engine.enqueue_job(Noop { tag: t.clone() }).await.unwrap();
    assert_eq!(
        engine.wait_for(next, WAIT).await.unwrap().status,
        JobStatus::Completed
    );
}

#[tokio::test]
async fn a_second_enqueue_in_an_async_execution_fails_it_even_if_caught() {
    let engine = engine().start().await.unwrap();
    let t = tag("fanout");
    let id = engine
        .enqueue_job(FanOut {
            tag: t.clone(),
            children: 2,
        })
        .await
        .unwrap();
    let done = engine.wait_for(id, WAIT).await.unwrap();
    assert_eq!(done.status, JobStatus::Failed);
    let why = done.extended_status.unwrap();
    assert!(
        why.starts_with("too many queueable jobs added to the queue: 2"),
        "{why}"
    );
    assert!(children_of(&engine, id).await.is_empty());
    assert_eq!(
        logged(&t).len(),
        1,
        "the job saw the error: {:?}",
        logged(&t)
    );
}

#[tokio::test]
async fn raised_limits_allow_fan_out() {
    let engine = engine()
        .limits(Limits {
            queueable_jobs_async: 3,
            ..Limits::default()
        })
        .start()
        .await
        .unwrap();
    let t = tag("fanout3");
    let id = engine
        .enqueue_job(FanOut {
            tag: t.clone(),
            children: 3,
        })
        .await
        .unwrap();
    engine.wait_idle(WAIT).await.unwrap();
    assert_eq!(engine.job(id).await.unwrap().status, JobStatus::Completed);
    assert_eq!(children_of(&engine, id).await.len(), 3);
    assert_eq!(logged(&t), vec!["ran", "ran", "ran"]);
}

#[tokio::test]
async fn a_synchronous_context_takes_50_and_refuses_the_51st_committing_nothing() {
    let engine = engine().concurrency(0).start().await.unwrap();
    let t = tag("sync");
    let mut tx = engine.begin();
    for _ in 0..50 {
        tx.enqueue_job(Noop { tag: t.clone() }).unwrap();
    }
    let err = tx.enqueue_job(Noop { tag: t.clone() }).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("too many queueable jobs added to the queue: 51"),
        "{err}"
    );
    assert!(matches!(err, Error::LimitExceeded { max: 50, .. }));
    assert!(tx.commit().await.is_err());
    assert!(
        engine
            .jobs(JobListParams::default())
            .await
            .unwrap()
            .is_empty()
    );

    let mut tx = engine.begin();
    let a = tx.enqueue_job(Noop { tag: t.clone() }).unwrap();
    let b = tx.enqueue_job(Noop { tag: t.clone() }).unwrap();
    assert_eq!(tx.commit().await.unwrap(), vec![a, b]);
    drop(engine.begin()); // an uncommitted context leaves nothing behind
    assert_eq!(
        engine.jobs(JobListParams::default()).await.unwrap().len(),
        2
    );
}

#[tokio::test]
async fn the_maximum_stack_depth_is_inherited_and_fails_the_parent_that_breaks_it() {
    let engine = engine().start().await.unwrap();
    let t = tag("depth");
    let root = engine
        .enqueue_job_with(
            Chain {
                tag: t.clone(),
                remaining: 10,
                fail_after_enqueue: false,
            },
            EnqueueOptions::default().max_stack_depth(3),
        )
        .await
        .unwrap();
    engine.wait_idle(WAIT).await.unwrap();
    assert_eq!(
        logged(&t),
        vec![
            "depth=1 max=Some(3)",
            "depth=2 max=Some(3)",
            "depth=3 max=Some(3)"
        ]
    );
    let all = engine.jobs(JobListParams::default()).await.unwrap();
    assert_eq!(all.len(), 3);
    let deepest = all.iter().find(|j| j.stack_depth == 3).unwrap();
    assert_eq!(deepest.status, JobStatus::Failed);
    assert!(
        deepest
            .extended_status
            .as_deref()
            .unwrap()
            .starts_with("maximum stack depth has been reached"),
        "{:?}",
        deepest.extended_status
    );
    assert_eq!(engine.job(root).await.unwrap().status, JobStatus::Completed);
}

#[tokio::test]
async fn a_default_maximum_stack_depth_mimics_a_developer_org() {
    let engine = engine().default_max_stack_depth(5).start().await.unwrap();
    let t = tag("devorg");
    engine
        .enqueue_job(Chain {
            tag: t.clone(),
            remaining: 10,
            fail_after_enqueue: false,
        })
        .await
        .unwrap();
    engine.wait_idle(WAIT).await.unwrap();
    assert_eq!(logged(&t).len(), 5, "root plus four descendants");
}

#[tokio::test]
async fn a_zero_maximum_stack_depth_is_refused() {
    let engine = engine().concurrency(0).start().await.unwrap();
    let err = engine
        .enqueue_job_with(
            Noop { tag: tag("zero") },
            EnqueueOptions::default().max_stack_depth(0),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at least 1"), "{err}");
}

#[tokio::test]
async fn a_delay_is_respected_on_the_manual_clock() {
    let clock = ManualClock::starting_now();
    let engine = engine().clock(clock.clone()).start().await.unwrap();
    let t = tag("delay");
    let id = engine
        .enqueue_job_with(
            Noop { tag: t.clone() },
            EnqueueOptions::default().delay(Duration::from_secs(300)),
        )
        .await
        .unwrap();
    let job = engine.job(id).await.unwrap();
    assert_eq!(
        job.run_at.as_second() - job.created_at.as_second(),
        300,
        "run time is enqueue time plus the delay"
    );
    clock.advance(Duration::from_secs(299));
    engine.wait_idle(WAIT).await.unwrap();
    assert_eq!(engine.job(id).await.unwrap().status, JobStatus::Queued);
    assert!(logged(&t).is_empty());
    clock.advance(Duration::from_secs(1));
    let done = engine.wait_for(id, WAIT).await.unwrap();
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(logged(&t), vec!["ran"]);
}

#[tokio::test]
async fn the_engine_default_delay_applies_unless_the_enqueue_sets_one() {
    let clock = ManualClock::starting_now();
    let engine = engine()
        .clock(clock.clone())
        .default_delay(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let t = tag("default-delay");
    let delayed = engine.enqueue_job(Noop { tag: t.clone() }).await.unwrap();
    let immediate = engine
        .enqueue_job_with(
            Noop { tag: t.clone() },
            EnqueueOptions::default().delay(Duration::ZERO),
        )
        .await
        .unwrap();
    engine.wait_for(immediate, WAIT).await.unwrap();
    assert_eq!(engine.job(delayed).await.unwrap().status, JobStatus::Queued);
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        engine.wait_for(delayed, WAIT).await.unwrap().status,
        JobStatus::Completed
    );
}

#[tokio::test]
async fn a_duplicate_signature_is_refused_until_the_first_job_starts() {
    let clock = ManualClock::starting_now();
    let engine = engine().clock(clock.clone()).start().await.unwrap();
    let t = tag("sig");
    let sig = || {
        DuplicateSignature::builder()
            .add_string("account")
            .add_integer(42)
            .build()
            .unwrap()
    };
    let options = || {
        EnqueueOptions::default()
            .duplicate_signature(sig())
            .delay(Duration::from_secs(10))
    };
    let first = engine
        .enqueue_job_with(Noop { tag: t.clone() }, options())
        .await
        .unwrap();
    let err = engine
        .enqueue_job_with(Noop { tag: t.clone() }, options())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DuplicateSignature { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("attempt to enqueue job with duplicate queueable signature"),
        "{err}"
    );
    // A different signature is fine.
    engine
        .enqueue_job_with(
            Noop { tag: t.clone() },
            EnqueueOptions::default().duplicate_signature(
                DuplicateSignature::builder()
                    .add_integer(42)
                    .build()
                    .unwrap(),
            ),
        )
        .await
        .unwrap();
    clock.advance(Duration::from_secs(10));
    engine.wait_for(first, WAIT).await.unwrap();
    // The signature was released when the first job started.
    engine
        .enqueue_job_with(Noop { tag: t.clone() }, options())
        .await
        .unwrap();
}

#[tokio::test]
async fn aborting_a_waiting_job_means_it_never_runs() {
    let clock = ManualClock::starting_now();
    let engine = engine().clock(clock.clone()).start().await.unwrap();
    let t = tag("abort-waiting");
    let id = engine
        .enqueue_job_with(
            Noop { tag: t.clone() },
            EnqueueOptions::default().delay(Duration::from_secs(60)),
        )
        .await
        .unwrap();
    assert_eq!(engine.abort_job(id).await.unwrap(), AbortOutcome::Aborted);
    clock.advance(Duration::from_secs(3600));
    let canary = engine.enqueue_job(Noop { tag: t.clone() }).await.unwrap();
    engine.wait_for(canary, WAIT).await.unwrap();
    engine.wait_idle(WAIT).await.unwrap();
    let job = engine.job(id).await.unwrap();
    assert_eq!(job.status, JobStatus::Aborted);
    assert_eq!(job.started_at, None);
    assert_eq!(logged(&t), vec!["ran"], "only the canary ran");
    assert_eq!(
        engine.abort_job(id).await.unwrap(),
        AbortOutcome::AlreadyFinished(JobStatus::Aborted)
    );
}

#[tokio::test]
async fn aborting_a_running_job_asks_it_to_stop_and_it_ends_aborted() {
    let engine = engine().start().await.unwrap();
    let t = tag("abort-running");
    let id = engine
        .enqueue_job(Blocker { tag: t.clone() })
        .await
        .unwrap();
    wait_signal(&t).await;
    assert_eq!(
        engine.abort_job(id).await.unwrap(),
        AbortOutcome::AbortRequested
    );
    let done = engine.wait_for(id, WAIT).await.unwrap();
    assert_eq!(done.status, JobStatus::Aborted);
    assert_eq!(
        done.extended_status.as_deref(),
        Some("aborted while running")
    );
    assert_eq!(logged(&t), vec!["attempt 1", "saw abort"]);
}

#[tokio::test]
async fn an_abort_from_another_process_reaches_a_running_job_through_the_heartbeat() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.db");
    let clock = ManualClock::starting_now();
    let worker = engine()
        .sqlite(&path)
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let operator = Engine::builder()
        .sqlite(&path)
        .clock(clock.clone())
        .concurrency(0)
        .start()
        .await
        .unwrap();
    let t = tag("abort-remote");
    let id = worker
        .enqueue_job(Blocker { tag: t.clone() })
        .await
        .unwrap();
    wait_signal(&t).await;
    assert_eq!(
        operator.abort_job(id).await.unwrap(),
        AbortOutcome::AbortRequested
    );
    // The worker learns of it at its next heartbeat.
    clock.advance(worker.config().heartbeat_interval);
    let done = worker.wait_for(id, WAIT).await.unwrap();
    assert_eq!(done.status, JobStatus::Aborted);
}

#[tokio::test]
async fn enqueueing_an_unregistered_type_is_refused() {
    #[derive(Serialize, Deserialize)]
    struct Stranger;
    impl Queueable for Stranger {
        async fn execute(&mut self, _: &mut QueueableContext) -> Result<(), JobError> {
            Ok(())
        }
    }
    let engine = engine().concurrency(0).start().await.unwrap();
    let err = engine.enqueue_job(Stranger).await.unwrap_err();
    assert_eq!(
        err,
        Error::UnknownJobType {
            name: "Stranger".into()
        }
    );
}

#[tokio::test]
async fn registering_two_types_under_one_name_is_refused() {
    let err = engine().register::<Noop>().start().await.unwrap_err();
    assert_eq!(
        err,
        Error::DuplicateRegistration {
            name: "Noop".into()
        }
    );
}

fn raw_job(engine: &Engine, class: &str, payload: &str) -> NewJob {
    NewJob {
        class_name: class.into(),
        payload: payload.into(),
        batch_scope: None,
        ..raw_template(engine.clock().now())
    }
}

fn raw_template(now: jiff::Timestamp) -> NewJob {
    NewJob {
        id: fresh_id(now),
        job_type: JobType::Queueable,
        class_name: String::new(),
        method_name: None,
        status: JobStatus::Queued,
        parent_job_id: None,
        cron_trigger_id: None,
        created_at: now,
        run_at: now,
        max_attempts: 3,
        stack_depth: 1,
        max_stack_depth: None,
        failure_reenqueues: 0,
        signature: None,
        payload: String::new(),
        batch_scope: None,
        retry_of: None,
        trace_parent: None,
        queue: "default".into(),
        priority: 0,
        tenant: None,
    }
}

/// A fresh ID from a generator with a node number no engine in these tests uses.
fn fresh_id(now: jiff::Timestamp) -> asyncapex::JobId {
    use std::sync::LazyLock;
    static IDS: LazyLock<IdGenerator> = LazyLock::new(|| IdGenerator::new(65_000));
    IDS.job_id(now)
}

#[tokio::test]
async fn a_job_type_nobody_registered_fails_with_a_message_that_says_so() {
    let engine = engine().start().await.unwrap();
    let job = raw_job(&engine, "RenamedLongAgo", "{}");
    let id = job.id;
    engine
        .store()
        .job_insert_many(JobInsertManyParams::new(vec![job]))
        .await
        .unwrap();
    let done = engine.wait_for(id, WAIT).await.unwrap();
    assert_eq!(done.status, JobStatus::Failed);
    let why = done.extended_status.unwrap();
    assert!(
        why.contains("no job type is registered under the name \"RenamedLongAgo\""),
        "{why}"
    );
}

#[tokio::test]
async fn a_payload_that_no_longer_deserializes_fails_the_job_with_serdes_reason() {
    let engine = engine().start().await.unwrap();
    let job = raw_job(&engine, "Noop", r#"{"label": 7}"#);
    let id = job.id;
    engine
        .store()
        .job_insert_many(JobInsertManyParams::new(vec![job]))
        .await
        .unwrap();
    let done = engine.wait_for(id, WAIT).await.unwrap();
    assert_eq!(done.status, JobStatus::Failed);
    let why = done.extended_status.unwrap();
    assert!(
        why.contains("no longer deserializes into Noop") && why.contains("missing field `tag`"),
        "{why}"
    );
}

#[tokio::test]
async fn a_dead_workers_job_is_rescued_and_run_again_as_attempt_two() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rescue.db");
    let clock = ManualClock::starting_now();
    let t = tag("rescue");
    // A process that has since died claimed the job: its lease is all that is left.
    let store = asyncapex::SqliteStore::open(&path).await.unwrap();
    let mut job = NewJob {
        class_name: "Blocker".into(),
        payload: serde_json::json!({ "tag": t }).to_string(),
        ..raw_template(clock.now())
    };
    job.max_attempts = 3;
    let id = job.id;
    store
        .job_insert_many(JobInsertManyParams::new(vec![job]))
        .await
        .unwrap();
    let claimed = store
        .job_claim(JobClaimParams {
            owner: "dead-process".into(),
            now: clock.now(),
            lease_until: asyncapex::clock::add(clock.now(), Duration::from_secs(30)),
            queues: asyncapex_core::QueueClaim::default_queue(1),
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let engine = engine()
        .sqlite(&path)
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    // Before the lease expires nothing happens; after it, the rescuer requeues the job.
    clock.advance(Duration::from_secs(31));
    wait_signal(&t).await;
    engine.abort_job(id).await.unwrap();
    let done = engine.wait_for(id, WAIT).await.unwrap();
    assert_eq!(done.attempt, 2);
    assert_eq!(logged(&t), vec!["attempt 2", "saw abort"]);
}

#[tokio::test]
async fn shutdown_hands_unfinished_jobs_back_without_counting_the_attempt() {
    let engine = engine().start().await.unwrap();
    let t = tag("shutdown");
    let id = engine
        .enqueue_job(Blocker { tag: t.clone() })
        .await
        .unwrap();
    wait_signal(&t).await;
    let report = engine.shutdown(Duration::from_millis(100)).await.unwrap();
    assert_eq!(report.released, vec![id]);
    let job = engine.job(id).await.unwrap();
    assert_eq!(job.status, JobStatus::Queued);
    assert_eq!(job.attempt, 0);
    assert_eq!(job.lease_owner, None);
}

/// Holds its thread without ever reaching an `.await` (a CPU-bound or blocking job).
#[derive(Serialize, Deserialize)]
struct NeverYields {
    tag: String,
}

impl Queueable for NeverYields {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        signal(&self.tag);
        std::thread::sleep(Duration::from_secs(4));
        Ok(())
    }
}

// Two worker threads: the job holds one, shutdown runs on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_a_job_that_never_yields() {
    let engine = engine().register::<NeverYields>().start().await.unwrap();
    let t = tag("never-yields");
    let id = engine
        .enqueue_job(NeverYields { tag: t.clone() })
        .await
        .unwrap();
    wait_signal(&t).await;
    let started = std::time::Instant::now();
    let report = engine.shutdown(Duration::from_millis(100)).await.unwrap();
    // The job blocks for 4 s; shutdown gives up after its 100 ms deadline and hands it back.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert_eq!(report.released, vec![id]);
    assert_eq!(engine.job(id).await.unwrap().status, JobStatus::Queued);
}

#[tokio::test]
async fn json_enqueues_are_checked_against_registered_types() {
    let engine = engine().start().await.unwrap();
    let t = tag("json");
    let id = engine
        .enqueue_json(
            "Noop",
            serde_json::json!({ "tag": t }),
            EnqueueOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        engine.wait_for(id, WAIT).await.unwrap().status,
        JobStatus::Completed
    );
    assert_eq!(logged(&t), vec!["ran"]);
    let err = engine
        .enqueue_json(
            "Noop",
            serde_json::json!({ "tagg": 1 }),
            EnqueueOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("missing field `tag`"), "{err}");
    let err = engine
        .enqueue_json("Noop", serde_json::json!([1, 2]), EnqueueOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("JSON object"), "{err}");
    // A class this engine does not know is stored as given; a worker without it fails it.
    let stranger = engine
        .enqueue_json(
            "ElsewhereJob",
            serde_json::json!({}),
            EnqueueOptions::default(),
        )
        .await
        .unwrap();
    let done = engine.wait_for(stranger, WAIT).await.unwrap();
    assert_eq!(done.status, JobStatus::Failed);
    assert!(
        done.extended_status
            .unwrap()
            .contains("no job type is registered under the name \"ElsewhereJob\"")
    );
}
