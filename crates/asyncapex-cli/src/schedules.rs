//! `asyncapex schedules …`: list and steer schedules (Apex's "Scheduled Jobs" page).

use asyncapex::unstable::store::Store;
use asyncapex::{CronExpr, CronTriggerId, CronTriggerListParams, CronTriggerRecord};
use clap::Subcommand;

use crate::database::open_existing;
use crate::jobs::time;
use crate::table;

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

async fn find(store: &dyn Store, key: &str) -> Result<CronTriggerRecord, String> {
    let found = match key.parse::<CronTriggerId>() {
        Ok(id) => store.cron_trigger_get(id).await,
        Err(_) => store.cron_trigger_find(key.to_owned()).await,
    }
    .map_err(|e| e.to_string())?;
    found.ok_or_else(|| format!("no scheduled job with ID or name {key:?}"))
}

pub(crate) async fn run(database: &str, cmd: SchedulesCommand) -> Result<(), String> {
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
            if json {
                let rows: Vec<serde_json::Value> = triggers
                    .iter()
                    .map(|t| {
                        let mut v = serde_json::to_value(t).unwrap_or_default();
                        v["state"] = serde_json::Value::from(t.state(now).as_str());
                        v
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?
                );
            } else if triggers.is_empty() {
                println!("no schedules");
            } else {
                print!("{}", schedules_table(&triggers, now));
            }
        }
        SchedulesCommand::Pause { key } => {
            let t = find(store.as_ref(), &key).await?;
            if store
                .cron_trigger_pause(t.id)
                .await
                .map_err(|e| e.to_string())?
            {
                println!("{} ({}): paused", t.id, t.name);
            } else {
                println!(
                    "{} ({}): not waiting ({}); nothing to pause",
                    t.id,
                    t.name,
                    t.state(now)
                );
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
                println!("{} ({}): resumed; it runs once now", t.id, t.name);
            } else {
                println!(
                    "{} ({}): not paused ({}); nothing to resume",
                    t.id,
                    t.name,
                    t.state(now)
                );
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
                println!("{} ({}): deleted; it will not fire again", t.id, t.name);
            } else {
                println!("{} ({}): already deleted", t.id, t.name);
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
            "Schedule ID",
            "Name",
            "Expression",
            "Zone",
            "State",
            "Next Fire (UTC)",
            "Previous Fire (UTC)",
            "Fired",
            "Class",
            "Meaning",
        ],
        &rows,
        60,
    )
}
