//! Retention: deleting finished jobs with their batch chunks and error events.

use std::collections::BTreeMap;

use asyncapex_core::{JobId, JobPurgeParams, PurgeBatch, Result, rules};
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

/// Records one step of a purge deletes before it checks whether other calls wait for the
/// connection: about half a millisecond of work (BENCHMARKS.md, scale), so an enqueue or a
/// claim arriving during a purge waits that long, not for the whole batch.
const PURGE_STEP: u32 = 64;

/// Deletes up to `p.limit` records in steps of [`PURGE_STEP`], ending early (and not
/// exhausted) when `others_waiting` says other calls wait for the connection.
pub(crate) fn purge(
    conn: &Connection,
    p: &JobPurgeParams,
    others_waiting: &dyn Fn() -> bool,
) -> Result<PurgeBatch> {
    rules::check_purge_statuses(&p.statuses)?;
    let mut done = PurgeBatch::default();
    if p.limit == 0 {
        return Ok(done);
    }
    let mut step = p.clone();
    loop {
        step.limit = (p.limit - done.deleted as u32).min(PURGE_STEP);
        let last = purge_step(conn, &step)?;
        done.deleted += last.deleted;
        done.last_ended_at = last.last_ended_at.or(done.last_ended_at);
        if last.exhausted {
            done.exhausted = true;
            return Ok(done);
        }
        if done.deleted >= u64::from(p.limit) || others_waiting() {
            return Ok(done);
        }
        step.ended_from = last.last_ended_at;
    }
}

/// Finished jobs picked for deletion: their rowids and IDs, how many of each type and
/// status (for the kept counts), and when the last one ended.
#[derive(Default)]
struct Doomed {
    rowids: Vec<i64>,
    ids: Vec<String>,
    groups: BTreeMap<(String, String), i64>,
    last_ended: Option<i64>,
}

impl Doomed {
    /// Reads `(rowid, id, job_type, status, completed_at)` rows.
    fn select(
        stmt: &mut rusqlite::Statement<'_>,
        params: &[(&str, &dyn rusqlite::ToSql)],
    ) -> Result<Doomed> {
        let mut doomed = Doomed::default();
        let mut rows = stmt.query(params).map_err(from_sqlite)?;
        while let Some(r) = rows.next().map_err(from_sqlite)? {
            doomed.rowids.push(r.get::<_, i64>(0).map_err(from_sqlite)?);
            doomed.ids.push(r.get::<_, String>(1).map_err(from_sqlite)?);
            let key = (
                r.get::<_, String>(2).map_err(from_sqlite)?,
                r.get::<_, String>(3).map_err(from_sqlite)?,
            );
            *doomed.groups.entry(key).or_default() += 1;
            let ended = r.get::<_, i64>(4).map_err(from_sqlite)?;
            doomed.last_ended = doomed.last_ended.max(Some(ended));
        }
        Ok(doomed)
    }

    /// Deletes them: the kept counts, chunks and events first, then the jobs, whose count
    /// is the answer (the caller's transaction holds it together).
    fn delete(&self, conn: &Connection) -> Result<u64> {
        let mut counts = conn
            .prepare_cached(include_str!("queries/job_purge_counts.sql"))
            .map_err(from_sqlite)?;
        for ((job_type, status), n) in &self.groups {
            counts
                .execute(named_params! {":job_type": job_type, ":status": status, ":n": n})
                .map_err(from_sqlite)?;
        }
        let ids_json = serde_json::Value::from(self.ids.clone()).to_string();
        for sql in [
            include_str!("queries/job_purge_chunks.sql"),
            include_str!("queries/job_purge_events.sql"),
            include_str!("queries/job_purge_attempts.sql"),
        ] {
            conn.prepare_cached(sql)
                .map_err(from_sqlite)?
                .execute(named_params! {":ids": ids_json})
                .map_err(from_sqlite)?;
        }
        let deleted = conn
            .prepare_cached(include_str!("queries/job_purge_jobs.sql"))
            .map_err(from_sqlite)?
            .execute(
                named_params! {":rowids": serde_json::Value::from(self.rowids.clone()).to_string()},
            )
            .map_err(from_sqlite)?;
        Ok(deleted as u64)
    }
}

fn purge_step(conn: &Connection, p: &JobPurgeParams) -> Result<PurgeBatch> {
    let doomed = {
        let mut stmt = conn
            .prepare_cached(include_str!("queries/job_purge_select.sql"))
            .map_err(from_sqlite)?;
        Doomed::select(
            &mut stmt,
            named_params! {
                ":before": micros(p.before),
                ":ended_from": p.ended_from.map_or(i64::MIN, micros),
                ":statuses": statuses_json(p),
                ":job_types": types_json(p),
                ":limit": p.limit,
            },
        )?
    };
    let Some(last_ended) = doomed.last_ended else {
        return Ok(PurgeBatch {
            exhausted: true,
            ..PurgeBatch::default()
        });
    };
    let exhausted = doomed.rowids.len() < p.limit as usize;
    let deleted = doomed.delete(conn)?;
    Ok(PurgeBatch {
        deleted,
        last_ended_at: Some(crate::jobs::ts("completed_at", last_ended).map_err(from_sqlite)?),
        exhausted,
    })
}

/// Deletes the listed jobs that have finished, with their chunks and events.
pub(crate) fn delete(conn: &Connection, ids: &[JobId]) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let list: Vec<&str> = ids.iter().map(JobId::as_15).collect();
    let doomed = {
        let mut stmt = conn
            .prepare_cached(include_str!("queries/job_delete_select.sql"))
            .map_err(from_sqlite)?;
        Doomed::select(
            &mut stmt,
            named_params! {":ids": serde_json::Value::from(list).to_string()},
        )?
    };
    if doomed.rowids.is_empty() {
        return Ok(0);
    }
    doomed.delete(conn)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use asyncapex_core::fill::FinishedJobsFill;
    use asyncapex_core::{JobStatus, PurgeBatch};
    use jiff::Timestamp;

    use super::*;

    fn store_with(rows: u64) -> (Connection, Timestamp) {
        let conn = Connection::open_in_memory().unwrap();
        crate::migrate::migrate(&conn).unwrap();
        let now = Timestamp::now();
        let fill = FinishedJobsFill::over_days(rows, 1, now);
        crate::fill::rows(&conn, &fill, &asyncapex_core::IdGenerator::new(1), 0, rows).unwrap();
        (conn, now)
    }

    fn everything(now: Timestamp, limit: u32) -> JobPurgeParams {
        JobPurgeParams {
            before: now,
            statuses: vec![JobStatus::Completed, JobStatus::Failed, JobStatus::Aborted],
            job_types: None,
            limit,
            ended_from: None,
        }
    }

    /// A purge call lets waiting calls in after one step rather than after its whole batch,
    /// and says it is not done; left alone it runs to its limit.
    #[test]
    fn a_purge_stops_after_one_step_when_other_calls_wait() {
        let (conn, now) = store_with(300);
        let batch = purge(&conn, &everything(now, 500), &|| true).unwrap();
        assert_eq!(batch.deleted, u64::from(PURGE_STEP));
        assert!(!batch.exhausted);
        let batch = purge(&conn, &everything(now, 200), &|| false).unwrap();
        assert_eq!(batch.deleted, 200);
        assert!(!batch.exhausted);
        let rest = purge(&conn, &everything(now, 500), &|| false).unwrap();
        assert_eq!(rest.deleted, 300 - 200 - u64::from(PURGE_STEP));
        assert!(rest.exhausted);
        assert_eq!(
            purge(&conn, &everything(now, 500), &|| false).unwrap(),
            PurgeBatch {
                deleted: 0,
                last_ended_at: None,
                exhausted: true
            }
        );
    }
}
