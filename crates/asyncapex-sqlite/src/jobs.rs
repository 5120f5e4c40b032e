//! The job table: one function per `Store` method, each running the named query files.

use asyncapex_core::{
    AbortOutcome, AttemptOutcome, AttemptRecord, Error, HeartbeatAck, JobAbortParams,
    JobCompleteManyParams, JobCountCreatedSinceParams, JobFinalizerStoreParams, JobFinishParams,
    JobHeartbeatParams, JobId, JobListParams, JobRecord, JobReleaseParams, JobRescueParams,
    JobStats, JobStatsParams, JobStatus, JobType, MinuteFigures, MinuteWindow, NewJob,
    RescueOutcome, Result, StrandedFinalizer,
};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, named_params};

use asyncapex_core::rules::{self, AbortStep, RescueStep};

use crate::decode::{keep_id, skip_undecodable};

use crate::errors::{corrupt, from_sqlite, is_signature_conflict};

pub(crate) fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub(crate) fn ts(column: &str, v: i64) -> rusqlite::Result<Timestamp> {
    Timestamp::from_microsecond(v).map_err(|e| corrupt(column, e))
}

pub(crate) fn opt_ts(column: &str, v: Option<i64>) -> rusqlite::Result<Option<Timestamp>> {
    v.map(|v| ts(column, v)).transpose()
}

pub(crate) fn job_id(column: &str, v: String) -> rusqlite::Result<JobId> {
    v.parse().map_err(|e| corrupt(column, e))
}

pub(crate) fn count(column: &str, v: i64) -> rusqlite::Result<u32> {
    u32::try_from(v).map_err(|e| corrupt(column, e))
}

pub(crate) fn ids_json(ids: &[JobId]) -> String {
    let list: Vec<&str> = ids.iter().map(|id| id.as_15()).collect();
    serde_json::Value::from(list).to_string()
}

/// Maps a full `asyncapex_job` row, by column name.
/// Declares [`JobColumns`]: where each column of a job row sits in a statement's result.
macro_rules! job_columns {
    ($($column:ident),* $(,)?) => {
        /// The position of each job column in one statement's result, looked up once per
        /// statement: looking columns up by name for every row cost a claim of 256 jobs a
        /// `strlen` and a case-insensitive comparison per column per row (12 % of a worker
        /// draining jobs, by `perf`).
        pub(crate) struct JobColumns {
            $($column: usize,)*
        }

        impl JobColumns {
            /// Where the `id` column sits, to name a row that cannot be decoded.
            pub(crate) fn id(&self) -> usize {
                self.id
            }

            pub(crate) fn of(stmt: &rusqlite::Statement<'_>) -> Result<JobColumns> {
                Ok(JobColumns {
                    $($column: stmt.column_index(stringify!($column)).map_err(from_sqlite)?,)*
                })
            }
        }
    };
}

job_columns!(
    id,
    job_type,
    class_name,
    method_name,
    status,
    extended_status,
    items_processed,
    total_items,
    number_of_errors,
    parent_job_id,
    cron_trigger_id,
    created_at,
    started_at,
    completed_at,
    run_at,
    attempt,
    max_attempts,
    stack_depth,
    max_stack_depth,
    failure_reenqueues,
    signature,
    payload,
    lease_owner,
    lease_expires_at,
    abort_requested,
    batch_scope,
    batch_start_done,
    flex_position,
    retry_of,
    attempt_started_at,
    last_owner,
    trace_parent,
    queue,
    priority,
    tenant,
);

pub(crate) fn job_from_row(row: &Row<'_>, c: &JobColumns) -> rusqlite::Result<JobRecord> {
    let status: String = row.get(c.status)?;
    let job_type: String = row.get(c.job_type)?;
    Ok(JobRecord {
        id: job_id("id", row.get(c.id)?)?,
        job_type: job_type
            .parse::<JobType>()
            .map_err(|e| corrupt("job_type", e))?,
        class_name: row.get(c.class_name)?,
        method_name: row.get(c.method_name)?,
        status: status
            .parse::<JobStatus>()
            .map_err(|e| corrupt("status", e))?,
        extended_status: row.get(c.extended_status)?,
        items_processed: row.get::<_, i64>(c.items_processed)?.max(0) as u64,
        total_items: row.get::<_, i64>(c.total_items)?.max(0) as u64,
        number_of_errors: row.get::<_, i64>(c.number_of_errors)?.max(0) as u64,
        parent_job_id: row
            .get::<_, Option<String>>(c.parent_job_id)?
            .map(|v| job_id("parent_job_id", v))
            .transpose()?,
        cron_trigger_id: row
            .get::<_, Option<String>>(c.cron_trigger_id)?
            .map(|v| v.parse().map_err(|e| corrupt("cron_trigger_id", e)))
            .transpose()?,
        created_at: ts("created_at", row.get(c.created_at)?)?,
        started_at: opt_ts("started_at", row.get(c.started_at)?)?,
        completed_at: opt_ts("completed_at", row.get(c.completed_at)?)?,
        run_at: ts("run_at", row.get(c.run_at)?)?,
        attempt: count("attempt", row.get(c.attempt)?)?,
        max_attempts: count("max_attempts", row.get(c.max_attempts)?)?,
        stack_depth: count("stack_depth", row.get(c.stack_depth)?)?,
        max_stack_depth: row
            .get::<_, Option<i64>>(c.max_stack_depth)?
            .map(|v| count("max_stack_depth", v))
            .transpose()?,
        failure_reenqueues: count("failure_reenqueues", row.get(c.failure_reenqueues)?)?,
        signature: row.get(c.signature)?,
        payload: row.get(c.payload)?,
        lease_owner: row.get(c.lease_owner)?,
        lease_expires_at: opt_ts("lease_expires_at", row.get(c.lease_expires_at)?)?,
        abort_requested: row.get::<_, i64>(c.abort_requested)? != 0,
        batch_scope: row
            .get::<_, Option<i64>>(c.batch_scope)?
            .map(|v| count("batch_scope", v))
            .transpose()?,
        batch_start_done: row.get::<_, i64>(c.batch_start_done)? != 0,
        flex_position: row.get(c.flex_position)?,
        retry_of: row
            .get::<_, Option<String>>(c.retry_of)?
            .map(|v| job_id("retry_of", v))
            .transpose()?,
        attempt_started_at: opt_ts("attempt_started_at", row.get(c.attempt_started_at)?)?,
        last_owner: row.get(c.last_owner)?,
        trace_parent: row.get(c.trace_parent)?,
        queue: row.get(c.queue)?,
        priority: u8::try_from(row.get::<_, i64>(c.priority)?)
            .map_err(|e| corrupt("priority", e))?,
        tenant: row.get(c.tenant)?,
    })
}

/// Inserts jobs; all or none (the caller's savepoint rolls back a partial insert). Holding
/// batch jobs join the end of the flex queue, which holds at most `max_holding`.
pub(crate) fn insert_many(conn: &Connection, jobs: &[NewJob], max_holding: u32) -> Result<()> {
    let holding = jobs
        .iter()
        .filter(|j| j.status == JobStatus::Holding)
        .count() as u64;
    if holding > 0 {
        let n: i64 = conn
            .prepare_cached(include_str!("queries/job_count_holding.sql"))
            .map_err(from_sqlite)?
            .query_row([], |r| r.get(0))
            .map_err(from_sqlite)?;
        rules::ensure_flex_queue_room(max_holding, n.max(0) as u64, holding)?;
    }
    let mut stmt = conn
        .prepare_cached(include_str!("queries/job_insert.sql"))
        .map_err(from_sqlite)?;
    for job in jobs {
        let result = stmt.execute(named_params! {
            ":id": job.id.as_15(),
            ":job_type": job.job_type.as_str(),
            ":class_name": job.class_name,
            ":method_name": job.method_name,
            ":status": job.status.as_str(),
            ":parent_job_id": job.parent_job_id.map(|p| p.as_15().to_owned()),
            ":cron_trigger_id": job.cron_trigger_id.map(|t| t.as_15().to_owned()),
            ":created_at": micros(job.created_at),
            ":run_at": micros(job.run_at),
            ":max_attempts": job.max_attempts,
            ":stack_depth": job.stack_depth,
            ":max_stack_depth": job.max_stack_depth,
            ":failure_reenqueues": job.failure_reenqueues,
            ":signature": job.signature,
            ":payload": job.payload,
            ":batch_scope": job.batch_scope,
            ":retry_of": job.retry_of.map(|r| r.as_15().to_owned()),
            ":trace_parent": job.trace_parent,
            ":queue": job.queue,
            ":priority": job.priority,
            ":tenant": job.tenant,
            ":priority_delay": asyncapex_core::queue::priority_delay_micros(job.priority),
        });
        if let Err(e) = result {
            if is_signature_conflict(&e) {
                return Err(Error::DuplicateSignature {
                    signature: job.signature.clone().unwrap_or_default(),
                });
            }
            return Err(from_sqlite(e));
        }
    }
    Ok(())
}

pub(crate) fn get(conn: &Connection, id: JobId) -> Result<Option<JobRecord>> {
    let mut stmt = conn
        .prepare_cached(include_str!("queries/job_get.sql"))
        .map_err(from_sqlite)?;
    let columns = JobColumns::of(&stmt)?;
    stmt.query_row(named_params! {":id": id.as_15()}, |r| {
        job_from_row(r, &columns)
    })
    .optional()
    .map_err(from_sqlite)
}

pub(crate) fn list(conn: &Connection, p: &JobListParams) -> Result<Vec<JobRecord>> {
    let mut stmt = conn.prepare_cached(&list_sql(p)).map_err(from_sqlite)?;
    let columns = JobColumns::of(&stmt)?;
    let rows = stmt
        .query_map(list_params(p).to_params().as_slice(), |r| {
            keep_id(r, columns.id(), |r| job_from_row(r, &columns))
        })
        .map_err(from_sqlite)?;
    skip_undecodable("asyncapex_job", rows)
}

/// How many jobs `list` would return (at most `p.limit`).
pub(crate) fn count_listed(conn: &Connection, p: &JobListParams) -> Result<u64> {
    let sql = format!("SELECT COUNT(*) FROM ({})", list_sql(p));
    let n: i64 = conn
        .prepare_cached(&sql)
        .map_err(from_sqlite)?
        .query_row(list_params(p).to_params().as_slice(), |r| r.get(0))
        .map_err(from_sqlite)?;
    Ok(n.max(0) as u64)
}

/// The distinct class names, at most `limit`.
pub(crate) fn class_names(conn: &Connection, limit: u32) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare_cached(include_str!("queries/job_class_names.sql"))
        .map_err(from_sqlite)?;
    let rows = stmt
        .query_map(named_params! {":limit": limit}, |r| r.get::<_, String>(0))
        .map_err(from_sqlite)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(from_sqlite)
}

/// The named parameters of `job_list.sql`, owned so the caller can borrow them.
struct ListParams {
    statuses: String,
    job_types: String,
    class_name: Option<String>,
    class_names: String,
    parent_job_id: Option<String>,
    cron_trigger_id: Option<String>,
    retry_of: Option<String>,
    created_from: Option<i64>,
    created_before: Option<i64>,
    completed_from: Option<i64>,
    completed_before: Option<i64>,
    before: Option<String>,
    id_floor: String,
    limit: u32,
    /// `(:class_N, name)` for each class-name arm.
    class_arms: Vec<(String, String)>,
}

impl ListParams {
    fn to_params(&self) -> Vec<(&str, &dyn rusqlite::ToSql)> {
        let mut params: Vec<(&str, &dyn rusqlite::ToSql)> = vec![
            (":statuses", &self.statuses),
            (":job_types", &self.job_types),
            (":class_name", &self.class_name),
            (":class_names", &self.class_names),
            (":parent_job_id", &self.parent_job_id),
            (":cron_trigger_id", &self.cron_trigger_id),
            (":retry_of", &self.retry_of),
            (":created_from", &self.created_from),
            (":created_before", &self.created_before),
            (":completed_from", &self.completed_from),
            (":completed_before", &self.completed_before),
            (":before", &self.before),
            (":id_floor", &self.id_floor),
            (":limit", &self.limit),
        ];
        for (name, value) in &self.class_arms {
            params.push((name.as_str(), value));
        }
        params
    }
}

fn list_params(p: &JobListParams) -> ListParams {
    let statuses: Vec<&str> = p.statuses.iter().map(|s| s.as_str()).collect();
    let types: Vec<&str> = p.job_types.iter().map(|t| t.as_str()).collect();
    let (floor, start) = p.id_bounds();
    let mut values = ListParams {
        statuses: serde_json::Value::from(statuses).to_string(),
        job_types: serde_json::Value::from(types).to_string(),
        class_name: p.class_name.clone(),
        class_names: serde_json::Value::from(p.unique_class_names()).to_string(),
        parent_job_id: p.parent_job_id.map(|id| id.as_15().to_owned()),
        cron_trigger_id: p.cron_trigger_id.map(|id| id.as_15().to_owned()),
        retry_of: p.retry_of.map(|id| id.as_15().to_owned()),
        created_from: p.created.from.map(micros),
        created_before: p.created.before.map(micros),
        completed_from: p.completed.from.map(micros),
        completed_before: p.completed.before.map(micros),
        before: start.map(|id| id.as_15().to_owned()),
        id_floor: floor.map_or_else(String::new, |id| id.as_15().to_owned()),
        limit: p.limit,
        class_arms: if p.parent_job_id.is_none()
            && p.retry_of.is_none()
            && p.cron_trigger_id.is_none()
            && p.class_name.is_none()
            && p.unique_class_names().len() <= MAX_CLASS_ARMS
        {
            p.unique_class_names()
                .into_iter()
                .enumerate()
                .map(|(i, n)| (format!(":class_{i}"), n))
                .collect()
        } else {
            Vec::new()
        },
    };
    if !values.class_arms.is_empty() {
        // Each arm already names its class; the list filter would only make SQLite seek by
        // the list and sort.
        values.class_names = "[]".into();
    }
    values
}

/// A status arm's index and key: active batch jobs have a small partial index of their own
/// (the flex-queue page lists them beside a queue that may hold many other jobs), which SQLite
/// uses only when the arm's condition repeats the index's `job_type = 'BatchApex'`; otherwise
/// (status, id). Named, because without statistics SQLite may pick the queued-jobs index and
/// sort every queued job.
fn status_arm(status: JobStatus, types: &[JobType]) -> (&'static str, String) {
    let active = matches!(
        status,
        JobStatus::Queued | JobStatus::Preparing | JobStatus::Processing
    );
    if active && types == [JobType::BatchApex] {
        (
            "INDEXED BY asyncapex_job_batch_active",
            format!("status = '{status}' AND job_type = 'BatchApex'"),
        )
    } else {
        (
            "INDEXED BY asyncapex_job_status",
            format!("status = '{status}'"),
        )
    }
}

/// The most class names searched one index arm each; more are matched while walking the
/// primary key (a prefix that matches that many classes matches most jobs anyway).
const MAX_CLASS_ARMS: usize = 50;

/// `values` sorted, each once.
fn unique<T: Ord + Copy>(values: &[T]) -> Vec<T> {
    let mut out = values.to_vec();
    out.sort_unstable();
    out.dedup();
    out
}

/// The job list's SQL: which index bounds the walk, so that a page costs the rows it shows
/// (plus the rows its other filters skip) however many finished jobs the store keeps. A
/// parent or class filter walks its own index; several statuses or types walk one index range
/// per value, merged newest-first, because one `IN` list over an index cannot be read in ID
/// order; no filter walks the primary key.
fn list_sql(p: &JobListParams) -> String {
    let arm = |index: &str, driver: &str| {
        include_str!("queries/job_list.sql")
            .replace("{index}", index)
            .replace("{driver}", driver)
    };
    let arms: Vec<String> = if p.parent_job_id.is_some() {
        vec![arm(
            "INDEXED BY asyncapex_job_parent",
            "parent_job_id = :parent_job_id",
        )]
    } else if p.retry_of.is_some() {
        vec![arm(
            "INDEXED BY asyncapex_job_retry_of",
            "retry_of = :retry_of",
        )]
    } else if p.cron_trigger_id.is_some() {
        vec![arm(
            "INDEXED BY asyncapex_job_cron_trigger",
            "cron_trigger_id = :cron_trigger_id",
        )]
    } else if p.class_name.is_some() {
        vec![arm(
            "INDEXED BY asyncapex_job_class",
            "class_name = :class_name",
        )]
    } else if !p.class_names.is_empty() && p.unique_class_names().len() <= MAX_CLASS_ARMS {
        // Class names are user text: each arm binds its own parameter (a name read out of
        // the JSON list would seek the index too, but SQLite then sorts the arm).
        (0..p.unique_class_names().len())
            .map(|i| {
                arm(
                    "INDEXED BY asyncapex_job_class",
                    &format!("class_name = :class_{i}"),
                )
            })
            .collect()
    } else if !p.statuses.is_empty() {
        // Status and type names are fixed identifiers from the enums, never user text; a
        // value asked for twice is one arm, or its jobs would be listed twice.
        unique(&p.statuses)
            .into_iter()
            .map(|s| {
                let (index, driver) = status_arm(s, &p.job_types);
                arm(index, &driver)
            })
            .collect()
    } else if !p.job_types.is_empty() {
        unique(&p.job_types)
            .into_iter()
            .map(|t| {
                arm(
                    "INDEXED BY asyncapex_job_type",
                    &format!("job_type = '{t}'"),
                )
            })
            .collect()
    } else {
        vec![arm("", "1")]
    };
    if let [one] = arms.as_slice() {
        return one.clone();
    }
    let union: Vec<String> = arms
        .iter()
        .map(|a| format!("SELECT * FROM ({a})"))
        .collect();
    format!(
        "{}\nORDER BY id DESC\nLIMIT :limit",
        union.join("\nUNION ALL\n")
    )
}

pub(crate) fn heartbeat(conn: &Connection, p: &JobHeartbeatParams) -> Result<Vec<HeartbeatAck>> {
    let mut stmt = conn
        .prepare_cached(include_str!("queries/job_heartbeat.sql"))
        .map_err(from_sqlite)?;
    let rows = stmt
        .query_map(
            named_params! {
                ":owner": p.owner,
                ":ids": ids_json(&p.ids),
                ":lease_until": micros(p.lease_until),
            },
            |r| {
                Ok(HeartbeatAck {
                    id: job_id("id", r.get(0)?)?,
                    abort_requested: r.get::<_, i64>(1)? != 0,
                })
            },
        )
        .map_err(from_sqlite)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(from_sqlite)
}

pub(crate) fn finish(conn: &Connection, p: &JobFinishParams) -> Result<bool> {
    let changed = conn
        .prepare_cached(include_str!("queries/job_finish.sql"))
        .map_err(from_sqlite)?
        .execute(named_params! {
            ":id": p.id.as_15(),
            ":owner": p.owner,
            ":status": p.outcome.status().as_str(),
            ":message": p.outcome.message(),
            ":now": micros(p.now),
        })
        .map_err(from_sqlite)?;
    if changed == 0 {
        return Ok(false);
    }
    if p.outcome.status() != JobStatus::Completed {
        let outcome = match p.outcome.status() {
            JobStatus::Aborted => AttemptOutcome::Aborted,
            _ => AttemptOutcome::Failed,
        };
        record_attempt(conn, p.id, p.now, outcome, p.outcome.message())?;
    }
    insert_many(conn, &p.insert, p.max_holding)?;
    Ok(true)
}

/// Records the attempt a guarded write just ended without completing the job.
fn record_attempt(
    conn: &Connection,
    id: JobId,
    ended_at: Timestamp,
    outcome: AttemptOutcome,
    error: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(include_str!("queries/job_attempt_record.sql"))
        .map_err(from_sqlite)?
        .execute(named_params! {
            ":id": id.as_15(),
            ":ended_at": micros(ended_at),
            ":outcome": outcome.as_str(),
            ":error": error,
        })
        .map_err(from_sqlite)?;
    Ok(())
}

/// A job's recorded attempts, oldest first.
pub(crate) fn attempts(conn: &Connection, id: JobId) -> Result<Vec<AttemptRecord>> {
    let mut stmt = conn
        .prepare_cached(include_str!("queries/job_attempt_list.sql"))
        .map_err(from_sqlite)?;
    let rows = stmt
        .query_map(named_params! {":id": id.as_15()}, |r| {
            let outcome: String = r.get(4)?;
            Ok(AttemptRecord {
                attempt: count("attempt", r.get(0)?)?,
                started_at: opt_ts("started_at", r.get(1)?)?,
                ended_at: opt_ts("ended_at", r.get(2)?)?,
                owner: r.get(3)?,
                outcome: outcome
                    .parse::<AttemptOutcome>()
                    .map_err(|e| corrupt("outcome", e))?,
                error: r.get(5)?,
            })
        })
        .map_err(from_sqlite)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(from_sqlite)
}

pub(crate) fn complete_many(conn: &Connection, p: &JobCompleteManyParams) -> Result<Vec<JobId>> {
    // The same guarded UPDATE as a single finish, prepared once and run per ID inside the
    // call's one transaction: a few microseconds each, with one commit for the group.
    let mut stmt = conn
        .prepare_cached(include_str!("queries/job_finish.sql"))
        .map_err(from_sqlite)?;
    let now = micros(p.now);
    let mut done = Vec::with_capacity(p.ids.len());
    for id in &p.ids {
        let changed = stmt
            .execute(named_params! {
                ":id": id.as_15(),
                ":owner": p.owner,
                ":status": JobStatus::Completed.as_str(),
                ":message": None::<&str>,
                ":now": now,
            })
            .map_err(from_sqlite)?;
        if changed > 0 {
            done.push(*id);
        }
    }
    Ok(done)
}

pub(crate) fn finalizer_store(conn: &Connection, p: &JobFinalizerStoreParams) -> Result<bool> {
    let changed = conn
        .prepare_cached(include_str!("queries/job_finalizer_store.sql"))
        .map_err(from_sqlite)?
        .execute(named_params! {
            ":id": p.id.as_15(),
            ":owner": p.owner,
            ":class": p.class,
            ":state": p.state,
        })
        .map_err(from_sqlite)?;
    Ok(changed > 0)
}

pub(crate) fn finalizers_stranded(conn: &Connection, limit: u32) -> Result<Vec<StrandedFinalizer>> {
    let mut stmt = conn
        .prepare_cached(include_str!("queries/job_finalizers_stranded.sql"))
        .map_err(from_sqlite)?;
    let columns = JobColumns::of(&stmt)?;
    let class_at = stmt.column_index("finalizer_class").map_err(from_sqlite)?;
    let state_at = stmt.column_index("finalizer_state").map_err(from_sqlite)?;
    let rows = stmt
        .query_map(named_params! {":limit": limit}, |r| {
            Ok(StrandedFinalizer {
                job: job_from_row(r, &columns)?,
                class: r.get(class_at)?,
                state: r.get(state_at)?,
            })
        })
        .map_err(from_sqlite)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(from_sqlite)
}

pub(crate) fn finalizer_dispatch(conn: &Connection, parent: JobId, run: &NewJob) -> Result<bool> {
    let changed = conn
        .prepare_cached(include_str!("queries/job_finalizer_dispatch.sql"))
        .map_err(from_sqlite)?
        .execute(named_params! {":id": parent.as_15()})
        .map_err(from_sqlite)?;
    if changed == 0 {
        return Ok(false);
    }
    insert_many(conn, std::slice::from_ref(run), 0)?;
    Ok(true)
}

pub(crate) fn abort(conn: &Connection, p: &JobAbortParams) -> Result<AbortOutcome> {
    let id = p.id.as_15();
    // The call runs in one transaction, so the status read is still true when the step's
    // guarded write runs; the rounds only matter to a store that could be raced here.
    for _ in 0..rules::ABORT_ROUNDS {
        let status: Option<String> = conn
            .prepare_cached(include_str!("queries/job_status.sql"))
            .map_err(from_sqlite)?
            .query_row(named_params! {":id": id}, |r| r.get(0))
            .optional()
            .map_err(from_sqlite)?;
        let status = status
            .map(|s| s.parse::<JobStatus>())
            .transpose()
            .map_err(|e| from_sqlite(corrupt("status", e)))?;
        match rules::abort_decision(status) {
            AbortStep::AbortWaiting => {
                let changed = conn
                    .prepare_cached(include_str!("queries/job_abort_waiting.sql"))
                    .map_err(from_sqlite)?
                    .execute(named_params! {
                        ":id": id,
                        ":now": micros(p.now),
                        ":message": rules::ABORTED_BEFORE_START,
                    })
                    .map_err(from_sqlite)?;
                if changed > 0 {
                    return Ok(AbortOutcome::Aborted);
                }
            }
            AbortStep::RequestAbort => {
                let changed = conn
                    .prepare_cached(include_str!("queries/job_abort_running.sql"))
                    .map_err(from_sqlite)?
                    .execute(named_params! {":id": id})
                    .map_err(from_sqlite)?;
                if changed > 0 {
                    return Ok(AbortOutcome::AbortRequested);
                }
            }
            AbortStep::Answer(outcome) => return Ok(outcome),
        }
    }
    Err(rules::abort_kept_moving(id))
}

/// A running job whose lease expired, as the rescuer read it.
struct Lost {
    id: JobId,
    attempt: u32,
    max_attempts: u32,
    abort_requested: bool,
    lease_owner: Option<String>,
    lease_expires_at: Option<i64>,
}

/// Reads the expired leases, asks [`rules::rescue_decision`] what becomes of each, and ends
/// each with its step's guarded write; the decision is the core's, so both stores rescue
/// alike.
pub(crate) fn rescue(conn: &Connection, p: &JobRescueParams) -> Result<RescueOutcome> {
    let lost = {
        let mut stmt = conn
            .prepare_cached(include_str!("queries/job_rescue_expired.sql"))
            .map_err(from_sqlite)?;
        let rows = stmt
            .query_map(
                named_params! {":now": micros(p.now), ":exclude_owner": p.exclude_owner},
                |r| {
                    Ok(Lost {
                        id: job_id("id", r.get(0)?)?,
                        attempt: count("attempt", r.get(1)?)?,
                        max_attempts: count("max_attempts", r.get(2)?)?,
                        abort_requested: r.get::<_, i64>(3)? != 0,
                        lease_owner: r.get(4)?,
                        lease_expires_at: r.get(5)?,
                    })
                },
            )
            .map_err(from_sqlite)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(from_sqlite)?
    };
    let now = micros(p.now);
    let mut out = RescueOutcome::default();
    for job in lost {
        let id = job.id.as_15();
        let lease = (&job.lease_owner, &job.lease_expires_at);
        let step = rules::rescue_decision(job.attempt, job.max_attempts, job.abort_requested);
        let fail_message = rules::rescued_failed(job.attempt, job.max_attempts);
        let (changed, ended) = match step {
            RescueStep::Abort => (
                conn.prepare_cached(include_str!("queries/job_rescue_abort.sql"))
                    .map_err(from_sqlite)?
                    .execute(named_params! {
                        ":id": id,
                        ":now": now,
                        ":message": rules::RESCUED_ABORTED,
                        ":lease_owner": lease.0,
                        ":lease_expires_at": lease.1,
                    })
                    .map_err(from_sqlite)?,
                &mut out.aborted,
            ),
            RescueStep::Fail => (
                conn.prepare_cached(include_str!("queries/job_rescue_fail.sql"))
                    .map_err(from_sqlite)?
                    .execute(named_params! {
                        ":id": id,
                        ":now": now,
                        ":message": fail_message,
                        ":lease_owner": lease.0,
                        ":lease_expires_at": lease.1,
                        ":attempt": job.attempt,
                    })
                    .map_err(from_sqlite)?,
                &mut out.failed,
            ),
            RescueStep::Requeue => (
                conn.prepare_cached(include_str!("queries/job_rescue_requeue.sql"))
                    .map_err(from_sqlite)?
                    .execute(named_params! {
                        ":id": id,
                        ":lease_owner": lease.0,
                        ":lease_expires_at": lease.1,
                        ":attempt": job.attempt,
                    })
                    .map_err(from_sqlite)?,
                &mut out.requeued,
            ),
        };
        if changed > 0 {
            ended.push(job.id);
            let (outcome, error) = match step {
                RescueStep::Abort => (AttemptOutcome::Aborted, rules::RESCUED_ABORTED),
                RescueStep::Fail => (AttemptOutcome::Failed, fail_message.as_str()),
                RescueStep::Requeue => (AttemptOutcome::Rescued, rules::RESCUED_REQUEUED),
            };
            record_attempt(conn, job.id, p.now, outcome, Some(error))?;
        }
    }
    Ok(out)
}

pub(crate) fn release(conn: &Connection, p: &JobReleaseParams) -> Result<u64> {
    let n = conn
        .prepare_cached(include_str!("queries/job_release.sql"))
        .map_err(from_sqlite)?
        .execute(named_params! {":owner": p.owner, ":ids": ids_json(&p.ids)})
        .map_err(from_sqlite)?;
    Ok(n as u64)
}

pub(crate) fn count_by_status(conn: &Connection) -> Result<Vec<(JobStatus, u64)>> {
    status_counts(conn, include_str!("queries/job_count_by_status.sql"))
}

/// The kept counts of finished jobs alone.
pub(crate) fn count_finished(conn: &Connection) -> Result<Vec<(JobStatus, u64)>> {
    status_counts(conn, include_str!("queries/job_count_finished.sql"))
}

/// Runs a query of (status, count) rows.
fn status_counts(conn: &Connection, sql: &str) -> Result<Vec<(JobStatus, u64)>> {
    let mut stmt = conn.prepare_cached(sql).map_err(from_sqlite)?;
    let rows = stmt
        .query_map([], |r| {
            let s: String = r.get(0)?;
            let n: i64 = r.get(1)?;
            Ok((
                s.parse::<JobStatus>().map_err(|e| corrupt("status", e))?,
                n.max(0) as u64,
            ))
        })
        .map_err(from_sqlite)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(from_sqlite)
}

pub(crate) fn count_created_since(
    conn: &Connection,
    p: &JobCountCreatedSinceParams,
) -> Result<u64> {
    let types: Vec<&str> = p.job_types.iter().map(|t| t.as_str()).collect();
    let n: i64 = conn
        .prepare_cached(include_str!("queries/job_count_created_since.sql"))
        .map_err(from_sqlite)?
        .query_row(
            named_params! {
                ":since": micros(p.since),
                ":job_types": serde_json::Value::from(types).to_string(),
            },
            |r| r.get(0),
        )
        .map_err(from_sqlite)?;
    Ok(n.max(0) as u64)
}

pub(crate) fn count_pending(conn: &Connection, now: Timestamp) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached(include_str!("queries/job_count_pending.sql"))
        .map_err(from_sqlite)?
        .query_row(named_params! {":now": micros(now)}, |r| r.get(0))
        .map_err(from_sqlite)?;
    Ok(n.max(0) as u64)
}

pub(crate) fn stats(conn: &Connection, p: &JobStatsParams) -> Result<JobStats> {
    let mut stats = JobStats::empty();
    {
        let mut stmt = conn
            .prepare_cached(include_str!("queries/job_stats_by_type_status.sql"))
            .map_err(from_sqlite)?;
        let rows = stmt
            .query_map([], |r| {
                let t: String = r.get(0)?;
                let s: String = r.get(1)?;
                Ok((
                    t.parse::<JobType>().map_err(|e| corrupt("job_type", e))?,
                    s.parse::<JobStatus>().map_err(|e| corrupt("status", e))?,
                    r.get::<_, i64>(2)?.max(0) as u64,
                ))
            })
            .map_err(from_sqlite)?;
        stats.by_type_and_status = rows
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(from_sqlite)?;
    }
    let newest: Option<i64> = conn
        .prepare_cached(include_str!("queries/job_stats_kept_minute.sql"))
        .map_err(from_sqlite)?
        .query_row([], |r| r.get(0))
        .map_err(from_sqlite)?;
    let window = MinuteWindow::split(p.since, newest);
    let mut stmt = conn
        .prepare_cached(include_str!("queries/job_stats_minutes.sql"))
        .map_err(from_sqlite)?;
    let mut rows = stmt
        .query(named_params! {
            ":since": micros(p.since),
            ":rows_until": window.rows_until,
            ":first_kept_minute": window.first_kept_minute,
        })
        .map_err(from_sqlite)?;
    let count = |r: &rusqlite::Row<'_>, i: usize| -> Result<u64> {
        Ok(r.get::<_, Option<i64>>(i)
            .map_err(from_sqlite)?
            .unwrap_or(0)
            .max(0) as u64)
    };
    while let Some(r) = rows.next().map_err(from_sqlite)? {
        stats.add(MinuteFigures {
            minute: r.get(0).map_err(from_sqlite)?,
            bucket: r.get(1).map_err(from_sqlite)?,
            completed: count(r, 2)?,
            failed: count(r, 3)?,
            ended: count(r, 4)?,
            sum_ms: count(r, 5)?,
            rescued: count(r, 6)?,
        })?;
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use asyncapex_core::{IdGenerator, JobClaimParams};
    use rusqlite::StatementStatus;

    use super::*;

    /// The claim runs many times a second under load; SQLite must not compile it again on
    /// every run (a bare `LIMIT :limit` in its subquery used to force that).
    #[test]
    fn the_claim_statement_is_not_prepared_again_on_each_run() {
        let conn = Connection::open_in_memory().unwrap();
        crate::migrate::migrate(&conn).unwrap();
        let ids = IdGenerator::new(1);
        let now = Timestamp::now();
        let jobs: Vec<NewJob> = (0..100)
            .map(|_| asyncapex_storetest::queued_job(&ids, now))
            .collect();
        insert_many(&conn, &jobs, 100).unwrap();
        for round in 0..8_i64 {
            let claimed = crate::queues::claim(
                &conn,
                &JobClaimParams {
                    owner: "w".into(),
                    now,
                    lease_until: now,
                    queues: asyncapex_core::QueueClaim::default_queue(3 + round as u32),
                },
            )
            .unwrap();
            assert!(!claimed.is_empty());
        }
        let stmt = conn
            .prepare_cached(include_str!("queries/job_claim.sql"))
            .unwrap();
        assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0);
    }

    /// Each search arm seeks its own index in ID order: no scan of the job table and no sort
    /// of everything it matched, however many jobs there are (a union of arms sorts their
    /// bounded outputs only).
    #[test]
    fn search_arms_seek_their_index_in_id_order() {
        let conn = Connection::open_in_memory().unwrap();
        crate::migrate::migrate(&conn).unwrap();
        let ids = IdGenerator::new(1);
        let id = ids.job_id(Timestamp::now());
        let trigger = ids.cron_trigger_id(Timestamp::now());
        for (what, params, index) in [
            (
                "retries",
                JobListParams {
                    retry_of: Some(id),
                    ..Default::default()
                },
                "asyncapex_job_retry_of (retry_of=? AND id>? AND id<?)",
            ),
            (
                "a schedule's runs",
                JobListParams {
                    cron_trigger_id: Some(trigger),
                    ..Default::default()
                },
                "asyncapex_job_cron_trigger (cron_trigger_id=? AND id>? AND id<?)",
            ),
            (
                "class names",
                JobListParams {
                    class_names: vec!["A".into(), "B".into()],
                    ..Default::default()
                },
                "asyncapex_job_class (class_name=? AND id>? AND id<?)",
            ),
        ] {
            let sql = list_sql(&params);
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let values = list_params(&params);
            let bound = values.to_params();
            for (name, value) in &bound {
                if let Some(i) = stmt.parameter_index(name).unwrap() {
                    stmt.raw_bind_parameter(i, value).unwrap();
                }
            }
            let mut rows = stmt.raw_query();
            let mut plan = Vec::new();
            while let Some(row) = rows.next().unwrap() {
                plan.push(row.get::<_, String>(3).unwrap());
            }
            let plan = plan.join("\n");
            assert!(plan.contains(index), "{what} should seek {index}:\n{plan}");
            assert!(
                !plan.contains("SCAN asyncapex_job"),
                "{what} scans:\n{plan}"
            );
            // A union of arms merges them: only the final, bounded merge may sort.
            // A union sorts each arm's output, at most `limit` rows read in ID order; no
            // sort may take the index walk itself (that would read every match first).
            let steps: Vec<&str> = plan.lines().collect();
            for (i, step) in steps.iter().enumerate() {
                if step.contains("TEMP B-TREE") {
                    let before = steps[..i].last().copied().unwrap_or("");
                    assert!(
                        before.starts_with("SCAN (subquery"),
                        "{what} sorts its walk:\n{plan}"
                    );
                }
            }
        }
    }
}
