//! Retention: deleting finished jobs with their batch chunks and error events.

use asyncapex_core::{JobPurgeParams, PurgeBatch, Result, rules};

use crate::db::{self, Tx, get, micros, ts};

fn statuses(p: &JobPurgeParams) -> Vec<&'static str> {
    p.statuses.iter().map(|s| s.as_str()).collect()
}

fn types(p: &JobPurgeParams) -> Option<Vec<&'static str>> {
    p.job_types
        .as_ref()
        .map(|types| types.iter().map(|t| t.as_str()).collect())
}

pub(crate) async fn purge(tx: &dyn Tx, p: &JobPurgeParams) -> Result<PurgeBatch> {
    rules::check_purge_statuses(&p.statuses)?;
    let rows = db::query(
        tx,
        include_str!("queries/job_purge.sql"),
        &[
            &micros(p.before),
            &statuses(p),
            &types(p),
            &i64::from(p.limit),
            &p.ended_from.map_or(i64::MIN, micros),
        ],
    )
    .await?;
    let mut last = None;
    for r in &rows {
        let ended: i64 = get(r, 0)?;
        last = last.max(Some(ended));
    }
    Ok(PurgeBatch {
        deleted: rows.len() as u64,
        last_ended_at: last.map(|t| ts("completed_at", t)).transpose()?,
        // Rows another purge holds were skipped, not counted: that purge takes them.
        exhausted: rows.len() < p.limit as usize,
    })
}

/// Deletes the listed jobs that have finished, with their chunks and events.
pub(crate) async fn delete(tx: &dyn Tx, ids: &[asyncapex_core::JobId]) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let ids = crate::jobs::ids_param(ids);
    db::execute(tx, include_str!("queries/job_delete.sql"), &[&ids]).await
}

pub(crate) async fn purge_count(tx: &dyn Tx, p: &JobPurgeParams) -> Result<u64> {
    rules::check_purge_statuses(&p.statuses)?;
    let rows = db::query(
        tx,
        include_str!("queries/job_purge_count.sql"),
        &[&micros(p.before), &statuses(p), &types(p)],
    )
    .await?;
    let n: i64 = match rows.first() {
        Some(row) => get(row, "n")?,
        None => 0,
    };
    Ok(n.max(0) as u64)
}
