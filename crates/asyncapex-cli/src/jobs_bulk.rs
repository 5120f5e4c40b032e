//! The dashboard's job filters on the command line, and the bulk forms of `jobs abort`,
//! `jobs retry` and `jobs delete` over them: count first (`--dry-run`), act with `--yes`, in
//! steps of 100 with a progress bar.

use std::sync::Arc;
use std::time::Duration;

use asyncapex::unstable::store::Store;
use asyncapex::{BulkAction, Engine, JobId, JobListParams};
use asyncapex_web::views::JobFilters;
use clap::Args;

use crate::database::open_existing;
use crate::error::CliError;
use crate::jobs::usage;
use crate::output::outln;

/// The filters `jobs list` and the bulk actions take (the dashboard's, by the same names).
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// A job ID (15 or 18 characters), or the start of a class name (any letter case).
    #[arg(long)]
    pub search: Option<String>,
    /// Only these statuses (repeatable, or comma-separated): Holding, Queued, Preparing,
    /// Processing, Completed, Failed, Aborted.
    #[arg(long, value_delimiter = ',')]
    pub status: Vec<String>,
    /// Only these job types (repeatable, or comma-separated): Queueable, Future,
    /// BatchApex, BatchApexWorker, ScheduledApex, Finalizer.
    #[arg(long = "type", value_delimiter = ',')]
    pub job_type: Vec<String>,
    /// Only this class name.
    #[arg(long)]
    pub class: Option<String>,
    /// Only jobs enqueued by this job.
    #[arg(long)]
    pub parent: Option<String>,
    /// Only firings of this schedule (`08e…`).
    #[arg(long)]
    pub schedule: Option<String>,
    /// Only retries of this job.
    #[arg(long)]
    pub retry_of: Option<String>,
    /// Submitted at or after: a date (`2026-12-01`, UTC) or an RFC 3339 instant.
    #[arg(long)]
    pub submitted_from: Option<String>,
    /// Submitted on or before: a date (the whole day) or an instant.
    #[arg(long)]
    pub submitted_to: Option<String>,
    /// Ended at or after (a date or an instant).
    #[arg(long)]
    pub completed_from: Option<String>,
    /// Ended on or before (a date or an instant).
    #[arg(long)]
    pub completed_to: Option<String>,
}

impl FilterArgs {
    /// The dashboard's filters these arguments mean.
    pub(crate) fn filters(&self) -> JobFilters {
        let list = |v: &[String]| (!v.is_empty()).then(|| v.join(","));
        JobFilters {
            q: self.search.clone(),
            status: list(&self.status),
            job_type: list(&self.job_type),
            class: self.class.clone(),
            parent: self.parent.clone(),
            schedule: self.schedule.clone(),
            retry_of: self.retry_of.clone(),
            submitted_from: self.submitted_from.clone(),
            submitted_to: self.submitted_to.clone(),
            completed_from: self.completed_from.clone(),
            completed_to: self.completed_to.clone(),
            before: None,
            limit: None,
        }
    }

    /// The job a `--search` ID names.
    pub(crate) fn searched_id(&self) -> Result<Option<JobId>, CliError> {
        // Bad filters are reported by `params`; here only whether the search is an ID.
        Ok(self.filters().searched_id())
    }

    /// The store query (`None`: a class prefix that matches no class).
    pub(crate) async fn params(
        &self,
        store: &dyn Store,
    ) -> Result<Option<JobListParams>, CliError> {
        let mut params = self.filters().query(store).await.map_err(usage)?;
        if let Some(p) = params.as_mut() {
            p.before = None;
        }
        Ok(params)
    }
}

/// The bulk form's arguments.
#[derive(Debug, Clone, Default, Args)]
pub struct BulkArgs {
    /// Which jobs (at least one filter).
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Only count what would change.
    #[arg(long)]
    pub dry_run: bool,
    /// Change them without asking (the count is printed either way).
    #[arg(long)]
    pub yes: bool,
}

impl BulkArgs {
    /// Refuses bulk options next to an ID.
    pub(crate) fn refuse_with_an_id(&self) -> Result<(), CliError> {
        if self.dry_run || self.yes || self.filter.filters().is_filtered() {
            return Err(CliError::Usage(
                "give a job ID or filters (with --dry-run or --yes), not both".into(),
            ));
        }
        Ok(())
    }
}

/// An engine that runs nothing, for the actions that mint IDs or check limits.
pub(crate) async fn engine(database: &str) -> Result<Engine, CliError> {
    let store: Arc<dyn Store> = open_existing(database).await?;
    Engine::builder()
        .store(store)
        .concurrency(0)
        .scheduler(false)
        .start()
        .await
        .map_err(|e| CliError::Failed(format!("cannot start the engine: {e}")))
}

/// An engine error as the command's failure.
pub(crate) fn failed(e: asyncapex::Error) -> CliError {
    match e {
        asyncapex::Error::InvalidId { .. }
        | asyncapex::Error::WrongIdKind { .. }
        | asyncapex::Error::InvalidInput { .. } => CliError::Usage(e.to_string()),
        other => CliError::Failed(other.to_string()),
    }
}

/// The most jobs a bulk action counts before it says "more than".
const COUNT_CAP: u32 = 10_000_000;

/// `jobs abort|retry|delete` with filters instead of an ID.
pub(crate) async fn run(
    database: &str,
    action: BulkAction,
    args: BulkArgs,
) -> Result<(), CliError> {
    let filters = args.filter.filters();
    if !filters.is_filtered() {
        return Err(CliError::Usage(format!(
            "give a job ID, or filters for `jobs {}` to act on (e.g. --status Failed)",
            action.as_str()
        )));
    }
    let engine = engine(database).await?;
    let result = bulk(&engine, action, &args).await;
    let _ = engine.shutdown(Duration::from_secs(5)).await;
    result
}

async fn bulk(engine: &Engine, action: BulkAction, args: &BulkArgs) -> Result<(), CliError> {
    let verb = match action {
        BulkAction::Abort => "aborted",
        BulkAction::Retry => "retried",
        BulkAction::Delete => "deleted",
    };
    if let Some(id) = args.filter.searched_id()? {
        if args.dry_run || !args.yes {
            outln!("1 job matches ({id}); run again with --yes to change it")?;
            return Ok(());
        }
        let report = engine.bulk_job_ids(action, &[id]).await.map_err(failed)?;
        outln!("{} {verb}, {} skipped", report.done, report.skipped)?;
        return Ok(());
    }
    let Some(params) = args.filter.params(engine.store().as_ref()).await? else {
        outln!("no jobs match (no class name starts with that)")?;
        return Ok(());
    };
    let mut applicable = params.clone();
    applicable.statuses = if params.statuses.is_empty() {
        asyncapex::JobStatus::ALL.to_vec()
    } else {
        params.statuses.clone()
    };
    applicable.statuses.retain(|s| action.applies_to(*s));
    let total = if applicable.statuses.is_empty() {
        0
    } else {
        engine
            .count_jobs(&applicable, COUNT_CAP)
            .await
            .map_err(failed)?
    };
    let matched = engine
        .count_jobs(&params, COUNT_CAP)
        .await
        .map_err(failed)?;
    let noun = |n: u64| if n == 1 { "job" } else { "jobs" };
    if args.dry_run || !args.yes {
        outln!(
            "{matched} {} match; {total} would be {verb} (the others are skipped){}",
            noun(matched),
            if args.dry_run {
                ""
            } else {
                ". Run again with --yes to do it"
            }
        )?;
        return Ok(());
    }
    let bar = indicatif::ProgressBar::new(matched);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{verb} [{{bar:30}}] {{pos}}/{{len}} jobs"
        ))
        .map_err(|e| e.to_string())?
        .progress_chars("=> "),
    );
    crate::output::set_bar(&bar);
    let result = engine
        .bulk_jobs(action, &params, |r| bar.set_position(r.matched))
        .await;
    bar.finish_and_clear();
    crate::output::clear_bar();
    let report = result.map_err(failed)?;
    outln!(
        "{} {verb}, {} skipped, of {} matched",
        report.done,
        report.skipped,
        report.matched
    )?;
    Ok(())
}
