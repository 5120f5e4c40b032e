//! `asyncapex batch-errors list`: stored batch error events (Apex's `BatchApexErrorEvent`).

use asyncapex::unstable::store::BatchErrorEventListParams;
use clap::Subcommand;

use crate::database::open_existing;
use crate::error::CliError;
use crate::jobs::{parse_id, time};
use crate::output::{out, outln};
use crate::table::{self, Column};

/// Batch error event commands.
#[derive(Debug, Subcommand)]
pub enum BatchErrorsCommand {
    /// Error events, newest first.
    List {
        /// Only this batch job's.
        #[arg(long)]
        job: Option<String>,
        /// At most this many (1 or more).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) async fn run(database: &str, cmd: BatchErrorsCommand) -> Result<(), CliError> {
    let BatchErrorsCommand::List { job, limit, json } = cmd;
    let job_id = job.as_deref().map(parse_id).transpose()?;
    let store = open_existing(database).await?;
    let events = store
        .batch_error_event_list(BatchErrorEventListParams { job_id, limit })
        .await
        .map_err(|e| e.to_string())?;
    if json {
        crate::json::print(&events)?;
    } else if events.is_empty() {
        outln!("no batch error events")?;
    } else {
        let rows: Vec<Vec<String>> = events
            .iter()
            .map(|e| {
                vec![
                    e.replay_id.to_string(),
                    time(Some(e.created_at)),
                    e.job_id.to_string(),
                    e.phase.to_string(),
                    e.exception_type.clone(),
                    e.message.clone(),
                    e.job_scope.clone(),
                ]
            })
            .collect();
        out!(
            "{}",
            table::render(
                &[
                    Column::new("Replay"),
                    Column::new("Published (UTC)").optional(1),
                    Column::new("Job ID"),
                    Column::new("Phase"),
                    Column::new("Type").optional(2),
                    Column::new("Message").wrap(),
                    Column::new("Job Scope").wrap().optional(3),
                ],
                &rows,
            )
        )?;
    }
    Ok(())
}
