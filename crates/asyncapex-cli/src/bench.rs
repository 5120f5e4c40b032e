//! `asyncapex bench …`: benchmark programs that print figures (never timed tests).

use std::time::{Duration, Instant};

use asyncapex::{BatchContext, Batchable, Engine, JobError, JobStatus, Limits, WorkSet};
use clap::Subcommand;
use serde::{Deserialize, Serialize};

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
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

/// The process's peak resident set size in KiB, from the OS (Linux `VmHWM`).
pub(crate) fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

pub(crate) async fn run(cmd: BenchCommand) -> Result<(), String> {
    match cmd {
        BenchCommand::Batch {
            items,
            scope,
            stateful,
            file,
        } => batch(items, scope, stateful, file).await,
    }
}

async fn batch(
    items: u64,
    scope: u32,
    stateful: bool,
    file: Option<std::path::PathBuf>,
) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let path = file.unwrap_or_else(|| dir.path().join("bench-batch.db"));
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
    println!("{line}");
    println!(
        "batch of {items} items at scope {scope}{}: {seconds:.2} s, {:.0} items/s, {:.0} chunks/s, peak RSS {} MiB",
        if stateful { " (stateful)" } else { "" },
        items as f64 / seconds,
        chunks as f64 / seconds,
        peak.map(|k| format!("{:.1}", k as f64 / 1024.0))
            .unwrap_or_else(|| "unknown".into())
    );
    engine
        .shutdown(Duration::from_secs(5))
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}
