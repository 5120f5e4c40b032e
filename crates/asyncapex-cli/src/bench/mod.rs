//! `asyncapex bench …`: benchmark programs that print figures (never timed tests).

mod bulk;
mod locator;
mod queues;
mod scale;

use std::time::{Duration, Instant};

use asyncapex::{BatchContext, Batchable, Engine, JobError, JobStatus, Limits, WorkSet};
use clap::Subcommand;

use crate::database::Location;
use serde::{Deserialize, Serialize};

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The adapter for the side-by-side peer benchmark (BENCHMARKS.md): reads commands on stdin
    /// (`reset`, `enqueue_loop N`, `enqueue_bulk N`, `enqueue_one I`, `count_done`,
    /// `count_queued`, `prefill N`, `quit`) and answers one line each.
    Adapter,
    /// The peer-benchmark harness's worker: runs no-op jobs until SIGTERM (appending
    /// `"<i> <unix ns>"` to `$BENCH_LATLOG` at each job's start when it is set).
    Worker {
        /// Jobs run at once. The no-op jobs take microseconds, so the more slots, the larger
        /// each claim and each group of completions (W2 on this 2-core machine, 100,000 jobs:
        /// 256 slots ≈ 47k jobs/s on SQLite and ≈ 19k on PostgreSQL, 1024 ≈ 63k and ≈ 28k).
        #[arg(long, default_value_t = 1024)]
        concurrency: usize,
    },
    /// Run one batch of generated items with a trivial `execute`; print items/s, chunks/s and
    /// peak RSS as one JSON line and one readable line.
    Batch {
        /// Items in the work set.
        #[arg(long, default_value_t = 1_000_000)]
        items: u64,
        /// Items per chunk.
        #[arg(long, default_value_t = 200)]
        scope: u32,
        /// Carry state from chunk to chunk (Database.Stateful).
        #[arg(long)]
        stateful: bool,
        /// The SQLite file to use (default: a fresh temporary file).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
    /// Fill a fresh store with finished job records, then time the operator views, a W2
    /// drain and a purge of the older half (with W3 latency during it); once per row count.
    /// The store is wiped first: an SQLite file is deleted, on PostgreSQL the schema
    /// `asyncapex_scale` is dropped.
    Scale(scale::ScaleArgs),
    /// Fill a fresh store (2 % failed batches), then retry every failed job at once through
    /// the bulk action while probes measure W3 of unrelated jobs; time and latency.
    BulkRetry(bulk::BulkRetryArgs),
    /// Make an application table of N rows (50 million by default), then run a batch over it
    /// through a query locator; rows/s, peak RSS and the store's bytes while it runs.
    Locator(locator::LocatorArgs),
    /// W2 with jobs spread over 4 queues and 3 priorities beside single-queue W2
    /// (interleaved), then a rate-limited queue drained by two engines: achieved starts per
    /// second against the setting.
    Queues(queues::QueuesArgs),
}

/// Sums its items: the trivial `execute` of the batch benchmark.
#[derive(Default, Serialize, Deserialize)]
struct BenchBatch {
    items: u64,
    sum: u64,
}

impl Batchable for BenchBatch {
    type Item = u64;

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<u64>, JobError> {
        Ok(WorkSet::iter(0..self.items))
    }
    async fn execute(&mut self, _ctx: &mut BatchContext, scope: Vec<u64>) -> Result<(), JobError> {
        self.sum = self.sum.wrapping_add(scope.iter().sum::<u64>());
        Ok(())
    }
    async fn finish(&mut self, _ctx: &mut BatchContext) -> Result<(), JobError> {
        Ok(())
    }
}

/// The same, stateful.
#[derive(Default, Serialize, Deserialize)]
struct StatefulBenchBatch(BenchBatch);

impl Batchable for StatefulBenchBatch {
    type Item = u64;
    const STATEFUL: bool = true;

    async fn start(&mut self, ctx: &mut BatchContext) -> Result<WorkSet<u64>, JobError> {
        self.0.start(ctx).await
    }
    async fn execute(&mut self, ctx: &mut BatchContext, scope: Vec<u64>) -> Result<(), JobError> {
        self.0.execute(ctx, scope).await
    }
    async fn finish(&mut self, _ctx: &mut BatchContext) -> Result<(), JobError> {
        Ok(())
    }
}

/// A fresh directory under the system's temporary directory, removed when dropped: the
/// benchmark's scratch database (its WAL and shared-memory files live beside it).
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new() -> Result<Self, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let dir =
            std::env::temp_dir().join(format!("asyncapex-bench-{}-{nanos}", std::process::id()));
        // create_dir (not _all): an existing directory of that name is not ours to reuse.
        std::fs::create_dir(&dir)
            .map_err(|e| format!("cannot make a temporary directory {}: {e}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A KiB figure of this process from the OS (`/proc/self/status`, Linux), e.g. `VmHWM:` (peak
/// resident set) or `VmRSS:` (resident now).
pub(crate) fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The process's peak resident set size in KiB, from the OS (Linux `VmHWM`).
pub(crate) fn peak_rss_kib() -> Option<u64> {
    proc_status_kib("VmHWM:")
}

pub(crate) async fn run(database: &str, cmd: BenchCommand) -> Result<(), String> {
    match cmd {
        BenchCommand::Adapter => adapter(database).await,
        BenchCommand::Worker { concurrency } => worker(database, concurrency).await,
        BenchCommand::Batch {
            items,
            scope,
            stateful,
            file,
        } => batch(items, scope, stateful, file).await,
        BenchCommand::Scale(args) => scale::run(args).await,
        BenchCommand::BulkRetry(args) => bulk::run(args).await,
        BenchCommand::Locator(args) => locator::run(args).await,
        BenchCommand::Queues(args) => queues::run(args).await,
    }
}

async fn batch(
    items: u64,
    scope: u32,
    stateful: bool,
    file: Option<std::path::PathBuf>,
) -> Result<(), String> {
    let scratch = match file {
        Some(_) => None,
        None => Some(Scratch::new()?),
    };
    let path = match (&file, &scratch) {
        (Some(file), _) => file.clone(),
        (None, Some(scratch)) => scratch.0.join("bench-batch.db"),
        (None, None) => return Err("no file for the benchmark's database".into()),
    };
    let engine = Engine::builder()
        .sqlite(&path)
        .register_batch::<BenchBatch>()
        .register_batch::<StatefulBenchBatch>()
        .limits(Limits {
            execution_time_async: Duration::from_secs(3600),
            ..Limits::default()
        })
        .concurrency(2)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let rss_before = peak_rss_kib();
    let started = Instant::now();
    let plain = BenchBatch { items, sum: 0 };
    let id = if stateful {
        engine.execute_batch(StatefulBenchBatch(plain), scope).await
    } else {
        engine.execute_batch(plain, scope).await
    }
    .map_err(|e| e.to_string())?;
    let job = engine
        .wait_for(id, Duration::from_secs(24 * 3600))
        .await
        .map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    if job.status != JobStatus::Completed {
        return Err(format!(
            "the benchmark batch ended {}: {:?}",
            job.status, job.extended_status
        ));
    }
    let chunks = job.items_processed;
    let peak = peak_rss_kib();
    let line = serde_json::json!({
        "bench": "batch",
        "items": items,
        "scope": scope,
        "stateful": stateful,
        "chunks": chunks,
        "seconds": seconds,
        "items_per_sec": items as f64 / seconds,
        "chunks_per_sec": chunks as f64 / seconds,
        "peak_rss_kib": peak,
        "rss_before_kib": rss_before,
    });
    crate::output::outln!("{line}").map_err(|e| e.to_string())?;
    crate::output::outln!(
        "batch of {items} items at scope {scope}{}: {seconds:.2} s, {:.0} items/s, {:.0} chunks/s, peak RSS {} MiB",
        if stateful { " (stateful)" } else { "" },
        items as f64 / seconds,
        chunks as f64 / seconds,
        peak.map(|k| format!("{:.1}", k as f64 / 1024.0))
            .unwrap_or_else(|| "unknown".into())
    )
    .map_err(|e| e.to_string())?;
    engine
        .shutdown(Duration::from_secs(5))
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// The harness's no-op job, taking an integer.
#[derive(Serialize, Deserialize)]
struct BenchNoop {
    i: u64,
}

/// Where job starts are logged, when `BENCH_LATLOG` is set.
static LATLOG: std::sync::OnceLock<Option<std::sync::Mutex<std::fs::File>>> =
    std::sync::OnceLock::new();

impl asyncapex::Queueable for BenchNoop {
    async fn execute(&mut self, _ctx: &mut asyncapex::QueueableContext) -> Result<(), JobError> {
        let log = LATLOG.get_or_init(|| {
            std::env::var_os("BENCH_LATLOG").and_then(|path| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .ok()
                    .map(std::sync::Mutex::new)
            })
        });
        if let Some(file) = log {
            // The first thing the job does, as the harness's protocol asks.
            let ns = jiff::Timestamp::now().as_nanosecond();
            let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
            std::io::Write::write_all(&mut *file, format!("{} {ns}\n", self.i).as_bytes())?;
        }
        Ok(())
    }
}

async fn open_client(location: &Location) -> Result<Engine, String> {
    crate::database::builder(location)
        .register::<BenchNoop>()
        .limits(Limits::unlimited())
        .concurrency(0)
        .scheduler(false)
        .start()
        .await
        .map_err(|e| e.to_string())
}

async fn status_count(engine: &Engine, status: JobStatus) -> Result<u64, String> {
    let counts = engine.store().job_count_by_status().await;
    count_of(counts, status)
}

async fn finished_count(engine: &Engine, status: JobStatus) -> Result<u64, String> {
    let counts = engine.store().job_count_finished().await;
    count_of(counts, status)
}

/// One status's figure from a store's (status, count) list (0 when it is not listed).
fn count_of(
    counts: asyncapex::Result<Vec<(JobStatus, u64)>>,
    status: JobStatus,
) -> Result<u64, String> {
    let counts = counts.map_err(|e| e.to_string())?;
    Ok(counts
        .into_iter()
        .find(|(s, _)| *s == status)
        .map_or(0, |(_, n)| n))
}

async fn adapter(database: &str) -> Result<(), String> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let location = crate::database::parse(database)?;
    if let Location::Sqlite(path) = &location
        && let Some(parent) = path.parent()
    {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    let mut engine = open_client(&location).await?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut out = tokio::io::stdout();
    while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
        let mut words = line.split_whitespace();
        let command = words.next().unwrap_or("");
        let n: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
        let reply = match command {
            "quit" => break,
            "reset" => {
                engine
                    .shutdown(Duration::from_secs(5))
                    .await
                    .map_err(|e| e.to_string())?;
                drop(engine);
                match &location {
                    Location::Sqlite(path) => {
                        for suffix in ["", "-wal", "-shm"] {
                            let mut p = path.clone().into_os_string();
                            p.push(suffix);
                            let _ = std::fs::remove_file(p);
                        }
                    }
                    Location::Postgres(url) => {
                        asyncapex::PostgresStore::drop_schema(url, "asyncapex")
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                }
                engine = open_client(&location).await?;
                "ok".to_owned()
            }
            "enqueue_loop" => {
                let started = Instant::now();
                let mut failed = None;
                for i in 0..n {
                    if let Err(e) = engine.enqueue_job(BenchNoop { i }).await {
                        failed = Some(e);
                        break;
                    }
                }
                match failed {
                    None => format!("ok {}", started.elapsed().as_secs_f64()),
                    Some(e) => format!("err {e}"),
                }
            }
            "enqueue_bulk" | "prefill" => {
                let started = Instant::now();
                match engine.enqueue_jobs((0..n).map(|i| BenchNoop { i })).await {
                    Ok(_) if command == "prefill" => "ok".to_owned(),
                    Ok(_) => format!("ok {}", started.elapsed().as_secs_f64()),
                    Err(e) => format!("err {e}"),
                }
            }
            "enqueue_one" => {
                let ns = jiff::Timestamp::now().as_nanosecond();
                match engine.enqueue_job(BenchNoop { i: n }).await {
                    Ok(_) => format!("ok {ns}"),
                    Err(e) => format!("err {e}"),
                }
            }
            // From the kept counts: the harness polls this every 50 ms during a drain, and
            // counting the waiting jobs as well would walk millions of index entries.
            "count_done" => match finished_count(&engine, JobStatus::Completed).await {
                Ok(c) => format!("ok {c}"),
                Err(e) => format!("err {e}"),
            },
            "count_queued" => match status_count(&engine, JobStatus::Queued).await {
                Ok(c) => format!("ok {c}"),
                Err(e) => format!("err {e}"),
            },
            other => format!("err unknown command {other:?}"),
        };
        out.write_all(format!("{reply}\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        out.flush().await.map_err(|e| e.to_string())?;
    }
    engine
        .shutdown(Duration::from_secs(5))
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

async fn worker(database: &str, concurrency: usize) -> Result<(), String> {
    let location = crate::database::parse(database)?;
    let engine = crate::database::builder(&location)
        .register::<BenchNoop>()
        .limits(Limits::unlimited())
        // A drain is measured, not a drain racing a cleaner through old history.
        .retention(asyncapex::Retention::forever())
        .concurrency(concurrency)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("cannot listen for SIGTERM: {e}"))?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
        // The store is gone (its file deleted or replaced): say so and exit non-zero.
        failed = engine.wait_failure() => return Err(failed.to_string()),
    }
    engine
        .shutdown(Duration::from_secs(5))
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}
