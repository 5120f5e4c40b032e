//! Transaction finalizers: code that runs after a queueable ends, whatever the ending.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use asyncapex_core::{
    Error, IdGenerator, JobFinalizerStoreParams, JobId, JobOutcome, JobRecord, JobType, NewJob,
};
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::kinds::context::{FinalizerContext, QueueableContext};
use crate::runtime::Runtime;
use crate::runtime::context::{AttachedFinalizer, ExecContext, RunningJob};
use crate::runtime::handler::{Handler, JobFuture};
use crate::runtime::job_error::JobError;
use crate::runtime::limits::ContextKind;
use crate::runtime::outcome::ParentJobResult;

/// Runs after the queueable it was attached to ends — successfully or with an unhandled
/// error or panic — in its own execution (Apex's `System.Finalizer`).
///
/// Attach one from `execute` with
/// [`QueueableContext::attach_finalizer`](crate::QueueableContext::attach_finalizer). As in
/// Apex, the finalizer sees the state its value has when the execution ends (change it with
/// [`QueueableContext::update_finalizer`](crate::QueueableContext::update_finalizer)). It
/// runs as a job record of type `Finalizer` (an asyncapex extension that makes the run
/// durable and visible), and may enqueue one job — typically a retry.
///
/// It runs after every ending but an abort: success, an error, a panic, a broken governor
/// limit, the execution time limit — and a crash: the finalizer is stored with the running
/// job when attached (with its state at that moment), so when the job's worker dies on its
/// last attempt and a rescuer fails it, a live node runs the finalizer with
/// [`ParentJobResult::UnhandledException`](crate::ParentJobResult) and the rescue's reason.
/// (The store write follows the attach by moments and is not waited for: a process killed in
/// between loses the finalizer, as Apex warns a request that dies abnormally may.) A job that keeps failing can be re-enqueued by its
/// finalizer at most 5 consecutive times (configurable in [`Limits`](crate::Limits)); the count
/// resets when the job succeeds.
///
/// Finalizers do not run for a job aborted with `abort_job` (Apex documents only success and
/// unhandled exceptions).
///
/// ```
/// use asyncapex::{Finalizer, FinalizerContext, JobError, ParentJobResult};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct LogOutcome;
///
/// impl Finalizer for LogOutcome {
///     async fn execute(&mut self, ctx: &mut FinalizerContext) -> Result<(), JobError> {
///         if ctx.result() == ParentJobResult::UnhandledException {
///             eprintln!("job {} failed: {:?}", ctx.async_apex_job_id(), ctx.error());
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait Finalizer: Serialize + DeserializeOwned + Send + 'static {
    /// The name this type is registered and stored under; defaults to the type's name.
    fn class_name() -> &'static str {
        super::short_type_name::<Self>()
    }

    /// Runs the finalizer.
    fn execute(
        &mut self,
        ctx: &mut FinalizerContext,
    ) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// What a finalizer job record carries: the finalizer's own state plus its parent's ending.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FinalizerEnvelope {
    pub(crate) parent_job_id: JobId,
    pub(crate) result: ParentJobResult,
    pub(crate) error: Option<String>,
    pub(crate) finalizer: serde_json::Value,
}

struct FinalizerHandler<F>(PhantomData<fn() -> F>);

/// The handler that runs stored finalizer records of `F`.
pub(crate) fn handler<F: Finalizer>() -> (&'static str, Arc<dyn Handler>) {
    (
        F::class_name(),
        Arc::new(FinalizerHandler::<F>(PhantomData)),
    )
}

fn envelope(job: &JobRecord) -> Option<FinalizerEnvelope> {
    serde_json::from_str(&job.payload).ok()
}

impl<F: Finalizer> Handler for FinalizerHandler<F> {
    fn job_type(&self) -> JobType {
        JobType::Finalizer
    }

    fn check_payload(&self, payload: &str) -> Result<(), String> {
        serde_json::from_str::<F>(payload)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn allows_callouts(&self) -> bool {
        true
    }

    fn time_limit(&self) -> Option<std::time::Duration> {
        None
    }

    fn context_kind(&self, job: &JobRecord) -> ContextKind {
        ContextKind::Finalizer {
            parent_failed: envelope(job)
                .is_some_and(|e| e.result == ParentJobResult::UnhandledException),
        }
    }

    fn run(&self, job: &JobRecord, inner: ExecContext) -> JobFuture {
        let payload = job.payload.clone();
        let running = RunningJob::from_record(job);
        Box::pin(async move {
            let envelope: FinalizerEnvelope = serde_json::from_str(&payload).map_err(|e| {
                JobError::new(format!("the stored finalizer record is malformed: {e}"))
            })?;
            let mut value: F = serde_json::from_value(envelope.finalizer).map_err(|e| {
                JobError::new(format!(
                    "the stored payload no longer deserializes into {}: {e}",
                    F::class_name()
                ))
            })?;
            let mut ctx = FinalizerContext {
                inner,
                job: running,
                parent_job_id: envelope.parent_job_id,
                result: envelope.result,
                error: envelope.error,
            };
            let result = value.execute(&mut ctx).await;
            ctx.inner.keep_state(&value);
            result
        })
    }
}

/// The finalizer's own job record, carrying its parent's ending.
pub(crate) fn finalizer_record(
    rt: &Runtime,
    parent: &JobRecord,
    outcome: &JobOutcome,
    finalizer: (String, serde_json::Value),
) -> Result<NewJob, Error> {
    finalizer_run(
        &rt.ids,
        rt.clock.now(),
        rt.config.max_attempts,
        parent,
        outcome,
        finalizer,
    )
}

/// [`finalizer_record`] from its parts, for a service that holds no runtime.
pub(crate) fn finalizer_run(
    ids: &IdGenerator,
    now: Timestamp,
    max_attempts: u32,
    parent: &JobRecord,
    outcome: &JobOutcome,
    (class, value): (String, serde_json::Value),
) -> Result<NewJob, Error> {
    let (result, error) = match outcome {
        JobOutcome::Completed => (ParentJobResult::Success, None),
        other => (
            ParentJobResult::UnhandledException,
            other.message().map(str::to_owned),
        ),
    };
    let envelope = FinalizerEnvelope {
        parent_job_id: parent.id,
        result,
        error,
        finalizer: value,
    };
    let payload = serde_json::to_string(&envelope).map_err(|e| Error::Payload {
        class: class.clone(),
        message: e.to_string(),
    })?;
    Ok(NewJob::finalizer(ids.job_id(now), class, payload, parent, now).max_attempts(max_attempts))
}

impl QueueableContext {
    /// Attaches a finalizer that runs after this job ends, however it ends (Apex's
    /// `System.attachFinalizer`).
    ///
    /// # Errors
    /// [`Error::NotAllowed`] when one is already attached; [`Error::UnknownJobType`] when the
    /// finalizer type is not registered; [`Error::Payload`] when it cannot be serialized.
    pub fn attach_finalizer<F: Finalizer>(&mut self, finalizer: F) -> Result<(), Error> {
        let class = F::class_name();
        self.inner.rt.registry.require(class, JobType::Finalizer)?;
        let attached = serde_json::to_value(&finalizer).map_err(|e| Error::Payload {
            class: class.to_owned(),
            message: format!("cannot serialize the finalizer: {e}"),
        })?;
        {
            let mut buffer = self.inner.shared.lock();
            if buffer.finalizer.is_some() {
                return Err(Error::NotAllowed {
                    rule: "more than one finalizer cannot be attached to the same async job".into(),
                });
            }
            buffer.finalizer = Some(AttachedFinalizer {
                class: class.to_owned(),
                value: Box::new(finalizer),
                attached: attached.clone(),
            });
        }
        self.store_finalizer(class, &attached);
        Ok(())
    }

    /// Changes the attached finalizer: Apex hands a finalizer the state its instance has
    /// when the execution ends, so what `execute` records here (say, how far it got) is what
    /// the finalizer sees — after a failure, a panic or a broken limit too.
    ///
    /// ```
    /// # use asyncapex::{Finalizer, FinalizerContext, JobError, Queueable, QueueableContext};
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Default, Serialize, Deserialize)]
    /// struct Report { synced: u32 }
    /// # impl Finalizer for Report {
    /// #     async fn execute(&mut self, _: &mut FinalizerContext) -> Result<(), JobError> { Ok(()) }
    /// # }
    /// # #[derive(Serialize, Deserialize)] struct Sync { ids: Vec<u32> }
    /// impl Queueable for Sync {
    ///     async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
    ///         ctx.attach_finalizer(Report::default())?;
    ///         for _id in &self.ids {
    ///             // ... sync one record, then:
    ///             ctx.update_finalizer(|r: &mut Report| r.synced += 1)?;
    ///         }
    ///         Ok(())
    ///     }
    /// }
    /// ```
    ///
    /// # Errors
    /// [`Error::NotAllowed`] when no finalizer of type `F` is attached.
    pub fn update_finalizer<F: Finalizer>(
        &mut self,
        change: impl FnOnce(&mut F),
    ) -> Result<(), Error> {
        let mut buffer = self.inner.shared.lock();
        let value = buffer
            .finalizer
            .as_mut()
            .and_then(|f| f.value.as_any_mut().downcast_mut::<F>())
            .ok_or_else(|| Error::NotAllowed {
                rule: format!("no finalizer of type {} is attached", F::class_name()),
            })?;
        change(value);
        Ok(())
    }

    /// Stores the finalizer with the running job, so that a rescue that fails the job after
    /// its worker died still runs it. The write is not waited for: it is guarded by the
    /// lease, so landing after the job's end changes nothing (the end inserts the run).
    fn store_finalizer(&self, class: &str, state: &serde_json::Value) {
        let Some(job) = &self.inner.job else {
            return;
        };
        let rt = self.inner.rt.clone();
        let params = JobFinalizerStoreParams {
            id: job.id,
            owner: rt.owner.clone(),
            class: class.to_owned(),
            state: state.to_string(),
        };
        tokio::spawn(async move {
            if let Err(e) = rt.store.job_finalizer_store(params).await {
                tracing::warn!(error = %e, "cannot store the attached finalizer; it runs unless the process dies first");
            }
        });
    }
}

impl FinalizerContext {
    /// The queueable this finalizer belongs to (Apex's `getAsyncApexJobId`).
    pub fn async_apex_job_id(&self) -> JobId {
        self.parent_job_id
    }

    /// How the queueable ended (Apex's `getResult`).
    pub fn result(&self) -> ParentJobResult {
        self.result
    }

    /// The queueable's error message when it failed (Apex's `getException`).
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}
