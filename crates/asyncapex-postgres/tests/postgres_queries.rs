//! Query locators over the application's tables, and enqueueing inside the application's
//! own transaction.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use asyncapex_core::{
    Error, IdGenerator, JobInsertManyParams, QueryPageParams, QuerySource, Store,
};
use asyncapex_postgres::{PostgresStore, job_insert_in};
use common::{job, t0};
use serde_json::{Value, json};

async fn pages(store: &PostgresStore, query: &str, key: &str, limit: u32) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let rows = store
            .query_page(QueryPageParams {
                query: query.into(),
                key_column: key.into(),
                after: after.clone(),
                through: None,
                keys_only: false,
                limit,
            })
            .await
            .unwrap();
        if rows.is_empty() {
            return out;
        }
        after = rows.last().map(|r| r[key].clone());
        out.push(rows.into_iter().map(Value::Object).collect());
    }
}

#[tokio::test]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "needs ASYNCAPEX_TEST_POSTGRES_URL (a PostgreSQL database)"
)]
async fn query_pages_follow_integer_keys_and_map_column_types() {
    let Some(url) = common::url() else { return };
    let schema = common::fresh_schema();
    let store = PostgresStore::connect_with(&url, common::options(&schema))
        .await
        .unwrap();
    common::admin(&url)
        .await
        .batch_execute(&format!(
            "CREATE TABLE \"{schema}\".account (id bigint PRIMARY KEY, name text, small int2, \
                 balance numeric(10,2), rate float8, active bool, seen timestamptz, tags jsonb, \
                 code uuid);
             INSERT INTO \"{schema}\".account
             SELECT i, 'acct ' || i, i::int2, i * 1.5, i / 4.0, i % 2 = 0,
                    '2024-01-02T03:04:05.123456Z'::timestamptz + i * interval '1 hour',
                    jsonb_build_object('i', i), NULL
             FROM generate_series(10, 1, -1) AS i;"
        ))
        .await
        .unwrap();
    let got = pages(&store, "SELECT * FROM account WHERE id > 0;", "id", 4).await;
    let sizes: Vec<usize> = got.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![4, 4, 2]);
    let ids: Vec<i64> = got
        .iter()
        .flatten()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        (1..=10).collect::<Vec<_>>(),
        "key order, every row once"
    );
    let first = &got[0][0];
    assert_eq!(
        first,
        &json!({
            "id": 1, "name": "acct 1", "small": 1, "balance": "1.50", "rate": 0.25,
            "active": false, "seen": "2024-01-02T04:04:05.123456Z", "tags": {"i": 1},
            "code": null
        })
    );
    common::drop_schema(&url, &schema).await;
}

#[tokio::test]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "needs ASYNCAPEX_TEST_POSTGRES_URL (a PostgreSQL database)"
)]
async fn query_pages_follow_text_keys() {
    let Some(url) = common::url() else { return };
    let schema = common::fresh_schema();
    let store = PostgresStore::connect_with(&url, common::options(&schema))
        .await
        .unwrap();
    common::admin(&url)
        .await
        .batch_execute(&format!(
            "CREATE TABLE \"{schema}\".sku (code text COLLATE \"C\" PRIMARY KEY, qty int4);
             INSERT INTO \"{schema}\".sku VALUES ('b', 2), ('a', 1), ('d', 4), ('c', 3), ('e', 5);"
        ))
        .await
        .unwrap();
    let got = pages(&store, "SELECT code, qty FROM sku", "code", 2).await;
    let codes: Vec<&str> = got
        .iter()
        .flatten()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["a", "b", "c", "d", "e"]);
    assert_eq!(got[0][0], json!({"code": "a", "qty": 1}));
    let err = store
        .query_page(QueryPageParams {
            query: "SELECT code FROM sku".into(),
            key_column: "qty".into(),
            after: None,
            through: None,
            keys_only: false,
            limit: 2,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    let err = store
        .query_page(QueryPageParams {
            query: "SELECT * FROM no_such_table".into(),
            key_column: "id".into(),
            after: None,
            through: None,
            keys_only: false,
            limit: 2,
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no_such_table"), "{err}");
    common::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "needs ASYNCAPEX_TEST_POSTGRES_URL (a PostgreSQL database)"
)]
async fn jobs_enqueued_in_the_application_transaction_exist_only_if_it_commits() {
    let Some(url) = common::url() else { return };
    let schema = common::fresh_schema();
    let store = PostgresStore::connect_with(&url, common::options(&schema))
        .await
        .unwrap();
    let mut rx = store.notifications().unwrap();
    rx.borrow_and_update();
    let ids = IdGenerator::new(1);
    let mut app = common::admin(&url).await;
    let path_before: String = app.query_one("SHOW search_path", &[]).await.unwrap().get(0);

    let rolled_back = job(&ids, t0());
    let tx = app.transaction().await.unwrap();
    job_insert_in(&tx, &schema, std::slice::from_ref(&rolled_back), u32::MAX)
        .await
        .unwrap();
    let path_inside: String = tx.query_one("SHOW search_path", &[]).await.unwrap().get(0);
    assert_eq!(
        path_inside, path_before,
        "the application's search_path is put back"
    );
    tx.rollback().await.unwrap();
    assert!(store.job_get(rolled_back.id).await.unwrap().is_none());

    let committed = job(&ids, t0());
    let mut dup = job(&ids, t0());
    dup.signature = Some("once".into());
    store
        .job_insert_many(JobInsertManyParams::new(vec![dup.clone()]))
        .await
        .unwrap();
    rx.borrow_and_update();
    let tx = app.transaction().await.unwrap();
    tx.batch_execute("CREATE TEMP TABLE app_work (n int)")
        .await
        .unwrap();
    let mut dup2 = job(&ids, t0());
    dup2.signature = Some("once".into());
    let err = job_insert_in(&tx, &schema, &[dup2], u32::MAX)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DuplicateSignature { .. }), "{err:?}");
    // The refusal left the application's transaction usable.
    tx.batch_execute("INSERT INTO app_work VALUES (1)")
        .await
        .unwrap();
    job_insert_in(&tx, &schema, std::slice::from_ref(&committed), u32::MAX)
        .await
        .unwrap();
    assert!(
        store.job_get(committed.id).await.unwrap().is_none(),
        "invisible before the commit"
    );
    tx.commit().await.unwrap();
    assert!(store.job_get(committed.id).await.unwrap().is_some());
    tokio::time::timeout(Duration::from_secs(20), rx.changed())
        .await
        .expect("the commit wakes listeners")
        .unwrap();
    common::drop_schema(&url, &schema).await;
}
