//! Plans that must not depend on fresh statistics: a table analyzed while nothing was queued
//! (a store of finished history) then given a burst of queued jobs must still claim through
//! the primary key, not loop over every queued job for each one claimed.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use asyncapex_core::fill::FinishedJobsFill;
use asyncapex_core::{IdGenerator, JobClaimParams, JobInsertManyParams, Store};
use asyncapex_postgres::PostgresStore;

#[tokio::test]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "the store's database is not configured"
)]
async fn a_claim_after_statistics_of_an_idle_queue_joins_through_the_primary_key() {
    let Some(url) = common::url() else {
        return;
    };
    common::sweep_stale_schemas(&url).await;
    let schema = common::fresh_schema();
    let store = PostgresStore::connect_with(&url, common::options(&schema))
        .await
        .unwrap();
    // History only, then ANALYZE (the fill runs it): the statistics say nothing is queued.
    let fill = FinishedJobsFill::over_days(5_000, 30, common::t0());
    store.fill_finished(&fill, |_| {}).await.unwrap();
    let ids = IdGenerator::new(1);
    let burst: Vec<_> = (0..3_000)
        .map(|_| common::job(&ids, common::t0()))
        .collect();
    store
        .job_insert_many(JobInsertManyParams::new(burst))
        .await
        .unwrap();

    let admin = common::admin(&url).await;
    admin
        .batch_execute(&format!("SET search_path TO \"{schema}\""))
        .await
        .unwrap();
    let now = common::t0().as_microsecond();
    let plan: serde_json::Value = admin
        .query_one(
            &format!(
                "EXPLAIN (FORMAT JSON) {}",
                include_str!("../src/queries/job_claim.sql")
            ),
            &[
                &"w",
                &now,
                &(now + 30_000_000),
                &vec!["default"],
                &vec![1024_i64],
                &(now + 540_000_000),
            ],
        )
        .await
        .unwrap()
        .get(0);
    let text = plan.to_string();
    assert!(
        text.contains("asyncapex_job_pkey"),
        "the claimed rows are found by primary key: {text}"
    );
    assert!(
        !text.contains("Join Filter"),
        "no join that filters every queued job per claimed one: {text}"
    );

    let claimed = store
        .job_claim(JobClaimParams {
            owner: "w".into(),
            now: common::t0(),
            lease_until: common::t0() + jiff::SignedDuration::from_secs(30),
            queues: asyncapex_core::QueueClaim::default_queue(1024),
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1024);
    drop(store);
    common::drop_schema(&url, &schema).await;
}

/// The last hour's part-minute is read from the completion index with the per-job figures
/// inlined (a function called per row cost 19 µs each), beside the kept minutes.
#[tokio::test]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "the store's database is not configured"
)]
async fn the_last_hours_figures_inline_the_per_job_function() {
    let Some((url, schema, store)) = common::fresh_store_in_schema().await else {
        return;
    };
    let fill = FinishedJobsFill::over_days(2_000, 1, common::t0());
    store.fill_finished(&fill, |_| {}).await.unwrap();
    let admin = common::admin(&url).await;
    admin
        .batch_execute(&format!("SET search_path TO \"{schema}\""))
        .await
        .unwrap();
    let since = common::t0().as_microsecond() - 3_600_000_000;
    let first = since / 60_000_000 + 1;
    let plan: serde_json::Value = admin
        .query_one(
            &format!(
                "EXPLAIN (FORMAT JSON) {}",
                include_str!("../src/queries/job_stats_minutes.sql")
            ),
            &[&since, &(first * 60_000_000), &first],
        )
        .await
        .unwrap()
        .get(0);
    let text = plan.to_string();
    assert!(
        !text.contains("Function Scan"),
        "the figures are inlined: {text}"
    );
    assert!(text.contains("asyncapex_job_completed"), "{text}");
    drop(store);
    common::drop_schema(&url, &schema).await;
}

/// A prepared statement is planned once per connection, not at each run: PostgreSQL's default
/// re-plans statements with array parameters every time (their custom plans always look
/// cheaper), which cost 1–4.5 ms per enqueue and per next-run lookup, more than running them.
#[tokio::test]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "the store's database is not configured"
)]
async fn store_sessions_keep_one_generic_plan_per_statement() {
    let Some(url) = common::url() else {
        return;
    };
    common::sweep_stale_schemas(&url).await;
    let schema = common::fresh_schema();
    let store = PostgresStore::connect_with(&url, common::options(&schema))
        .await
        .unwrap();
    assert_eq!(plan_cache_mode(&store).await, "force_generic_plan");
    // The URL's own options still come after the store's and win.
    let tuned = format!(
        "{url}{}options=-c%20plan_cache_mode%3Dauto",
        if url.contains('?') { '&' } else { '?' }
    );
    let other = PostgresStore::connect_with(&tuned, common::options(&schema))
        .await
        .unwrap();
    assert_eq!(plan_cache_mode(&other).await, "auto");
    common::drop_schema(&url, &schema).await;
}

/// The `plan_cache_mode` of one of `store`'s pooled sessions.
async fn plan_cache_mode(store: &PostgresStore) -> String {
    let client = store.pool().get().await.unwrap();
    let row = client
        .query_one("SELECT current_setting('plan_cache_mode')", &[])
        .await
        .unwrap();
    row.get(0)
}
