//! `asyncapex demo`: the classic Apex examples, on the embedded store.
//!
//! * A queueable that updates a slice of accounts and chains the next job with the rest — the
//!   Apex Developer Guide's chaining example.
//! * The chain's last job calls a future method, which runs later in its own execution.
//! * A schedule that fires every two seconds while the demo runs (deleted when it has fired
//!   twice).
//! * A stateful batch over a million generated orders, with a progress bar.
//! * A "callout" that fails twice; its transaction finalizer re-enqueues it until it succeeds —
//!   the Developer Guide's finalizer retry example.

use std::time::Duration;

use asyncapex::{
    BatchContext, Batchable, CronExpr, Finalizer, FinalizerContext, JobError, JobListParams,
    JobRecord, JobStatus, Queueable, QueueableContext, Schedulable, SchedulableContext, WorkSet,
};
use serde::{Deserialize, Serialize};

use crate::database::{builder, describe, parse};
use crate::jobs::time;
use crate::table;

/// Updates the first `per_job` accounts, then chains a job for the rest.
#[derive(Debug, Serialize, Deserialize)]
struct UpdateAccounts {
    accounts: Vec<String>,
    per_job: usize,
}

impl Queueable for UpdateAccounts {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        let take = self.per_job.min(self.accounts.len());
        let rest = self.accounts.split_off(take);
        let depth = ctx.async_info().current_queueable_stack_depth;
        // Simulated work: a real job would write to the application's database here.
        tokio::time::sleep(Duration::from_millis(50)).await;
        if rest.is_empty() {
            // The last link tells the sales team in a transaction of its own (a future call,
            // committed only if this job succeeds).
            let note = notify_sales_team::future(&*ctx, self.accounts.clone()).await?;
            println!(
                "  UpdateAccounts {} (depth {depth}): updated {}; chain complete, called notify_sales_team later as {note}",
                ctx.job_id(),
                self.accounts.join(", ")
            );
        } else {
            let next = ctx.enqueue_job(UpdateAccounts {
                accounts: rest.clone(),
                per_job: self.per_job,
            })?;
            println!(
                "  UpdateAccounts {} (depth {depth}): updated {}; chained {next} for {} more",
                ctx.job_id(),
                self.accounts.join(", "),
                rest.len()
            );
        }
        Ok(())
    }
}

/// A scheduled job (Apex's `Schedulable`) that reports the queue every few seconds.
#[derive(Debug, Serialize, Deserialize)]
struct QueueReport;

impl Schedulable for QueueReport {
    async fn execute(&mut self, ctx: &mut SchedulableContext) -> Result<(), JobError> {
        println!(
            "  QueueReport {} fired by schedule {} at {}",
            ctx.job_id(),
            ctx.trigger_id(),
            ctx.now().strftime("%H:%M:%S")
        );
        Ok(())
    }
}

/// One generated order of the demo's batch.
#[derive(Debug, Serialize, Deserialize)]
struct Order {
    id: u64,
    cents: u64,
}

/// Totals a million generated orders (Apex's `Database.Batchable` + `Database.Stateful`).
#[derive(Debug, Default, Serialize, Deserialize)]
struct RevenueRollup {
    orders: u64,
    total_cents: u64,
}

/// Orders in the demo's batch.
const DEMO_ORDERS: u64 = 1_000_000;

impl Batchable for RevenueRollup {
    type Item = Order;
    const STATEFUL: bool = true;

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<Order>, JobError> {
        Ok(WorkSet::iter((1..=DEMO_ORDERS).map(|id| Order {
            id,
            cents: (id * 7919) % 10_000,
        })))
    }

    async fn execute(
        &mut self,
        _ctx: &mut BatchContext,
        scope: Vec<Order>,
    ) -> Result<(), JobError> {
        self.orders += scope.len() as u64;
        self.total_cents += scope.iter().map(|o| o.cents).sum::<u64>();
        Ok(())
    }

    async fn finish(&mut self, ctx: &mut BatchContext) -> Result<(), JobError> {
        println!(
            "  RevenueRollup {} finish: {} orders, revenue {}.{:02}",
            ctx.job_id(),
            self.orders,
            self.total_cents / 100,
            self.total_cents % 100
        );
        Ok(())
    }
}

/// The demo's schedule name; a leftover from an interrupted run is replaced.
const SCHEDULE_NAME: &str = "Demo queue report";

/// Tells the sales team which accounts were updated (Apex's fire-and-forget `@future`).
#[asyncapex::future]
async fn notify_sales_team(accounts: Vec<String>) -> Result<(), JobError> {
    println!(
        "  notify_sales_team (future): account updates finished with {}",
        accounts.join(", ")
    );
    Ok(())
}

/// Sends an invoice to an external system that is down for the first two tries.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SyncInvoice {
    invoice: String,
    try_number: u32,
    succeeds_on_try: u32,
}

impl Queueable for SyncInvoice {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        ctx.attach_finalizer(RetrySyncInvoice { job: self.clone() })?;
        if self.try_number < self.succeeds_on_try {
            println!(
                "  SyncInvoice {} try {}: billing service unavailable",
                ctx.job_id(),
                self.try_number
            );
            return Err(JobError::new(format!(
                "callout to the billing service failed for {} (HTTP 503)",
                self.invoice
            )));
        }
        println!(
            "  SyncInvoice {} try {}: invoice {} sent",
            ctx.job_id(),
            self.try_number,
            self.invoice
        );
        Ok(())
    }
}

/// Re-enqueues a failed invoice sync (the engine stops it after 5 consecutive retries).
#[derive(Debug, Serialize, Deserialize)]
struct RetrySyncInvoice {
    job: SyncInvoice,
}

impl Finalizer for RetrySyncInvoice {
    async fn execute(&mut self, ctx: &mut FinalizerContext) -> Result<(), JobError> {
        if let Some(error) = ctx.error().map(str::to_owned) {
            let mut retry = self.job.clone();
            retry.try_number += 1;
            let id = ctx.enqueue_job(retry)?;
            println!(
                "  RetrySyncInvoice finalizer of {}: it failed ({error}); retrying as {id}",
                ctx.async_apex_job_id()
            );
        }
        Ok(())
    }
}

/// `asyncapex demo [--serve]`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Keep serving the dashboard on the demo's database afterwards (prints the URL and token).
    #[arg(long)]
    pub serve: bool,
    /// Where and how to serve with --serve.
    #[command(flatten)]
    pub server: crate::serve::ServeArgs,
}

pub(crate) async fn run(database: &str, args: DemoArgs) -> Result<(), String> {
    let location = parse(database)?;
    let shown = describe(&location);
    println!("asyncapex demo on {shown}\n");
    let engine = builder(&location)
        .register::<UpdateAccounts>()
        .register::<SyncInvoice>()
        .register_finalizer::<RetrySyncInvoice>()
        .register_schedulable::<QueueReport>()
        .register_batch::<RevenueRollup>()
        .concurrency(4)
        .start()
        .await
        .map_err(|e| format!("cannot start the engine on {shown}: {e}"))?;

    let accounts = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark"]
        .map(String::from)
        .to_vec();
    let chain = engine
        .enqueue_job(UpdateAccounts {
            accounts,
            per_job: 2,
        })
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "enqueued UpdateAccounts {chain}: six accounts, two per job, each job chains the next"
    );
    let sync = engine
        .enqueue_job(SyncInvoice {
            invoice: "INV-1001".into(),
            try_number: 1,
            succeeds_on_try: 3,
        })
        .await
        .map_err(|e| e.to_string())?;
    println!("enqueued SyncInvoice {sync}: fails twice, its finalizer retries it");
    if let Ok(old) = engine.schedule_record(SCHEDULE_NAME).await
        && old.stored_state != asyncapex::StoredTriggerState::Deleted
    {
        engine.abort_job(old.id).await.map_err(|e| e.to_string())?;
    }
    let schedule = engine
        .schedule(SCHEDULE_NAME, "*/2 * * * * ?", QueueReport)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "scheduled QueueReport as {schedule}: \"*/2 * * * * ?\" ({}), until it has fired twice\n",
        CronExpr::parse("*/2 * * * * ?")
            .map(|e| e.explain())
            .unwrap_or_default()
    );

    engine
        .wait_idle(Duration::from_secs(60))
        .await
        .map_err(|e| e.to_string())?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let record = engine
            .schedule_record(SCHEDULE_NAME)
            .await
            .map_err(|e| e.to_string())?;
        if record.times_triggered >= 2 {
            break;
        }
        if std::time::Instant::now() > deadline {
            return Err("the demo schedule did not fire twice within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    engine
        .abort_job(schedule)
        .await
        .map_err(|e| e.to_string())?;
    engine
        .wait_idle(Duration::from_secs(60))
        .await
        .map_err(|e| e.to_string())?;
    let record = engine
        .schedule_record(&schedule.to_string())
        .await
        .map_err(|e| e.to_string())?;
    println!("\nschedule:");
    print!(
        "{}",
        crate::schedules::schedules_table(std::slice::from_ref(&record), jiff::Timestamp::now())
    );

    let batch = engine
        .execute_batch(RevenueRollup::default(), 200)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "\nsubmitted RevenueRollup {batch}: {DEMO_ORDERS} generated orders, 200 per chunk, stateful"
    );
    let started = std::time::Instant::now();
    let finished =
        crate::progress::watch(engine.store().as_ref(), batch, Duration::from_millis(100)).await?;
    println!(
        "RevenueRollup {batch}: {} after {:.1} s, {} of {} chunks, {} failed",
        finished.status,
        started.elapsed().as_secs_f64(),
        finished.items_processed,
        finished.total_items,
        finished.number_of_errors
    );
    engine
        .wait_idle(Duration::from_secs(60))
        .await
        .map_err(|e| e.to_string())?;

    let first = chain.min(sync);
    let jobs: Vec<JobRecord> = engine
        .jobs(JobListParams {
            limit: 500,
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|j| j.id >= first)
        .rev()
        .collect();
    println!("\nfinal statuses:");
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            vec![
                j.id.to_string(),
                j.job_type.to_string(),
                j.class_name.clone(),
                j.status.to_string(),
                j.parent_job_id.map(|p| p.to_string()).unwrap_or_default(),
                time(j.completed_at),
                j.extended_status.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(
            &[
                "Job ID",
                "Type",
                "Class",
                "Status",
                "Parent",
                "Completed (UTC)",
                "Status Detail"
            ],
            &rows,
            70
        )
    );
    let count = |s: JobStatus| jobs.iter().filter(|j| j.status == s).count();
    println!(
        "\n{} jobs: {} Completed, {} Failed (the failed tries were retried by the finalizer).",
        jobs.len(),
        count(JobStatus::Completed),
        count(JobStatus::Failed)
    );
    println!("See them again with: asyncapex --database {shown} jobs list");
    engine
        .shutdown(Duration::from_secs(5))
        .await
        .map_err(|e| e.to_string())?;
    if args.serve {
        println!();
        crate::serve::run(database, args.server, true).await?;
    }
    Ok(())
}
