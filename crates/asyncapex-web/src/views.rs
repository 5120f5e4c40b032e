//! What the pages show and the JSON API returns: one loader per screen, so both always agree.

use asyncapex::{
    BatchChunkRecord, BatchErrorEvent, ChunkStatus, CronExpr, CronTriggerListParams,
    CronTriggerRecord, JobId, JobListParams, JobRecord, JobStatus, JobType, StoredTriggerState,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::WebState;
use crate::error::{WebError, WebResult};

/// The most rows one page of the job list holds.
pub const MAX_PAGE_SIZE: u32 = 500;
/// Rows per page of the job list by default.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// The statuses of a job still waiting or running.
pub const ACTIVE: [JobStatus; 3] = [
    JobStatus::Queued,
    JobStatus::Preparing,
    JobStatus::Processing,
];

/// A job record: every field of Apex's `AsyncApexJob` plus the engine's own.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobView {
    /// The `707…` ID (18 characters).
    #[schema(value_type = String, example = "7070bYd5Q3Ud000AAA")]
    pub id: JobId,
    /// `Queueable`, `Future`, `BatchApex`, `BatchApexWorker`, `ScheduledApex` or `Finalizer`.
    #[schema(value_type = String, example = "Queueable")]
    pub job_type: JobType,
    /// The registered class name (Apex's `ApexClass.Name`).
    pub class_name: String,
    /// The future method's name.
    pub method_name: Option<String>,
    /// `Holding`, `Queued`, `Preparing`, `Processing`, `Completed`, `Failed` or `Aborted`.
    #[schema(value_type = String, example = "Completed")]
    pub status: JobStatus,
    /// The first error, or why it ended as it did (Apex's `ExtendedStatus`).
    pub extended_status: Option<String>,
    /// Batches processed (Apex's `JobItemsProcessed`).
    pub items_processed: u64,
    /// Total batches (Apex's `TotalJobItems`).
    pub total_items: u64,
    /// Failures (Apex's `NumberOfErrors`).
    pub number_of_errors: u64,
    /// The job that enqueued this one.
    #[schema(value_type = Option<String>)]
    pub parent_job_id: Option<JobId>,
    /// The schedule whose firing created it.
    #[schema(value_type = Option<String>)]
    pub cron_trigger_id: Option<asyncapex::CronTriggerId>,
    /// Submitted.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// First started.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Timestamp>,
    /// Completed (any terminal status).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<Timestamp>,
    /// Earliest start.
    #[schema(value_type = String, format = DateTime)]
    pub run_at: Timestamp,
    /// Claims so far.
    pub attempt: u32,
    /// Claims allowed before the rescuer fails it.
    pub max_attempts: u32,
    /// Position in its chain (1 for a root).
    pub stack_depth: u32,
    /// The chain's maximum depth.
    pub max_stack_depth: Option<u32>,
    /// Consecutive finalizer re-enqueues that led here.
    pub failure_reenqueues: u32,
    /// Duplicate signature (cleared when it starts).
    pub signature: Option<String>,
    /// The job's state, as JSON: usually an object, but any JSON value (null included) that
    /// was stored, and a string if the stored text is not JSON.
    #[schema(value_type = Value)]
    pub payload: serde_json::Value,
    /// The lease holder while it runs.
    pub lease_owner: Option<String>,
    /// When that lease runs out.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub lease_expires_at: Option<Timestamp>,
    /// Whether an abort was requested while it ran.
    pub abort_requested: bool,
    /// A batch's scope size.
    pub batch_scope: Option<u32>,
    /// Whether a batch's `start` has run.
    pub batch_start_done: bool,
    /// A holding batch's flex-queue position.
    pub flex_position: Option<i64>,
    /// The Failed or Aborted job an operator retried to make this one.
    #[schema(value_type = Option<String>)]
    pub retry_of: Option<JobId>,
    /// The named queue it waits in (`default` unless it named one).
    pub queue: String,
    /// Its priority in the queue, 0 (claimed first) to 9.
    pub priority: u8,
    /// The tenant it is counted against for fair share.
    pub tenant: Option<String>,
}

impl JobView {
    /// The view of a record, its sensitive payload fields redacted.
    pub fn new(j: JobRecord, redactions: &asyncapex::Redactions) -> JobView {
        let payload = redactions.redact(&j.class_name, &j.payload_json());
        JobView {
            id: j.id,
            job_type: j.job_type,
            class_name: j.class_name,
            method_name: j.method_name,
            status: j.status,
            extended_status: j.extended_status,
            items_processed: j.items_processed,
            total_items: j.total_items,
            number_of_errors: j.number_of_errors,
            parent_job_id: j.parent_job_id,
            cron_trigger_id: j.cron_trigger_id,
            created_at: j.created_at,
            started_at: j.started_at,
            completed_at: j.completed_at,
            run_at: j.run_at,
            attempt: j.attempt,
            max_attempts: j.max_attempts,
            stack_depth: j.stack_depth,
            max_stack_depth: j.max_stack_depth,
            failure_reenqueues: j.failure_reenqueues,
            signature: j.signature,
            payload,
            lease_owner: j.lease_owner,
            lease_expires_at: j.lease_expires_at,
            abort_requested: j.abort_requested,
            batch_scope: j.batch_scope,
            batch_start_done: j.batch_start_done,
            flex_position: j.flex_position,
            retry_of: j.retry_of,
            queue: j.queue,
            priority: j.priority,
            tenant: j.tenant,
        }
    }
}

/// A named queue (an extension beyond Apex): its stored rules and what it holds now.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueView {
    /// Its name.
    pub name: String,
    /// Whether an operator paused it: it claims nothing until resumed.
    pub paused: bool,
    /// When it was paused.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub paused_at: Option<Timestamp>,
    /// The most of its jobs running at once across every node, if capped.
    pub global_limit: Option<u32>,
    /// Starts allowed per rate-limit window, if rate-limited.
    pub rate_limit: Option<u32>,
    /// The rate-limit window in milliseconds.
    pub rate_window_ms: Option<u64>,
    /// Pending jobs one tenant may have before its further jobs wait behind others'.
    pub tenant_limit: u32,
    /// Jobs waiting (due or not).
    pub queued: u64,
    /// Of those, the ones due now.
    pub due: u64,
    /// Its jobs running on every node.
    pub running: u64,
    /// How long its longest-waiting due job has waited, in milliseconds (0 when none is due).
    pub latency_ms: u64,
}

impl QueueView {
    /// The view of a queue at `now`.
    pub fn new(q: asyncapex::QueueRecord, now: Timestamp) -> QueueView {
        QueueView {
            latency_ms: q.oldest_due_at.map_or(0, |t| {
                u64::try_from(now.duration_since(t).as_millis().max(0)).unwrap_or(0)
            }),
            name: q.name,
            paused: q.paused,
            paused_at: q.paused_at,
            global_limit: q.global_limit,
            rate_limit: q.rate_limit.map(|r| r.starts),
            rate_window_ms: q
                .rate_limit
                .map(|r| u64::try_from(r.per.as_millis()).unwrap_or(u64::MAX)),
            tenant_limit: q.tenant_limit,
            queued: q.queued,
            due: q.due,
            running: q.running,
        }
    }
}

/// One tenant's live jobs in one queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    /// The queue.
    pub queue: String,
    /// The tenant.
    pub tenant: String,
    /// Its jobs waiting.
    pub queued: u64,
    /// Its jobs running.
    pub running: u64,
}

/// The queues and the busiest tenants.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuesView {
    /// Every queue with stored settings or live jobs, by name.
    pub queues: Vec<QueueView>,
    /// The 50 tenants with the most live jobs, most first.
    pub tenants: Vec<TenantView>,
}

impl QueuesView {
    /// Reads both from the store.
    ///
    /// # Errors
    /// A store error.
    pub async fn load(state: &crate::WebState) -> crate::error::WebResult<QueuesView> {
        let engine = state.engine();
        let now = Timestamp::now();
        let queues = engine
            .queues()
            .await?
            .into_iter()
            .map(|q| QueueView::new(q, now))
            .collect();
        let tenants = engine
            .tenant_counts(50)
            .await?
            .into_iter()
            .map(|t| TenantView {
                queue: t.queue,
                tenant: t.tenant,
                queued: t.queued,
                running: t.running,
            })
            .collect();
        Ok(QueuesView { queues, tenants })
    }
}

/// Filters and page of the Apex Jobs list. Empty values mean "any"; every filter given
/// applies. A status or job type given several times (`?status=Failed&status=Aborted`, as a
/// form's checkboxes send it) counts as the comma-separated list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobFilters {
    /// A job ID (15 or 18 characters; the 18-character form in any letter case) or the
    /// start of a class name (any letter case). The pages open the job an ID names.
    pub q: Option<String>,
    /// Statuses, comma-separated (e.g. `Failed,Aborted`).
    pub status: Option<String>,
    /// Job types, comma-separated (e.g. `BatchApex`).
    pub job_type: Option<String>,
    /// Exact class name.
    pub class: Option<String>,
    /// Only jobs enqueued by this job (its `707…` ID).
    pub parent: Option<String>,
    /// Only firings of this schedule (its `08e…` ID).
    pub schedule: Option<String>,
    /// Only retries of this job (its `707…` ID).
    pub retry_of: Option<String>,
    /// Submitted at or after: a date (`2026-12-01`, the day's start in UTC) or an RFC 3339
    /// instant.
    pub submitted_from: Option<String>,
    /// Submitted on or before: a date (the whole day, UTC) or an instant (before it).
    pub submitted_to: Option<String>,
    /// Ended at or after (date or instant, as `submitted_from`).
    pub completed_from: Option<String>,
    /// Ended on or before (date or instant, as `submitted_to`).
    pub completed_to: Option<String>,
    /// Keyset page: only jobs older than this ID (the previous page's `next_before`).
    pub before: Option<String>,
    /// Rows per page, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

fn parse_list<T: std::str::FromStr<Err = asyncapex::Error>>(
    text: Option<&str>,
) -> WebResult<Vec<T>> {
    text.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<T>().map_err(WebError::from))
        .collect()
}

/// A filter's text, trimmed; `None` when blank.
fn given(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

/// An instant of a date filter: RFC 3339, or a date meaning its start in UTC — or, for the
/// end of a range (`end`), the start of the next day, so the named day is included.
pub fn parse_instant(what: &'static str, text: &str, end: bool) -> WebResult<Timestamp> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    let date = text
        .parse::<jiff::civil::Date>()
        .map_err(|_| asyncapex::Error::InvalidInput {
            what,
            input: text.chars().take(40).collect(),
            rule: "expected a date (2026-12-01, UTC) or an RFC 3339 instant (2026-12-01T09:30:00Z)",
        })?;
    // Dates at the ends of the calendar lie beyond the last (first) instant: those.
    let beyond = if date.year() > 0 {
        Timestamp::MAX
    } else {
        Timestamp::MIN
    };
    let start = jiff::tz::TimeZone::UTC
        .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .unwrap_or(beyond);
    if !end {
        return Ok(start);
    }
    // The day's end: the next day's start (the last day there is ends at the last instant).
    Ok(date
        .tomorrow()
        .ok()
        .and_then(|d| {
            jiff::tz::TimeZone::UTC
                .to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
                .ok()
        })
        .unwrap_or(Timestamp::MAX))
}

fn range(
    (from_what, from): (&'static str, &Option<String>),
    (to_what, to): (&'static str, &Option<String>),
) -> WebResult<asyncapex::TimeRange> {
    // Blank is no bound (an empty date input); anything else must be a date or an instant
    // exactly, as the OpenAPI document states it.
    let exact = |text: &Option<String>| text.clone().filter(|t| !t.trim().is_empty());
    let range = asyncapex::TimeRange {
        from: exact(from)
            .map(|t| parse_instant(from_what, &t, false))
            .transpose()?,
        before: exact(to)
            .map(|t| parse_instant(to_what, &t, true))
            .transpose()?,
    };
    // A range that ends before it starts matches nothing (the list is empty), as in SQL.
    Ok(range)
}

/// The most class names a prefix search considers (the distinct names read through the
/// class index; a store with more classes than this searches the first ones in byte order).
pub const MAX_CLASS_NAMES: u32 = 1_000;

impl JobFilters {
    /// Whether `q` is a job ID (the pages open that job instead of listing).
    pub fn searched_id(&self) -> Option<JobId> {
        given(&self.q).and_then(|q| q.parse::<JobId>().ok())
    }

    /// Whether any filter other than the page is set.
    pub fn is_filtered(&self) -> bool {
        [
            &self.q,
            &self.status,
            &self.job_type,
            &self.class,
            &self.parent,
            &self.schedule,
            &self.retry_of,
            &self.submitted_from,
            &self.submitted_to,
            &self.completed_from,
            &self.completed_to,
        ]
        .into_iter()
        .any(|v| given(v).is_some())
    }

    /// The store query (asking one row more than the page, to know whether a next page
    /// exists without counting), without the class-prefix search (see [`JobFilters::query`]).
    ///
    /// # Errors
    /// 400s for an unknown status or job type, a malformed ID, a bad date or range, a limit
    /// out of range.
    pub fn to_params(&self) -> WebResult<JobListParams> {
        let limit = self.limit.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&limit) {
            return Err(asyncapex::Error::InvalidInput {
                what: "limit",
                input: limit.to_string(),
                rule: "a page holds 1 to 500 jobs",
            }
            .into());
        }
        let id = |text: &Option<String>| -> WebResult<Option<JobId>> {
            Ok(given(text).map(str::parse::<JobId>).transpose()?)
        };
        Ok(JobListParams {
            statuses: parse_list(self.status.as_deref())?,
            job_types: parse_list(self.job_type.as_deref())?,
            class_name: given(&self.class).map(str::to_owned),
            parent_job_id: id(&self.parent)?,
            cron_trigger_id: given(&self.schedule)
                .map(str::parse::<asyncapex::CronTriggerId>)
                .transpose()?,
            retry_of: id(&self.retry_of)?,
            created: range(
                ("submitted_from", &self.submitted_from),
                ("submitted_to", &self.submitted_to),
            )?,
            completed: range(
                ("completed_from", &self.completed_from),
                ("completed_to", &self.completed_to),
            )?,
            before: id(&self.before)?,
            limit: limit + 1,
            ..Default::default()
        })
    }

    /// The store query with a class-name prefix in `q` applied, matched in any letter case
    /// against the stored class names. `None` when the prefix matches no class (nothing to
    /// list). An ID in `q` is not a prefix: [`JobPage::load`] lists that job alone, whatever
    /// the other filters say.
    ///
    /// # Errors
    /// As [`JobFilters::to_params`]; a store error.
    pub async fn query(
        &self,
        store: &dyn asyncapex::unstable::store::Store,
    ) -> WebResult<Option<JobListParams>> {
        let mut params = self.to_params()?;
        let Some(q) = given(&self.q).filter(|_| self.searched_id().is_none()) else {
            return Ok(Some(params));
        };
        let prefix = q.to_lowercase();
        let names: Vec<String> = store
            .job_class_names(MAX_CLASS_NAMES)
            .await?
            .into_iter()
            .filter(|n| n.to_lowercase().starts_with(&prefix))
            .collect();
        if names.is_empty() {
            return Ok(None);
        }
        params.class_names = names;
        Ok(Some(params))
    }

    /// The query string of these filters with another `before`.
    pub fn query_with_before(&self, before: Option<JobId>) -> String {
        let mut parts = Vec::new();
        for (name, value) in self.fields() {
            if let Some(v) = given(value) {
                parts.push(format!("{name}={}", encode(v)));
            }
        }
        if let Some(limit) = self.limit {
            parts.push(format!("limit={limit}"));
        }
        if let Some(b) = before {
            parts.push(format!("before={b}"));
        }
        parts.join("&")
    }

    /// Every filter by its query-string name (not the page).
    pub fn fields(&self) -> [(&'static str, &Option<String>); 11] {
        [
            ("q", &self.q),
            ("status", &self.status),
            ("job_type", &self.job_type),
            ("class", &self.class),
            ("parent", &self.parent),
            ("schedule", &self.schedule),
            ("retry_of", &self.retry_of),
            ("submitted_from", &self.submitted_from),
            ("submitted_to", &self.submitted_to),
            ("completed_from", &self.completed_from),
            ("completed_to", &self.completed_to),
        ]
    }

    /// Reads filters from `name=value` pairs, joining a status or job type given several
    /// times into one comma-separated list.
    ///
    /// # Errors
    /// A 400 for a field given twice that cannot be a list, or an unknown field.
    pub fn from_pairs(pairs: &[(String, String)]) -> WebResult<JobFilters> {
        let mut merged: Vec<(String, String)> = Vec::new();
        for (name, value) in pairs {
            match merged.iter_mut().find(|(n, _)| n == name) {
                Some((_, v)) if name == "status" || name == "job_type" => {
                    if !value.trim().is_empty() {
                        if !v.trim().is_empty() {
                            v.push(',');
                        }
                        v.push_str(value);
                    }
                }
                Some(_) => {
                    return Err(WebError::BadRequest(format!(
                        "invalid query string: {name} is given twice"
                    )));
                }
                None => merged.push((name.clone(), value.clone())),
            }
        }
        let text = serde_urlencoded::to_string(&merged)
            .map_err(|e| WebError::BadRequest(format!("invalid query string: {e}")))?;
        serde_urlencoded::from_str(&text)
            .map_err(|e| WebError::BadRequest(format!("invalid query string: {e}")))
    }
}

/// [`JobFilters`] from the query string, with repeated statuses and types joined (what a
/// form's checkboxes send); rejections are [`WebError`]s.
#[derive(Debug, Clone)]
pub struct FilterQuery(pub JobFilters);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for FilterQuery {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| WebError::BadRequest(format!("invalid query string: {e}")))?;
        JobFilters::from_pairs(&pairs).map(FilterQuery)
    }
}

/// Percent-encodes a query-string value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Counts of a filtered list stop at this many: a count costs what reading that many rows
/// costs, so "more than 10,000" is shown instead of counting a million.
pub const COUNT_CAP: u32 = 10_000;

/// One page of the Apex Jobs list, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    /// The jobs.
    pub jobs: Vec<JobView>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    #[schema(value_type = Option<String>)]
    pub next_before: Option<JobId>,
    /// How many jobs match the filters (all pages), exact up to 10,000.
    pub count: u64,
    /// Whether more than `count` match (the count stopped at 10,000).
    pub count_is_lower_bound: bool,
}

impl JobPage {
    /// Loads a page and the filter's count: from the kept per-status counts when only
    /// statuses (or nothing) are filtered, else counted up to [`COUNT_CAP`].
    ///
    /// # Errors
    /// Bad filters (400), a store error.
    pub async fn load(state: &WebState, filters: &JobFilters) -> WebResult<JobPage> {
        let engine = state.engine();
        if let Some(id) = filters.searched_id() {
            let found = engine.store().job_get(id).await?;
            let r = engine.redactions().await?;
            let jobs: Vec<JobView> = found.into_iter().map(|j| JobView::new(j, &r)).collect();
            return Ok(JobPage {
                count: jobs.len() as u64,
                jobs,
                next_before: None,
                count_is_lower_bound: false,
            });
        }
        let Some(params) = filters.query(engine.store().as_ref()).await? else {
            return Ok(JobPage {
                jobs: Vec::new(),
                next_before: None,
                count: 0,
                count_is_lower_bound: false,
            });
        };
        let page = (params.limit - 1) as usize;
        let r = engine.redactions().await?;
        let mut jobs = engine.jobs(params.clone()).await?;
        let next_before = if jobs.len() > page {
            jobs.truncate(page);
            jobs.last().map(|j| j.id)
        } else {
            None
        };
        let (count, count_is_lower_bound) = count(state, &params).await?;
        Ok(JobPage {
            jobs: jobs.into_iter().map(|j| JobView::new(j, &r)).collect(),
            next_before,
            count,
            count_is_lower_bound,
        })
    }
}

/// The count of all pages of `params` (its `before` ignored).
async fn count(state: &WebState, params: &JobListParams) -> WebResult<(u64, bool)> {
    let mut all_pages = params.clone();
    all_pages.before = None;
    let only_statuses = params.job_types.is_empty()
        && params.class_name.is_none()
        && params.class_names.is_empty()
        && params.parent_job_id.is_none()
        && params.cron_trigger_id.is_none()
        && params.retry_of.is_none()
        && params.created.is_open()
        && params.completed.is_open();
    if only_statuses {
        let by_status = state.engine().store().job_count_by_status().await?;
        let n = by_status
            .iter()
            .filter(|(s, _)| params.statuses.is_empty() || params.statuses.contains(s))
            .map(|(_, n)| n)
            .sum();
        return Ok((n, false));
    }
    let n = state.engine().count_jobs(&all_pages, COUNT_CAP + 1).await?;
    Ok((n.min(u64::from(COUNT_CAP)), n > u64::from(COUNT_CAP)))
}

/// A batch chunk.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChunkView {
    /// The chunk's own ID.
    #[schema(value_type = String)]
    pub id: JobId,
    /// Position, from 0.
    pub seq: u64,
    /// `Pending`, `Completed` or `Failed`.
    #[schema(value_type = String)]
    pub status: ChunkStatus,
    /// Items in it.
    pub item_count: u32,
    /// Why it failed.
    pub error: Option<String>,
    /// When it ended.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<Timestamp>,
}

impl From<BatchChunkRecord> for ChunkView {
    fn from(c: BatchChunkRecord) -> Self {
        ChunkView {
            id: c.id,
            seq: c.seq,
            status: c.status,
            item_count: c.item_count,
            error: c.error,
            completed_at: c.completed_at,
        }
    }
}

/// A batch error event (Apex's `BatchApexErrorEvent`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEventView {
    /// Its number (Apex's `ReplayId`).
    pub replay_id: i64,
    /// `START`, `EXECUTE` or `FINISH`.
    #[schema(value_type = String)]
    pub phase: asyncapex::BatchPhase,
    /// `JobError`, `Panic`, `LimitException`, `TimeLimit`.
    pub exception_type: String,
    /// The message.
    pub message: String,
    /// The failing chunk's item keys.
    pub job_scope: String,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<BatchErrorEvent> for ErrorEventView {
    fn from(e: BatchErrorEvent) -> Self {
        ErrorEventView {
            replay_id: e.replay_id,
            phase: e.phase,
            exception_type: e.exception_type,
            message: e.message,
            job_scope: e.job_scope,
            created_at: e.created_at,
        }
    }
}

/// A batch job's progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchProgress {
    /// Batches processed.
    pub processed: u64,
    /// Total batches (0 until `start` has run).
    pub total: u64,
    /// Failed batches.
    pub failures: u64,
    /// Percent done, 0–100.
    pub percent: f64,
    /// Batches per second since it started (until it ended).
    pub per_second: Option<f64>,
}

impl BatchProgress {
    /// The progress of a batch job at `now`.
    pub fn of(job: &JobView, now: Timestamp) -> BatchProgress {
        let percent = if job.total_items == 0 {
            if job.status == JobStatus::Completed {
                100.0
            } else {
                0.0
            }
        } else {
            (job.items_processed as f64 * 100.0 / job.total_items as f64).min(100.0)
        };
        let per_second = job.started_at.and_then(|start| {
            let end = job.completed_at.unwrap_or(now);
            let seconds = end.duration_since(start).as_secs_f64();
            (seconds > 0.0).then(|| job.items_processed as f64 / seconds)
        });
        BatchProgress {
            processed: job.items_processed,
            total: job.total_items,
            failures: job.number_of_errors,
            percent,
            per_second,
        }
    }
}

/// Most children, failed chunks and error events one detail page shows.
pub const DETAIL_LIMIT: u32 = 200;

/// Everything about one job: its record, chain and, for a batch, progress and failures.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobDetail {
    /// The record.
    pub job: JobView,
    /// The job that enqueued it.
    pub parent: Option<JobView>,
    /// Jobs it enqueued (chained jobs, futures, finalizer runs), newest first.
    pub children: Vec<JobView>,
    /// A batch's progress.
    pub batch: Option<BatchProgress>,
    /// A batch's failed chunks.
    pub failed_chunks: Vec<ChunkView>,
    /// A batch's error events, newest first.
    pub error_events: Vec<ErrorEventView>,
    /// Retries of this job an operator made, newest first.
    pub retries: Vec<JobView>,
    /// Its attempts, oldest first.
    pub attempts: Vec<AttemptView>,
}

/// One attempt of a job.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// Its number, from 1.
    pub attempt: u32,
    /// When it started (unknown for attempts from before the store kept the history).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Timestamp>,
    /// When it ended; absent while it runs.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<Timestamp>,
    /// Who ran it (`host:pid#node`).
    pub node: Option<String>,
    /// `Completed`, `Failed`, `Aborted`, `Rescued` (its worker died) or `Running`.
    pub outcome: &'static str,
    /// Why it did not complete; a panic's message ends with where it happened.
    pub error: Option<String>,
}

impl From<asyncapex::AttemptRecord> for AttemptView {
    fn from(a: asyncapex::AttemptRecord) -> Self {
        AttemptView {
            attempt: a.attempt,
            started_at: a.started_at,
            ended_at: a.ended_at,
            node: a.owner,
            outcome: a.outcome.as_str(),
            error: a.error,
        }
    }
}

impl JobDetail {
    /// Loads a job's detail.
    ///
    /// # Errors
    /// A malformed or wrong-kind ID (400), an unknown one (404), a store error.
    pub async fn load(state: &WebState, id: &str) -> WebResult<JobDetail> {
        let engine = state.engine();
        let id: JobId = id.parse()?;
        let r = engine.redactions().await?;
        let job = JobView::new(engine.job(id).await?, &r);
        let parent = match job.parent_job_id {
            Some(p) => engine.job(p).await.ok().map(|j| JobView::new(j, &r)),
            None => None,
        };
        let r = &r;
        let related = |params: JobListParams| async move {
            let jobs = engine
                .jobs(JobListParams {
                    limit: DETAIL_LIMIT,
                    ..params
                })
                .await?;
            WebResult::Ok(
                jobs.into_iter()
                    .map(|j| JobView::new(j, r))
                    .collect::<Vec<_>>(),
            )
        };
        let children = related(JobListParams {
            parent_job_id: Some(id),
            ..Default::default()
        })
        .await?;
        let attempts = engine
            .job_attempts(id)
            .await?
            .into_iter()
            .map(AttemptView::from)
            .collect();
        let retries = related(JobListParams {
            retry_of: Some(id),
            ..Default::default()
        })
        .await?;
        let (batch, failed_chunks, error_events) = if job.job_type == JobType::BatchApex {
            let chunks = engine
                .batch_chunks(id, Some(ChunkStatus::Failed), DETAIL_LIMIT)
                .await?;
            let events = engine.batch_error_events(Some(id), DETAIL_LIMIT).await?;
            (
                Some(BatchProgress::of(&job, Timestamp::now())),
                chunks.into_iter().map(ChunkView::from).collect(),
                events.into_iter().map(ErrorEventView::from).collect(),
            )
        } else {
            (None, Vec::new(), Vec::new())
        };
        Ok(JobDetail {
            job,
            parent,
            children,
            batch,
            failed_chunks,
            error_events,
            retries,
            attempts,
        })
    }
}

/// A schedule (Apex's `CronTrigger` with its `CronJobDetail`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleView {
    /// The `08e…` ID.
    #[schema(value_type = String)]
    pub id: asyncapex::CronTriggerId,
    /// The job name.
    pub name: String,
    /// `ScheduledApex` or `BatchApex`.
    #[schema(value_type = String)]
    pub job_type: JobType,
    /// The scheduled class.
    pub class_name: String,
    /// The cron expression.
    pub cron_expression: String,
    /// The expression in plain English.
    pub explanation: String,
    /// The IANA zone it is read in.
    pub time_zone: String,
    /// `quartz` or `never-skip`.
    pub dst_policy: String,
    /// The state as Apex shows it: `WAITING`, `ACQUIRED`, `EXECUTING`, `PAUSED`, `BLOCKED`,
    /// `COMPLETE`, `ERROR` or `DELETED`.
    pub state: String,
    /// Why it is in `ERROR`.
    pub state_detail: Option<String>,
    /// Next fire.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_fire_time: Option<Timestamp>,
    /// Previous fire.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub previous_fire_time: Option<Timestamp>,
    /// Times triggered.
    pub times_triggered: u64,
    /// When it was scheduled.
    #[schema(value_type = String, format = DateTime)]
    pub start_time: Timestamp,
    /// When it completed or was deleted.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub end_time: Option<Timestamp>,
    /// Its latest firing's job.
    #[schema(value_type = Option<String>)]
    pub last_job_id: Option<JobId>,
    /// Whether it can be paused now (stored state `WAITING`).
    pub can_pause: bool,
    /// Whether it can be resumed now (`PAUSED`).
    pub can_resume: bool,
    /// Whether it can be deleted (not deleted yet).
    pub can_delete: bool,
}

impl ScheduleView {
    /// A trigger as Apex would show it at `now`.
    pub fn of(t: CronTriggerRecord, now: Timestamp) -> ScheduleView {
        let explanation = CronExpr::parse(&t.cron_expression)
            .map(|e| e.explain())
            .unwrap_or_else(|e| format!("(cannot explain: {e})"));
        ScheduleView {
            state: t.state(now).as_str().to_owned(),
            can_pause: t.stored_state == StoredTriggerState::Waiting,
            can_resume: t.stored_state == StoredTriggerState::Paused,
            can_delete: t.stored_state != StoredTriggerState::Deleted,
            id: t.id,
            name: t.name,
            job_type: t.job_type,
            class_name: t.class_name,
            explanation,
            cron_expression: t.cron_expression,
            time_zone: t.time_zone,
            dst_policy: t.dst_policy,
            state_detail: t.state_detail,
            next_fire_time: t.next_fire_time,
            previous_fire_time: t.previous_fire_time,
            times_triggered: t.times_triggered,
            start_time: t.start_time,
            end_time: t.end_time,
            last_job_id: t.last_job_id,
        }
    }

    /// Loads schedules, newest first.
    ///
    /// # Errors
    /// A store error.
    pub async fn list(state: &WebState, include_ended: bool) -> WebResult<Vec<ScheduleView>> {
        let now = Timestamp::now();
        Ok(state
            .engine()
            .schedules(CronTriggerListParams {
                include_ended,
                limit: 500,
            })
            .await?
            .into_iter()
            .map(|t| ScheduleView::of(t, now))
            .collect())
    }

    /// Loads one schedule by its `08e…` ID.
    ///
    /// # Errors
    /// A malformed or wrong-kind ID (400), an unknown one (404), a store error.
    pub async fn load(state: &WebState, id: &str) -> WebResult<ScheduleView> {
        let id: asyncapex::CronTriggerId = id.parse()?;
        let record = state.engine().schedule_record(&id.to_string()).await?;
        Ok(ScheduleView::of(record, Timestamp::now()))
    }

    /// One schedule that has not been deleted: what `GET /api/schedules/{id}` and the actions
    /// act on. A deleted schedule is gone for them (Apex's `abortJob` removes the
    /// `CronTrigger`), though `?all=true` on the list still shows it as history.
    ///
    /// # Errors
    /// As [`ScheduleView::load`], and an unknown schedule (404) for a deleted one.
    pub async fn load_live(state: &WebState, id: &str) -> WebResult<ScheduleView> {
        let id: asyncapex::CronTriggerId = id.parse()?;
        let record = state.engine().schedule_record(&id.to_string()).await?;
        if record.stored_state == StoredTriggerState::Deleted {
            return Err(asyncapex::Error::UnknownSchedule {
                key: id.to_string(),
            }
            .into());
        }
        Ok(ScheduleView::of(record, Timestamp::now()))
    }
}

/// How many upcoming fire times a schedule's page shows.
pub const UPCOMING: usize = 10;

/// One upcoming fire time, as the schedule's own zone sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FireTime {
    /// The instant.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// The wall time in the schedule's zone, with its offset (`2027-04-01 12:00:00 -04`).
    pub local: String,
    /// Whether daylight-saving time is in effect then.
    pub dst: bool,
    /// Whether the zone's offset changed since the previous fire time (a DST change between
    /// them: the gap or repeated hour the schedule's DST policy decides about).
    pub offset_changed: bool,
}

/// A schedule with what its page shows: its next fire times and its past runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleDetail {
    /// The schedule.
    #[serde(flatten)]
    pub schedule: ScheduleView,
    /// Its next fire times (up to ten), in its zone.
    pub upcoming: Vec<FireTime>,
    /// The jobs its firings created, newest first (up to 50).
    pub recent_runs: Vec<JobView>,
}

impl ScheduleDetail {
    /// Loads a schedule's page, deleted ones included (their runs are history).
    ///
    /// # Errors
    /// As [`ScheduleView::load`].
    pub async fn load(state: &WebState, id: &str) -> WebResult<ScheduleDetail> {
        let schedule = ScheduleView::load(state, id).await?;
        let upcoming = upcoming(&schedule);
        let r = state.engine().redactions().await?;
        let recent_runs = state
            .engine()
            .jobs(JobListParams {
                cron_trigger_id: Some(schedule.id),
                limit: 50,
                ..Default::default()
            })
            .await?
            .into_iter()
            .map(|j| JobView::new(j, &r))
            .collect();
        Ok(ScheduleDetail {
            schedule,
            upcoming,
            recent_runs,
        })
    }
}

/// The next [`UPCOMING`] fire times from the stored next one, as the trigger computes them.
fn upcoming(s: &ScheduleView) -> Vec<FireTime> {
    let (Some(first), Ok(expr), Ok(tz)) = (
        s.next_fire_time.filter(|_| s.can_pause || s.can_resume),
        CronExpr::parse(&s.cron_expression),
        jiff::tz::TimeZone::get(&s.time_zone),
    ) else {
        return Vec::new();
    };
    let policy = s.dst_policy.parse().unwrap_or_default();
    let times = std::iter::once(first).chain(expr.iter_after(first, tz.clone(), policy));
    let mut previous_offset = None;
    times
        .take(UPCOMING)
        .map(|at| {
            let info = tz.to_offset_info(at);
            let offset = info.offset();
            let changed = previous_offset.is_some_and(|p| p != offset);
            previous_offset = Some(offset);
            FireTime {
                at,
                local: format!(
                    "{} {}",
                    tz.to_datetime(at).strftime("%Y-%m-%d %H:%M:%S"),
                    offset
                ),
                dst: info.dst().is_dst(),
                offset_changed: changed,
            }
        })
        .collect()
}

/// `?all=true` on the schedule list: also deleted and complete ones.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScheduleFilters {
    /// Also list deleted and complete schedules.
    #[serde(default)]
    pub all: bool,
}

/// The Apex Flex Queue: holding batch jobs in order, and the active batch jobs.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlexQueueView {
    /// Holding batch jobs; the first is promoted next.
    pub holding: Vec<JobView>,
    /// Batch jobs queued or running, with their progress.
    pub active: Vec<ActiveBatch>,
}

/// An active batch job and its progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActiveBatch {
    /// The job.
    pub job: JobView,
    /// Its progress.
    pub progress: BatchProgress,
}

impl FlexQueueView {
    /// Loads the flex queue.
    ///
    /// # Errors
    /// A store error.
    pub async fn load(state: &WebState) -> WebResult<FlexQueueView> {
        let engine = state.engine();
        let r = engine.redactions().await?;
        let holding = engine
            .flex_queue()
            .await?
            .into_iter()
            .map(|j| JobView::new(j, &r))
            .collect();
        let now = Timestamp::now();
        let active = engine
            .jobs(JobListParams {
                statuses: ACTIVE.to_vec(),
                job_types: vec![JobType::BatchApex],
                limit: 100,
                ..Default::default()
            })
            .await?
            .into_iter()
            .map(|j| {
                let job = JobView::new(j, &r);
                let progress = BatchProgress::of(&job, now);
                ActiveBatch { job, progress }
            })
            .collect();
        Ok(FlexQueueView { holding, active })
    }
}

/// Jobs in one status.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusCount {
    /// The status.
    #[schema(value_type = String)]
    pub status: JobStatus,
    /// How many jobs.
    pub count: u64,
}

/// Jobs of one type in one status.
#[derive(Debug, Serialize, ToSchema)]
pub struct TypeStatusCount {
    /// The job type.
    #[schema(value_type = String)]
    pub job_type: JobType,
    /// The status.
    #[schema(value_type = String)]
    pub status: JobStatus,
    /// How many.
    pub count: u64,
}

/// Completions in one minute.
#[derive(Debug, Serialize, ToSchema)]
pub struct MinuteView {
    /// The minute's start.
    #[schema(value_type = String, format = DateTime)]
    pub minute: Timestamp,
    /// Jobs that completed in it.
    pub completed: u64,
    /// Jobs that failed in it.
    pub failed: u64,
}

/// A process sharing the store.
#[derive(Debug, Serialize, ToSchema)]
pub struct NodeView {
    /// Its name (`host:pid`).
    pub name: String,
    /// When it registered.
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    /// Its last heartbeat.
    #[schema(value_type = String, format = DateTime)]
    pub heartbeat_at: Timestamp,
    /// Whether it has not stopped and heartbeated recently.
    pub alive: bool,
    /// `alive`, `stopped` (shut down cleanly) or `dead` (silent without stopping).
    pub state: &'static str,
    /// Jobs it is running.
    pub running_jobs: u64,
}

/// How long one status's finished records are kept: one period for most job types, and
/// the job types kept longer.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionView {
    /// `Completed`, `Failed` or `Aborted`.
    #[schema(value_type = String)]
    pub status: JobStatus,
    /// Seconds its records are kept after they end; `null`: forever (no cleaner).
    pub kept_seconds: Option<u64>,
    /// Job types kept longer than `kept_seconds`.
    pub longer: Vec<RetentionException>,
}

/// A job type whose finished records are kept longer than its status's period.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionException {
    /// The job type.
    #[schema(value_type = String)]
    pub job_type: JobType,
    /// Seconds its records are kept after they end.
    pub kept_seconds: u64,
}

impl RetentionView {
    /// Each terminal status's retention under `retention`: the shortest period any job type
    /// gets, then the job types kept longer.
    pub fn of(retention: &asyncapex::Retention) -> Vec<RetentionView> {
        [JobStatus::Completed, JobStatus::Failed, JobStatus::Aborted]
            .into_iter()
            .map(|status| {
                let periods: Vec<(JobType, Option<u64>)> = JobType::ALL
                    .into_iter()
                    .map(|t| (t, retention.for_job(status, t).map(|d| d.as_secs())))
                    .collect();
                let kept_seconds = periods.iter().filter_map(|(_, p)| *p).min();
                let longer = periods
                    .into_iter()
                    .filter_map(|(job_type, p)| {
                        let p = p?;
                        (Some(p) != kept_seconds).then_some(RetentionException {
                            job_type,
                            kept_seconds: p,
                        })
                    })
                    .collect();
                RetentionView {
                    status,
                    kept_seconds,
                    longer,
                }
            })
            .collect()
    }
}

/// A period as an operator reads it: `7 days`, `36 hours`, `90 minutes`, `45 seconds`.
pub fn period_text(seconds: u64) -> String {
    let (n, unit) = match seconds {
        s if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3_600 && s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The overview: counts by status, the last hour per minute, the daily cap, the nodes.
#[derive(Debug, Serialize, ToSchema)]
pub struct Overview {
    /// Jobs per status (all time), every status listed.
    pub counts: Vec<StatusCount>,
    /// Jobs per type and status (all time), non-zero only.
    pub by_type: Vec<TypeStatusCount>,
    /// Start of the last-hour window.
    #[schema(value_type = String, format = DateTime)]
    pub window_start: Timestamp,
    /// Each of the last 60 minutes, oldest first.
    pub per_minute: Vec<MinuteView>,
    /// Jobs that ended in the window after more than one attempt.
    pub rescued: u64,
    /// Async jobs submitted in the last 24 hours.
    pub daily_used: u64,
    /// The daily cap, if any.
    pub daily_limit: Option<u64>,
    /// Holding batch jobs.
    pub flex_queue_size: u64,
    /// Processes sharing the store, newest first (living ones and recently dead ones).
    pub nodes: Vec<NodeView>,
    /// How long this engine's cleaner keeps finished records.
    pub retention: Vec<RetentionView>,
}

/// The start of the minute holding `t`.
pub fn minute_floor(t: Timestamp) -> Timestamp {
    let s = t.as_second();
    Timestamp::from_second(s - s.rem_euclid(60)).unwrap_or(t)
}

impl Overview {
    /// Loads the overview.
    ///
    /// # Errors
    /// A store error.
    pub async fn load(state: &WebState) -> WebResult<Overview> {
        let engine = state.engine();
        let store = engine.store();
        let now = Timestamp::now();
        let this_minute = minute_floor(now);
        let window_start = this_minute - jiff::SignedDuration::from_mins(59);
        let by_status = store.job_count_by_status().await?;
        let stats = store
            .job_stats(asyncapex::unstable::store::JobStatsParams {
                since: window_start,
            })
            .await?;
        let counts = JobStatus::ALL
            .into_iter()
            .map(|status| StatusCount {
                status,
                count: by_status
                    .iter()
                    .find(|(s, _)| *s == status)
                    .map_or(0, |(_, n)| *n),
            })
            .collect();
        let per_minute = (0..60)
            .map(|i| {
                let minute = window_start + jiff::SignedDuration::from_mins(i);
                let found = stats
                    .per_minute
                    .iter()
                    .find(|m| minute_floor(m.minute) == minute);
                MinuteView {
                    minute,
                    completed: found.map_or(0, |m| m.completed),
                    failed: found.map_or(0, |m| m.failed),
                }
            })
            .collect();
        let daily = engine.daily_async_usage().await?;
        let nodes = store
            .node_list(asyncapex::unstable::store::NodeListParams {
                now,
                dead_after: std::time::Duration::from_secs(60),
                limit: 20,
                workers_only: true,
            })
            .await?
            .into_iter()
            .map(|n| NodeView {
                state: n.state(),
                name: n.name,
                started_at: n.started_at,
                heartbeat_at: n.heartbeat_at,
                alive: n.alive,
                running_jobs: n.running_jobs,
            })
            .collect();
        let flex_queue_size = by_status
            .iter()
            .find(|(s, _)| *s == JobStatus::Holding)
            .map_or(0, |(_, n)| *n);
        Ok(Overview {
            counts,
            by_type: stats
                .by_type_and_status
                .into_iter()
                .filter(|(_, _, n)| *n > 0)
                .map(|(job_type, status, count)| TypeStatusCount {
                    job_type,
                    status,
                    count,
                })
                .collect(),
            window_start,
            per_minute,
            rescued: stats.rescued,
            daily_used: daily.used,
            daily_limit: daily.limit,
            flex_queue_size,
            nodes,
            retention: RetentionView::of(engine.retention()),
        })
    }

    /// Jobs queued or running now.
    pub fn active(&self) -> u64 {
        self.counts
            .iter()
            .filter(|c| ACTIVE.contains(&c.status))
            .map(|c| c.count)
            .sum()
    }
}

/// Whether any job is queued or running (one cheap keyset query, no count): pages refresh
/// themselves while this holds.
///
/// # Errors
/// A store error.
pub async fn work_is_running(state: &WebState) -> WebResult<bool> {
    Ok(!state
        .engine()
        .jobs(JobListParams {
            statuses: ACTIVE.to_vec(),
            limit: 1,
            ..Default::default()
        })
        .await?
        .is_empty())
}
