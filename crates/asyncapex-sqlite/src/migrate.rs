//! Versioned migrations, applied in order inside one transaction when a store opens.

use asyncapex_core::{Error, Result, StoreErrorKind};
use rusqlite::{Connection, params};

use crate::errors::from_sqlite;

/// Every migration this build knows: (version, name, SQL).
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "create_jobs",
        include_str!("../migrations/0001_create_jobs.sql"),
    ),
    (
        2,
        "job_created_index",
        include_str!("../migrations/0002_job_created_index.sql"),
    ),
    (
        3,
        "create_cron_triggers",
        include_str!("../migrations/0003_create_cron_triggers.sql"),
    ),
    (4, "batches", include_str!("../migrations/0004_batches.sql")),
    (
        5,
        "node_heartbeats",
        include_str!("../migrations/0005_node_heartbeats.sql"),
    ),
];

/// Brings the schema to the newest version this build knows.
///
/// # Errors
/// [`StoreErrorKind::TooNew`] when the database has a migration this build does not know;
/// [`StoreErrorKind::Corrupt`] when the file is not an SQLite database.
pub(crate) fn migrate(conn: &Connection) -> Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(from_sqlite)?;
    let result = apply(conn);
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    conn.execute_batch(end).map_err(from_sqlite)?;
    result
}

fn apply(conn: &Connection) -> Result<()> {
    conn.execute_batch(include_str!("queries/migration_table.sql"))
        .map_err(from_sqlite)?;
    let current: i64 = conn
        .query_row(include_str!("queries/migration_current.sql"), [], |r| {
            r.get(0)
        })
        .map_err(from_sqlite)?;
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > newest {
        return Err(Error::store(
            StoreErrorKind::TooNew,
            format!(
                "the database is at schema version {current} but this asyncapex knows only up to {newest}; upgrade asyncapex"
            ),
        ));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        conn.execute_batch(sql).map_err(from_sqlite)?;
        conn.execute(
            include_str!("queries/migration_insert.sql"),
            params![version, name, jiff::Timestamp::now().as_microsecond()],
        )
        .map_err(from_sqlite)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both stores apply the same migrations: this store's list is the canonical one.
    #[test]
    fn the_migrations_are_the_canonical_list() {
        let here: Vec<(i64, &str)> = MIGRATIONS.iter().map(|m| (m.0, m.1)).collect();
        let canonical: Vec<(i64, &str)> = asyncapex_core::rules::MIGRATIONS
            .iter()
            .map(|m| (i64::from(m.0), m.1))
            .collect();
        assert_eq!(here, canonical);
    }
}
