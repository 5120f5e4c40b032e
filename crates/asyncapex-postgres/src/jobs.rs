//! The job table: one function per `Store` method, each running the named query files.

use asyncapex_core::{
    AbortOutcome, DURATION_BUCKETS_MS, Error, HeartbeatAck, JobAbortParams, JobClaimParams,
    JobCompleteManyParams, JobCountCreatedSinceParams, JobFinishParams, JobHeartbeatParams, JobId,
    JobListParams, JobRecord, JobReleaseParams, JobRescueParams, JobStats, JobStatsParams,
    JobStatus, JobType, MinuteStats, NewJob, RescueOutcome, Result,
};
use jiff::Timestamp;
use tokio_postgres::Row;

use crate::db::{self, Tx, get, micros, opt_ts, ts, u32_col, u64_col};
use crate::errors::{corrupt, from_pg, is_unique_violation};

/// The unique index that refuses a second waiting job with one signature.
const SIGNATURE_INDEX: &str = "asyncapex_job_signature";

pub(crate) fn job_id(column: &str, v: String) -> Result<JobId> {
    v.parse().map_err(|e| corrupt(column, e))
}

fn opt_job_id(row: &Row, column: &str) -> Result<Option<JobId>> {
    get::<_, Option<String>>(row, column)?
        .map(|v| job_id(column, v))
        .transpose()
}

pub(crate) fn ids_param(ids: &[JobId]) -> Vec<String> {
    ids.iter().map(|id| id.as_15().to_owned()).collect()
}

/// Maps a full `asyncapex_job` row, by column name.
pub(crate) fn job_from_row(row: &Row) -> Result<JobRecord> {
    let status: String = get(row, "status")?;
    let job_type: String = get(row, "job_type")?;
    Ok(JobRecord {
        id: job_id("id", get(row, "id")?)?,
        job_type: job_type
            .parse::<JobType>()
            .map_err(|e| corrupt("job_type", e))?,
        class_name: get(row, "class_name")?,
        method_name: get(row, "method_name")?,
        status: status
            .parse::<JobStatus>()
            .map_err(|e| corrupt("status", e))?,
        extended_status: get(row, "extended_status")?,
        items_processed: u64_col(row, "items_processed")?,
        total_items: u64_col(row, "total_items")?,
        number_of_errors: u64_col(row, "number_of_errors")?,
        parent_job_id: opt_job_id(row, "parent_job_id")?,
        cron_trigger_id: get::<_, Option<String>>(row, "cron_trigger_id")?
            .map(|v| v.parse().map_err(|e| corrupt("cron_trigger_id", e)))
            .transpose()?,
        created_at: ts("created_at", get(row, "created_at")?)?,
        started_at: opt_ts(row, "started_at")?,
        completed_at: opt_ts(row, "completed_at")?,
        run_at: ts("run_at", get(row, "run_at")?)?,
        attempt: u32_col(row, "attempt")?,
        max_attempts: u32_col(row, "max_attempts")?,
        stack_depth: u32_col(row, "stack_depth")?,
        max_stack_depth: get::<_, Option<i64>>(row, "max_stack_depth")?
            .map(|v| u32::try_from(v).map_err(|e| corrupt("max_stack_depth", e)))
            .transpose()?,
        failure_reenqueues: u32_col(row, "failure_reenqueues")?,
        signature: get(row, "signature")?,
        payload: get(row, "payload")?,
        lease_owner: get(row, "lease_owner")?,
        lease_expires_at: opt_ts(row, "lease_expires_at")?,
        abort_requested: get(row, "abort_requested")?,
        batch_scope: get::<_, Option<i64>>(row, "batch_scope")?
            .map(|v| u32::try_from(v).map_err(|e| corrupt("batch_scope", e)))
            .transpose()?,
        batch_start_done: get(row, "batch_start_done")?,
        flex_position: get(row, "flex_position")?,
    })
}

fn jobs_from_rows(rows: &[Row]) -> Result<Vec<JobRecord>> {
    rows.iter().map(job_from_row).collect()
}

/// Signals every process listening on this schema that work may be available; delivered when
/// the transaction commits.
pub(crate) async fn notify(tx: &dyn Tx) -> Result<()> {
    db::query(tx, include_str!("queries/job_notify.sql"), &[]).await?;
    Ok(())
}

/// Takes the flex-queue lock for the rest of the transaction.
pub(crate) async fn lock_flex_queue(tx: &dyn Tx) -> Result<()> {
    db::query(tx, include_str!("queries/flex_queue_lock.sql"), &[]).await?;
    Ok(())
}

/// Inserts jobs; all or none (the transaction rolls back a partial insert). Holding batch jobs
/// join the end of the flex queue, which holds at most `max_holding`: both are decided under
/// the flex-queue lock, so the cap holds across processes.
pub(crate) async fn insert_many(tx: &dyn Tx, jobs: &[NewJob], max_holding: u32) -> Result<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    let holding = jobs
        .iter()
        .filter(|j| j.status == JobStatus::Holding)
        .count() as u64;
    if holding > 0 {
        lock_flex_queue(tx).await?;
        let already = db::count(tx, include_str!("queries/job_count_holding.sql"), &[]).await?;
        if already + holding > u64::from(max_holding) {
            return Err(Error::LimitExceeded {
                limit: "flex queue",
                used: already + holding,
                max: u64::from(max_holding),
                message: format!(
                    "you've exceeded the limit of {max_holding} jobs in the flex queue: {already} are holding; wait for some batch jobs to finish before adding more"
                ),
            });
        }
    }
    let stmt = tx
        .stmt(include_str!("queries/job_insert.sql"))
        .await
        .map_err(from_pg)?;
    for job in jobs {
        let parent = job.parent_job_id.map(|p| p.as_15().to_owned());
        let trigger = job.cron_trigger_id.map(|t| t.as_15().to_owned());
        let result = tx
            .raw()
            .execute(
                &stmt,
                &[
                    &job.id.as_15(),
                    &job.job_type.as_str(),
                    &job.class_name,
                    &job.method_name,
                    &job.status.as_str(),
                    &parent,
                    &trigger,
                    &micros(job.created_at),
                    &micros(job.run_at),
                    &i64::from(job.max_attempts),
                    &i64::from(job.stack_depth),
                    &job.max_stack_depth.map(i64::from),
                    &i64::from(job.failure_reenqueues),
                    &job.signature,
                    &job.payload,
                    &job.batch_scope.map(i64::from),
                ],
            )
            .await;
        if let Err(e) = result {
            if is_unique_violation(&e, SIGNATURE_INDEX) {
                return Err(Error::DuplicateSignature {
                    signature: job.signature.clone().unwrap_or_default(),
                });
            }
            return Err(from_pg(e));
        }
    }
    notify(tx).await
}

pub(crate) async fn get_job(tx: &dyn Tx, id: JobId) -> Result<Option<JobRecord>> {
    db::query_opt(tx, include_str!("queries/job_get.sql"), &[&id.as_15()])
        .await?
        .as_ref()
        .map(job_from_row)
        .transpose()
}

pub(crate) async fn list(tx: &dyn Tx, p: &JobListParams) -> Result<Vec<JobRecord>> {
    let statuses: Vec<&str> = p.statuses.iter().map(|s| s.as_str()).collect();
    let types: Vec<&str> = p.job_types.iter().map(|t| t.as_str()).collect();
    let parent = p.parent_job_id.map(|id| id.as_15().to_owned());
    let before = p.before.map(|id| id.as_15().to_owned());
    let rows = db::query(
        tx,
        include_str!("queries/job_list.sql"),
        &[
            &statuses,
            &types,
            &p.class_name,
            &parent,
            &before,
            &i64::from(p.limit),
        ],
    )
    .await?;
    jobs_from_rows(&rows)
}

pub(crate) async fn claim(tx: &dyn Tx, p: &JobClaimParams) -> Result<Vec<JobRecord>> {
    let rows = db::query(
        tx,
        include_str!("queries/job_claim.sql"),
        &[
            &p.owner,
            &micros(p.now),
            &micros(p.lease_until),
            &i64::from(p.limit),
        ],
    )
    .await?;
    let mut jobs = jobs_from_rows(&rows)?;
    // RETURNING gives no order guarantee; callers expect oldest first.
    jobs.sort_by_key(|a| (a.run_at, a.id));
    Ok(jobs)
}

pub(crate) async fn next_run_at(tx: &dyn Tx) -> Result<Option<Timestamp>> {
    db::instant(tx, include_str!("queries/job_next_run_at.sql"), "run_at").await
}

pub(crate) async fn heartbeat(tx: &dyn Tx, p: &JobHeartbeatParams) -> Result<Vec<HeartbeatAck>> {
    let rows = db::query(
        tx,
        include_str!("queries/job_heartbeat.sql"),
        &[&p.owner, &ids_param(&p.ids), &micros(p.lease_until)],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HeartbeatAck {
                id: job_id("id", get(r, "id")?)?,
                abort_requested: get(r, "abort_requested")?,
            })
        })
        .collect()
}

pub(crate) async fn finish(tx: &dyn Tx, p: &JobFinishParams) -> Result<bool> {
    let changed = db::execute(
        tx,
        include_str!("queries/job_finish.sql"),
        &[
            &p.id.as_15(),
            &p.owner,
            &p.outcome.status().as_str(),
            &p.outcome.message(),
            &micros(p.now),
        ],
    )
    .await?;
    if changed == 0 {
        return Ok(false);
    }
    insert_many(tx, &p.insert, p.max_holding).await?;
    Ok(true)
}

pub(crate) async fn complete_many(tx: &dyn Tx, p: &JobCompleteManyParams) -> Result<Vec<JobId>> {
    let rows = db::query(
        tx,
        include_str!("queries/job_complete_many.sql"),
        &[&ids_param(&p.ids), &p.owner, &micros(p.now)],
    )
    .await?;
    rows.iter().map(|r| job_id("id", get(r, "id")?)).collect()
}

pub(crate) async fn abort(tx: &dyn Tx, p: &JobAbortParams) -> Result<AbortOutcome> {
    let id = p.id.as_15();
    let waiting = db::execute(
        tx,
        include_str!("queries/job_abort_waiting.sql"),
        &[&id, &micros(p.now)],
    )
    .await?;
    if waiting > 0 {
        return Ok(AbortOutcome::Aborted);
    }
    let running = db::execute(tx, include_str!("queries/job_abort_running.sql"), &[&id]).await?;
    if running > 0 {
        return Ok(AbortOutcome::AbortRequested);
    }
    let row = db::query_opt(tx, include_str!("queries/job_status.sql"), &[&id]).await?;
    match row {
        None => Ok(AbortOutcome::NotFound),
        Some(r) => {
            let s: String = get(&r, "status")?;
            Ok(AbortOutcome::AlreadyFinished(
                s.parse().map_err(|e| corrupt("status", e))?,
            ))
        }
    }
}

async fn returning_ids(tx: &dyn Tx, sql: &str, p: &JobRescueParams) -> Result<Vec<JobId>> {
    let rows = db::query(tx, sql, &[&micros(p.now), &p.exclude_owner]).await?;
    let mut ids = rows
        .iter()
        .map(|r| job_id("id", get(r, "id")?))
        .collect::<Result<Vec<_>>>()?;
    ids.sort();
    Ok(ids)
}

pub(crate) async fn rescue(tx: &dyn Tx, p: &JobRescueParams) -> Result<RescueOutcome> {
    // Order matters: abort requests win over retries, and the attempt limit over a requeue.
    let aborted = returning_ids(tx, include_str!("queries/job_rescue_abort.sql"), p).await?;
    let failed = returning_ids(tx, include_str!("queries/job_rescue_fail.sql"), p).await?;
    let requeued = returning_ids(tx, include_str!("queries/job_rescue_requeue.sql"), p).await?;
    if !requeued.is_empty() {
        notify(tx).await?;
    }
    Ok(RescueOutcome {
        requeued,
        failed,
        aborted,
    })
}

pub(crate) async fn release(tx: &dyn Tx, p: &JobReleaseParams) -> Result<u64> {
    let n = db::execute(
        tx,
        include_str!("queries/job_release.sql"),
        &[&p.owner, &ids_param(&p.ids)],
    )
    .await?;
    if n > 0 {
        notify(tx).await?;
    }
    Ok(n)
}

pub(crate) async fn count_by_status(tx: &dyn Tx) -> Result<Vec<(JobStatus, u64)>> {
    let rows = db::query(tx, include_str!("queries/job_count_by_status.sql"), &[]).await?;
    rows.iter()
        .map(|r| {
            let s: String = get(r, 0)?;
            let n: i64 = get(r, 1)?;
            Ok((
                s.parse::<JobStatus>().map_err(|e| corrupt("status", e))?,
                n.max(0) as u64,
            ))
        })
        .collect()
}

pub(crate) async fn count_created_since(
    tx: &dyn Tx,
    p: &JobCountCreatedSinceParams,
) -> Result<u64> {
    let types: Vec<&str> = p.job_types.iter().map(|t| t.as_str()).collect();
    db::count(
        tx,
        include_str!("queries/job_count_created_since.sql"),
        &[&micros(p.since), &types],
    )
    .await
}

pub(crate) async fn count_pending(tx: &dyn Tx, now: Timestamp) -> Result<u64> {
    db::count(
        tx,
        include_str!("queries/job_count_pending.sql"),
        &[&micros(now)],
    )
    .await
}

pub(crate) async fn stats(tx: &dyn Tx, p: &JobStatsParams) -> Result<JobStats> {
    let mut stats = JobStats {
        duration_counts: vec![0; DURATION_BUCKETS_MS.len() + 1],
        ..JobStats::default()
    };
    let rows = db::query(
        tx,
        include_str!("queries/job_stats_by_type_status.sql"),
        &[],
    )
    .await?;
    for r in &rows {
        let t: String = get(r, 0)?;
        let s: String = get(r, 1)?;
        let n: i64 = get(r, 2)?;
        stats.by_type_and_status.push((
            t.parse::<JobType>().map_err(|e| corrupt("job_type", e))?,
            s.parse::<JobStatus>().map_err(|e| corrupt("status", e))?,
            n.max(0) as u64,
        ));
    }
    let since = micros(p.since);
    let rows = db::query(
        tx,
        include_str!("queries/job_stats_per_minute.sql"),
        &[&since],
    )
    .await?;
    for r in &rows {
        let minute: i64 = get(r, 0)?;
        let completed: i64 = get(r, 1)?;
        let failed: i64 = get(r, 2)?;
        stats.per_minute.push(MinuteStats {
            minute: ts("minute", minute * 60_000_000)?,
            completed: completed.max(0) as u64,
            failed: failed.max(0) as u64,
        });
    }
    let rows = db::query(
        tx,
        include_str!("queries/job_stats_durations.sql"),
        &[&since],
    )
    .await?;
    for r in &rows {
        let bucket: i32 = get(r, 0)?;
        let n: i64 = get(r, 1)?;
        let sum: i64 = get(r, 2)?;
        let rescued: i64 = get(r, 3)?;
        let slot = bucket.clamp(0, 13) as usize;
        stats.duration_counts[slot] += n.max(0) as u64;
        stats.duration_sum_ms += sum.max(0) as u64;
        stats.rescued += rescued.max(0) as u64;
    }
    Ok(stats)
}
