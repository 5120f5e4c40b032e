//! Notifications across processes, and surviving lost connections.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use asyncapex_core::{Error, IdGenerator, JobInsertManyParams, Store, StoreErrorKind};
use asyncapex_postgres::PostgresStore;
use common::{job, t0};

/// Generous: a bound on a signal, not an assertion about speed.
const WAIT: Duration = Duration::from_secs(20);

async fn changed(rx: &mut tokio::sync::watch::Receiver<u64>, what: &str) {
    tokio::time::timeout(WAIT, rx.changed())
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .expect("the listener is alive");
}

/// Terminates this application's backends (those whose query matches `like`), waiting for
/// each to exit; returns how many.
async fn terminate(url: &str, application_name: &str, like: &str) -> i64 {
    let admin = common::admin(url).await;
    let row = admin
        .query_one(
            "SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) FROM pg_stat_activity \
             WHERE application_name = $1 AND query LIKE $2 AND pid <> pg_backend_pid()",
            &[&application_name, &like],
        )
        .await
        .unwrap();
    row.get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "needs ASYNCAPEX_TEST_POSTGRES_URL (a PostgreSQL database)"
)]
async fn an_insert_in_one_process_wakes_another() {
    let Some(url) = common::url() else { return };
    let schema = common::fresh_schema();
    let producer = PostgresStore::connect_with(&url, common::options(&schema))
        .await
        .unwrap();
    let consumer = PostgresStore::connect_with(&url, common::options(&schema))
        .await
        .unwrap();
    let mut rx = consumer.notifications().expect("the store notifies");
    rx.borrow_and_update();
    producer
        .job_insert_many(JobInsertManyParams::new(vec![job(
            &IdGenerator::new(1),
            t0(),
        )]))
        .await
        .unwrap();
    changed(&mut rx, "the insert's notification").await;
    common::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "needs ASYNCAPEX_TEST_POSTGRES_URL (a PostgreSQL database)"
)]
async fn the_listener_reconnects_after_its_backend_is_terminated() {
    let Some(url) = common::url() else { return };
    let schema = common::fresh_schema();
    let app = format!("{schema}_listener");
    let producer = PostgresStore::connect_with(&url, common::options(&schema))
        .await
        .unwrap();
    let consumer =
        PostgresStore::connect_with(&common::url_named(&url, &app), common::options(&schema))
            .await
            .unwrap();
    let mut rx = consumer.notifications().expect("the store notifies");
    rx.borrow_and_update();
    assert_eq!(
        terminate(&url, &app, "%LISTEN%").await,
        1,
        "one LISTEN backend"
    );
    changed(&mut rx, "the bump after reconnecting").await;
    rx.borrow_and_update();
    producer
        .job_insert_many(JobInsertManyParams::new(vec![job(
            &IdGenerator::new(1),
            t0(),
        )]))
        .await
        .unwrap();
    changed(&mut rx, "a notification after reconnecting").await;
    common::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "needs ASYNCAPEX_TEST_POSTGRES_URL (a PostgreSQL database)"
)]
async fn the_pool_replaces_connections_the_server_terminated() {
    let Some(url) = common::url() else { return };
    let schema = common::fresh_schema();
    let app = format!("{schema}_pool");
    let store = PostgresStore::connect_with(
        &common::url_named(&url, &app),
        asyncapex_postgres::PostgresOptions {
            listen: false,
            ..common::options(&schema)
        },
    )
    .await
    .unwrap();
    let ids = IdGenerator::new(1);
    // Open several pooled connections.
    let calls = (0..4).map(|_| store.job_count_pending(t0()));
    for r in futures_util::future::join_all(calls).await {
        r.unwrap();
    }
    assert!(terminate(&url, &app, "%").await >= 1);
    store
        .job_insert_many(JobInsertManyParams::new(vec![job(&ids, t0())]))
        .await
        .expect("the next call runs on a fresh connection");
    assert_eq!(store.job_count_pending(t0()).await.unwrap(), 1);
    common::drop_schema(&url, &schema).await;
}

#[tokio::test]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "needs ASYNCAPEX_TEST_POSTGRES_URL (a PostgreSQL database)"
)]
async fn an_unreachable_server_is_reported_as_unavailable() {
    let err = PostgresStore::connect_with(
        "postgres://postgres@127.0.0.1:1/none",
        asyncapex_postgres::PostgresOptions {
            connect_timeout: Duration::from_secs(2),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Store {
                kind: StoreErrorKind::Unavailable,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "needs ASYNCAPEX_TEST_POSTGRES_URL (a PostgreSQL database)"
)]
async fn a_bad_schema_name_is_refused() {
    let err = PostgresStore::connect_with(
        "postgres://postgres@127.0.0.1:1/none",
        asyncapex_postgres::PostgresOptions {
            schema: "public; DROP TABLE x".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
}

#[tokio::test]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "needs ASYNCAPEX_TEST_POSTGRES_URL (a PostgreSQL database)"
)]
async fn a_schema_from_a_newer_version_is_refused() {
    let Some(url) = common::url() else { return };
    let schema = common::fresh_schema();
    drop(
        PostgresStore::connect_with(&url, common::options(&schema))
            .await
            .unwrap(),
    );
    common::admin(&url)
        .await
        .batch_execute(&format!(
            "INSERT INTO \"{schema}\".asyncapex_migration (version, name, applied_at) VALUES (999, 'future', 0)"
        ))
        .await
        .unwrap();
    let err = PostgresStore::connect_with(&url, common::options(&schema))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Store {
                kind: StoreErrorKind::TooNew,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("999"), "{err}");
    common::drop_schema(&url, &schema).await;
}
