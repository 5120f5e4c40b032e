//! The registry: which job types this engine can run, by name.

use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use asyncapex_core::{Error, JobRecord, JobType};

use crate::batchable::Batchable;
use crate::context::{
    ContextKind, ExecContext, FinalizerContext, FutureContext, QueueableContext, RunningJob,
    SchedulableContext,
};
use crate::finalizer::{Finalizer, FinalizerEnvelope, ParentJobResult};
use crate::future::__private::FutureRegistration;
use crate::future::{FutureMethod, registry_key};
use crate::job_error::JobError;
use crate::queueable::Queueable;
use crate::schedulable::Schedulable;

/// The boxed future of one execution.
pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;

/// Runs stored jobs of one registered type.
pub(crate) trait Handler: Send + Sync {
    /// The job type this handler runs.
    fn job_type(&self) -> JobType;

    /// The context kind an execution of `job` runs under.
    fn context_kind(&self, job: &JobRecord) -> ContextKind;

    /// Whether its executions may make callouts.
    fn allows_callouts(&self) -> bool;

    /// Its own execution time limit, if it has one.
    fn time_limit(&self) -> Option<std::time::Duration>;

    /// Checks that a payload deserializes into the registered type (for JSON submitted over
    /// HTTP); `Err` says what serde said.
    fn check_payload(&self, payload: &str) -> Result<(), String>;

    /// Deserializes the payload and runs it.
    fn run(&self, job: &JobRecord, ctx: ExecContext) -> JobFuture;
}

struct QueueableHandler<Q>(PhantomData<fn() -> Q>);

impl<Q: Queueable> Handler for QueueableHandler<Q> {
    fn job_type(&self) -> JobType {
        JobType::Queueable
    }

    fn check_payload(&self, payload: &str) -> Result<(), String> {
        serde_json::from_str::<Q>(payload)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn context_kind(&self, _job: &JobRecord) -> ContextKind {
        ContextKind::Queueable
    }

    fn allows_callouts(&self) -> bool {
        Q::ALLOWS_CALLOUTS
    }

    fn time_limit(&self) -> Option<std::time::Duration> {
        Q::execution_time_limit()
    }

    fn run(&self, job: &JobRecord, inner: ExecContext) -> JobFuture {
        let payload = job.payload.clone();
        let running = RunningJob::from_record(job);
        Box::pin(async move {
            let mut value: Q = serde_json::from_str(&payload).map_err(|e| {
                JobError::new(format!(
                    "the stored payload no longer deserializes into {}: {e}",
                    Q::class_name()
                ))
            })?;
            let mut ctx = QueueableContext {
                inner,
                job: running,
            };
            value.execute(&mut ctx).await
        })
    }
}

struct SchedulableHandler<S>(PhantomData<fn() -> S>);

impl<S: Schedulable> Handler for SchedulableHandler<S> {
    fn job_type(&self) -> JobType {
        JobType::ScheduledApex
    }

    fn check_payload(&self, payload: &str) -> Result<(), String> {
        serde_json::from_str::<S>(payload)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn context_kind(&self, _job: &JobRecord) -> ContextKind {
        ContextKind::Scheduled
    }

    fn allows_callouts(&self) -> bool {
        false
    }

    fn time_limit(&self) -> Option<std::time::Duration> {
        S::execution_time_limit()
    }

    fn run(&self, job: &JobRecord, inner: ExecContext) -> JobFuture {
        let payload = job.payload.clone();
        let running = RunningJob::from_record(job);
        let trigger = job.cron_trigger_id;
        Box::pin(async move {
            let trigger_id = trigger.ok_or_else(|| {
                JobError::new("a ScheduledApex job record without a cron trigger ID")
            })?;
            let mut value: S = serde_json::from_str(&payload).map_err(|e| {
                JobError::new(format!(
                    "the scheduled payload no longer deserializes into {}: {e}",
                    S::class_name()
                ))
            })?;
            let mut ctx = SchedulableContext {
                inner,
                job: running,
                trigger_id,
            };
            value.execute(&mut ctx).await
        })
    }
}

struct BatchHandler<B>(PhantomData<fn() -> B>);

impl<B: Batchable> Handler for BatchHandler<B> {
    fn job_type(&self) -> JobType {
        JobType::BatchApex
    }

    fn check_payload(&self, payload: &str) -> Result<(), String> {
        serde_json::from_str::<B>(payload)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn context_kind(&self, _job: &JobRecord) -> ContextKind {
        // The job-level context is the one `finish` runs in: what it enqueues commits with the
        // job's end.
        ContextKind::Batch(asyncapex_core::BatchPhase::Finish)
    }

    fn allows_callouts(&self) -> bool {
        B::ALLOWS_CALLOUTS
    }

    fn time_limit(&self) -> Option<std::time::Duration> {
        // The whole run has no limit; each start, execute and finish has its own.
        Some(std::time::Duration::MAX)
    }

    fn run(&self, job: &JobRecord, inner: ExecContext) -> JobFuture {
        let engine = inner.engine.clone();
        Box::pin(crate::batch_runner::run::<B>(engine, job.clone(), inner))
    }
}

struct FinalizerHandler<F>(PhantomData<fn() -> F>);

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
            value.execute(&mut ctx).await
        })
    }
}

struct FutureHandler(&'static FutureMethod);

impl Handler for FutureHandler {
    fn job_type(&self) -> JobType {
        JobType::Future
    }

    fn check_payload(&self, payload: &str) -> Result<(), String> {
        match serde_json::from_str::<serde_json::Value>(payload) {
            Ok(serde_json::Value::Object(_)) => Ok(()),
            Ok(_) => Err("future arguments are a JSON object keyed by parameter name".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn context_kind(&self, _job: &JobRecord) -> ContextKind {
        ContextKind::Future
    }

    fn allows_callouts(&self) -> bool {
        self.0.allows_callouts()
    }

    fn time_limit(&self) -> Option<std::time::Duration> {
        self.0.time_limit()
    }

    fn run(&self, job: &JobRecord, inner: ExecContext) -> JobFuture {
        let ctx = FutureContext {
            inner,
            job: RunningJob::from_record(job),
        };
        (self.0.run)(job.payload.clone(), ctx)
    }
}

/// The name a job record's handler is registered under: its class, or `class.method` for a
/// future. Handlers are keyed by job type and name, so one type may be both a queueable and a
/// schedulable, as an Apex class may.
pub(crate) fn key_of(job: &JobRecord) -> (JobType, String) {
    let name = match (&job.job_type, &job.method_name) {
        (JobType::Future, Some(method)) => registry_key(&job.class_name, method),
        _ => job.class_name.clone(),
    };
    (job.job_type, name)
}

/// Job types by registered name.
#[derive(Default)]
pub(crate) struct Registry {
    handlers: HashMap<(JobType, String), Arc<dyn Handler>>,
}

impl Registry {
    fn add(&mut self, name: &str, handler: Arc<dyn Handler>) -> Result<(), Error> {
        let key = (handler.job_type(), name.to_owned());
        if self.handlers.contains_key(&key) {
            return Err(Error::DuplicateRegistration {
                name: name.to_owned(),
            });
        }
        self.handlers.insert(key, handler);
        Ok(())
    }

    pub(crate) fn add_batch<B: Batchable>(&mut self) -> Result<(), Error> {
        self.add(B::class_name(), Arc::new(BatchHandler::<B>(PhantomData)))
    }

    pub(crate) fn add_schedulable<S: Schedulable>(&mut self) -> Result<(), Error> {
        self.add(
            S::class_name(),
            Arc::new(SchedulableHandler::<S>(PhantomData)),
        )
    }

    pub(crate) fn add_queueable<Q: Queueable>(&mut self) -> Result<(), Error> {
        self.add(
            Q::class_name(),
            Arc::new(QueueableHandler::<Q>(PhantomData)),
        )
    }

    pub(crate) fn add_finalizer<F: Finalizer>(&mut self) -> Result<(), Error> {
        self.add(
            F::class_name(),
            Arc::new(FinalizerHandler::<F>(PhantomData)),
        )
    }

    /// Registers every `#[future]` method linked into the program.
    pub(crate) fn add_linked_futures(&mut self) -> Result<(), Error> {
        for registration in inventory::iter::<FutureRegistration> {
            self.add(
                &registration.0.key(),
                Arc::new(FutureHandler(registration.0)),
            )?;
        }
        Ok(())
    }

    pub(crate) fn get(&self, key: &(JobType, String)) -> Option<&Arc<dyn Handler>> {
        self.handlers.get(key)
    }

    /// Checks that `name` is registered as a `job_type`.
    pub(crate) fn require(&self, name: &str, job_type: JobType) -> Result<(), Error> {
        if self.handlers.contains_key(&(job_type, name.to_owned())) {
            return Ok(());
        }
        match self.handlers.keys().find(|(_, n)| n == name) {
            Some((other, _)) => Err(Error::NotAllowed {
                rule: format!("{name} is registered as a {other}, not as a {job_type}"),
            }),
            None => Err(Error::UnknownJobType {
                name: name.to_owned(),
            }),
        }
    }

    /// Checks a JSON payload against the type registered under `name`, if there is one.
    /// `Ok(false)` when nothing is registered under that name in this engine.
    pub(crate) fn check_payload(
        &self,
        name: &str,
        job_type: JobType,
        payload: &str,
    ) -> Result<bool, Error> {
        match self.handlers.get(&(job_type, name.to_owned())) {
            None => Ok(false),
            Some(h) => h
                .check_payload(payload)
                .map(|()| true)
                .map_err(|message| Error::Payload {
                    class: name.to_owned(),
                    message: format!("the JSON does not deserialize into {name}: {message}"),
                }),
        }
    }

    /// Registered names with their job types, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .handlers
            .keys()
            .map(|(t, n)| format!("{n} ({t})"))
            .collect();
        names.sort_unstable();
        names
    }
}
