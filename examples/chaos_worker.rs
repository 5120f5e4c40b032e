//! The worker of the chaos suite (`tests/chaos/chaos.py`): a real process that the suite
//! kills with SIGKILL at random moments.
//!
//! ```text
//! chaos_worker prefill <database> <n>    # n queued jobs 0..n
//! chaos_worker work <database> <log>     # run jobs; append "<i> <unix ns>" to <log> at each start
//! chaos_worker status <database>         # {"Completed": …, "Queued": …, …} as one JSON line
//! ```
//!
//! `<database>` is an SQLite path or a `postgres://` URL (schema `asyncapex_chaos`). Leases
//! and rescue passes are the engine's defaults (`CHAOS_LEASE_MS` and `CHAOS_RESCUE_MS` set others), each job works `CHAOS_JOB_MS` (default 20) so killed workers' jobs come back quickly, and a
//! job may be claimed up to 1,000 times: a job in flight at many kills must not be failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use asyncapex::{Engine, JobError, Queueable, QueueableContext};
use serde::{Deserialize, Serialize};

static LOG: OnceLock<Mutex<std::fs::File>> = OnceLock::new();
/// How long each job works (`CHAOS_JOB_MS`, default 20): long enough that kills land while
/// jobs are in flight.
static JOB_TIME: OnceLock<Duration> = OnceLock::new();

#[derive(Serialize, Deserialize)]
struct ChaosJob {
    i: u64,
}

impl Queueable for ChaosJob {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        if let Some(log) = LOG.get() {
            // Written before the work, unbuffered: a start the process did not survive is
            // still on disk, so a later re-run of this job is explained by the kill.
            let at = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos();
            writeln!(log.lock().unwrap(), "{} {at}", self.i)?;
        }
        tokio::time::sleep(*JOB_TIME.get_or_init(|| {
            Duration::from_millis(
                std::env::var("CHAOS_JOB_MS")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(20),
            )
        }))
        .await;
        Ok(())
    }
}

async fn engine(database: &str, concurrency: usize) -> Engine {
    let builder = Engine::builder()
        .register::<ChaosJob>()
        .concurrency(concurrency)
        .poll_interval(Duration::from_millis(200))
        .max_attempts(1000)
        .limits(asyncapex::Limits::unlimited());
    // The engine's own lease and rescue timing unless the run asks for other ones.
    let builder = match std::env::var("CHAOS_LEASE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(ms) => builder.lease_duration(Duration::from_millis(ms)),
        None => builder,
    };
    let builder = match std::env::var("CHAOS_RESCUE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(ms) => builder.rescue_interval(Duration::from_millis(ms)),
        None => builder,
    };
    let builder = if database.starts_with("postgres") {
        #[cfg(feature = "postgres")]
        {
            builder.postgres_with(
                database,
                asyncapex::PostgresOptions {
                    schema: "asyncapex_chaos".into(),
                    ..Default::default()
                },
            )
        }
        #[cfg(not(feature = "postgres"))]
        panic!("build with --features postgres for a PostgreSQL database")
    } else {
        builder.sqlite(database)
    };
    builder.start().await.expect("start the engine")
}

#[tokio::main]
async fn main() {
    // Warnings and the rescuer's notes go to stderr, which the suite keeps per process.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("asyncapex=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: chaos_worker prefill <db> <n> | work <db> <log> | status <db>";
    let (command, database) = match (args.get(1), args.get(2)) {
        (Some(c), Some(d)) => (c.as_str(), d.as_str()),
        _ => panic!("{usage}"),
    };
    match command {
        "prefill" => {
            let n: u64 = args.get(3).and_then(|v| v.parse().ok()).expect(usage);
            let engine = engine(database, 0).await;
            engine
                .enqueue_jobs((0..n).map(|i| ChaosJob { i }))
                .await
                .expect("prefill");
        }
        "work" => {
            let path = args.get(3).expect(usage);
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("open the start log");
            LOG.set(Mutex::new(file)).expect("one log");
            let engine = engine(database, 16).await;
            // Runs until killed, or until its store is gone for good.
            let failed = engine.wait_failure().await;
            eprintln!("chaos_worker: {failed}");
            std::process::exit(1);
        }
        "status" => {
            let engine = engine(database, 0).await;
            let counts: std::collections::BTreeMap<String, u64> = engine
                .store()
                .job_count_by_status()
                .await
                .expect("count")
                .into_iter()
                .map(|(status, n)| (status.to_string(), n))
                .collect();
            println!("{}", serde_json::to_string(&counts).unwrap());
        }
        _ => panic!("{usage}"),
    }
}
