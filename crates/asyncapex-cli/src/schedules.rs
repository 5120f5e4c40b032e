//! `asyncapex schedules …`: list and steer schedules (Apex's "Scheduled Jobs" page).

use asyncapex::unstable::store::Store;
use asyncapex::{CronExpr, CronTriggerId, CronTriggerListParams, CronTriggerRecord};
use clap::Subcommand;

use crate::database::open_existing;
use crate::error::CliError;
use crate::jobs::time;
use crate::output::{out, outln};
use crate::table::{self, Column};

/// Schedule commands.
#[derive(Debug, Subcommand)]
pub enum SchedulesCommand {
    /// List schedules: name, expression, zone, state, next/previous fire, times triggered.
    List {
        /// Also list deleted and completed schedules.
        #[arg(long)]
        all: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Pause a schedule (by `08e…` ID or name); a running firing finishes.
    Pause {
        /// ID or name.
        key: String,
    },
    /// Resume a paused schedule: it runs once at once, then follows its schedule.
    Resume {
        /// ID or name.
        key: String,
    },
    /// Delete a schedule (Apex's `abortJob` on a CronTrigger ID); a running firing finishes.
    Abort {
        /// ID or name.
        key: String,
    },
}

async fn find(store: &dyn Store, key: &str) -> Result<CronTriggerRecord, CliError> {
    let found = match key.parse::<CronTriggerId>() {
        Ok(id) => store.cron_trigger_get(id).await,
        Err(_) => store.cron_trigger_find(key.to_owned()).await,
    }
    .map_err(|e| e.to_string())?;
    found.ok_or_else(|| CliError::Failed(format!("no scheduled job with ID or name {key:?}")))
}

pub(crate) async fn run(database: &str, cmd: SchedulesCommand) -> Result<(), CliError> {
    let store = open_existing(database).await?;
    let now = jiff::Timestamp::now();
    match cmd {
        SchedulesCommand::List { all, json } => {
            let triggers = store
                .cron_trigger_list(CronTriggerListParams {
                    include_ended: all,
                    limit: 1000,
                })
                .await
                .map_err(|e| e.to_string())?;
            let r = crate::json::redactions(store.as_ref()).await?;
            let mut triggers = triggers;
            for t in &mut triggers {
                t.payload = r.redact_text(&t.class_name, &t.payload);
            }
            if json {
                let rows = triggers
                    .iter()
                    .map(|t| crate::json::schedule(t, now))
                    .collect::<Result<Vec<_>, _>>()?;
                crate::json::print(&rows)?;
            } else if triggers.is_empty() {
                outln!(
                    "no schedules{}",
                    if all {
                        ""
                    } else {
                        " waiting or paused (--all lists deleted and completed ones too)"
                    }
                )?;
            } else {
                out!("{}", schedules_table(&triggers, now))?;
            }
        }
        SchedulesCommand::Pause { key } => {
            let t = find(store.as_ref(), &key).await?;
            if store
                .cron_trigger_pause(t.id)
                .await
                .map_err(|e| e.to_string())?
            {
                outln!("{} ({}): paused", t.id, t.name)?;
            } else {
                outln!(
                    "{} ({}): not waiting ({}); nothing to pause",
                    t.id,
                    t.name,
                    t.state(now)
                )?;
            }
        }
        SchedulesCommand::Resume { key } => {
            let t = find(store.as_ref(), &key).await?;
            let resumed = store
                .cron_trigger_resume(asyncapex::unstable::store::CronTriggerResumeParams {
                    id: t.id,
                    next_fire_time: now,
                })
                .await
                .map_err(|e| e.to_string())?;
            if resumed {
                outln!("{} ({}): resumed; it runs once now", t.id, t.name)?;
            } else {
                outln!(
                    "{} ({}): not paused ({}); nothing to resume",
                    t.id,
                    t.name,
                    t.state(now)
                )?;
            }
        }
        SchedulesCommand::Abort { key } => {
            let t = find(store.as_ref(), &key).await?;
            let deleted = store
                .cron_trigger_delete(asyncapex::unstable::store::CronTriggerDeleteParams {
                    id: t.id,
                    now,
                })
                .await
                .map_err(|e| e.to_string())?;
            if deleted {
                outln!("{} ({}): deleted; it will not fire again", t.id, t.name)?;
            } else {
                outln!("{} ({}): already deleted", t.id, t.name)?;
            }
        }
    }
    Ok(())
}

/// The Scheduled Jobs columns.
pub(crate) fn schedules_table(triggers: &[CronTriggerRecord], now: jiff::Timestamp) -> String {
    let rows: Vec<Vec<String>> = triggers
        .iter()
        .map(|t| {
            vec![
                t.id.to_string(),
                t.name.clone(),
                t.cron_expression.clone(),
                t.time_zone.clone(),
                t.state(now).to_string(),
                time(t.next_fire_time),
                time(t.previous_fire_time),
                t.times_triggered.to_string(),
                t.class_name.clone(),
                CronExpr::parse(&t.cron_expression)
                    .map(|e| e.explain())
                    .unwrap_or_default(),
            ]
        })
        .collect();
    table::render(
        &[
            Column::new("Schedule ID"),
            Column::new("Name").wrap(),
            Column::new("Expression"),
            Column::new("Zone").optional(2),
            Column::new("State"),
            Column::new("Next Fire (UTC)"),
            Column::new("Previous Fire (UTC)").optional(3),
            Column::new("Fired"),
            Column::new("Class").optional(4),
            Column::new("Meaning").wrap().optional(1),
        ],
        &rows,
    )
}
