//! Retention: `job_purge` deletes finished jobs (with their chunks and error events) that
//! ended before a cut, in bounded calls, and nothing else.

use std::time::Duration;

use asyncapex_core::batch::BatchScope;
use asyncapex_core::clock::add;
use asyncapex_core::{
    BatchChunkListParams, BatchChunksInsertParams, BatchErrorEventListParams, BatchPhase,
    BatchStartCompleteParams, Error, IdGenerator, JobId, JobOutcome, JobPurgeParams, JobStatus,
    JobType, NewBatchChunk, NewBatchErrorEvent, NewJob, PurgeBatch, Store,
};
use jiff::Timestamp;

use crate::factory::job_in;
use crate::job_cases::{claim, finish, insert, job, t0};

const TERMINAL: [JobStatus; 3] = [JobStatus::Completed, JobStatus::Failed, JobStatus::Aborted];

fn purge(before: Timestamp, limit: u32) -> JobPurgeParams {
    JobPurgeParams {
        before,
        statuses: TERMINAL.to_vec(),
        job_types: None,
        limit,
        ended_from: None,
    }
}

/// Inserts a queueable, claims it and ends it at `ended`; returns its ID.
async fn ended_at(
    store: &dyn Store,
    ids: &IdGenerator,
    ended: Timestamp,
    outcome: JobOutcome,
) -> JobId {
    let j = job(ids, t0());
    insert(store, vec![j.clone()]).await;
    let claimed = claim(store, "w", t0(), 100).await;
    assert!(claimed.contains(&j.id), "the job is claimed");
    assert!(
        store
            .job_finish(finish(j.id, "w", ended, outcome))
            .await
            .expect("finish")
    );
    j.id
}

async fn exists(store: &dyn Store, id: JobId) -> bool {
    store.job_get(id).await.expect("get").is_some()
}

/// A job that ended one microsecond after the cut survives; one that ended before it goes.
pub(crate) async fn purge_deletes_only_jobs_that_ended_before_the_cut(store: &dyn Store) {
    let ids = IdGenerator::new(21);
    let cut = add(t0(), Duration::from_secs(60));
    let before = ended_at(
        store,
        &ids,
        add(t0(), Duration::from_secs(59)),
        JobOutcome::Completed,
    )
    .await;
    let failed = ended_at(
        store,
        &ids,
        add(t0(), Duration::from_secs(30)),
        JobOutcome::Failed {
            message: "boom".into(),
        },
    )
    .await;
    let at_cut = ended_at(store, &ids, cut, JobOutcome::Completed).await;
    let after = ended_at(
        store,
        &ids,
        add(cut, Duration::from_micros(1)),
        JobOutcome::Completed,
    )
    .await;
    assert_eq!(
        store.job_purge_count(purge(cut, 1)).await.expect("count"),
        2
    );
    assert_eq!(
        store
            .job_purge(purge(cut, 100))
            .await
            .expect("purge")
            .deleted,
        2
    );
    assert!(!exists(store, before).await && !exists(store, failed).await);
    assert!(
        exists(store, at_cut).await,
        "ended at the cut: not before it"
    );
    assert!(
        exists(store, after).await,
        "ended a microsecond after the cut"
    );
    assert_eq!(
        store
            .job_purge(purge(cut, 100))
            .await
            .expect("again")
            .deleted,
        0
    );
}

/// Holding, queued and running jobs are never purged, whatever the cut; asking to purge a
/// status that is not terminal is refused.
pub(crate) async fn purge_never_touches_waiting_or_running_jobs(store: &dyn Store) {
    let mut alive = Vec::new();
    for status in [
        JobStatus::Holding,
        JobStatus::Queued,
        JobStatus::Preparing,
        JobStatus::Processing,
    ] {
        alive.push(job_in(store, status).await.id);
    }
    let done = job_in(store, JobStatus::Aborted).await.id;
    let far = add(t0(), Duration::from_secs(10 * 365 * 86_400));
    assert_eq!(
        store
            .job_purge(purge(far, 1000))
            .await
            .expect("purge")
            .deleted,
        1
    );
    assert!(!exists(store, done).await);
    for id in alive {
        assert!(
            exists(store, id).await,
            "job {id} was not finished and must stay"
        );
    }
    for refused in [
        vec![JobStatus::Queued],
        vec![JobStatus::Completed, JobStatus::Processing],
        vec![],
    ] {
        let err = store
            .job_purge(JobPurgeParams {
                statuses: refused.clone(),
                ..purge(far, 10)
            })
            .await
            .expect_err("not a terminal status");
        assert!(
            matches!(err, Error::InvalidInput { .. }),
            "{refused:?}: {err}"
        );
    }
}

/// A purge from a cursor (`ended_from`) deletes only what ended at or after it, never misses
/// a job that ended at the same instant as the last one deleted, reports the latest end it
/// deleted for the next batch, and says when nothing is left.
pub(crate) async fn purge_from_a_cursor_starts_at_it_and_reports_the_last_end(store: &dyn Store) {
    let ids = IdGenerator::new(23);
    let at = |s: u64| add(t0(), Duration::from_secs(s));
    let mut ended = Vec::new();
    for s in [1, 2, 2, 3] {
        ended.push(ended_at(store, &ids, at(s), JobOutcome::Completed).await);
    }
    let cut = at(3600);
    let from = |ended_from: Option<Timestamp>, limit| JobPurgeParams {
        ended_from,
        ..purge(cut, limit)
    };
    let batch = |b: PurgeBatch| (b.deleted, b.last_ended_at, b.exhausted);
    let run = |p| async move { batch(store.job_purge(p).await.expect("purge")) };
    assert_eq!(run(from(Some(at(2)), 1)).await, (1, Some(at(2)), false));
    assert_eq!(
        run(from(Some(at(2)), 1)).await,
        (1, Some(at(2)), false),
        "the other job that ended at the cursor"
    );
    assert_eq!(run(from(Some(at(2)), 10)).await, (1, Some(at(3)), true));
    assert!(exists(store, ended[0]).await, "it ended before the cursor");
    assert_eq!(run(from(None, 10)).await, (1, Some(at(1)), true));
    assert_eq!(run(from(None, 10)).await, (0, None, true));
}

/// Each call deletes at most its limit, oldest endings first, and only the statuses and job
/// types asked for.
pub(crate) async fn purge_is_bounded_oldest_first_and_filtered(store: &dyn Store) {
    let ids = IdGenerator::new(22);
    let mut ended = Vec::new();
    for i in 0..5 {
        ended.push(
            ended_at(
                store,
                &ids,
                add(t0(), Duration::from_secs(10 + i)),
                JobOutcome::Completed,
            )
            .await,
        );
    }
    let failed = ended_at(
        store,
        &ids,
        add(t0(), Duration::from_secs(1)),
        JobOutcome::Failed {
            message: "kept longer".into(),
        },
    )
    .await;
    let cut = add(t0(), Duration::from_secs(3600));
    let completed_only = JobPurgeParams {
        statuses: vec![JobStatus::Completed],
        ..purge(cut, 2)
    };
    assert_eq!(
        store
            .job_purge(completed_only.clone())
            .await
            .expect("first")
            .deleted,
        2
    );
    assert!(
        !exists(store, ended[0]).await && !exists(store, ended[1]).await,
        "oldest first"
    );
    assert!(exists(store, ended[2]).await);
    assert_eq!(
        store
            .job_purge_count(completed_only.clone())
            .await
            .expect("count"),
        3
    );
    let futures_only = JobPurgeParams {
        job_types: Some(vec![JobType::Future]),
        ..completed_only.clone()
    };
    assert_eq!(
        store
            .job_purge(futures_only)
            .await
            .expect("futures")
            .deleted,
        0,
        "no future ended"
    );
    assert_eq!(
        store
            .job_purge(completed_only)
            .await
            .expect("second")
            .deleted,
        2
    );
    assert!(exists(store, failed).await, "failures were not asked for");
}

/// A running batch's completed chunks are released by its lease holder (failed ones stay),
/// and a purged batch takes its remaining chunks and its error events with it.
pub(crate) async fn purge_takes_a_batchs_chunks_and_error_events(store: &dyn Store) {
    batch_goes_with_its_chunks_and_events(store, false).await;
}

/// `job_delete` of a finished batch takes its chunks and error events too.
pub(crate) async fn delete_takes_a_batchs_chunks_and_error_events(store: &dyn Store) {
    batch_goes_with_its_chunks_and_events(store, true).await;
}

async fn batch_goes_with_its_chunks_and_events(store: &dyn Store, by_delete: bool) {
    let ids = IdGenerator::new(if by_delete { 24 } else { 23 });
    let b = NewJob::batch(
        ids.job_id(t0()),
        "Reindex",
        "{}".into(),
        BatchScope::DEFAULT,
        t0(),
    )
    .max_attempts(3);
    let b = NewJob {
        status: JobStatus::Queued,
        ..b
    };
    insert(store, vec![b.clone()]).await;
    assert_eq!(claim(store, "w", t0(), 1).await, vec![b.id]);
    let chunks: Vec<NewBatchChunk> = (0..3)
        .map(|seq| NewBatchChunk {
            id: ids.job_id(t0()),
            seq,
            item_count: 1,
            items: format!("[{seq}]"),
        })
        .collect();
    assert!(
        store
            .batch_chunks_insert(BatchChunksInsertParams {
                job_id: b.id,
                owner: "w".into(),
                chunks,
            })
            .await
            .expect("chunks")
    );
    assert!(
        store
            .batch_start_complete(BatchStartCompleteParams {
                job_id: b.id,
                owner: "w".into(),
                total_chunks: 3,
                state: "{}".into(),
                insert: Vec::new(),
            })
            .await
            .expect("start")
    );
    store
        .batch_error_event_insert(vec![NewBatchErrorEvent {
            job_id: b.id,
            phase: BatchPhase::Execute,
            exception_type: "JobError".into(),
            message: "chunk 1 failed".into(),
            job_scope: "1".into(),
            does_exceed_job_scope_max_length: false,
            created_at: t0(),
        }])
        .await
        .expect("event");
    assert_eq!(
        store
            .batch_chunks_release(asyncapex_core::BatchChunksResetParams {
                job_id: b.id,
                owner: "thief".into(),
            })
            .await
            .expect("foreign release"),
        None,
        "only the lease holder releases chunks"
    );
    for seq in [0, 2] {
        assert!(
            store
                .batch_chunk_finish(asyncapex_core::BatchChunkFinishParams {
                    job_id: b.id,
                    owner: "w".into(),
                    seq,
                    outcome: asyncapex_core::ChunkOutcome::Completed,
                    now: t0(),
                    state: None,
                    insert: Vec::new(),
                    error_event: None,
                })
                .await
                .expect("chunk")
        );
    }
    assert!(
        store
            .batch_chunk_finish(asyncapex_core::BatchChunkFinishParams {
                job_id: b.id,
                owner: "w".into(),
                seq: 1,
                outcome: asyncapex_core::ChunkOutcome::Failed {
                    message: "chunk 1 failed".into()
                },
                now: t0(),
                state: None,
                insert: Vec::new(),
                error_event: None,
            })
            .await
            .expect("chunk")
    );
    let released = store
        .batch_chunks_release(asyncapex_core::BatchChunksResetParams {
            job_id: b.id,
            owner: "w".into(),
        })
        .await
        .expect("release");
    assert_eq!(released, Some(2), "the two completed chunks go");
    let left = store
        .batch_chunk_list(BatchChunkListParams {
            job_id: b.id,
            status: None,
            from_seq: 0,
            limit: 10,
        })
        .await
        .expect("chunks");
    assert_eq!(
        left.iter().map(|c| c.seq).collect::<Vec<_>>(),
        vec![1],
        "the failed chunk stays"
    );
    let ended = add(t0(), Duration::from_secs(5));
    assert!(
        store
            .job_finish(finish(b.id, "w", ended, JobOutcome::Completed))
            .await
            .expect("finish")
    );
    let deleted = if by_delete {
        store.job_delete(vec![b.id]).await.expect("delete")
    } else {
        store
            .job_purge(purge(add(ended, Duration::from_secs(1)), 10))
            .await
            .expect("purge")
            .deleted
    };
    assert_eq!(deleted, 1);
    let chunks = store
        .batch_chunk_list(BatchChunkListParams {
            job_id: b.id,
            status: None,
            from_seq: 0,
            limit: 10,
        })
        .await
        .expect("chunks");
    assert!(chunks.is_empty(), "the batch's chunks went with it");
    let events = store
        .batch_error_event_list(BatchErrorEventListParams {
            job_id: Some(b.id),
            limit: 10,
        })
        .await
        .expect("events");
    assert!(events.is_empty(), "the batch's error events went with it");
}
