//! Unit tests of one execution: run a single `Queueable::execute`, batch phase,
//! `Schedulable::execute`, finalizer or future with a real context — limits, isolation and
//! the outcome mapping included — but no store record and no worker, and inspect what it
//! buffered and used (River's `rivertest.Worker`, Oban's `perform_job`).

use std::sync::Arc;
use std::time::Duration;

use asyncapex_core::{BatchPhase, JobId, JobType, NewJob};
use jiff::Timestamp;
use serde::de::DeserializeOwned;

use super::TestKit;
use crate::kinds::batch::{Batchable, WorkSet};
use crate::kinds::context::{
    BatchContext, FinalizerContext, FutureContext, QueueableContext, SchedulableContext,
};
use crate::kinds::finalizer::Finalizer;
use crate::kinds::future::FutureMethod;
use crate::kinds::queueable::Queueable;
use crate::kinds::schedulable::Schedulable;
use crate::runtime::context::{ExecContext, ExecShared, RunningJob};
use crate::runtime::isolation::{Ended, isolate};
use crate::runtime::limits::{ContextKind, LimitsView};
use crate::runtime::outcome::{ParentJobResult, Settled, settle};

/// A job the execution asked for (a chained queueable, a future call, a batch), buffered
/// and not committed: a unit test inspects it instead of running it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buffered {
    /// The ID it would have.
    pub id: JobId,
    /// Its type.
    pub job_type: JobType,
    /// Its class.
    pub class_name: String,
    /// A future's method name.
    pub method_name: Option<String>,
    /// Its state as JSON.
    pub payload: String,
    /// When it would run (a delayed enqueue's run time).
    pub run_at: Timestamp,
    /// Its depth in the chain.
    pub stack_depth: u32,
}

impl Buffered {
    /// The payload deserialized into `T` (`None` when it does not fit).
    pub fn payload_as<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_str(&self.payload).ok()
    }

    fn from_new(job: NewJob) -> Buffered {
        Buffered {
            id: job.id,
            job_type: job.job_type,
            class_name: job.class_name,
            method_name: job.method_name,
            payload: job.payload,
            run_at: job.run_at,
            stack_depth: job.stack_depth,
        }
    }
}

/// One execution run by a unit-test call, such as [`TestKit::execute_queueable`].
///
/// ```
/// # fn demo(run: asyncapex::testing::Execution<()>) {
/// assert!(run.result.is_ok(), "{:?}", run.result);
/// assert_eq!(run.enqueued.len(), 1);               // one chained job
/// assert_eq!(run.limits.queueable_jobs.used, 1);
/// # }
/// ```
#[derive(Debug)]
pub struct Execution<T, O = ()> {
    /// The job value as the code left it.
    pub job: T,
    /// How the code ended, after Apex's rules: `Err` with the message a job record would
    /// carry for an error, a panic, the time limit or a broken governor limit (which fails
    /// an execution even when the code swallowed the error).
    pub result: Result<O, String>,
    /// What it buffered — committed only on success in a real run — in submission order.
    pub enqueued: Vec<Buffered>,
    /// The finalizer it attached: its class and state.
    pub finalizer: Option<(String, serde_json::Value)>,
    /// Its governor limits usage (callouts included) at the end.
    pub limits: LimitsView,
}

impl<T, O> Execution<T, O> {
    /// The buffered jobs of one type.
    pub fn enqueued_of(&self, job_type: JobType) -> Vec<&Buffered> {
        self.enqueued
            .iter()
            .filter(|j| j.job_type == job_type)
            .collect()
    }
}

impl TestKit {
    /// A context's machinery for one execution of `kind`, as the executor would build it.
    fn unit_context(
        &self,
        kind: ContextKind,
        allows_callouts: bool,
        time_limit: Option<Duration>,
    ) -> (ExecContext, RunningJob) {
        let rt = self.rt();
        let job = RunningJob {
            id: rt.ids.job_id(rt.clock.now()),
            stack_depth: 1,
            max_stack_depth: rt.config.default_max_stack_depth,
            failure_reenqueues: 0,
            attempt: 1,
            tenant: None,
        };
        let mut inner = ExecContext::new(
            rt.clone(),
            kind,
            Some(job.clone()),
            Arc::new(ExecShared::default()),
        );
        inner.allows_callouts |= allows_callouts;
        if let Some(limit) = time_limit {
            inner.time_limit = limit;
        }
        (inner, job)
    }

    /// Runs `Q::execute` once with a fresh queueable context (depth 1, attempt 1).
    ///
    /// ```
    /// # use asyncapex::{JobError, Queueable, QueueableContext};
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct Step(u32);
    /// # impl Queueable for Step { async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> { ctx.enqueue_job(Step(self.0 + 1))?; Ok(()) } }
    /// # async fn demo(kit: &asyncapex::testing::TestKit) {
    /// let run = kit.execute_queueable(Step(1)).await;
    /// assert_eq!(run.enqueued[0].payload_as::<Step>().unwrap().0, 2);
    /// # }
    /// ```
    pub async fn execute_queueable<Q: Queueable>(&self, mut job: Q) -> Execution<Q> {
        let (inner, running) = self.unit_context(
            ContextKind::Queueable,
            Q::ALLOWS_CALLOUTS,
            Q::execution_time_limit(),
        );
        let mut ctx = QueueableContext {
            inner,
            job: running,
        };
        let (limit, kind) = (ctx.inner.time_limit, ctx.inner.kind);
        let ended = isolate(&self.clock, limit, kind, job.execute(&mut ctx)).await;
        finish(job, ended, &ctx.inner)
    }

    /// Runs `S::execute` once, as a firing of a schedule that does not exist in the store.
    pub async fn execute_schedulable<S: Schedulable>(&self, mut job: S) -> Execution<S> {
        let (inner, running) =
            self.unit_context(ContextKind::Scheduled, false, S::execution_time_limit());
        let trigger_id = self.rt().ids.cron_trigger_id(self.clock.now());
        let mut ctx = SchedulableContext {
            inner,
            job: running,
            trigger_id,
        };
        let (limit, kind) = (ctx.inner.time_limit, ctx.inner.kind);
        let ended = isolate(&self.clock, limit, kind, job.execute(&mut ctx)).await;
        finish(job, ended, &ctx.inner)
    }

    /// Runs a finalizer once, as if its queueable had ended with `result` (and `error`, the
    /// parent's message, when it failed) — the common advice for testing finalizers, since
    /// forcing a real failure makes an Apex test fail.
    pub async fn execute_finalizer<F: Finalizer>(
        &self,
        mut finalizer: F,
        result: ParentJobResult,
        error: Option<&str>,
    ) -> Execution<F> {
        let kind = ContextKind::Finalizer {
            parent_failed: result == ParentJobResult::UnhandledException,
        };
        let (inner, running) = self.unit_context(kind, true, None);
        let parent_job_id = self.rt().ids.job_id(self.clock.now());
        let mut ctx = FinalizerContext {
            inner,
            job: running,
            parent_job_id,
            result,
            error: error.map(str::to_owned),
        };
        let ended = isolate(
            &self.clock,
            ctx.inner.time_limit,
            kind,
            finalizer.execute(&mut ctx),
        )
        .await;
        finish(finalizer, ended, &ctx.inner)
    }

    /// Runs a future method once with its arguments as a JSON object keyed by parameter
    /// name (`send_receipt::METHOD`, `json!({"order_id": 42})`). A future that takes no
    /// context can simply be called as the plain `async fn` it still is.
    pub async fn execute_future(
        &self,
        method: &'static FutureMethod,
        args: serde_json::Value,
    ) -> Execution<()> {
        let (inner, running) = self.unit_context(
            ContextKind::Future,
            method.allows_callouts(),
            method.time_limit(),
        );
        let limit = inner.time_limit;
        let probe = inner.clone();
        let ctx = FutureContext {
            inner,
            job: running,
        };
        let kind = ContextKind::Future;
        let ended = isolate(
            &self.clock,
            limit,
            kind,
            (method.run)(args.to_string(), ctx),
        )
        .await;
        finish((), ended, &probe)
    }

    /// Runs a batch's `start` once; an iterable work set comes back as its items (a
    /// query locator cannot be read without a run: test it through
    /// [`stop_test`](Self::stop_test)).
    pub async fn batch_start<B: Batchable>(&self, mut batch: B) -> Execution<B, Vec<B::Item>> {
        let (mut ctx, limit) = self.batch_context::<B>(BatchPhase::Start);
        let kind = ctx.inner.kind;
        let ended = isolate(&self.clock, limit, kind, async {
            match batch.start(&mut ctx).await? {
                WorkSet::Iterable(items) => Ok(items.collect()),
                WorkSet::QueryLocator(_) => Err(crate::runtime::job_error::JobError::new(
                    "a query locator's rows are read by a real run: use start_test/stop_test to test it",
                )),
            }
        })
        .await;
        finish(batch, ended, &ctx.inner)
    }

    /// Runs a batch's `execute` once on `scope`, as one chunk (its own transaction).
    pub async fn batch_execute<B: Batchable>(
        &self,
        mut batch: B,
        scope: Vec<B::Item>,
    ) -> Execution<B> {
        let (mut ctx, limit) = self.batch_context::<B>(BatchPhase::Execute);
        ctx.chunk_id = Some(self.rt().ids.job_id(self.clock.now()));
        let kind = ctx.inner.kind;
        let ended = isolate(&self.clock, limit, kind, batch.execute(&mut ctx, scope)).await;
        finish(batch, ended, &ctx.inner)
    }

    /// Runs a batch's `finish` once.
    pub async fn batch_finish<B: Batchable>(&self, mut batch: B) -> Execution<B> {
        let (mut ctx, limit) = self.batch_context::<B>(BatchPhase::Finish);
        let kind = ctx.inner.kind;
        let ended = isolate(&self.clock, limit, kind, batch.finish(&mut ctx)).await;
        finish(batch, ended, &ctx.inner)
    }

    fn batch_context<B: Batchable>(&self, phase: BatchPhase) -> (BatchContext, Duration) {
        let (mut inner, running) =
            self.unit_context(ContextKind::Batch(phase), B::ALLOWS_CALLOUTS, None);
        let limit =
            B::execution_time_limit().unwrap_or(inner.rt.config.limits.execution_time_async);
        inner.time_limit = limit;
        (
            BatchContext {
                inner,
                job: running,
                phase,
                chunk_id: None,
            },
            limit,
        )
    }
}

/// The execution's result after Apex's rules, and what it buffered and used.
fn finish<T, O>(job: T, ended: Ended<O>, inner: &ExecContext) -> Execution<T, O> {
    let limits = inner.limits_view();
    let result = match settle(ended, &inner.shared) {
        Settled::Succeeded(v) => Ok(v),
        Settled::Failed(f) => Err(f.message),
        Settled::Aborted => Err("aborted while running".into()),
    };
    let buffer = inner.shared.take_buffer();
    Execution {
        job,
        result,
        enqueued: buffer
            .enqueued
            .into_iter()
            .map(Buffered::from_new)
            .collect(),
        finalizer: buffer.finalizer.map(|f| f.into_state()),
        limits,
    }
}
