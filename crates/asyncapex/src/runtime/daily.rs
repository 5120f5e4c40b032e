//! The store-wide rolling 24-hour cap on async executions (Apex's daily async limit).

use std::sync::Mutex;
use std::time::Duration;

use asyncapex_core::clock::sub;
use asyncapex_core::store::JobCountCreatedSinceParams;
use asyncapex_core::{Error, JobType, NewJob, Store};
use jiff::Timestamp;

/// Job types that count toward the daily cap (finalizers are free, as in Apex).
pub(crate) const COUNTED_TYPES: [JobType; 4] = [
    JobType::Queueable,
    JobType::Future,
    JobType::BatchApex,
    JobType::ScheduledApex,
];

const WINDOW: Duration = Duration::from_secs(24 * 3600);
/// How stale the cached count may get before an enqueue re-reads it from the store.
const REFRESH_AFTER: Duration = Duration::from_secs(1);

/// The rolling 24-hour cap on async jobs submitted to one store.
///
/// Counting every enqueue against the store would cost a query per enqueue, so the count is
/// cached: re-read from the store when older than a second (by the engine clock), and
/// incremented locally for this process's own inserts in between. Across processes the cap
/// is therefore approximate by at most one second of other processes' enqueues.
#[derive(Debug)]
pub(crate) struct DailyCap {
    limit: Option<u64>,
    cached: Mutex<Option<(u64, Timestamp)>>,
}

/// Current use of the daily cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyUsage {
    /// Async jobs submitted to this store in the last 24 hours.
    pub used: u64,
    /// The cap, if any.
    pub limit: Option<u64>,
}

/// Async jobs submitted to `store` in the 24 hours before `now`, against `limit`: what the
/// CLI's `asyncapex limits` shows without starting an engine.
///
/// # Errors
/// A store error.
pub async fn daily_async_usage(
    store: &dyn Store,
    now: Timestamp,
    limit: Option<u64>,
) -> Result<DailyUsage, Error> {
    DailyCap::new(limit).usage(store, now).await
}

pub(crate) fn counted(jobs: &[NewJob]) -> u64 {
    jobs.iter()
        .filter(|j| COUNTED_TYPES.contains(&j.job_type))
        .count() as u64
}

impl DailyCap {
    pub(crate) fn new(limit: Option<u64>) -> DailyCap {
        DailyCap {
            limit,
            cached: Mutex::new(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(u64, Timestamp)>> {
        self.cached.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Re-reads the count from the store.
    pub(crate) async fn refresh(&self, store: &dyn Store, now: Timestamp) -> Result<u64, Error> {
        let used = store
            .job_count_created_since(JobCountCreatedSinceParams {
                since: sub(now, WINDOW),
                job_types: COUNTED_TYPES.to_vec(),
            })
            .await?;
        *self.lock() = Some((used, now));
        Ok(used)
    }

    pub(crate) async fn usage(
        &self,
        store: &dyn Store,
        now: Timestamp,
    ) -> Result<DailyUsage, Error> {
        Ok(DailyUsage {
            used: self.refresh(store, now).await?,
            limit: self.limit,
        })
    }

    /// Refuses `adding` more jobs if they would pass the cap; refreshes a stale count first.
    pub(crate) async fn check(
        &self,
        store: &dyn Store,
        now: Timestamp,
        adding: u64,
    ) -> Result<(), Error> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        if adding == 0 {
            return Ok(());
        }
        let used = self.refresh_if_stale(store, now).await?;
        self.check_cached(used, adding, limit)
    }

    /// The count, re-read from the store when the cached one is older than a second. The
    /// executor calls this before each claim so checks inside running jobs stay fresh.
    pub(crate) async fn refresh_if_stale(
        &self,
        store: &dyn Store,
        now: Timestamp,
    ) -> Result<u64, Error> {
        if self.limit.is_none() {
            return Ok(0);
        }
        let cached = *self.lock();
        match cached {
            Some((used, at))
                if asyncapex_core::clock::duration_between(at, now) < REFRESH_AFTER =>
            {
                Ok(used)
            }
            _ => self.refresh(store, now).await,
        }
    }

    /// The same check against the cached count only: for enqueues inside a running job,
    /// which cannot wait for the store.
    pub(crate) fn check_now(&self, adding: u64) -> Result<(), Error> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let used = self.lock().map_or(0, |(used, _)| used);
        self.check_cached(used, adding, limit)
    }

    fn check_cached(&self, used: u64, adding: u64, limit: u64) -> Result<(), Error> {
        if used.saturating_add(adding) > limit {
            return Err(Error::LimitExceeded {
                limit: asyncapex_core::LimitName::DailyAsyncExecutions,
                used: used.saturating_add(adding),
                max: limit,
                message: format!(
                    "daily async execution limit exceeded: {used} async jobs were submitted to this store in the last 24 hours and the limit is {limit}"
                ),
            });
        }
        Ok(())
    }

    /// Counts jobs this process just inserted.
    pub(crate) fn record(&self, inserted: u64) {
        if let Some((used, _)) = self.lock().as_mut() {
            *used = used.saturating_add(inserted);
        }
    }
}
