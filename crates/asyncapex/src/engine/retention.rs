//! Purging finished job records on demand (Apex's `System.purgeOldAsyncJobs`).

use asyncapex_core::{Error, JobPurgeParams, JobStatus, JobType};
use jiff::Timestamp;

use super::Engine;
use crate::services::cleaner::purge_all;

/// Records deleted per store call by an on-demand purge.
const PURGE_BATCH: u32 = 10_000;

/// Which finished records a purge deletes.
///
/// ```
/// use asyncapex::{JobStatus, PurgeFilter};
/// let cut = jiff::Timestamp::from_second(1_800_000_000).unwrap();
/// let failures = PurgeFilter::before(cut).statuses(vec![JobStatus::Failed]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeFilter {
    before: Timestamp,
    statuses: Vec<JobStatus>,
    job_types: Option<Vec<JobType>>,
}

impl PurgeFilter {
    /// Every finished record (Completed, Failed, Aborted) that ended before `cut`.
    pub fn before(cut: Timestamp) -> PurgeFilter {
        PurgeFilter {
            before: cut,
            statuses: vec![JobStatus::Completed, JobStatus::Failed, JobStatus::Aborted],
            job_types: None,
        }
    }

    /// Only these statuses (each must be terminal).
    pub fn statuses(mut self, statuses: Vec<JobStatus>) -> PurgeFilter {
        self.statuses = statuses;
        self
    }

    /// Only these job types.
    pub fn job_types(mut self, job_types: Vec<JobType>) -> PurgeFilter {
        self.job_types = Some(job_types);
        self
    }

    fn params(&self) -> JobPurgeParams {
        JobPurgeParams {
            before: self.before,
            statuses: self.statuses.clone(),
            job_types: self.job_types.clone(),
            limit: PURGE_BATCH,
        }
    }
}

impl Engine {
    /// Deletes every finished job record (Completed, Failed, Aborted) that ended before
    /// `before`, with its batch chunks and error events; returns how many job records it
    /// deleted (Apex's `System.purgeOldAsyncJobs(Date)`). Waiting and running jobs and
    /// schedules are never touched. Runs in batches of 10,000 records, so other work reaches
    /// the store in between.
    ///
    /// # Errors
    /// A store error (what was deleted before it stays deleted).
    pub async fn purge_old_async_jobs(&self, before: Timestamp) -> Result<u64, Error> {
        self.purge(&PurgeFilter::before(before), |_| {}).await
    }

    /// Deletes the finished records `filter` selects, calling `on_batch` with each batch's
    /// count (for a progress bar); returns the total.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a status that is not terminal; a store error.
    pub async fn purge(
        &self,
        filter: &PurgeFilter,
        on_batch: impl FnMut(u64),
    ) -> Result<u64, Error> {
        purge_all(
            self.rt.store.as_ref(),
            &filter.params(),
            &self.rt.shutdown.stop(),
            on_batch,
        )
        .await
    }

    /// How many records [`purge`](Self::purge) would delete now (a dry run).
    ///
    /// # Errors
    /// As [`purge`](Self::purge).
    pub async fn purge_count(&self, filter: &PurgeFilter) -> Result<u64, Error> {
        self.rt.store.job_purge_count(filter.params()).await
    }

    /// The retention in force for this engine's cleaner.
    pub fn retention(&self) -> &crate::runtime::retention::Retention {
        &self.rt.config.retention
    }
}
