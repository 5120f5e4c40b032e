//! Transaction finalizers: run after success and failure, retry, and the consecutive limit.
//!
//! On the test kit: each test collects work, runs it on its own task (`run_queued`,
//! `stop_test`) and reads what each finalizer saw from the state it left — no statics.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use asyncapex::testing::{JobRun, TestKit, TestReport};
use asyncapex::{
    Engine, Finalizer, FinalizerContext, JobError, JobId, JobStatus, JobType, ParentJobResult,
    Queueable, QueueableContext,
};
use serde::{Deserialize, Serialize};

/// Fails until its `run` reaches `succeed_on` (never, if `None`); attaches a retrying
/// finalizer each time.
#[derive(Serialize, Deserialize, Clone)]
struct Flaky {
    run: u32,
    succeed_on: Option<u32>,
    panic_instead: bool,
}

impl Queueable for Flaky {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        ctx.attach_finalizer(Retry::of(self.clone()))?;
        if Some(self.run) == self.succeed_on {
            return Ok(());
        }
        if self.panic_instead {
            panic!("run {} panicked", self.run);
        }
        Err(JobError::new(format!("run {} failed", self.run)))
    }
}

/// Re-enqueues the failed job with its run number advanced; keeps what it saw.
#[derive(Serialize, Deserialize)]
struct Retry {
    job: Flaky,
    saw_result: Option<ParentJobResult>,
    saw_error: Option<String>,
    saw_parent: Option<JobId>,
    refused: Option<String>,
}

impl Retry {
    fn of(job: Flaky) -> Retry {
        Retry {
            job,
            saw_result: None,
            saw_error: None,
            saw_parent: None,
            refused: None,
        }
    }
}

impl Finalizer for Retry {
    async fn execute(&mut self, ctx: &mut FinalizerContext) -> Result<(), JobError> {
        self.saw_result = Some(ctx.result());
        self.saw_error = ctx.error().map(str::to_owned);
        self.saw_parent = Some(ctx.async_apex_job_id());
        if ctx.result() == ParentJobResult::UnhandledException {
            let mut next = self.job.clone();
            next.run += 1;
            if let Err(e) = ctx.enqueue_job(next) {
                self.refused = Some(e.to_string());
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
        let done = Flaky {
            run: 0,
            succeed_on: Some(0),
            panic_instead: false,
        };
        ctx.attach_finalizer(Retry::of(done.clone()))?;
        ctx.attach_finalizer(Retry::of(done))?;
        Ok(())
    }
}

/// A kit without a maximum chain depth: a finalizer's retries deepen the chain, and these
/// tests are about the re-enqueue limit, not the depth limit.
async fn kit() -> TestKit {
    TestKit::builder(
        Engine::builder()
            .register::<Flaky>()
            .register::<TwoFinalizers>()
            .register_finalizer::<Retry>(),
    )
    .max_stack_depth(None)
    .start()
    .await
    .unwrap()
}

fn flaky(succeed_on: Option<u32>) -> Flaky {
    Flaky {
        run: 1,
        succeed_on,
        panic_instead: false,
    }
}

/// What each finalizer run saw, in run order.
fn finalizers(report: &TestReport) -> Vec<(JobRun, Retry)> {
    report
        .runs_of("Retry")
        .into_iter()
        .map(|r| (r.clone(), r.state::<Retry>().unwrap()))
        .collect()
}

#[tokio::test]
async fn a_finalizer_runs_after_success_in_its_own_record() {
    let kit = kit().await;
    let mut block = kit.start_test().await.unwrap();
    let id = block.enqueue_job(flaky(Some(1))).unwrap();
    let report = kit.stop_test(block).await.unwrap().into_result().unwrap();
    assert_eq!(report.run(id).unwrap().record.status, JobStatus::Completed);
    let fins = finalizers(&report);
    assert_eq!(fins.len(), 1);
    let (run, saw) = &fins[0];
    assert_eq!(saw.saw_result, Some(ParentJobResult::Success));
    assert_eq!(saw.saw_error, None);
    assert_eq!(saw.saw_parent, Some(id));
    assert_eq!(run.record.job_type, JobType::Finalizer);
    assert_eq!(run.record.class_name, "Retry");
    assert_eq!(run.record.parent_job_id, Some(id));
    assert_eq!(run.record.status, JobStatus::Completed);
    assert_eq!(report.runs().len(), 2);
}

#[tokio::test]
async fn a_finalizer_runs_after_failure_and_can_retry_until_success() {
    let kit = kit().await;
    let id = kit.engine().enqueue_job(flaky(Some(3))).await.unwrap();
    let report = kit.run_queued().await.unwrap();
    let saw: Vec<(Option<ParentJobResult>, Option<String>)> = finalizers(&report)
        .into_iter()
        .map(|(_, r)| (r.saw_result, r.saw_error))
        .collect();
    use ParentJobResult::{Success, UnhandledException};
    assert_eq!(
        saw,
        vec![
            (Some(UnhandledException), Some("run 1 failed".into())),
            (Some(UnhandledException), Some("run 2 failed".into())),
            (Some(Success), None),
        ]
    );
    let runs: Vec<_> = report
        .runs()
        .iter()
        .filter(|r| r.record.job_type == JobType::Queueable)
        .map(|r| &r.record)
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
    assert_eq!(
        report.failures().len(),
        2,
        "the two failed runs are reported"
    );
}

#[tokio::test]
async fn a_finalizer_runs_after_a_panic() {
    let kit = kit().await;
    let mut job = flaky(Some(2));
    job.panic_instead = true;
    kit.engine().enqueue_job(job).await.unwrap();
    let report = kit.run_queued().await.unwrap();
    let fins = finalizers(&report);
    let saw = fins[0].1.saw_error.clone().unwrap_or_default();
    assert!(
        saw.starts_with("panicked: run 1 panicked (at ")
            && saw.contains("tests/queueable_finalizer.rs:30:"),
        "{saw}"
    );
    assert_eq!(
        fins.last().unwrap().1.saw_result,
        Some(ParentJobResult::Success)
    );
}

#[tokio::test]
async fn a_failing_job_is_re_enqueued_at_most_five_consecutive_times() {
    let kit = kit().await;
    kit.engine().enqueue_job(flaky(None)).await.unwrap();
    let report = kit.run_queued().await.unwrap();
    let runs = report.runs_of("Flaky").len();
    assert_eq!(runs, 6, "the original plus five retries");
    let (last_run, last) = finalizers(&report).pop().unwrap();
    let refused = last.refused.unwrap();
    assert!(
        refused.starts_with("a finalizer may re-enqueue a failing job at most 5 consecutive times"),
        "{refused}"
    );
    assert_eq!(last_run.record.status, JobStatus::Failed);
}

#[tokio::test]
async fn only_one_finalizer_may_be_attached() {
    let kit = kit().await;
    let id = kit.engine().enqueue_job(TwoFinalizers).await.unwrap();
    let report = kit.run_queued().await.unwrap();
    assert_eq!(
        report.failure_of(id).unwrap().message,
        "more than one finalizer cannot be attached to the same async job"
    );
    // The first one still runs: it was attached before the failure.
    let fins: Vec<_> = report
        .runs()
        .iter()
        .filter(|r| r.record.job_type == JobType::Finalizer && r.record.parent_job_id == Some(id))
        .collect();
    assert_eq!(fins.len(), 1);
}
