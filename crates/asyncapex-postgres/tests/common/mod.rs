//! Fresh schemas for PostgreSQL tests: one per test, never shared tables.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};

use asyncapex_postgres::{PostgresOptions, PostgresStore};
use tokio::sync::OnceCell;

static COUNTER: AtomicU64 = AtomicU64::new(0);
static SWEPT: OnceCell<()> = OnceCell::const_new();

/// The test database's URL, or `None` (with a notice) when tests should skip. Panics when
/// `ASYNCAPEX_REQUIRE_POSTGRES=1` (CI) and no database is configured.
pub(crate) fn url() -> Option<String> {
    match std::env::var("ASYNCAPEX_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            if std::env::var("ASYNCAPEX_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!(
                    "ASYNCAPEX_REQUIRE_POSTGRES=1 but ASYNCAPEX_TEST_POSTGRES_URL is not set: \
                     the PostgreSQL tests must run here"
                );
            }
            // Once per test binary, and past the test harness's output capture, so a skipped
            // run says so even when every test passes.
            static NOTICE: std::sync::Once = std::sync::Once::new();
            NOTICE.call_once(|| {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "skipping PostgreSQL tests: set ASYNCAPEX_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test"
                );
            });
            None
        }
    }
}

/// A new schema name, unique in this process and across processes (`asyncapex_t_<pid>_<n>`).
pub(crate) fn fresh_schema() -> String {
    format!(
        "asyncapex_t_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A plain connection to the test database (for setup, inspection and cleanup).
pub(crate) async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(connection);
    client
}

/// Drops test schemas left by processes that are gone (a test run cannot drop its schemas
/// as each test ends, since a store may still be in use); once per process.
pub(crate) async fn sweep_stale_schemas(url: &str) {
    SWEPT
        .get_or_init(|| async {
            let client = admin(url).await;
            let rows = client
                .query(
                    "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'asyncapex\\_t\\_%'",
                    &[],
                )
                .await
                .expect("list test schemas");
            for row in rows {
                let name: String = row.get(0);
                let pid = name
                    .strip_prefix("asyncapex_t_")
                    .and_then(|rest| rest.split('_').next())
                    .and_then(|pid| pid.parse::<u32>().ok());
                let alive =
                    pid.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
                if !alive {
                    let _ = client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                        .await;
                }
            }
        })
        .await;
}

/// Drops one schema.
pub(crate) async fn drop_schema(url: &str, schema: &str) {
    let client = admin(url).await;
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .expect("drop schema");
}

/// Options on a given schema, with a small pool.
pub(crate) fn options(schema: &str) -> PostgresOptions {
    PostgresOptions {
        schema: schema.to_owned(),
        pool_size: 4,
        ..Default::default()
    }
}

/// A store on a fresh schema, or `None` when PostgreSQL tests are skipped.
pub(crate) async fn fresh_store() -> Option<PostgresStore> {
    let url = url()?;
    sweep_stale_schemas(&url).await;
    Some(
        PostgresStore::connect_with(&url, options(&fresh_schema()))
            .await
            .expect("connect a fresh store"),
    )
}

/// A store on a fresh schema with the URL and the schema's name (for a test that also looks
/// at the database directly), or `None` when PostgreSQL tests are skipped.
pub(crate) async fn fresh_store_in_schema() -> Option<(String, String, PostgresStore)> {
    let url = url()?;
    sweep_stale_schemas(&url).await;
    let schema = fresh_schema();
    let store = PostgresStore::connect_with(&url, options(&schema))
        .await
        .expect("connect a fresh store");
    Some((url, schema, store))
}

/// `url` with an `application_name`, so a test can find (and terminate) its own backends.
pub(crate) fn url_named(url: &str, application_name: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}application_name={application_name}")
}

/// A minimal queued queueable due at `run_at`.
pub(crate) fn job(
    ids: &asyncapex_core::IdGenerator,
    run_at: jiff::Timestamp,
) -> asyncapex_core::NewJob {
    asyncapex_core::NewJob {
        id: ids.job_id(run_at),
        job_type: asyncapex_core::JobType::Queueable,
        class_name: "TestJob".into(),
        method_name: None,
        status: asyncapex_core::JobStatus::Queued,
        parent_job_id: None,
        cron_trigger_id: None,
        created_at: run_at,
        run_at,
        max_attempts: 3,
        stack_depth: 1,
        max_stack_depth: None,
        failure_reenqueues: 0,
        signature: None,
        payload: "{}".into(),
        batch_scope: None,
        retry_of: None,
        trace_parent: None,
        queue: "default".into(),
        priority: 0,
        tenant: None,
    }
}

/// A fixed instant.
pub(crate) fn t0() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_800_000_000).unwrap()
}
