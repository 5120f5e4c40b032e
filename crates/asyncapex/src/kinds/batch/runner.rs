//! Running one batch job: `start` (cut the work set into stored chunks), each chunk in its
//! own transaction, then `finish`.
//!
//! The batch job's lease covers the whole run. If the process dies, the job is rescued and
//! run again: a `start` that had not completed runs again from scratch (its partial chunks are
//! cleared); otherwise the run continues at the first chunk that was not committed, with a
//! stateful batch's state as its last committed chunk left it.

use std::sync::Arc;
use std::time::Duration;

use asyncapex_core::batch::{BatchScope, JOB_SCOPE_MAX_LEN};
use asyncapex_core::{
    BatchChunkFinishParams, BatchChunkListParams, BatchChunkRecord, BatchChunksResetParams,
    BatchPhase, BatchStartCompleteParams, ChunkOutcome, ChunkStatus, JobId, JobRecord, JobType,
    NewBatchErrorEvent,
};
use tokio::task::JoinSet;

use super::cutter::cut_iterable;
use super::locator::{self, KeyRange};
use super::{Batchable, WorkSet};
use crate::kinds::context::BatchContext;
use crate::runtime::Runtime;
use crate::runtime::context::{ExecContext, ExecShared, RunningJob};
use crate::runtime::isolation::isolate;
use crate::runtime::job_error::JobError;
use crate::runtime::limits::ContextKind;
use crate::runtime::outcome::{Failure, Settled, settle};

/// Pending chunks read per store call.
const CHUNKS_PER_PAGE: u32 = 256;
/// Chunk commits a sequential non-stateful batch may have queued at once.
const COMMITS_IN_FLIGHT: usize = 64;

/// A phase's settlement as the runner needs it: an abort during a phase ends the phase as if
/// it succeeded, since the executor turns the job's end into `Aborted` anyway.
fn phase_result<T>(settled: Settled<T>) -> Result<Option<T>, Failure> {
    match settled {
        Settled::Succeeded(v) => Ok(Some(v)),
        Settled::Failed(f) => Err(f),
        Settled::Aborted => Ok(None),
    }
}

/// Everything a run needs, shared by its chunk tasks.
pub(super) struct Run {
    pub(super) rt: Arc<Runtime>,
    pub(super) job: JobRecord,
    time_limit: Duration,
}

impl Run {
    fn context(
        &self,
        phase: BatchPhase,
        chunk_id: Option<JobId>,
        allows_callouts: bool,
    ) -> (BatchContext, Arc<ExecShared>) {
        let shared = Arc::new(ExecShared::default());
        let mut inner = ExecContext::new(
            self.rt.clone(),
            ContextKind::Batch(phase),
            Some(RunningJob::from_record(&self.job)),
            shared.clone(),
        );
        inner.allows_callouts = allows_callouts;
        inner.time_limit = self.time_limit;
        (
            BatchContext {
                inner,
                job: RunningJob::from_record(&self.job),
                phase,
                chunk_id,
            },
            shared,
        )
    }

    fn event(&self, phase: BatchPhase, f: &Failure, scope: String) -> NewBatchErrorEvent {
        let exceeds = scope.len() > JOB_SCOPE_MAX_LEN;
        let mut job_scope = scope;
        if exceeds {
            let mut cut = JOB_SCOPE_MAX_LEN;
            while !job_scope.is_char_boundary(cut) {
                cut -= 1;
            }
            job_scope.truncate(cut);
        }
        NewBatchErrorEvent {
            job_id: self.job.id,
            phase,
            exception_type: f.exception_type.to_owned(),
            message: f.message.clone(),
            job_scope,
            does_exceed_job_scope_max_length: exceeds,
            created_at: self.rt.clock.now(),
        }
    }

    async fn publish(&self, events: Vec<NewBatchErrorEvent>) {
        if events.is_empty() {
            return;
        }
        for e in &events {
            self.rt.events.publish_batch_error(e.clone());
        }
        if let Err(e) = self.rt.store.batch_error_event_insert(events).await {
            tracing::error!(job = %self.job.id, error = %e, "cannot store batch error events");
        }
    }

    pub(super) fn lost(&self) -> JobError {
        JobError::new(format!(
            "lost the lease of batch job {} (rescued by another process or aborted)",
            self.job.id
        ))
    }
}

/// Runs a batch job to the end of `finish`. The returned error fails the job; failed chunks
/// do not (the job completes with failures, as in Apex).
pub(super) async fn run<B: Batchable>(
    job: JobRecord,
    finish_ctx: ExecContext,
) -> Result<(), JobError> {
    let rt = finish_ctx.rt.clone();
    let time_limit = B::execution_time_limit().unwrap_or(rt.config.limits.execution_time_async);
    let run = Arc::new(Run {
        rt: rt.clone(),
        job,
        time_limit,
    });
    if rt.test.strict_batches && chained_from_a_batch(&run).await? {
        // Apex, in a test: chaining a batch from another batch's finish raises the
        // one-execute error too.
        return Err(JobError::new(ONE_EXECUTE_PER_TEST));
    }
    if !run.job.batch_start_done {
        start::<B>(&run).await?;
    }
    let Some(current) = rt.store.job_get(run.job.id).await? else {
        return Err(run.lost());
    };
    let base_state = current.payload;
    if rt.test.strict_batches && current.total_items > 1 {
        return Err(strict_refusal::<B>(&run, base_state).await);
    }
    let last_state = chunks::<B>(&run, &finish_ctx.shared, base_state.clone()).await?;
    if finish_ctx.shared.is_abort_requested() {
        // An aborted batch stops after its current chunk; finish does not run.
        return Ok(());
    }
    // Every chunk has run: their items are not needed again (a 10 M-item batch must not keep
    // 10 M rows for its retention period). Failed chunks stay for operators.
    if rt
        .store
        .batch_chunks_release(BatchChunksResetParams {
            job_id: run.job.id,
            owner: rt.owner.clone(),
        })
        .await?
        .is_none()
    {
        return Err(run.lost());
    }
    let mut batch: B = serde_json::from_str(if B::STATEFUL {
        &last_state
    } else {
        &base_state
    })
    .map_err(|e| {
        JobError::new(format!(
            "the batch state no longer deserializes into {}: {e}",
            B::class_name()
        ))
    })?;
    let shared = finish_ctx.shared.clone();
    let mut ctx = BatchContext {
        job: RunningJob::from_record(&run.job),
        inner: ExecContext {
            kind: ContextKind::Batch(BatchPhase::Finish),
            time_limit,
            allows_callouts: B::ALLOWS_CALLOUTS,
            ..finish_ctx
        },
        phase: BatchPhase::Finish,
        chunk_id: None,
    };
    let ended = isolate(
        rt.clock.as_ref(),
        time_limit,
        ContextKind::Batch(BatchPhase::Finish),
        batch.finish(&mut ctx),
    )
    .await;
    ctx.inner.keep_state(&batch);
    if let Err(f) = phase_result(settle(ended, &shared)) {
        if B::RAISES_ERROR_EVENTS {
            run.publish(vec![run.event(BatchPhase::Finish, &f, String::new())])
                .await;
        }
        // A broken limit is already recorded on the shared buffer; the executor reports it.
        return Err(JobError::new(format!("finish failed: {}", f.message)));
    }
    Ok(())
}

/// Apex's message when a test's batch would run `execute` more than once.
pub(crate) const ONE_EXECUTE_PER_TEST: &str = "No more than one executeBatch can be called from within a testmethod. Please make sure the iterable returned from your start method matches the batch size, resulting in one executeBatch invocation.";

/// The test kit's strict rule, as Apex applies it in a test: the first chunk's `execute`
/// runs, then the job fails with Apex's error instead of running the rest and `finish`.
async fn strict_refusal<B: Batchable>(run: &Arc<Run>, state: String) -> JobError {
    let first = run
        .rt
        .store
        .batch_chunk_list(BatchChunkListParams {
            job_id: run.job.id,
            status: Some(ChunkStatus::Pending),
            from_seq: 0,
            limit: 1,
        })
        .await;
    match first {
        Ok(page) => {
            if let Some(chunk) = page.into_iter().next()
                && let Err(e) = run_chunk::<B>(run.clone(), chunk, state).await
            {
                return e;
            }
            JobError::new(ONE_EXECUTE_PER_TEST)
        }
        Err(e) => e.into(),
    }
}

/// Whether this batch was submitted by another batch (from its `finish`).
async fn chained_from_a_batch(run: &Run) -> Result<bool, JobError> {
    let Some(parent) = run.job.parent_job_id else {
        return Ok(false);
    };
    let parent = run.rt.store.job_get(parent).await?;
    Ok(parent.is_some_and(|p| p.job_type == JobType::BatchApex))
}

async fn start<B: Batchable>(run: &Arc<Run>) -> Result<(), JobError> {
    let rt = &run.rt;
    let owner = rt.owner.clone();
    // A start interrupted by a crash may have stored some chunks: start over cleanly.
    if !rt
        .store
        .batch_chunks_reset(BatchChunksResetParams {
            job_id: run.job.id,
            owner: owner.clone(),
        })
        .await?
    {
        return Err(run.lost());
    }
    let mut batch: B = serde_json::from_str(&run.job.payload).map_err(|e| {
        JobError::new(format!(
            "the stored batch no longer deserializes into {}: {e}",
            B::class_name()
        ))
    })?;
    let (mut ctx, shared) = run.context(BatchPhase::Start, None, B::ALLOWS_CALLOUTS);
    let kind = ContextKind::Batch(BatchPhase::Start);
    let ended = isolate(rt.clock.as_ref(), run.time_limit, kind, async {
        let work = batch.start(&mut ctx).await?;
        Ok(work)
    })
    .await;
    let work = match phase_result(settle(ended, &shared)) {
        Ok(Some(work)) => work,
        // Aborted during start: the executor ends the job as aborted.
        Ok(None) => return Ok(()),
        Err(f) => return Err(start_failed::<B>(run, f).await),
    };
    let scope = BatchScope::new(run.job.batch_scope.unwrap_or(200)).unwrap_or(BatchScope::DEFAULT);
    let total = match work {
        WorkSet::Iterable(items) => cut_iterable::<B>(run, items, scope.get() as usize).await?,
        WorkSet::QueryLocator(locator) => {
            // Apex cuts a locator's larger scope down to 2,000 records, silently.
            locator::cut::<B>(run, locator, scope.for_query_locator() as usize).await?
        }
    };
    // Apex resets a batch without `Database.Stateful` to its as-enqueued state for every
    // transaction: what `start` set is not seen by `execute` or `finish`.
    let state = if B::STATEFUL {
        serde_json::to_string(&batch)
            .map_err(|e| JobError::new(format!("cannot serialize the batch after start: {e}")))?
    } else {
        run.job.payload.clone()
    };
    let buffer = shared.take_buffer();
    let steps = rt.events.enqueue_steps(&buffer.enqueued);
    if !rt
        .store
        .batch_start_complete(BatchStartCompleteParams {
            job_id: run.job.id,
            owner,
            total_chunks: total,
            state,
            insert: buffer.enqueued,
        })
        .await?
    {
        return Err(run.lost());
    }
    rt.events.send(steps);
    Ok(())
}

async fn start_failed<B: Batchable>(run: &Run, f: Failure) -> JobError {
    if B::RAISES_ERROR_EVENTS {
        run.publish(vec![run.event(BatchPhase::Start, &f, String::new())])
            .await;
    }
    JobError::new(format!("start failed: {}", f.message))
}

/// Runs every pending chunk; returns the last committed state (for a stateful batch).
async fn chunks<B: Batchable>(
    run: &Arc<Run>,
    job_shared: &Arc<ExecShared>,
    base_state: String,
) -> Result<String, JobError> {
    let parallel = if B::STATEFUL {
        1
    } else {
        B::PARALLEL_CHUNKS.max(1)
    };
    let mut state = base_state;
    let mut from_seq = 0;
    let mut running: JoinSet<Result<Option<String>, JobError>> = JoinSet::new();
    let mut commits: std::collections::VecDeque<
        tokio::task::JoinHandle<Result<Option<String>, JobError>>,
    > = std::collections::VecDeque::new();
    loop {
        let page = run
            .rt
            .store
            .batch_chunk_list(BatchChunkListParams {
                job_id: run.job.id,
                status: Some(ChunkStatus::Pending),
                from_seq,
                limit: CHUNKS_PER_PAGE,
            })
            .await?;
        let Some(last) = page.last() else {
            break;
        };
        from_seq = last.seq + 1;
        for chunk in page {
            if job_shared.is_abort_requested() {
                running.shutdown().await;
                for commit in commits {
                    let _ = commit.await;
                }
                return Ok(state);
            }
            if B::STATEFUL {
                if let Some(next) = run_chunk::<B>(run.clone(), chunk, state.clone()).await? {
                    state = next;
                }
                continue;
            }
            if parallel == 1 {
                // Chunks run one at a time, but their commits are pipelined: the store folds
                // the queued commits into group transactions. Commits stay in order, and a
                // non-stateful chunk does not depend on the one before it.
                let prepared = execute_chunk::<B>(run, chunk, &state).await?;
                let committing = run.clone();
                commits.push_back(tokio::spawn(async move {
                    commit_chunk(&committing, prepared).await
                }));
                if commits.len() >= COMMITS_IN_FLIGHT
                    && let Some(oldest) = commits.pop_front()
                {
                    oldest
                        .await
                        .map_err(|e| JobError::new(format!("a chunk commit failed: {e}")))??;
                }
                continue;
            }
            while running.len() >= parallel {
                if let Some(joined) = running.join_next().await {
                    joined.map_err(|e| JobError::new(format!("a chunk task failed: {e}")))??;
                }
            }
            running.spawn(crate::runtime::trace_context::propagate(run_chunk::<B>(
                run.clone(),
                chunk,
                state.clone(),
            )));
        }
    }
    while let Some(joined) = running.join_next().await {
        joined.map_err(|e| JobError::new(format!("a chunk task failed: {e}")))??;
    }
    for commit in commits {
        commit
            .await
            .map_err(|e| JobError::new(format!("a chunk commit failed: {e}")))??;
    }
    Ok(state)
}

/// A chunk's ending, ready to commit.
struct PreparedChunk {
    params: BatchChunkFinishParams,
    inserted: u64,
}

/// Runs one chunk and commits its ending; returns the new state after a successful stateful
/// chunk.
async fn run_chunk<B: Batchable>(
    run: Arc<Run>,
    chunk: BatchChunkRecord,
    state: String,
) -> Result<Option<String>, JobError> {
    let prepared = execute_chunk::<B>(&run, chunk, &state).await?;
    commit_chunk(&run, prepared).await
}

/// Runs one chunk's `execute` and decides its ending.
async fn execute_chunk<B: Batchable>(
    run: &Arc<Run>,
    chunk: BatchChunkRecord,
    state: &str,
) -> Result<PreparedChunk, JobError> {
    let rt = &run.rt;
    let (ctx, shared) = run.context(BatchPhase::Execute, Some(chunk.id), B::ALLOWS_CALLOUTS);
    let items = chunk_items::<B>(run, &chunk.items).await;
    let prepared: Result<(B, Vec<B::Item>), Failure> = serde_json::from_str::<B>(state)
        .map_err(|e| Failure {
            message: format!(
                "the batch state no longer deserializes into {}: {e}",
                B::class_name()
            ),
            exception_type: "JobError",
            permanent: true,
        })
        .and_then(|batch| items.map(|items| (batch, items)));
    // An error event names the chunk's items by key: taken before `execute` owns them.
    let keys = match &prepared {
        Ok((_, items)) if B::RAISES_ERROR_EVENTS => {
            items.iter().map(B::item_key).collect::<Vec<_>>().join(",")
        }
        _ => String::new(),
    };
    let result = match prepared {
        Err(f) => Err(f),
        Ok((mut batch, items)) => {
            let mut ctx = ctx;
            let kind = ContextKind::Batch(BatchPhase::Execute);
            let ended = isolate(rt.clock.as_ref(), run.time_limit, kind, async {
                batch.execute(&mut ctx, items).await
            })
            .await;
            // A chunk's own context never hears an abort (the job's does): no `None` here.
            phase_result(settle(ended, &shared)).map(|_| batch)
        }
    };
    let buffer = shared.take_buffer();
    let (outcome, next_state, insert, event) = match result {
        Ok(batch) => {
            let next =
                if B::STATEFUL {
                    Some(serde_json::to_string(&batch).map_err(|e| {
                        JobError::new(format!("cannot serialize the batch state: {e}"))
                    })?)
                } else {
                    None
                };
            (ChunkOutcome::Completed, next, buffer.enqueued, None)
        }
        Err(f) => {
            let event = B::RAISES_ERROR_EVENTS.then(|| run.event(BatchPhase::Execute, &f, keys));
            (
                ChunkOutcome::Failed { message: f.message },
                None,
                Vec::new(),
                event,
            )
        }
    };
    Ok(PreparedChunk {
        inserted: crate::runtime::daily::counted(&insert),
        params: BatchChunkFinishParams {
            job_id: run.job.id,
            owner: rt.owner.clone(),
            seq: chunk.seq,
            outcome,
            now: rt.clock.now(),
            state: next_state,
            insert,
            error_event: event,
        },
    })
}

/// A chunk's items: stored in the chunk (an iterable's), or read from its key range (a
/// query locator's) now.
async fn chunk_items<B: Batchable>(run: &Run, stored: &str) -> Result<Vec<B::Item>, Failure> {
    let failure = |message: String| Failure {
        message,
        exception_type: "JobError",
        permanent: false,
    };
    let Some(range) = KeyRange::of(stored) else {
        return serde_json::from_str::<Vec<B::Item>>(stored)
            .map_err(|e| failure(format!("the chunk's items no longer deserialize: {e}")));
    };
    let rows = range
        .rows(run)
        .await
        .map_err(|e| failure(format!("cannot read the chunk's rows: {e}")))?;
    rows.into_iter()
        .map(|row| {
            serde_json::from_value::<B::Item>(serde_json::Value::Object(row)).map_err(|e| {
                failure(format!(
                    "a query locator row does not deserialize into {}'s item type: {e}",
                    B::class_name()
                ))
            })
        })
        .collect()
}

/// Commits a chunk's ending with one guarded store write; returns its new state, if any.
async fn commit_chunk(run: &Run, prepared: PreparedChunk) -> Result<Option<String>, JobError> {
    let rt = &run.rt;
    let PreparedChunk { params, inserted } = prepared;
    let next_state = params.state.clone();
    let event = params.error_event.clone();
    let steps = rt.events.enqueue_steps(&params.insert);
    if !rt.store.batch_chunk_finish(params).await? {
        return Err(run.lost());
    }
    rt.events.send(steps);
    if let Some(e) = event {
        rt.events.publish_batch_error(e);
    }
    if inserted > 0 {
        rt.daily.record(inserted);
        rt.wakers.work.notify_one();
    }
    Ok(next_state)
}
