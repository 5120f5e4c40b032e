//! Batch jobs and the flex queue: chunking, isolation, state, parallelism, caps, moves,
//! query locators, error events, chaining, schedule_batch and abort.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use asyncapex::{
    BatchContext, BatchPhase, Batchable, ChunkStatus, Engine, Error, FlexMove, JobError, JobId,
    JobListParams, JobStatus, JobType, Limits, ManualClock, QueryLocator, Queueable,
    QueueableContext, TriggerState, WorkSet,
};
use serde::{Deserialize, Serialize};
use support::{WAIT, log, logged, signal, tag, wait_signal};

/// Numbers 0..n; fails any chunk holding `fail_on`; logs chunk sizes (and, stateful or not,
/// the running total each chunk started from).
#[derive(Default, Serialize, Deserialize)]
struct Numbers {
    tag: String,
    n: u64,
    fail_on: Option<u64>,
    seen: u64,
    sum: u64,
    enqueue_per_chunk: bool,
}

impl Numbers {
    fn new(tag: &str, n: u64) -> Numbers {
        Numbers {
            tag: tag.into(),
            n,
            ..Default::default()
        }
    }
}

async fn numbers_execute(
    b: &mut Numbers,
    ctx: &mut BatchContext,
    scope: Vec<u64>,
) -> Result<(), JobError> {
    log(&b.tag, format!("chunk {} from {}", scope.len(), b.seen));
    b.seen += scope.len() as u64;
    b.sum += scope.iter().sum::<u64>();
    if b.enqueue_per_chunk {
        ctx.enqueue_job(Marker {
            first: scope.first().copied().unwrap_or(0),
        })?;
    }
    if let Some(bad) = b.fail_on
        && scope.contains(&bad)
    {
        return Err(JobError::new(format!("item {bad} is bad")));
    }
    Ok(())
}

async fn numbers_finish(b: &mut Numbers) -> Result<(), JobError> {
    log(&b.tag, format!("finish seen={} sum={}", b.seen, b.sum));
    Ok(())
}

impl Batchable for Numbers {
    type Item = u64;

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<u64>, JobError> {
        Ok(WorkSet::iter(0..self.n))
    }
    async fn execute(&mut self, ctx: &mut BatchContext, scope: Vec<u64>) -> Result<(), JobError> {
        numbers_execute(self, ctx, scope).await
    }
    async fn finish(&mut self, _ctx: &mut BatchContext) -> Result<(), JobError> {
        numbers_finish(self).await
    }
}

/// The same, stateful.
#[derive(Default, Serialize, Deserialize)]
struct StatefulNumbers(Numbers);

impl Batchable for StatefulNumbers {
    type Item = u64;
    const STATEFUL: bool = true;

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<u64>, JobError> {
        Ok(WorkSet::iter(0..self.0.n))
    }
    async fn execute(&mut self, ctx: &mut BatchContext, scope: Vec<u64>) -> Result<(), JobError> {
        numbers_execute(&mut self.0, ctx, scope).await
    }
    async fn finish(&mut self, _ctx: &mut BatchContext) -> Result<(), JobError> {
        numbers_finish(&mut self.0).await
    }
}

#[derive(Serialize, Deserialize)]
struct Marker {
    first: u64,
}

impl Queueable for Marker {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        Ok(())
    }
}

static BARRIERS: LazyLock<Mutex<HashMap<String, Arc<tokio::sync::Barrier>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Every chunk waits at a two-party barrier: it finishes only if chunks run in parallel.
#[derive(Serialize, Deserialize)]
struct Pairs {
    tag: String,
}

impl Batchable for Pairs {
    type Item = u32;
    const PARALLEL_CHUNKS: usize = 4;

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<u32>, JobError> {
        Ok(WorkSet::iter(0..80))
    }
    async fn execute(&mut self, _ctx: &mut BatchContext, _scope: Vec<u32>) -> Result<(), JobError> {
        let barrier = BARRIERS
            .lock()
            .unwrap()
            .entry(self.tag.clone())
            .or_insert_with(|| Arc::new(tokio::sync::Barrier::new(2)))
            .clone();
        barrier.wait().await;
        log(&self.tag, "chunk");
        Ok(())
    }
    async fn finish(&mut self, _ctx: &mut BatchContext) -> Result<(), JobError> {
        Ok(())
    }
}

/// Blocks in start until released; for flex-queue and abort tests.
#[derive(Serialize, Deserialize)]
struct Gate {
    tag: String,
    chunks: u32,
    chain: bool,
}

impl Batchable for Gate {
    type Item = u32;

    fn execution_time_limit() -> Option<Duration> {
        Some(Duration::from_secs(24 * 3600))
    }

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<u32>, JobError> {
        log(&self.tag, "start");
        Ok(WorkSet::iter(0..self.chunks))
    }
    async fn execute(&mut self, ctx: &mut BatchContext, scope: Vec<u32>) -> Result<(), JobError> {
        assert!(ctx.chunk_id().unwrap().to_string().starts_with("707"));
        signal(&format!("{}-chunk", self.tag));
        wait_signal(&format!("{}-go", self.tag)).await;
        log(&self.tag, format!("chunk {scope:?}"));
        Ok(())
    }
    async fn finish(&mut self, ctx: &mut BatchContext) -> Result<(), JobError> {
        log(&self.tag, "finish");
        if self.chain {
            let next = ctx.execute_batch(Numbers::new(&self.tag, 3), 10)?;
            log(&self.tag, format!("chained {next}"));
        }
        Ok(())
    }
}

/// Raises error events; fails in start when told, else in the chunk holding 7.
#[derive(Serialize, Deserialize)]
struct Loud {
    fail_start: bool,
}

impl Batchable for Loud {
    type Item = u64;
    const RAISES_ERROR_EVENTS: bool = true;

    fn item_key(item: &u64) -> String {
        format!("item-{item}")
    }

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<u64>, JobError> {
        if self.fail_start {
            return Err(JobError::new("no work set today"));
        }
        Ok(WorkSet::iter(0..10))
    }
    async fn execute(&mut self, ctx: &mut BatchContext, scope: Vec<u64>) -> Result<(), JobError> {
        if scope.contains(&7) {
            return Err(JobError::new("seven is unlucky"));
        }
        // Futures and batches are refused from execute, as in Apex.
        let err = ctx
            .execute_batch(Loud { fail_start: false }, 5)
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Database.executeBatch cannot be called")
        );
        Ok(())
    }
    async fn finish(&mut self, _ctx: &mut BatchContext) -> Result<(), JobError> {
        Ok(())
    }
}

/// A row of the application's `account` table.
#[derive(Debug, Serialize, Deserialize)]
struct Account {
    id: i64,
    name: String,
    region: String,
}

/// Totals accounts from a query locator (in the store's database unless `database` is set).
#[derive(Serialize, Deserialize)]
struct AccountTotals {
    tag: String,
    database: Option<String>,
    count: u64,
    id_sum: i64,
}

impl AccountTotals {
    fn new(tag: &str, database: Option<String>) -> AccountTotals {
        AccountTotals {
            tag: tag.into(),
            database,
            count: 0,
            id_sum: 0,
        }
    }
}

impl Batchable for AccountTotals {
    type Item = Account;
    const STATEFUL: bool = true;

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<Account>, JobError> {
        let mut q =
            QueryLocator::new("SELECT id, name, region FROM account WHERE region <> 'closed'")
                .key_column("id")
                .page_size(300);
        if let Some(db) = &self.database {
            q = q.database(db);
        }
        Ok(WorkSet::QueryLocator(q))
    }
    async fn execute(
        &mut self,
        _ctx: &mut BatchContext,
        scope: Vec<Account>,
    ) -> Result<(), JobError> {
        log(&self.tag, format!("chunk {}", scope.len()));
        self.count += scope.len() as u64;
        self.id_sum += scope.iter().map(|a| a.id).sum::<i64>();
        assert!(
            scope
                .iter()
                .all(|a| a.name.starts_with("acct-") && a.region != "closed")
        );
        Ok(())
    }
    async fn finish(&mut self, _ctx: &mut BatchContext) -> Result<(), JobError> {
        log(
            &self.tag,
            format!("count={} id_sum={}", self.count, self.id_sum),
        );
        Ok(())
    }
}

fn builder() -> asyncapex::EngineBuilder {
    Engine::builder()
        .in_memory()
        .register_batch::<Numbers>()
        .register_batch::<StatefulNumbers>()
        .register_batch::<Pairs>()
        .register_batch::<Gate>()
        .register_batch::<Loud>()
        .register_batch::<AccountTotals>()
        .register::<Marker>()
}

async fn done(engine: &Engine, id: JobId) -> asyncapex::JobRecord {
    engine.wait_for(id, WAIT).await.unwrap()
}

#[tokio::test]
async fn chunks_follow_the_scope_exactly_and_progress_is_counted() {
    let engine = builder().start().await.unwrap();
    for (n, expected_chunks, last) in [(1001u64, 6u64, 1usize), (1000, 5, 200), (0, 0, 0)] {
        let t = tag("chunking");
        let id = engine
            .execute_batch(Numbers::new(&t, n), 200)
            .await
            .unwrap();
        let job = done(&engine, id).await;
        assert_eq!(
            job.status,
            JobStatus::Completed,
            "{n}: {:?}",
            job.extended_status
        );
        assert_eq!(job.job_type, JobType::BatchApex);
        assert_eq!(
            (job.total_items, job.items_processed),
            (expected_chunks, expected_chunks)
        );
        assert_eq!(job.number_of_errors, 0);
        let log = logged(&t);
        let chunks: Vec<&String> = log.iter().filter(|l| l.starts_with("chunk")).collect();
        assert_eq!(chunks.len() as u64, expected_chunks, "{n}");
        if n > 0 {
            assert!(
                chunks[..chunks.len() - 1]
                    .iter()
                    .all(|c| c.starts_with("chunk 200 "))
            );
            assert!(
                chunks
                    .last()
                    .unwrap()
                    .starts_with(&format!("chunk {last} "))
            );
        }
        assert!(
            log.last().unwrap().starts_with("finish"),
            "finish runs even for an empty work set: {log:?}"
        );
    }
}

#[tokio::test]
async fn a_failed_chunk_rolls_back_only_itself_and_the_rest_and_finish_still_run() {
    let engine = builder().start().await.unwrap();
    let t = tag("isolation");
    let mut b = Numbers::new(&t, 100);
    b.fail_on = Some(33);
    b.enqueue_per_chunk = true;
    let id = engine.execute_batch(b, 10).await.unwrap();
    let job = done(&engine, id).await;
    assert_eq!(
        job.status,
        JobStatus::Completed,
        "chunk failures do not fail the job"
    );
    assert_eq!(
        (job.items_processed, job.total_items, job.number_of_errors),
        (10, 10, 1)
    );
    assert_eq!(job.extended_status.as_deref(), Some("item 33 is bad"));
    engine.wait_idle(WAIT).await.unwrap();
    let markers = engine
        .jobs(JobListParams {
            class_name: Some("Marker".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(markers.len(), 9, "the failed chunk's enqueue was discarded");
    assert!(markers.iter().all(|m| m.parent_job_id == Some(id)));
    let failed = engine
        .batch_chunks(id, Some(ChunkStatus::Failed), 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].seq, 3);
    assert_eq!(failed[0].items, "[30,31,32,33,34,35,36,37,38,39]");
    assert!(logged(&t).last().unwrap().starts_with("finish"));
}

#[tokio::test]
async fn stateful_batches_carry_state_and_others_restart_from_the_submitted_state() {
    let engine = builder().start().await.unwrap();
    let plain = tag("plain");
    let stateful = tag("stateful");
    let a = engine
        .execute_batch(Numbers::new(&plain, 30), 10)
        .await
        .unwrap();
    let b = engine
        .execute_batch(StatefulNumbers(Numbers::new(&stateful, 30)), 10)
        .await
        .unwrap();
    done(&engine, a).await;
    done(&engine, b).await;
    assert_eq!(
        logged(&plain),
        vec![
            "chunk 10 from 0",
            "chunk 10 from 0",
            "chunk 10 from 0",
            "finish seen=0 sum=0"
        ]
    );
    assert_eq!(
        logged(&stateful),
        vec![
            "chunk 10 from 0",
            "chunk 10 from 10",
            "chunk 10 from 20",
            "finish seen=30 sum=435"
        ]
    );
}

#[tokio::test]
async fn a_failed_stateful_chunk_does_not_keep_its_state() {
    let engine = builder().start().await.unwrap();
    let t = tag("stateful-fail");
    let mut inner = Numbers::new(&t, 30);
    inner.fail_on = Some(15);
    let id = engine
        .execute_batch(StatefulNumbers(inner), 10)
        .await
        .unwrap();
    done(&engine, id).await;
    assert_eq!(
        logged(&t),
        vec![
            "chunk 10 from 0",
            "chunk 10 from 10",
            "chunk 10 from 10",
            "finish seen=20 sum=290"
        ]
    );
}

#[tokio::test]
async fn non_stateful_chunks_may_run_in_parallel_when_asked() {
    let engine = builder().concurrency(2).start().await.unwrap();
    let t = tag("pairs");
    let id = engine
        .execute_batch(Pairs { tag: t.clone() }, 10)
        .await
        .unwrap();
    let job = done(&engine, id).await;
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(
        logged(&t).len(),
        8,
        "every chunk passed its two-party barrier"
    );
}

#[tokio::test]
async fn the_flex_queue_caps_holding_jobs_and_active_jobs() {
    let engine = builder()
        .limits(Limits {
            flex_queue_size: 2,
            active_batch_jobs: 1,
            ..Limits::default()
        })
        .start()
        .await
        .unwrap();
    let t = tag("caps");
    let gate = |chunks| Gate {
        tag: t.clone(),
        chunks,
        chain: false,
    };
    let first = engine.execute_batch(gate(1), 1).await.unwrap();
    wait_signal(&format!("{t}-chunk")).await;
    // One active: the next two wait in the flex queue, and a third is refused.
    let second = engine.execute_batch(gate(1), 1).await.unwrap();
    let third = engine.execute_batch(gate(1), 1).await.unwrap();
    let err = engine.execute_batch(gate(1), 1).await.unwrap_err();
    assert!(
        matches!(err, Error::LimitExceeded { max: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("limit of 2 jobs in the flex queue"),
        "{err}"
    );
    let holding: Vec<JobId> = engine
        .flex_queue()
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(holding, vec![second, third]);
    assert_eq!(
        engine.job(first).await.unwrap().status,
        JobStatus::Processing
    );
    for _ in 0..3 {
        signal(&format!("{t}-go"));
    }
    for id in [first, second, third] {
        assert_eq!(done(&engine, id).await.status, JobStatus::Completed);
    }
    // They ran one at a time, in queue order.
    let starts = logged(&t).iter().filter(|l| *l == "start").count();
    assert_eq!(starts, 3);
}

#[tokio::test]
async fn all_four_flex_queue_moves_reorder_and_report() {
    let engine = builder().concurrency(0).start().await.unwrap();
    let t = tag("moves");
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(engine.execute_batch(Numbers::new(&t, 1), 1).await.unwrap());
    }
    let [a, b, c] = [ids[0], ids[1], ids[2]];
    let order = || async {
        engine
            .flex_queue()
            .await
            .unwrap()
            .iter()
            .map(|j| j.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(order().await, vec![a, b, c]);
    assert!(engine.flex_queue_move(c, FlexMove::Front).await.unwrap());
    assert_eq!(order().await, vec![c, a, b]);
    assert!(!engine.flex_queue_move(c, FlexMove::Front).await.unwrap());
    assert!(engine.flex_queue_move(c, FlexMove::End).await.unwrap());
    assert_eq!(order().await, vec![a, b, c]);
    assert!(engine.flex_queue_move(a, FlexMove::After(b)).await.unwrap());
    assert_eq!(order().await, vec![b, a, c]);
    assert!(
        engine
            .flex_queue_move(c, FlexMove::Before(b))
            .await
            .unwrap()
    );
    assert_eq!(order().await, vec![c, b, a]);
    assert!(
        !engine
            .flex_queue_move(b, FlexMove::Before(a))
            .await
            .unwrap()
    );
    // Aborting a holding job removes it from the queue.
    engine.abort_job(b).await.unwrap();
    assert_eq!(order().await, vec![c, a]);
    let err = engine
        .flex_queue_move(b, FlexMove::Front)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotInFlexQueue { .. }), "{err:?}");
}

#[tokio::test]
async fn a_scope_of_0_is_refused() {
    let engine = builder().concurrency(0).start().await.unwrap();
    let err = engine
        .execute_batch(Numbers::new("scope", 1), 0)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert!(err.to_string().contains("greater than 0"), "{err}");
}

/// Apex: an iterable's scope has no upper limit; a query locator's is cut down to 2,000,
/// silently.
#[tokio::test]
async fn an_iterables_scope_has_no_cap_and_a_locators_is_cut_to_2000() {
    let t = tag("large-scope");
    let engine = builder().start().await.unwrap();
    let id = engine
        .execute_batch(Numbers::new(&t, 5_000), 5_000)
        .await
        .unwrap();
    let job = done(&engine, id).await;
    assert_eq!(
        job.status,
        JobStatus::Completed,
        "{:?}",
        job.extended_status
    );
    assert_eq!(job.total_items, 1);
    assert_eq!(logged(&t), vec!["chunk 5000 from 0", "finish seen=0 sum=0"]);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    accounts_db(&path, 4_500); // 4,050 open accounts
    let engine = builder().sqlite(&path).start().await.unwrap();
    let t = tag("locator-scope");
    let id = engine
        .execute_batch(AccountTotals::new(&t, None), 5_000)
        .await
        .unwrap();
    let job = done(&engine, id).await;
    assert_eq!(
        job.status,
        JobStatus::Completed,
        "{:?}",
        job.extended_status
    );
    assert_eq!(job.batch_scope, Some(5_000), "the scope asked for is kept");
    assert_eq!(job.total_items, 3);
    let log = logged(&t);
    assert_eq!(
        log[..3],
        ["chunk 2000", "chunk 2000", "chunk 50"],
        "{log:?}"
    );
    assert!(log[3].starts_with("count=4050 "), "{log:?}");
}

/// Sets `note` in `start` and in every `execute`, and logs what each transaction saw.
#[derive(Default, Serialize, Deserialize)]
struct Notes {
    tag: String,
    note: Option<String>,
}

fn notes_execute(b: &mut Notes, scope: Vec<u64>) {
    log(&b.tag, format!("execute saw {:?}", b.note));
    b.note = Some(format!("set in execute {}", scope[0]));
}

impl Batchable for Notes {
    type Item = u64;

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<u64>, JobError> {
        self.note = Some("set in start".into());
        Ok(WorkSet::iter(0..2))
    }
    async fn execute(&mut self, _ctx: &mut BatchContext, scope: Vec<u64>) -> Result<(), JobError> {
        notes_execute(self, scope);
        Ok(())
    }
    async fn finish(&mut self, _ctx: &mut BatchContext) -> Result<(), JobError> {
        log(&self.tag, format!("finish saw {:?}", self.note));
        Ok(())
    }
}

/// The same, stateful.
#[derive(Default, Serialize, Deserialize)]
struct StatefulNotes(Notes);

impl Batchable for StatefulNotes {
    type Item = u64;
    const STATEFUL: bool = true;

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<u64>, JobError> {
        self.0.note = Some("set in start".into());
        Ok(WorkSet::iter(0..2))
    }
    async fn execute(&mut self, _ctx: &mut BatchContext, scope: Vec<u64>) -> Result<(), JobError> {
        notes_execute(&mut self.0, scope);
        Ok(())
    }
    async fn finish(&mut self, _ctx: &mut BatchContext) -> Result<(), JobError> {
        log(&self.0.tag, format!("finish saw {:?}", self.0.note));
        Ok(())
    }
}

/// Apex (§3.4): without `Database.Stateful` every transaction starts from the as-enqueued
/// state, so a member set in `start` is not seen by `execute` or `finish`; with it, `start`'s
/// state and each chunk's carry on.
#[tokio::test]
async fn without_stateful_every_transaction_starts_from_the_submitted_state() {
    let engine = builder()
        .register_batch::<Notes>()
        .register_batch::<StatefulNotes>()
        .start()
        .await
        .unwrap();
    let plain = tag("notes");
    let submitted = |tag: &str| Notes {
        tag: tag.into(),
        note: Some("submitted".into()),
    };
    let id = engine.execute_batch(submitted(&plain), 1).await.unwrap();
    done(&engine, id).await;
    assert_eq!(
        logged(&plain),
        vec![
            r#"execute saw Some("submitted")"#,
            r#"execute saw Some("submitted")"#,
            r#"finish saw Some("submitted")"#,
        ]
    );
    let stateful = tag("stateful-notes");
    let id = engine
        .execute_batch(StatefulNotes(submitted(&stateful)), 1)
        .await
        .unwrap();
    done(&engine, id).await;
    assert_eq!(
        logged(&stateful),
        vec![
            r#"execute saw Some("set in start")"#,
            r#"execute saw Some("set in execute 0")"#,
            r#"finish saw Some("set in execute 1")"#,
        ]
    );
}

fn accounts_db(path: &std::path::Path, rows: i64) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE account (id INTEGER PRIMARY KEY, name TEXT NOT NULL, region TEXT NOT NULL);",
    )
    .unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    for i in 1..=rows {
        let region = if i % 10 == 0 { "closed" } else { "emea" };
        tx.execute(
            "INSERT INTO account (id, name, region) VALUES (?1, ?2, ?3)",
            rusqlite::params![i, format!("acct-{i}"), region],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

#[tokio::test]
async fn a_query_locator_streams_an_applications_table_by_column_name() {
    let dir = tempfile::tempdir().unwrap();
    // In the store's own database...
    let store_path = dir.path().join("store.db");
    accounts_db(&store_path, 2_500);
    let engine = builder().sqlite(&store_path).start().await.unwrap();
    // ...and in another database the batch names.
    let other = dir.path().join("crm.db");
    accounts_db(&other, 1_000);
    let expected = |n: i64| {
        let ids: Vec<i64> = (1..=n).filter(|i| i % 10 != 0).collect();
        format!("count={} id_sum={}", ids.len(), ids.iter().sum::<i64>())
    };
    for (database, rows) in [(None, 2_500), (Some(other.display().to_string()), 1_000)] {
        let t = tag("locator");
        let id = engine
            .execute_batch(AccountTotals::new(&t, database), 200)
            .await
            .unwrap();
        let job = done(&engine, id).await;
        assert_eq!(
            job.status,
            JobStatus::Completed,
            "{:?}",
            job.extended_status
        );
        let log = logged(&t);
        assert_eq!(log.last(), Some(&expected(rows)), "{log:?}");
    }
}

#[tokio::test]
async fn a_query_locator_past_its_row_cap_fails_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    accounts_db(&path, 1_200);
    let engine = builder()
        .sqlite(&path)
        .limits(Limits {
            query_locator_rows: 1_000,
            ..Limits::default()
        })
        .start()
        .await
        .unwrap();
    let id = engine
        .execute_batch(AccountTotals::new(&tag("cap"), None), 200)
        .await
        .unwrap();
    let job = done(&engine, id).await;
    assert_eq!(job.status, JobStatus::Failed);
    assert!(
        job.extended_status
            .as_deref()
            .unwrap()
            .contains("returned more than 1000 rows"),
        "{:?}",
        job.extended_status
    );
}

#[tokio::test]
async fn error_events_are_stored_and_delivered_with_phase_and_scope() {
    let engine = builder().start().await.unwrap();
    let mut events = engine.subscribe_batch_errors();
    let chunky = engine
        .execute_batch(Loud { fail_start: false }, 5)
        .await
        .unwrap();
    let job = done(&engine, chunky).await;
    assert_eq!(
        (job.status, job.number_of_errors),
        (JobStatus::Completed, 1)
    );
    let heard = tokio::time::timeout(WAIT, events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(heard.job_id, chunky);
    assert_eq!(heard.phase, BatchPhase::Execute);
    assert_eq!(heard.message, "seven is unlucky");
    assert_eq!(heard.job_scope, "item-5,item-6,item-7,item-8,item-9");
    let stored = engine.batch_error_events(Some(chunky), 10).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].exception_type, "JobError");

    let broken = engine
        .execute_batch(Loud { fail_start: true }, 5)
        .await
        .unwrap();
    let job = done(&engine, broken).await;
    assert_eq!(
        job.status,
        JobStatus::Failed,
        "an error in start fails the job"
    );
    assert_eq!(
        job.extended_status.as_deref(),
        Some("start failed: no work set today")
    );
    let stored = engine.batch_error_events(Some(broken), 10).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].phase, BatchPhase::Start);
}

#[tokio::test]
async fn finish_can_chain_the_next_batch() {
    let engine = builder().start().await.unwrap();
    let t = tag("chain");
    let first = engine
        .execute_batch(
            Gate {
                tag: t.clone(),
                chunks: 1,
                chain: true,
            },
            5,
        )
        .await
        .unwrap();
    signal(&format!("{t}-go"));
    done(&engine, first).await;
    engine.wait_idle(WAIT).await.unwrap();
    let chained = engine
        .jobs(JobListParams {
            parent_job_id: Some(first),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(chained.len(), 1);
    assert_eq!(chained[0].job_type, JobType::BatchApex);
    assert_eq!(chained[0].status, JobStatus::Completed);
    assert!(
        logged(&t).contains(&"finish seen=0 sum=0".to_string()),
        "{:?}",
        logged(&t)
    );
}

#[tokio::test]
async fn schedule_batch_submits_the_batch_when_it_fires() {
    let clock = ManualClock::new("2026-05-01T10:00:00Z".parse().unwrap());
    let engine = builder().clock(clock.clone()).start().await.unwrap();
    let t = tag("scheduled-batch");
    let err = engine
        .schedule_batch(Numbers::new(&t, 5), "Nightly numbers", 0, 2)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at least one minute"), "{err}");
    let trigger = engine
        .schedule_batch(Numbers::new(&t, 5), "Nightly numbers", 5, 2)
        .await
        .unwrap();
    assert!(trigger.to_string().starts_with("08e"));
    let record = engine.schedule_record("Nightly numbers").await.unwrap();
    assert_eq!(record.cron_expression, "0 5 10 1 5 ? 2026");
    assert_eq!(
        record.next_fire_time,
        Some("2026-05-01T10:05:00Z".parse().unwrap())
    );
    engine.wait_idle(WAIT).await.unwrap();
    assert!(logged(&t).is_empty());
    clock.advance(Duration::from_secs(300));
    tokio::time::timeout(WAIT, async {
        while !logged(&t).iter().any(|l| l.starts_with("finish")) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    let runs = engine
        .jobs(JobListParams {
            job_types: vec![JobType::BatchApex],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].cron_trigger_id, Some(trigger));
    assert_eq!(runs[0].batch_scope, Some(2));
    engine.wait_idle(WAIT).await.unwrap();
    let fired = engine.schedule_record("Nightly numbers").await.unwrap();
    assert_eq!(fired.state(clock.now()), TriggerState::Complete);
}

#[tokio::test]
async fn aborting_a_running_batch_stops_after_the_current_chunk_without_finish() {
    let engine = builder().start().await.unwrap();
    let t = tag("abort-batch");
    let id = engine
        .execute_batch(
            Gate {
                tag: t.clone(),
                chunks: 5,
                chain: false,
            },
            1,
        )
        .await
        .unwrap();
    wait_signal(&format!("{t}-chunk")).await;
    engine.abort_job(id).await.unwrap();
    signal(&format!("{t}-go"));
    let job = done(&engine, id).await;
    assert_eq!(job.status, JobStatus::Aborted);
    assert_eq!(
        job.items_processed, 1,
        "the running chunk finished and committed"
    );
    assert_eq!(
        logged(&t),
        vec!["start", "chunk [0]"],
        "no more chunks, no finish"
    );
}

#[tokio::test]
async fn json_batches_join_the_flex_queue_checked_against_registered_types() {
    let engine = builder().concurrency(0).start().await.unwrap();
    let id = engine
        .execute_batch_json(
            "Numbers",
            serde_json::to_value(Numbers::new("json", 3)).unwrap(),
            2,
        )
        .await
        .unwrap();
    let job = engine.job(id).await.unwrap();
    assert_eq!(
        (job.job_type, job.status, job.batch_scope),
        (JobType::BatchApex, JobStatus::Holding, Some(2))
    );
    assert_eq!(engine.flex_queue().await.unwrap()[0].id, id);
    let err = engine
        .execute_batch_json("Numbers", serde_json::json!({ "n": "three" }), 2)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Payload { .. }), "{err:?}");
    let err = engine
        .execute_batch_json("Numbers", serde_json::json!([]), 2)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("JSON object"), "{err}");
    let err = engine
        .execute_batch_json(
            "Numbers",
            serde_json::to_value(Numbers::new("json", 3)).unwrap(),
            0,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("greater than 0"), "{err}");
    // A class this engine does not know is stored as given, for a worker that knows it.
    let stranger = engine
        .execute_batch_json("ElsewhereBatch", serde_json::json!({}), 200)
        .await
        .unwrap();
    assert_eq!(engine.flex_queue().await.unwrap()[1].id, stranger);
}
