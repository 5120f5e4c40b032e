//! Upkeep where the server does none: VACUUM and ANALYZE of this store's tables when
//! autovacuum is off (see `Store::maintain`).

use asyncapex_core::Result;

use crate::db::{self, get};
use crate::errors::from_pg;

/// Autovacuum's default cost-based delay: a manual VACUUM runs unthrottled, and one over the
/// job table would take the disk from the workers meanwhile.
const THROTTLE: &str = "SET vacuum_cost_delay = '2ms'";
const UNTHROTTLE: &str = "RESET vacuum_cost_delay";

pub(crate) async fn maintain(client: &deadpool_postgres::Object) -> Result<u32> {
    let locked = db::query(client, include_str!("queries/maintain_lock.sql"), &[]).await?;
    if !locked
        .first()
        .map(|r| get::<_, bool>(r, 0))
        .transpose()?
        .unwrap_or(false)
    {
        // Another node is at it.
        return Ok(0);
    }
    let done = tidy(client).await;
    db::query(client, include_str!("queries/maintain_unlock.sql"), &[]).await?;
    done
}

async fn tidy(client: &deadpool_postgres::Object) -> Result<u32> {
    let tables = db::query(client, include_str!("queries/maintain_candidates.sql"), &[]).await?;
    if tables.is_empty() {
        return Ok(0);
    }
    client.batch_execute(THROTTLE).await.map_err(from_pg)?;
    let mut tidied = 0;
    let mut failed = None;
    for row in &tables {
        let name: String = get(row, "name")?;
        let vacuum: bool = get(row, "vacuum")?;
        // VACUUM cannot run in a transaction or as a prepared statement: a simple query.
        let statement = if vacuum {
            format!("VACUUM (ANALYZE) {name}")
        } else {
            format!("ANALYZE {name}")
        };
        match client.batch_execute(&statement).await {
            Ok(()) => tidied += 1,
            Err(e) => {
                failed = Some(from_pg(e));
                break;
            }
        }
    }
    client.batch_execute(UNTHROTTLE).await.map_err(from_pg)?;
    match failed {
        Some(e) => Err(e),
        None => Ok(tidied),
    }
}
