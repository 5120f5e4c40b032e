//! Bulk fills of finished job records for benchmarks (see `asyncapex_core::fill`).

use asyncapex_core::IdGenerator;
use asyncapex_core::Result;
use asyncapex_core::fill::FinishedJobsFill;
use rusqlite::{Connection, named_params};

use crate::errors::from_sqlite;
use crate::jobs::micros;

/// Writes rows `start..end` of `fill` in the caller's transaction.
pub(crate) fn rows(
    conn: &Connection,
    fill: &FinishedJobsFill,
    ids: &IdGenerator,
    start: u64,
    end: u64,
) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(include_str!("queries/job_fill.sql"))
        .map_err(from_sqlite)?;
    for i in start..end {
        let r = fill.row(ids, i);
        stmt.execute(named_params! {
            ":id": r.id.as_15(),
            ":job_type": r.job_type.as_str(),
            ":class_name": r.class_name,
            ":method_name": r.method_name,
            ":status": r.status.as_str(),
            ":extended_status": r.extended_status,
            ":created_at": micros(r.created_at),
            ":started_at": r.started_at.map(micros),
            ":completed_at": micros(r.completed_at),
            ":attempt": r.attempt,
        })
        .map_err(from_sqlite)?;
    }
    Ok(())
}
