//! Running one batch job: `start` (cut the work set into stored chunks), each chunk in its
//! own transaction, then `finish`.
//!
//! The batch job's lease covers the whole run. If the process dies, the job is rescued and
//! run again: a `start` that had not completed runs again from scratch (its partial chunks are
//! cleared); otherwise the run continues at the first chunk that was not committed, with a
//! stateful batch's state as its last committed chunk left it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use asyncapex_core::batch::JOB_SCOPE_MAX_LEN;
use asyncapex_core::clock::add;
use asyncapex_core::{
    BatchChunkFinishParams, BatchChunkListParams, BatchChunkRecord, BatchChunksInsertParams,
    BatchChunksResetParams, BatchPhase, BatchStartCompleteParams, ChunkOutcome, ChunkStatus,
    JobRecord, NewBatchChunk, NewBatchErrorEvent, QueryPageParams, QuerySource,
};
use serde_json::Value;
use tokio::task::JoinSet;

use crate::batchable::{Batchable, QueryLocator, WorkSet};
use crate::context::{BatchContext, ContextKind, ExecContext, ExecShared, RunningJob};
use crate::engine::EngineInner;
use crate::job_error::JobError;

/// Chunks written per store call while `start`'s work set is cut.
const CHUNKS_PER_INSERT: usize = 64;
/// Pending chunks read per store call.
const CHUNKS_PER_PAGE: u32 = 256;
/// Chunk commits a sequential non-stateful batch may have queued at once.
const COMMITS_IN_FLIGHT: usize = 64;

/// How an isolated phase ended.
enum Ended<T> {
    Returned(T),
    Panicked(String),
    TimedOut(Duration),
}

/// Runs a phase in a task of its own, so a panic fails only that phase and a time limit can
/// stop it (at its next `.await`).
async fn isolated<T: Send + 'static>(
    engine: &EngineInner,
    limit: Duration,
    work: impl Future<Output = T> + Send + 'static,
) -> Ended<T> {
    let deadline = add(engine.clock.now(), limit);
    let mut task = tokio::spawn(work);
    tokio::select! {
        joined = &mut task => match joined {
            Ok(v) => Ended::Returned(v),
            Err(e) if e.is_panic() => {
                let payload = e.into_panic();
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic without a message".into());
                Ended::Panicked(message)
            }
            Err(_) => Ended::Panicked("the task was cancelled".into()),
        },
        _ = engine.clock.sleep_until(deadline) => {
            task.abort();
            Ended::TimedOut(limit)
        }
    }
}

/// A phase's failure: the message and the kind of error for the error event.
struct Failure {
    message: String,
    exception_type: &'static str,
}

fn failure<T>(ended: Ended<Result<T, JobError>>, shared: &ExecShared) -> Result<T, Failure> {
    // A broken limit fails the phase even if the code swallowed the error (LimitException).
    let violation = shared.lock().violation.clone();
    match (ended, violation) {
        (_, Some(v)) => Err(Failure {
            message: v.to_string(),
            exception_type: "LimitException",
        }),
        (Ended::Returned(Ok(v)), None) => Ok(v),
        (Ended::Returned(Err(e)), None) => Err(Failure {
            message: e.message().to_owned(),
            exception_type: "JobError",
        }),
        (Ended::Panicked(m), None) => Err(Failure {
            message: format!("panicked: {m}"),
            exception_type: "Panic",
        }),
        (Ended::TimedOut(limit), None) => Err(Failure {
            message: format!("execution time limit exceeded: ran longer than {limit:?}"),
            exception_type: "TimeLimit",
        }),
    }
}

/// Everything a run needs, shared by its chunk tasks.
struct Run {
    engine: Arc<EngineInner>,
    job: JobRecord,
    time_limit: Duration,
}

impl Run {
    fn context(
        &self,
        phase: BatchPhase,
        chunk_id: Option<asyncapex_core::JobId>,
        allows_callouts: bool,
    ) -> (BatchContext, Arc<ExecShared>) {
        let shared = Arc::new(ExecShared::default());
        let mut inner = ExecContext::new(
            self.engine.clone(),
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
            created_at: self.engine.clock.now(),
        }
    }

    async fn publish(&self, events: Vec<NewBatchErrorEvent>) {
        if events.is_empty() {
            return;
        }
        for e in &events {
            let _ = self.engine.batch_errors.send(e.clone());
        }
        if let Err(e) = self.engine.store.batch_error_event_insert(events).await {
            tracing::error!(job = %self.job.id, error = %e, "cannot store batch error events");
        }
    }

    fn lost(&self) -> JobError {
        JobError::new(format!(
            "lost the lease of batch job {} (rescued by another process or aborted)",
            self.job.id
        ))
    }
}

/// Runs a batch job to the end of `finish`. The returned error fails the job; failed chunks
/// do not (the job completes with failures, as in Apex).
pub(crate) async fn run<B: Batchable>(
    engine: Arc<EngineInner>,
    job: JobRecord,
    finish_ctx: ExecContext,
) -> Result<(), JobError> {
    let time_limit = B::execution_time_limit().unwrap_or(engine.config.limits.execution_time_async);
    let run = Arc::new(Run {
        engine: engine.clone(),
        job,
        time_limit,
    });
    if !run.job.batch_start_done {
        start::<B>(&run).await?;
    }
    let Some(current) = engine.store.job_get(run.job.id).await? else {
        return Err(run.lost());
    };
    let base_state = current.payload;
    let last_state = chunks::<B>(&run, &finish_ctx.shared, base_state.clone()).await?;
    if finish_ctx.shared.is_abort_requested() {
        // An aborted batch stops after its current chunk; finish does not run.
        return Ok(());
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
    let ended = isolated(
        &engine,
        time_limit,
        async move { batch.finish(&mut ctx).await },
    )
    .await;
    if let Err(f) = failure(ended, &shared) {
        if B::RAISES_ERROR_EVENTS {
            run.publish(vec![run.event(BatchPhase::Finish, &f, String::new())])
                .await;
        }
        // A broken limit is already recorded on the shared buffer; the executor reports it.
        return Err(JobError::new(format!("finish failed: {}", f.message)));
    }
    Ok(())
}

async fn start<B: Batchable>(run: &Arc<Run>) -> Result<(), JobError> {
    let engine = &run.engine;
    let owner = engine.owner.clone();
    // A start interrupted by a crash may have stored some chunks: start over cleanly.
    if !engine
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
    let ended = isolated(engine, run.time_limit, async move {
        let work = batch.start(&mut ctx).await;
        (batch, work)
    })
    .await;
    let ended = match ended {
        Ended::Returned((batch, r)) => Ended::Returned(r.map(|work| (batch, work))),
        Ended::Panicked(m) => Ended::Panicked(m),
        Ended::TimedOut(l) => Ended::TimedOut(l),
    };
    let (batch, work) = match failure(ended, &shared) {
        Ok(done) => done,
        Err(f) => return Err(start_failed::<B>(run, f).await),
    };
    let scope = run.job.batch_scope.unwrap_or(200).max(1) as usize;
    let total = match work {
        WorkSet::Iterable(items) => cut_iterable::<B>(run, items, scope).await?,
        WorkSet::QueryLocator(locator) => cut_query::<B>(run, locator, scope).await?,
    };
    let state = serde_json::to_string(&batch)
        .map_err(|e| JobError::new(format!("cannot serialize the batch after start: {e}")))?;
    let buffer = shared.take_buffer();
    if !engine
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
    Ok(())
}

async fn start_failed<B: Batchable>(run: &Run, f: Failure) -> JobError {
    if B::RAISES_ERROR_EVENTS {
        run.publish(vec![run.event(BatchPhase::Start, &f, String::new())])
            .await;
    }
    JobError::new(format!("start failed: {}", f.message))
}

/// Accumulates items into chunk JSON and writes chunks in groups.
struct Cutter<'a> {
    run: &'a Run,
    scope: usize,
    seq: u64,
    current: String,
    in_current: usize,
    ready: Vec<NewBatchChunk>,
}

impl<'a> Cutter<'a> {
    fn new(run: &'a Run, scope: usize) -> Cutter<'a> {
        Cutter {
            run,
            scope,
            seq: 0,
            current: String::from("["),
            in_current: 0,
            ready: Vec::with_capacity(CHUNKS_PER_INSERT),
        }
    }

    async fn push_json(&mut self, item: &str) -> Result<(), JobError> {
        if self.in_current > 0 {
            self.current.push(',');
        }
        self.current.push_str(item);
        self.in_current += 1;
        if self.in_current == self.scope {
            self.seal();
            if self.ready.len() == CHUNKS_PER_INSERT {
                self.flush().await?;
            }
        }
        Ok(())
    }

    fn seal(&mut self) {
        let mut items = std::mem::replace(&mut self.current, String::from("["));
        items.push(']');
        self.ready.push(NewBatchChunk {
            id: self.run.engine.ids.job_id(self.run.engine.clock.now()),
            seq: self.seq,
            item_count: self.in_current as u32,
            items,
        });
        self.seq += 1;
        self.in_current = 0;
    }

    async fn flush(&mut self) -> Result<(), JobError> {
        if self.ready.is_empty() {
            return Ok(());
        }
        let chunks = std::mem::take(&mut self.ready);
        if !self
            .run
            .engine
            .store
            .batch_chunks_insert(BatchChunksInsertParams {
                job_id: self.run.job.id,
                owner: self.run.engine.owner.clone(),
                chunks,
            })
            .await?
        {
            return Err(self.run.lost());
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<u64, JobError> {
        if self.in_current > 0 {
            self.seal();
        }
        self.flush().await?;
        Ok(self.seq)
    }
}

async fn cut_iterable<B: Batchable>(
    run: &Run,
    items: Box<dyn Iterator<Item = B::Item> + Send>,
    scope: usize,
) -> Result<u64, JobError> {
    let mut cutter = Cutter::new(run, scope);
    let mut json = String::new();
    for item in items {
        json.clear();
        // Writing into a String cannot fail for I/O reasons; only the item's Serialize can.
        let text = serde_json::to_string(&item)
            .map_err(|e| JobError::new(format!("cannot serialize a work-set item: {e}")))?;
        json.push_str(&text);
        cutter.push_json(&json).await?;
    }
    cutter.finish().await
}

async fn cut_query<B: Batchable>(
    run: &Run,
    locator: QueryLocator,
    scope: usize,
) -> Result<u64, JobError> {
    let source: Arc<dyn QuerySource> = match &locator.database {
        #[cfg(feature = "sqlite")]
        Some(path) => Arc::new(asyncapex_sqlite::SqliteQuerySource::open(path)?),
        #[cfg(not(feature = "sqlite"))]
        Some(path) => {
            return Err(JobError::new(format!(
                "a query locator over {} needs asyncapex's sqlite feature",
                path.display()
            )));
        }
        None => run.engine.store.clone(),
    };
    let cap = run.engine.config.limits.query_locator_rows;
    let mut cutter = Cutter::new(run, scope);
    let mut after: Option<Value> = None;
    let mut rows_read: u64 = 0;
    loop {
        let page = source
            .query_page(QueryPageParams {
                query: locator.query.clone(),
                key_column: locator.key_column.clone(),
                after: after.clone(),
                limit: locator.page_size,
            })
            .await?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.get(&locator.key_column).cloned().ok_or_else(|| {
            JobError::new(format!(
                "the query locator's rows have no column {:?} to page by",
                locator.key_column
            ))
        })?);
        for row in page {
            rows_read += 1;
            if rows_read > cap {
                return Err(JobError::new(format!(
                    "the query locator returned more than {cap} rows, the most a batch may process"
                )));
            }
            let value = Value::Object(row);
            if rows_read == 1 {
                // Fail at once, not in every chunk, when rows do not fit the item type.
                serde_json::from_value::<B::Item>(value.clone()).map_err(|e| {
                    JobError::new(format!(
                        "a query locator row does not deserialize into {}'s item type: {e}",
                        B::class_name()
                    ))
                })?;
            }
            cutter.push_json(&value.to_string()).await?;
        }
    }
    cutter.finish().await
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
            .engine
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
            running.spawn(run_chunk::<B>(run.clone(), chunk, state.clone()));
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
    let engine = &run.engine;
    let (ctx, shared) = run.context(BatchPhase::Execute, Some(chunk.id), B::ALLOWS_CALLOUTS);
    let prepared: Result<(B, Vec<B::Item>), Failure> = serde_json::from_str::<B>(state)
        .map_err(|e| Failure {
            message: format!(
                "the batch state no longer deserializes into {}: {e}",
                B::class_name()
            ),
            exception_type: "JobError",
        })
        .and_then(|batch| {
            serde_json::from_str::<Vec<B::Item>>(&chunk.items)
                .map(|items| (batch, items))
                .map_err(|e| Failure {
                    message: format!("the chunk's items no longer deserialize: {e}"),
                    exception_type: "JobError",
                })
        });
    let result = match prepared {
        Err(f) => Err(f),
        Ok((mut batch, items)) => {
            let mut ctx = ctx;
            let ended = isolated(engine, run.time_limit, async move {
                let r = batch.execute(&mut ctx, items).await;
                (batch, r)
            })
            .await;
            let ended = match ended {
                Ended::Returned((batch, r)) => Ended::Returned(r.map(|()| batch)),
                Ended::Panicked(m) => Ended::Panicked(m),
                Ended::TimedOut(l) => Ended::TimedOut(l),
            };
            failure(ended, &shared)
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
            let event = B::RAISES_ERROR_EVENTS.then(|| {
                let keys = serde_json::from_str::<Vec<B::Item>>(&chunk.items)
                    .map(|items| items.iter().map(B::item_key).collect::<Vec<_>>().join(","))
                    .unwrap_or_default();
                run.event(BatchPhase::Execute, &f, keys)
            });
            (
                ChunkOutcome::Failed { message: f.message },
                None,
                Vec::new(),
                event,
            )
        }
    };
    Ok(PreparedChunk {
        inserted: crate::governor::counted(&insert),
        params: BatchChunkFinishParams {
            job_id: run.job.id,
            owner: engine.owner.clone(),
            seq: chunk.seq,
            outcome,
            now: engine.clock.now(),
            state: next_state,
            insert,
            error_event: event,
        },
    })
}

/// Commits a chunk's ending with one guarded store write; returns its new state, if any.
async fn commit_chunk(run: &Run, prepared: PreparedChunk) -> Result<Option<String>, JobError> {
    let engine = &run.engine;
    let PreparedChunk { params, inserted } = prepared;
    let next_state = params.state.clone();
    let event = params.error_event.clone();
    if !engine.store.batch_chunk_finish(params).await? {
        return Err(run.lost());
    }
    if let Some(e) = event {
        let _ = engine.batch_errors.send(e);
    }
    if inserted > 0 {
        engine.daily.record(inserted);
        engine.wake.notify_one();
    }
    Ok(next_state)
}
