//! `asyncapex nodes`: the processes sharing this store, alive or dead, and their running jobs.

use std::time::Duration;

use asyncapex::unstable::store::NodeListParams;

use crate::database::open_existing;
use crate::jobs::time;
use crate::table;

/// A node silent this long is shown dead (three missed heartbeats at the default interval);
/// its jobs are rescued when their leases expire.
const DEAD_AFTER: Duration = Duration::from_secs(30);

pub(crate) async fn run(database: &str, all: bool, json: bool) -> Result<(), String> {
    let store = open_existing(database).await?;
    let nodes = store
        .node_list(NodeListParams {
            now: jiff::Timestamp::now(),
            dead_after: DEAD_AFTER,
            limit: 1000,
        })
        .await
        .map_err(|e| e.to_string())?;
    let shown: Vec<_> = nodes
        .into_iter()
        .filter(|n| all || n.alive || n.running_jobs > 0)
        .collect();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&shown).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    if shown.is_empty() {
        println!(
            "no live nodes{}",
            if all {
                ""
            } else {
                " (--all lists dead ones too)"
            }
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = shown
        .iter()
        .map(|n| {
            vec![
                n.id.to_string(),
                n.owner.clone(),
                if n.alive {
                    "alive".into()
                } else {
                    "dead".into()
                },
                time(Some(n.started_at)),
                time(Some(n.heartbeat_at)),
                n.running_jobs.to_string(),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(
            &[
                "Node",
                "Owner",
                "State",
                "Started (UTC)",
                "Last Heartbeat (UTC)",
                "Running Jobs"
            ],
            &rows,
            60
        )
    );
    Ok(())
}
