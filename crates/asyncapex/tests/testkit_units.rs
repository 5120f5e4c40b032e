//! The test kit's unit tests of one execution, and its assertions on enqueued work.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use asyncapex::testing::{JobMatch, TestKit};
use asyncapex::{
    BatchContext, Batchable, Engine, FinalizerContext, FlexMove, FutureContext, JobError,
    JobStatus, JobType, ParentJobResult, Queueable, QueueableContext, Schedulable,
    SchedulableContext, WorkSet,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Serialize, Deserialize)]
struct Sync {
    account: u64,
    steps: Vec<String>,
    /// Tries a second chained job and swallows the limit error.
    greedy: bool,
    panic: bool,
}

impl Queueable for Sync {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        if self.panic {
            panic!("account {} vanished", self.account);
        }
        self.steps.push("synced".into());
        ctx.enqueue_job(Sync {
            account: self.account + 1,
            ..Default::default()
        })?;
        notify::future(ctx, self.account).await?;
        ctx.attach_finalizer(Retry::default())?;
        if self.greedy {
            let _ignored = ctx.enqueue_job(Sync::default());
        }
        Ok(())
    }
}

/// Re-enqueues the failed job; remembers what it saw.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Retry {
    saw: Option<String>,
}

impl asyncapex::Finalizer for Retry {
    async fn execute(&mut self, ctx: &mut FinalizerContext) -> Result<(), JobError> {
        self.saw = ctx.error().map(str::to_owned);
        if ctx.result() == ParentJobResult::UnhandledException {
            ctx.enqueue_job(Sync::default())?;
        }
        Ok(())
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Fanout {
    accounts: u64,
}

impl Schedulable for Fanout {
    async fn execute(&mut self, ctx: &mut SchedulableContext) -> Result<(), JobError> {
        for account in 0..self.accounts {
            ctx.enqueue_job(Sync {
                account,
                ..Default::default()
            })?;
        }
        Ok(())
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Reindex {
    sum: u32,
    chain: bool,
}

impl Batchable for Reindex {
    type Item = u32;
    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<u32>, JobError> {
        Ok(WorkSet::iter(1..=4))
    }
    async fn execute(&mut self, ctx: &mut BatchContext, scope: Vec<u32>) -> Result<(), JobError> {
        self.sum += scope.iter().sum::<u32>();
        if self.chain {
            // Refused in execute, as in Apex.
            ctx.execute_batch(Reindex::default(), 10)?;
        }
        Ok(())
    }
    async fn finish(&mut self, ctx: &mut BatchContext) -> Result<(), JobError> {
        if self.chain {
            ctx.execute_batch(Reindex::default(), 10)?;
        }
        Ok(())
    }
}

#[asyncapex::future]
async fn notify(account: u64) -> Result<(), JobError> {
    let _ = account;
    Ok(())
}

#[asyncapex::future]
async fn audit(ctx: &mut FutureContext, account: u64) -> Result<(), JobError> {
    ctx.enqueue_job(Sync {
        account,
        ..Default::default()
    })?;
    Ok(())
}

async fn kit() -> TestKit {
    TestKit::builder(
        Engine::builder()
            .register::<Sync>()
            .register_finalizer::<Retry>()
            .register_schedulable::<Fanout>()
            .register_batch::<Reindex>(),
    )
    .start()
    .await
    .unwrap()
}

#[tokio::test]
async fn a_queueable_execution_shows_what_it_buffered_and_its_limits() {
    let kit = kit().await;
    let run = kit
        .execute_queueable(Sync {
            account: 7,
            ..Default::default()
        })
        .await;
    run.result.as_ref().unwrap();
    assert_eq!(run.job.steps, ["synced"], "the job as its code left it");
    let chained = run.enqueued_of(JobType::Queueable);
    assert_eq!(chained.len(), 1);
    assert_eq!(chained[0].payload_as::<Sync>().unwrap().account, 8);
    assert_eq!(chained[0].stack_depth, 2);
    let futures = run.enqueued_of(JobType::Future);
    assert_eq!(futures[0].method_name.as_deref(), Some("notify"));
    assert_eq!(run.finalizer.as_ref().unwrap().0, "Retry");
    assert_eq!(run.limits.queueable_jobs.used, 1);
    assert_eq!(run.limits.queueable_jobs.limit, 1);
    assert_eq!(run.limits.future_calls.used, 1);
    assert!(
        kit.all_enqueued(JobMatch::any().statuses(&[]))
            .await
            .unwrap()
            .is_empty(),
        "nothing reached the store"
    );
}

#[tokio::test]
async fn a_swallowed_limit_error_or_a_panic_still_fails_the_execution() {
    let kit = kit().await;
    let greedy = kit
        .execute_queueable(Sync {
            greedy: true,
            ..Default::default()
        })
        .await;
    let err = greedy.result.unwrap_err();
    assert!(err.contains("too many queueable jobs"), "{err}");
    assert_eq!(greedy.limits.queueable_jobs.used, 2);
    let panicked = kit
        .execute_queueable(Sync {
            account: 3,
            panic: true,
            ..Default::default()
        })
        .await;
    let error = panicked.result.unwrap_err();
    assert!(
        error.starts_with("panicked: account 3 vanished (at ") && error.contains(".rs:"),
        "{error}"
    );
}

#[tokio::test]
async fn a_finalizer_runs_alone_as_if_its_parent_had_failed() {
    let kit = kit().await;
    let run = kit
        .execute_finalizer(
            Retry::default(),
            ParentJobResult::UnhandledException,
            Some("timeout calling the CRM"),
        )
        .await;
    run.result.as_ref().unwrap();
    assert_eq!(run.job.saw.as_deref(), Some("timeout calling the CRM"));
    assert_eq!(run.enqueued_of(JobType::Queueable).len(), 1, "the retry");
}

#[tokio::test]
async fn a_schedulable_runs_under_synchronous_limits() {
    let kit = kit().await;
    let run = kit.execute_schedulable(Fanout { accounts: 20 }).await;
    run.result.as_ref().unwrap();
    assert_eq!(run.enqueued.len(), 20);
    assert_eq!(run.limits.queueable_jobs.limit, 50);
}

#[tokio::test]
async fn each_batch_phase_runs_alone_with_its_own_rules() {
    let kit = kit().await;
    let start = kit.batch_start(Reindex::default()).await;
    assert_eq!(start.result.unwrap(), [1, 2, 3, 4]);
    let execute = kit.batch_execute(Reindex::default(), vec![1, 2]).await;
    execute.result.as_ref().unwrap();
    assert_eq!(execute.job.sum, 3);
    let refused = kit
        .batch_execute(
            Reindex {
                chain: true,
                ..Default::default()
            },
            vec![1],
        )
        .await;
    assert!(
        refused
            .result
            .unwrap_err()
            .contains("cannot be called from a batch start, batch execute")
    );
    let finish = kit
        .batch_finish(Reindex {
            chain: true,
            ..Default::default()
        })
        .await;
    finish.result.as_ref().unwrap();
    assert_eq!(
        finish.enqueued_of(JobType::BatchApex).len(),
        1,
        "chained from finish"
    );
}

#[tokio::test]
async fn a_future_runs_alone_from_its_stored_arguments() {
    let kit = kit().await;
    let run = kit
        .execute_future(&audit::METHOD, serde_json::json!({ "account": 9 }))
        .await;
    run.result.as_ref().unwrap();
    assert_eq!(
        run.enqueued[0].payload_as::<Sync>().unwrap().account,
        9,
        "what the future enqueued"
    );
    assert_eq!(run.limits.future_calls.limit, 0, "no futures from a future");
}

#[tokio::test]
async fn assertions_find_jobs_by_type_class_and_payload() {
    let kit = kit().await;
    let engine = kit.engine();
    let seven = engine
        .enqueue_job(Sync {
            account: 7,
            ..Default::default()
        })
        .await
        .unwrap();
    engine
        .enqueue_job(Sync {
            account: 8,
            ..Default::default()
        })
        .await
        .unwrap();
    let call = notify::future(engine, 7).await.unwrap();
    let found = kit
        .assert_enqueued(JobMatch::queueable::<Sync>().payload(|s: &Sync| s.account == 7))
        .await;
    assert_eq!(found.id, seven);
    #[derive(Deserialize)]
    struct NotifyArgs {
        account: u64,
    }
    let future = kit
        .assert_enqueued(JobMatch::future(&notify::METHOD).payload(|a: &NotifyArgs| a.account == 7))
        .await;
    assert_eq!(future.id, call);
    kit.refute_enqueued(JobMatch::queueable::<Sync>().payload(|s: &Sync| s.account == 9))
        .await;
    kit.refute_enqueued(JobMatch::of_type(JobType::BatchApex))
        .await;
    let all = kit
        .all_enqueued(JobMatch::queueable::<Sync>())
        .await
        .unwrap();
    let accounts: Vec<u64> = all
        .iter()
        .map(|j| j.payload_json()["account"].as_u64().unwrap())
        .collect();
    assert_eq!(accounts, [7, 8], "oldest first");
    kit.run_queued().await.unwrap();
    kit.refute_enqueued(JobMatch::queueable::<Sync>()).await;
    let done = kit
        .all_enqueued(JobMatch::queueable::<Sync>().statuses(&[JobStatus::Completed]))
        .await
        .unwrap();
    assert!(done.len() >= 2, "the two and what they chained");
}

#[tokio::test]
#[should_panic(expected = "expected exactly one job matching a Queueable job of class Sync")]
async fn assert_enqueued_panics_naming_what_it_looked_for() {
    let kit = kit().await;
    kit.assert_enqueued(JobMatch::queueable::<Sync>()).await;
}

#[tokio::test]
async fn flex_queue_order_follows_submission_and_moves() {
    // One active batch at a time, so the flex queue's order is the order they run in.
    let kit = TestKit::builder(Engine::builder().register_batch::<Reindex>().limits(
        asyncapex::Limits {
            active_batch_jobs: 1,
            ..asyncapex::Limits::default()
        },
    ))
    .start()
    .await
    .unwrap();
    let engine = kit.engine();
    let a = engine.execute_batch(Reindex::default(), 10).await.unwrap();
    let b = engine.execute_batch(Reindex::default(), 10).await.unwrap();
    let c = engine.execute_batch(Reindex::default(), 10).await.unwrap();
    assert_eq!(kit.flex_queue_order().await.unwrap(), [a, b, c]);
    assert!(engine.flex_queue_move(c, FlexMove::Front).await.unwrap());
    assert_eq!(kit.flex_queue_order().await.unwrap(), [c, a, b]);
    let report = kit.run_queued().await.unwrap();
    let ran: Vec<_> = report.runs().iter().map(|r| r.record.id).collect();
    assert_eq!(ran, [c, a, b], "promoted in flex-queue order");
}
