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

/// What a file held when it was opened, before anything was written to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    /// No schema at all: a new or empty file.
    Empty,
    /// An asyncapex database (it has our migration table).
    Ours,
}

/// Looks at the schema of a just-opened file without writing anything, and refuses a file
/// that is an SQLite database but not ours: migrating it (or even switching it to WAL, which
/// rewrites two header bytes) would change someone else's data.
///
/// # Errors
/// [`StoreErrorKind::Corrupt`] for a foreign database, naming a few of its tables, in one line;
/// [`StoreErrorKind::Corrupt`] too when the file is not an SQLite database at all.
pub(crate) fn inspect(conn: &Connection) -> Result<Found> {
    let (objects, ours, some_tables): (i64, bool, Option<String>) = conn
        .query_row(include_str!("queries/schema_inspect.sql"), [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .map_err(from_sqlite)?;
    match (objects, ours) {
        (0, _) => Ok(Found::Empty),
        (_, true) => Ok(Found::Ours),
        (_, false) => Err(Error::store(
            StoreErrorKind::Corrupt,
            format!(
                "an SQLite database but not an asyncapex database (it has no asyncapex_migration table; tables: {}); refusing to change it",
                some_tables
                    .as_deref()
                    .unwrap_or("none, only indexes or views")
            ),
        )),
    }
}

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
