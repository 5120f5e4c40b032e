//! Beyond Apex: retries with backoff, named queues with their own concurrency, priorities,
//! pause and resume, rate limits across engines, and fair share between tenants. Timing is
//! virtual (the test kit's or a shared `ManualClock`) wherever a schedule is asserted.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use asyncapex::testing::TestKit;
use asyncapex::{
    AttemptOutcome, Engine, EnqueueOptions, Finalizer, FinalizerContext, JobError, JobListParams,
    JobOptions, JobStatus, JobType, LifecycleStep, ManualClock, Queue, Queueable, QueueableContext,
    RetryPolicy,
};
use serde::{Deserialize, Serialize};
use support::{WAIT, log, logged, signal, tag, wait_signal};

/// Fails every attempt (or only until `succeed_on`), attaching a finalizer each time.
#[derive(Serialize, Deserialize)]
struct Flaky {
    tag: String,
    permanent: bool,
    succeed_on: Option<u32>,
}

impl Queueable for Flaky {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        let attempt = ctx.attempt();
        ctx.attach_finalizer(Outcome {
            tag: self.tag.clone(),
            attempt,
        })?;
        ctx.enqueue_job(Noop {
            tag: self.tag.clone(),
        })?;
        log(&self.tag, format!("attempt {attempt}"));
        if self.succeed_on == Some(attempt) {
            return Ok(());
        }
        if self.permanent {
            return Err(JobError::permanent(format!(
                "attempt {attempt}: account gone"
            )));
        }
        Err(JobError::new(format!("attempt {attempt}: bank timed out")))
    }
}

/// Records what its finalizer saw.
#[derive(Serialize, Deserialize)]
struct Outcome {
    tag: String,
    attempt: u32,
}

impl Finalizer for Outcome {
    async fn execute(&mut self, ctx: &mut FinalizerContext) -> Result<(), JobError> {
        log(
            &format!("{}-final", self.tag),
            format!("{:?} after attempt {}", ctx.result(), self.attempt),
        );
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct Noop {
    tag: String,
}

impl Queueable for Noop {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        log(&format!("{}-chained", self.tag), "ran");
        Ok(())
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy::exponential(4)
        .base(Duration::from_secs(10))
        .cap(Duration::from_secs(25))
        .jitter(0.5)
}

async fn kit() -> TestKit {
    TestKit::builder(
        Engine::builder()
            .register::<Flaky>()
            .register::<Noop>()
            .register_finalizer::<Outcome>()
            .job_options("Flaky", JobOptions::default().retry(policy())),
    )
    .start()
    .await
    .unwrap()
}

#[tokio::test]
async fn each_attempt_runs_at_its_backoff_then_the_job_fails_with_every_error_kept() {
    let kit = kit().await;
    let t = tag("backoff");
    let id = kit
        .engine()
        .enqueue_job(Flaky {
            tag: t.clone(),
            permanent: false,
            succeed_on: None,
        })
        .await
        .unwrap();
    // Only what is due now runs (run_queued would run every attempt at once, as Apex's
    // end of test runs all async work).
    kit.advance(Duration::ZERO).await.unwrap();
    for attempt in 1..4_u32 {
        let record = kit.engine().job(id).await.unwrap();
        assert_eq!(
            (record.status, record.attempt),
            (JobStatus::Queued, attempt)
        );
        let ended = record.attempt_started_at.unwrap();
        let wait = record.run_at.duration_since(ended);
        let (lo, hi) = policy().backoff(attempt);
        assert!(
            wait >= jiff::SignedDuration::try_from(lo).unwrap()
                && wait <= jiff::SignedDuration::try_from(hi).unwrap(),
            "attempt {attempt}: waited {wait:?}, outside {lo:?}..{hi:?}"
        );
        assert_eq!(
            wait,
            jiff::SignedDuration::try_from(policy().delay(id, attempt)).unwrap()
        );
        // A moment before its time nothing runs; at its time the next attempt does.
        kit.advance_to(record.run_at - jiff::SignedDuration::from_millis(1))
            .await
            .unwrap();
        assert_eq!(kit.engine().job(id).await.unwrap().attempt, attempt);
        kit.advance_to(record.run_at).await.unwrap();
        assert_eq!(
            kit.engine().job(id).await.unwrap().attempt_started_at,
            Some(record.run_at)
        );
    }
    let record = kit.engine().job(id).await.unwrap();
    assert_eq!((record.status, record.attempt), (JobStatus::Failed, 4));
    let attempts = kit.engine().job_attempts(id).await.unwrap();
    let errors: Vec<_> = attempts
        .iter()
        .map(|a| (a.attempt, a.outcome, a.error.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        errors,
        (1..=4)
            .map(|n| (
                n,
                AttemptOutcome::Failed,
                format!("attempt {n}: bank timed out")
            ))
            .collect::<Vec<_>>()
    );
    assert_eq!(logged(&t).len(), 4);
    // The finalizer ran once, for the final outcome; no attempt's chained job committed.
    assert_eq!(
        logged(&format!("{t}-final")),
        vec!["UnhandledException after attempt 4".to_owned()]
    );
    assert!(logged(&format!("{t}-chained")).is_empty());
}

#[tokio::test]
async fn a_permanent_error_is_not_retried() {
    let kit = kit().await;
    let t = tag("permanent");
    let id = kit
        .engine()
        .enqueue_job(Flaky {
            tag: t.clone(),
            permanent: true,
            succeed_on: None,
        })
        .await
        .unwrap();
    kit.run_queued().await.unwrap();
    let record = kit.engine().job(id).await.unwrap();
    assert_eq!((record.status, record.attempt), (JobStatus::Failed, 1));
    assert_eq!(
        record.extended_status.as_deref(),
        Some("attempt 1: account gone")
    );
    assert_eq!(logged(&format!("{t}-final")).len(), 1);
}

#[tokio::test]
async fn a_retry_that_succeeds_commits_only_its_own_chained_work_and_finalizer() {
    let kit = kit().await;
    let t = tag("mends");
    let id = kit
        .engine()
        .enqueue_job(Flaky {
            tag: t.clone(),
            permanent: false,
            succeed_on: Some(2),
        })
        .await
        .unwrap();
    kit.run_queued().await.unwrap();
    kit.advance(Duration::from_secs(60)).await.unwrap();
    let record = kit.engine().job(id).await.unwrap();
    assert_eq!((record.status, record.attempt), (JobStatus::Completed, 2));
    assert_eq!(logged(&format!("{t}-chained")), vec!["ran".to_owned()]);
    assert_eq!(
        logged(&format!("{t}-final")),
        vec!["Success after attempt 2".to_owned()]
    );
}

#[tokio::test]
async fn without_a_policy_a_failure_ends_the_job_as_in_apex() {
    let kit = TestKit::builder(
        Engine::builder()
            .register::<Flaky>()
            .register::<Noop>()
            .register_finalizer::<Outcome>(),
    )
    .start()
    .await
    .unwrap();
    let id = kit
        .engine()
        .enqueue_job(Flaky {
            tag: tag("apex"),
            permanent: false,
            succeed_on: None,
        })
        .await
        .unwrap();
    kit.run_queued().await.unwrap();
    let record = kit.engine().job(id).await.unwrap();
    assert_eq!((record.status, record.attempt), (JobStatus::Failed, 1));
}

/// Waits on its tag's signal: holds its slot until the test lets it go.
#[derive(Serialize, Deserialize)]
struct Slow {
    tag: String,
}

impl Queueable for Slow {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        signal(&format!("{}-started", self.tag));
        wait_signal(&format!("{}-go", self.tag)).await;
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct Fast {
    tag: String,
    n: u32,
}

impl Queueable for Fast {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        log(&self.tag, self.n.to_string());
        Ok(())
    }
}

/// An engine on the file `db` that runs `Fast` jobs with `concurrency` slots (0: enqueue only).
fn on_file(db: &std::path::Path, concurrency: usize) -> asyncapex::EngineBuilder {
    Engine::builder()
        .sqlite(db)
        .register::<Fast>()
        .concurrency(concurrency)
}

/// The completed jobs an engine's store holds (at most 100).
async fn completed_jobs(engine: &Engine) -> Vec<asyncapex::JobRecord> {
    engine
        .jobs(JobListParams {
            statuses: vec![JobStatus::Completed],
            limit: 100,
            ..JobListParams::default()
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_saturated_slow_queue_does_not_delay_a_fast_queues_jobs() {
    let t = tag("slow");
    let engine = Engine::builder()
        .in_memory()
        .register::<Slow>()
        .register::<Fast>()
        .concurrency(2)
        .queue(Queue::new("slow").concurrency(2))
        .job_options("Slow", JobOptions::default().queue("slow"))
        .start()
        .await
        .unwrap();
    let slow: Vec<_> = engine
        .enqueue_jobs((0..20).map(|_| Slow { tag: t.clone() }))
        .await
        .unwrap();
    wait_signal(&format!("{t}-started")).await;
    wait_signal(&format!("{t}-started")).await;
    let fast = engine
        .enqueue_job(Fast {
            tag: t.clone(),
            n: 1,
        })
        .await
        .unwrap();
    let done = engine.wait_for(fast, WAIT).await.unwrap();
    assert_eq!(done.status, JobStatus::Completed);
    let queues = engine.queues().await.unwrap();
    let slow_queue = queues.iter().find(|q| q.name == "slow").unwrap();
    assert_eq!((slow_queue.running, slow_queue.queued), (2, 18));
    for _ in 0..20 {
        signal(&format!("{t}-go"));
    }
    for id in slow {
        assert_eq!(
            engine.wait_for(id, WAIT).await.unwrap().status,
            JobStatus::Completed
        );
    }
    engine.shutdown(WAIT).await.unwrap();
}

#[tokio::test]
async fn a_paused_queue_claims_nothing_and_runs_once_resumed() {
    let t = tag("paused");
    let engine = Engine::builder()
        .in_memory()
        .register::<Fast>()
        .concurrency(2)
        .queue(Queue::new("reports"))
        .start()
        .await
        .unwrap();
    assert!(engine.pause_queue("reports").await.unwrap());
    assert!(!engine.pause_queue("reports").await.unwrap());
    let held = engine
        .enqueue_job_with(
            Fast {
                tag: t.clone(),
                n: 1,
            },
            EnqueueOptions::default().queue("reports"),
        )
        .await
        .unwrap();
    // A job in a queue that is not paused, enqueued after it, runs: the executor has claimed
    // since, and passed the paused one over.
    let after = engine
        .enqueue_job(Fast {
            tag: t.clone(),
            n: 2,
        })
        .await
        .unwrap();
    engine.wait_for(after, WAIT).await.unwrap();
    assert_eq!(engine.job(held).await.unwrap().status, JobStatus::Queued);
    let listed = engine.queues().await.unwrap();
    assert!(
        listed
            .iter()
            .any(|q| q.name == "reports" && q.paused && q.due == 1)
    );
    assert!(engine.resume_queue("reports").await.unwrap());
    assert_eq!(
        engine.wait_for(held, WAIT).await.unwrap().status,
        JobStatus::Completed
    );
    assert_eq!(logged(&t), vec!["2".to_owned(), "1".to_owned()]);
    assert!(engine.pause_queue("no spaces allowed").await.is_err());
    engine.shutdown(WAIT).await.unwrap();
}

#[tokio::test]
async fn priorities_order_claims() {
    let t = tag("priorities");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    // Enqueued by an engine that runs nothing, then drained by one slot.
    let writer = on_file(&db, 0).start().await.unwrap();
    let mut ids = Vec::new();
    for (n, p) in [(1, 5), (2, 0), (3, 9), (4, 0), (5, 2)] {
        ids.push(
            writer
                .enqueue_job_with(
                    Fast { tag: t.clone(), n },
                    EnqueueOptions::default().priority(p),
                )
                .await
                .unwrap(),
        );
    }
    assert!(
        writer
            .enqueue_job_with(
                Fast {
                    tag: t.clone(),
                    n: 0
                },
                EnqueueOptions::default().priority(10)
            )
            .await
            .is_err()
    );
    let worker = on_file(&db, 1).start().await.unwrap();
    for id in &ids {
        worker.wait_for(*id, WAIT).await.unwrap();
    }
    assert_eq!(logged(&t), vec!["2", "4", "5", "1", "3"]);
    worker.shutdown(WAIT).await.unwrap();
    writer.shutdown(WAIT).await.unwrap();
}

#[tokio::test]
async fn a_rate_limit_holds_across_two_engines_on_one_store() {
    let t = tag("rate");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let start = jiff::Timestamp::from_second(1_900_000_000).unwrap();
    let clock = ManualClock::new(start);
    let engine = |clock: ManualClock| {
        on_file(&db, 4)
            .clock(clock)
            .queue(
                Queue::new("rated")
                    .concurrency(4)
                    .rate_limit(3, Duration::from_secs(1)),
            )
            .job_options("Fast", JobOptions::default().queue("rated"))
            .start()
    };
    let a = engine(clock.clone()).await.unwrap();
    let b = engine(clock.clone()).await.unwrap();
    let mut events = a.subscribe_lifecycle();
    let mut events_b = b.subscribe_lifecycle();
    a.enqueue_jobs((0..10).map(|n| Fast { tag: t.clone(), n }))
        .await
        .unwrap();
    let completed = |e: &asyncapex::JobLifecycle| matches!(e.step, LifecycleStep::Completed);
    for second in 0..3_i64 {
        // Three complete in each second of virtual time, between the two engines.
        let mut seen = 0;
        while seen < 3 {
            tokio::select! {
                e = events.recv() => if completed(&e.unwrap()) { seen += 1 },
                e = events_b.recv() => if completed(&e.unwrap()) { seen += 1 },
                _ = tokio::time::sleep(WAIT) => panic!("second {second}: only {seen} of 3 started"),
            }
        }
        // The clock stands still: however long the engines look, no fourth start is allowed.
        let done = completed_jobs(&a).await;
        assert_eq!(done.len() as i64, 3 * (second + 1), "second {second}");
        for j in &done {
            assert_eq!(j.job_type, JobType::Queueable);
        }
        if second < 2 {
            clock.advance(Duration::from_secs(1));
        }
    }
    let done = completed_jobs(&a).await;
    let mut per_second = std::collections::BTreeMap::new();
    for j in &done {
        *per_second
            .entry(j.started_at.unwrap().as_second())
            .or_insert(0) += 1;
    }
    assert!(per_second.values().all(|n| *n == 3), "{per_second:?}");
    a.shutdown(WAIT).await.unwrap();
    b.shutdown(WAIT).await.unwrap();
}

#[tokio::test]
async fn a_flooding_tenant_does_not_delay_another_tenants_jobs() {
    let t = tag("tenants");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let writer = on_file(&db, 0)
        .queue(Queue::new("default").tenant_limit(5))
        .start()
        .await
        .unwrap();
    let flood: Vec<_> = (0..50)
        .map(|n| Fast {
            tag: t.clone(),
            n: 100 + n,
        })
        .collect();
    for job in flood {
        writer
            .enqueue_job_with(job, EnqueueOptions::default().tenant("acme"))
            .await
            .unwrap();
    }
    let late = writer
        .enqueue_job_with(
            Fast {
                tag: t.clone(),
                n: 1,
            },
            EnqueueOptions::default().tenant("globex"),
        )
        .await
        .unwrap();
    let counts = writer.tenant_counts(10).await.unwrap();
    assert_eq!(counts[0].tenant, "acme");
    assert_eq!(counts[0].queued, 50);
    let worker = on_file(&db, 1).start().await.unwrap();
    worker.wait_for(late, WAIT).await.unwrap();
    worker.wait_idle(WAIT).await.unwrap();
    let order = logged(&t);
    let at = order.iter().position(|n| n == "1").unwrap();
    // The bound: behind at most the flooding tenant's first 5 (its limit), not its 50.
    assert_eq!(at, 5, "{order:?}");
    assert_eq!(order.len(), 51);
    worker.shutdown(WAIT).await.unwrap();
    writer.shutdown(WAIT).await.unwrap();
}

#[tokio::test]
async fn bad_queue_names_tenants_and_policies_are_refused_with_the_rule() {
    let e = Engine::builder()
        .in_memory()
        .register::<Fast>()
        .queue(Queue::new("bad name"))
        .start()
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("queue name"), "{e}");
    let e = Engine::builder()
        .in_memory()
        .register::<Fast>()
        .queue(Queue::new("r").rate_limit(0, Duration::from_secs(1)))
        .start()
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("rate limit"), "{e}");
    let e = Engine::builder()
        .in_memory()
        .register::<Fast>()
        .queue(Queue::new("capped").global_limit(0))
        .start()
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("global limit"), "{e}");
    let e = Engine::builder()
        .in_memory()
        .register::<Fast>()
        .job_options(
            "Fast",
            JobOptions::default().retry(RetryPolicy::exponential(0)),
        )
        .start()
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("retry policy"), "{e}");
    let engine = Engine::builder()
        .in_memory()
        .register::<Fast>()
        .concurrency(0)
        .start()
        .await
        .unwrap();
    let job = || Fast {
        tag: "x".into(),
        n: 0,
    };
    for options in [
        EnqueueOptions::default().queue(""),
        EnqueueOptions::default().tenant("a\u{0}b"),
        EnqueueOptions::default().priority(12),
    ] {
        assert!(engine.enqueue_job_with(job(), options).await.is_err());
    }
    engine.shutdown(WAIT).await.unwrap();
}

/// Chains one `Fast` under the tenant it runs for.
#[derive(Serialize, Deserialize)]
struct Parent {
    tag: String,
}

impl Queueable for Parent {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        ctx.enqueue_job(Fast {
            tag: self.tag.clone(),
            n: 7,
        })?;
        Ok(())
    }
}

#[tokio::test]
async fn chained_work_inherits_its_jobs_tenant() {
    let kit = TestKit::builder(Engine::builder().register::<Parent>().register::<Fast>())
        .start()
        .await
        .unwrap();
    let id = kit
        .engine()
        .enqueue_job_with(
            Parent { tag: tag("chain") },
            EnqueueOptions::default().tenant("org-1").queue("work"),
        )
        .await
        .unwrap();
    kit.run_queued().await.unwrap();
    let child = kit
        .engine()
        .jobs(JobListParams {
            parent_job_id: Some(id),
            limit: 10,
            ..JobListParams::default()
        })
        .await
        .unwrap();
    assert_eq!(child.len(), 1);
    assert_eq!(child[0].tenant.as_deref(), Some("org-1"));
    assert_eq!(child[0].status, JobStatus::Completed);
}

#[tokio::test]
async fn virtual_time_runs_a_later_keyed_job_that_is_due_sooner_in_any_queue() {
    let t = tag("keyed");
    let kit = TestKit::builder(Engine::builder().register::<Fast>())
        .start()
        .await
        .unwrap();
    let at = |s: u64| EnqueueOptions::default().delay(Duration::from_secs(s));
    let enqueue = |n: u32, options: EnqueueOptions| {
        kit.engine()
            .enqueue_job_with(Fast { tag: t.clone(), n }, options)
    };
    enqueue(1, at(100).queue("a")).await.unwrap();
    let sooner = enqueue(2, at(10).queue("a").priority(9)).await.unwrap();
    enqueue(3, at(60).queue("b")).await.unwrap();
    kit.advance(Duration::from_secs(30)).await.unwrap();
    assert_eq!(logged(&t), vec!["2".to_owned()]);
    assert_eq!(
        kit.engine().job(sooner).await.unwrap().status,
        JobStatus::Completed
    );
    kit.advance(Duration::from_secs(100)).await.unwrap();
    assert_eq!(
        logged(&t),
        vec!["2".to_owned(), "3".to_owned(), "1".to_owned()]
    );
}
