//! Named queues: claims per queue (pause, global cap and rate limit applied in the claim
//! statement), when a queue may next claim, retries, queue settings and the operator's queue
//! and tenant views.

use std::time::Duration;

use asyncapex_core::queue::{
    PRIORITY_MAX, QueueRecord, QueueSettings, RateLimit, TenantCount, priority_delay_micros,
};
use asyncapex_core::{AttemptOutcome, JobClaimParams, JobRecord, JobRetryParams, Result};
use jiff::Timestamp;
use tokio_postgres::types::ToSql;

use crate::db::{self, Tx, get, micros, opt_ts};
use crate::errors::{corrupt, from_pg};
use crate::jobs::{job_from_row, record_attempts};

/// Claims from every wanted queue in a transaction of its own whose commit does not wait
/// for the disk, sent as one pipelined round trip (BEGIN, the global-cap locks, the claim,
/// COMMIT): the claim is on the path from an enqueue to its job's start, and a durable
/// commit there costs a WAL flush.
pub(crate) async fn claim_unflushed(
    client: &deadpool_postgres::Object,
    p: &JobClaimParams,
) -> Result<Vec<JobRecord>> {
    let locks = client
        .prepare_cached(include_str!("queries/queue_locks.sql"))
        .await
        .map_err(from_pg)?;
    let stmt = client
        .prepare_cached(include_str!("queries/job_claim.sql"))
        .await
        .map_err(from_pg)?;
    let queues: Vec<&str> = p.queues.iter().map(|q| q.queue.as_str()).collect();
    let limits: Vec<i64> = p.queues.iter().map(|q| i64::from(q.limit)).collect();
    let (now, lease_until) = (micros(p.now), micros(p.lease_until));
    let horizon = now + priority_delay_micros(PRIORITY_MAX);
    let params: [&(dyn ToSql + Sync); 6] =
        [&p.owner, &now, &lease_until, &queues, &limits, &horizon];
    // join4 polls in order, so the four requests go out in order, in one write; if a step
    // fails, PostgreSQL answers the COMMIT by rolling back.
    let (begun, locked, rows, committed) = futures_util::future::join4(
        client.batch_execute(include_str!("queries/claim_transaction_begin.sql")),
        client.query(&locks, &[&queues]),
        client.query(&stmt, &params),
        client.batch_execute(include_str!("queries/transaction_commit.sql")),
    )
    .await;
    begun.map_err(from_pg)?;
    locked.map_err(from_pg)?;
    let rows = rows.map_err(from_pg)?;
    committed.map_err(from_pg)?;
    let mut jobs = rows.iter().map(job_from_row).collect::<Result<Vec<_>>>()?;
    let order = |q: &str| queues.iter().position(|w| *w == q);
    jobs.sort_by_key(|a| (order(&a.queue), a.priority, a.run_at, a.id));
    Ok(jobs)
}

/// The earliest time any of `queues` may claim.
pub(crate) async fn next_run_at(
    tx: &dyn Tx,
    queues: &[String],
    after: Timestamp,
) -> Result<Option<Timestamp>> {
    let window = priority_delay_micros(PRIORITY_MAX);
    let row = db::query_opt(
        tx,
        include_str!("queries/job_next_run_at.sql"),
        &[&queues, &micros(after), &window],
    )
    .await?;
    let v: Option<i64> = match row {
        Some(row) => get(&row, "run_at")?,
        None => None,
    };
    v.map(|v| Timestamp::from_microsecond(v).map_err(|e| corrupt("run_at", e)))
        .transpose()
}

/// A failed attempt back to `Queued` after its backoff, its error recorded.
pub(crate) async fn retry(tx: &dyn Tx, p: &JobRetryParams) -> Result<bool> {
    let rows = db::query(
        tx,
        include_str!("queries/job_retry.sql"),
        &[&p.id.as_15(), &p.owner, &micros(p.run_at)],
    )
    .await?;
    if rows.is_empty() {
        return Ok(false);
    }
    record_attempts(
        tx,
        &[p.id],
        p.now,
        AttemptOutcome::Failed,
        vec![Some(p.error.clone())],
    )
    .await?;
    Ok(true)
}

/// Stores a queue's settings and sizes its ring of start slots to its rate limit.
pub(crate) async fn configure(tx: &dyn Tx, s: &QueueSettings, now: Timestamp) -> Result<()> {
    let rate = s.rate_limit.map(|r| i64::from(r.starts));
    let interval = s.rate_limit.map(|r| r.per.as_micros() as i64);
    db::execute(
        tx,
        include_str!("queries/queue_configure.sql"),
        &[
            &s.name,
            &s.global_limit.map(i64::from),
            &rate,
            &interval,
            &i64::from(s.tenant_limit),
            &micros(now),
        ],
    )
    .await?;
    let slots = rate.unwrap_or(0);
    db::execute(
        tx,
        include_str!("queries/queue_slots_trim.sql"),
        &[&s.name, &slots],
    )
    .await?;
    if slots > 0 {
        db::execute(
            tx,
            include_str!("queries/queue_slots_fill.sql"),
            &[&s.name, &slots],
        )
        .await?;
    }
    Ok(())
}

/// Pauses a queue; `false` when it was paused already.
pub(crate) async fn pause(tx: &dyn Tx, name: &str, now: Timestamp) -> Result<bool> {
    let rows = db::query(
        tx,
        include_str!("queries/queue_pause.sql"),
        &[&name, &micros(now)],
    )
    .await?;
    Ok(!rows.is_empty())
}

/// Resumes a queue (waking listeners at commit); `false` when it was not paused.
pub(crate) async fn resume(tx: &dyn Tx, name: &str, now: Timestamp) -> Result<bool> {
    let rows = db::query(
        tx,
        include_str!("queries/queue_resume.sql"),
        &[&name, &micros(now)],
    )
    .await?;
    Ok(!rows.is_empty())
}

fn small(column: &str, v: Option<i64>) -> Result<Option<u32>> {
    v.map(|v| u32::try_from(v).map_err(|e| corrupt(column, e)))
        .transpose()
}

fn non_negative(row: &tokio_postgres::Row, column: &str) -> Result<u64> {
    let v: i64 = get(row, column)?;
    u64::try_from(v).map_err(|e| corrupt(column, e))
}

/// Every queue with settings or live jobs.
pub(crate) async fn list(tx: &dyn Tx, now: Timestamp) -> Result<Vec<QueueRecord>> {
    let rows = db::query(tx, include_str!("queries/queue_list.sql"), &[&micros(now)]).await?;
    rows.iter()
        .map(|r| {
            let rate = small("rate_limit", get(r, "rate_limit")?)?
                .zip(get::<_, Option<i64>>(r, "rate_interval")?)
                .map(|(starts, per)| RateLimit {
                    starts,
                    per: Duration::from_micros(per.max(0) as u64),
                });
            Ok(QueueRecord {
                name: get(r, "name")?,
                paused: get(r, "paused")?,
                paused_at: opt_ts(r, "paused_at")?,
                global_limit: small("global_limit", get(r, "global_limit")?)?,
                rate_limit: rate,
                tenant_limit: small("tenant_limit", get(r, "tenant_limit")?)?.unwrap_or_default(),
                queued: non_negative(r, "queued")?,
                due: non_negative(r, "due")?,
                running: non_negative(r, "running")?,
                oldest_due_at: opt_ts(r, "oldest_due_at")?,
            })
        })
        .collect()
}

/// The tenants with the most live jobs.
pub(crate) async fn tenant_counts(tx: &dyn Tx, limit: u32) -> Result<Vec<TenantCount>> {
    let rows = db::query(
        tx,
        include_str!("queries/tenant_counts.sql"),
        &[&i64::from(limit)],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TenantCount {
                queue: get(r, "queue")?,
                tenant: get(r, "tenant")?,
                queued: non_negative(r, "queued")?,
                running: non_negative(r, "running")?,
            })
        })
        .collect()
}
