//! `asyncapex queues …`: named queues (an extension beyond Apex) with their depth, latency
//! and running jobs; pause and resume them on every node; the busiest tenants.

use asyncapex::queue::check_queue_name;
use clap::Subcommand;
use jiff::Timestamp;

use crate::database::open_existing;
use crate::error::CliError;
use crate::output::{out, outln};
use crate::table::{self, Column};

/// Queue commands.
#[derive(Debug, Subcommand)]
pub enum QueuesCommand {
    /// Every queue with stored settings or live jobs: paused or not, waiting, due and running
    /// jobs, and how long its longest-waiting due job has waited.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Pause a queue on every node sharing the store: its jobs wait (running ones finish)
    /// until it is resumed.
    Pause {
        /// The queue's name.
        name: String,
    },
    /// Resume a paused queue; workers claim from it at once.
    Resume {
        /// The queue's name.
        name: String,
    },
    /// The tenants with the most waiting and running jobs, most first.
    Tenants {
        /// How many to show (1 to 1,000).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// A wait in milliseconds as people read it.
fn wait(ms: i64) -> String {
    match ms {
        i64::MIN..=0 => "-".to_owned(),
        1..=999 => format!("{ms} ms"),
        1_000..=119_999 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min", ms / 60_000),
    }
}

pub(crate) async fn run(database: &str, cmd: QueuesCommand) -> Result<(), CliError> {
    let store = open_existing(database).await?;
    let now = Timestamp::now();
    match cmd {
        QueuesCommand::List { json } => {
            let queues = store.queue_list(now).await.map_err(|e| e.to_string())?;
            if json {
                crate::json::print(&queues)?;
            } else if queues.is_empty() {
                outln!("no queue has stored settings or live jobs")?;
            } else {
                let rows: Vec<Vec<String>> = queues
                    .iter()
                    .map(|q| {
                        let latency = q
                            .oldest_due_at
                            .map_or(0, |t| now.duration_since(t).as_millis() as i64);
                        let mut rules = Vec::new();
                        if let Some(cap) = q.global_limit {
                            rules.push(format!("cap {cap}"));
                        }
                        if let Some(r) = q.rate_limit {
                            rules.push(format!("{}/{}", r.starts, wait(r.per.as_millis() as i64)));
                        }
                        vec![
                            q.name.clone(),
                            if q.paused { "paused" } else { "active" }.to_owned(),
                            q.queued.to_string(),
                            q.due.to_string(),
                            q.running.to_string(),
                            wait(latency),
                            rules.join(", "),
                        ]
                    })
                    .collect();
                out!(
                    "{}",
                    table::render(
                        &[
                            Column::new("Queue").wrap(),
                            Column::new("State"),
                            Column::new("Waiting"),
                            Column::new("Due"),
                            Column::new("Running"),
                            Column::new("Latency"),
                            Column::new("Rules").optional(1),
                        ],
                        &rows,
                    )
                )?;
            }
        }
        QueuesCommand::Pause { name } => {
            check_queue_name(&name).map_err(|e| CliError::Usage(e.to_string()))?;
            let changed = store
                .queue_pause(name.clone(), now)
                .await
                .map_err(|e| e.to_string())?;
            outln!(
                "{name}: {}",
                if changed {
                    "paused on every node"
                } else {
                    "already paused; nothing changed"
                }
            )?;
        }
        QueuesCommand::Resume { name } => {
            check_queue_name(&name).map_err(|e| CliError::Usage(e.to_string()))?;
            let changed = store
                .queue_resume(name.clone(), now)
                .await
                .map_err(|e| e.to_string())?;
            outln!(
                "{name}: {}",
                if changed {
                    "resumed"
                } else {
                    "not paused; nothing changed"
                }
            )?;
        }
        QueuesCommand::Tenants { limit, json } => {
            let tenants = store
                .tenant_counts(limit)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                crate::json::print(&tenants)?;
            } else if tenants.is_empty() {
                outln!("no waiting or running job has a tenant")?;
            } else {
                let rows: Vec<Vec<String>> = tenants
                    .iter()
                    .map(|t| {
                        vec![
                            t.tenant.clone(),
                            t.queue.clone(),
                            t.queued.to_string(),
                            t.running.to_string(),
                        ]
                    })
                    .collect();
                out!(
                    "{}",
                    table::render(
                        &[
                            Column::new("Tenant").wrap(),
                            Column::new("Queue"),
                            Column::new("Waiting"),
                            Column::new("Running"),
                        ],
                        &rows,
                    )
                )?;
            }
        }
    }
    Ok(())
}
