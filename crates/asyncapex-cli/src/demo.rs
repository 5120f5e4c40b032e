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
//! * A small batch of leads, one of them bad: its chunk fails, raises a batch error event, and
//!   the batch still completes.
//!
//! It leaves behind what the admin commands show: a daily schedule still waiting, and two
//! batches holding in the flex queue (submitted with no worker running).
//!
//! Every line it prints fits an 80-column terminal (IDs are 18 characters, so a line names at
//! most two). The demo gives the same result every time: before it starts the engine it clears what an
//! earlier demo left on the database (its schedules, its unfinished jobs), and it refuses a
//! database that holds other unfinished work, which the engine would otherwise run too.

use std::time::Duration;

use asyncapex::unstable::store::{CronTriggerDeleteParams, JobAbortParams};
use asyncapex::{
    BatchContext, Batchable, CronExpr, CronTriggerListParams, Finalizer, FinalizerContext,
    JobError, JobListParams, JobRecord, JobStatus, Queueable, QueueableContext, Schedulable,
    SchedulableContext, WorkSet,
};
use serde::{Deserialize, Serialize};

use crate::database::{Location, builder, describe, parse};
use crate::error::CliError;
use crate::jobs::time;
use crate::output::{out, outln};
use crate::table::{self, Column};

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
            notify_sales_team::future(&*ctx, self.accounts.clone()).await?;
            // A closed standard output must not fail the job: the demo itself stops.
            let _ = outln!(
                "  UpdateAccounts {} depth {depth}: {}; last, calls a future",
                ctx.job_id(),
                self.accounts.join(", ")
            );
        } else {
            ctx.enqueue_job(UpdateAccounts {
                accounts: rest.clone(),
                per_job: self.per_job,
            })?;
            let _ = outln!(
                "  UpdateAccounts {} depth {depth}: {}; chained {} more",
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
        let _ = outln!(
            "  QueueReport {} fired by {} at {}",
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
        let _ = outln!(
            "  RevenueRollup {} finish: {} orders, revenue {}.{:02}",
            ctx.job_id(),
            self.orders,
            self.total_cents / 100,
            self.total_cents % 100
        );
        Ok(())
    }
}

/// The demo's two-second schedule, deleted once it has fired twice.
const SCHEDULE_NAME: &str = "Demo queue report";

/// The demo's daily schedule, left waiting for the admin commands to show.
const DAILY_NAME: &str = "Demo daily report";

/// The daily schedule's expression: 06:00 UTC every day.
const DAILY_CRON: &str = "0 0 6 * * ?";

/// Tells the sales team which accounts were updated (Apex's fire-and-forget `@future`).
#[asyncapex::future]
async fn notify_sales_team(accounts: Vec<String>) -> Result<(), JobError> {
    let _ = outln!(
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
            let _ = outln!(
                "  SyncInvoice {} try {}: billing service unavailable",
                ctx.job_id(),
                self.try_number
            );
            return Err(JobError::new(format!(
                "callout to the billing service failed for {} (HTTP 503)",
                self.invoice
            )));
        }
        let _ = outln!(
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
        if ctx.error().is_some() {
            let mut retry = self.job.clone();
            retry.try_number += 1;
            let id = ctx.enqueue_job(retry)?;
            // The error itself was printed by the try that failed.
            let _ = outln!(
                "  RetrySyncInvoice: {} failed, re-enqueued as {id}",
                ctx.async_apex_job_id()
            );
        }
        Ok(())
    }
}

/// A lead to import.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Lead {
    name: String,
    email: String,
}

/// Imports leads, two per chunk; a lead without a valid email address fails its chunk, which
/// raises a batch error event (Apex's `Database.RaisesPlatformEvents`).
#[derive(Debug, Default, Serialize, Deserialize)]
struct ImportLeads {
    leads: Vec<Lead>,
    imported: u64,
}

impl ImportLeads {
    fn new(leads: &[(&str, &str)]) -> Self {
        ImportLeads {
            leads: leads
                .iter()
                .map(|(name, email)| Lead {
                    name: (*name).to_owned(),
                    email: (*email).to_owned(),
                })
                .collect(),
            imported: 0,
        }
    }
}

impl Batchable for ImportLeads {
    type Item = Lead;
    const STATEFUL: bool = true;
    const RAISES_ERROR_EVENTS: bool = true;

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<Lead>, JobError> {
        Ok(WorkSet::iter(self.leads.clone()))
    }

    async fn execute(&mut self, _ctx: &mut BatchContext, scope: Vec<Lead>) -> Result<(), JobError> {
        if let Some(bad) = scope.iter().find(|l| !l.email.contains('@')) {
            return Err(JobError::new(format!(
                "lead {} has no valid email address ({:?})",
                bad.name, bad.email
            )));
        }
        self.imported += scope.len() as u64;
        Ok(())
    }

    async fn finish(&mut self, ctx: &mut BatchContext) -> Result<(), JobError> {
        let _ = outln!(
            "  ImportLeads {} finish: imported {} of {} leads",
            ctx.job_id(),
            self.imported,
            self.leads.len()
        );
        Ok(())
    }
}

/// The class names of every job the demo makes: work of other classes is not the demo's.
fn demo_classes() -> [&'static str; 7] {
    [
        <UpdateAccounts as Queueable>::class_name(),
        <SyncInvoice as Queueable>::class_name(),
        <RetrySyncInvoice as Finalizer>::class_name(),
        <QueueReport as Schedulable>::class_name(),
        <RevenueRollup as Batchable>::class_name(),
        <ImportLeads as Batchable>::class_name(),
        // A `#[future]` job's class is the module it is declared in.
        module_path!(),
    ]
}

/// Makes the database ready for a run that gives the same result every time: deletes the
/// schedules and aborts the unfinished jobs an earlier demo left, and refuses a database with
/// other unfinished work (the engine would run it, and its schedules would fire, during the
/// demo). Finished jobs of any kind stay: they are history, and the demo counts only its own.
async fn prepare(location: &Location, database: &str) -> Result<(), CliError> {
    if let Location::Sqlite(path) = location
        && !path.exists()
    {
        return Ok(());
    }
    let store = crate::database::open_existing(database).await?;
    let unfinished = store
        .job_list(JobListParams {
            statuses: vec![
                JobStatus::Holding,
                JobStatus::Queued,
                JobStatus::Preparing,
                JobStatus::Processing,
            ],
            limit: 10_000,
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let schedules = store
        .cron_trigger_list(CronTriggerListParams {
            include_ended: false,
            limit: 10_000,
        })
        .await
        .map_err(|e| e.to_string())?;
    let classes = demo_classes();
    let other_jobs: Vec<&JobRecord> = unfinished
        .iter()
        .filter(|j| !classes.contains(&j.class_name.as_str()))
        .collect();
    let other_schedules: Vec<String> = schedules
        .iter()
        .filter(|t| t.name != SCHEDULE_NAME && t.name != DAILY_NAME)
        .map(|t| format!("{:?}", t.name))
        .collect();
    if !other_jobs.is_empty() || !other_schedules.is_empty() {
        let mut what = Vec::new();
        if let Some(first) = other_jobs.first() {
            what.push(format!(
                "{} unfinished job(s) that are not the demo's (e.g. {} {}, {})",
                other_jobs.len(),
                first.class_name,
                first.id,
                first.status
            ));
        }
        if !other_schedules.is_empty() {
            what.push(format!(
                "{} schedule(s) that are not the demo's ({})",
                other_schedules.len(),
                other_schedules.join(", ")
            ));
        }
        return Err(CliError::Failed(format!(
            "{} holds other work: {}. The demo would run it too, so it refuses this database; \
             give it one of its own: --database demo.db",
            describe(location),
            what.join("; ")
        )));
    }
    let now = jiff::Timestamp::now();
    let mut cleared = 0;
    for trigger in &schedules {
        store
            .cron_trigger_delete(CronTriggerDeleteParams {
                id: trigger.id,
                now,
            })
            .await
            .map_err(|e| e.to_string())?;
        cleared += 1;
    }
    for job in &unfinished {
        store
            .job_abort(JobAbortParams { id: job.id, now })
            .await
            .map_err(|e| e.to_string())?;
        cleared += 1;
    }
    if cleared > 0 {
        outln!(
            "cleared an earlier demo's leftovers: {} schedule(s), {} unfinished job(s)\n",
            schedules.len(),
            unfinished.len()
        )?;
    }
    Ok(())
}

/// How to run this binary again from here: `cargo run -p asyncapex-cli --` under `cargo run`,
/// `asyncapex` when that is what `PATH` finds, else the binary's path.
fn how_to_run() -> String {
    // `cargo run` sets the package's variables for the program it runs.
    if std::env::var("CARGO_PKG_NAME").as_deref() == Ok(env!("CARGO_PKG_NAME")) {
        return format!("cargo run -p {} --", env!("CARGO_PKG_NAME"));
    }
    let Ok(exe) = std::env::current_exe().and_then(|p| p.canonicalize()) else {
        return "asyncapex".into();
    };
    let on_path = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            dir.join("asyncapex")
                .canonicalize()
                .is_ok_and(|found| found == exe)
        })
    });
    if on_path {
        return "asyncapex".into();
    }
    match std::env::current_dir()
        .ok()
        .and_then(|cwd| exe.strip_prefix(cwd).ok().map(|p| p.to_owned()))
    {
        Some(relative) => format!("./{}", relative.display()),
        None => exe.display().to_string(),
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

pub(crate) async fn run(database: &str, args: DemoArgs) -> Result<(), CliError> {
    let location = parse(database).map_err(CliError::Usage)?;
    let shown = describe(&location);
    outln!("asyncapex demo on {shown}\n")?;
    prepare(&location, database).await?;
    let engine = builder(&location)
        .register::<UpdateAccounts>()
        .register::<SyncInvoice>()
        .register_finalizer::<RetrySyncInvoice>()
        .register_schedulable::<QueueReport>()
        .register_batch::<RevenueRollup>()
        .register_batch::<ImportLeads>()
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
        .await?;
    outln!("enqueued UpdateAccounts {chain}: 6 accounts, 2 per job, chained")?;
    let sync = engine
        .enqueue_job(SyncInvoice {
            invoice: "INV-1001".into(),
            try_number: 1,
            succeeds_on_try: 3,
        })
        .await?;
    outln!("enqueued SyncInvoice {sync}: fails twice, its finalizer retries it")?;
    let schedule = engine
        .schedule(SCHEDULE_NAME, "*/2 * * * * ?", QueueReport)
        .await?;
    outln!(
        "scheduled QueueReport {schedule}: {} (\"*/2 * * * * ?\")\n",
        CronExpr::parse("*/2 * * * * ?")
            .map(|e| e.explain())
            .unwrap_or_default()
    )?;

    engine.wait_idle(Duration::from_secs(60)).await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let record = engine.schedule_record(SCHEDULE_NAME).await?;
        if record.times_triggered >= 2 {
            break;
        }
        if std::time::Instant::now() > deadline {
            return Err("the demo schedule did not fire twice within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    engine.abort_job(schedule).await?;
    engine.wait_idle(Duration::from_secs(60)).await?;
    let record = engine.schedule_record(&schedule.to_string()).await?;
    outln!(
        "schedule {schedule}: fired {} times, last at {} UTC; now {}",
        record.times_triggered,
        record
            .previous_fire_time
            .map(|t| t.strftime("%H:%M:%S").to_string())
            .unwrap_or_default(),
        record.state(jiff::Timestamp::now())
    )?;

    let leads = engine
        .execute_batch(
            ImportLeads::new(&[
                ("Ada", "ada@example.com"),
                ("Grace", "grace@example.com"),
                ("Wile E.", "wile.e.coyote"),
                ("Linus", "linus@example.com"),
                ("Margaret", "margaret@example.com"),
            ]),
            2,
        )
        .await?;
    outln!("\nbatch ImportLeads {leads}: 5 leads, 2 per chunk, 1 without email")?;
    let imported = engine.wait_for(leads, Duration::from_secs(60)).await?;
    outln!(
        "ImportLeads {leads} {}: {} of {} chunks, {} failed:\n  {}",
        imported.status,
        imported.items_processed,
        imported.total_items,
        imported.number_of_errors,
        imported.extended_status.as_deref().unwrap_or("no detail")
    )?;

    let batch = engine.execute_batch(RevenueRollup::default(), 200).await?;
    outln!("\nbatch RevenueRollup {batch}: {DEMO_ORDERS} orders, 200 per chunk, stateful")?;
    let started = std::time::Instant::now();
    let finished =
        crate::progress::watch(engine.store().as_ref(), batch, Duration::from_millis(100)).await?;
    outln!(
        "RevenueRollup {batch} {}: {} of {} chunks, {} failed, {:.1} s",
        finished.status,
        finished.items_processed,
        finished.total_items,
        finished.number_of_errors,
        started.elapsed().as_secs_f64()
    )?;
    engine.wait_idle(Duration::from_secs(60)).await?;

    let first = chain.min(sync);
    let jobs: Vec<JobRecord> = engine
        .jobs(JobListParams {
            limit: 500,
            ..Default::default()
        })
        .await?
        .into_iter()
        .filter(|j| j.id >= first)
        .rev()
        .collect();
    outln!("\nfinal statuses:")?;
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            vec![
                j.id.to_string(),
                j.job_type.to_string(),
                // A future's class is its module; its method says more.
                j.method_name
                    .clone()
                    .unwrap_or_else(|| j.class_name.clone()),
                j.status.to_string(),
                j.parent_job_id.map(|p| p.to_string()).unwrap_or_default(),
                time(j.completed_at),
                j.extended_status.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out!(
        "{}",
        table::render(
            &[
                Column::new("Job ID"),
                Column::new("Type").optional(2),
                Column::new("Class"),
                Column::new("Status"),
                Column::new("Parent"),
                Column::new("Completed (UTC)").optional(3),
                Column::new("Status Detail").wrap().optional(1),
            ],
            &rows,
        )
    )?;
    let count = |s: JobStatus| jobs.iter().filter(|j| j.status == s).count();
    outln!(
        "\n{} jobs: {} Completed, {} Failed (the finalizer retried the failed tries)",
        jobs.len(),
        count(JobStatus::Completed),
        count(JobStatus::Failed)
    )?;
    engine.shutdown(Duration::from_secs(5)).await?;

    // What the admin commands should find afterwards, made by an engine that runs no jobs
    // and fires no schedules, so it stays as made: a waiting schedule, two holding batches.
    let idle = builder(&location)
        .register_schedulable::<QueueReport>()
        .register_batch::<ImportLeads>()
        .concurrency(0)
        .scheduler(false)
        .start()
        .await
        .map_err(|e| format!("cannot start the engine on {shown}: {e}"))?;
    let daily = idle.schedule(DAILY_NAME, DAILY_CRON, QueueReport).await?;
    let mut holding = Vec::new();
    for leads in [
        &[
            ("Alan", "alan@example.com"),
            ("Barbara", "barbara@example.com"),
        ][..],
        &[("Edsger", "edsger@example.com")],
    ] {
        holding.push(idle.execute_batch(ImportLeads::new(leads), 2).await?);
    }
    idle.shutdown(Duration::from_secs(5)).await?;

    let run = how_to_run();
    let db = if database == crate::DEFAULT_DATABASE {
        String::new()
    } else {
        format!("--database {shown} ")
    };
    let failed = jobs
        .iter()
        .find(|j| j.status == JobStatus::Failed)
        .map(|j| j.id.to_string())
        .unwrap_or_else(|| first.to_string());
    outln!("\nleft on {shown} for you to look at:")?;
    for (command, what) in [
        (
            "jobs list".to_owned(),
            "the jobs above, newest first".to_owned(),
        ),
        (
            format!("jobs show {failed}"),
            "every field of a failed try".into(),
        ),
        (
            "schedules list".into(),
            format!("{daily}, daily at 06:00 UTC"),
        ),
        ("schedules list --all".into(), "and the deleted one".into()),
        (
            "flex-queue list".into(),
            format!("{} and {}", holding[0], holding[1]),
        ),
        (
            "batch-errors list".into(),
            "ImportLeads' failed chunk".into(),
        ),
    ] {
        outln!("  {command:<28}  {what}")?;
    }
    outln!("(the schedule and the two holding batches wait for a worker to run them)")?;
    outln!("run each as: {run} {db}<command>")?;
    outln!("e.g.  {run} {db}jobs list")?;
    if args.serve {
        outln!()?;
        crate::serve::run(database, args.server, true).await?;
    }
    Ok(())
}
