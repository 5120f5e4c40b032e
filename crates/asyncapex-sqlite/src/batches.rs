//! Batch jobs: the flex queue, chunks and error events. One function per `Store` method.

use asyncapex_core::batch::reorder;
use asyncapex_core::{
    BatchChunkFinishParams, BatchChunkListParams, BatchChunkRecord, BatchChunksInsertParams,
    BatchChunksResetParams, BatchErrorEvent, BatchErrorEventListParams, BatchPromoteParams,
    BatchStartCompleteParams, ChunkOutcome, ChunkStatus, FlexQueueMoveParams, JobId, JobRecord,
    NewBatchErrorEvent, Result,
};
use rusqlite::{Connection, Row, named_params};

use crate::errors::{corrupt, from_sqlite};
use crate::jobs::{JobColumns, insert_many, job_from_row, job_id, micros, opt_ts, ts};

fn count_query(conn: &Connection, sql: &str) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached(sql)
        .map_err(from_sqlite)?
        .query_row([], |r| r.get(0))
        .map_err(from_sqlite)?;
    Ok(n.max(0) as u64)
}

/// Whether `owner` holds the job in one of `statuses`.
fn holds(conn: &Connection, id: JobId, owner: &str, statuses: &[&str]) -> Result<bool> {
    let n: i64 = conn
        .prepare_cached(include_str!("queries/batch_job_held.sql"))
        .map_err(from_sqlite)?
        .query_row(
            named_params! {
                ":id": id.as_15(),
                ":owner": owner,
                ":statuses": serde_json::Value::from(statuses.to_vec()).to_string(),
            },
            |r| r.get(0),
        )
        .map_err(from_sqlite)?;
    Ok(n > 0)
}

pub(crate) fn promote(conn: &Connection, p: &BatchPromoteParams) -> Result<Vec<JobId>> {
    let active = count_query(conn, include_str!("queries/batch_active_count.sql"))?;
    let room = u64::from(p.max_active).saturating_sub(active);
    if room == 0 {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare_cached(include_str!("queries/batch_promote.sql"))
        .map_err(from_sqlite)?;
    let rows = stmt
        .query_map(
            named_params! {":now": micros(p.now), ":limit": room as i64},
            |r| job_id("id", r.get(0)?),
        )
        .map_err(from_sqlite)?;
    let mut ids = rows
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(from_sqlite)?;
    ids.sort();
    Ok(ids)
}

pub(crate) fn flex_queue_list(conn: &Connection) -> Result<Vec<JobRecord>> {
    let mut stmt = conn
        .prepare_cached(include_str!("queries/flex_queue_list.sql"))
        .map_err(from_sqlite)?;
    let columns = JobColumns::of(&stmt)?;
    let rows = stmt
        .query_map([], |r| job_from_row(r, &columns))
        .map_err(from_sqlite)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(from_sqlite)
}

pub(crate) fn flex_queue_move(conn: &Connection, p: &FlexQueueMoveParams) -> Result<bool> {
    let order: Vec<JobId> = flex_queue_list(conn)?.into_iter().map(|j| j.id).collect();
    let Some(new_order) = reorder(&order, p.id, p.to)? else {
        return Ok(false);
    };
    let mut stmt = conn
        .prepare_cached(include_str!("queries/flex_queue_set_position.sql"))
        .map_err(from_sqlite)?;
    for (position, id) in new_order.iter().enumerate() {
        stmt.execute(named_params! {":id": id.as_15(), ":position": position as i64 + 1})
            .map_err(from_sqlite)?;
    }
    Ok(true)
}

pub(crate) fn chunks_insert(conn: &Connection, p: &BatchChunksInsertParams) -> Result<bool> {
    if !holds(conn, p.job_id, &p.owner, &["Preparing"])? {
        return Ok(false);
    }
    let mut stmt = conn
        .prepare_cached(include_str!("queries/batch_chunk_insert.sql"))
        .map_err(from_sqlite)?;
    for c in &p.chunks {
        stmt.execute(named_params! {
            ":job_id": p.job_id.as_15(),
            ":seq": c.seq as i64,
            ":id": c.id.as_15(),
            ":item_count": c.item_count,
            ":items": c.items,
        })
        .map_err(from_sqlite)?;
    }
    Ok(true)
}

pub(crate) fn chunks_reset(conn: &Connection, p: &BatchChunksResetParams) -> Result<bool> {
    if !holds(conn, p.job_id, &p.owner, &["Preparing"])? {
        return Ok(false);
    }
    conn.prepare_cached(include_str!("queries/batch_chunks_reset.sql"))
        .map_err(from_sqlite)?
        .execute(named_params! {":job_id": p.job_id.as_15()})
        .map_err(from_sqlite)?;
    Ok(true)
}

pub(crate) fn chunks_release(conn: &Connection, p: &BatchChunksResetParams) -> Result<Option<u64>> {
    if !holds(conn, p.job_id, &p.owner, &["Processing"])? {
        return Ok(None);
    }
    let n = conn
        .prepare_cached(include_str!("queries/batch_chunks_release.sql"))
        .map_err(from_sqlite)?
        .execute(named_params! {":job_id": p.job_id.as_15()})
        .map_err(from_sqlite)?;
    Ok(Some(n as u64))
}

pub(crate) fn start_complete(conn: &Connection, p: &BatchStartCompleteParams) -> Result<bool> {
    let n = conn
        .prepare_cached(include_str!("queries/batch_start_complete.sql"))
        .map_err(from_sqlite)?
        .execute(named_params! {
            ":id": p.job_id.as_15(),
            ":owner": p.owner,
            ":total": p.total_chunks as i64,
            ":state": p.state,
        })
        .map_err(from_sqlite)?;
    if n == 0 {
        return Ok(false);
    }
    insert_many(conn, &p.insert, u32::MAX)?;
    Ok(true)
}

fn chunk_from_row(row: &Row<'_>) -> rusqlite::Result<BatchChunkRecord> {
    let status: String = row.get("status")?;
    Ok(BatchChunkRecord {
        id: job_id("id", row.get("id")?)?,
        job_id: job_id("job_id", row.get("job_id")?)?,
        seq: row.get::<_, i64>("seq")?.max(0) as u64,
        status: status
            .parse::<ChunkStatus>()
            .map_err(|e| corrupt("status", e))?,
        item_count: row.get::<_, i64>("item_count")?.max(0) as u32,
        items: row.get("items")?,
        error: row.get("error")?,
        completed_at: opt_ts("completed_at", row.get("completed_at")?)?,
    })
}

pub(crate) fn chunk_list(
    conn: &Connection,
    p: &BatchChunkListParams,
) -> Result<Vec<BatchChunkRecord>> {
    let mut stmt = conn
        .prepare_cached(include_str!("queries/batch_chunk_list.sql"))
        .map_err(from_sqlite)?;
    let rows = stmt
        .query_map(
            named_params! {
                ":job_id": p.job_id.as_15(),
                ":from_seq": p.from_seq as i64,
                ":status": p.status.map(|s| s.as_str()),
                ":limit": p.limit,
            },
            chunk_from_row,
        )
        .map_err(from_sqlite)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(from_sqlite)
}

pub(crate) fn chunk_finish(conn: &Connection, p: &BatchChunkFinishParams) -> Result<bool> {
    if !holds(conn, p.job_id, &p.owner, &["Processing"])? {
        return Ok(false);
    }
    let (status, error) = match &p.outcome {
        ChunkOutcome::Completed => (ChunkStatus::Completed, None),
        ChunkOutcome::Failed { message } => (ChunkStatus::Failed, Some(message.as_str())),
    };
    let ended = conn
        .prepare_cached(include_str!("queries/batch_chunk_end.sql"))
        .map_err(from_sqlite)?
        .execute(named_params! {
            ":job_id": p.job_id.as_15(),
            ":seq": p.seq as i64,
            ":status": status.as_str(),
            ":error": error,
            ":now": micros(p.now),
        })
        .map_err(from_sqlite)?;
    if ended == 0 {
        return Ok(false);
    }
    conn.prepare_cached(include_str!("queries/batch_job_progress.sql"))
        .map_err(from_sqlite)?
        .execute(named_params! {
            ":id": p.job_id.as_15(),
            ":failed": i64::from(status == ChunkStatus::Failed),
            ":error": error,
            ":state": p.state,
        })
        .map_err(from_sqlite)?;
    insert_many(conn, &p.insert, u32::MAX)?;
    if let Some(event) = &p.error_event {
        error_events_insert(conn, std::slice::from_ref(event))?;
    }
    Ok(true)
}

pub(crate) fn error_events_insert(conn: &Connection, events: &[NewBatchErrorEvent]) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(include_str!("queries/batch_error_event_insert.sql"))
        .map_err(from_sqlite)?;
    for e in events {
        stmt.execute(named_params! {
            ":job_id": e.job_id.as_15(),
            ":phase": e.phase.as_str(),
            ":exception_type": e.exception_type,
            ":message": e.message,
            ":job_scope": e.job_scope,
            ":exceeds": e.does_exceed_job_scope_max_length,
            ":created_at": micros(e.created_at),
        })
        .map_err(from_sqlite)?;
    }
    Ok(())
}

pub(crate) fn error_event_list(
    conn: &Connection,
    p: &BatchErrorEventListParams,
) -> Result<Vec<BatchErrorEvent>> {
    let mut stmt = conn
        .prepare_cached(include_str!("queries/batch_error_event_list.sql"))
        .map_err(from_sqlite)?;
    let rows = stmt
        .query_map(
            named_params! {
                ":job_id": p.job_id.map(|id| id.as_15().to_owned()),
                ":limit": p.limit,
            },
            |row| {
                let phase: String = row.get("phase")?;
                Ok(BatchErrorEvent {
                    replay_id: row.get("replay_id")?,
                    job_id: job_id("job_id", row.get("job_id")?)?,
                    phase: phase.parse().map_err(|e| corrupt("phase", e))?,
                    exception_type: row.get("exception_type")?,
                    message: row.get("message")?,
                    job_scope: row.get("job_scope")?,
                    does_exceed_job_scope_max_length: row
                        .get::<_, i64>("does_exceed_job_scope_max_length")?
                        != 0,
                    created_at: ts("created_at", row.get("created_at")?)?,
                })
            },
        )
        .map_err(from_sqlite)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(from_sqlite)
}
