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
    (
        6,
        "job_counts",
        include_str!("../migrations/0006_job_counts.sql"),
    ),
    (
        7,
        "job_window_counts",
        include_str!("../migrations/0007_job_window_counts.sql"),
    ),
    (
        8,
        "node_roles",
        include_str!("../migrations/0008_node_roles.sql"),
    ),
    (
        9,
        "job_links",
        include_str!("../migrations/0009_job_links.sql"),
    ),
    (
        10,
        "job_attempts",
        include_str!("../migrations/0010_job_attempts.sql"),
    ),
    (
        11,
        "sensitive_fields",
        include_str!("../migrations/0011_sensitive_fields.sql"),
    ),
    (
        12,
        "durable_finalizers",
        include_str!("../migrations/0012_durable_finalizers.sql"),
    ),
    (
        13,
        "job_trace_context",
        include_str!("../migrations/0013_job_trace_context.sql"),
    ),
    (14, "queues", include_str!("../migrations/0014_queues.sql")),
];

/// What a file held when it was opened, before anything was written to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    /// No schema at all: a new or empty file.
    Empty,
    /// An asyncapex database (it has our migration table).
    Ours,
    /// An application's database with no asyncapex objects at all: a worker may keep its store
    /// beside the application's tables (a `QueryLocator` can then read them), but an admin
    /// command finds no asyncapex database there. Holds up to three table names.
    Application(String),
}

impl Found {
    /// The refusal of an admin command (`create: false`), which never creates a database:
    /// `None` when there is an asyncapex database to open.
    pub(crate) fn refusal_without_create(&self) -> Option<Error> {
        match self {
            Found::Ours => None,
            Found::Empty => Some(Error::store(
                StoreErrorKind::Unavailable,
                "the file is empty: it holds no asyncapex database, and this command does not create one",
            )),
            Found::Application(tables) => Some(Error::store(
                StoreErrorKind::Corrupt,
                format!(
                    "an SQLite database but not an asyncapex database (tables: {tables}); this command does not create one"
                ),
            )),
        }
    }
}

/// Looks at the schema of a just-opened file without writing anything, and refuses a file
/// that has objects named like ours but is not ours (no migration table): migrating it, or
/// even switching it to WAL (which rewrites two header bytes), would change data asyncapex
/// did not write and could not read.
///
/// # Errors
/// [`StoreErrorKind::Corrupt`] for such a file, naming a few of its tables, in one line; and
/// when the file is not an SQLite database at all.
pub(crate) fn inspect(conn: &Connection) -> Result<Found> {
    let (objects, ours, our_prefix, some_tables): (i64, bool, bool, Option<String>) = conn
        .query_row(include_str!("queries/schema_inspect.sql"), [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .map_err(from_sqlite)?;
    let tables = some_tables.unwrap_or_else(|| "none, only indexes or views".to_owned());
    match (objects, ours, our_prefix) {
        (0, _, _) => Ok(Found::Empty),
        (_, true, _) => Ok(Found::Ours),
        (_, false, false) => Ok(Found::Application(tables)),
        (_, false, true) => Err(Error::store(
            StoreErrorKind::Corrupt,
            format!(
                "an SQLite database but not an asyncapex database (it has tables named like asyncapex's but no asyncapex_migration table; tables: {tables}); refusing to change it"
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use asyncapex_core::{JobStatus, JobType};

    use super::*;

    /// The quoted words of the `CHECK (column IN (...))` list in a table definition.
    fn check_list(table_sql: &str, column: &str) -> Vec<String> {
        let head = format!("CHECK ({column} IN");
        let start = table_sql
            .find(&head)
            .unwrap_or_else(|| panic!("no {head:?} in {table_sql}"));
        let rest = &table_sql[start + head.len()..];
        let open = rest.find('(').expect("the list opens");
        let close = rest[open..].find(')').expect("the list closes");
        rest[open + 1..open + close]
            .split(',')
            .map(|word| word.trim().trim_matches('\'').to_owned())
            .collect()
    }

    fn job_table_sql() -> String {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn).unwrap();
        conn.query_row(include_str!("queries/schema_job_table.sql"), [], |r| {
            r.get(0)
        })
        .unwrap()
    }

    /// The schema, read back from the database, allows exactly the canonical statuses.
    #[test]
    fn the_status_check_lists_exactly_job_status_all() {
        let listed = check_list(&job_table_sql(), "status");
        let canonical: Vec<&str> = JobStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(listed, canonical);
    }

    /// The schema, read back from the database, allows exactly the canonical job types.
    #[test]
    fn the_job_type_check_lists_exactly_job_type_all() {
        let listed = check_list(&job_table_sql(), "job_type");
        let canonical: Vec<&str> = JobType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(listed, canonical);
    }

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
