//! `asyncapex flex-queue …`: see and reorder holding batch jobs (Apex's "Apex Flex Queue").

use asyncapex::unstable::store::FlexQueueMoveParams;
use asyncapex::{FlexMove, JobId};
use clap::{ArgGroup, Subcommand};

use crate::database::open_existing;
use crate::jobs::time;
use crate::table;

/// Flex queue commands.
#[derive(Debug, Subcommand)]
pub enum FlexQueueCommand {
    /// Holding batch jobs in the order they will be promoted.
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

fn id(text: &str) -> Result<JobId, String> {
    text.parse::<JobId>().map_err(|e| e.to_string())
}

pub(crate) async fn run(database: &str, cmd: FlexQueueCommand) -> Result<(), String> {
    let store = open_existing(database).await?;
    match cmd {
        FlexQueueCommand::List { json } => {
            let jobs = store.flex_queue_list().await.map_err(|e| e.to_string())?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&jobs).map_err(|e| e.to_string())?
                );
            } else if jobs.is_empty() {
                println!("the flex queue is empty");
            } else {
                let rows: Vec<Vec<String>> = jobs
                    .iter()
                    .enumerate()
                    .map(|(position, j)| {
                        vec![
                            position.to_string(),
                            j.id.to_string(),
                            j.class_name.clone(),
                            j.batch_scope.map(|s| s.to_string()).unwrap_or_default(),
                            time(Some(j.created_at)),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table::render(
                        &["Position", "Job ID", "Class", "Scope", "Submitted (UTC)"],
                        &rows,
                        60
                    )
                );
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
            let moved = store
                .flex_queue_move(FlexQueueMoveParams { id: job, to })
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{job}: {}",
                if moved {
                    "moved"
                } else {
                    "already there; nothing moved"
                }
            );
        }
    }
    Ok(())
}
