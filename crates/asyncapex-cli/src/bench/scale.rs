//! `asyncapex bench scale`: a store that has run for months, made in seconds, and what the
//! operator views, a purge and the queue cost on it (issue 15's targets; BENCHMARKS.md).
//!
//! For each row count asked for, on a fresh store: bulk-fill that many finished job records
//! (created over the last 30 days), time each operator view through the dashboard's own
//! router (in process, no socket), drain a W2 queue on top, then purge the older half while
//! measuring enqueue → start latency (W3). One JSON line per row count goes to `--out` for the
//! chart (`tools/scale-chart/chart.sh`); a readable table goes to stdout.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use asyncapex::unstable::fill::FinishedJobsFill;
use asyncapex::unstable::store::Store;
use asyncapex::{Engine, JobError, Limits, PurgeFilter, Queueable, QueueableContext, Retention};
use serde::{Deserialize, Serialize};

use crate::database::Location;

/// The PostgreSQL schema the benchmark creates and drops (never the default `asyncapex`).
const PG_SCHEMA: &str = "asyncapex_scale";

/// The views timed, as the dashboard serves them.
const VIEWS: [(&str, &str); 7] = [
    ("overview", "/"),
    ("overview_api", "/api/overview"),
    ("metrics", "/metrics"),
    ("job_list", "/jobs"),
    ("job_list_failed", "/jobs?status=Failed"),
    ("job_list_failed_aborted", "/jobs?status=Failed,Aborted"),
    ("flex_queue", "/flex-queue"),
];

/// What `bench scale` was asked for.
#[derive(Debug, clap::Args)]
pub struct ScaleArgs {
    /// Where: an SQLite file (deleted and recreated) or a PostgreSQL URL.
    #[arg(long)]
    store: String,
    /// Row counts, comma-separated; each runs on a fresh store.
    #[arg(long, value_delimiter = ',', default_value = "10000,1000000")]
    rows: Vec<u64>,
    /// Jobs in the W2 drain on top of the history.
    #[arg(long, default_value_t = 20_000)]
    w2_jobs: u64,
    /// W2 drains per row count; the median is reported (the machine's noise is ±30 %).
    #[arg(long, default_value_t = 3)]
    w2_reps: u32,
    /// Requests per view (after one warm-up).
    #[arg(long, default_value_t = 15)]
    repeat: u32,
    /// Append one JSON line of figures per row count to this file (for the chart).
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Leave out the purge.
    #[arg(long)]
    skip_purge: bool,
    /// Records per purge call (the engine's default: 500).
    #[arg(long, default_value_t = asyncapex::PURGE_BATCH)]
    purge_batch: u32,
}

/// One row count's figures.
#[derive(Debug, Serialize)]
struct Figures {
    store: &'static str,
    rows: u64,
    fill_rows_per_s: f64,
    /// View name → median milliseconds.
    views_median_ms: Vec<(&'static str, f64)>,
    /// View name → slowest milliseconds.
    views_max_ms: Vec<(&'static str, f64)>,
    /// The median of the drains.
    w2_jobs_per_s: f64,
    /// Every drain, in order.
    w2_runs: Vec<f64>,
    purged: u64,
    purge_rows_per_s: f64,
    w3_idle: Option<Latency>,
    w3_during_purge: Option<Latency>,
    rss_before_purge_kib: u64,
    rss_after_purge_kib: u64,
}

/// The concrete store, for its bulk fill.
#[derive(Clone)]
pub(super) enum Concrete {
    Sqlite(asyncapex::SqliteStore),
    Postgres(asyncapex::PostgresStore),
}

impl Concrete {
    pub(super) fn name(&self) -> &'static str {
        match self {
            Concrete::Sqlite(_) => "sqlite",
            Concrete::Postgres(_) => "postgres",
        }
    }

    pub(super) fn shared(&self) -> Arc<dyn Store> {
        match self {
            Concrete::Sqlite(s) => Arc::new(s.clone()),
            Concrete::Postgres(s) => Arc::new(s.clone()),
        }
    }

    pub(super) async fn fill(
        &self,
        fill: &FinishedJobsFill,
        on_batch: impl FnMut(u64),
    ) -> Result<u64, String> {
        match self {
            Concrete::Sqlite(s) => s.fill_finished(fill, on_batch).await,
            Concrete::Postgres(s) => s.fill_finished(fill, on_batch).await,
        }
        .map_err(|e| e.to_string())
    }
}

/// A fresh, empty store at `location` (an SQLite file is deleted first; on PostgreSQL the
/// benchmark's own schema is dropped).
pub(super) async fn fresh(location: &Location) -> Result<Concrete, String> {
    match location {
        Location::Sqlite(path) => {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
            asyncapex::SqliteStore::open(path)
                .await
                .map(Concrete::Sqlite)
                .map_err(|e| e.to_string())
        }
        Location::Postgres(url) => {
            asyncapex::PostgresStore::drop_schema(url, PG_SCHEMA)
                .await
                .map_err(|e| e.to_string())?;
            let options = asyncapex::PostgresOptions {
                schema: PG_SCHEMA.into(),
                ..Default::default()
            };
            asyncapex::PostgresStore::connect_with(url, options)
                .await
                .map(Concrete::Postgres)
                .map_err(|e| e.to_string())
        }
    }
}

/// The queue's no-op job (W2).
#[derive(Serialize, Deserialize)]
struct ScaleNoop {
    i: u64,
}

impl Queueable for ScaleNoop {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        Ok(())
    }
}

/// Enqueue → start latencies (µs) the probes saw.
static PROBE_LATENCIES: Mutex<Vec<u64>> = Mutex::new(Vec::new());

/// A job that records how long after its enqueue it started (W3).
#[derive(Serialize, Deserialize)]
struct ScaleProbe {
    enqueued_us: i64,
}

impl Queueable for ScaleProbe {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        let waited = jiff::Timestamp::now().as_microsecond() - self.enqueued_us;
        if let Ok(mut l) = PROBE_LATENCIES.lock() {
            l.push(u64::try_from(waited).unwrap_or(0));
        }
        Ok(())
    }
}

/// `builder` with the benchmark's job types registered.
pub(super) fn register(builder: asyncapex::EngineBuilder) -> asyncapex::EngineBuilder {
    builder.register::<ScaleNoop>().register::<ScaleProbe>()
}

async fn engine(store: Arc<dyn Store>, concurrency: usize) -> Result<Engine, String> {
    register(Engine::builder())
        .store(store)
        .limits(Limits::unlimited())
        // The filled history is the point: no cleaner may cut it during the run.
        .retention(Retention::forever())
        .concurrency(concurrency)
        .scheduler(false)
        .start()
        .await
        .map_err(|e| e.to_string())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)] as f64 / 1000.0
}

/// The current resident set size in KiB (Linux `VmRSS`).
fn rss_kib() -> u64 {
    super::proc_status_kib("VmRSS:").unwrap_or(0)
}

/// Times each view `repeat` times after one warm-up request; (median, max) ms per view.
async fn time_views(
    app: &axum::Router,
    repeat: u32,
) -> Result<Vec<(&'static str, f64, f64)>, String> {
    use tower::ServiceExt;
    let mut out = Vec::new();
    for (name, path) in VIEWS {
        let mut times = Vec::new();
        for i in 0..=repeat {
            let request = axum::http::Request::get(path)
                .body(axum::body::Body::empty())
                .map_err(|e| e.to_string())?;
            let started = Instant::now();
            let response = app
                .clone()
                .oneshot(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .map_err(|e| e.to_string())?;
            let took = started.elapsed();
            if !status.is_success() {
                return Err(format!("GET {path} answered {status}"));
            }
            if i > 0 {
                times.push(took);
            }
        }
        times.sort();
        let median = times.get(times.len() / 2).copied().unwrap_or_default();
        let max = times.last().copied().unwrap_or_default();
        out.push((name, ms(median), ms(max)));
    }
    Ok(out)
}

/// W2: `jobs` no-op jobs enqueued in bulk, then drained by a 1024-slot worker; jobs/s.
async fn w2(store: Arc<dyn Store>, jobs: u64) -> Result<f64, String> {
    let client = engine(store.clone(), 0).await?;
    for start in (0..jobs).step_by(10_000) {
        let end = (start + 10_000).min(jobs);
        client
            .enqueue_jobs((start..end).map(|i| ScaleNoop { i }))
            .await
            .map_err(|e| e.to_string())?;
    }
    client
        .shutdown(Duration::from_secs(5))
        .await
        .map_err(|e| e.to_string())?;
    let done_before = completed(store.as_ref()).await?;
    let started = Instant::now();
    let worker = engine(store.clone(), 1024).await?;
    // Polls the kept counts, as the peer harness's `count_done` does: the drain is timed,
    // not a wait that counts the queue.
    while completed(store.as_ref()).await? < done_before + jobs {
        if started.elapsed() > Duration::from_secs(900) {
            return Err("the W2 drain did not finish in 15 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rate = jobs as f64 / started.elapsed().as_secs_f64();
    worker
        .shutdown(Duration::from_secs(5))
        .await
        .map_err(|e| e.to_string())?;
    Ok(rate)
}

/// How many jobs are Completed.
async fn completed(store: &dyn Store) -> Result<u64, String> {
    let counts = store
        .job_count_by_status()
        .await
        .map_err(|e| e.to_string())?;
    Ok(counts
        .into_iter()
        .filter(|(s, _)| *s == asyncapex::JobStatus::Completed)
        .map(|(_, n)| n)
        .sum())
}

/// Purges records created before the fill's midpoint while probes measure W3 (one enqueue
/// every 2 ms on a running worker); (purged, rows/s, p50 ms, p99 ms, samples).
async fn purge_half(
    store: Arc<dyn Store>,
    fill: &FinishedJobsFill,
    batch: u32,
) -> Result<Purge, String> {
    let worker = engine(store, 64).await?;
    // The same probes for a second with nothing else running: the latency the purge adds to.
    let idle = probe_while(&worker, tokio::time::sleep(Duration::from_secs(1))).await?;
    let mid = fill.from + fill.to.duration_since(fill.from) / 2;
    let filter = PurgeFilter::before(mid).batch_size(batch);
    let bar = indicatif::ProgressBar::new(fill.count / 2);
    bar.set_style(
        indicatif::ProgressStyle::with_template("  purging [{bar:30}] {pos}/{len} records")
            .map_err(|e| e.to_string())?,
    );
    let started = Instant::now();
    let mut purge = std::pin::pin!(worker.purge(&filter, |n| bar.inc(n)));
    let mut purged = None;
    let during = probe_while(&worker, async {
        purged = Some(purge.as_mut().await);
    })
    .await?;
    let took = started.elapsed();
    bar.finish_and_clear();
    let purged = purged
        .ok_or("the purge did not finish")?
        .map_err(|e| e.to_string())?;
    worker
        .wait_idle(Duration::from_secs(60))
        .await
        .map_err(|e| e.to_string())?;
    worker
        .shutdown(Duration::from_secs(5))
        .await
        .map_err(|e| e.to_string())?;
    Ok(Purge {
        purged,
        rows_per_s: purged as f64 / took.as_secs_f64(),
        idle,
        during,
    })
}

/// W3 latencies (ms) seen by probes: p50, p99, how many.
#[derive(Debug, Clone, Copy, Serialize)]
pub(super) struct Latency {
    pub(super) p50_ms: f64,
    pub(super) p99_ms: f64,
    pub(super) samples: usize,
}

/// What the purge measured.
struct Purge {
    purged: u64,
    rows_per_s: f64,
    idle: Latency,
    during: Latency,
}

/// Enqueues a probe every 2 ms on `worker` until `until` finishes; their W3 latencies.
pub(super) async fn probe_while(
    worker: &Engine,
    until: impl std::future::Future<Output = ()>,
) -> Result<Latency, String> {
    if let Ok(mut l) = PROBE_LATENCIES.lock() {
        l.clear();
    }
    let sent = std::sync::atomic::AtomicUsize::new(0);
    let probes = async {
        let mut tick = tokio::time::interval(Duration::from_millis(2));
        loop {
            tick.tick().await;
            let probe = ScaleProbe {
                enqueued_us: jiff::Timestamp::now().as_microsecond(),
            };
            if let Err(e) = worker.enqueue_job(probe).await {
                return e.to_string();
            }
            sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    };
    tokio::select! {
        () = until => {}
        e = probes => return Err(e),
    }
    // Every probe sent has started (and recorded its latency), whatever else waits.
    let sent = sent.load(std::sync::atomic::Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut latencies = loop {
        let seen = PROBE_LATENCIES
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default();
        if seen.len() >= sent {
            break seen;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{} of {sent} probes did not start in 60 s",
                sent - seen.len()
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    latencies.sort_unstable();
    Ok(Latency {
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        samples: latencies.len(),
    })
}

/// Runs the benchmark for each row count.
pub(crate) async fn run(args: ScaleArgs) -> Result<(), String> {
    let location = crate::database::parse(&args.store)?;
    if let Location::Sqlite(path) = &location
        && let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    let mut out = match &args.out {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?,
        ),
        None => None,
    };
    for &rows in &args.rows {
        let concrete = fresh(&location).await?;
        let store = concrete.shared();
        eprintln!("{} with {rows} finished job records:", concrete.name());

        let fill = FinishedJobsFill::over_days(rows, 30, jiff::Timestamp::now());
        let bar = indicatif::ProgressBar::new(rows);
        bar.set_style(
            indicatif::ProgressStyle::with_template("  filling [{bar:30}] {pos}/{len} records")
                .map_err(|e| e.to_string())?,
        );
        let started = Instant::now();
        concrete.fill(&fill, |n| bar.inc(n)).await?;
        let fill_rate = rows as f64 / started.elapsed().as_secs_f64().max(1e-9);
        bar.finish_and_clear();

        let dashboard = engine(store.clone(), 0).await?;
        let auth = asyncapex_web::Auth::new("bench-scale-token").map_err(|e| e.to_string())?;
        let app = asyncapex_web::router(asyncapex_web::WebState::new(dashboard.clone(), auth));
        let views = time_views(&app, args.repeat).await?;
        dashboard
            .shutdown(Duration::from_secs(5))
            .await
            .map_err(|e| e.to_string())?;

        let mut w2_runs = Vec::new();
        for _ in 0..args.w2_reps.max(1) {
            w2_runs.push(w2(store.clone(), args.w2_jobs).await?);
        }
        let mut sorted = w2_runs.clone();
        sorted.sort_by(f64::total_cmp);
        let w2_rate = sorted[sorted.len() / 2];
        let rss_before = rss_kib();
        let purge = if args.skip_purge {
            None
        } else {
            Some(purge_half(store.clone(), &fill, args.purge_batch).await?)
        };
        let figures = Figures {
            store: concrete.name(),
            rows,
            fill_rows_per_s: fill_rate,
            views_median_ms: views.iter().map(|(n, m, _)| (*n, *m)).collect(),
            views_max_ms: views.iter().map(|(n, _, m)| (*n, *m)).collect(),
            w2_jobs_per_s: w2_rate,
            w2_runs: w2_runs.clone(),
            purged: purge.as_ref().map_or(0, |p| p.purged),
            purge_rows_per_s: purge.as_ref().map_or(f64::NAN, |p| p.rows_per_s),
            w3_idle: purge.as_ref().map(|p| p.idle),
            w3_during_purge: purge.as_ref().map(|p| p.during),
            rss_before_purge_kib: rss_before,
            rss_after_purge_kib: rss_kib(),
        };
        println!(
            "{:>8} {:>10} rows  fill {:>9.0} rows/s",
            figures.store, rows, figures.fill_rows_per_s
        );
        for (name, median, max) in &views {
            println!("    {name:<24} median {median:>8.2} ms   max {max:>8.2} ms");
        }
        println!(
            "    W2 {:.0} jobs/s ({} jobs, median of {:?})",
            figures.w2_jobs_per_s,
            args.w2_jobs,
            w2_runs.iter().map(|r| r.round()).collect::<Vec<_>>()
        );
        if let Some(p) = &purge {
            println!(
                "    purge {} rows at {:.0} rows/s; W3 p50/p99 idle {:.2}/{:.2} ms ({} probes), during the purge {:.2}/{:.2} ms ({} probes); RSS {} -> {} KiB",
                p.purged,
                p.rows_per_s,
                p.idle.p50_ms,
                p.idle.p99_ms,
                p.idle.samples,
                p.during.p50_ms,
                p.during.p99_ms,
                p.during.samples,
                figures.rss_before_purge_kib,
                figures.rss_after_purge_kib
            );
        }
        if let Some(file) = out.as_mut() {
            use std::io::Write;
            let line = serde_json::to_string(&figures).map_err(|e| e.to_string())?;
            writeln!(file, "{line}").map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
