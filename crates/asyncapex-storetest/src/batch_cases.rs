//! Conformance cases of batch jobs: the flex queue, chunks and error events.

use asyncapex_core::clock::add;
use asyncapex_core::{
    BatchChunkFinishParams, BatchChunkListParams, BatchChunksInsertParams, BatchChunksResetParams,
    BatchErrorEventListParams, BatchPhase, BatchPromoteParams, BatchStartCompleteParams,
    ChunkOutcome, ChunkStatus, Error, FlexMove, FlexQueueMoveParams, IdGenerator, JobId,
    JobInsertManyParams, JobStatus, JobType, NewBatchChunk, NewBatchErrorEvent, NewJob, Store,
};

use crate::job_cases::{claim, insert, job, secs, t0};

fn batch(ids: &IdGenerator, status: JobStatus) -> NewJob {
    let mut j = job(ids, t0());
    j.job_type = JobType::BatchApex;
    j.class_name = "Reindex".into();
    j.status = status;
    j.batch_scope = Some(200);
    j
}

async fn flex_order(store: &dyn Store) -> Vec<JobId> {
    store
        .flex_queue_list()
        .await
        .expect("flex list")
        .into_iter()
        .map(|j| j.id)
        .collect()
}

async fn status(store: &dyn Store, id: JobId) -> JobStatus {
    store.job_get(id).await.expect("get").expect("job").status
}

/// Holding jobs queue up in submission order; past the cap nothing is added.
pub(crate) async fn holding_jobs_join_the_flex_queue_in_order_up_to_its_cap(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let mut queued = Vec::new();
    for _ in 0..3 {
        let b = batch(&ids, JobStatus::Holding);
        queued.push(b.id);
        store
            .job_insert_many(JobInsertManyParams {
                jobs: vec![b],
                max_holding: 3,
            })
            .await
            .expect("under the cap");
    }
    assert_eq!(flex_order(store).await, queued);
    let extra = batch(&ids, JobStatus::Holding);
    let err = store
        .job_insert_many(JobInsertManyParams {
            jobs: vec![extra.clone()],
            max_holding: 3,
        })
        .await
        .expect_err("the fourth is refused");
    assert!(
        matches!(err, Error::LimitExceeded { max: 3, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("limit of 3 jobs in the flex queue"),
        "{err}"
    );
    assert!(store.job_get(extra.id).await.expect("get").is_none());
}

/// Promotion takes the front of the flex queue while fewer than the cap are active.
pub(crate) async fn promote_takes_the_front_of_the_flex_queue_up_to_the_active_cap(
    store: &dyn Store,
) {
    let ids = IdGenerator::new(1);
    let active = batch(&ids, JobStatus::Queued);
    insert(store, vec![active]).await;
    let holding: Vec<NewJob> = (0..4).map(|_| batch(&ids, JobStatus::Holding)).collect();
    let order: Vec<JobId> = holding.iter().map(|j| j.id).collect();
    insert(store, holding).await;
    let promote = |max_active| {
        store.batch_promote(BatchPromoteParams {
            now: add(t0(), secs(5)),
            max_active,
        })
    };
    assert_eq!(promote(3).await.expect("promote"), vec![order[0], order[1]]);
    assert_eq!(status(store, order[0]).await, JobStatus::Queued);
    assert!(
        promote(3).await.expect("promote").is_empty(),
        "three active now"
    );
    assert_eq!(flex_order(store).await, vec![order[2], order[3]]);
    let promoted = store.job_get(order[0]).await.expect("get").expect("job");
    assert_eq!(promoted.flex_position, None);
    assert_eq!(promoted.run_at, add(t0(), secs(5)));
}

/// The four moves reorder the queue and say whether anything moved.
pub(crate) async fn flex_queue_moves_reorder_and_report_whether_they_moved(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let jobs: Vec<NewJob> = (0..4).map(|_| batch(&ids, JobStatus::Holding)).collect();
    let [a, b, c, d] = [jobs[0].id, jobs[1].id, jobs[2].id, jobs[3].id];
    insert(store, jobs).await;
    let mv = |id, to| store.flex_queue_move(FlexQueueMoveParams { id, to });
    assert!(mv(d, FlexMove::Front).await.expect("front"));
    assert_eq!(flex_order(store).await, vec![d, a, b, c]);
    assert!(!mv(d, FlexMove::Front).await.expect("front again"));
    assert!(mv(d, FlexMove::End).await.expect("end"));
    assert_eq!(flex_order(store).await, vec![a, b, c, d]);
    assert!(mv(c, FlexMove::Before(a)).await.expect("before"));
    assert_eq!(flex_order(store).await, vec![c, a, b, d]);
    assert!(!mv(c, FlexMove::Before(a)).await.expect("before again"));
    assert!(mv(c, FlexMove::After(b)).await.expect("after"));
    assert_eq!(flex_order(store).await, vec![a, b, c, d]);
    assert!(!mv(b, FlexMove::After(a)).await.expect("after again"));
    // A newcomer still joins the end.
    let e = batch(&ids, JobStatus::Holding);
    let e_id = e.id;
    insert(store, vec![e]).await;
    assert_eq!(flex_order(store).await, vec![a, b, c, d, e_id]);
}

/// Only holding jobs can be moved, or moved relative to.
pub(crate) async fn moving_a_job_that_is_not_holding_is_refused(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let holding = batch(&ids, JobStatus::Holding);
    let queued = batch(&ids, JobStatus::Queued);
    insert(store, vec![holding.clone(), queued.clone()]).await;
    let err = store
        .flex_queue_move(FlexQueueMoveParams {
            id: queued.id,
            to: FlexMove::Front,
        })
        .await
        .expect_err("not holding");
    assert_eq!(
        err,
        Error::NotInFlexQueue {
            id: queued.id.to_string()
        }
    );
    let err = store
        .flex_queue_move(FlexQueueMoveParams {
            id: holding.id,
            to: FlexMove::After(queued.id),
        })
        .await
        .expect_err("relative to a job not holding");
    assert!(matches!(err, Error::NotInFlexQueue { .. }));
}

fn chunk(ids: &IdGenerator, seq: u64, items: &str) -> NewBatchChunk {
    NewBatchChunk {
        id: ids.job_id(t0()),
        seq,
        item_count: 2,
        items: items.into(),
    }
}

fn chunk_finish(id: JobId, owner: &str, seq: u64, outcome: ChunkOutcome) -> BatchChunkFinishParams {
    BatchChunkFinishParams {
        job_id: id,
        owner: owner.into(),
        seq,
        outcome,
        now: add(t0(), secs(seq + 1)),
        state: None,
        insert: Vec::new(),
        error_event: None,
    }
}

/// A batch runs Preparing → Processing; chunks end once each, under the lease, with counters.
pub(crate) async fn a_batch_moves_through_its_chunks_under_its_lease(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let b = batch(&ids, JobStatus::Queued);
    insert(store, vec![b.clone()]).await;
    assert_eq!(claim(store, "w", t0(), 1).await, vec![b.id]);
    assert_eq!(
        status(store, b.id).await,
        JobStatus::Preparing,
        "start has not run"
    );
    let chunks = vec![
        chunk(&ids, 0, "[1,2]"),
        chunk(&ids, 1, "[3,4]"),
        chunk(&ids, 2, "[5,6]"),
    ];
    let insert_chunks = |owner: &str| {
        store.batch_chunks_insert(BatchChunksInsertParams {
            job_id: b.id,
            owner: owner.into(),
            chunks: chunks.clone(),
        })
    };
    assert!(!insert_chunks("thief").await.expect("foreign insert"));
    assert!(insert_chunks("w").await.expect("insert"));
    let start = |owner: &str| {
        store.batch_start_complete(BatchStartCompleteParams {
            job_id: b.id,
            owner: owner.into(),
            total_chunks: 3,
            state: r#"{"after":"start"}"#.into(),
            insert: Vec::new(),
        })
    };
    assert!(!start("thief").await.expect("foreign start"));
    assert!(start("w").await.expect("start"));
    let started = store.job_get(b.id).await.expect("get").expect("job");
    assert_eq!(started.status, JobStatus::Processing);
    assert!(started.batch_start_done);
    assert_eq!((started.items_processed, started.total_items), (0, 3));
    assert_eq!(started.payload, r#"{"after":"start"}"#);

    let pending = store
        .batch_chunk_list(BatchChunkListParams {
            job_id: b.id,
            status: Some(ChunkStatus::Pending),
            from_seq: 0,
            limit: 10,
        })
        .await
        .expect("list");
    assert_eq!(
        pending.iter().map(|c| c.seq).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert_eq!(pending[1].items, "[3,4]");
    assert_eq!(pending[1].id, chunks[1].id);

    let mut ok = chunk_finish(b.id, "w", 0, ChunkOutcome::Completed);
    ok.state = Some(r#"{"total":3}"#.into());
    let child = job(&ids, t0());
    ok.insert = vec![child.clone()];
    assert!(
        store
            .batch_chunk_finish(ok.clone())
            .await
            .expect("finish 0")
    );
    assert!(
        !store.batch_chunk_finish(ok).await.expect("finish 0 again"),
        "once only"
    );
    assert!(
        store.job_get(child.id).await.expect("get").is_some(),
        "its enqueue committed"
    );
    assert!(
        !store
            .batch_chunk_finish(chunk_finish(b.id, "thief", 1, ChunkOutcome::Completed))
            .await
            .expect("foreign finish")
    );
    let mut failed = chunk_finish(
        b.id,
        "w",
        1,
        ChunkOutcome::Failed {
            message: "chunk 1 broke".into(),
        },
    );
    failed.error_event = Some(NewBatchErrorEvent {
        job_id: b.id,
        phase: BatchPhase::Execute,
        exception_type: "JobError".into(),
        message: "chunk 1 broke".into(),
        job_scope: "3,4".into(),
        does_exceed_job_scope_max_length: false,
        created_at: t0(),
    });
    assert!(store.batch_chunk_finish(failed).await.expect("finish 1"));
    assert!(
        store
            .batch_chunk_finish(chunk_finish(
                b.id,
                "w",
                2,
                ChunkOutcome::Failed {
                    message: "chunk 2 broke too".into()
                }
            ))
            .await
            .expect("finish 2")
    );
    let job = store.job_get(b.id).await.expect("get").expect("job");
    assert_eq!((job.items_processed, job.number_of_errors), (3, 2));
    assert_eq!(
        job.extended_status.as_deref(),
        Some("chunk 1 broke"),
        "the first error"
    );
    assert_eq!(
        job.payload, r#"{"total":3}"#,
        "state from the successful chunk only"
    );
    let failed_chunks = store
        .batch_chunk_list(BatchChunkListParams {
            job_id: b.id,
            status: Some(ChunkStatus::Failed),
            from_seq: 0,
            limit: 10,
        })
        .await
        .expect("list");
    assert_eq!(failed_chunks.len(), 2);
    assert_eq!(failed_chunks[0].error.as_deref(), Some("chunk 1 broke"));
    assert_eq!(
        failed_chunks[0].items, "[3,4]",
        "failed chunks keep their items"
    );
    let events = store
        .batch_error_event_list(BatchErrorEventListParams {
            job_id: Some(b.id),
            limit: 10,
        })
        .await
        .expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].phase, BatchPhase::Execute);
    assert_eq!(events[0].job_scope, "3,4");
}

/// A restarted start clears the chunks an interrupted one left, only for the lease holder.
pub(crate) async fn chunks_reset_clears_a_restarted_start_for_the_lease_holder_only(
    store: &dyn Store,
) {
    let ids = IdGenerator::new(1);
    let b = batch(&ids, JobStatus::Queued);
    insert(store, vec![b.clone()]).await;
    claim(store, "w", t0(), 1).await;
    store
        .batch_chunks_insert(BatchChunksInsertParams {
            job_id: b.id,
            owner: "w".into(),
            chunks: vec![chunk(&ids, 0, "[1]")],
        })
        .await
        .expect("insert");
    let reset = |owner: &str| {
        store.batch_chunks_reset(BatchChunksResetParams {
            job_id: b.id,
            owner: owner.into(),
        })
    };
    assert!(!reset("thief").await.expect("foreign reset"));
    assert!(reset("w").await.expect("reset"));
    let left = store
        .batch_chunk_list(BatchChunkListParams {
            job_id: b.id,
            status: None,
            from_seq: 0,
            limit: 10,
        })
        .await
        .expect("list");
    assert!(left.is_empty());
}

/// Error events list newest first, optionally for one job.
pub(crate) async fn error_events_list_newest_first_by_job(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let [a, b] = [ids.job_id(t0()), ids.job_id(t0())];
    let event = |job_id, phase| NewBatchErrorEvent {
        job_id,
        phase,
        exception_type: "JobError".into(),
        message: format!("{phase} failed"),
        job_scope: String::new(),
        does_exceed_job_scope_max_length: false,
        created_at: t0(),
    };
    store
        .batch_error_event_insert(vec![
            event(a, BatchPhase::Start),
            event(b, BatchPhase::Finish),
            event(a, BatchPhase::Finish),
        ])
        .await
        .expect("insert");
    let list =
        |job_id| store.batch_error_event_list(BatchErrorEventListParams { job_id, limit: 10 });
    let all = list(None).await.expect("all");
    assert_eq!(all.len(), 3);
    assert!(all[0].replay_id > all[1].replay_id && all[1].replay_id > all[2].replay_id);
    let of_a = list(Some(a)).await.expect("of a");
    assert_eq!(
        of_a.iter().map(|e| e.phase).collect::<Vec<_>>(),
        vec![BatchPhase::Finish, BatchPhase::Start]
    );
}
