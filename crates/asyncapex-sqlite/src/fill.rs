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
    // Rows per statement: large enough to amortize the statement, small enough to keep
    // each JSON text a few hundred kilobytes.
    const PER_STATEMENT: u64 = 2_000;
    let mut stmt = conn
        .prepare_cached(include_str!("queries/job_fill.sql"))
        .map_err(from_sqlite)?;
    let mut first = start;
    while first < end {
        let last = (first + PER_STATEMENT).min(end);
        let rows: Vec<serde_json::Value> = (first..last)
            .map(|i| {
                let r = fill.row(ids, i);
                serde_json::json!([
                    r.id.as_15(),
                    r.job_type.as_str(),
                    r.class_name,
                    r.method_name,
                    r.status.as_str(),
                    r.extended_status,
                    micros(r.created_at),
                    r.started_at.map(micros),
                    micros(r.completed_at),
                    r.attempt,
                ])
            })
            .collect();
        let json = serde_json::Value::from(rows).to_string();
        stmt.execute(named_params! { ":rows": json })
            .map_err(from_sqlite)?;
        first = last;
    }
    Ok(())
}
