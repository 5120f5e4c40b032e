//! Upkeep where the server does none: with autovacuum off (as on the CI machine), the store
//! vacuums its own tables once their dead row versions pass autovacuum's threshold, one node
//! at a time, and loses nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use asyncapex_core::{IdGenerator, JobClaimParams, JobInsertManyParams, Store};

async fn dead_rows(admin: &tokio_postgres::Client, schema: &str, table: &str) -> i64 {
    admin
        .query_one(
            "SELECT n_dead_tup FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = $2",
            &[&schema, &table],
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
async fn maintain_vacuums_the_tables_autovacuum_would_have_one_node_at_a_time() {
    let Some((url, schema, store)) = common::fresh_store_in_schema().await else {
        return;
    };
    // Every claim leaves the queued version of its row dead: 4,000 dead rows beside 4,000
    // live ones, past autovacuum's threshold (20 % of the live rows).
    let ids = IdGenerator::new(1);
    let jobs: Vec<_> = (0..4_000)
        .map(|_| common::job(&ids, common::t0()))
        .collect();
    store
        .job_insert_many(JobInsertManyParams::new(jobs))
        .await
        .unwrap();
    let claimed = store
        .job_claim(JobClaimParams {
            owner: "w".into(),
            now: common::t0(),
            lease_until: common::t0() + jiff::SignedDuration::from_secs(60),
            queues: asyncapex_core::QueueClaim::default_queue(4_000),
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 4_000);
    let admin = common::admin(&url).await;
    let autovacuum: String = admin
        .query_one("SHOW autovacuum", &[])
        .await
        .unwrap()
        .get(0);
    if autovacuum == "on" {
        assert_eq!(store.maintain().await.unwrap(), 0, "the server does it");
        common::drop_schema(&url, &schema).await;
        return;
    }
    // Statistics reach the shared counters within seconds (an idle backend flushes its own
    // every ten).
    let deadline = Instant::now() + Duration::from_secs(30);
    while dead_rows(&admin, &schema, "asyncapex_job").await < 2_000 {
        assert!(
            Instant::now() < deadline,
            "the claims' dead rows were never counted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let lock = "SELECT pg_advisory_lock(1634301540, hashtext($1))";
    admin.execute(lock, &[&schema]).await.unwrap();
    assert_eq!(
        store.maintain().await.unwrap(),
        0,
        "another node holds the upkeep"
    );
    let unlock = "SELECT pg_advisory_unlock(1634301540, hashtext($1))";
    admin.execute(unlock, &[&schema]).await.unwrap();

    let tidied = store.maintain().await.unwrap();
    assert!(tidied >= 1, "the job table was vacuumed");
    let last: bool = admin
        .query_one(
            "SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables \
             WHERE schemaname = $1 AND relname = 'asyncapex_job'",
            &[&schema],
        )
        .await
        .unwrap()
        .get(0);
    assert!(last, "VACUUM ran on the job table");
    assert!(dead_rows(&admin, &schema, "asyncapex_job").await < 1_000);
    assert_eq!(store.maintain().await.unwrap(), 0, "nothing left to do");
    asyncapex_storetest::assert_counts_match_rows(&store).await;
    common::drop_schema(&url, &schema).await;
}
