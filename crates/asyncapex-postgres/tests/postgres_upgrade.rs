//! A store written by the previous release connects, migrates and loses nothing.
//!
//! `fixtures/v5-demo.sql` is the demo's store as schema version 5 (release 219804f) wrote
//! it, dumped with `pg_dump --inserts --no-owner --schema=asyncapex`: 16 jobs of every type,
//! 12 completed, 2 failed, 2 holding in the flex queue. `fixtures/v13-demo.sql` is the
//! demo's store as the release before named queues (83cecf1, schema 13) wrote it, dumped the
//! same way. Each test restores its dump into a fresh schema of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use asyncapex_postgres::PostgresStore;

async fn migration_version(admin: &tokio_postgres::Client, schema: &str) -> i64 {
    admin
        .query_one(
            &format!("SELECT MAX(version)::BIGINT FROM \"{schema}\".asyncapex_migration"),
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// The latest schema version this code migrates to.
fn latest() -> i64 {
    asyncapex_core::rules::MIGRATIONS
        .last()
        .map(|(v, _)| i64::from(*v))
        .unwrap()
}

/// Restores a dump (which names its schema `asyncapex` everywhere it creates or fills
/// something, and pins its trigger functions' search path to it) into a fresh schema, and
/// checks it is at `version`. Returns an admin connection and the schema.
async fn restore(url: &str, dump: &str, version: i64) -> (tokio_postgres::Client, String) {
    common::sweep_stale_schemas(url).await;
    let schema = common::fresh_schema();
    let dump = dump
        .replace(
            "CREATE SCHEMA asyncapex;",
            &format!("CREATE SCHEMA \"{schema}\";"),
        )
        .replace("asyncapex.asyncapex_", &format!("\"{schema}\".asyncapex_"))
        .replace(
            "SET search_path TO 'asyncapex'",
            &format!("SET search_path TO '{schema}'"),
        );
    let admin = common::admin(url).await;
    admin.batch_execute(&dump).await.unwrap();
    assert_eq!(
        migration_version(&admin, &schema).await,
        version,
        "the old schema"
    );
    (admin, schema)
}

#[tokio::test]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "the store's database is not configured"
)]
async fn a_version_5_store_migrates_and_keeps_every_job_with_true_counts() {
    let Some(url) = common::url() else {
        return;
    };
    let (admin, schema) = restore(&url, include_str!("fixtures/v5-demo.sql"), 5).await;
    let store = PostgresStore::connect_with(&url, common::options(&schema))
        .await
        .unwrap();
    assert_eq!(
        migration_version(&admin, &schema).await,
        latest(),
        "migrated"
    );
    asyncapex_storetest::assert_v5_demo_survived(&store).await;
    drop(store);
    common::drop_schema(&url, &schema).await;
}

#[tokio::test]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "the store's database is not configured"
)]
async fn a_version_13_store_migrates_to_named_queues_and_keeps_every_job() {
    let Some(url) = common::url() else {
        return;
    };
    let (admin, schema) = restore(&url, include_str!("fixtures/v13-demo.sql"), 13).await;
    let before: Vec<(asyncapex_core::JobStatus, u64)> = admin
        .query(
            &format!("SELECT status, COUNT(*) FROM \"{schema}\".asyncapex_job GROUP BY status"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get::<_, String>(0).parse().unwrap(),
                r.get::<_, i64>(1) as u64,
            )
        })
        .collect();
    let store = PostgresStore::connect_with(&url, common::options(&schema))
        .await
        .unwrap();
    assert_eq!(
        migration_version(&admin, &schema).await,
        latest(),
        "migrated"
    );
    asyncapex_storetest::assert_v13_store_survived(&store, &before).await;
    drop(store);
    common::drop_schema(&url, &schema).await;
}
