//! The cron trigger table: one function per `Store` method, each running the named query files.

use asyncapex_core::{
    CronTriggerDeleteParams, CronTriggerDueParams, CronTriggerFailParams, CronTriggerFireParams,
    CronTriggerId, CronTriggerInsertParams, CronTriggerListParams, CronTriggerRecord,
    CronTriggerResumeParams, Error, JobStatus, JobType, Result, StoredTriggerState, rules,
};
use jiff::Timestamp;
use tokio_postgres::Row;

use crate::db::{self, Params, Tx, get, micros, opt_ts, ts, u64_col};
use crate::decode::skip_undecodable;
use crate::errors::{corrupt, from_pg, is_unique_violation};
use crate::jobs::{insert_many, job_id, notify};

/// The unique index on the names of active triggers.
const NAME_INDEX: &str = "asyncapex_cron_trigger_name";

fn trigger_from_row(row: &Row) -> Result<CronTriggerRecord> {
    let job_type: String = get(row, "job_type")?;
    let state: String = get(row, "state")?;
    let id: String = get(row, "id")?;
    Ok(CronTriggerRecord {
        id: id.parse().map_err(|e| corrupt("id", e))?,
        name: get(row, "name")?,
        job_type: job_type
            .parse::<JobType>()
            .map_err(|e| corrupt("job_type", e))?,
        class_name: get(row, "class_name")?,
        payload: get(row, "payload")?,
        cron_expression: get(row, "cron_expression")?,
        time_zone: get(row, "time_zone")?,
        dst_policy: get(row, "dst_policy")?,
        stored_state: state
            .parse::<StoredTriggerState>()
            .map_err(|e| corrupt("state", e))?,
        state_detail: get(row, "state_detail")?,
        next_fire_time: opt_ts(row, "next_fire_time")?,
        previous_fire_time: opt_ts(row, "previous_fire_time")?,
        times_triggered: u64_col(row, "times_triggered")?,
        start_time: ts("start_time", get(row, "start_time")?)?,
        end_time: opt_ts(row, "end_time")?,
        last_job_id: get::<_, Option<String>>(row, "last_job_id")?
            .map(|v| job_id("last_job_id", v))
            .transpose()?,
        batch_scope: get::<_, Option<i64>>(row, "batch_scope")?
            .map(|v| u32::try_from(v).map_err(|e| corrupt("batch_scope", e)))
            .transpose()?,
        last_job_status: get::<_, Option<String>>(row, "last_job_status")?
            .map(|v| {
                v.parse::<JobStatus>()
                    .map_err(|e| corrupt("last_job_status", e))
            })
            .transpose()?,
    })
}

async fn query_triggers(
    tx: &dyn Tx,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<CronTriggerRecord>> {
    let rows = db::query(tx, sql, params).await?;
    Ok(skip_undecodable(
        "asyncapex_cron_trigger",
        &rows,
        trigger_from_row,
    ))
}

async fn one_trigger(
    tx: &dyn Tx,
    sql: &str,
    params: Params<'_>,
) -> Result<Option<CronTriggerRecord>> {
    db::query_opt(tx, sql, params)
        .await?
        .as_ref()
        .map(trigger_from_row)
        .transpose()
}

async fn changed(tx: &dyn Tx, sql: &str, params: Params<'_>) -> Result<bool> {
    Ok(db::execute(tx, sql, params).await? > 0)
}

pub(crate) async fn insert(tx: &dyn Tx, p: &CronTriggerInsertParams) -> Result<()> {
    let t = &p.trigger;
    // Under the schedule lock, so the name check, the count and the insert hold across
    // processes.
    db::query(tx, include_str!("queries/cron_trigger_lock.sql"), &[]).await?;
    let taken = db::count(
        tx,
        include_str!("queries/cron_trigger_name_taken.sql"),
        &[&t.name],
    )
    .await?;
    if taken > 0 {
        return Err(Error::DuplicateScheduleName {
            name: t.name.clone(),
        });
    }
    let active = db::count(
        tx,
        include_str!("queries/cron_trigger_count_active.sql"),
        &[],
    )
    .await?;
    rules::ensure_schedule_room(p.max_active, active)?;
    let stmt = tx
        .stmt(include_str!("queries/cron_trigger_insert.sql"))
        .await
        .map_err(from_pg)?;
    let result = tx
        .changed(
            &stmt,
            &[
                &t.id.as_15(),
                &t.name,
                &t.job_type.as_str(),
                &t.class_name,
                &t.payload,
                &t.cron_expression,
                &t.time_zone,
                &t.dst_policy,
                &micros(t.next_fire_time),
                &micros(t.start_time),
                &t.batch_scope.map(i64::from),
            ],
        )
        .await;
    match result {
        Ok(_) => notify(tx).await,
        // The lock makes this unreachable between asyncapex stores; kept for other writers.
        Err(e) if is_unique_violation(&e, NAME_INDEX) => Err(Error::DuplicateScheduleName {
            name: t.name.clone(),
        }),
        Err(e) => Err(from_pg(e)),
    }
}

pub(crate) async fn get_trigger(
    tx: &dyn Tx,
    id: CronTriggerId,
) -> Result<Option<CronTriggerRecord>> {
    one_trigger(
        tx,
        include_str!("queries/cron_trigger_get.sql"),
        &[&id.as_15()],
    )
    .await
}

pub(crate) async fn find(tx: &dyn Tx, name: &str) -> Result<Option<CronTriggerRecord>> {
    one_trigger(tx, include_str!("queries/cron_trigger_find.sql"), &[&name]).await
}

pub(crate) async fn list(tx: &dyn Tx, p: &CronTriggerListParams) -> Result<Vec<CronTriggerRecord>> {
    query_triggers(
        tx,
        include_str!("queries/cron_trigger_list.sql"),
        &[&p.include_ended, &i64::from(p.limit)],
    )
    .await
}

pub(crate) async fn due(tx: &dyn Tx, p: &CronTriggerDueParams) -> Result<Vec<CronTriggerRecord>> {
    query_triggers(
        tx,
        include_str!("queries/cron_trigger_due.sql"),
        &[&micros(p.now), &i64::from(p.limit)],
    )
    .await
}

pub(crate) async fn fire(tx: &dyn Tx, p: &CronTriggerFireParams) -> Result<bool> {
    let fired = changed(
        tx,
        include_str!("queries/cron_trigger_fire.sql"),
        &[
            &p.id.as_15(),
            &micros(p.expected_next_fire_time),
            &p.next_fire_time.map(micros),
            &micros(p.fired_at),
            &p.job.id.as_15(),
        ],
    )
    .await?;
    if fired {
        insert_many(tx, std::slice::from_ref(&p.job), u32::MAX).await?;
    }
    Ok(fired)
}

pub(crate) async fn next_fire_time(tx: &dyn Tx) -> Result<Option<Timestamp>> {
    db::instant(
        tx,
        include_str!("queries/cron_trigger_next_fire_time.sql"),
        "next_fire_time",
    )
    .await
}

pub(crate) async fn pause(tx: &dyn Tx, id: CronTriggerId) -> Result<bool> {
    changed(
        tx,
        include_str!("queries/cron_trigger_pause.sql"),
        &[&id.as_15()],
    )
    .await
}

pub(crate) async fn resume(tx: &dyn Tx, p: &CronTriggerResumeParams) -> Result<bool> {
    let resumed = changed(
        tx,
        include_str!("queries/cron_trigger_resume.sql"),
        &[&p.id.as_15(), &micros(p.next_fire_time)],
    )
    .await?;
    if resumed {
        notify(tx).await?;
    }
    Ok(resumed)
}

pub(crate) async fn delete(tx: &dyn Tx, p: &CronTriggerDeleteParams) -> Result<bool> {
    changed(
        tx,
        include_str!("queries/cron_trigger_delete.sql"),
        &[&p.id.as_15(), &micros(p.now)],
    )
    .await
}

pub(crate) async fn fail(tx: &dyn Tx, p: &CronTriggerFailParams) -> Result<bool> {
    changed(
        tx,
        include_str!("queries/cron_trigger_fail.sql"),
        &[&p.id.as_15(), &p.message],
    )
    .await
}
