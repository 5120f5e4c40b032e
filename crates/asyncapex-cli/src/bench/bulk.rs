//! `asyncapex bench bulk-retry`: an operator retries every failed job of a store at once.
//!
//! A fresh store is filled with finished records (2 % of them failed batches, as the scale
//! benchmark's fill makes them); then a worker's engine retries every Failed one through
//! `Engine::bulk_jobs` (100 per step) while probes measure enqueue → start latency (W3) of
//! unrelated jobs, beside the same probes on the idle worker first. The retried batches wait
//! in the flex queue (unlimited here) as Apex's do, and the worker promotes none of them
//! (`active_batch_jobs` 0): the probes share the store with the bulk action alone, which is
//! what this measures.

use std::time::{Duration, Instant};

use asyncapex::unstable::fill::FinishedJobsFill;
use asyncapex::{BulkAction, JobListParams, JobStatus};
use serde::Serialize;

use super::scale::{Latency, fresh, probe_while, register};

/// What `bench bulk-retry` was asked for.
#[derive(Debug, clap::Args)]
pub struct BulkRetryArgs {
    /// Where: an SQLite file (deleted and recreated) or a PostgreSQL URL (its benchmark
    /// schema is dropped and recreated).
    #[arg(long)]
    store: String,
    /// Finished records to fill; 2 % are failed batches (5,000,000 → 100,000 to retry).
    #[arg(long, default_value_t = 5_000_000)]
    rows: u64,
    /// Append the figures as one JSON line to this file.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

/// The figures of one run.
#[derive(Debug, Serialize)]
struct Figures {
    store: &'static str,
    rows: u64,
    failed: u64,
    retried: u64,
    seconds: f64,
    jobs_per_s: f64,
    w3_idle: Latency,
    w3_during: Latency,
}

/// Runs the benchmark once.
pub(crate) async fn run(args: BulkRetryArgs) -> Result<(), String> {
    let location = crate::database::parse(&args.store)?;
    let concrete = fresh(&location).await?;
    let store = concrete.shared();
    let fill = FinishedJobsFill::over_days(args.rows, 30, jiff::Timestamp::now());
    let bar = indicatif::ProgressBar::new(args.rows);
    bar.set_style(
        indicatif::ProgressStyle::with_template("  filling [{bar:30}] {pos}/{len} records")
            .map_err(|e| e.to_string())?,
    );
    concrete.fill(&fill, |n| bar.inc(n)).await?;
    bar.finish_and_clear();
    let failed = store
        .job_count_by_status()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|(s, _)| *s == JobStatus::Failed)
        .map(|(_, n)| n)
        .sum::<u64>();

    let worker = register(asyncapex::Engine::builder())
        .store(store.clone())
        .limits(asyncapex::Limits {
            active_batch_jobs: 0,
            ..asyncapex::Limits::unlimited()
        })
        .retention(asyncapex::Retention::forever())
        .concurrency(64)
        .scheduler(false)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let idle = probe_while(&worker, tokio::time::sleep(Duration::from_secs(1))).await?;
    let filter = JobListParams {
        statuses: vec![JobStatus::Failed],
        ..Default::default()
    };
    let bar = indicatif::ProgressBar::new(failed);
    bar.set_style(
        indicatif::ProgressStyle::with_template("  retrying [{bar:30}] {pos}/{len} jobs")
            .map_err(|e| e.to_string())?,
    );
    let started = Instant::now();
    let mut retry = std::pin::pin!(worker.bulk_jobs(BulkAction::Retry, &filter, |r| {
        bar.set_position(r.matched)
    }));
    let mut report = None;
    let during = probe_while(&worker, async {
        report = Some(retry.as_mut().await);
    })
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let report = report
        .ok_or("the bulk retry did not finish")?
        .map_err(|e| e.to_string())?;
    worker
        .shutdown(Duration::from_secs(5))
        .await
        .map_err(|e| e.to_string())?;
    let figures = Figures {
        store: concrete.name(),
        rows: args.rows,
        failed,
        retried: report.done,
        seconds,
        jobs_per_s: report.done as f64 / seconds.max(1e-9),
        w3_idle: idle,
        w3_during: during,
    };
    println!(
        "{}: {} failed of {} rows; retried {} in {:.2} s ({:.0} jobs/s); W3 p50/p99 idle {:.2}/{:.2} ms ({} probes), during the retry {:.2}/{:.2} ms ({} probes)",
        figures.store,
        failed,
        args.rows,
        figures.retried,
        seconds,
        figures.jobs_per_s,
        idle.p50_ms,
        idle.p99_ms,
        idle.samples,
        during.p50_ms,
        during.p99_ms,
        during.samples
    );
    if let Some(path) = &args.out {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let line = serde_json::to_string(&figures).map_err(|e| e.to_string())?;
        writeln!(file, "{line}").map_err(|e| e.to_string())?;
    }
    Ok(())
}
