//! The job table: one function per `Store` method, each running the named query files.

use asyncapex_core::{
    AbortOutcome, AttemptOutcome, AttemptRecord, Error, HeartbeatAck, JobAbortParams,
    JobCompleteManyParams, JobCountCreatedSinceParams, JobFinalizerStoreParams, JobFinishParams,
    JobHeartbeatParams, JobId, JobListParams, JobRecord, JobReleaseParams, JobRescueParams,
    JobStats, JobStatsParams, JobStatus, JobType, MinuteFigures, MinuteWindow, NewJob,
    RescueOutcome, Result, StrandedFinalizer,
};
use jiff::Timestamp;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use asyncapex_core::rules::{self, AbortStep, RescueStep};

use crate::db::{self, Tx, get, micros, opt_ts, ts, u32_col, u64_col};
use crate::decode::skip_undecodable;
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
        retry_of: opt_job_id(row, "retry_of")?,
        trace_parent: get(row, "trace_parent")?,
        attempt_started_at: opt_ts(row, "attempt_started_at")?,
        last_owner: get(row, "last_owner")?,
        queue: get(row, "queue")?,
        priority: u8::try_from(get::<_, i64>(row, "priority")?)
            .map_err(|e| corrupt("priority", e))?,
        tenant: get(row, "tenant")?,
    })
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

/// The most jobs one `job_insert_queued.sql` statement carries, so a huge bulk enqueue is
/// sent as several bounded messages (in one transaction).
pub(crate) const QUEUED_PER_STATEMENT: usize = 5_000;

/// Inserts jobs that do not join the flex queue, from column arrays.
pub(crate) const INSERT_QUEUED: &str = include_str!("queries/job_insert_queued.sql");

/// Runs `stmt` (prepared [`INSERT_QUEUED`]) for `jobs`, [`QUEUED_PER_STATEMENT`] at a time.
pub(crate) async fn insert_queued(
    tx: &dyn Tx,
    stmt: &tokio_postgres::Statement,
    jobs: &[NewJob],
) -> Result<()> {
    for chunk in jobs.chunks(QUEUED_PER_STATEMENT) {
        let columns = QueuedColumns::new(chunk);
        tx.rows(stmt, &columns.params())
            .await
            .map_err(|e| insert_error(e, chunk))?;
    }
    Ok(())
}

/// Whether `job_insert_queued.sql` can insert these: none joins the flex queue.
pub(crate) fn none_holding(jobs: &[NewJob]) -> bool {
    jobs.iter().all(|j| j.status != JobStatus::Holding)
}

/// Jobs as the column arrays of `job_insert_queued.sql`.
pub(crate) struct QueuedColumns<'a> {
    id: Vec<&'a str>,
    job_type: Vec<&'static str>,
    class_name: Vec<&'a str>,
    method_name: Vec<Option<&'a str>>,
    status: Vec<&'static str>,
    parent_job_id: Vec<Option<&'a str>>,
    cron_trigger_id: Vec<Option<&'a str>>,
    created_at: Vec<i64>,
    run_at: Vec<i64>,
    max_attempts: Vec<i64>,
    stack_depth: Vec<i64>,
    max_stack_depth: Vec<Option<i64>>,
    failure_reenqueues: Vec<i64>,
    signature: Vec<Option<&'a str>>,
    payload: Vec<&'a str>,
    batch_scope: Vec<Option<i64>>,
    retry_of: Vec<Option<&'a str>>,
    trace_parent: Vec<Option<&'a str>>,
    queue: Vec<&'a str>,
    priority: Vec<i64>,
    tenant: Vec<Option<&'a str>>,
    priority_delay: Vec<i64>,
}

impl<'a> QueuedColumns<'a> {
    pub(crate) fn new(jobs: &'a [NewJob]) -> QueuedColumns<'a> {
        QueuedColumns {
            id: jobs.iter().map(|j| j.id.as_15()).collect(),
            job_type: jobs.iter().map(|j| j.job_type.as_str()).collect(),
            class_name: jobs.iter().map(|j| j.class_name.as_str()).collect(),
            method_name: jobs.iter().map(|j| j.method_name.as_deref()).collect(),
            status: jobs.iter().map(|j| j.status.as_str()).collect(),
            parent_job_id: jobs
                .iter()
                .map(|j| j.parent_job_id.as_ref().map(|p| p.as_15()))
                .collect(),
            cron_trigger_id: jobs
                .iter()
                .map(|j| j.cron_trigger_id.as_ref().map(|t| t.as_15()))
                .collect(),
            created_at: jobs.iter().map(|j| micros(j.created_at)).collect(),
            run_at: jobs.iter().map(|j| micros(j.run_at)).collect(),
            max_attempts: jobs.iter().map(|j| i64::from(j.max_attempts)).collect(),
            stack_depth: jobs.iter().map(|j| i64::from(j.stack_depth)).collect(),
            max_stack_depth: jobs
                .iter()
                .map(|j| j.max_stack_depth.map(i64::from))
                .collect(),
            failure_reenqueues: jobs
                .iter()
                .map(|j| i64::from(j.failure_reenqueues))
                .collect(),
            signature: jobs.iter().map(|j| j.signature.as_deref()).collect(),
            payload: jobs.iter().map(|j| j.payload.as_str()).collect(),
            batch_scope: jobs.iter().map(|j| j.batch_scope.map(i64::from)).collect(),
            retry_of: jobs
                .iter()
                .map(|j| j.retry_of.as_ref().map(|r| r.as_15()))
                .collect(),
            trace_parent: jobs.iter().map(|j| j.trace_parent.as_deref()).collect(),
            queue: jobs.iter().map(|j| j.queue.as_str()).collect(),
            priority: jobs.iter().map(|j| i64::from(j.priority)).collect(),
            tenant: jobs.iter().map(|j| j.tenant.as_deref()).collect(),
            priority_delay: jobs
                .iter()
                .map(|j| asyncapex_core::queue::priority_delay_micros(j.priority))
                .collect(),
        }
    }

    /// The statement's twenty-two parameters, in order.
    pub(crate) fn params(&self) -> [&(dyn ToSql + Sync); 22] {
        [
            &self.id,
            &self.job_type,
            &self.class_name,
            &self.method_name,
            &self.status,
            &self.parent_job_id,
            &self.cron_trigger_id,
            &self.created_at,
            &self.run_at,
            &self.max_attempts,
            &self.stack_depth,
            &self.max_stack_depth,
            &self.failure_reenqueues,
            &self.signature,
            &self.payload,
            &self.batch_scope,
            &self.retry_of,
            &self.trace_parent,
            &self.queue,
            &self.priority,
            &self.tenant,
            &self.priority_delay,
        ]
    }
}

/// The error an insert of `jobs` failed with: a signature collision becomes
/// [`Error::DuplicateSignature`] naming the signature the database reported.
pub(crate) fn insert_error(e: tokio_postgres::Error, jobs: &[NewJob]) -> Error {
    if !is_unique_violation(&e, SIGNATURE_INDEX) {
        return from_pg(e);
    }
    // The detail reads "Key (signature)=(<value>) already exists."
    let reported = e
        .as_db_error()
        .and_then(|db| db.detail())
        .and_then(|d| d.strip_prefix("Key (signature)=("))
        .and_then(|d| d.strip_suffix(") already exists."))
        .map(str::to_owned);
    let signature = reported
        .or_else(|| jobs.iter().find_map(|j| j.signature.clone()))
        .unwrap_or_default();
    Error::DuplicateSignature { signature }
}

/// Inserts jobs; all or none (the transaction rolls back a partial insert). Holding batch jobs
/// join the end of the flex queue, which holds at most `max_holding`: both are decided under
/// the flex-queue lock, so the cap holds across processes.
pub(crate) async fn insert_many(tx: &dyn Tx, jobs: &[NewJob], max_holding: u32) -> Result<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    if none_holding(jobs) {
        let stmt = tx.stmt(INSERT_QUEUED).await.map_err(from_pg)?;
        return insert_queued(tx, &stmt, jobs).await;
    }
    // Jobs beside a holding batch (a `finish` that chains both) go through the column-array
    // statement too, so fair share defers them as it would alone; holding ones follow.
    let (holding_jobs, others): (Vec<NewJob>, Vec<NewJob>) = jobs
        .iter()
        .cloned()
        .partition(|j| j.status == JobStatus::Holding);
    if !others.is_empty() {
        let stmt = tx.stmt(INSERT_QUEUED).await.map_err(from_pg)?;
        insert_queued(tx, &stmt, &others).await?;
    }
    let jobs = holding_jobs.as_slice();
    let holding = jobs
        .iter()
        .filter(|j| j.status == JobStatus::Holding)
        .count() as u64;
    // Holding jobs join the end of the flex queue, in the order given.
    let mut tail: i64 = 0;
    if holding > 0 {
        lock_flex_queue(tx).await?;
        let row = db::query_opt(tx, include_str!("queries/job_flex_tail.sql"), &[])
            .await?
            .ok_or_else(|| {
                Error::store(
                    asyncapex_core::StoreErrorKind::Other,
                    "the flex-queue count returned no row",
                )
            })?;
        let already: i64 = get(&row, "n")?;
        tail = get(&row, "tail")?;
        rules::ensure_flex_queue_room(max_holding, already.max(0) as u64, holding)?;
    }
    let stmt = tx
        .stmt(include_str!("queries/job_insert.sql"))
        .await
        .map_err(from_pg)?;
    for job in jobs {
        let parent = job.parent_job_id.map(|p| p.as_15().to_owned());
        let trigger = job.cron_trigger_id.map(|t| t.as_15().to_owned());
        let retry_of = job.retry_of.map(|r| r.as_15().to_owned());
        let position = (job.status == JobStatus::Holding).then(|| {
            tail += 1;
            tail
        });
        let result = tx
            .changed(
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
                    &retry_of,
                    &position,
                    &job.trace_parent,
                    &job.queue,
                    &i64::from(job.priority),
                    &job.tenant,
                    &asyncapex_core::queue::priority_delay_micros(job.priority),
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
    let values = ListValues::new(p);
    let rows = db::query(tx, &list_sql(p), &values.params()).await?;
    Ok(skip_undecodable("asyncapex_job", &rows, job_from_row))
}

/// How many jobs `list` would return (at most `p.limit`).
pub(crate) async fn count_listed(tx: &dyn Tx, p: &JobListParams) -> Result<u64> {
    let values = ListValues::new(p);
    let sql = format!("SELECT COUNT(*) AS n FROM ({}) listed", list_sql(p));
    db::count(tx, &sql, &values.params()).await
}

/// The distinct class names, at most `limit`.
pub(crate) async fn class_names(tx: &dyn Tx, limit: u32) -> Result<Vec<String>> {
    let rows = db::query(
        tx,
        include_str!("queries/job_class_names.sql"),
        &[&i64::from(limit)],
    )
    .await?;
    rows.iter().map(|r| get::<_, String>(r, "name")).collect()
}

/// The parameters of `job_list.sql`, owned so the call can borrow them.
struct ListValues {
    statuses: Vec<&'static str>,
    types: Vec<&'static str>,
    class_name: Option<String>,
    parent: Option<String>,
    before: Option<String>,
    limit: i64,
    class_names: Vec<String>,
    trigger: Option<String>,
    retry_of: Option<String>,
    created_from: Option<i64>,
    created_before: Option<i64>,
    completed_from: Option<i64>,
    completed_before: Option<i64>,
    id_floor: String,
}

impl ListValues {
    fn new(p: &JobListParams) -> ListValues {
        let (floor, start) = p.id_bounds();
        ListValues {
            statuses: p.statuses.iter().map(|s| s.as_str()).collect(),
            types: p.job_types.iter().map(|t| t.as_str()).collect(),
            class_name: p.class_name.clone(),
            parent: p.parent_job_id.map(|id| id.as_15().to_owned()),
            before: start.map(|id| id.as_15().to_owned()),
            limit: i64::from(p.limit),
            class_names: p.unique_class_names(),
            trigger: p.cron_trigger_id.map(|id| id.as_15().to_owned()),
            retry_of: p.retry_of.map(|id| id.as_15().to_owned()),
            created_from: p.created.from.map(micros),
            created_before: p.created.before.map(micros),
            completed_from: p.completed.from.map(micros),
            completed_before: p.completed.before.map(micros),
            id_floor: floor.map_or_else(String::new, |id| id.as_15().to_owned()),
        }
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 14] {
        [
            &self.statuses,
            &self.types,
            &self.class_name,
            &self.parent,
            &self.before,
            &self.limit,
            &self.class_names,
            &self.trigger,
            &self.retry_of,
            &self.created_from,
            &self.created_before,
            &self.completed_from,
            &self.completed_before,
            &self.id_floor,
        ]
    }
}

/// `values` sorted, each once.
fn unique<T: Ord + Copy>(values: &[T]) -> Vec<T> {
    let mut out = values.to_vec();
    out.sort_unstable();
    out.dedup();
    out
}

/// The job list's SQL: the arm's driver is always a plain indexable condition (a generic
/// plan cannot use an index through `$n IS NULL OR …`), so that a page costs the rows it shows
/// (plus the rows its other filters skip) however many finished jobs the store keeps. Several
/// statuses or types are one arm per value, merged newest-first, because one `= ANY` over an
/// index cannot be read in ID order.
fn list_sql(p: &JobListParams) -> String {
    let arm = |driver: &str| include_str!("queries/job_list.sql").replace("{driver}", driver);
    let arms: Vec<String> = if p.parent_job_id.is_some() {
        vec![arm("parent_job_id = $4::text")]
    } else if p.retry_of.is_some() {
        vec![arm("retry_of = $9::text")]
    } else if p.cron_trigger_id.is_some() {
        vec![arm("cron_trigger_id = $8::text")]
    } else if p.class_name.is_some() {
        vec![arm("class_name = $3::text")]
    } else if !p.class_names.is_empty() {
        // User text: each arm names its class by position in the bound array.
        (1..=p.unique_class_names().len())
            .map(|i| arm(&format!("class_name = ($7::text[])[{i}]")))
            .collect()
    } else if !p.statuses.is_empty() {
        // Status and type names are fixed identifiers from the enums, never user text; a
        // value asked for twice is one arm, or its jobs would be listed twice.
        unique(&p.statuses)
            .into_iter()
            .map(|s| arm(&format!("status = '{s}'")))
            .collect()
    } else if !p.job_types.is_empty() {
        unique(&p.job_types)
            .into_iter()
            .map(|t| arm(&format!("job_type = '{t}'")))
            .collect()
    } else {
        vec![arm("true")]
    };
    if let [one] = arms.as_slice() {
        return one.clone();
    }
    let union: Vec<String> = arms.iter().map(|a| format!("({a})")).collect();
    format!(
        "{}\nORDER BY id DESC\nLIMIT $6::bigint",
        union.join("\nUNION ALL\n")
    )
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
    if p.outcome.status() != JobStatus::Completed {
        let outcome = match p.outcome.status() {
            JobStatus::Aborted => AttemptOutcome::Aborted,
            _ => AttemptOutcome::Failed,
        };
        let error = p.outcome.message().map(str::to_owned);
        record_attempts(tx, &[p.id], p.now, outcome, vec![error]).await?;
    }
    insert_many(tx, &p.insert, p.max_holding).await?;
    Ok(true)
}

pub(crate) async fn finalizer_store(tx: &dyn Tx, p: &JobFinalizerStoreParams) -> Result<bool> {
    let changed = db::execute(
        tx,
        include_str!("queries/job_finalizer_store.sql"),
        &[&p.id.as_15(), &p.owner, &p.class, &p.state],
    )
    .await?;
    Ok(changed > 0)
}

pub(crate) async fn finalizers_stranded(tx: &dyn Tx, limit: u32) -> Result<Vec<StrandedFinalizer>> {
    let rows = db::query(
        tx,
        include_str!("queries/job_finalizers_stranded.sql"),
        &[&i64::from(limit)],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StrandedFinalizer {
                job: job_from_row(r)?,
                class: get(r, "finalizer_class")?,
                state: get(r, "finalizer_state")?,
            })
        })
        .collect()
}

pub(crate) async fn finalizer_dispatch(tx: &dyn Tx, parent: JobId, run: &NewJob) -> Result<bool> {
    let changed = db::execute(
        tx,
        include_str!("queries/job_finalizer_dispatch.sql"),
        &[&parent.as_15()],
    )
    .await?;
    if changed == 0 {
        return Ok(false);
    }
    insert_many(tx, std::slice::from_ref(run), 0).await?;
    Ok(true)
}

/// Records the attempts guarded writes just ended without completing their jobs.
pub(crate) async fn record_attempts(
    tx: &dyn Tx,
    ids: &[JobId],
    ended_at: Timestamp,
    outcome: AttemptOutcome,
    errors: Vec<Option<String>>,
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    db::execute(
        tx,
        include_str!("queries/job_attempt_record.sql"),
        &[
            &ids_param(ids),
            &micros(ended_at),
            &outcome.as_str(),
            &errors,
        ],
    )
    .await?;
    Ok(())
}

/// A job's recorded attempts, oldest first.
pub(crate) async fn attempts(tx: &dyn Tx, id: JobId) -> Result<Vec<AttemptRecord>> {
    let rows = db::query(
        tx,
        include_str!("queries/job_attempt_list.sql"),
        &[&id.as_15()],
    )
    .await?;
    rows.iter()
        .map(|r| {
            let outcome: String = get(r, "outcome")?;
            Ok(AttemptRecord {
                attempt: u32_col(r, "attempt")?,
                started_at: opt_ts(r, "started_at")?,
                ended_at: opt_ts(r, "ended_at")?,
                owner: get(r, "owner")?,
                outcome: outcome
                    .parse::<AttemptOutcome>()
                    .map_err(|e| corrupt("outcome", e))?,
                error: get(r, "error")?,
            })
        })
        .collect()
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
    // Another process may move the job between the status read and the guarded write (a
    // claim, a finish); the write then changes nothing and the next round reads again.
    for _ in 0..rules::ABORT_ROUNDS {
        let row = db::query_opt(tx, include_str!("queries/job_status.sql"), &[&id]).await?;
        let status = match row {
            None => None,
            Some(r) => {
                let s: String = get(&r, "status")?;
                Some(s.parse::<JobStatus>().map_err(|e| corrupt("status", e))?)
            }
        };
        match rules::abort_decision(status) {
            AbortStep::AbortWaiting => {
                let changed = db::execute(
                    tx,
                    include_str!("queries/job_abort_waiting.sql"),
                    &[&id, &micros(p.now), &rules::ABORTED_BEFORE_START],
                )
                .await?;
                if changed > 0 {
                    return Ok(AbortOutcome::Aborted);
                }
            }
            AbortStep::RequestAbort => {
                let changed =
                    db::execute(tx, include_str!("queries/job_abort_running.sql"), &[&id]).await?;
                if changed > 0 {
                    return Ok(AbortOutcome::AbortRequested);
                }
            }
            AbortStep::Answer(outcome) => return Ok(outcome),
        }
    }
    Err(rules::abort_kept_moving(id))
}

/// Lost jobs sharing one rescue step, as the column arrays of its guarded update.
#[derive(Default)]
struct LostColumns {
    ids: Vec<String>,
    owners: Vec<String>,
    expiries: Vec<i64>,
    attempts: Vec<i64>,
    messages: Vec<String>,
}

impl LostColumns {
    fn push(&mut self, row: &Row, attempt: i64, message: Option<String>) -> Result<()> {
        self.ids.push(get(row, "id")?);
        self.owners.push(get(row, "lease_owner")?);
        self.expiries.push(get(row, "lease_expires_at")?);
        self.attempts.push(attempt);
        self.messages.extend(message);
        Ok(())
    }
}

async fn ended_ids(tx: &dyn Tx, sql: &str, params: db::Params<'_>) -> Result<Vec<JobId>> {
    let rows = db::query(tx, sql, params).await?;
    let mut ids = rows
        .iter()
        .map(|r| job_id("id", get(r, "id")?))
        .collect::<Result<Vec<_>>>()?;
    ids.sort();
    Ok(ids)
}

/// Reads the expired leases, asks [`rules::rescue_decision`] what becomes of each, and ends
/// each step's jobs with one guarded write over arrays. Another rescuer may read the same
/// rows at once; the guard repeats the lease read, so only one of them ends each job.
pub(crate) async fn rescue(tx: &dyn Tx, p: &JobRescueParams) -> Result<RescueOutcome> {
    let now = micros(p.now);
    let lost = db::query(
        tx,
        include_str!("queries/job_rescue_expired.sql"),
        &[&now, &p.exclude_owner],
    )
    .await?;
    let (mut abort, mut fail, mut requeue) = (
        LostColumns::default(),
        LostColumns::default(),
        LostColumns::default(),
    );
    for row in &lost {
        let attempt = u32_col(row, "attempt")?;
        let max_attempts = u32_col(row, "max_attempts")?;
        let abort_requested: bool = get(row, "abort_requested")?;
        match rules::rescue_decision(attempt, max_attempts, abort_requested) {
            RescueStep::Abort => abort.push(row, i64::from(attempt), None)?,
            RescueStep::Fail => fail.push(
                row,
                i64::from(attempt),
                Some(rules::rescued_failed(attempt, max_attempts)),
            )?,
            RescueStep::Requeue => requeue.push(row, i64::from(attempt), None)?,
        }
    }
    let mut out = RescueOutcome::default();
    if !abort.ids.is_empty() {
        out.aborted = ended_ids(
            tx,
            include_str!("queries/job_rescue_abort.sql"),
            &[
                &now,
                &rules::RESCUED_ABORTED,
                &abort.ids,
                &abort.owners,
                &abort.expiries,
            ],
        )
        .await?;
    }
    if !fail.ids.is_empty() {
        out.failed = ended_ids(
            tx,
            include_str!("queries/job_rescue_fail.sql"),
            &[
                &now,
                &fail.ids,
                &fail.owners,
                &fail.expiries,
                &fail.attempts,
                &fail.messages,
            ],
        )
        .await?;
    }
    if !requeue.ids.is_empty() {
        out.requeued = ended_ids(
            tx,
            include_str!("queries/job_rescue_requeue.sql"),
            &[
                &requeue.ids,
                &requeue.owners,
                &requeue.expiries,
                &requeue.attempts,
            ],
        )
        .await?;
    }
    let messages = |ids: &[JobId], text: &str| vec![Some(text.to_owned()); ids.len()];
    record_attempts(
        tx,
        &out.aborted,
        p.now,
        AttemptOutcome::Aborted,
        messages(&out.aborted, rules::RESCUED_ABORTED),
    )
    .await?;
    let failed_messages: Vec<Option<String>> = out
        .failed
        .iter()
        .map(|id| {
            let i = fail.ids.iter().position(|f| f == id.as_15());
            i.and_then(|i| fail.messages.get(i).cloned())
        })
        .collect();
    record_attempts(
        tx,
        &out.failed,
        p.now,
        AttemptOutcome::Failed,
        failed_messages,
    )
    .await?;
    record_attempts(
        tx,
        &out.requeued,
        p.now,
        AttemptOutcome::Rescued,
        messages(&out.requeued, rules::RESCUED_REQUEUED),
    )
    .await?;
    if !out.requeued.is_empty() {
        notify(tx).await?;
    }
    Ok(out)
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
    status_counts(tx, include_str!("queries/job_count_by_status.sql")).await
}

/// The kept counts of finished jobs alone.
pub(crate) async fn count_finished(tx: &dyn Tx) -> Result<Vec<(JobStatus, u64)>> {
    status_counts(tx, include_str!("queries/job_count_finished.sql")).await
}

/// Runs a query of (status, count) rows.
async fn status_counts(tx: &dyn Tx, sql: &str) -> Result<Vec<(JobStatus, u64)>> {
    let rows = db::query(tx, sql, &[]).await?;
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
    let mut stats = JobStats::empty();
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
    let rows = db::query(tx, include_str!("queries/job_stats_kept_minute.sql"), &[]).await?;
    let newest: Option<i64> = match rows.first() {
        Some(r) => get(r, 0)?,
        None => None,
    };
    let window = MinuteWindow::split(p.since, newest);
    let rows = db::query(
        tx,
        include_str!("queries/job_stats_minutes.sql"),
        &[
            &micros(p.since),
            &window.rows_until,
            &window.first_kept_minute,
        ],
    )
    .await?;
    let count = |r: &Row, i: usize| -> Result<u64> { Ok(get::<_, i64>(r, i)?.max(0) as u64) };
    for r in &rows {
        stats.add(MinuteFigures {
            minute: get(r, 0)?,
            bucket: i64::from(get::<_, i16>(r, 1)?),
            completed: count(r, 2)?,
            failed: count(r, 3)?,
            ended: count(r, 4)?,
            sum_ms: count(r, 5)?,
            rescued: count(r, 6)?,
        })?;
    }
    Ok(stats)
}
