//! `asyncapex bench locator`: a batch over an application table through a query locator, at
//! Apex's scale (50 million rows): rows/s, peak RSS, and what the store keeps while it runs
//! (chunks are key ranges, not copies of the rows).
//!
//! The application's table is made here with its own SQL (the store's SQL stays in the store
//! crates): `bench_orders (id, total)` in the store's file, or in `public` on PostgreSQL.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use asyncapex::{
    BatchContext, Batchable, Engine, JobError, JobStatus, Limits, QueryLocator, WorkSet,
};
use serde::{Deserialize, Serialize};

use super::scale::{Concrete, fresh};
use crate::database::Location;

/// What `bench locator` was asked for.
#[derive(Debug, clap::Args)]
pub struct LocatorArgs {
    /// Where: an SQLite file (deleted and recreated) or a PostgreSQL URL (its benchmark
    /// schema and the table `public.bench_orders` are dropped and recreated).
    #[arg(long)]
    store: String,
    /// Rows in the application's table (Apex's locator maximum: 50,000,000).
    #[arg(long, default_value_t = 50_000_000)]
    rows: u64,
    /// Items per execute (a locator's chunks hold at most 2,000).
    #[arg(long, default_value_t = 2000)]
    scope: u32,
    /// Append the figures as one JSON line to this file.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

/// Items processed by the running benchmark batch.
static PROCESSED: AtomicU64 = AtomicU64::new(0);

#[derive(Serialize, Deserialize)]
struct Order {
    id: i64,
    total: i64,
}

/// A trivial `execute` over the table's rows.
#[derive(Serialize, Deserialize)]
struct LocatorBatch {
    table: String,
}

impl Batchable for LocatorBatch {
    type Item = Order;

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<Order>, JobError> {
        Ok(WorkSet::QueryLocator(QueryLocator::new(format!(
            "SELECT id, total FROM {}",
            self.table
        ))))
    }
    async fn execute(
        &mut self,
        _ctx: &mut BatchContext,
        scope: Vec<Order>,
    ) -> Result<(), JobError> {
        PROCESSED.fetch_add(scope.len() as u64, Ordering::Relaxed);
        Ok(())
    }
    async fn finish(&mut self, _ctx: &mut BatchContext) -> Result<(), JobError> {
        Ok(())
    }
}

/// The figures of one run.
#[derive(Debug, Serialize)]
struct Figures {
    store: &'static str,
    rows: u64,
    scope: u32,
    fill_seconds: f64,
    seconds: f64,
    rows_per_s: f64,
    chunks: u64,
    /// The store's bytes before the batch, at most while it ran, and after (see
    /// [`store_bytes`]).
    store_bytes_before: u64,
    store_bytes_max: u64,
    store_bytes_after: u64,
    rss_before_kib: u64,
    rss_max_kib: u64,
}

pub(super) async fn run(args: LocatorArgs) -> Result<(), String> {
    let location = crate::database::parse(&args.store)?;
    let store = fresh(&location).await?;
    let fill_started = Instant::now();
    let table = make_table(&location, args.rows).await?;
    let fill_seconds = fill_started.elapsed().as_secs_f64();
    eprintln!("{} rows in {table}: {fill_seconds:.1} s", args.rows);
    let engine = Engine::builder()
        .store(store.shared())
        .register_batch::<LocatorBatch>()
        .limits(Limits {
            execution_time_async: Duration::from_secs(24 * 3600),
            ..Limits::default()
        })
        .scheduler(false)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let store_bytes_before = store_bytes(&store, &location).await?;
    let rss_before_kib = rss_kib();
    PROCESSED.store(0, Ordering::Relaxed);
    let started = Instant::now();
    let id = engine
        .execute_batch(LocatorBatch { table }, args.scope)
        .await
        .map_err(|e| e.to_string())?;
    let mut store_bytes_max = store_bytes_before;
    let mut rss_max_kib = rss_before_kib;
    let job = loop {
        let job = engine.job(id).await.map_err(|e| e.to_string())?;
        if job.status.is_terminal() {
            break job;
        }
        store_bytes_max = store_bytes_max.max(store_bytes(&store, &location).await?);
        rss_max_kib = rss_max_kib.max(rss_kib());
        eprint!(
            "\r{:>12} of {} rows, {} chunks of {}   ",
            PROCESSED.load(Ordering::Relaxed),
            args.rows,
            job.items_processed,
            job.total_items
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    eprintln!();
    if job.status != JobStatus::Completed || job.number_of_errors > 0 {
        return Err(format!(
            "the benchmark batch ended {} with {} failed chunks: {:?}",
            job.status, job.number_of_errors, job.extended_status
        ));
    }
    let processed = PROCESSED.load(Ordering::Relaxed);
    if processed != args.rows {
        return Err(format!("processed {processed} rows of {}", args.rows));
    }
    rss_max_kib = rss_max_kib.max(rss_kib());
    let figures = Figures {
        store: store.name(),
        rows: args.rows,
        scope: args.scope,
        fill_seconds,
        seconds,
        rows_per_s: args.rows as f64 / seconds,
        chunks: job.total_items,
        store_bytes_before,
        store_bytes_max,
        store_bytes_after: store_bytes(&store, &location).await?,
        rss_before_kib,
        rss_max_kib,
    };
    let line = serde_json::to_string(&figures).map_err(|e| e.to_string())?;
    crate::output::outln!("{line}").map_err(|e| e.to_string())?;
    crate::output::outln!(
        "{}: {} rows through a locator in {seconds:.1} s ({:.0} rows/s, {} chunks); store {:.1} → max {:.1} → {:.1} MiB; RSS {:.1} → max {:.1} MiB",
        figures.store,
        figures.rows,
        figures.rows_per_s,
        figures.chunks,
        mib(figures.store_bytes_before),
        mib(figures.store_bytes_max),
        mib(figures.store_bytes_after),
        figures.rss_before_kib as f64 / 1024.0,
        figures.rss_max_kib as f64 / 1024.0,
    )
    .map_err(|e| e.to_string())?;
    if let Some(path) = &args.out {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        writeln!(f, "{line}").map_err(|e| e.to_string())?;
    }
    engine
        .shutdown(Duration::from_secs(10))
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn rss_kib() -> u64 {
    super::proc_status_kib("VmRSS:").unwrap_or(0)
}

/// Makes the application's table of `rows` orders; returns its name for the query.
async fn make_table(location: &Location, rows: u64) -> Result<String, String> {
    let sql =
        |create: &str, fill: &str| format!("DROP TABLE IF EXISTS bench_orders; {create}; {fill};");
    match location {
        Location::Sqlite(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                let conn = asyncapex::rusqlite::Connection::open(&path).map_err(|e| e.to_string())?;
                conn.execute_batch(&sql(
                    "CREATE TABLE bench_orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL)",
                    &format!(
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) \
                         INSERT INTO bench_orders SELECT i, i % 1000 FROM n"
                    ),
                ))
                .map_err(|e| e.to_string())?;
                Ok::<_, String>("bench_orders".to_owned())
            })
            .await
            .map_err(|e| e.to_string())?
        }
        Location::Postgres(url) => {
            let client = pg(url).await?;
            client
                .batch_execute(&sql(
                    "CREATE TABLE public.bench_orders (id BIGINT PRIMARY KEY, total BIGINT NOT NULL)",
                    &format!(
                        "INSERT INTO public.bench_orders SELECT i, i % 1000 FROM generate_series(1, {rows}) AS i; \
                         ANALYZE public.bench_orders"
                    ),
                ))
                .await
                .map_err(|e| e.to_string())?;
            Ok("public.bench_orders".to_owned())
        }
    }
}

async fn pg(url: &str) -> Result<asyncapex::tokio_postgres::Client, String> {
    let (client, connection) =
        asyncapex::tokio_postgres::connect(url, asyncapex::tokio_postgres::NoTls)
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    Ok(client)
}

/// The store's bytes: on SQLite the file and its WAL (the application's table included, so
/// the growth is the figure); on PostgreSQL the benchmark schema's relations alone.
async fn store_bytes(store: &Concrete, location: &Location) -> Result<u64, String> {
    match (store, location) {
        (Concrete::Sqlite(_), Location::Sqlite(path)) => {
            // The file holds the application's table too: what matters is how it grows.
            let size = |suffix: &str| {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0)
            };
            Ok(size("") + size("-wal"))
        }
        (Concrete::Postgres(_), Location::Postgres(url)) => {
            let client = pg(url).await?;
            let row = client
                .query_one(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint \
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = 'asyncapex_scale' AND c.relkind = 'r'",
                    &[],
                )
                .await
                .map_err(|e| e.to_string())?;
            Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
        }
        _ => Err("the store and its location disagree".into()),
    }
}
