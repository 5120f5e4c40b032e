//! `asyncapex limits`: the governor limits and the daily async execution count.

use asyncapex::Limits;

use crate::database::open_existing;
use crate::error::CliError;
use crate::output::{out, outln};
use crate::table::{self, Column};

pub(crate) async fn run(database: &str, json: bool) -> Result<(), CliError> {
    let store = open_existing(database).await?;
    let limits = Limits::default();
    let usage = asyncapex::daily_async_usage(
        store.as_ref(),
        jiff::Timestamp::now(),
        limits.daily_async_executions,
    )
    .await
    .map_err(|e| e.to_string())?;
    let cap = limits.daily_async_executions.unwrap_or(u64::MAX);
    if json {
        let value = serde_json::json!({
            "daily_async_executions": { "used": usage.used, "limit": usage.limit },
            "per_execution": {
                "queueable_jobs": { "sync": limits.queueable_jobs_sync, "async": limits.queueable_jobs_async },
                "future_calls": { "sync": limits.future_calls_sync, "async": limits.future_calls_async, "future_or_batch": 0 },
                "callouts": limits.callouts,
                "callout_time_ms": limits.callout_time.as_millis() as u64,
                "callout_timeout_ms": limits.callout_timeout.as_millis() as u64,
                "execution_time_ms": { "sync": limits.execution_time_sync.as_millis() as u64, "async": limits.execution_time_async.as_millis() as u64 },
                "finalizer_failure_reenqueues": limits.finalizer_failure_reenqueues,
            }
        });
        return crate::json::print(&value);
    }
    outln!(
        "daily async executions (last 24 h): {} of {} ({:.1} %)\n",
        usage.used,
        cap,
        usage.used as f64 * 100.0 / cap.max(1) as f64
    )?;
    let rows = vec![
        row(
            "queueable jobs enqueued",
            limits.queueable_jobs_sync,
            limits.queueable_jobs_async,
        ),
        vec![
            "future calls".into(),
            limits.future_calls_sync.to_string(),
            format!("{} (0 in futures and batches)", limits.future_calls_async),
        ],
        row("callouts", limits.callouts, limits.callouts),
        vec![
            "total callout time".into(),
            format!("{:?}", limits.callout_time),
            format!("{:?}", limits.callout_time),
        ],
        vec![
            "execution time".into(),
            format!("{:?}", limits.execution_time_sync),
            format!("{:?}", limits.execution_time_async),
        ],
        row(
            "finalizer re-enqueues of a failing job",
            limits.finalizer_failure_reenqueues,
            limits.finalizer_failure_reenqueues,
        ),
    ];
    outln!("per-execution limits (Apex's defaults; engines may override them):")?;
    out!(
        "{}",
        table::render(
            &[
                Column::new("limit").wrap(),
                Column::new("synchronous"),
                Column::new("asynchronous").wrap(),
            ],
            &rows
        )
    )
}

fn row(name: &str, sync: u32, asynchronous: u32) -> Vec<String> {
    vec![name.into(), sync.to_string(), asynchronous.to_string()]
}
