//! The cron trigger table: one function per `Store` method, each running the named query files.

use asyncapex_core::{
    CronTriggerDeleteParams, CronTriggerDueParams, CronTriggerFailParams, CronTriggerFireParams,
    CronTriggerId, CronTriggerInsertParams, CronTriggerListParams, CronTriggerRecord,
    CronTriggerResumeParams, Error, JobStatus, JobType, Result, StoredTriggerState, rules,
};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Params, Row, named_params};

use crate::decode::{keep_id, skip_undecodable};
use crate::errors::{corrupt, from_sqlite};
use crate::jobs::{insert_many, job_id, micros, opt_ts, ts};

fn trigger_from_row(row: &Row<'_>) -> rusqlite::Result<CronTriggerRecord> {
    let job_type: String = row.get("job_type")?;
    let state: String = row.get("state")?;
    let id: String = row.get("id")?;
    Ok(CronTriggerRecord {
        id: id.parse().map_err(|e| corrupt("id", e))?,
        name: row.get("name")?,
        job_type: job_type
            .parse::<JobType>()
            .map_err(|e| corrupt("job_type", e))?,
        class_name: row.get("class_name")?,
        payload: row.get("payload")?,
        cron_expression: row.get("cron_expression")?,
        time_zone: row.get("time_zone")?,
        dst_policy: row.get("dst_policy")?,
        stored_state: state
            .parse::<StoredTriggerState>()
            .map_err(|e| corrupt("state", e))?,
        state_detail: row.get("state_detail")?,
        next_fire_time: opt_ts("next_fire_time", row.get("next_fire_time")?)?,
        previous_fire_time: opt_ts("previous_fire_time", row.get("previous_fire_time")?)?,
        times_triggered: row.get::<_, i64>("times_triggered")?.max(0) as u64,
        start_time: ts("start_time", row.get("start_time")?)?,
        end_time: opt_ts("end_time", row.get("end_time")?)?,
        last_job_id: row
            .get::<_, Option<String>>("last_job_id")?
            .map(|v| job_id("last_job_id", v))
            .transpose()?,
        batch_scope: row
            .get::<_, Option<i64>>("batch_scope")?
            .map(|v| u32::try_from(v).map_err(|e| corrupt("batch_scope", e)))
            .transpose()?,
        last_job_status: row
            .get::<_, Option<String>>("last_job_status")?
            .map(|v| {
                v.parse::<JobStatus>()
                    .map_err(|e| corrupt("last_job_status", e))
            })
            .transpose()?,
    })
}

fn query_triggers<P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> Result<Vec<CronTriggerRecord>> {
    let mut stmt = conn.prepare_cached(sql).map_err(from_sqlite)?;
    let id = stmt.column_index("id").map_err(from_sqlite)?;
    let rows = stmt
        .query_map(params, |r| keep_id(r, id, trigger_from_row))
        .map_err(from_sqlite)?;
    skip_undecodable("asyncapex_cron_trigger", rows)
}

fn count(conn: &Connection, sql: &str, params: impl Params) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached(sql)
        .map_err(from_sqlite)?
        .query_row(params, |r| r.get(0))
        .map_err(from_sqlite)?;
    Ok(n.max(0) as u64)
}

fn changed(conn: &Connection, sql: &str, params: impl Params) -> Result<bool> {
    let n = conn
        .prepare_cached(sql)
        .map_err(from_sqlite)?
        .execute(params)
        .map_err(from_sqlite)?;
    Ok(n > 0)
}

pub(crate) fn insert(conn: &Connection, p: &CronTriggerInsertParams) -> Result<()> {
    let t = &p.trigger;
    // Inside the group transaction, so the count and the insert see the same table.
    let taken = count(
        conn,
        include_str!("queries/cron_trigger_name_taken.sql"),
        named_params! {":name": t.name},
    )?;
    if taken > 0 {
        return Err(Error::DuplicateScheduleName {
            name: t.name.clone(),
        });
    }
    let active = count(
        conn,
        include_str!("queries/cron_trigger_count_active.sql"),
        [],
    )?;
    rules::ensure_schedule_room(p.max_active, active)?;
    conn.prepare_cached(include_str!("queries/cron_trigger_insert.sql"))
        .map_err(from_sqlite)?
        .execute(named_params! {
            ":id": t.id.as_15(),
            ":name": t.name,
            ":job_type": t.job_type.as_str(),
            ":class_name": t.class_name,
            ":payload": t.payload,
            ":cron_expression": t.cron_expression,
            ":time_zone": t.time_zone,
            ":dst_policy": t.dst_policy,
            ":next_fire_time": micros(t.next_fire_time),
            ":start_time": micros(t.start_time),
            ":batch_scope": t.batch_scope,
        })
        .map_err(from_sqlite)?;
    Ok(())
}

pub(crate) fn get(conn: &Connection, id: CronTriggerId) -> Result<Option<CronTriggerRecord>> {
    conn.prepare_cached(include_str!("queries/cron_trigger_get.sql"))
        .map_err(from_sqlite)?
        .query_row(named_params! {":id": id.as_15()}, trigger_from_row)
        .optional()
        .map_err(from_sqlite)
}

pub(crate) fn find(conn: &Connection, name: &str) -> Result<Option<CronTriggerRecord>> {
    conn.prepare_cached(include_str!("queries/cron_trigger_find.sql"))
        .map_err(from_sqlite)?
        .query_row(named_params! {":name": name}, trigger_from_row)
        .optional()
        .map_err(from_sqlite)
}

pub(crate) fn list(conn: &Connection, p: &CronTriggerListParams) -> Result<Vec<CronTriggerRecord>> {
    query_triggers(
        conn,
        include_str!("queries/cron_trigger_list.sql"),
        named_params! {":include_ended": p.include_ended, ":limit": p.limit},
    )
}

pub(crate) fn due(conn: &Connection, p: &CronTriggerDueParams) -> Result<Vec<CronTriggerRecord>> {
    query_triggers(
        conn,
        include_str!("queries/cron_trigger_due.sql"),
        named_params! {":now": micros(p.now), ":limit": p.limit},
    )
}

pub(crate) fn fire(conn: &Connection, p: &CronTriggerFireParams) -> Result<bool> {
    let fired = changed(
        conn,
        include_str!("queries/cron_trigger_fire.sql"),
        named_params! {
            ":id": p.id.as_15(),
            ":expected_next_fire_time": micros(p.expected_next_fire_time),
            ":next_fire_time": p.next_fire_time.map(micros),
            ":fired_at": micros(p.fired_at),
            ":job_id": p.job.id.as_15(),
        },
    )?;
    if fired {
        insert_many(conn, std::slice::from_ref(&p.job), u32::MAX)?;
    }
    Ok(fired)
}

pub(crate) fn next_fire_time(conn: &Connection) -> Result<Option<Timestamp>> {
    let v: Option<i64> = conn
        .prepare_cached(include_str!("queries/cron_trigger_next_fire_time.sql"))
        .map_err(from_sqlite)?
        .query_row([], |r| r.get(0))
        .map_err(from_sqlite)?;
    v.map(|v| ts("next_fire_time", v))
        .transpose()
        .map_err(from_sqlite)
}

pub(crate) fn pause(conn: &Connection, id: CronTriggerId) -> Result<bool> {
    changed(
        conn,
        include_str!("queries/cron_trigger_pause.sql"),
        named_params! {":id": id.as_15()},
    )
}

pub(crate) fn resume(conn: &Connection, p: &CronTriggerResumeParams) -> Result<bool> {
    changed(
        conn,
        include_str!("queries/cron_trigger_resume.sql"),
        named_params! {":id": p.id.as_15(), ":next_fire_time": micros(p.next_fire_time)},
    )
}

pub(crate) fn delete(conn: &Connection, p: &CronTriggerDeleteParams) -> Result<bool> {
    changed(
        conn,
        include_str!("queries/cron_trigger_delete.sql"),
        named_params! {":id": p.id.as_15(), ":now": micros(p.now)},
    )
}

pub(crate) fn fail(conn: &Connection, p: &CronTriggerFailParams) -> Result<bool> {
    changed(
        conn,
        include_str!("queries/cron_trigger_fail.sql"),
        named_params! {":id": p.id.as_15(), ":message": p.message},
    )
}
