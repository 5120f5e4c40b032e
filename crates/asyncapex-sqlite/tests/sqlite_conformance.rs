//! The shared conformance suite, on a fresh SQLite file per test.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use asyncapex_sqlite::SqliteStore;

async fn fresh_file_store() -> SqliteStore {
    let dir = tempfile::tempdir().unwrap();
    // The directory must outlive the store; leaking it keeps the file for the test's life.
    let path = dir.keep().join("conformance.db");
    SqliteStore::open(&path).await.unwrap()
}

asyncapex_storetest::store_tests!(fresh_file_store());

mod in_memory {
    use super::*;
    asyncapex_storetest::store_tests!(async { SqliteStore::in_memory().await.unwrap() });
}
