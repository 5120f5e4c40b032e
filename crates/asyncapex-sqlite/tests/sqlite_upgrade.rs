//! A store written by the previous release opens, migrates and loses nothing.
//!
//! `fixtures/v5-demo.sqlite` is the demo's store as schema version 5 (release 219804f)
//! wrote it: 16 jobs of every type, 12 completed, 2 failed, 2 holding in the flex queue.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use asyncapex_sqlite::SqliteStore;

fn migration_version(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT MAX(version) FROM asyncapex_migration", [], |r| {
        r.get(0)
    })
    .unwrap()
}

#[tokio::test]
async fn a_version_5_store_migrates_and_keeps_every_job_with_true_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.sqlite");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v5-demo.sqlite"),
        &path,
    )
    .unwrap();
    assert_eq!(migration_version(&path), 5, "the fixture is the old schema");

    let store = SqliteStore::open(&path).await.unwrap();
    let latest = asyncapex_core::rules::MIGRATIONS
        .last()
        .map(|(v, _)| i64::from(*v))
        .unwrap();
    assert_eq!(migration_version(&path), latest, "migrated to the latest");

    asyncapex_storetest::assert_v5_demo_survived(&store).await;
}
