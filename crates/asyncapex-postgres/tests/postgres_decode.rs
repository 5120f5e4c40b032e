//! A row that cannot be decoded must not take down a whole listing: the list returns the
//! other rows and logs the bad one's ID.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use asyncapex_core::{Error, IdGenerator, JobInsertManyParams, JobListParams, Store};
use asyncapex_postgres::PostgresStore;
use common::{job, t0};

/// One microsecond past what jiff reads back: the `run_at` that issue 13's request stored.
const UNREADABLE_MICROS: i64 = 253_402_207_200_999_999;

#[tokio::test]
async fn a_job_list_with_one_undecodable_row_returns_the_others() {
    let Some(url) = common::url() else { return };
    let schema = common::fresh_schema();
    let store = PostgresStore::connect_with(&url, common::options(&schema))
        .await
        .unwrap();
    let ids = IdGenerator::new(1);
    let jobs: Vec<_> = (0..3).map(|_| job(&ids, t0())).collect();
    store
        .job_insert_many(JobInsertManyParams::new(jobs.clone()))
        .await
        .unwrap();
    let bad = jobs[1].id;
    let changed = common::admin(&url)
        .await
        .execute(
            &format!("UPDATE \"{schema}\".asyncapex_job SET run_at = $1 WHERE id = $2"),
            &[&UNREADABLE_MICROS, &bad.as_15()],
        )
        .await
        .unwrap();
    assert_eq!(changed, 1);

    let mut got: Vec<_> = store
        .job_list(JobListParams::default())
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    got.sort();
    let mut want = vec![jobs[0].id, jobs[2].id];
    want.sort();
    assert_eq!(got, want);

    // Asked for by ID, the row is still an error that names the column.
    let err = store.job_get(bad).await.unwrap_err();
    assert!(matches!(err, Error::Store { .. }), "{err:?}");
    assert!(err.to_string().contains("run_at"), "{err}");
    drop(store);
    common::drop_schema(&url, &schema).await;
}
