//! Named queues: claims per queue (pause, global cap and rate limit applied), when a queue
//! may next claim, retries, queue settings and the operator's queue and tenant views.

use std::time::Duration;

use asyncapex_core::queue::{
    PRIORITY_MAX, QueueRecord, QueueSettings, RateLimit, TenantCount, priority_delay_micros,
};
use asyncapex_core::{JobClaimParams, JobRecord, JobRetryParams, Result};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, named_params};

use crate::errors::{corrupt, from_sqlite};
use crate::jobs::{JobColumns, job_from_row, micros, opt_ts, ts};

/// A queue's stored claim rules.
struct Rules {
    paused: bool,
    global_limit: Option<i64>,
    rate: Option<(i64, i64)>,
}

fn rules(conn: &Connection, queue: &str) -> Result<Rules> {
    let row = conn
        .prepare_cached(include_str!("queries/queue_get.sql"))
        .map_err(from_sqlite)?
        .query_row(named_params! {":queue": queue}, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })
        .optional()
        .map_err(from_sqlite)?;
    Ok(match row {
        None => Rules {
            paused: false,
            global_limit: None,
            rate: None,
        },
        Some((paused, global_limit, rate_limit, rate_interval)) => Rules {
            paused: paused != 0,
            global_limit,
            rate: rate_limit.zip(rate_interval),
        },
    })
}

/// Claims from each queue in turn, in the caller's transaction (the connection thread runs
/// the whole call at once: one hand-off for every queue).
pub(crate) fn claim(conn: &Connection, p: &JobClaimParams) -> Result<Vec<JobRecord>> {
    let mut all = Vec::new();
    for q in &p.queues {
        if q.limit == 0 {
            continue;
        }
        let rules = rules(conn, &q.queue)?;
        if rules.paused {
            continue;
        }
        let mut limit = i64::from(q.limit);
        if let Some(cap) = rules.global_limit {
            let running: i64 = conn
                .prepare_cached(include_str!("queries/queue_running.sql"))
                .map_err(from_sqlite)?
                .query_row(named_params! {":queue": q.queue}, |r| r.get(0))
                .map_err(from_sqlite)?;
            limit = limit.min(cap - running);
        }
        let mut slots = Vec::new();
        if let Some((_, interval)) = rules.rate {
            let since = micros(p.now) - interval;
            let mut stmt = conn
                .prepare_cached(include_str!("queries/queue_slots_free.sql"))
                .map_err(from_sqlite)?;
            let rows = stmt
                .query_map(
                    named_params! {":queue": q.queue, ":since": since, ":limit": limit.max(0)},
                    |r| r.get::<_, i64>(0),
                )
                .map_err(from_sqlite)?;
            slots = rows
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(from_sqlite)?;
            limit = limit.min(slots.len() as i64);
        }
        if limit <= 0 {
            continue;
        }
        let mut stmt = conn
            .prepare_cached(include_str!("queries/job_claim.sql"))
            .map_err(from_sqlite)?;
        let columns = JobColumns::of(&stmt)?;
        let horizon = micros(p.now) + priority_delay_micros(PRIORITY_MAX);
        let mut jobs = Vec::new();
        // Undeferred jobs first; a tenant's deferred jobs only with what that leaves.
        for deferred in [0_i64, 1] {
            let left = limit - jobs.len() as i64;
            if left <= 0 {
                break;
            }
            let rows = stmt
                .query_map(
                    named_params! {
                        ":owner": p.owner,
                        ":now": micros(p.now),
                        ":lease_until": micros(p.lease_until),
                        ":queue": q.queue,
                        ":deferred": deferred,
                        ":horizon": horizon,
                        ":limit": left,
                    },
                    |r| job_from_row(r, &columns),
                )
                .map_err(from_sqlite)?;
            let mut band = rows
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(from_sqlite)?;
            // RETURNING gives no order guarantee; callers expect claim order.
            band.sort_by_key(|a| (a.priority, a.run_at, a.id));
            jobs.append(&mut band);
        }
        if !slots.is_empty() {
            let mut take = conn
                .prepare_cached(include_str!("queries/queue_slot_take.sql"))
                .map_err(from_sqlite)?;
            for slot in slots.iter().take(jobs.len()) {
                take.execute(
                    named_params! {":queue": q.queue, ":slot": slot, ":now": micros(p.now)},
                )
                .map_err(from_sqlite)?;
            }
        }
        all.append(&mut jobs);
    }
    Ok(all)
}

/// The earliest time any of `queues` may claim.
pub(crate) fn next_run_at(
    conn: &Connection,
    queues: &[String],
    after: Timestamp,
) -> Result<Option<Timestamp>> {
    let mut stmt = conn
        .prepare_cached(include_str!("queries/job_next_run_at.sql"))
        .map_err(from_sqlite)?;
    let mut earliest: Option<i64> = None;
    for queue in queues {
        let v: Option<i64> = stmt
            .query_row(
                named_params! {":queue": queue, ":window": priority_delay_micros(PRIORITY_MAX)},
                |r| r.get(0),
            )
            .map_err(from_sqlite)?;
        // i64::MAX: neither band holds a job.
        if let Some(v) = v.filter(|v| *v != i64::MAX && *v > micros(after)) {
            earliest = Some(earliest.map_or(v, |e| e.min(v)));
        }
    }
    earliest
        .map(|v| ts("run_at", v))
        .transpose()
        .map_err(from_sqlite)
}

/// A failed attempt back to `Queued` after its backoff, its error recorded.
pub(crate) fn retry(conn: &Connection, p: &JobRetryParams) -> Result<bool> {
    let changed = conn
        .prepare_cached(include_str!("queries/job_retry.sql"))
        .map_err(from_sqlite)?
        .execute(named_params! {
            ":id": p.id.as_15(),
            ":owner": p.owner,
            ":run_at": micros(p.run_at),
        })
        .map_err(from_sqlite)?;
    if changed == 0 {
        return Ok(false);
    }
    conn.prepare_cached(include_str!("queries/job_attempt_record.sql"))
        .map_err(from_sqlite)?
        .execute(named_params! {
            ":id": p.id.as_15(),
            ":ended_at": micros(p.now),
            ":outcome": asyncapex_core::AttemptOutcome::Failed.as_str(),
            ":error": p.error,
        })
        .map_err(from_sqlite)?;
    Ok(true)
}

/// Stores a queue's settings and sizes its ring of start slots to its rate limit.
pub(crate) fn configure(conn: &Connection, s: &QueueSettings, now: Timestamp) -> Result<()> {
    conn.prepare_cached(include_str!("queries/queue_configure.sql"))
        .map_err(from_sqlite)?
        .execute(named_params! {
            ":name": s.name,
            ":global_limit": s.global_limit,
            ":rate_limit": s.rate_limit.map(|r| r.starts),
            ":rate_interval": s.rate_limit.map(|r| r.per.as_micros() as i64),
            ":tenant_limit": s.tenant_limit,
            ":now": micros(now),
        })
        .map_err(from_sqlite)?;
    let slots = s.rate_limit.map_or(0, |r| r.starts);
    conn.prepare_cached(include_str!("queries/queue_slots_trim.sql"))
        .map_err(from_sqlite)?
        .execute(named_params! {":queue": s.name, ":slots": slots})
        .map_err(from_sqlite)?;
    if slots > 0 {
        conn.prepare_cached(include_str!("queries/queue_slots_fill.sql"))
            .map_err(from_sqlite)?
            .execute(named_params! {":queue": s.name, ":slots": slots})
            .map_err(from_sqlite)?;
    }
    Ok(())
}

/// Pauses a queue; `false` when it was paused already.
pub(crate) fn pause(conn: &Connection, name: &str, now: Timestamp) -> Result<bool> {
    let n = conn
        .prepare_cached(include_str!("queries/queue_pause.sql"))
        .map_err(from_sqlite)?
        .execute(named_params! {":name": name, ":now": micros(now)})
        .map_err(from_sqlite)?;
    Ok(n > 0)
}

/// Resumes a queue; `false` when it was not paused.
pub(crate) fn resume(conn: &Connection, name: &str, now: Timestamp) -> Result<bool> {
    let n = conn
        .prepare_cached(include_str!("queries/queue_resume.sql"))
        .map_err(from_sqlite)?
        .execute(named_params! {":name": name, ":now": micros(now)})
        .map_err(from_sqlite)?;
    Ok(n > 0)
}

fn non_negative(column: &str, v: i64) -> rusqlite::Result<u64> {
    u64::try_from(v).map_err(|e| corrupt(column, e))
}

fn small(column: &str, v: Option<i64>) -> rusqlite::Result<Option<u32>> {
    v.map(|v| u32::try_from(v).map_err(|e| corrupt(column, e)))
        .transpose()
}

/// Every queue with settings or live jobs.
pub(crate) fn list(conn: &Connection, now: Timestamp) -> Result<Vec<QueueRecord>> {
    let mut stmt = conn
        .prepare_cached(include_str!("queries/queue_list.sql"))
        .map_err(from_sqlite)?;
    let rows = stmt
        .query_map(named_params! {":now": micros(now)}, |r| {
            let rate = small("rate_limit", r.get(4)?)?
                .zip(r.get::<_, Option<i64>>(5)?)
                .map(|(starts, per)| RateLimit {
                    starts,
                    per: Duration::from_micros(per.max(0) as u64),
                });
            Ok(QueueRecord {
                name: r.get(0)?,
                paused: r.get::<_, i64>(1)? != 0,
                paused_at: opt_ts("paused_at", r.get(2)?)?,
                global_limit: small("global_limit", r.get(3)?)?,
                rate_limit: rate,
                tenant_limit: small("tenant_limit", Some(r.get(6)?))?.unwrap_or_default(),
                queued: non_negative("queued", r.get(7)?)?,
                due: non_negative("due", r.get(8)?)?,
                running: non_negative("running", r.get(9)?)?,
                oldest_due_at: opt_ts("oldest_due_at", r.get(10)?)?,
            })
        })
        .map_err(from_sqlite)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(from_sqlite)
}

/// The tenants with the most live jobs.
pub(crate) fn tenant_counts(conn: &Connection, limit: u32) -> Result<Vec<TenantCount>> {
    let mut stmt = conn
        .prepare_cached(include_str!("queries/tenant_counts.sql"))
        .map_err(from_sqlite)?;
    let rows = stmt
        .query_map(named_params! {":limit": limit}, |r| {
            Ok(TenantCount {
                queue: r.get(0)?,
                tenant: r.get(1)?,
                queued: non_negative("queued", r.get(2)?)?,
                running: non_negative("running", r.get(3)?)?,
            })
        })
        .map_err(from_sqlite)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(from_sqlite)
}
