//! What an operator does to finished and failed work: retry a job, delete a record, and the
//! same over every job a filter matches, in bounded batches.

use asyncapex_core::{
    AbortOutcome, AttemptRecord, Error, JobId, JobListParams, JobRecord, JobStatus, NewJob,
};

use super::Engine;

/// The most jobs one step of a bulk action reads and changes: one page of the filter, one
/// store call for a delete or a retry (an abort is one call per job). Small enough that a
/// step holds the SQLite write lock for a few milliseconds, so other work runs between steps
/// (BENCHMARKS.md: retrying 100,000 jobs, unrelated jobs started within 19 ms at p99 with
/// steps of 100, 44 ms with 500).
pub const BULK_BATCH: u32 = 100;

/// What a bulk action does to each job its filter matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BulkAction {
    /// `abort_job` each unfinished one; finished ones are skipped.
    Abort,
    /// `retry_job` each Failed or Aborted one; others are skipped.
    Retry,
    /// `delete_job` each finished one; unfinished ones are skipped.
    Delete,
}

impl BulkAction {
    /// `abort`, `retry` or `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::Abort => "abort",
            BulkAction::Retry => "retry",
            BulkAction::Delete => "delete",
        }
    }

    /// Whether the action applies to a job of this status (the others are skipped).
    pub fn applies_to(self, status: JobStatus) -> bool {
        match self {
            BulkAction::Abort => !status.is_terminal(),
            BulkAction::Retry => matches!(status, JobStatus::Failed | JobStatus::Aborted),
            BulkAction::Delete => status.is_terminal(),
        }
    }
}

impl std::str::FromStr for BulkAction {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "abort" => Ok(BulkAction::Abort),
            "retry" => Ok(BulkAction::Retry),
            "delete" => Ok(BulkAction::Delete),
            _ => Err(Error::InvalidInput {
                what: "bulk action",
                input: s.chars().take(40).collect(),
                rule: "expected abort, retry or delete",
            }),
        }
    }
}

/// What a bulk action did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BulkReport {
    /// Jobs the filter matched.
    pub matched: u64,
    /// Jobs the action changed (aborted, retried, deleted).
    pub done: u64,
    /// Matched jobs the action does not apply to (an abort of a finished job, a retry of a
    /// completed one), or that changed under it.
    pub skipped: u64,
    /// For a retry: the new jobs' IDs, in the order of their originals (newest first).
    pub retries: Vec<JobId>,
}

impl Engine {
    /// Retries a Failed or Aborted job: a new record of the same class, method, payload and
    /// scope, linked to the original (`retry_of`; the original's detail lists its retries),
    /// under the same limits as a new enqueue (the daily cap, the flex queue's size for a
    /// batch, which re-runs whole from `start`). Returns the new job's ID.
    ///
    /// Apex has no retry; every peer job system does. Nothing retries on its own: an
    /// operator (dashboard, CLI, API) or your code asks.
    ///
    /// # Errors
    /// [`Error::UnknownJob`]; [`Error::WrongStatus`] unless it is Failed or Aborted;
    /// [`Error::NotAllowed`] for a finalizer's record; [`Error::LimitExceeded`];
    /// [`Error::DuplicateSignature`] when the original still held a signature another
    /// waiting job has.
    pub async fn retry_job(&self, id: JobId) -> Result<JobId, Error> {
        let original = self
            .rt
            .store
            .job_get(id)
            .await?
            .ok_or_else(|| Error::UnknownJob { id: id.to_string() })?;
        let mut ids = self.retry_records(&[original]).await?;
        ids.pop()
            .ok_or_else(|| Error::UnknownJob { id: id.to_string() })
    }

    /// Inserts one retry per record, in one store call; every record must be retryable.
    async fn retry_records(&self, originals: &[JobRecord]) -> Result<Vec<JobId>, Error> {
        let now = self.rt.clock.now();
        let jobs = originals
            .iter()
            .map(|o| NewJob::retry(self.rt.ids.job_id(now), o, now))
            .collect::<Result<Vec<NewJob>, Error>>()?;
        let ids = jobs.iter().map(|j| j.id).collect();
        self.rt
            .daily
            .check(self.rt.store.as_ref(), now, jobs.len() as u64)
            .await?;
        self.rt.insert(jobs).await?;
        Ok(ids)
    }

    /// The payload fields operator views redact, by class: what every engine on this store
    /// recorded for the classes it registers (their `SENSITIVE_FIELDS`). Apply with
    /// [`Redactions::redact`](asyncapex_core::Redactions::redact).
    ///
    /// # Errors
    /// A store error.
    pub async fn redactions(&self) -> Result<asyncapex_core::Redactions, Error> {
        let mut r = self.rt.store.sensitive_fields_list().await?;
        for (class, fields) in self.rt.registry.sensitive() {
            r.insert(&class, fields);
        }
        Ok(r)
    }

    /// A job's attempts, oldest first: each claim's start, end, runner (`host:pid#node`),
    /// how it ended and why (a panic's message names where it happened). Attempts that did
    /// not complete the job are recorded as they end; the last one comes from the record.
    ///
    /// # Errors
    /// [`Error::UnknownJob`]; a store error.
    pub async fn job_attempts(&self, id: JobId) -> Result<Vec<AttemptRecord>, Error> {
        let job = self
            .rt
            .store
            .job_get(id)
            .await?
            .ok_or_else(|| Error::UnknownJob { id: id.to_string() })?;
        let recorded = self.rt.store.job_attempts(id).await?;
        Ok(job.attempts(recorded))
    }

    /// Deletes a finished job's record with its batch chunks and error events (the record
    /// of one job, as `purge_old_async_jobs` deletes old ones).
    ///
    /// # Errors
    /// [`Error::UnknownJob`]; [`Error::WrongStatus`] for a job that has not finished (abort
    /// it first).
    pub async fn delete_job(&self, id: JobId) -> Result<(), Error> {
        let job = self
            .rt
            .store
            .job_get(id)
            .await?
            .ok_or_else(|| Error::UnknownJob { id: id.to_string() })?;
        asyncapex_core::rules::check_deletable(&job)?;
        self.rt.store.job_delete(vec![id]).await?;
        Ok(())
    }

    /// How many jobs `filter` matches, counting at most `cap` (what a bulk action's
    /// confirmation shows: "12,345 jobs", or "more than 100,000").
    ///
    /// # Errors
    /// A store error.
    pub async fn count_jobs(&self, filter: &JobListParams, cap: u32) -> Result<u64, Error> {
        let mut params = filter.clone();
        params.limit = cap;
        self.rt.store.job_count(params).await
    }

    /// What a bulk action over `filter` would touch, each counted up to `cap`: the jobs it
    /// matches, and those the action applies to (its statuses narrowed to the ones the
    /// action takes) — the confirmation's two numbers.
    ///
    /// # Errors
    /// A store error.
    pub async fn count_bulk(
        &self,
        action: BulkAction,
        filter: &JobListParams,
        cap: u32,
    ) -> Result<(u64, u64), Error> {
        let matched = self.count_jobs(filter, cap).await?;
        let mut applicable = filter.clone();
        if applicable.statuses.is_empty() {
            applicable.statuses = JobStatus::ALL.to_vec();
        }
        applicable.statuses.retain(|s| action.applies_to(*s));
        let applicable = if applicable.statuses.is_empty() {
            0
        } else {
            self.count_jobs(&applicable, cap).await?
        };
        Ok((matched, applicable))
    }

    /// Applies `action` to every job `filter` matches (its `limit` is ignored), newest first,
    /// [`BULK_BATCH`] jobs per step, calling `on_step` with the report so far after each
    /// step (a progress bar). Jobs created while it runs (the retries themselves) are not
    /// visited: the walk goes down from the newest job there was when it started.
    ///
    /// # Errors
    /// A store error or, for a retry, a limit (the daily cap, a full flex queue): the report
    /// of the steps done so far is lost with it, but what they did stays done.
    pub async fn bulk_jobs(
        &self,
        action: BulkAction,
        filter: &JobListParams,
        mut on_step: impl FnMut(&BulkReport),
    ) -> Result<BulkReport, Error> {
        let mut report = BulkReport::default();
        let mut params = filter.clone();
        params.limit = BULK_BATCH;
        loop {
            let page = self.rt.store.job_list(params.clone()).await?;
            let Some(last) = page.last().map(|j| j.id) else {
                return Ok(report);
            };
            self.apply(action, page, &mut report).await?;
            on_step(&report);
            params.before = Some(last);
            // Let other work reach the store between steps.
            tokio::task::yield_now().await;
        }
    }

    /// Applies `action` to the jobs of one step (the ones it applies to), adding to `report`.
    async fn apply(
        &self,
        action: BulkAction,
        page: Vec<JobRecord>,
        report: &mut BulkReport,
    ) -> Result<(), Error> {
        report.matched += page.len() as u64;
        let (todo, skip): (Vec<JobRecord>, Vec<JobRecord>) =
            page.into_iter().partition(|j| action.applies_to(j.status));
        report.skipped += skip.len() as u64;
        match action {
            BulkAction::Delete => {
                let ids: Vec<JobId> = todo.iter().map(|j| j.id).collect();
                let deleted = self.rt.store.job_delete(ids).await?;
                report.done += deleted;
                report.skipped += todo.len() as u64 - deleted.min(todo.len() as u64);
            }
            BulkAction::Retry => {
                // A finalizer's record is never retried (its job is); skip it rather than
                // fail the whole step.
                let (todo, finalizers): (Vec<JobRecord>, Vec<JobRecord>) = todo
                    .into_iter()
                    .partition(|j| asyncapex_core::rules::check_retryable(j).is_ok());
                report.skipped += finalizers.len() as u64;
                let ids = self.retry_records(&todo).await?;
                report.done += ids.len() as u64;
                report.retries.extend(ids);
            }
            BulkAction::Abort => {
                for job in &todo {
                    match self.abort_job(job.id).await {
                        Ok(AbortOutcome::Aborted | AbortOutcome::AbortRequested) => {
                            report.done += 1;
                        }
                        Ok(_) | Err(Error::UnknownJob { .. }) => report.skipped += 1,
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(())
    }

    /// Applies `action` to the listed jobs (a selection), [`BULK_BATCH`] per step; unknown
    /// IDs count as skipped.
    ///
    /// # Errors
    /// As [`Engine::bulk_jobs`].
    pub async fn bulk_job_ids(
        &self,
        action: BulkAction,
        ids: &[JobId],
    ) -> Result<BulkReport, Error> {
        let mut report = BulkReport::default();
        for step in ids.chunks(BULK_BATCH as usize) {
            let mut records = Vec::with_capacity(step.len());
            for id in step {
                match self.rt.store.job_get(*id).await? {
                    Some(r) => records.push(r),
                    None => report.skipped += 1,
                }
            }
            self.apply(action, records, &mut report).await?;
        }
        Ok(report)
    }
}
