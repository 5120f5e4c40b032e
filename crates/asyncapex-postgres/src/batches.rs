//! Batch jobs: the flex queue, chunks and error events. One function per `Store` method.

use asyncapex_core::batch::reorder;
use asyncapex_core::{
    BatchChunkFinishParams, BatchChunkListParams, BatchChunkRecord, BatchChunksInsertParams,
    BatchChunksResetParams, BatchErrorEvent, BatchErrorEventListParams, BatchPromoteParams,
    BatchStartCompleteParams, ChunkOutcome, ChunkStatus, FlexQueueMoveParams, JobId, JobRecord,
    NewBatchErrorEvent, Result,
};
use tokio_postgres::Row;

use crate::db::{self, Tx, get, micros, opt_ts, ts, u64_col};
use crate::errors::{corrupt, from_pg};
use crate::jobs::{insert_many, job_from_row, job_id, lock_flex_queue, notify};

/// Whether `owner` holds the job in one of `statuses`; locks the job's row if so.
async fn holds(tx: &dyn Tx, id: JobId, owner: &str, statuses: &[&str]) -> Result<bool> {
    let rows = db::query(
        tx,
        include_str!("queries/batch_job_held.sql"),
        &[&id.as_15(), &owner, &statuses],
    )
    .await?;
    Ok(!rows.is_empty())
}

pub(crate) async fn promote(tx: &dyn Tx, p: &BatchPromoteParams) -> Result<Vec<JobId>> {
    // Under the flex-queue lock: two promoters never both see the same free slots.
    lock_flex_queue(tx).await?;
    let active = db::count(tx, include_str!("queries/batch_active_count.sql"), &[]).await?;
    let room = u64::from(p.max_active).saturating_sub(active);
    if room == 0 {
        return Ok(Vec::new());
    }
    let rows = db::query(
        tx,
        include_str!("queries/batch_promote.sql"),
        &[&micros(p.now), &(room.min(i64::MAX as u64) as i64)],
    )
    .await?;
    let mut ids = rows
        .iter()
        .map(|r| job_id("id", get(r, "id")?))
        .collect::<Result<Vec<_>>>()?;
    ids.sort();
    if !ids.is_empty() {
        notify(tx).await?;
    }
    Ok(ids)
}

pub(crate) async fn flex_queue_list(tx: &dyn Tx) -> Result<Vec<JobRecord>> {
    db::query(tx, include_str!("queries/flex_queue_list.sql"), &[])
        .await?
        .iter()
        .map(job_from_row)
        .collect()
}

pub(crate) async fn flex_queue_move(tx: &dyn Tx, p: &FlexQueueMoveParams) -> Result<bool> {
    lock_flex_queue(tx).await?;
    let order: Vec<JobId> = flex_queue_list(tx)
        .await?
        .into_iter()
        .map(|j| j.id)
        .collect();
    let Some(new_order) = reorder(&order, p.id, p.to)? else {
        return Ok(false);
    };
    let stmt = tx
        .stmt(include_str!("queries/flex_queue_set_position.sql"))
        .await
        .map_err(from_pg)?;
    for (position, id) in new_order.iter().enumerate() {
        tx.changed(&stmt, &[&id.as_15(), &(position as i64 + 1)])
            .await
            .map_err(from_pg)?;
    }
    Ok(true)
}

pub(crate) async fn chunks_insert(tx: &dyn Tx, p: &BatchChunksInsertParams) -> Result<bool> {
    if !holds(tx, p.job_id, &p.owner, &["Preparing"]).await? {
        return Ok(false);
    }
    let stmt = tx
        .stmt(include_str!("queries/batch_chunk_insert.sql"))
        .await
        .map_err(from_pg)?;
    for c in &p.chunks {
        tx.changed(
            &stmt,
            &[
                &p.job_id.as_15(),
                &(c.seq as i64),
                &c.id.as_15(),
                &i64::from(c.item_count),
                &c.items,
            ],
        )
        .await
        .map_err(from_pg)?;
    }
    Ok(true)
}

pub(crate) async fn chunks_reset(tx: &dyn Tx, p: &BatchChunksResetParams) -> Result<bool> {
    if !holds(tx, p.job_id, &p.owner, &["Preparing"]).await? {
        return Ok(false);
    }
    db::execute(
        tx,
        include_str!("queries/batch_chunks_reset.sql"),
        &[&p.job_id.as_15()],
    )
    .await?;
    Ok(true)
}

pub(crate) async fn chunks_release(tx: &dyn Tx, p: &BatchChunksResetParams) -> Result<Option<u64>> {
    if !holds(tx, p.job_id, &p.owner, &["Processing"]).await? {
        return Ok(None);
    }
    let n = db::execute(
        tx,
        include_str!("queries/batch_chunks_release.sql"),
        &[&p.job_id.as_15()],
    )
    .await?;
    Ok(Some(n))
}

pub(crate) async fn start_complete(tx: &dyn Tx, p: &BatchStartCompleteParams) -> Result<bool> {
    let n = db::execute(
        tx,
        include_str!("queries/batch_start_complete.sql"),
        &[
            &p.job_id.as_15(),
            &p.owner,
            &(p.total_chunks.min(i64::MAX as u64) as i64),
            &p.state,
        ],
    )
    .await?;
    if n == 0 {
        return Ok(false);
    }
    insert_many(tx, &p.insert, u32::MAX).await?;
    Ok(true)
}

fn chunk_from_row(row: &Row) -> Result<BatchChunkRecord> {
    let status: String = get(row, "status")?;
    Ok(BatchChunkRecord {
        id: job_id("id", get(row, "id")?)?,
        job_id: job_id("job_id", get(row, "job_id")?)?,
        seq: u64_col(row, "seq")?,
        status: status
            .parse::<ChunkStatus>()
            .map_err(|e| corrupt("status", e))?,
        item_count: u32::try_from(get::<_, i64>(row, "item_count")?.max(0))
            .map_err(|e| corrupt("item_count", e))?,
        items: get(row, "items")?,
        error: get(row, "error")?,
        completed_at: opt_ts(row, "completed_at")?,
    })
}

pub(crate) async fn chunk_list(
    tx: &dyn Tx,
    p: &BatchChunkListParams,
) -> Result<Vec<BatchChunkRecord>> {
    db::query(
        tx,
        include_str!("queries/batch_chunk_list.sql"),
        &[
            &p.job_id.as_15(),
            &(p.from_seq.min(i64::MAX as u64) as i64),
            &p.status.map(|s| s.as_str()),
            &i64::from(p.limit),
        ],
    )
    .await?
    .iter()
    .map(chunk_from_row)
    .collect()
}

pub(crate) async fn chunk_finish(tx: &dyn Tx, p: &BatchChunkFinishParams) -> Result<bool> {
    if !holds(tx, p.job_id, &p.owner, &["Processing"]).await? {
        return Ok(false);
    }
    let (status, error) = match &p.outcome {
        ChunkOutcome::Completed => (ChunkStatus::Completed, None),
        ChunkOutcome::Failed { message } => (ChunkStatus::Failed, Some(message.as_str())),
    };
    let ended = db::execute(
        tx,
        include_str!("queries/batch_chunk_end.sql"),
        &[
            &p.job_id.as_15(),
            &(p.seq.min(i64::MAX as u64) as i64),
            &status.as_str(),
            &error,
            &micros(p.now),
        ],
    )
    .await?;
    if ended == 0 {
        return Ok(false);
    }
    db::execute(
        tx,
        include_str!("queries/batch_job_progress.sql"),
        &[
            &p.job_id.as_15(),
            &i64::from(status == ChunkStatus::Failed),
            &error,
            &p.state,
        ],
    )
    .await?;
    insert_many(tx, &p.insert, u32::MAX).await?;
    if let Some(event) = &p.error_event {
        error_events_insert(tx, std::slice::from_ref(event)).await?;
    }
    Ok(true)
}

pub(crate) async fn error_events_insert(tx: &dyn Tx, events: &[NewBatchErrorEvent]) -> Result<()> {
    let stmt = tx
        .stmt(include_str!("queries/batch_error_event_insert.sql"))
        .await
        .map_err(from_pg)?;
    for e in events {
        tx.changed(
            &stmt,
            &[
                &e.job_id.as_15(),
                &e.phase.as_str(),
                &e.exception_type,
                &e.message,
                &e.job_scope,
                &e.does_exceed_job_scope_max_length,
                &micros(e.created_at),
            ],
        )
        .await
        .map_err(from_pg)?;
    }
    Ok(())
}

pub(crate) async fn error_event_list(
    tx: &dyn Tx,
    p: &BatchErrorEventListParams,
) -> Result<Vec<BatchErrorEvent>> {
    let job = p.job_id.map(|id| id.as_15().to_owned());
    db::query(
        tx,
        include_str!("queries/batch_error_event_list.sql"),
        &[&job, &i64::from(p.limit)],
    )
    .await?
    .iter()
    .map(|row| {
        let phase: String = get(row, "phase")?;
        Ok(BatchErrorEvent {
            replay_id: get(row, "replay_id")?,
            job_id: job_id("job_id", get(row, "job_id")?)?,
            phase: phase.parse().map_err(|e| corrupt("phase", e))?,
            exception_type: get(row, "exception_type")?,
            message: get(row, "message")?,
            job_scope: get(row, "job_scope")?,
            does_exceed_job_scope_max_length: get(row, "does_exceed_job_scope_max_length")?,
            created_at: ts("created_at", get(row, "created_at")?)?,
        })
    })
    .collect()
}
