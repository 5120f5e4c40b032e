//! The Apex Developer Guide's scheduling example, in Rust: a `Schedulable` class scheduled
//! with a cron expression, paused, resumed and deleted by ID.
//!
//! ```apex
//! public class ScheduledCleanup implements Schedulable {
//!     public void execute(SchedulableContext sc) { … }
//! }
//! String jobId = System.schedule('Cleanup', '*/2 * * * * ?', new ScheduledCleanup());
//! System.abortJob(jobId);
//! ```
//!
//! Run it with `cargo run --example schedule` (it takes about five seconds).

use std::time::Duration;

use asyncapex::{CronExpr, Engine, JobError, Schedulable, SchedulableContext, ScheduleOptions};
use serde::{Deserialize, Serialize};

/// Runs at each fire time; hands any real work to queueables or a batch.
#[derive(Serialize, Deserialize)]
struct ScheduledCleanup {
    keep_days: u32,
}

impl Schedulable for ScheduledCleanup {
    async fn execute(&mut self, ctx: &mut SchedulableContext) -> Result<(), JobError> {
        println!(
            "{} fired by {} at {}: removing records older than {} days",
            ctx.job_id(),
            ctx.trigger_id(),
            ctx.now().strftime("%H:%M:%S"),
            self.keep_days
        );
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), asyncapex::Error> {
    let engine = Engine::builder()
        .in_memory()
        .register_schedulable::<ScheduledCleanup>()
        .start()
        .await?;
    // Quartz/Apex syntax: seconds minutes hours day-of-month month day-of-week [year].
    let every_two_seconds = "*/2 * * * * ?";
    if let Ok(expr) = CronExpr::parse(every_two_seconds) {
        println!("\"{every_two_seconds}\" fires {}", expr.explain());
    }
    let id = engine
        .schedule_with(
            "Cleanup",
            every_two_seconds,
            ScheduledCleanup { keep_days: 30 },
            ScheduleOptions::default().time_zone("America/New_York"),
        )
        .await?;
    println!("scheduled {id}");
    tokio::time::sleep(Duration::from_millis(4500)).await;

    engine.pause_schedule("Cleanup").await?;
    println!(
        "paused: {}",
        engine
            .schedule_record("Cleanup")
            .await?
            .state(jiff::Timestamp::now())
    );
    // Resuming runs it once at once, then it follows its schedule again.
    engine.resume_schedule("Cleanup").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Apex's System.abortJob on a CronTrigger ID deletes the schedule.
    engine.abort_job(id).await?;
    engine.wait_idle(Duration::from_secs(10)).await?;
    let record = engine.schedule_record(&id.to_string()).await?;
    println!(
        "{id}: fired {} times, now {}",
        record.times_triggered,
        record.state(jiff::Timestamp::now())
    );
    engine.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}
