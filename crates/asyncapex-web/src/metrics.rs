//! Prometheus metrics at `/metrics`, in the text exposition format (version 0.0.4).
//!
//! Every value is read from the store at scrape time, so every process serving the dashboard
//! over one store reports the same figures (scrape one of them).
//!
//! | metric | type | meaning | window |
//! | --- | --- | --- | --- |
//! | `asyncapex_jobs{job_type,status}` | gauge | job records by type and status | all records kept |
//! | `asyncapex_queue_depth` | gauge | jobs `Queued` (waiting for a worker, including delayed ones) | now |
//! | `asyncapex_flex_queue_size` | gauge | batch jobs `Holding` in the flex queue | now |
//! | `asyncapex_active_batches` | gauge | batch jobs `Queued`, `Preparing` or `Processing` (Apex allows 5) | now |
//! | `asyncapex_job_duration_seconds` | histogram | run time (start to end) of jobs that ended in the window | last hour, sliding: buckets may go down; use `histogram_quantile` on it directly, not on `rate()` |
//! | `asyncapex_jobs_ended_recent{status}` | gauge | jobs that ended `Completed` / `Failed` in the window | last hour |
//! | `asyncapex_jobs_rescued_recent` | gauge | jobs that ended in the window after more than one attempt (a worker died holding them) | last hour |
//! | `asyncapex_named_queue_jobs{queue,state}` | gauge | per named queue: jobs `queued` (all waiting), `due` (waiting and due) and `running` (on every node) | now |
//! | `asyncapex_named_queue_latency_seconds{queue}` | gauge | per named queue: how long its longest-waiting due job has waited (0 when none is due) | now |
//! | `asyncapex_named_queue_paused{queue}` | gauge | 1 while an operator has the queue paused | now |
//! | `asyncapex_tenant_jobs{queue,tenant,state}` | gauge | the 50 tenants with the most live jobs: `queued` and `running` | now |
//! | `asyncapex_cron_lag_seconds{schedule_id,name}` | gauge | per `WAITING` schedule: now − next fire time when that is overdue (the scheduler is behind or down), else 0 | now |

use std::fmt::Write;

use asyncapex::unstable::store::{DURATION_BUCKETS_MS, JobStatsParams};
use asyncapex::{CronTriggerListParams, JobStatus, JobType, StoredTriggerState};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use jiff::{SignedDuration, Timestamp};

use crate::WebState;
use crate::error::WebResult;

/// The window of the "recent" metrics.
pub const WINDOW: SignedDuration = SignedDuration::from_hours(1);

/// `GET /metrics`.
pub async fn handler(State(state): State<WebState>) -> WebResult<impl IntoResponse> {
    let text = render(&state).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    ))
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The exposition text.
///
/// # Errors
/// A store error.
pub async fn render(state: &WebState) -> WebResult<String> {
    let store = state.engine().store();
    let now = Timestamp::now();
    let stats = store
        .job_stats(JobStatsParams {
            since: now - WINDOW,
        })
        .await?;
    let count = |types: &[JobType], statuses: &[JobStatus]| -> u64 {
        stats
            .by_type_and_status
            .iter()
            .filter(|(t, s, _)| (types.is_empty() || types.contains(t)) && statuses.contains(s))
            .map(|(_, _, n)| *n)
            .sum()
    };
    let mut out = String::new();

    family(
        &mut out,
        "asyncapex_jobs",
        "gauge",
        "Job records by type and status (all records kept).",
    );
    for t in JobType::ALL {
        for s in JobStatus::ALL {
            let n = count(&[t], &[s]);
            let _ = writeln!(out, "asyncapex_jobs{{job_type=\"{t}\",status=\"{s}\"}} {n}");
        }
    }

    family(
        &mut out,
        "asyncapex_queue_depth",
        "gauge",
        "Jobs Queued: waiting for a worker (including delayed ones).",
    );
    let _ = writeln!(
        out,
        "asyncapex_queue_depth {}",
        count(&[], &[JobStatus::Queued])
    );

    family(
        &mut out,
        "asyncapex_flex_queue_size",
        "gauge",
        "Batch jobs Holding in the flex queue.",
    );
    let _ = writeln!(
        out,
        "asyncapex_flex_queue_size {}",
        count(&[], &[JobStatus::Holding])
    );

    family(
        &mut out,
        "asyncapex_active_batches",
        "gauge",
        "Batch jobs Queued, Preparing or Processing.",
    );
    let _ = writeln!(
        out,
        "asyncapex_active_batches {}",
        count(&[JobType::BatchApex], &crate::views::ACTIVE)
    );

    family(
        &mut out,
        "asyncapex_job_duration_seconds",
        "histogram",
        "Run time of jobs that ended in the last hour (a sliding window: buckets may go down).",
    );
    let mut cumulative = 0u64;
    for (i, bound) in DURATION_BUCKETS_MS.iter().enumerate() {
        cumulative += stats.duration_counts.get(i).copied().unwrap_or(0);
        let le = *bound as f64 / 1000.0;
        let _ = writeln!(
            out,
            "asyncapex_job_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
        );
    }
    let total: u64 = stats.duration_counts.iter().sum();
    let _ = writeln!(
        out,
        "asyncapex_job_duration_seconds_bucket{{le=\"+Inf\"}} {total}"
    );
    let _ = writeln!(
        out,
        "asyncapex_job_duration_seconds_sum {}",
        stats.duration_sum_ms as f64 / 1000.0
    );
    let _ = writeln!(out, "asyncapex_job_duration_seconds_count {total}");

    family(
        &mut out,
        "asyncapex_jobs_ended_recent",
        "gauge",
        "Jobs that ended Completed or Failed in the last hour.",
    );
    let completed: u64 = stats.per_minute.iter().map(|m| m.completed).sum();
    let failed: u64 = stats.per_minute.iter().map(|m| m.failed).sum();
    let _ = writeln!(
        out,
        "asyncapex_jobs_ended_recent{{status=\"Completed\"}} {completed}"
    );
    let _ = writeln!(
        out,
        "asyncapex_jobs_ended_recent{{status=\"Failed\"}} {failed}"
    );

    family(
        &mut out,
        "asyncapex_jobs_rescued_recent",
        "gauge",
        "Jobs that ended in the last hour after more than one attempt (rescued after a worker died).",
    );
    let _ = writeln!(out, "asyncapex_jobs_rescued_recent {}", stats.rescued);

    let queues = store.queue_list(now).await?;
    family(
        &mut out,
        "asyncapex_named_queue_jobs",
        "gauge",
        "Per named queue: jobs queued (all waiting), due (waiting and due) and running (every node).",
    );
    for q in &queues {
        let name = label(&q.name);
        for (state, n) in [("queued", q.queued), ("due", q.due), ("running", q.running)] {
            let _ = writeln!(
                out,
                "asyncapex_named_queue_jobs{{queue=\"{name}\",state=\"{state}\"}} {n}"
            );
        }
    }
    family(
        &mut out,
        "asyncapex_named_queue_latency_seconds",
        "gauge",
        "Per named queue: seconds its longest-waiting due job has waited (0 when none is due).",
    );
    for q in &queues {
        let waited = q
            .oldest_due_at
            .map_or(0.0, |t| now.duration_since(t).as_secs_f64().max(0.0));
        let _ = writeln!(
            out,
            "asyncapex_named_queue_latency_seconds{{queue=\"{}\"}} {waited}",
            label(&q.name)
        );
    }
    family(
        &mut out,
        "asyncapex_named_queue_paused",
        "gauge",
        "1 while an operator has the named queue paused.",
    );
    for q in &queues {
        let _ = writeln!(
            out,
            "asyncapex_named_queue_paused{{queue=\"{}\"}} {}",
            label(&q.name),
            u8::from(q.paused)
        );
    }
    family(
        &mut out,
        "asyncapex_tenant_jobs",
        "gauge",
        "The 50 tenants with the most live jobs: queued and running, per queue.",
    );
    for t in store.tenant_counts(50).await? {
        let (queue, tenant) = (label(&t.queue), label(&t.tenant));
        for (state, n) in [("queued", t.queued), ("running", t.running)] {
            let _ = writeln!(
                out,
                "asyncapex_tenant_jobs{{queue=\"{queue}\",tenant=\"{tenant}\",state=\"{state}\"}} {n}"
            );
        }
    }

    family(
        &mut out,
        "asyncapex_cron_lag_seconds",
        "gauge",
        "Per WAITING schedule: seconds its next fire is overdue (0 when not due yet).",
    );
    let triggers = store
        .cron_trigger_list(CronTriggerListParams {
            include_ended: false,
            limit: 1000,
        })
        .await?;
    for t in triggers
        .iter()
        .filter(|t| t.stored_state == StoredTriggerState::Waiting)
    {
        let lag = t
            .next_fire_time
            .map_or(0.0, |next| now.duration_since(next).as_secs_f64().max(0.0));
        let _ = writeln!(
            out,
            "asyncapex_cron_lag_seconds{{schedule_id=\"{}\",name=\"{}\"}} {lag}",
            t.id,
            label(&t.name)
        );
    }
    Ok(out)
}
