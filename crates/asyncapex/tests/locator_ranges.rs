//! A query locator's chunks are key ranges read when each chunk runs, not copies of its rows,
//! on both stores — on PostgreSQL over an application table in the store's own database
//! (`ASYNCAPEX_TEST_POSTGRES_URL`; required when `ASYNCAPEX_REQUIRE_POSTGRES=1`, as in CI).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use asyncapex::{
    BatchContext, Batchable, ChunkStatus, Engine, JobError, JobStatus, QueryLocator, WorkSet,
};
use serde::{Deserialize, Serialize};
use support::{WAIT, log, logged, signal, tag, wait_signal};

#[derive(Serialize, Deserialize)]
struct Order {
    id: i64,
    total: i64,
}

/// Sums the totals of `table`'s orders; the first chunk waits for the test's go-ahead.
#[derive(Serialize, Deserialize)]
struct SumOrders {
    tag: String,
    table: String,
    sum: i64,
    count: u64,
}

impl Batchable for SumOrders {
    type Item = Order;
    const STATEFUL: bool = true;

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<Order>, JobError> {
        let q = QueryLocator::new(format!(
            "SELECT id, total FROM {} WHERE total > 0",
            self.table
        ))
        .page_size(700);
        Ok(WorkSet::QueryLocator(q))
    }
    async fn execute(
        &mut self,
        _ctx: &mut BatchContext,
        scope: Vec<Order>,
    ) -> Result<(), JobError> {
        if self.count == 0 {
            signal(&format!("{}-first", self.tag));
            wait_signal(&format!("{}-go", self.tag)).await;
        }
        self.count += scope.len() as u64;
        self.sum += scope.iter().map(|o| o.total).sum::<i64>();
        Ok(())
    }
    async fn finish(&mut self, _ctx: &mut BatchContext) -> Result<(), JobError> {
        log(&self.tag, format!("count={} sum={}", self.count, self.sum));
        Ok(())
    }
}

/// Runs the batch over `rows` orders (totals 1..=rows, every tenth 0 and so skipped) and
/// checks what its chunks store while the first one runs.
async fn sums_by_key_range(engine: &Engine, table: &str, rows: i64, store_name: &str) {
    let t = tag(&format!("{store_name}-ranges"));
    let id = engine
        .execute_batch(
            SumOrders {
                tag: t.clone(),
                table: table.into(),
                sum: 0,
                count: 0,
            },
            1_000,
        )
        .await
        .unwrap();
    wait_signal(&format!("{t}-first")).await;
    let chunks = engine.batch_chunks(id, None, 100).await.unwrap();
    let expected: Vec<i64> = (1..=rows).filter(|i| i % 10 != 0).collect();
    assert_eq!(chunks.len(), expected.len().div_ceil(1_000), "{store_name}");
    for c in &chunks {
        assert!(
            c.items.contains("\"key_range\"") && c.items.len() < 400,
            "{store_name}: a chunk stores its key range, not its rows: {}",
            c.items
        );
    }
    assert_eq!(
        chunks.iter().map(|c| u64::from(c.item_count)).sum::<u64>(),
        expected.len() as u64
    );
    signal(&format!("{t}-go"));
    let job = engine.wait_for(id, WAIT).await.unwrap();
    assert_eq!(
        job.status,
        JobStatus::Completed,
        "{:?}",
        job.extended_status
    );
    assert_eq!(job.number_of_errors, 0);
    assert_eq!(
        logged(&t),
        vec![format!(
            "count={} sum={}",
            expected.len(),
            expected.iter().sum::<i64>()
        )]
    );
    let left = engine
        .batch_chunks(id, Some(ChunkStatus::Pending), 10)
        .await
        .unwrap();
    assert!(left.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locators_chunks_are_key_ranges_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3500)
         INSERT INTO orders SELECT i, CASE WHEN i % 10 = 0 THEN 0 ELSE i END FROM n;",
    )
    .unwrap();
    let engine = Engine::builder()
        .sqlite(&db)
        .register_batch::<SumOrders>()
        .start()
        .await
        .unwrap();
    sums_by_key_range(&engine, "orders", 3_500, "sqlite").await;
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// Any row, as JSON: the item type of a batch over a table whose key may be NULL.
#[derive(Serialize, Deserialize)]
struct AnyRows;

impl Batchable for AnyRows {
    type Item = serde_json::Value;

    async fn start(
        &mut self,
        _ctx: &mut BatchContext,
    ) -> Result<WorkSet<serde_json::Value>, JobError> {
        Ok(WorkSet::QueryLocator(QueryLocator::new(
            "SELECT code AS id, total FROM loose",
        )))
    }
    async fn execute(
        &mut self,
        _ctx: &mut BatchContext,
        _scope: Vec<serde_json::Value>,
    ) -> Result<(), JobError> {
        Ok(())
    }
    async fn finish(&mut self, _ctx: &mut BatchContext) -> Result<(), JobError> {
        Ok(())
    }
}

/// A NULL key would sort outside every key range (its row counted and never read): `start`
/// fails and says so.
#[tokio::test]
async fn a_null_key_fails_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE loose (code TEXT, total INTEGER);
         INSERT INTO loose VALUES ('a', 1), (NULL, 2), ('b', 3);",
    )
    .unwrap();
    let engine = Engine::builder()
        .sqlite(&db)
        .register_batch::<AnyRows>()
        .start()
        .await
        .unwrap();
    let id = engine.execute_batch(AnyRows, 10).await.unwrap();
    let job = engine.wait_for(id, WAIT).await.unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    let why = job.extended_status.unwrap_or_default();
    assert!(why.contains("is NULL in a row"), "{why}");
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locator_over_a_postgres_application_table_reads_key_ranges() {
    let Some(url) = support::postgres_url() else {
        return;
    };
    let schema = format!("asyncapex_ranges_{}", std::process::id());
    let table = format!("public.orders_{}", std::process::id());
    let (client, connection) =
        asyncapex::tokio_postgres::connect(&url, asyncapex::tokio_postgres::NoTls)
            .await
            .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {table};
             CREATE TABLE {table} (id BIGINT PRIMARY KEY, total BIGINT NOT NULL);
             INSERT INTO {table} SELECT i, CASE WHEN i % 10 = 0 THEN 0 ELSE i END
             FROM generate_series(1, 3500) AS i;"
        ))
        .await
        .unwrap();
    let engine = Engine::builder()
        .postgres_with(
            &url,
            asyncapex::PostgresOptions {
                schema: schema.clone(),
                ..Default::default()
            },
        )
        .register_batch::<SumOrders>()
        .start()
        .await
        .unwrap();
    sums_by_key_range(&engine, &table, 3_500, "postgres").await;
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
    client
        .batch_execute(&format!("DROP TABLE {table}"))
        .await
        .unwrap();
    asyncapex::PostgresStore::drop_schema(&url, &schema)
        .await
        .unwrap();
}
