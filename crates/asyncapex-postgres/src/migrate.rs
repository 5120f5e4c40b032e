//! Versioned migrations, applied in order inside one transaction when a store connects.
//!
//! The versions and names are the SQLite store's, so both stores reach the same logical
//! version; a test checks the two lists match.

use asyncapex_core::{Error, Result, StoreErrorKind};
use deadpool_postgres::Pool;

use crate::errors::{from_pg, from_pool};

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

/// Creates the schema if needed and brings it to the newest version this build knows, in one
/// transaction under an advisory lock: processes starting at once take turns, and the later
/// ones find nothing to do.
///
/// # Errors
/// [`StoreErrorKind::TooNew`] when the schema has a migration this build does not know.
pub(crate) async fn migrate(pool: &Pool, schema: &str) -> Result<()> {
    let mut client = pool.get().await.map_err(from_pool)?;
    let tx = client.transaction().await.map_err(from_pg)?;
    tx.execute(include_str!("queries/migration_lock.sql"), &[&schema])
        .await
        .map_err(from_pg)?;
    tx.batch_execute(&include_str!("queries/schema_create.sql").replace("{schema}", schema))
        .await
        .map_err(from_pg)?;
    tx.batch_execute(include_str!("queries/migration_table.sql"))
        .await
        .map_err(from_pg)?;
    let current: i64 = tx
        .query_one(include_str!("queries/migration_current.sql"), &[])
        .await
        .map_err(from_pg)?
        .try_get(0)
        .map_err(from_pg)?;
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > newest {
        return Err(Error::store(
            StoreErrorKind::TooNew,
            format!(
                "the schema {schema:?} is at version {current} but this asyncapex knows only up to {newest}; upgrade asyncapex"
            ),
        ));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(sql).await.map_err(|e| {
            let err = from_pg(e);
            match err {
                Error::Store { kind, message } => Error::Store {
                    kind,
                    message: format!("migration {version} ({name}): {message}"),
                },
                other => other,
            }
        })?;
        tx.execute(
            include_str!("queries/migration_insert.sql"),
            &[version, name, &jiff::Timestamp::now().as_microsecond()],
        )
        .await
        .map_err(from_pg)?;
    }
    tx.commit().await.map_err(from_pg)
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
