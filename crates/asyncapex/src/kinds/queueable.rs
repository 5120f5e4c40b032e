//! Queueable jobs: start a long-running operation, get an ID for it, chain the next.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use asyncapex_core::{Error, JobId, JobRecord, JobType, LimitName, NewJob};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::kinds::context::{
    BatchContext, FinalizerContext, FutureContext, QueueableContext, SchedulableContext,
};
use crate::runtime::context::{ExecContext, RunningJob};
use crate::runtime::enqueue::EnqueueOptions;
use crate::runtime::handler::{Handler, JobFuture};
use crate::runtime::job_error::JobError;
use crate::runtime::limits::ContextKind;

/// A job whose state travels through the store as JSON and runs later, once (Apex's
/// `Queueable`).
///
/// The instance is serialized when it is enqueued (a snapshot: later changes to your copy do
/// not reach the job) and deserialized for each run. Fields marked `#[serde(skip)]` arrive as
/// their default, like Apex's `transient`.
///
/// What `execute` enqueues through its context — a chained job, a finalizer — is committed
/// only if `execute` returns `Ok`; an `Err` or a panic marks the job `Failed` with the message
/// and discards all of it.
///
/// ```
/// use asyncapex::{JobError, Queueable, QueueableContext};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct AccountUpdater {
///     account_ids: Vec<String>,
/// }
///
/// impl Queueable for AccountUpdater {
///     async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
///         let (batch, rest) = self.account_ids.split_at(self.account_ids.len().min(2));
///         println!("updating {batch:?}");
///         if !rest.is_empty() {
///             // Chaining: at most one child per execution, as in Apex.
///             ctx.enqueue_job(AccountUpdater { account_ids: rest.to_vec() })?;
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait Queueable: Serialize + DeserializeOwned + Send + 'static {
    /// Whether this job may make HTTP callouts (Apex's `Database.AllowsCallouts`).
    const ALLOWS_CALLOUTS: bool = false;

    /// Payload fields that hold secrets or customer data: the dashboard, the API and the
    /// CLI show them as `"[redacted]"` (the job itself gets them). Paths of keys joined by
    /// dots (`card`, `customer.email`); a path through an array applies to each element.
    /// An extension beyond Apex (whose Apex Jobs page shows no payloads at all).
    const SENSITIVE_FIELDS: &'static [&'static str] = &[];

    /// This type's execution time limit; `None` uses the engine's asynchronous limit
    /// ([`Limits::execution_time_async`](crate::Limits::execution_time_async), 60 s by
    /// default).
    fn execution_time_limit() -> Option<std::time::Duration> {
        None
    }

    /// The name this type is registered and stored under (Apex's class name). Defaults to
    /// the type's name without its module path; override it to keep stored jobs runnable
    /// after renaming or moving the type.
    fn class_name() -> &'static str {
        super::short_type_name::<Self>()
    }

    /// Runs the job.
    fn execute(
        &mut self,
        ctx: &mut QueueableContext,
    ) -> impl Future<Output = Result<(), JobError>> + Send;
}

struct QueueableHandler<Q>(PhantomData<fn() -> Q>);

/// The handler that runs stored records of `Q`.
pub(crate) fn handler<Q: Queueable>() -> (&'static str, Arc<dyn Handler>) {
    (
        Q::class_name(),
        Arc::new(QueueableHandler::<Q>(PhantomData)),
    )
}

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

    fn sensitive_fields(&self) -> &'static [&'static str] {
        Q::SENSITIVE_FIELDS
    }

    fn time_limit(&self) -> Option<Duration> {
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
            let result = value.execute(&mut ctx).await;
            ctx.inner.keep_state(&value);
            result
        })
    }
}

/// Buffers a typed queueable in `ctx` (Apex's `System.enqueueJob`).
pub(crate) fn enqueue<Q: Queueable>(
    ctx: &ExecContext,
    job: &Q,
    options: EnqueueOptions,
) -> Result<JobId, Error> {
    let class = Q::class_name();
    ctx.rt.registry.require(class, JobType::Queueable)?;
    let payload = super::to_payload(class, "job", job)?;
    buffer(ctx, class, payload, options)
}

/// Buffers a queueable already serialized (the typed path above, or JSON from the HTTP API,
/// which has checked it), applying the queueable limit, the stack depth, the finalizer
/// re-enqueue limit and the daily cap.
pub(crate) fn buffer(
    ctx: &ExecContext,
    class: &str,
    payload: String,
    options: EnqueueOptions,
) -> Result<JobId, Error> {
    options.route.check()?;
    if options.max_stack_depth == Some(0) {
        return Err(Error::InvalidInput {
            what: "maximum stack depth",
            input: "0".into(),
            rule: "the maximum stack depth must be at least 1",
        });
    }
    let config = &ctx.rt.config;
    let now = ctx.now();
    let row = ctx.row();
    let mut buffer = ctx.shared.lock();
    buffer.queueables_attempted += 1;
    let limit = row.queueable_jobs;
    if buffer.queueables_attempted > limit {
        let used = buffer.queueables_attempted;
        let wording = if row.outside_job {
            "synchronous"
        } else {
            "asynchronous"
        };
        return Err(ctx.exceeded(
            &mut buffer,
            LimitName::QueueableJobs,
            u64::from(used),
            u64::from(limit),
            format!(
                "too many queueable jobs added to the queue: {used} (the limit for this {wording} context is {limit})"
            ),
        ));
    }
    let (depth, inherited_max, failure_reenqueues) = match (&ctx.job, ctx.kind) {
        (None, _) => (1, config.default_max_stack_depth, 0),
        (Some(parent), ContextKind::Finalizer { parent_failed }) => {
            let count = if parent_failed {
                parent.failure_reenqueues.saturating_add(1)
            } else {
                0
            };
            (parent.stack_depth + 1, parent.max_stack_depth, count)
        }
        (Some(parent), _) => (parent.stack_depth + 1, parent.max_stack_depth, 0),
    };
    let max_stack_depth = match (inherited_max, options.max_stack_depth) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let (Some(max), Some(parent)) = (max_stack_depth, &ctx.job)
        && depth > max
    {
        let err = Error::MaxStackDepth {
            depth: parent.stack_depth,
            max,
        };
        return Err(ctx.violate(&mut buffer, err));
    }
    let retry_limit = config.limits.finalizer_failure_reenqueues;
    if failure_reenqueues > retry_limit {
        return Err(ctx.exceeded(
            &mut buffer,
            LimitName::FinalizerReenqueues,
            u64::from(failure_reenqueues),
            u64::from(retry_limit),
            format!(
                "a finalizer may re-enqueue a failing job at most {retry_limit} consecutive times; this would be re-enqueue {failure_reenqueues}"
            ),
        ));
    }
    let delay = options
        .delay
        .or(config.default_delay)
        .unwrap_or(Duration::ZERO);
    // A delay whose instant no store can keep is refused here, before it reaches one.
    let run_at = asyncapex_core::clock::checked_add(now, delay)?;
    ctx.check_daily(&mut buffer)?;
    let id = ctx.rt.ids.job_id(now);
    let job = NewJob::queueable(id, class, payload, now)
        .run_at(run_at)
        .parent(ctx.parent_id())
        .max_attempts(config.max_attempts)
        .chain(depth, max_stack_depth, failure_reenqueues)
        .signature(options.signature.map(|s| s.as_str().to_owned()));
    let mut route = options.route;
    if route.tenant.is_none() {
        route.tenant = ctx.tenant();
    }
    buffer.enqueued.push(ctx.rt.routing.stamp(job, &route));
    Ok(id)
}

/// `enqueue_job` on every context that may chain a queueable.
macro_rules! enqueue_job_on {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// Chains a queueable to run after this execution succeeds (Apex's
            /// `System.enqueueJob`). Returns its ID at once; the job is committed only if this
            /// execution returns `Ok`.
            ///
            /// # Errors
            /// [`Error::LimitExceeded`] past this context's queueable limit (1 in an
            /// asynchronous execution, 50 in a scheduled firing, as in Apex; for a finalizer
            /// also past 5 consecutive re-enqueues of a failing job);
            /// [`Error::MaxStackDepth`] when the chain would exceed its maximum depth;
            /// [`Error::UnknownJobType`] for a type the engine did not register;
            /// [`Error::Payload`] when the job cannot be serialized. A broken limit fails this
            /// execution even if the error is ignored.
            pub fn enqueue_job<Q: Queueable>(&mut self, job: Q) -> Result<JobId, Error> {
                enqueue(&self.inner, &job, EnqueueOptions::default())
            }

            /// [`enqueue_job`](Self::enqueue_job) with options (delay, depth, signature).
            ///
            /// # Errors
            /// As [`enqueue_job`](Self::enqueue_job); also [`Error::InvalidInput`] for a
            /// maximum stack depth of 0.
            pub fn enqueue_job_with<Q: Queueable>(
                &mut self,
                job: Q,
                options: EnqueueOptions,
            ) -> Result<JobId, Error> {
                enqueue(&self.inner, &job, options)
            }
        }
    )*};
}

enqueue_job_on!(
    QueueableContext,
    FinalizerContext,
    FutureContext,
    SchedulableContext,
    BatchContext
);

impl QueueableContext {
    /// Stack depth and delay information (Apex's `AsyncInfo`).
    pub fn async_info(&self) -> AsyncInfo {
        let config = &self.inner.rt.config;
        AsyncInfo {
            current_queueable_stack_depth: self.job.stack_depth,
            maximum_queueable_stack_depth: self
                .job
                .max_stack_depth
                .or(config.default_max_stack_depth),
            minimum_queueable_delay: config.default_delay,
        }
    }
}

/// Stack-depth and delay information for the running job (Apex's `AsyncInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsyncInfo {
    /// Depth of the running job in its chain: 1 for a job enqueued from outside any job.
    pub current_queueable_stack_depth: u32,
    /// The chain's maximum depth, if one is set.
    pub maximum_queueable_stack_depth: Option<u32>,
    /// The engine's default minimum delay, if one is set.
    pub minimum_queueable_delay: Option<Duration>,
}

impl AsyncInfo {
    /// Whether the chain has a maximum depth (Apex's `hasMaxStackDepth`).
    pub fn has_max_stack_depth(&self) -> bool {
        self.maximum_queueable_stack_depth.is_some()
    }
}
