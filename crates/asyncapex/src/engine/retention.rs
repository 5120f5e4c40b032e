//! Purging finished job records on demand (Apex's `System.purgeOldAsyncJobs`).

use asyncapex_core::{Error, JobPurgeParams, JobStatus, JobType, Store};
use jiff::Timestamp;

use super::Engine;
use crate::services::cleaner::purge_all;

/// Records deleted per store call by an on-demand purge unless
/// [`PurgeFilter::batch_size`] says otherwise: on SQLite a few milliseconds of the write
/// lock, so enqueues and claims meanwhile wait that long at most (BENCHMARKS.md, scale).
pub const PURGE_BATCH: u32 = 500;

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
    batch: u32,
}

impl PurgeFilter {
    /// Every finished record (Completed, Failed, Aborted) that ended before `cut`.
    pub fn before(cut: Timestamp) -> PurgeFilter {
        PurgeFilter {
            before: cut,
            statuses: vec![JobStatus::Completed, JobStatus::Failed, JobStatus::Aborted],
            job_types: None,
            batch: PURGE_BATCH,
        }
    }

    /// Records deleted per store call (default [`PURGE_BATCH`]; at least 1). Larger batches
    /// delete faster and hold the store longer each time; a purge yields between them.
    pub fn batch_size(mut self, records: u32) -> PurgeFilter {
        self.batch = records.max(1);
        self
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

    /// Reads a purge's cut as operators write it: an instant (`2026-11-25T08:00:00Z`), a
    /// date (`2026-11-25`, midnight UTC), or an age before `now` (`7d`, `36h`, `90m`; any
    /// [`jiff::Span`] a friendly or ISO 8601 duration spells). The CLI's `jobs purge --before`
    /// and the API's purge take this.
    ///
    /// ```
    /// use asyncapex::PurgeFilter;
    /// let now: jiff::Timestamp = "2026-12-02T12:00:00Z".parse().unwrap();
    /// assert_eq!(PurgeFilter::cut("7d", now).unwrap().to_string(), "2026-11-25T12:00:00Z");
    /// assert_eq!(PurgeFilter::cut("2026-11-25", now).unwrap().to_string(), "2026-11-25T00:00:00Z");
    /// assert!(PurgeFilter::cut("last week", now).is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for text that is none of the three, a negative age, or a cut
    /// outside the range of instants.
    pub fn cut(text: &str, now: Timestamp) -> Result<Timestamp, Error> {
        let text = text.trim();
        let invalid = |rule| Error::InvalidInput {
            what: "purge cut",
            input: text.chars().take(80).collect(),
            rule,
        };
        if let Ok(at) = text.parse::<Timestamp>() {
            return Ok(at);
        }
        if let Ok(date) = text.parse::<jiff::civil::Date>() {
            return date
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .map(|z| z.timestamp())
                .map_err(|_| invalid("the date's midnight is not a representable instant"));
        }
        let age: jiff::Span = text.parse().map_err(|_| {
            invalid(
                "expected an instant (2026-11-25T08:00:00Z), a date (2026-11-25) or an age (7d, 36h, 90m)",
            )
        })?;
        if age.is_negative() {
            return Err(invalid("an age is not negative"));
        }
        now.to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .checked_sub(age)
            .map(|z| z.timestamp())
            .map_err(|_| invalid("the age reaches before the earliest representable instant"))
    }

    /// The cut: records that ended strictly before it are purged.
    pub fn cut_instant(&self) -> Timestamp {
        self.before
    }

    /// Runs this purge on a store without an engine (the CLI's `jobs purge`), in batches,
    /// calling `on_batch` with each batch's count; returns the total.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a status that is not terminal; a store error (what was
    /// deleted before it stays deleted).
    pub async fn run_on(&self, store: &dyn Store, on_batch: impl FnMut(u64)) -> Result<u64, Error> {
        purge_all(store, &self.params(), || false, on_batch).await
    }

    /// How many records this purge would delete now (a dry run).
    ///
    /// # Errors
    /// As [`run_on`](Self::run_on).
    pub async fn count_on(&self, store: &dyn Store) -> Result<u64, Error> {
        store.job_purge_count(self.params()).await
    }

    fn params(&self) -> JobPurgeParams {
        JobPurgeParams {
            before: self.before,
            statuses: self.statuses.clone(),
            job_types: self.job_types.clone(),
            limit: self.batch,
            ended_from: None,
        }
    }
}

impl Engine {
    /// Deletes every finished job record (Completed, Failed, Aborted) that ended before
    /// `before`, with its batch chunks and error events; returns how many job records it
    /// deleted (Apex's `System.purgeOldAsyncJobs(Date)`). Waiting and running jobs and
    /// schedules are never touched. Runs in batches of [`PURGE_BATCH`] records, so other work
    /// reaches the store in between.
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
        let stop = self.rt.shutdown.stop();
        purge_all(
            self.rt.store.as_ref(),
            &filter.params(),
            || stop.is_set(),
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
