//! The executor: claims due jobs, runs each in its own task, and hands its ending to the
//! [completer](super::completer).
//!
//! Running a job is a short pipeline of named steps: `execute` (look up the handler, build
//! its context, run it in [isolation](crate::runtime::isolation)), `decide` (the one
//! [outcome mapping](crate::runtime::outcome) plus the jobs committed with that ending), then
//! the write: a plain completion goes to the completer's group writer, any other ending is
//! written at once with one guarded store call.

use std::sync::Arc;
use std::time::Duration;

use asyncapex_core::clock::add;
use asyncapex_core::{
    JobClaimParams, JobOutcome, JobRecord, JobRetryParams, JobStatus, NewJob, QueueClaim,
};

use tracing::Instrument;

use super::Service;
use super::completer::{Completer, Completion, Decision, record};
use crate::runtime::Runtime;
use crate::runtime::context::{ExecContext, ExecShared, RunningJob};
use crate::runtime::handler::key_of;
use crate::runtime::isolation::isolate;
use crate::runtime::job_error::JobError;
use crate::runtime::outcome::{Settled, settle};
use crate::runtime::running::Running;
use crate::runtime::signals::{LifecycleStep, Stop, store_notified};
use crate::runtime::trace_context::ExecutionSpan;

/// How long a freed slot may wait for more completions, so slots are refilled in batches.
const COALESCE: Duration = Duration::from_millis(2);

/// What the executor needs: the runtime (its jobs' contexts use all of it) and its slots.
pub(crate) struct Executor {
    pub(crate) rt: Arc<Runtime>,
    /// Jobs run at once.
    pub(crate) concurrency: usize,
}

impl Service for Executor {
    const NAME: &'static str = "executor";

    /// The claim loop. Ends when the engine shuts down, after the completer has written the
    /// completions of every job still held.
    async fn run(self, stop: Stop) {
        let (completer, recorder) = Completer::start(self.rt.clone(), stop.clone());
        self.claim_loop(&completer, stop).await;
        drop(completer);
        let _ = recorder.await;
    }
}

impl Executor {
    async fn claim_loop(&self, completer: &Completer, mut stop: Stop) {
        let rt = &self.rt;
        let worked = &rt.routing.worked;
        let mut notes = rt.store.notifications();
        // While jobs run, slots are refilled in batches: one claim round trip for many jobs.
        let refill = (self.concurrency / 4).max(1);
        loop {
            if stop.is_set() {
                return;
            }
            let mut running = rt.running.len();
            if running > 0 && self.concurrency - running.min(self.concurrency) < refill {
                // A slot just freed: gather the completions of the next moment before
                // claiming, but never hold a free slot for longer than that.
                let _ = tokio::time::timeout(COALESCE, async {
                    while self.concurrency.saturating_sub(rt.running.len()) < refill {
                        rt.wakers.work.notified().await;
                    }
                })
                .await;
                running = rt.running.len();
            }
            // Each queue's free slots: a saturated queue claims nothing while another
            // claims up to its own concurrency.
            let busy = rt.running.per_queue(worked.len());
            let wanted: Vec<QueueClaim> = worked
                .iter()
                .zip(busy)
                .filter(|(w, busy)| w.concurrency > *busy)
                .map(|(w, busy)| QueueClaim {
                    queue: w.name.clone(),
                    limit: slots(w.concurrency - busy),
                })
                .collect();
            let now = rt.clock.now();
            if !wanted.is_empty() {
                if let Err(e) = rt.daily.refresh_if_stale(rt.store.as_ref(), now).await {
                    tracing::warn!(error = %e, "cannot refresh the daily async execution count");
                }
                let limit = wanted.iter().fold(0_u32, |n, q| n.saturating_add(q.limit));
                let claimed = rt
                    .store
                    .job_claim(JobClaimParams {
                        owner: rt.owner.clone(),
                        now,
                        lease_until: add(now, rt.config.lease_duration),
                        queues: wanted.clone(),
                    })
                    .instrument(tracing::debug_span!(
                        "asyncapex.store",
                        op = "job_claim",
                        limit = limit
                    ))
                    .await;
                match claimed {
                    Ok(jobs) => {
                        // A queue that filled its slots may have more due: look again once
                        // a slot frees.
                        let full = wanted.iter().any(|q| {
                            jobs.iter().filter(|j| j.queue == q.queue).count() as u32 == q.limit
                        });
                        for job in jobs {
                            spawn_job(rt, job, completer);
                        }
                        if full {
                            continue;
                        }
                    }
                    Err(e) => {
                        if rt.shutdown.fail_if_fatal(&e) {
                            return;
                        }
                        tracing::warn!(error = %e, "claiming jobs failed; retrying after the poll interval");
                    }
                }
            }
            // Sleep until woken (enqueue, freed slot, rescue, promotion), the next delayed job
            // is due, the poll interval passes (other processes' enqueues), or shutdown. The
            // lookup of the next due time runs inside the wait, so a wake-up that arrives
            // meanwhile claims at once instead of after the lookup's round trip (on the path
            // from an enqueue to its start: W3).
            let names: Vec<String> = wanted.iter().map(|q| q.queue.clone()).collect();
            let due_sleep = async {
                // Only later times: a queue with due jobs this claim could not take (at its
                // global cap) is looked at again on a wake-up, a freed slot or the poll
                // interval, and does not hide the other queues' times.
                let next_due = if names.is_empty() {
                    None
                } else {
                    rt.store.job_next_run_at(names, now).await.ok().flatten()
                };
                match next_due {
                    Some(t) => rt.clock.sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = rt.wakers.work.notified() => {}
                _ = due_sleep => {}
                alive = store_notified(&mut notes) => if !alive { notes = None },
                _ = tokio::time::sleep(rt.config.poll_interval) => {}
                _ = stop.wait() => {}
            }
        }
    }
}

/// A slot count as a claim limit.
fn slots(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn spawn_job(rt: &Arc<Runtime>, job: JobRecord, completer: &Completer) {
    let shared = Arc::new(ExecShared::default());
    let id = job.id;
    let queue = rt.routing.index(&job.queue).unwrap_or(usize::MAX);
    rt.running.lock().insert(
        id,
        Running {
            shared: shared.clone(),
            task: None,
            queue,
        },
    );
    let task_rt = rt.clone();
    let completer = completer.clone();
    // One task per job: the handler runs inside it (a panic is caught there), and a shutdown
    // that gives up waiting aborts it whole.
    let task = tokio::spawn(async move {
        let rt = task_rt;
        let id = job.id;
        match run_job(&rt, job, shared).await {
            Ended::Recorded(status) => {
                rt.running.remove(id);
                if let Some(status) = status {
                    rt.announce(id, status);
                }
                rt.wakers.work.notify_one();
            }
            Ended::Completed(completion) => completer.send(&rt, completion),
        }
    });
    if let Some(r) = rt.running.lock().get_mut(&id) {
        r.task = Some(task.abort_handle());
    }
}

/// How a job task ended.
enum Ended {
    /// Its end was written (or could not be); the status written, if any.
    Recorded(Option<JobStatus>),
    /// It completed with nothing to insert: the completer writes it with others.
    Completed(Completion),
}

/// Runs one claimed job to its end: recorded here, or handed to the completer.
async fn run_job(rt: &Arc<Runtime>, job: JobRecord, shared: Arc<ExecShared>) -> Ended {
    // Its OpenTelemetry span (feature `otel`) is current while it runs and while its ending
    // is decided and recorded, so what it enqueued is stamped with it.
    let otel = ExecutionSpan::start(&job);
    let ended = otel.run(run_job_in_span(rt, job, shared, &otel)).await;
    otel.end();
    ended
}

async fn run_job_in_span(
    rt: &Arc<Runtime>,
    job: JobRecord,
    shared: Arc<ExecShared>,
    otel: &ExecutionSpan,
) -> Ended {
    started(rt, &job);
    let settled = traced_execute(rt, &job, &shared, otel).await;
    if let Some(retried) = retry(rt, &job, &settled, &shared).await {
        return Ended::Recorded(retried);
    }
    let decision = decide(settled, &shared);
    if decision.outcome == JobOutcome::Completed
        && decision.children.is_empty()
        && decision.finalizer.is_none()
    {
        return Ended::Completed(Completion {
            id: job.id,
            job_type: job.job_type,
            scheduled: job.cron_trigger_id.is_some(),
            class_name: rt.events.class_if_wanted(&job),
        });
    }
    Ended::Recorded(record(rt, &job, decision).await)
}

/// Runs one claimed job to its end on the calling task, through the same steps as the
/// claim loop's tasks (execute, decide, record) but without the group writer: the test
/// kit's stop and virtual-time calls use it, so their semantics cannot drift from a worker's.
/// Returns the status written (if the job was still ours) and the state the job's code left
/// (when the kit captures it).
#[cfg(feature = "testing")]
pub(crate) async fn run_claimed(
    rt: &Arc<Runtime>,
    job: JobRecord,
) -> (Option<JobStatus>, Option<String>) {
    let shared = Arc::new(ExecShared::default());
    let queue = rt.routing.index(&job.queue).unwrap_or(usize::MAX);
    rt.running.lock().insert(
        job.id,
        Running {
            shared: shared.clone(),
            task: None,
            queue,
        },
    );
    let otel = ExecutionSpan::start(&job);
    let (status, state) = otel
        .run(async {
            started(rt, &job);
            let settled = traced_execute(rt, &job, &shared, &otel).await;
            let state = shared.lock().final_state.take();
            if let Some(retried) = retry(rt, &job, &settled, &shared).await {
                return (retried, state);
            }
            let decision = decide(settled, &shared);
            (record(rt, &job, decision).await, state)
        })
        .await;
    otel.end();
    rt.running.remove(job.id);
    if let Some(status) = status {
        rt.announce(job.id, status);
    }
    (status, state)
}

/// [`execute`] inside the job's execution span (its stable fields are listed in the crate's
/// docs, "Tracing"), which records how the execution ended and how long it took.
async fn traced_execute(
    rt: &Arc<Runtime>,
    job: &JobRecord,
    shared: &Arc<ExecShared>,
    otel: &ExecutionSpan,
) -> Settled<()> {
    let span = tracing::info_span!(
        "asyncapex.execution",
        job.id = %job.id,
        job.class = %job.class_name,
        job.method = job.method_name.as_deref(),
        job.type = %job.job_type,
        job.attempt = job.attempt,
        outcome = tracing::field::Empty,
        error = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
    );
    let began = std::time::Instant::now();
    let settled = execute(rt, job, shared).instrument(span.clone()).await;
    let (outcome, error) = match &settled {
        Settled::Succeeded(()) => ("completed", None),
        Settled::Failed(f) => ("failed", Some(f.message.as_str())),
        Settled::Aborted => ("aborted", None),
    };
    if let Some(e) = error {
        span.record("error", e);
    }
    span.record("outcome", outcome);
    otel.outcome(outcome, error);
    span.record("duration_ms", began.elapsed().as_secs_f64() * 1000.0);
    settled
}

/// Runs the job's handler in isolation under its context's time limit.
async fn execute(rt: &Arc<Runtime>, job: &JobRecord, shared: &Arc<ExecShared>) -> Settled<()> {
    let key = key_of(job);
    let Some(handler) = rt.registry.get(&key).cloned() else {
        let unknown = JobError::new(format!(
            "no job type is registered under the name {:?} as a {} in the engine that claimed it ({})",
            key.1, key.0, rt.owner
        ));
        return settle(
            crate::runtime::isolation::Ended::Returned(Err(unknown)),
            shared,
        );
    };
    let mut ctx = ExecContext::new(
        rt.clone(),
        handler.context_kind(job),
        Some(RunningJob::from_record(job)),
        shared.clone(),
    );
    ctx.allows_callouts |= handler.allows_callouts();
    if let Some(limit) = handler.time_limit() {
        ctx.time_limit = limit;
    }
    let (limit, kind) = (ctx.time_limit, ctx.kind);
    let ended = isolate(rt.clock.as_ref(), limit, kind, handler.run(job, ctx)).await;
    settle(ended, shared)
}

/// Under the job type's retry policy, a failed attempt with attempts left goes back to the
/// queue after its backoff: what it buffered (chained work, its finalizer) is discarded, and
/// the attempt's error is recorded. `None` when the failure is not retried (no policy, a
/// permanent error, the last attempt, or the store refused the retry because the job is no
/// longer ours as it ran or an abort was asked for: its ending is then recorded as usual);
/// `Some(None)` once the retry is written, or could not be written for a store failure (the
/// lease then expires and the rescuer moves the job on).
async fn retry(
    rt: &Arc<Runtime>,
    job: &JobRecord,
    settled: &Settled<()>,
    shared: &ExecShared,
) -> Option<Option<JobStatus>> {
    let Settled::Failed(failure) = settled else {
        return None;
    };
    let now = rt.clock.now();
    let run_at = rt.routing.retry_at(job, failure.permanent, now)?;
    let params = JobRetryParams {
        id: job.id,
        owner: rt.owner.clone(),
        now,
        run_at,
        error: failure.message.clone(),
    };
    let written = rt
        .store
        .job_retry(params)
        .instrument(tracing::debug_span!("asyncapex.store", op = "job_retry", job.id = %job.id))
        .await;
    match written {
        Ok(true) => {
            // What the failed attempt buffered goes with it.
            drop(shared.take_buffer());
            let step = LifecycleStep::Retried {
                error: failure.message.clone(),
                run_at,
            };
            rt.events.step(job, now, step);
            rt.wakers.work.notify_one();
        }
        Ok(false) => return None,
        Err(e) => {
            tracing::error!(job = %job.id, error = %e, "cannot queue the job's retry; it will be rescued when its lease expires");
        }
    }
    Some(None)
}

/// Tells lifecycle listeners that a claimed job starts.
fn started(rt: &Runtime, job: &JobRecord) {
    let step = LifecycleStep::Started {
        attempt: job.attempt,
    };
    rt.events.step(job, rt.clock.now(), step);
}

/// The settlement plus what commits with it: children only on success; the finalizer
/// whatever the ending (it is not run for an abort).
fn decide(settled: Settled<()>, shared: &ExecShared) -> Decision {
    let buffer = shared.take_buffer();
    let outcome = settled.job_outcome();
    let aborted = matches!(settled, Settled::Aborted);
    let children: Vec<NewJob> = if matches!(settled, Settled::Succeeded(())) {
        buffer.enqueued
    } else {
        Vec::new()
    };
    Decision {
        outcome,
        children,
        finalizer: if aborted {
            None
        } else {
            buffer.finalizer.map(|f| f.into_state())
        },
    }
}
