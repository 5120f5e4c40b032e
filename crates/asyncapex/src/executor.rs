//! The executor: claims due jobs, runs each in its own task, and records how it ended.
//!
//! Running a job is a short pipeline of named steps: `execute` (run the handler, catching a
//! panic as a failure), `decide` (turn the handler's result, the execution's buffer and any
//! abort request into one [`JobOutcome`] plus the jobs to insert — the one place where that
//! mapping lives), and the write of that ending: a plain completion (nothing to insert) goes
//! to the completion recorder, which writes whatever finished meanwhile with one store call
//! ([`Store::job_complete_many`](asyncapex_core::Store::job_complete_many)); any other ending
//! is written by `record` with one guarded `job_finish`.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use asyncapex_core::clock::add;
use asyncapex_core::{
    BatchPromoteParams, Error, JobClaimParams, JobCompleteManyParams, JobFinishParams, JobId,
    JobOutcome, JobRecord, JobStatus, JobType, NewJob,
};
use futures_util::FutureExt;

use crate::context::{Buffer, ExecContext, ExecShared, RunningJob};
use crate::engine::{EngineInner, Running};
use crate::finalizer::{FinalizerEnvelope, ParentJobResult};
use crate::job_error::JobError;
use crate::registry::key_of;

/// How long a freed slot may wait for more completions, so slots are refilled in batches.
const COALESCE: Duration = Duration::from_millis(2);
/// How often the flex queue's holding jobs are considered for promotion.
const PROMOTE_EVERY: Duration = Duration::from_millis(100);

/// The most plain completions written by one store call.
const COMPLETION_GROUP: usize = 1024;
/// How often the completion recorder looks whether a shutdown has emptied the running map.
const SHUTDOWN_CHECK: Duration = Duration::from_millis(20);

/// A job that ended `Completed` with nothing to insert, waiting for the recorder.
struct Completion {
    id: JobId,
    job_type: JobType,
    scheduled: bool,
}

/// The claim loop. Ends when the engine shuts down, after the completion recorder has
/// written the completions of every job still held (see [`record_completions`]).
pub(crate) async fn run(engine: Arc<EngineInner>) {
    let (completions, pending) = tokio::sync::mpsc::unbounded_channel();
    let recorder = tokio::spawn(record_completions(engine.clone(), pending));
    claim_loop(&engine, &completions).await;
    drop(completions);
    let _ = recorder.await;
}

async fn claim_loop(engine: &Arc<EngineInner>, completions: &Completions) {
    let mut shutdown = engine.shutdown.subscribe();
    let mut notes = engine.store.notifications();
    let mut last_promote: Option<std::time::Instant> = None;
    // While jobs run, slots are refilled in batches: one claim round trip for many jobs.
    let refill = (engine.config.concurrency / 4).max(1);
    loop {
        if engine.is_shutting_down() {
            return;
        }
        let mut running = engine.lock_running().len();
        if running > 0
            && engine.config.concurrency - running.min(engine.config.concurrency) < refill
        {
            // A slot just freed: gather the completions of the next moment before claiming,
            // but never hold a free slot for longer than that.
            let _ = tokio::time::timeout(COALESCE, async {
                while engine
                    .config
                    .concurrency
                    .saturating_sub(engine.lock_running().len())
                    < refill
                {
                    engine.wake.notified().await;
                }
            })
            .await;
            running = engine.lock_running().len();
        }
        let free = engine.config.concurrency.saturating_sub(running);
        if free > 0 {
            let now = engine.clock.now();
            // Holding batch jobs move on whenever fewer than the cap are queued or running;
            // they move slowly, so checking a few times a second is enough.
            let changed = engine
                .batches_changed
                .swap(false, std::sync::atomic::Ordering::Relaxed);
            if changed || last_promote.is_none_or(|at| at.elapsed() >= PROMOTE_EVERY) {
                last_promote = Some(std::time::Instant::now());
                if let Err(e) = engine
                    .store
                    .batch_promote(BatchPromoteParams {
                        now,
                        max_active: engine.config.limits.active_batch_jobs,
                    })
                    .await
                {
                    tracing::warn!(error = %e, "promoting batch jobs from the flex queue failed");
                }
            }
            if let Err(e) = engine
                .daily
                .refresh_if_stale(engine.store.as_ref(), now)
                .await
            {
                tracing::warn!(error = %e, "cannot refresh the daily async execution count");
            }
            let claimed = engine
                .store
                .job_claim(JobClaimParams {
                    owner: engine.owner.clone(),
                    now,
                    lease_until: add(now, engine.config.lease_duration),
                    limit: u32::try_from(free).unwrap_or(u32::MAX),
                })
                .await;
            match claimed {
                Ok(jobs) => {
                    let full = jobs.len() == free;
                    for job in jobs {
                        spawn_job(engine, job, completions);
                    }
                    if full {
                        // More may be due; look again once a slot frees (the loop re-checks).
                        continue;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "claiming jobs failed; retrying after the poll interval");
                }
            }
        }
        // Sleep until woken (enqueue, freed slot, rescue), the next delayed job is due, the
        // poll interval passes (other processes' enqueues), or shutdown.
        let next_due = if free > 0 {
            engine.store.job_next_run_at().await.ok().flatten()
        } else {
            None
        };
        let due_sleep = async {
            match next_due {
                Some(t) => engine.clock.sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = engine.wake.notified() => {}
            _ = due_sleep => {}
            alive = store_notified(&mut notes) => if !alive { notes = None },
            _ = tokio::time::sleep(engine.config.poll_interval) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Waits for the store's cross-process notification; `false` when the store stopped
/// notifying (the caller then relies on polling).
pub(crate) async fn store_notified(notes: &mut Option<tokio::sync::watch::Receiver<u64>>) -> bool {
    match notes {
        Some(rx) => rx.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}

type Completions = tokio::sync::mpsc::UnboundedSender<Completion>;

fn spawn_job(engine: &Arc<EngineInner>, job: JobRecord, completions: &Completions) {
    let shared = Arc::new(ExecShared::default());
    let id = job.id;
    engine.lock_running().insert(
        id,
        Running {
            shared: shared.clone(),
            task: None,
        },
    );
    let task_engine = engine.clone();
    let completions = completions.clone();
    // One task per job: the handler runs inside it (a panic is caught there), and a shutdown
    // that gives up waiting aborts it whole.
    let task = tokio::spawn(async move {
        let engine = task_engine;
        let id = job.id;
        match run_job(&engine, job, shared).await {
            Ended::Recorded(status) => {
                engine.lock_running().remove(&id);
                if let Some(status) = status {
                    engine.announce(id, status);
                }
                engine.wake.notify_one();
            }
            Ended::Completed(completion) => {
                // The recorder writes it with others and then frees the slot.
                if let Err(unsent) = completions.send(completion) {
                    // The recorder is gone only after shutdown released this job.
                    engine.lock_running().remove(&unsent.0.id);
                }
            }
        }
    });
    if let Some(r) = engine.lock_running().get_mut(&id) {
        r.task = Some(task.abort_handle());
    }
}

/// How a job task ended.
enum Ended {
    /// Its end was written (or could not be); the status written, if any.
    Recorded(Option<JobStatus>),
    /// It completed with nothing to insert: the recorder writes it with others.
    Completed(Completion),
}

/// Writes plain completions in groups: whatever finished while the previous group was being
/// written goes in the next store call. A job stays in the running map (holding its slot and
/// its lease) until its completion is committed, so `wait_for` and shutdown see the truth.
///
/// Ends once the engine is shutting down and holds no job: shutdown waits for running jobs
/// (their completions included) until its deadline, then releases whatever is left, so the
/// recorder never waits on a job that will not end — one that never yields, for instance.
async fn record_completions(
    engine: Arc<EngineInner>,
    mut pending: tokio::sync::mpsc::UnboundedReceiver<Completion>,
) {
    let mut group = Vec::with_capacity(COMPLETION_GROUP);
    let mut shutdown = engine.shutdown.subscribe();
    loop {
        if engine.is_shutting_down() && engine.lock_running().is_empty() {
            return;
        }
        let received = tokio::select! {
            n = pending.recv_many(&mut group, COMPLETION_GROUP) => n,
            // Look again at the running map while shutdown drains it.
            _ = shutdown.changed(), if !engine.is_shutting_down() => continue,
            _ = tokio::time::sleep(SHUTDOWN_CHECK), if engine.is_shutting_down() => continue,
        };
        if received == 0 {
            return;
        }
        let ids: Vec<JobId> = group.iter().map(|c| c.id).collect();
        let mut delay = Duration::from_millis(50);
        let mut written = None;
        for _ in 0..8 {
            let params = JobCompleteManyParams {
                ids: ids.clone(),
                owner: engine.owner.clone(),
                now: engine.clock.now(),
            };
            match engine.store.job_complete_many(params).await {
                Ok(done) => {
                    written = Some(done);
                    break;
                }
                Err(e) => {
                    tracing::warn!(jobs = ids.len(), error = %e, "recording completed jobs failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
        let done: std::collections::HashSet<JobId> = match &written {
            Some(done) => done.iter().copied().collect(),
            None => {
                tracing::error!(
                    jobs = ids.len(),
                    "giving up recording completed jobs; they will be rescued when their leases expire"
                );
                Default::default()
            }
        };
        {
            let mut running = engine.lock_running();
            for c in &group {
                running.remove(&c.id);
            }
        }
        for c in group.drain(..) {
            if done.contains(&c.id) {
                wake_after_end(&engine, c.job_type == JobType::BatchApex, c.scheduled);
                engine.announce(c.id, JobStatus::Completed);
            } else if written.is_some() {
                tracing::warn!(job = %c.id, "the job was rescued or aborted elsewhere while it ran; its result is discarded");
            }
        }
        engine.wake.notify_one();
    }
}

/// Wakes what a job's recorded end may unblock: the flex-queue promoter when a batch slot
/// freed (or a batch was chained), the scheduler when the run of a schedule ended (its
/// schedule may be blocked waiting for it).
fn wake_after_end(engine: &EngineInner, batches_changed: bool, scheduled: bool) {
    if batches_changed {
        engine
            .batches_changed
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
    if scheduled {
        engine.scheduler_wake.notify_one();
    }
}

/// Runs one claimed job to its end: recorded here, or handed to the completion recorder.
async fn run_job(engine: &Arc<EngineInner>, job: JobRecord, shared: Arc<ExecShared>) -> Ended {
    let result = execute(engine, &job, &shared).await;
    let decision = decide(shared.take_buffer(), &shared, result);
    if decision.outcome == JobOutcome::Completed
        && decision.children.is_empty()
        && decision.finalizer.is_none()
    {
        return Ended::Completed(Completion {
            id: job.id,
            job_type: job.job_type,
            scheduled: job.cron_trigger_id.is_some(),
        });
    }
    Ended::Recorded(record(engine, &job, decision).await)
}

/// Runs the handler, catching a panic as a failure (not a dead worker) and stopping it at the
/// execution time limit.
async fn execute(
    engine: &Arc<EngineInner>,
    job: &JobRecord,
    shared: &Arc<ExecShared>,
) -> Result<(), JobError> {
    let key = key_of(job);
    let Some(handler) = engine.registry.get(&key).cloned() else {
        return Err(JobError::new(format!(
            "no job type is registered under the name {:?} as a {} in the engine that claimed it ({})",
            key.1, key.0, engine.owner
        )));
    };
    let mut ctx = ExecContext::new(
        engine.clone(),
        handler.context_kind(job),
        Some(RunningJob::from_record(job)),
        shared.clone(),
    );
    ctx.allows_callouts |= handler.allows_callouts();
    if let Some(limit) = handler.time_limit() {
        ctx.time_limit = limit;
    }
    let deadline = add(ctx.started_at, ctx.time_limit);
    let time_limit = ctx.time_limit;
    let handler_run = AssertUnwindSafe(handler.run(job, ctx)).catch_unwind();
    tokio::select! {
        ran = handler_run => match ran {
            Ok(result) => result,
            Err(payload) => Err(JobError::new(format!("panicked: {}", panic_message(payload)))),
        },
        _ = engine.clock.sleep_until(deadline) => {
            // Dropping the handler's future stops it at its next await; a job that never
            // awaits keeps its thread until it returns, but its result is discarded either way.
            Err(JobError::new(format!(
                "execution time limit exceeded: the job ran longer than {time_limit:?} and was stopped"
            )))
        }
    }
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// The decision: how the job ended and what is committed with that ending.
struct Decision {
    outcome: JobOutcome,
    children: Vec<NewJob>,
    finalizer: Option<(String, serde_json::Value)>,
}

/// Maps the handler's result, the buffer and any abort request to an outcome — the only place
/// this mapping happens. An abort wins; then a broken limit (it cannot be caught, as in
/// Apex); then the handler's own result. Children are kept only on success.
fn decide(buffer: Buffer, shared: &ExecShared, result: Result<(), JobError>) -> Decision {
    if shared.is_abort_requested() {
        return Decision {
            outcome: JobOutcome::Aborted {
                message: "aborted while running".into(),
            },
            children: Vec::new(),
            finalizer: None,
        };
    }
    let outcome = match (&buffer.violation, result) {
        (Some(v), _) => JobOutcome::Failed {
            message: v.to_string(),
        },
        (None, Err(e)) => JobOutcome::Failed {
            message: e.message().to_owned(),
        },
        (None, Ok(())) => JobOutcome::Completed,
    };
    let children = if outcome == JobOutcome::Completed {
        buffer.enqueued
    } else {
        Vec::new()
    };
    Decision {
        outcome,
        children,
        finalizer: buffer.finalizer,
    }
}

/// The finalizer's own job record, carrying the parent's ending.
fn finalizer_job(
    engine: &EngineInner,
    job: &JobRecord,
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
        parent_job_id: job.id,
        result,
        error,
        finalizer: value,
    };
    let payload = serde_json::to_string(&envelope).map_err(|e| Error::Payload {
        class: class.clone(),
        message: e.to_string(),
    })?;
    let now = engine.clock.now();
    Ok(NewJob {
        id: engine.ids.job_id(now),
        job_type: JobType::Finalizer,
        class_name: class,
        method_name: None,
        status: JobStatus::Queued,
        parent_job_id: Some(job.id),
        cron_trigger_id: None,
        created_at: now,
        run_at: now,
        max_attempts: engine.config.max_attempts,
        stack_depth: job.stack_depth,
        max_stack_depth: job.max_stack_depth,
        failure_reenqueues: job.failure_reenqueues,
        signature: None,
        payload,
        batch_scope: None,
    })
}

/// Writes the ending with one guarded store call, retrying store failures for a while (the
/// lease keeps the job ours meanwhile; if we give up, the rescuer runs it again).
async fn record(
    engine: &Arc<EngineInner>,
    job: &JobRecord,
    decision: Decision,
) -> Option<JobStatus> {
    let Decision {
        mut outcome,
        mut children,
        finalizer,
    } = decision;
    let mut delay = Duration::from_millis(50);
    for _ in 0..8 {
        let mut insert = std::mem::take(&mut children);
        if let Some(f) = finalizer.clone() {
            match finalizer_job(engine, job, &outcome, f) {
                Ok(f) => insert.push(f),
                Err(e) => tracing::error!(job = %job.id, error = %e, "cannot record the finalizer"),
            }
        }
        let params = JobFinishParams {
            id: job.id,
            owner: engine.owner.clone(),
            now: engine.clock.now(),
            outcome: outcome.clone(),
            insert: insert.clone(),
            max_holding: engine.config.limits.flex_queue_size,
        };
        match engine.store.job_finish(params).await {
            Ok(true) => {
                wake_after_end(
                    engine,
                    job.job_type == JobType::BatchApex
                        || insert.iter().any(|j| j.status == JobStatus::Holding),
                    job.cron_trigger_id.is_some(),
                );
                if !insert.is_empty() {
                    engine.daily.record(crate::governor::counted(&insert));
                    engine.wake.notify_one();
                }
                return Some(outcome.status());
            }
            Ok(false) => {
                tracing::warn!(job = %job.id, "the job was rescued or aborted elsewhere while it ran; its result is discarded");
                return None;
            }
            Err(Error::DuplicateSignature { signature }) => {
                // A chained job collided with a waiting one: the execution fails, as Apex's
                // DuplicateMessageException would fail it.
                outcome = JobOutcome::Failed {
                    message: Error::DuplicateSignature { signature }.to_string(),
                };
                children = Vec::new();
            }
            Err(e) => {
                tracing::warn!(job = %job.id, error = %e, "recording the job's end failed; retrying");
                children = insert
                    .into_iter()
                    .filter(|j| j.job_type != JobType::Finalizer)
                    .collect();
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    tracing::error!(job = %job.id, "giving up recording the job's end; it will be rescued when its lease expires");
    None
}
