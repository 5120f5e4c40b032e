//! `asyncapex nodes`: the processes sharing this store, alive or dead, and their running jobs.

use std::time::Duration;

use asyncapex::unstable::store::NodeListParams;
use clap::{Args, Subcommand};

use crate::database::open_existing;
use crate::error::CliError;
use crate::jobs::time;
use crate::output::{out, outln};
use crate::table::{self, Column};

/// `asyncapex nodes [list] [--all] [--json]`: `list` is the default, as it is the only thing
/// to do with nodes (and every other noun has one).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct NodesArgs {
    /// What to do (default: list).
    #[command(subcommand)]
    pub command: Option<NodesCommand>,
    /// The options of `list`, accepted without it.
    #[command(flatten)]
    pub list: NodesListArgs,
}

/// Node commands.
#[derive(Debug, Subcommand)]
pub enum NodesCommand {
    /// List the worker processes sharing this store (alive ones, and dead ones still holding
    /// jobs) with their running jobs.
    List(NodesListArgs),
}

/// The options of `nodes list`.
#[derive(Debug, Clone, Args)]
pub struct NodesListArgs {
    /// Also list stopped and dead nodes with no jobs, and processes that run no jobs (a
    /// dashboard's `serve`). Nodes silent for a day are forgotten by the workers' cleaner.
    #[arg(long)]
    pub all: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A node silent this long is shown dead (three missed heartbeats at the default interval);
/// its jobs are rescued when their leases expire.
const DEAD_AFTER: Duration = Duration::from_secs(30);

pub(crate) async fn run(database: &str, args: NodesArgs) -> Result<(), CliError> {
    let NodesListArgs { all, json } = match args.command {
        Some(NodesCommand::List(list)) => list,
        None => args.list,
    };
    let store = open_existing(database).await?;
    let nodes = store
        .node_list(NodeListParams {
            now: jiff::Timestamp::now(),
            dead_after: DEAD_AFTER,
            limit: 1000,
            workers_only: !all,
        })
        .await
        .map_err(|e| e.to_string())?;
    let shown: Vec<_> = nodes
        .into_iter()
        .filter(|n| all || n.alive || n.running_jobs > 0)
        .collect();
    if json {
        return crate::json::print(&shown);
    }
    if shown.is_empty() {
        outln!(
            "no live nodes{}",
            if all {
                ""
            } else {
                " (--all lists dead ones too)"
            }
        )?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = shown
        .iter()
        .map(|n| {
            vec![
                n.id.to_string(),
                n.owner.clone(),
                if n.runs_jobs {
                    n.state().into()
                } else {
                    format!("{} (runs no jobs)", n.state())
                },
                time(Some(n.started_at)),
                time(Some(n.heartbeat_at)),
                n.running_jobs.to_string(),
            ]
        })
        .collect();
    out!(
        "{}",
        table::render(
            &[
                Column::new("Node"),
                Column::new("Owner").wrap(),
                Column::new("State"),
                Column::new("Started (UTC)").optional(1),
                Column::new("Last Heartbeat (UTC)"),
                Column::new("Running Jobs"),
            ],
            &rows,
        )
    )
}
