//! A row that cannot be decoded (written by hand, by a bug, or by another version) must not
//! take down a whole listing: the list returns the other rows and logs the bad one's ID.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use asyncapex_core::{Error, IdGenerator, JobInsertManyParams, JobListParams, Store};
use asyncapex_sqlite::SqliteStore;

/// One microsecond past what jiff reads back: the `run_at` that issue 13's request stored.
const UNREADABLE_MICROS: i64 = 253_402_207_200_999_999;

#[tokio::test]
async fn a_job_list_with_one_undecodable_row_returns_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad-row.db");
    let ids = IdGenerator::new(1);
    let now = jiff::Timestamp::now();
    let jobs: Vec<_> = (0..3)
        .map(|_| asyncapex_storetest::queued_job(&ids, now))
        .collect();
    let store = SqliteStore::open(&path).await.unwrap();
    store
        .job_insert_many(JobInsertManyParams::new(jobs.clone()))
        .await
        .unwrap();
    let bad = jobs[1].id;
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let changed = conn
            .execute(
                "UPDATE asyncapex_job SET run_at = ?1 WHERE id = ?2",
                rusqlite::params![UNREADABLE_MICROS, bad.as_15()],
            )
            .unwrap();
        assert_eq!(changed, 1);
    }

    let listed = store.job_list(JobListParams::default()).await.unwrap();
    let mut got: Vec<_> = listed.iter().map(|j| j.id).collect();
    got.sort();
    let mut want = vec![jobs[0].id, jobs[2].id];
    want.sort();
    assert_eq!(got, want);

    // Asked for by ID, the row is still an error that names the column.
    let err = store.job_get(bad).await.unwrap_err();
    assert!(matches!(err, Error::Store { .. }), "{err:?}");
    assert!(err.to_string().contains("run_at"), "{err}");
}

#[tokio::test]
async fn a_flex_queue_with_one_undecodable_row_returns_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad-holding.db");
    let ids = IdGenerator::new(1);
    let now = jiff::Timestamp::now();
    let jobs: Vec<_> = (0..3)
        .map(|_| {
            asyncapex_core::NewJob::batch(
                ids.job_id(now),
                "Reindex",
                "{}".into(),
                asyncapex_core::batch::BatchScope::DEFAULT,
                now,
            )
        })
        .collect();
    let store = SqliteStore::open(&path).await.unwrap();
    store
        .job_insert_many(JobInsertManyParams::new(jobs.clone()))
        .await
        .unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE asyncapex_job SET created_at = ?1 WHERE id = ?2",
            rusqlite::params![UNREADABLE_MICROS, jobs[0].id.as_15()],
        )
        .unwrap();
    }
    let holding: Vec<_> = store
        .flex_queue_list()
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(holding, vec![jobs[1].id, jobs[2].id]);
}

#[tokio::test]
async fn a_schedule_list_with_one_undecodable_row_returns_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad-trigger.db");
    let ids = IdGenerator::new(1);
    let now = jiff::Timestamp::now();
    let store = SqliteStore::open(&path).await.unwrap();
    let mut triggers = Vec::new();
    for name in ["first", "second", "third"] {
        let trigger = asyncapex_core::NewCronTrigger {
            id: ids.cron_trigger_id(now),
            name: name.into(),
            job_type: asyncapex_core::JobType::ScheduledApex,
            class_name: "Nightly".into(),
            payload: "{}".into(),
            cron_expression: "0 0 2 * * ?".into(),
            time_zone: "UTC".into(),
            dst_policy: "quartz".into(),
            next_fire_time: now,
            start_time: now,
            batch_scope: None,
        };
        store
            .cron_trigger_insert(asyncapex_core::CronTriggerInsertParams {
                trigger: trigger.clone(),
                max_active: 100,
            })
            .await
            .unwrap();
        triggers.push(trigger.id);
    }
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let changed = conn
            .execute(
                "UPDATE asyncapex_cron_trigger SET next_fire_time = ?1 WHERE id = ?2",
                rusqlite::params![UNREADABLE_MICROS, triggers[2].as_15()],
            )
            .unwrap();
        assert_eq!(changed, 1);
    }
    let mut listed: Vec<_> = store
        .cron_trigger_list(asyncapex_core::CronTriggerListParams::default())
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    listed.sort();
    assert_eq!(listed, triggers[..2].to_vec());
}
