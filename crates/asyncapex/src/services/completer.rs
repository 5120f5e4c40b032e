//! The completer: writes how jobs ended.
//!
//! A plain completion (nothing to insert) is written by a group writer together with whatever
//! else finished meanwhile ([`Store::job_complete_many`](asyncapex_core::Store::job_complete_many),
//! one store call per group); any other ending — a failure, an abort, children or a finalizer
//! to insert — is written by [`record`] with one guarded `job_finish`. A job keeps its slot
//! and its lease until its ending is committed, so `wait_for` and shutdown see the truth.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use asyncapex_core::{
    Error, JobCompleteManyParams, JobFinishParams, JobId, JobOutcome, JobRecord, JobStatus,
    JobType, NewJob,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::kinds::finalizer::finalizer_record;
use crate::runtime::Runtime;
use crate::runtime::daily::counted;
use crate::runtime::signals::{LifecycleStep, Stop};

/// The most plain completions written by one store call.
const COMPLETION_GROUP: usize = 1024;
/// How often the group writer looks whether a shutdown has emptied the running map.
const SHUTDOWN_CHECK: Duration = Duration::from_millis(20);
/// Store failures tolerated while writing one ending (the lease keeps the job ours meanwhile;
/// if we give up, the rescuer runs it again).
const WRITE_ATTEMPTS: u32 = 8;

/// A job that ended `Completed` with nothing to insert, waiting for the group writer.
pub(crate) struct Completion {
    pub(crate) id: JobId,
    pub(crate) job_type: JobType,
    pub(crate) scheduled: bool,
    /// Its class, kept only when someone listens for lifecycle steps.
    pub(crate) class_name: Option<String>,
}

/// How the job ended and what is committed with that ending.
pub(crate) struct Decision {
    pub(crate) outcome: JobOutcome,
    pub(crate) children: Vec<NewJob>,
    pub(crate) finalizer: Option<(String, serde_json::Value)>,
}

/// The executor's handle on the group writer.
#[derive(Clone)]
pub(crate) struct Completer(mpsc::UnboundedSender<Completion>);

impl Completer {
    /// Starts the group writer. It ends once every `Completer` is dropped and what they sent
    /// is written, or once the engine is shutting down and holds no job.
    pub(crate) fn start(rt: Arc<Runtime>, stop: Stop) -> (Completer, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Completer(tx), tokio::spawn(write_groups(rt, rx, stop)))
    }

    /// Hands a completion to the group writer, which frees the job's slot once it is written.
    pub(crate) fn send(&self, rt: &Runtime, completion: Completion) {
        if let Err(unsent) = self.0.send(completion) {
            // The writer is gone only after shutdown released this job.
            rt.running.remove(unsent.0.id);
        }
    }
}

/// Writes plain completions in groups: whatever finished while the previous group was being
/// written goes in the next store call.
///
/// Ends once the engine is shutting down and holds no job: shutdown waits for running jobs
/// (their completions included) until its deadline, then releases whatever is left, so the
/// writer never waits on a job that will not end — one that never yields, for instance.
async fn write_groups(
    rt: Arc<Runtime>,
    mut pending: mpsc::UnboundedReceiver<Completion>,
    stop: Stop,
) {
    let mut group = Vec::with_capacity(COMPLETION_GROUP);
    let mut stop = stop;
    loop {
        if stop.is_set() && rt.running.is_empty() {
            return;
        }
        let received = tokio::select! {
            n = pending.recv_many(&mut group, COMPLETION_GROUP) => n,
            // Look again at the running map while shutdown drains it.
            _ = stop.wait(), if !stop.is_set() => continue,
            _ = tokio::time::sleep(SHUTDOWN_CHECK), if stop.is_set() => continue,
        };
        if received == 0 {
            return;
        }
        let ids: Vec<JobId> = group.iter().map(|c| c.id).collect();
        let written = with_retries(
            "recording completed jobs",
            |_| true,
            || {
                rt.store
                    .job_complete_many(JobCompleteManyParams {
                        ids: ids.clone(),
                        owner: rt.owner.clone(),
                        now: rt.clock.now(),
                    })
                    .instrument(tracing::debug_span!(
                        "asyncapex.store",
                        op = "job_complete_many",
                        jobs = ids.len()
                    ))
            },
        )
        .await
        .ok();
        let done: HashSet<JobId> = match &written {
            Some(done) => done.iter().copied().collect(),
            None => {
                tracing::error!(
                    jobs = ids.len(),
                    "giving up recording completed jobs; they will be rescued when their leases expire"
                );
                HashSet::new()
            }
        };
        {
            let mut running = rt.running.lock();
            for c in &group {
                running.remove(&c.id);
            }
        }
        let now = rt.clock.now();
        for c in group.drain(..) {
            if done.contains(&c.id) {
                rt.wakers
                    .after_end(c.job_type == JobType::BatchApex, c.scheduled);
                if let Some(class) = c.class_name {
                    rt.events
                        .publish(c.id, c.job_type, class, now, LifecycleStep::Completed);
                }
                rt.announce(c.id, JobStatus::Completed);
            } else if written.is_some() {
                tracing::warn!(job = %c.id, "the job was rescued or aborted elsewhere while it ran; its result is discarded");
            }
        }
        rt.wakers.work.notify_one();
    }
}

/// Calls `write` until it succeeds or fails with an error `retryable` refuses, backing off
/// between store failures; gives the last error after [`WRITE_ATTEMPTS`] tries.
async fn with_retries<T, F>(
    what: &str,
    retryable: impl Fn(&Error) -> bool,
    mut write: impl FnMut() -> F,
) -> Result<T, Error>
where
    F: std::future::Future<Output = Result<T, Error>>,
{
    let mut delay = Duration::from_millis(50);
    let mut attempt = 1;
    loop {
        match write().await {
            Err(e) if retryable(&e) && attempt < WRITE_ATTEMPTS => {
                tracing::warn!(error = %e, "{what} failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
                attempt += 1;
            }
            done => return done,
        }
    }
}

/// Writes an ending with one guarded store call, retrying store failures for a while.
/// Returns the status written, or `None` when the job was no longer ours or the store kept
/// failing.
pub(crate) async fn record(rt: &Runtime, job: &JobRecord, decision: Decision) -> Option<JobStatus> {
    let Decision {
        mut outcome,
        mut children,
        finalizer,
    } = decision;
    loop {
        let mut insert = std::mem::take(&mut children);
        if let Some(f) = finalizer.clone() {
            match finalizer_record(rt, job, &outcome, f) {
                Ok(f) => insert.push(f),
                Err(e) => tracing::error!(job = %job.id, error = %e, "cannot record the finalizer"),
            }
        }
        let params = JobFinishParams {
            id: job.id,
            owner: rt.owner.clone(),
            now: rt.clock.now(),
            outcome: outcome.clone(),
            insert,
            max_holding: rt.config.limits.flex_queue_size,
        };
        let written = with_retries(
            "recording the job's end",
            |e| !matches!(e, Error::DuplicateSignature { .. }),
            || {
                rt.store
                    .job_finish(params.clone())
                    .instrument(tracing::debug_span!(
                        "asyncapex.store",
                        op = "job_finish",
                        job.id = %job.id,
                        inserts = params.insert.len()
                    ))
            },
        )
        .await;
        match written {
            Ok(true) => {
                let insert = &params.insert;
                rt.events.send(rt.events.enqueue_steps(insert));
                let step = match &outcome {
                    JobOutcome::Completed => LifecycleStep::Completed,
                    JobOutcome::Failed { message } => LifecycleStep::Failed {
                        error: message.clone(),
                    },
                    JobOutcome::Aborted { .. } => LifecycleStep::Aborted,
                };
                rt.events.step(job, params.now, step);
                rt.wakers.after_end(
                    job.job_type == JobType::BatchApex
                        || insert.iter().any(|j| j.status == JobStatus::Holding),
                    job.cron_trigger_id.is_some(),
                );
                if !insert.is_empty() {
                    rt.daily.record(counted(insert));
                    rt.wakers.work.notify_one();
                }
                return Some(outcome.status());
            }
            Ok(false) => {
                tracing::warn!(job = %job.id, "the job was rescued or aborted elsewhere while it ran; its result is discarded");
                return None;
            }
            Err(Error::DuplicateSignature { signature }) => {
                // A chained job collided with a waiting one: the execution fails, as Apex's
                // DuplicateMessageException would fail it (and its finalizer sees that).
                outcome = JobOutcome::Failed {
                    message: Error::DuplicateSignature { signature }.to_string(),
                };
            }
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "giving up recording the job's end; it will be rescued when its lease expires");
                return None;
            }
        }
    }
}
