//! `asyncapex jobs …`: list, show, watch, abort, retry, delete and purge job records.

use asyncapex::unstable::store::JobAbortParams;
use asyncapex::{AbortOutcome, JobId, JobRecord, JobStatus};
use clap::Subcommand;

use crate::database::open_existing;
use crate::error::CliError;
use crate::output::{out, outln};
use crate::table::{self, Column};

/// Job record commands.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List job records, newest first, with the dashboard's filters.
    List {
        /// The filters.
        #[command(flatten)]
        filter: crate::jobs_bulk::FilterArgs,
        /// At most this many rows (1 or more).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
        /// Only jobs older than this ID (to page through a long list).
        #[arg(long)]
        before: Option<String>,
        /// Print JSON (one array) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show every field of one job record.
    Show {
        /// The job's 15- or 18-character ID.
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Draw a live progress bar of a job (chunks processed / total, failures, rate) until it
    /// ends; exits 0 when it ends Completed, 1 when it ends Failed or Aborted (so a script can
    /// wait for a job and check it in one step).
    Watch {
        /// The job's 15- or 18-character ID.
        id: String,
    },
    /// Abort a job: a waiting one never runs; a running one is asked to stop. Given an
    /// `08e…` schedule ID, delete that schedule. Without an ID, abort every job the filters
    /// match (`--dry-run` counts, `--yes` confirms).
    Abort {
        /// The job's (or schedule's) 15- or 18-character ID.
        id: Option<String>,
        /// The bulk form.
        #[command(flatten)]
        bulk: crate::jobs_bulk::BulkArgs,
    },
    /// Retry a Failed or Aborted job: a new job with the same class and payload, linked to
    /// it (a batch re-runs whole). Without an ID, retry every job the filters match.
    Retry {
        /// The job's 15- or 18-character ID.
        id: Option<String>,
        /// The bulk form.
        #[command(flatten)]
        bulk: crate::jobs_bulk::BulkArgs,
    },
    /// Delete a finished job's record (with its batch chunks and error events). Without an
    /// ID, delete every finished job the filters match.
    Delete {
        /// The job's 15- or 18-character ID.
        id: Option<String>,
        /// The bulk form.
        #[command(flatten)]
        bulk: crate::jobs_bulk::BulkArgs,
    },
    /// Delete finished job records (Completed, Failed, Aborted) that ended before a date, with
    /// their batch chunks and error events (Apex's `System.purgeOldAsyncJobs`), in batches of
    /// 10,000 with a progress bar. Waiting and running jobs and schedules are never touched.
    Purge {
        /// A date (`2026-11-25`, midnight UTC), an instant (`2026-11-25T08:00:00Z`), or an age
        /// (`7d`, `36h`, `90m`: records that ended longer ago than that).
        #[arg(long)]
        before: String,
        /// Only these statuses (repeatable, or comma-separated): Completed, Failed, Aborted.
        #[arg(long, value_delimiter = ',')]
        status: Vec<String>,
        /// Only count what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
}

pub(crate) async fn run(database: &str, cmd: JobsCommand) -> Result<(), CliError> {
    match cmd {
        JobsCommand::List {
            filter,
            limit,
            before,
            json,
        } => {
            let store = open_existing(database).await?;
            let jobs = match filter.searched_id()? {
                Some(id) => store
                    .job_get(id)
                    .await
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .collect(),
                None => match filter.params(store.as_ref()).await? {
                    Some(mut params) => {
                        params.before = before.map(|b| parse_id(&b)).transpose()?;
                        params.limit = limit;
                        store.job_list(params).await.map_err(|e| e.to_string())?
                    }
                    None => Vec::new(),
                },
            };
            let mut jobs = jobs;
            crate::json::redact_jobs(&mut jobs, &crate::json::redactions(store.as_ref()).await?);
            if json {
                let jobs = jobs
                    .iter()
                    .map(crate::json::job)
                    .collect::<Result<Vec<_>, _>>()?;
                crate::json::print(&jobs)?;
            } else if jobs.is_empty() {
                outln!("no jobs match")?;
            } else {
                out!("{}", jobs_table(&jobs))?;
            }
            Ok(())
        }
        JobsCommand::Show { id, json } => {
            let id = parse_id(&id)?;
            let store = open_existing(database).await?;
            let mut job = store
                .job_get(id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no job with ID {id}"))?;
            crate::json::redact_jobs(
                std::slice::from_mut(&mut job),
                &crate::json::redactions(store.as_ref()).await?,
            );
            if json {
                crate::json::print(&crate::json::job(&job)?)?;
            } else {
                let retries = store
                    .job_list(asyncapex::JobListParams {
                        retry_of: Some(id),
                        limit: 20,
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                let attempts =
                    job.attempts(store.job_attempts(id).await.map_err(|e| e.to_string())?);
                out!("{}", describe(&job))?;
                if !attempts.is_empty() {
                    outln!("Attempts")?;
                    for a in &attempts {
                        outln!(
                            "  {}. {}  {} -> {}  {}{}",
                            a.attempt,
                            a.outcome.as_str(),
                            time(a.started_at),
                            if a.ended_at.is_some() {
                                time(a.ended_at)
                            } else {
                                "(running)".into()
                            },
                            a.owner.as_deref().unwrap_or("-"),
                            a.error
                                .as_deref()
                                .map(|e| format!("  {e}"))
                                .unwrap_or_default()
                        )?;
                    }
                }
                if !retries.is_empty() {
                    let list: Vec<String> = retries
                        .iter()
                        .map(|r| format!("{} ({})", r.id, r.status))
                        .collect();
                    outln!("Retried As  {}", list.join(", "))?;
                }
            }
            Ok(())
        }
        JobsCommand::Watch { id } => {
            let id = parse_id(&id)?;
            let store = open_existing(database).await?;
            let job =
                crate::progress::watch(store.as_ref(), id, std::time::Duration::from_millis(200))
                    .await?;
            match job.status {
                JobStatus::Failed | JobStatus::Aborted => Err(CliError::Failed(format!(
                    "{id} ended {}{}",
                    job.status,
                    job.extended_status
                        .as_deref()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                ))),
                _ => {
                    outln!("{id}: {}", job.status)?;
                    Ok(())
                }
            }
        }
        JobsCommand::Purge {
            before,
            status,
            dry_run,
        } => purge(database, &before, &status, dry_run).await,
        JobsCommand::Abort { id: None, bulk } => {
            crate::jobs_bulk::run(database, asyncapex::BulkAction::Abort, bulk).await
        }
        JobsCommand::Retry { id: None, bulk } => {
            crate::jobs_bulk::run(database, asyncapex::BulkAction::Retry, bulk).await
        }
        JobsCommand::Delete { id: None, bulk } => {
            crate::jobs_bulk::run(database, asyncapex::BulkAction::Delete, bulk).await
        }
        JobsCommand::Retry { id: Some(id), bulk } => {
            bulk.refuse_with_an_id()?;
            let id = parse_id(&id)?;
            let engine = crate::jobs_bulk::engine(database).await?;
            let result = engine.retry_job(id).await;
            let _ = engine.shutdown(std::time::Duration::from_secs(5)).await;
            let new = result.map_err(crate::jobs_bulk::failed)?;
            outln!("{id}: retried as {new}")?;
            Ok(())
        }
        JobsCommand::Delete { id: Some(id), bulk } => {
            bulk.refuse_with_an_id()?;
            let id = parse_id(&id)?;
            let engine = crate::jobs_bulk::engine(database).await?;
            let result = engine.delete_job(id).await;
            let _ = engine.shutdown(std::time::Duration::from_secs(5)).await;
            result.map_err(crate::jobs_bulk::failed)?;
            outln!("{id}: deleted")?;
            Ok(())
        }
        JobsCommand::Abort { id: Some(id), bulk } => {
            bulk.refuse_with_an_id()?;
            if let Ok(trigger) = id.parse::<asyncapex::CronTriggerId>() {
                // Apex's abortJob takes a CronTrigger ID too: it deletes the schedule.
                return crate::schedules::run(
                    database,
                    crate::schedules::SchedulesCommand::Abort {
                        key: trigger.to_string(),
                    },
                )
                .await;
            }
            let id = parse_id(&id)?;
            let store = open_existing(database).await?;
            let outcome = store
                .job_abort(JobAbortParams {
                    id,
                    now: jiff::Timestamp::now(),
                })
                .await
                .map_err(|e| e.to_string())?;
            match outcome {
                AbortOutcome::Aborted => outln!("{id}: aborted; it will never run")?,
                AbortOutcome::AbortRequested => outln!(
                    "{id}: running; asked it to stop (it ends Aborted when its code returns)"
                )?,
                AbortOutcome::AlreadyFinished(status) => {
                    outln!("{id}: had already ended ({status}); nothing to abort")?
                }
                AbortOutcome::NotFound => {
                    return Err(CliError::Failed(format!("no job with ID {id}")));
                }
                AbortOutcome::ScheduleDeleted | AbortOutcome::ScheduleAlreadyDeleted => {}
            }
            Ok(())
        }
    }
}

/// A job ID from the command line: one that does not parse is bad usage.
pub(crate) fn parse_id(text: &str) -> Result<JobId, CliError> {
    text.parse::<JobId>().map_err(usage)
}

/// A value from the command line that does not parse.
pub(crate) fn usage(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(e.to_string())
}

pub(crate) fn time(t: Option<jiff::Timestamp>) -> String {
    t.map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// The Apex Jobs columns.
pub(crate) fn jobs_table(jobs: &[JobRecord]) -> String {
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            vec![
                j.id.to_string(),
                time(Some(j.created_at)),
                j.job_type.to_string(),
                j.status.to_string(),
                j.class_name.clone(),
                j.method_name.clone().unwrap_or_default(),
                time(j.completed_at),
                j.extended_status.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table::render(
        &[
            Column::new("Job ID"),
            Column::new("Submitted (UTC)").optional(2),
            Column::new("Type"),
            Column::new("Status"),
            Column::new("Class"),
            Column::new("Method").optional(3),
            Column::new("Completed (UTC)").optional(1),
            Column::new("Status Detail").wrap(),
        ],
        &rows,
    )
}

fn describe(job: &JobRecord) -> String {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let fields: Vec<(&str, String)> = vec![
        ("Job ID", format!("{} ({})", job.id, job.id.as_15())),
        ("Job Type", job.job_type.to_string()),
        ("Class", job.class_name.clone()),
        ("Method", opt(job.method_name.clone())),
        ("Status", job.status.to_string()),
        ("Status Detail", opt(job.extended_status.clone())),
        ("Batches Processed", job.items_processed.to_string()),
        ("Total Batches", job.total_items.to_string()),
        ("Failures", job.number_of_errors.to_string()),
        (
            "Parent Job ID",
            opt(job.parent_job_id.map(|p| p.to_string())),
        ),
        ("Submitted", time(Some(job.created_at))),
        ("Run At", time(Some(job.run_at))),
        ("Started", time(job.started_at)),
        ("Completed", time(job.completed_at)),
        (
            "Attempt",
            format!("{} of at most {}", job.attempt, job.max_attempts),
        ),
        (
            "Stack Depth",
            match job.max_stack_depth {
                Some(max) => format!("{} of at most {max}", job.stack_depth),
                None => format!("{} (no maximum)", job.stack_depth),
            },
        ),
        ("Signature", opt(job.signature.clone())),
        ("Lease Owner", opt(job.lease_owner.clone())),
        ("Lease Expires", time(job.lease_expires_at)),
        ("Abort Requested", job.abort_requested.to_string()),
        ("Retry Of", opt(job.retry_of.map(|r| r.to_string()))),
    ];
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in fields {
        out.push_str(&format!("{k:<width$}  {v}\n"));
    }
    let payload = serde_json::to_string_pretty(&job.payload_json()).unwrap_or_default();
    out.push_str("Payload\n");
    for line in payload.lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

async fn purge(
    database: &str,
    before: &str,
    status: &[String],
    dry_run: bool,
) -> Result<(), CliError> {
    let cut = asyncapex::PurgeFilter::cut(before, jiff::Timestamp::now()).map_err(usage)?;
    let statuses = if status.is_empty() {
        vec![JobStatus::Completed, JobStatus::Failed, JobStatus::Aborted]
    } else {
        status
            .iter()
            .map(|s| s.parse::<JobStatus>().map_err(usage))
            .collect::<Result<Vec<_>, _>>()?
    };
    asyncapex::unstable::rules::check_purge_statuses(&statuses).map_err(usage)?;
    let filter = asyncapex::PurgeFilter::before(cut).statuses(statuses);
    let store = open_existing(database).await?;
    let total = filter
        .count_on(store.as_ref())
        .await
        .map_err(|e| e.to_string())?;
    let when = cut.strftime("%Y-%m-%d %H:%M:%S UTC");
    if dry_run {
        outln!("would purge {total} finished job records that ended before {when}")?;
        return Ok(());
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("purging [{bar:30}] {pos}/{len} records")
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );
    crate::output::set_bar(&bar);
    let deleted = filter
        .run_on(store.as_ref(), |n| bar.inc(n))
        .await
        .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    crate::output::clear_bar();
    outln!("purged {deleted} finished job records that ended before {when}")?;
    Ok(())
}
