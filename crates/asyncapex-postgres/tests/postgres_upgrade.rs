//! A store written by the previous release connects, migrates and loses nothing.
//!
//! `fixtures/v5-demo.sql` is the demo's store as schema version 5 (release 219804f) wrote
//! it, dumped with `pg_dump --inserts --no-owner --schema=asyncapex`: 16 jobs of every type,
//! 12 completed, 2 failed, 2 holding in the flex queue. The test restores it into a fresh
//! schema of its own.
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

#[tokio::test]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "the store's database is not configured"
)]
async fn a_version_5_store_migrates_and_keeps_every_job_with_true_counts() {
    let Some(url) = common::url() else {
        return;
    };
    common::sweep_stale_schemas(&url).await;
    let schema = common::fresh_schema();
    // The dump names its schema `asyncapex` everywhere it creates or fills something.
    let dump = include_str!("fixtures/v5-demo.sql")
        .replace(
            "CREATE SCHEMA asyncapex;",
            &format!("CREATE SCHEMA \"{schema}\";"),
        )
        .replace("asyncapex.asyncapex_", &format!("\"{schema}\".asyncapex_"));
    let admin = common::admin(&url).await;
    admin.batch_execute(&dump).await.unwrap();
    assert_eq!(
        migration_version(&admin, &schema).await,
        5,
        "the old schema"
    );

    let store = PostgresStore::connect_with(&url, common::options(&schema))
        .await
        .unwrap();
    let latest = asyncapex_core::rules::MIGRATIONS
        .last()
        .map(|(v, _)| i64::from(*v))
        .unwrap();
    assert_eq!(migration_version(&admin, &schema).await, latest, "migrated");

    asyncapex_storetest::assert_v5_demo_survived(&store).await;
    drop(store);
    common::drop_schema(&url, &schema).await;
}
