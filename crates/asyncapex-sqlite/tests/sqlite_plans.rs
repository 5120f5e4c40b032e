//! The hot queries walk the index meant for them, whatever else matches: SQLite keeps no
//! statistics unless asked, so an index added later (the job-type index of migration 6) can
//! take over a query that then reads every record it covers. Each query here is checked
//! against the plan SQLite chooses on a migrated store.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use asyncapex_sqlite::SqliteStore;

/// SQLite's plan for `sql`, its `:name` parameters bound to NULL, as one line per step.
fn plan(conn: &rusqlite::Connection, sql: &str) -> String {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    for i in 1..=stmt.parameter_count() {
        stmt.raw_bind_parameter(i, rusqlite::types::Null).unwrap();
    }
    let mut rows = stmt.raw_query();
    let mut steps = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        steps.push(row.get::<_, String>(3).unwrap());
    }
    steps.join("\n")
}

#[tokio::test]
async fn hot_queries_walk_their_own_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    drop(SqliteStore::open(&path).await.unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    for (query, sql, index) in [
        (
            "active batch count",
            include_str!("../src/queries/batch_active_count.sql"),
            "asyncapex_job_batch_active",
        ),
        (
            "a holding batch's place at the end of the flex queue",
            include_str!("../src/queries/job_insert.sql"),
            "INDEX asyncapex_job_flex_queue",
        ),
        (
            "pending count (due)",
            include_str!("../src/queries/job_count_pending.sql"),
            "asyncapex_job_queued",
        ),
        (
            "pending count (running)",
            include_str!("../src/queries/job_count_pending.sql"),
            "asyncapex_job_running",
        ),
        (
            "created since",
            include_str!("../src/queries/job_count_created_since.sql"),
            "asyncapex_job_created",
        ),
        (
            "last hour's figures (part-minute)",
            include_str!("../src/queries/job_stats_minutes.sql"),
            "asyncapex_job_completed (completed_at>? AND completed_at<?)",
        ),
        (
            "last hour's figures (kept minutes)",
            include_str!("../src/queries/job_stats_minutes.sql"),
            "asyncapex_job_minute_stats USING PRIMARY KEY (minute>?)",
        ),
    ] {
        let plan = plan(&conn, sql);
        assert!(plan.contains(index), "{query} should use {index}:\n{plan}");
        assert!(
            !plan.contains("asyncapex_job_type"),
            "{query} must not walk the job-type index:\n{plan}"
        );
    }
}

/// The completion triggers look their job up by rowid, so a finish costs one B-tree step more,
/// not a scan.
#[tokio::test]
async fn the_completion_figures_read_one_row_per_finish() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    drop(SqliteStore::open(&path).await.unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let plan = plan(
        &conn,
        "SELECT minute, bucket FROM asyncapex_job_minute_stats_source WHERE row_id = :row",
    );
    assert!(
        plan.contains("USING INTEGER PRIMARY KEY (rowid=?)"),
        "the view must be flattened into a rowid lookup:\n{plan}"
    );
}
