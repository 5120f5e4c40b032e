//! The JSON API: everything the pages show and do, under `/api`. Reads need no token
//! unless the server protects reads ([`crate::Auth::protect_reads`]); changes need
//! `Authorization: Bearer <token>` (see [`crate::auth`]). Errors are
//! `{"error": {"code": "…", "message": "…"}}` ([`crate::error`]).

use std::time::Duration;

use asyncapex::{
    AbortOutcome, BulkAction, BulkReport, EnqueueOptions, FlexMove, JobId, JobStatus, JobType,
    PurgeFilter,
};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::WebState;
use crate::error::{ApiJson, ApiPath, ApiQuery, ErrorBody, WebError, WebResult};
use crate::views::{
    FilterQuery, FlexQueueView, JobDetail, JobFilters, JobPage, JobView, Overview, QueueView,
    QueuesView, ScheduleDetail, ScheduleFilters, ScheduleView,
};

use axum::Json;

/// A job's view, its sensitive payload fields redacted.
async fn view(state: &WebState, id: JobId) -> WebResult<JobView> {
    let engine = state.engine();
    Ok(JobView::new(
        engine.job(id).await?,
        &engine.redactions().await?,
    ))
}

/// The API's routes.
pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/api/overview", get(overview))
        .route("/api/jobs", get(list_jobs).post(enqueue_job))
        .route("/api/jobs/{id}", get(job_detail).delete(delete_job))
        .route("/api/jobs/{id}/abort", post(abort_job))
        .route("/api/jobs/{id}/retry", post(retry_job))
        .route("/api/jobs/bulk", post(bulk_jobs))
        .route("/api/jobs/purge", post(purge_jobs))
        .route("/api/batches", post(execute_batch))
        .route("/api/schedules", get(list_schedules).post(create_schedule))
        .route("/api/schedules/{id}", get(schedule).delete(delete_schedule))
        .route("/api/schedules/{id}/pause", post(pause_schedule))
        .route("/api/schedules/{id}/resume", post(resume_schedule))
        .route("/api/queues", get(list_queues))
        .route("/api/queues/{name}/pause", post(pause_queue))
        .route("/api/queues/{name}/resume", post(resume_queue))
        .route("/api/flex-queue", get(flex_queue))
        .route("/api/flex-queue/{id}/move", post(move_in_flex_queue))
}

/// Counts by status and type, the last hour per minute, the daily cap and the nodes.
#[utoipa::path(get, path = "/api/overview", tag = "overview",
    responses((status = 200, body = Overview)))]
pub async fn overview(State(state): State<WebState>) -> WebResult<Json<Overview>> {
    Ok(Json(Overview::load(&state).await?))
}

/// The Apex Jobs list, newest first, keyset-paginated on the ID.
#[utoipa::path(get, path = "/api/jobs", tag = "jobs", params(JobFilters),
    responses((status = 200, body = JobPage), (status = 400, body = ErrorBody)))]
pub async fn list_jobs(
    State(state): State<WebState>,
    FilterQuery(filters): FilterQuery,
) -> WebResult<Json<JobPage>> {
    Ok(Json(JobPage::load(&state, &filters).await?))
}

/// One job: every field, its chain and, for a batch, progress, failed chunks and error events.
#[utoipa::path(get, path = "/api/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "A 707… job ID (15 or 18 characters)")),
    responses((status = 200, body = JobDetail), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn job_detail(
    State(state): State<WebState>,
    ApiPath(id): ApiPath<String>,
) -> WebResult<Json<JobDetail>> {
    Ok(Json(JobDetail::load(&state, &id).await?))
}

/// Enqueues a registered queueable by class name with a JSON payload (Apex's
/// `System.enqueueJob`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnqueueRequest {
    /// The registered class name: 1 to 63 characters, not only whitespace.
    #[schema(
        min_length = 1,
        max_length = 63,
        pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub class_name: String,
    /// The job's state: a JSON object.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Seconds before it may start (Apex's minimum queueable delay), 0 to 31,536,000 (one
    /// year; Apex itself allows up to 600).
    #[schema(minimum = 0, maximum = 31_536_000)]
    #[serde(default, deserialize_with = "integral")]
    pub delay_seconds: Option<u64>,
    /// The named queue it waits in (beyond Apex; default: its type's, else `default`).
    #[schema(min_length = 1, max_length = 63, pattern = "^[A-Za-z0-9_.-]{1,63}$")]
    #[serde(default)]
    pub queue: Option<String>,
    /// Its priority in the queue, 0 (claimed first) to 9 (beyond Apex).
    #[schema(value_type = Option<u64>, minimum = 0, maximum = 9)]
    #[serde(default, deserialize_with = "integral")]
    pub priority: Option<u8>,
    /// The tenant it counts against for fair share (beyond Apex): 1 to 255 characters, no
    /// control characters.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    #[serde(default)]
    pub tenant: Option<String>,
}

/// The most characters a class or schedule name may have over the API.
///
/// The engine's rule is 1 to 255 bytes once trimmed, which JSON Schema cannot state (its
/// lengths count characters, and it cannot trim). 63 characters are at most 252 bytes, so
/// every name the document allows the engine takes, and the API refuses the rest itself;
/// Apex's own class names have at most 40 characters.
pub const MAX_NAME_CHARS: usize = 63;

/// Refuses a name the document does not allow: blank, or longer than [`MAX_NAME_CHARS`].
fn check_name(what: &'static str, name: &str) -> WebResult<()> {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(asyncapex::Error::InvalidInput {
            what,
            input: name.chars().take(70).collect(),
            rule: "a name over the API has 1 to 63 characters and is not only whitespace",
        }
        .into());
    }
    Ok(())
}

/// The longest delay the API takes: a year. The engine would take any, but an instant must
/// stay one a store can read back ([`asyncapex::clock::MAX_STORABLE`]), and no operator means
/// a delay of more than a year.
pub const MAX_DELAY_SECONDS: u64 = 31_536_000;

/// The delay of an enqueue request, checked against [`MAX_DELAY_SECONDS`].
fn delay(seconds: u64) -> WebResult<Duration> {
    if seconds > MAX_DELAY_SECONDS {
        return Err(asyncapex::Error::InvalidInput {
            what: "delay_seconds",
            input: seconds.to_string(),
            rule: "a delay is 0 to 31536000 seconds (one year)",
        }
        .into());
    }
    Ok(Duration::from_secs(seconds))
}

/// An optional whole number, also when written with a zero fraction (`96.0`): JSON Schema's
/// `integer`, which the document promises, includes such numbers, and serde's integers do not.
fn integral<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    use serde::de::Error as _;
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let whole = match (number.as_u64(), number.as_f64()) {
        (Some(n), _) => n,
        // 2^64 as a float is out of range; below it, a float with no fraction is exact.
        (None, Some(f)) if f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&f) => {
            f as u64
        }
        _ => {
            return Err(D::Error::custom(format!(
                "{number} is not a whole number of 0 or more"
            )));
        }
    };
    T::try_from(whole)
        .map(Some)
        .map_err(|_| D::Error::custom(format!("{number} is too large")))
}

/// Submits a batch by class name with a JSON payload (Apex's `Database.executeBatch`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The registered batch class name: 1 to 63 characters, not only whitespace.
    #[schema(
        min_length = 1,
        max_length = 63,
        pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub class_name: String,
    /// The batch's state: a JSON object.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Items per `execute`, at least 1 (default 200); a query locator's chunks hold at most
    /// 2,000, a larger scope being cut down to it.
    // Declared as a u64 so the document's format (int64) admits the whole u32 range the
    // server accepts; utoipa would otherwise say int32 and clients would refuse 2^31.
    #[schema(value_type = Option<u64>, minimum = 1, maximum = 4294967295_u64)]
    #[serde(default, deserialize_with = "integral")]
    pub scope: Option<u32>,
}

/// A job just created.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    /// Its `707…` ID.
    #[schema(value_type = String)]
    pub id: JobId,
    /// Its record.
    pub job: JobView,
}

/// The token is required.
#[utoipa::path(post, path = "/api/jobs", tag = "jobs", request_body = EnqueueRequest,
    security(("bearer" = [])),
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn enqueue_job(
    State(state): State<WebState>,
    ApiJson(request): ApiJson<EnqueueRequest>,
) -> WebResult<(StatusCode, Json<Created>)> {
    check_name("class_name", &request.class_name)?;
    let mut options = EnqueueOptions::default();
    if let Some(s) = request.delay_seconds {
        options = options.delay(delay(s)?);
    }
    if let Some(q) = request.queue {
        options = options.queue(q);
    }
    if let Some(p) = request.priority {
        options = options.priority(p);
    }
    if let Some(t) = request.tenant {
        options = options.tenant(t);
    }
    let id = state
        .engine()
        .enqueue_json(&request.class_name, request.payload, options)
        .await?;
    let job = view(&state, id).await?;
    Ok((StatusCode::CREATED, Json(Created { id, job })))
}

/// Submits a batch job: it joins the end of the flex queue. The token is required.
#[utoipa::path(post, path = "/api/batches", tag = "flex-queue", request_body = BatchRequest,
    security(("bearer" = [])),
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn execute_batch(
    State(state): State<WebState>,
    ApiJson(request): ApiJson<BatchRequest>,
) -> WebResult<(StatusCode, Json<Created>)> {
    check_name("class_name", &request.class_name)?;
    let id = state
        .engine()
        .execute_batch_json(
            &request.class_name,
            request.payload,
            request.scope.unwrap_or(200),
        )
        .await?;
    let job = view(&state, id).await?;
    Ok((StatusCode::CREATED, Json(Created { id, job })))
}

/// What an abort did.
#[derive(Debug, Serialize, ToSchema)]
pub struct AbortResult {
    /// `aborted` (it was waiting: it will never run), `abort_requested` (it is running: it
    /// stops at its next boundary) or `already_finished`.
    pub outcome: &'static str,
    /// The record after the abort.
    pub job: JobView,
}

/// The outcome's API spelling.
pub fn outcome_code(outcome: AbortOutcome) -> &'static str {
    match outcome {
        AbortOutcome::Aborted => "aborted",
        AbortOutcome::AbortRequested => "abort_requested",
        AbortOutcome::AlreadyFinished(_) => "already_finished",
        AbortOutcome::NotFound => "not_found",
        AbortOutcome::ScheduleDeleted => "schedule_deleted",
        AbortOutcome::ScheduleAlreadyDeleted => "schedule_already_deleted",
    }
}

/// Aborts a job and returns the resulting record (the token is required).
pub(crate) async fn abort(state: &WebState, id: &str) -> WebResult<AbortResult> {
    let id: JobId = id.parse()?;
    let outcome = state.engine().abort_job(id).await?;
    let job = view(state, id).await?;
    Ok(AbortResult {
        outcome: outcome_code(outcome),
        job,
    })
}

/// Aborts a job (Apex's `System.abortJob`). The token is required.
#[utoipa::path(post, path = "/api/jobs/{id}/abort", tag = "jobs",
    params(("id" = String, Path, description = "A 707… job ID")),
    security(("bearer" = [])),
    responses((status = 200, body = AbortResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn abort_job(
    State(state): State<WebState>,
    ApiPath(id): ApiPath<String>,
) -> WebResult<Json<AbortResult>> {
    Ok(Json(abort(&state, &id).await?))
}

/// Retries a Failed or Aborted job: a new job with the same class and payload, linked to
/// the original (`retry_of`), under the same limits as an enqueue. The token is required.
pub(crate) async fn retry(state: &WebState, id: &str) -> WebResult<Created> {
    let id: JobId = id.parse()?;
    let new = state.engine().retry_job(id).await?;
    let job = view(state, new).await?;
    Ok(Created { id: new, job })
}

/// Retries a Failed or Aborted job (a new record linked to it by `retry_of`; a batch re-runs
/// whole). 409 for a job of another status. The token is required.
#[utoipa::path(post, path = "/api/jobs/{id}/retry", tag = "jobs",
    params(("id" = String, Path, description = "A 707… job ID")),
    security(("bearer" = [])),
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn retry_job(
    State(state): State<WebState>,
    ApiPath(id): ApiPath<String>,
) -> WebResult<(StatusCode, Json<Created>)> {
    Ok((StatusCode::CREATED, Json(retry(&state, &id).await?)))
}

/// A deleted record.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    /// Its ID.
    #[schema(value_type = String)]
    pub deleted: JobId,
}

/// Deletes a finished job's record. The token is required.
pub(crate) async fn delete(state: &WebState, id: &str) -> WebResult<Deleted> {
    let id: JobId = id.parse()?;
    state.engine().delete_job(id).await?;
    Ok(Deleted { deleted: id })
}

/// Deletes a finished (Completed, Failed, Aborted) job's record with its batch chunks and
/// error events; 409 for a job still waiting or running. The token is required.
#[utoipa::path(delete, path = "/api/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "A 707… job ID")),
    security(("bearer" = [])),
    responses((status = 200, body = Deleted), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_job(
    State(state): State<WebState>,
    ApiPath(id): ApiPath<String>,
) -> WebResult<Json<Deleted>> {
    Ok(Json(delete(&state, &id).await?))
}

/// The most jobs a selection may name.
pub const MAX_SELECTION: usize = 1_000;

/// A bulk action over a filter's jobs or a selection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// `abort`, `retry` or `delete`.
    #[schema(value_type = String, example = "retry")]
    pub action: BulkAction,
    /// The jobs the Apex Jobs list's filters match (the same fields as `GET /api/jobs`,
    /// values as strings); at least one filter must be set. Give this or `ids`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub filter: Option<std::collections::BTreeMap<String, String>>,
    /// A selection of at most 1,000 `707…` IDs. Give this or `filter`.
    #[serde(default)]
    pub ids: Option<Vec<String>>,
    /// Count what would change, change nothing (the confirmation).
    #[serde(default)]
    pub dry_run: bool,
}

/// What a bulk action did, or would do.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    /// The action.
    pub action: &'static str,
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// Jobs matched (a dry run over a filter counts at most 1,000,000).
    pub matched: u64,
    /// Of those, the ones the action applies to (a dry run's estimate of `done`).
    pub applicable: u64,
    /// Jobs changed (0 in a dry run).
    pub done: u64,
    /// Matched jobs it did not apply to, or that changed under it.
    pub skipped: u64,
    /// For a retry, the first 1,000 new jobs' IDs.
    #[schema(value_type = Vec<String>)]
    pub retries: Vec<JobId>,
}

/// The cap on a dry run's count.
pub const BULK_COUNT_CAP: u32 = 1_000_000;

/// What a bulk request targets: a filter's store query (`None` when its class prefix matches
/// nothing) or a selection.
pub(crate) enum BulkTarget {
    /// Every job the query matches.
    Filter(Option<Box<asyncapex::JobListParams>>),
    /// These jobs.
    Ids(Vec<JobId>),
}

impl BulkTarget {
    /// Reads a request's target.
    ///
    /// # Errors
    /// 400 for neither or both, an empty filter, a bad filter, a malformed ID or too many.
    pub(crate) async fn read(
        state: &WebState,
        filter: Option<&JobFilters>,
        ids: Option<&[String]>,
    ) -> WebResult<BulkTarget> {
        match (filter, ids) {
            (Some(f), None) => {
                if !f.is_filtered() {
                    return Err(WebError::BadRequest(
                        "a bulk action needs at least one filter (to change every job, filter by status)".into(),
                    ));
                }
                if let Some(id) = f.searched_id() {
                    return Ok(BulkTarget::Ids(vec![id]));
                }
                let mut params = f.query(state.engine().store().as_ref()).await?;
                if let Some(p) = params.as_mut() {
                    p.before = None;
                }
                Ok(BulkTarget::Filter(params.map(Box::new)))
            }
            (None, Some(ids)) => {
                if ids.is_empty() || ids.len() > MAX_SELECTION {
                    return Err(asyncapex::Error::InvalidInput {
                        what: "ids",
                        input: ids.len().to_string(),
                        rule: "a selection names 1 to 1000 jobs",
                    }
                    .into());
                }
                let ids = ids
                    .iter()
                    .map(|i| i.parse::<JobId>())
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(BulkTarget::Ids(ids))
            }
            _ => Err(WebError::BadRequest(
                "give exactly one of filter and ids".into(),
            )),
        }
    }

    /// Counts what the action would match and change.
    pub(crate) async fn count(
        &self,
        state: &WebState,
        action: BulkAction,
    ) -> WebResult<(u64, u64)> {
        let engine = state.engine();
        match self {
            BulkTarget::Filter(None) => Ok((0, 0)),
            BulkTarget::Filter(Some(params)) => {
                Ok(engine.count_bulk(action, params, BULK_COUNT_CAP).await?)
            }
            BulkTarget::Ids(ids) => {
                let (mut matched, mut applicable) = (0, 0);
                for id in ids {
                    if let Some(job) = engine.store().job_get(*id).await? {
                        matched += 1;
                        applicable += u64::from(action.applies_to(job.status));
                    }
                }
                Ok((matched, applicable))
            }
        }
    }

    /// Runs the action.
    pub(crate) async fn run(&self, state: &WebState, action: BulkAction) -> WebResult<BulkReport> {
        let engine = state.engine();
        Ok(match self {
            BulkTarget::Filter(None) => BulkReport::default(),
            BulkTarget::Filter(Some(params)) => engine.bulk_jobs(action, params, |_| {}).await?,
            BulkTarget::Ids(ids) => engine.bulk_job_ids(action, ids).await?,
        })
    }
}

/// Aborts, retries or deletes every job a filter matches, or a selection, in steps of 100
/// (so a million-row action never holds the store for long). Send `dry_run: true` first to
/// show the count to confirm. The token is required.
#[utoipa::path(post, path = "/api/jobs/bulk", tag = "jobs", request_body = BulkRequest,
    security(("bearer" = [])),
    responses((status = 200, body = BulkResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn bulk_jobs(
    State(state): State<WebState>,
    ApiJson(request): ApiJson<BulkRequest>,
) -> WebResult<Json<BulkResult>> {
    let filter = match &request.filter {
        Some(fields) => {
            let pairs: Vec<(String, String)> =
                fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            Some(JobFilters::from_pairs(&pairs)?)
        }
        None => None,
    };
    let target = BulkTarget::read(&state, filter.as_ref(), request.ids.as_deref()).await?;
    let action = request.action;
    if request.dry_run {
        let (matched, applicable) = target.count(&state, action).await?;
        return Ok(Json(BulkResult {
            action: action.as_str(),
            dry_run: true,
            matched,
            applicable,
            done: 0,
            skipped: 0,
            retries: Vec::new(),
        }));
    }
    let mut report = target.run(&state, action).await?;
    report.retries.truncate(1_000);
    Ok(Json(BulkResult {
        action: action.as_str(),
        dry_run: false,
        matched: report.matched,
        applicable: report.done,
        done: report.done,
        skipped: report.skipped,
        retries: report.retries,
    }))
}

/// Which finished job records to purge (Apex's `System.purgeOldAsyncJobs`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurgeRequest {
    /// Records that ended strictly before this go: an instant (`2026-11-25T08:00:00Z`), a
    /// date (`2026-11-25`, midnight UTC) or an age (`7d`, `36h`, `90m`).
    #[schema(example = "7d")]
    pub before: String,
    /// Only these statuses, each `Completed`, `Failed` or `Aborted` (default: all three).
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub statuses: Option<Vec<JobStatus>>,
    /// Only these job types (default: every type).
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub job_types: Option<Vec<JobType>>,
    /// Count what would go, delete nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What a purge deleted, or would delete.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurgeResult {
    /// Job records deleted (with their batch chunks and error events), or that a dry run
    /// would delete.
    pub deleted: u64,
    /// Whether this was a dry run (nothing was deleted).
    pub dry_run: bool,
    /// The cut the request's `before` meant.
    #[schema(value_type = String, format = DateTime)]
    pub before: jiff::Timestamp,
}

/// Deletes finished job records that ended before a cut, in batches (Apex's
/// `System.purgeOldAsyncJobs`); waiting and running jobs and schedules are never touched.
/// The token is required.
#[utoipa::path(post, path = "/api/jobs/purge", tag = "jobs", request_body = PurgeRequest,
    security(("bearer" = [])),
    responses((status = 200, body = PurgeResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn purge_jobs(
    State(state): State<WebState>,
    ApiJson(request): ApiJson<PurgeRequest>,
) -> WebResult<Json<PurgeResult>> {
    let before = PurgeFilter::cut(&request.before, jiff::Timestamp::now())?;
    let mut filter = PurgeFilter::before(before);
    if let Some(statuses) = request.statuses {
        filter = filter.statuses(statuses);
    }
    if let Some(job_types) = request.job_types {
        if job_types.is_empty() {
            return Err(asyncapex::Error::InvalidInput {
                what: "purge job types",
                input: String::new(),
                rule: "name at least one job type, or leave job_types out for every type",
            }
            .into());
        }
        filter = filter.job_types(job_types);
    }
    let engine = state.engine();
    let deleted = if request.dry_run {
        engine.purge_count(&filter).await?
    } else {
        engine.purge(&filter, |_| {}).await?
    };
    Ok(Json(PurgeResult {
        deleted,
        dry_run: request.dry_run,
        before,
    }))
}

/// Scheduled jobs, newest first.
#[utoipa::path(get, path = "/api/schedules", tag = "schedules", params(ScheduleFilters),
    responses((status = 200, body = Vec<ScheduleView>)))]
pub async fn list_schedules(
    State(state): State<WebState>,
    ApiQuery(filters): ApiQuery<ScheduleFilters>,
) -> WebResult<Json<Vec<ScheduleView>>> {
    Ok(Json(ScheduleView::list(&state, filters.all).await?))
}

/// One schedule, its next ten fire times in its zone (DST marked) and its recent runs.
#[utoipa::path(get, path = "/api/schedules/{id}", tag = "schedules",
    params(("id" = String, Path, description = "An 08e… schedule ID")),
    responses((status = 200, body = ScheduleDetail), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn schedule(
    State(state): State<WebState>,
    ApiPath(id): ApiPath<String>,
) -> WebResult<Json<ScheduleDetail>> {
    // Deleted schedules are gone here (see ScheduleView::load_live); their page still shows.
    ScheduleView::load_live(&state, &id).await?;
    Ok(Json(ScheduleDetail::load(&state, &id).await?))
}

/// Schedules a registered schedulable by class name (Apex's `System.schedule`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// The job name, unique among active schedules: 1 to 63 characters, not only whitespace.
    #[schema(
        min_length = 1,
        max_length = 63,
        pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub name: String,
    /// A Quartz cron expression (`seconds minutes hours day-of-month month day-of-week [year]`).
    pub cron_expression: String,
    /// The registered schedulable class: 1 to 63 characters, not only whitespace.
    #[schema(
        min_length = 1,
        max_length = 63,
        pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub class_name: String,
    /// The job's state: a JSON object (default `{}`).
    #[schema(value_type = Option<Object>)]
    pub payload: Option<serde_json::Value>,
    /// The IANA time zone (default: the engine's, UTC unless configured).
    pub time_zone: Option<String>,
}

/// Schedules a job. The token is required.
#[utoipa::path(post, path = "/api/schedules", tag = "schedules", request_body = ScheduleRequest,
    security(("bearer" = [])),
    responses((status = 201, body = ScheduleView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_schedule(
    State(state): State<WebState>,
    ApiJson(request): ApiJson<ScheduleRequest>,
) -> WebResult<(StatusCode, Json<ScheduleView>)> {
    check_name("name", &request.name)?;
    check_name("class_name", &request.class_name)?;
    let mut options = asyncapex::ScheduleOptions::default();
    if let Some(zone) = request.time_zone {
        options = options.time_zone(zone);
    }
    let id = state
        .engine()
        .schedule_json(
            &request.name,
            &request.cron_expression,
            &request.class_name,
            request.payload.unwrap_or_else(|| serde_json::json!({})),
            options,
        )
        .await?;
    let view = ScheduleView::load(&state, &id.to_string()).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// A schedule after an action.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleChange {
    /// Whether the action changed anything (pausing a paused schedule does not).
    pub changed: bool,
    /// The schedule now.
    pub schedule: ScheduleView,
}

/// The schedule actions.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ScheduleAction {
    Pause,
    Resume,
    Delete,
}

pub(crate) async fn change_schedule(
    state: &WebState,
    id: &str,
    action: ScheduleAction,
) -> WebResult<ScheduleChange> {
    let id: asyncapex::CronTriggerId = id.parse()?;
    let key = id.to_string();
    // A deleted schedule is gone (404), not a schedule that pausing leaves unchanged. The
    // engine's pause and resume answer "unchanged" for it, so the check is made here.
    ScheduleView::load_live(state, &key).await?;
    let engine = state.engine();
    let changed = match action {
        ScheduleAction::Pause => engine.pause_schedule(&key).await?,
        ScheduleAction::Resume => engine.resume_schedule(&key).await?,
        ScheduleAction::Delete => engine.abort_job(id).await? == AbortOutcome::ScheduleDeleted,
    };
    let schedule = ScheduleView::load(state, &key).await?;
    Ok(ScheduleChange { changed, schedule })
}

/// Pauses a schedule (Apex's `System.pauseJobById`). The token is required.
#[utoipa::path(post, path = "/api/schedules/{id}/pause", tag = "schedules",
    params(("id" = String, Path, description = "An 08e… schedule ID")),
    security(("bearer" = [])),
    responses((status = 200, body = ScheduleChange), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn pause_schedule(
    State(state): State<WebState>,
    ApiPath(id): ApiPath<String>,
) -> WebResult<Json<ScheduleChange>> {
    Ok(Json(
        change_schedule(&state, &id, ScheduleAction::Pause).await?,
    ))
}

/// Resumes a paused schedule: it fires once at once, then follows its expression. The
/// token is required.
#[utoipa::path(post, path = "/api/schedules/{id}/resume", tag = "schedules",
    params(("id" = String, Path, description = "An 08e… schedule ID")),
    security(("bearer" = [])),
    responses((status = 200, body = ScheduleChange), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn resume_schedule(
    State(state): State<WebState>,
    ApiPath(id): ApiPath<String>,
) -> WebResult<Json<ScheduleChange>> {
    Ok(Json(
        change_schedule(&state, &id, ScheduleAction::Resume).await?,
    ))
}

/// Deletes a schedule (Apex's `System.abortJob` on a `CronTrigger`): it fires no more. The
/// token is required.
#[utoipa::path(delete, path = "/api/schedules/{id}", tag = "schedules",
    params(("id" = String, Path, description = "An 08e… schedule ID")),
    security(("bearer" = [])),
    responses((status = 200, body = ScheduleChange), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn delete_schedule(
    State(state): State<WebState>,
    ApiPath(id): ApiPath<String>,
) -> WebResult<Json<ScheduleChange>> {
    Ok(Json(
        change_schedule(&state, &id, ScheduleAction::Delete).await?,
    ))
}

/// Named queues (an extension beyond Apex) with their depth, latency and running jobs, and
/// the tenants with the most live jobs.
#[utoipa::path(get, path = "/api/queues", tag = "queues",
    responses((status = 200, body = QueuesView)))]
pub async fn list_queues(State(state): State<WebState>) -> WebResult<Json<QueuesView>> {
    Ok(Json(QueuesView::load(&state).await?))
}

/// What a pause or resume did.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueChange {
    /// Whether it changed (false: it was already paused, or not paused).
    pub changed: bool,
    /// The queue now.
    pub queue: QueueView,
}

pub(crate) async fn change_queue(
    state: &WebState,
    name: &str,
    pause: bool,
) -> WebResult<QueueChange> {
    let engine = state.engine();
    let changed = if pause {
        engine.pause_queue(name).await?
    } else {
        engine.resume_queue(name).await?
    };
    let now = jiff::Timestamp::now();
    let queue = engine
        .queues()
        .await?
        .into_iter()
        .find(|q| q.name == name)
        .map(|q| QueueView::new(q, now))
        .unwrap_or_else(|| {
            // A queue resumed with no jobs and no settings keeps a row; this is the
            // unreachable fallback of a concurrent delete, shown as an empty queue.
            QueueView::new(
                asyncapex::QueueRecord {
                    name: name.to_owned(),
                    paused: false,
                    paused_at: None,
                    global_limit: None,
                    rate_limit: None,
                    tenant_limit: asyncapex::queue::DEFAULT_TENANT_LIMIT,
                    queued: 0,
                    due: 0,
                    running: 0,
                    oldest_due_at: None,
                },
                now,
            )
        });
    Ok(QueueChange { changed, queue })
}

/// Pauses a named queue on every node: its jobs wait (running ones finish) until resumed. A
/// name no job uses yet may be paused ahead of its jobs. The token is required.
#[utoipa::path(post, path = "/api/queues/{name}/pause", tag = "queues",
    params(("name" = String, Path, description = "A queue name: 1 to 63 ASCII letters, digits, '_', '-' and '.'")),
    security(("bearer" = [])),
    responses((status = 200, body = QueueChange), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn pause_queue(
    State(state): State<WebState>,
    ApiPath(name): ApiPath<String>,
) -> WebResult<Json<QueueChange>> {
    Ok(Json(change_queue(&state, &name, true).await?))
}

/// Resumes a paused queue; workers claim from it at once. The token is required.
#[utoipa::path(post, path = "/api/queues/{name}/resume", tag = "queues",
    params(("name" = String, Path, description = "A queue name: 1 to 63 ASCII letters, digits, '_', '-' and '.'")),
    security(("bearer" = [])),
    responses((status = 200, body = QueueChange), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn resume_queue(
    State(state): State<WebState>,
    ApiPath(name): ApiPath<String>,
) -> WebResult<Json<QueueChange>> {
    Ok(Json(change_queue(&state, &name, false).await?))
}

/// The flex queue: holding batch jobs in order, and the active batch jobs.
#[utoipa::path(get, path = "/api/flex-queue", tag = "flex-queue",
    responses((status = 200, body = FlexQueueView)))]
pub async fn flex_queue(State(state): State<WebState>) -> WebResult<Json<FlexQueueView>> {
    Ok(Json(FlexQueueView::load(&state).await?))
}

/// Where to move a holding job.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MoveTo {
    /// To the front: promoted next (`moveJobToFront`).
    Front,
    /// To the end (`moveJobToEnd`).
    End,
    /// Immediately before `other` (`moveBeforeJob`).
    Before,
    /// Immediately after `other` (`moveAfterJob`).
    After,
}

/// A flex-queue move.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// Where to.
    pub to: MoveTo,
    /// The job to move before or after (only for `before` and `after`).
    pub other: Option<String>,
}

/// The flex queue after a move.
#[derive(Debug, Serialize, ToSchema)]
pub struct MoveResult {
    /// Whether anything moved (moving the first job to the front does not).
    pub moved: bool,
    /// Holding batch jobs in their new order.
    pub holding: Vec<JobView>,
}

pub(crate) async fn move_job(
    state: &WebState,
    id: &str,
    request: &MoveRequest,
) -> WebResult<MoveResult> {
    let id: JobId = id.parse()?;
    let other = match request.other.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(o) => Some(o.parse::<JobId>()?),
    };
    let to = match (request.to, other) {
        (MoveTo::Front, _) => FlexMove::Front,
        (MoveTo::End, _) => FlexMove::End,
        (MoveTo::Before, Some(o)) => FlexMove::Before(o),
        (MoveTo::After, Some(o)) => FlexMove::After(o),
        (MoveTo::Before | MoveTo::After, None) => {
            return Err(WebError::BadBody(
                "moving before or after another job needs \"other\": that job's ID".into(),
            ));
        }
    };
    let engine = state.engine();
    // Unknown IDs are 404s; known jobs that are not holding are refused by the move (409).
    engine.job(id).await?;
    if let Some(o) = other {
        engine.job(o).await?;
    }
    let moved = engine.flex_queue_move(id, to).await?;
    let r = engine.redactions().await?;
    let holding = engine
        .flex_queue()
        .await?
        .into_iter()
        .map(|j| JobView::new(j, &r))
        .collect();
    Ok(MoveResult { moved, holding })
}

/// Moves a holding batch job in the flex queue (Apex's `System.FlexQueue`). The token is
/// required.
#[utoipa::path(post, path = "/api/flex-queue/{id}/move", tag = "flex-queue",
    params(("id" = String, Path, description = "The holding 707… job to move")),
    request_body = MoveRequest,
    security(("bearer" = [])),
    responses((status = 200, body = MoveResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn move_in_flex_queue(
    State(state): State<WebState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<MoveRequest>,
) -> WebResult<Json<MoveResult>> {
    Ok(Json(move_job(&state, &id, &request).await?))
}
