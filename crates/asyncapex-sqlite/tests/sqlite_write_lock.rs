//! Calls made while another process holds the database's write lock: a short call may run on
//! the caller's thread only when it can take the lock at once, so it must neither fail nor
//! block the caller's runtime; it waits its turn on the connection thread instead.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use asyncapex_core::{IdGenerator, JobInsertManyParams, NewJob, Store};
use asyncapex_sqlite::{SqliteOptions, SqliteStore};

fn job(ids: &IdGenerator) -> NewJob {
    asyncapex_storetest::queued_job(ids, jiff::Timestamp::now())
}

// A current-thread runtime: if the insert blocked its thread waiting for the lock, the
// timeout below could not even fire, and the test would hang instead of passing.
#[tokio::test(flavor = "current_thread")]
async fn an_insert_waits_for_another_writer_without_blocking_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    // A long busy timeout: a caller blocked on the lock would stall the runtime for a minute.
    let options = SqliteOptions {
        busy_timeout: Duration::from_secs(60),
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open_with(&path, options).await.unwrap();
    let ids = IdGenerator::new(1);
    // Warm: the first insert runs while nobody else writes.
    let first = job(&ids);
    store
        .job_insert_many(JobInsertManyParams::new(vec![first.clone()]))
        .await
        .unwrap();

    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();

    let second = job(&ids);
    let insert = {
        let store = store.clone();
        let second = second.clone();
        tokio::spawn(async move {
            store
                .job_insert_many(JobInsertManyParams::new(vec![second]))
                .await
        })
    };
    // While the other writer holds the lock the insert cannot commit; the runtime stays free
    // (this timer fires) and the insert is still waiting, not failed.
    let started = std::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the runtime's thread was blocked for {:?} by a call waiting for the lock",
        started.elapsed()
    );
    assert!(
        !insert.is_finished(),
        "the insert cannot commit under another writer's lock"
    );

    other.execute_batch("COMMIT").unwrap();
    tokio::time::timeout(Duration::from_secs(30), insert)
        .await
        .expect("the insert commits once the lock is free")
        .unwrap()
        .unwrap();
    assert!(store.job_get(first.id).await.unwrap().is_some());
    assert!(store.job_get(second.id).await.unwrap().is_some());
}

// The counts an operator or a benchmark polls are read without the write lock: before, every
// store call began with `BEGIN IMMEDIATE`, so a process polling beside a busy worker waited
// behind its writes and, past the busy timeout, failed with "database is locked".
#[tokio::test]
async fn counts_are_read_while_another_process_holds_the_write_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    let options = SqliteOptions {
        busy_timeout: Duration::from_millis(200),
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open_with(&path, options).await.unwrap();
    let ids = IdGenerator::new(1);
    store
        .job_insert_many(JobInsertManyParams::new(vec![job(&ids), job(&ids)]))
        .await
        .unwrap();

    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    // A count that needed the lock would wait the busy timeout, then fail.
    let counts = store.job_count_by_status().await.unwrap();
    let queued = counts
        .iter()
        .find(|(s, _)| *s == asyncapex_core::JobStatus::Queued)
        .map(|(_, n)| *n);
    assert_eq!(queued, Some(2));
    assert!(
        store
            .job_count_finished()
            .await
            .unwrap()
            .iter()
            .all(|(_, n)| *n == 0)
    );
    other.execute_batch("COMMIT").unwrap();
}
