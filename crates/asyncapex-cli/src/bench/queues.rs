//! `asyncapex bench queues`: what named queues and priorities cost a drain, and how close a
//! rate limit's achieved rate is to its setting.
//!
//! W2 twice per repetition, interleaved so the machine's drift hits both alike: N no-op jobs
//! pre-queued in the default queue and drained by one engine with 1,024 slots, then N jobs
//! spread over 4 queues and 3 priorities drained by one engine with 256 slots per queue.
//! Then a rate-limited queue drained by two engines on the same store: the starts per second
//! achieved over the run, and the most starts seen in any one-second window.

use std::time::{Duration, Instant};

use asyncapex::{
    Engine, EnqueueOptions, JobError, Limits, Queue, Queueable, QueueableContext, Retention,
};
use serde::{Deserialize, Serialize};

use super::scale::{Concrete, fresh};
use crate::database::Location;

/// What `bench queues` was asked for.
#[derive(Debug, clap::Args)]
pub struct QueuesArgs {
    /// Where: an SQLite file (deleted and recreated) or a PostgreSQL URL (its benchmark
    /// schema is dropped and recreated).
    #[arg(long)]
    store: String,
    /// Jobs per W2 drain.
    #[arg(long, default_value_t = 100_000)]
    jobs: u64,
    /// Repetitions of each W2 variant, interleaved.
    #[arg(long, default_value_t = 3)]
    reps: u32,
    /// Priorities the spread variant uses (job i gets priority (i / 4) mod this).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=10))]
    priorities: u8,
    /// The rate limit to measure, in starts per second.
    #[arg(long, default_value_t = 1_000)]
    rate: u32,
    /// How long the rate-limited drain runs, in seconds.
    #[arg(long, default_value_t = 10)]
    rate_seconds: u64,
    /// Append the figures as one JSON line to this file.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

/// A no-op job; `rated` marks the rate-limited run's jobs in their payload.
#[derive(Serialize, Deserialize)]
struct QueueNoop {
    rated: bool,
}

impl Queueable for QueueNoop {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        Ok(())
    }
}

/// The figures of one run.
#[derive(Debug, Serialize)]
struct Figures {
    store: &'static str,
    jobs: u64,
    single_queue_jobs_per_s: Vec<f64>,
    four_queues_three_priorities_jobs_per_s: Vec<f64>,
    priorities: u8,
    ratio_of_medians: f64,
    rate_limit_per_s: u32,
    rate_achieved_per_s: f64,
    rate_max_in_any_second: usize,
    rate_engines: u32,
}

const QUEUES: [&str; 4] = ["q0", "q1", "q2", "q3"];

fn engine(store: &Concrete) -> asyncapex::EngineBuilder {
    Engine::builder()
        .store(store.shared())
        .register::<QueueNoop>()
        .limits(Limits::unlimited())
        .retention(Retention::forever())
        .scheduler(false)
}

/// Queues `n` no-op jobs, spread over 4 queues and 3 priorities when `spread`.
async fn prefill(store: &Concrete, n: u64, spread: Option<u8>) -> Result<(), String> {
    let writer = engine(store)
        .concurrency(0)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let mut left = n;
    let mut i = 0_u64;
    while left > 0 {
        let mut tx = writer.begin();
        for _ in 0..left.min(10_000) {
            let options = match spread {
                Some(priorities) => EnqueueOptions::default()
                    .queue(QUEUES[(i % 4) as usize])
                    .priority(((i / 4) % u64::from(priorities)) as u8),
                None => EnqueueOptions::default(),
            };
            tx.enqueue_job_with(QueueNoop { rated: false }, options)
                .map_err(|e| e.to_string())?;
            i += 1;
        }
        left -= left.min(10_000);
        tx.commit().await.map_err(|e| e.to_string())?;
    }
    writer
        .shutdown(Duration::from_secs(10))
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// One W2 drain: jobs/s from the moment the worker may claim until its last completion.
/// The queues are paused while the worker starts (so start-up is not timed), and
/// completions are counted from the worker's own events (no store query competes with it).
async fn drain(location: &Location, n: u64, spread: Option<u8>) -> Result<f64, String> {
    let store = fresh(location).await?;
    prefill(&store, n, spread).await?;
    let names: Vec<&str> = if spread.is_some() {
        QUEUES.to_vec()
    } else {
        vec![asyncapex::queue::DEFAULT_QUEUE]
    };
    let shared = store.shared();
    for q in &names {
        shared
            .queue_pause((*q).to_owned(), jiff::Timestamp::now())
            .await
            .map_err(|e| e.to_string())?;
    }
    let builder = if spread.is_some() {
        QUEUES.iter().fold(engine(&store).concurrency(0), |b, q| {
            b.queue(Queue::new(*q).concurrency(256))
        })
    } else {
        engine(&store).concurrency(1024)
    };
    let worker = builder.start().await.map_err(|e| e.to_string())?;
    let mut ended = worker.subscribe_jobs();
    let began = Instant::now();
    for q in &names {
        worker.resume_queue(q).await.map_err(|e| e.to_string())?;
    }
    let mut done = 0_u64;
    while done < n {
        match tokio::time::timeout(Duration::from_secs(600), ended.recv()).await {
            Ok(Ok(e)) if e.status == asyncapex::JobStatus::Completed => done += 1,
            Ok(Ok(e)) => return Err(format!("job {} ended {}", e.id, e.status)),
            // Every job here completes: missed events are completions.
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(missed))) => done += missed,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err(format!("only {done} of {n} completed in 600 s")),
        }
    }
    let rate = n as f64 / began.elapsed().as_secs_f64();
    worker
        .shutdown(Duration::from_secs(10))
        .await
        .map_err(|e| e.to_string())?;
    Ok(rate)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(0.0)
}

/// The rate-limited drain: two engines on one store share one limit.
async fn rated(location: &Location, rate: u32, seconds: u64) -> Result<(f64, usize), String> {
    let store = fresh(location).await?;
    let queue = || {
        Queue::new("rated")
            .concurrency(256)
            .rate_limit(rate, Duration::from_secs(1))
    };
    let writer = engine(&store)
        .concurrency(0)
        .queue(queue().concurrency(0))
        .start()
        .await
        .map_err(|e| e.to_string())?;
    // More than the run can start, so the limit (not the supply) decides the rate.
    let total = u64::from(rate) * (seconds + 3);
    let mut left = total;
    while left > 0 {
        let mut tx = writer.begin();
        for _ in 0..left.min(10_000) {
            tx.enqueue_job_with(
                QueueNoop { rated: true },
                EnqueueOptions::default().queue("rated"),
            )
            .map_err(|e| e.to_string())?;
        }
        left -= left.min(10_000);
        tx.commit().await.map_err(|e| e.to_string())?;
    }
    let a = engine(&store)
        .concurrency(0)
        .queue(queue())
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let b = engine(&store)
        .concurrency(0)
        .queue(queue())
        .start()
        .await
        .map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_secs(seconds + 1)).await;
    // The claim times the store enforced the limit on (an execution starts a moment later).
    let mut starts = Vec::new();
    let mut before = None;
    loop {
        let page = writer
            .jobs(asyncapex::JobListParams {
                statuses: vec![asyncapex::JobStatus::Completed],
                before,
                limit: 500,
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        starts.extend(page.iter().filter_map(|j| j.attempt_started_at));
    }
    for e in [a, b, writer] {
        e.shutdown(Duration::from_secs(10))
            .await
            .map_err(|e| e.to_string())?;
    }
    starts.sort();
    let Some(first) = starts.first().copied() else {
        return Err("no rate-limited job started".into());
    };
    // The achieved rate over whole windows from the first start, and the worst window.
    let window = jiff::SignedDuration::from_secs(seconds as i64);
    let second = jiff::SignedDuration::from_secs(1);
    let within = starts
        .iter()
        .filter(|s| s.duration_since(first) < window)
        .count();
    let mut worst = 0;
    let mut lo = 0;
    for hi in 0..starts.len() {
        while starts[hi].duration_since(starts[lo]) >= second {
            lo += 1;
        }
        worst = worst.max(hi - lo + 1);
    }
    Ok((within as f64 / seconds as f64, worst))
}

pub(crate) async fn run(args: QueuesArgs) -> Result<(), String> {
    let location = crate::database::parse(&args.store)?;
    let name = match location {
        Location::Sqlite(_) => "sqlite",
        Location::Postgres(_) => "postgres",
    };
    let (mut single, mut spread) = (Vec::new(), Vec::new());
    for rep in 1..=args.reps {
        single.push(drain(&location, args.jobs, None).await?);
        spread.push(drain(&location, args.jobs, Some(args.priorities)).await?);
        println!(
            "rep {rep}: W2 single queue {:.0} jobs/s, 4 queues x {} priorities {:.0} jobs/s",
            single[single.len() - 1],
            args.priorities,
            spread[spread.len() - 1]
        );
    }
    let (achieved, worst) = rated(&location, args.rate, args.rate_seconds).await?;
    let figures = Figures {
        store: name,
        jobs: args.jobs,
        priorities: args.priorities,
        ratio_of_medians: median(&spread) / median(&single),
        single_queue_jobs_per_s: single,
        four_queues_three_priorities_jobs_per_s: spread,
        rate_limit_per_s: args.rate,
        rate_achieved_per_s: achieved,
        rate_max_in_any_second: worst,
        rate_engines: 2,
    };
    println!(
        "{name}: W2 4 queues x {} priorities = {:.0}% of single-queue W2 (medians of {}); rate limit {}/s: achieved {achieved:.1}/s ({:+.2}%), at most {worst} in any second, 2 engines",
        args.priorities,
        figures.ratio_of_medians * 100.0,
        args.reps,
        args.rate,
        (achieved / f64::from(args.rate) - 1.0) * 100.0
    );
    let line = serde_json::to_string(&figures).map_err(|e| e.to_string())?;
    println!("{line}");
    if let Some(path) = args.out {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        writeln!(f, "{line}").map_err(|e| e.to_string())?;
    }
    Ok(())
}
