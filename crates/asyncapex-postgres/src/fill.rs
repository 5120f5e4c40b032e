//! Bulk fills of finished job records for benchmarks (see `asyncapex_core::fill`).

use asyncapex_core::fill::FinishedJobsFill;
use asyncapex_core::{IdGenerator, Result};

use crate::db::{self, Tx};

/// Writes rows `start..end` of `fill` as one statement.
pub(crate) async fn rows(
    tx: &dyn Tx,
    fill: &FinishedJobsFill,
    ids: &IdGenerator,
    start: u64,
    end: u64,
) -> Result<()> {
    let n = usize::try_from(end - start).unwrap_or(0);
    let mut id = Vec::with_capacity(n);
    let mut job_type = Vec::with_capacity(n);
    let mut class_name = Vec::with_capacity(n);
    let mut method_name: Vec<Option<&str>> = Vec::with_capacity(n);
    let mut status = Vec::with_capacity(n);
    let mut extended_status: Vec<Option<&str>> = Vec::with_capacity(n);
    let mut created_at = Vec::with_capacity(n);
    let mut started_at: Vec<Option<i64>> = Vec::with_capacity(n);
    let mut completed_at = Vec::with_capacity(n);
    let mut attempt = Vec::with_capacity(n);
    for i in start..end {
        let r = fill.row(ids, i);
        id.push(r.id.as_15().to_owned());
        job_type.push(r.job_type.as_str());
        class_name.push(r.class_name);
        method_name.push(r.method_name);
        status.push(r.status.as_str());
        extended_status.push(r.extended_status);
        created_at.push(r.created_at.as_microsecond());
        started_at.push(r.started_at.map(|t| t.as_microsecond()));
        completed_at.push(r.completed_at.as_microsecond());
        attempt.push(i64::from(r.attempt));
    }
    db::execute(
        tx,
        include_str!("queries/job_fill.sql"),
        &[
            &id,
            &job_type,
            &class_name,
            &method_name,
            &status,
            &extended_status,
            &created_at,
            &started_at,
            &completed_at,
            &attempt,
        ],
    )
    .await?;
    Ok(())
}

/// Vacuums and analyzes what a fill wrote (see the query).
pub(crate) async fn vacuum(tx: &dyn Tx) -> Result<()> {
    db::execute(tx, include_str!("queries/job_fill_vacuum.sql"), &[]).await?;
    db::execute(tx, include_str!("queries/job_fill_compact.sql"), &[]).await?;
    if let Err(e) = db::execute(tx, include_str!("queries/job_fill_settle.sql"), &[]).await {
        tracing::warn!(error = %e, "no CHECKPOINT after the fill: its write-back may overlap what runs next");
    }
    Ok(())
}
