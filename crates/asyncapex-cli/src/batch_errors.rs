//! `asyncapex batch-errors list`: stored batch error events (Apex's `BatchApexErrorEvent`).

use asyncapex::JobId;
use asyncapex::unstable::store::BatchErrorEventListParams;
use clap::Subcommand;

use crate::database::open_existing;
use crate::jobs::time;
use crate::table;

/// Batch error event commands.
#[derive(Debug, Subcommand)]
pub enum BatchErrorsCommand {
    /// Error events, newest first.
    List {
        /// Only this batch job's.
        #[arg(long)]
        job: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) async fn run(database: &str, cmd: BatchErrorsCommand) -> Result<(), String> {
    let BatchErrorsCommand::List { job, limit, json } = cmd;
    let job_id = job
        .map(|j| j.parse::<JobId>().map_err(|e| e.to_string()))
        .transpose()?;
    let store = open_existing(database).await?;
    let events = store
        .batch_error_event_list(BatchErrorEventListParams { job_id, limit })
        .await
        .map_err(|e| e.to_string())?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&events).map_err(|e| e.to_string())?
        );
    } else if events.is_empty() {
        println!("no batch error events");
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
        print!(
            "{}",
            table::render(
                &[
                    "Replay",
                    "Published (UTC)",
                    "Job ID",
                    "Phase",
                    "Type",
                    "Message",
                    "Job Scope"
                ],
                &rows,
                50
            )
        );
    }
    Ok(())
}
