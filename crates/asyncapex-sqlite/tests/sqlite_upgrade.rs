//! A store written by the previous release opens, migrates and loses nothing.
//!
//! `fixtures/v5-demo.sqlite` is the demo's store as schema version 5 (release 219804f)
//! wrote it: 16 jobs of every type, 12 completed, 2 failed, 2 holding in the flex queue.
//! `fixtures/v13-demo.sqlite` is the demo's store as the release before named queues
//! (83cecf1, schema 13) wrote it, after `asyncapex demo` (VACUUMed).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use asyncapex_sqlite::SqliteStore;

fn migration_version(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT MAX(version) FROM asyncapex_migration", [], |r| {
        r.get(0)
    })
    .unwrap()
}

/// A copy of a fixture in a fresh directory, checked to be at `version`.
fn copied(fixture: &str, version: i64) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(fixture);
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(fixture),
        &path,
    )
    .unwrap();
    assert_eq!(
        migration_version(&path),
        version,
        "the fixture is the old schema"
    );
    (dir, path)
}

/// Opens the store (migrating it) and checks it reached the latest version.
async fn migrated(path: &std::path::Path) -> SqliteStore {
    let store = SqliteStore::open(path).await.unwrap();
    let latest = asyncapex_core::rules::MIGRATIONS
        .last()
        .map(|(v, _)| i64::from(*v))
        .unwrap();
    assert_eq!(migration_version(path), latest, "migrated to the latest");
    store
}

#[tokio::test]
async fn a_version_5_store_migrates_and_keeps_every_job_with_true_counts() {
    let (_dir, path) = copied("v5-demo.sqlite", 5);
    let store = migrated(&path).await;
    asyncapex_storetest::assert_v5_demo_survived(&store).await;
}

#[tokio::test]
async fn a_version_13_store_migrates_to_named_queues_and_keeps_every_job() {
    let (_dir, path) = copied("v13-demo.sqlite", 13);
    let before: Vec<(asyncapex_core::JobStatus, u64)> = {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut stmt = conn
            .prepare("SELECT status, COUNT(*) FROM asyncapex_job GROUP BY status")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .unwrap()
            .map(|r| {
                let (s, n) = r.unwrap();
                (s.parse().unwrap(), n as u64)
            })
            .collect()
    };
    let store = migrated(&path).await;
    asyncapex_storetest::assert_v13_store_survived(&store, &before).await;
}
