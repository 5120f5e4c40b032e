//! Transaction finalizers: run after success and failure, retry, and the consecutive limit.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use asyncapex::{
    Engine, Finalizer, FinalizerContext, JobError, JobListParams, JobStatus, JobType,
    ParentJobResult, Queueable, QueueableContext,
};
use serde::{Deserialize, Serialize};
use support::{WAIT, log, logged, tag};

/// Fails until its `run` reaches `succeed_on` (never, if `None`); attaches a retrying
/// finalizer each time.
#[derive(Serialize, Deserialize, Clone)]
struct Flaky {
    tag: String,
    run: u32,
    succeed_on: Option<u32>,
    panic_instead: bool,
}

impl Queueable for Flaky {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        ctx.attach_finalizer(Retry {
            tag: self.tag.clone(),
            job: self.clone(),
        })?;
        log(&self.tag, format!("run {}", self.run));
        if Some(self.run) == self.succeed_on {
            return Ok(());
        }
        if self.panic_instead {
            panic!("run {} panicked", self.run);
        }
        Err(JobError::new(format!("run {} failed", self.run)))
    }
}

/// Re-enqueues the failed job with its run number advanced.
#[derive(Serialize, Deserialize)]
struct Retry {
    tag: String,
    job: Flaky,
}

impl Finalizer for Retry {
    async fn execute(&mut self, ctx: &mut FinalizerContext) -> Result<(), JobError> {
        log(
            &self.tag,
            format!(
                "finalizer {:?} {:?} parent={}",
                ctx.result(),
                ctx.error(),
                ctx.async_apex_job_id() == ctx.async_apex_job_id()
            ),
        );
        if ctx.result() == ParentJobResult::UnhandledException {
            let mut next = self.job.clone();
            next.run += 1;
            if let Err(e) = ctx.enqueue_job(next) {
                log(&self.tag, format!("retry refused: {e}"));
                return Err(e.into());
            }
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct TwoFinalizers;

impl Queueable for TwoFinalizers {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        ctx.attach_finalizer(Retry {
            tag: "x".into(),
            job: Flaky {
                tag: "x".into(),
                run: 0,
                succeed_on: Some(0),
                panic_instead: false,
            },
        })?;
        ctx.attach_finalizer(Retry {
            tag: "y".into(),
            job: Flaky {
                tag: "y".into(),
                run: 0,
                succeed_on: Some(0),
                panic_instead: false,
            },
        })?;
        Ok(())
    }
}

async fn engine() -> Engine {
    Engine::builder()
        .in_memory()
        .register::<Flaky>()
        .register::<TwoFinalizers>()
        .register_finalizer::<Retry>()
        .start()
        .await
        .unwrap()
}

fn flaky(tag: &str, succeed_on: Option<u32>) -> Flaky {
    Flaky {
        tag: tag.into(),
        run: 1,
        succeed_on,
        panic_instead: false,
    }
}

async fn all_jobs(engine: &Engine) -> Vec<asyncapex::JobRecord> {
    let mut jobs = engine
        .jobs(JobListParams {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    jobs.reverse();
    jobs
}

#[tokio::test]
async fn a_finalizer_runs_after_success_in_its_own_record() {
    let engine = engine().await;
    let t = tag("fin-ok");
    let id = engine.enqueue_job(flaky(&t, Some(1))).await.unwrap();
    engine.wait_idle(WAIT).await.unwrap();
    assert_eq!(engine.job(id).await.unwrap().status, JobStatus::Completed);
    assert_eq!(
        logged(&t),
        vec!["run 1", "finalizer Success None parent=true"]
    );
    let jobs = all_jobs(&engine).await;
    assert_eq!(jobs.len(), 2);
    let fin = &jobs[1];
    assert_eq!(fin.job_type, JobType::Finalizer);
    assert_eq!(fin.class_name, "Retry");
    assert_eq!(fin.parent_job_id, Some(id));
    assert_eq!(fin.status, JobStatus::Completed);
}

#[tokio::test]
async fn a_finalizer_runs_after_failure_and_can_retry_until_success() {
    let engine = engine().await;
    let t = tag("fin-retry");
    let id = engine.enqueue_job(flaky(&t, Some(3))).await.unwrap();
    engine.wait_idle(WAIT).await.unwrap();
    assert_eq!(
        logged(&t),
        vec![
            "run 1",
            "finalizer UnhandledException Some(\"run 1 failed\") parent=true",
            "run 2",
            "finalizer UnhandledException Some(\"run 2 failed\") parent=true",
            "run 3",
            "finalizer Success None parent=true",
        ]
    );
    let runs: Vec<_> = all_jobs(&engine)
        .await
        .into_iter()
        .filter(|j| j.job_type == JobType::Queueable)
        .collect();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0].id, id);
    assert_eq!(
        runs.iter().map(|j| j.status).collect::<Vec<_>>(),
        vec![JobStatus::Failed, JobStatus::Failed, JobStatus::Completed]
    );
    assert_eq!(
        runs.iter()
            .map(|j| j.failure_reenqueues)
            .collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
}

#[tokio::test]
async fn a_finalizer_runs_after_a_panic() {
    let engine = engine().await;
    let t = tag("fin-panic");
    let mut job = flaky(&t, Some(2));
    job.panic_instead = true;
    engine.enqueue_job(job).await.unwrap();
    engine.wait_idle(WAIT).await.unwrap();
    assert_eq!(
        logged(&t)[1],
        "finalizer UnhandledException Some(\"panicked: run 1 panicked\") parent=true"
    );
    assert_eq!(
        logged(&t).last().unwrap(),
        "finalizer Success None parent=true"
    );
}

#[tokio::test]
async fn a_failing_job_is_re_enqueued_at_most_five_consecutive_times() {
    let engine = engine().await;
    let t = tag("fin-limit");
    engine.enqueue_job(flaky(&t, None)).await.unwrap();
    engine.wait_idle(WAIT).await.unwrap();
    let log = logged(&t);
    let runs = log.iter().filter(|l| l.starts_with("run ")).count();
    assert_eq!(runs, 6, "the original plus five retries: {log:?}");
    let refused = log.last().unwrap();
    assert!(
        refused.starts_with(
            "retry refused: a finalizer may re-enqueue a failing job at most 5 consecutive times"
        ),
        "{refused}"
    );
    let last_finalizer = all_jobs(&engine)
        .await
        .into_iter()
        .rfind(|j| j.job_type == JobType::Finalizer)
        .unwrap();
    assert_eq!(last_finalizer.status, JobStatus::Failed);
}

#[tokio::test]
async fn only_one_finalizer_may_be_attached() {
    let engine = engine().await;
    let id = engine.enqueue_job(TwoFinalizers).await.unwrap();
    let done = engine.wait_for(id, WAIT).await.unwrap();
    assert_eq!(done.status, JobStatus::Failed);
    assert_eq!(
        done.extended_status.as_deref(),
        Some("more than one finalizer cannot be attached to the same async job")
    );
    engine.wait_idle(WAIT).await.unwrap();
    // The first one still runs: it was attached before the failure.
    let fins: Vec<_> = all_jobs(&engine)
        .await
        .into_iter()
        .filter(|j| j.job_type == JobType::Finalizer && j.parent_job_id == Some(id))
        .collect();
    assert_eq!(fins.len(), 1);
}
