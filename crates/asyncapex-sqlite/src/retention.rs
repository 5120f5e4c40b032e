//! Retention: deleting finished jobs with their batch chunks and error events.

use asyncapex_core::{JobPurgeParams, Result, rules};
use rusqlite::{Connection, named_params};

use crate::errors::from_sqlite;
use crate::jobs::micros;

fn statuses_json(p: &JobPurgeParams) -> String {
    let list: Vec<&str> = p.statuses.iter().map(|s| s.as_str()).collect();
    serde_json::Value::from(list).to_string()
}

fn types_json(p: &JobPurgeParams) -> Option<String> {
    p.job_types.as_ref().map(|types| {
        let list: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
        serde_json::Value::from(list).to_string()
    })
}

pub(crate) fn purge(conn: &Connection, p: &JobPurgeParams) -> Result<u64> {
    rules::check_purge_statuses(&p.statuses)?;
    let ids: Vec<String> = conn
        .prepare_cached(include_str!("queries/job_purge_select.sql"))
        .map_err(from_sqlite)?
        .query_map(
            named_params! {
                ":before": micros(p.before),
                ":statuses": statuses_json(p),
                ":job_types": types_json(p),
                ":limit": p.limit,
            },
            |r| r.get(0),
        )
        .map_err(from_sqlite)?
        .collect::<rusqlite::Result<_>>()
        .map_err(from_sqlite)?;
    if ids.is_empty() {
        return Ok(0);
    }
    let ids_json = serde_json::Value::from(ids).to_string();
    let mut deleted = 0;
    // Chunks, events and the kept counts first, then the jobs, whose count is the answer;
    // one transaction.
    for sql in [
        include_str!("queries/job_purge_chunks.sql"),
        include_str!("queries/job_purge_counts.sql"),
        include_str!("queries/job_purge_events.sql"),
        include_str!("queries/job_purge_jobs.sql"),
    ] {
        deleted = conn
            .prepare_cached(sql)
            .map_err(from_sqlite)?
            .execute(named_params! {":ids": ids_json})
            .map_err(from_sqlite)?;
    }
    Ok(deleted as u64)
}

pub(crate) fn purge_count(conn: &Connection, p: &JobPurgeParams) -> Result<u64> {
    rules::check_purge_statuses(&p.statuses)?;
    let n: i64 = conn
        .prepare_cached(include_str!("queries/job_purge_count.sql"))
        .map_err(from_sqlite)?
        .query_row(
            named_params! {
                ":before": micros(p.before),
                ":statuses": statuses_json(p),
                ":job_types": types_json(p),
            },
            |r| r.get(0),
        )
        .map_err(from_sqlite)?;
    Ok(n.max(0) as u64)
}
