//! `asyncapex flex-queue …`: see and reorder holding batch jobs (Apex's "Apex Flex Queue").

use asyncapex::FlexMove;
use asyncapex::unstable::store::FlexQueueMoveParams;
use clap::{ArgGroup, Subcommand};

use crate::database::open_existing;
use crate::error::CliError;
use crate::jobs::{parse_id as id, time};
use crate::output::{out, outln};
use crate::table::{self, Column};

/// Flex queue commands.
#[derive(Debug, Subcommand)]
pub enum FlexQueueCommand {
    /// Holding batch jobs in the order they will be promoted; position 1 runs next (as on
    /// the dashboard).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Move a holding job: exactly one of --before, --after, --front, --end.
    #[command(group(ArgGroup::new("to").required(true).args(["before", "after", "front", "end"])))]
    Move {
        /// The job to move.
        id: String,
        /// Immediately before this job.
        #[arg(long)]
        before: Option<String>,
        /// Immediately after this job.
        #[arg(long)]
        after: Option<String>,
        /// To the front (runs next).
        #[arg(long)]
        front: bool,
        /// To the end.
        #[arg(long)]
        end: bool,
    },
}

pub(crate) async fn run(database: &str, cmd: FlexQueueCommand) -> Result<(), CliError> {
    match cmd {
        FlexQueueCommand::List { json } => {
            let store = open_existing(database).await?;
            let mut jobs = store.flex_queue_list().await.map_err(|e| e.to_string())?;
            crate::json::redact_jobs(&mut jobs, &crate::json::redactions(store.as_ref()).await?);
            if json {
                let rows = jobs
                    .iter()
                    .enumerate()
                    .map(|(i, j)| {
                        let mut row = crate::json::job(j)?;
                        row["position"] = serde_json::Value::from(i + 1);
                        Ok(row)
                    })
                    .collect::<Result<Vec<_>, CliError>>()?;
                crate::json::print(&rows)?;
            } else if jobs.is_empty() {
                outln!("the flex queue is empty")?;
            } else {
                let rows: Vec<Vec<String>> = jobs
                    .iter()
                    .enumerate()
                    .map(|(i, j)| {
                        vec![
                            (i + 1).to_string(),
                            j.id.to_string(),
                            j.class_name.clone(),
                            j.batch_scope.map(|s| s.to_string()).unwrap_or_default(),
                            time(Some(j.created_at)),
                        ]
                    })
                    .collect();
                out!(
                    "{}",
                    table::render(
                        &[
                            Column::new("Position"),
                            Column::new("Job ID"),
                            Column::new("Class").wrap(),
                            Column::new("Scope"),
                            Column::new("Submitted (UTC)").optional(1),
                        ],
                        &rows,
                    )
                )?;
            }
        }
        FlexQueueCommand::Move {
            id: target,
            before,
            after,
            front,
            end,
        } => {
            let job = id(&target)?;
            let to = match (before, after, front, end) {
                (Some(other), _, _, _) => FlexMove::Before(id(&other)?),
                (_, Some(other), _, _) => FlexMove::After(id(&other)?),
                (_, _, true, _) => FlexMove::Front,
                _ => FlexMove::End,
            };
            let store = open_existing(database).await?;
            let moved = store
                .flex_queue_move(FlexQueueMoveParams { id: job, to })
                .await
                .map_err(|e| e.to_string())?;
            outln!(
                "{job}: {}",
                if moved {
                    "moved"
                } else {
                    "already there; nothing moved"
                }
            )?;
        }
    }
    Ok(())
}
