//! The cleaner: deletes finished job records older than their retention period, with their
//! batch chunks and error events, in bounded batches (invariant 7, bounded growth).
//!
//! Each store call deletes at most [`Cleaner::batch`] records, and the cleaner yields between
//! calls, so an enqueue never waits long behind it. On PostgreSQL every node's cleaner may
//! run at once: rows another purge holds are skipped, so no record is deleted twice and the
//! work spreads over whoever gets there first.

use std::sync::Arc;
use std::time::Duration;

use asyncapex_core::clock::{add, sub};
use asyncapex_core::{Clock, Error, JobPurgeParams, Store};

use super::Service;
use crate::runtime::retention::Retention;
use crate::runtime::signals::Stop;

/// What the cleaner needs.
pub(crate) struct Cleaner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) retention: Retention,
    /// How often it looks (by the engine clock).
    pub(crate) interval: Duration,
    /// The most records one store call deletes.
    pub(crate) batch: u32,
}

impl Service for Cleaner {
    const NAME: &'static str = "cleaner";

    async fn run(self, mut stop: Stop) {
        loop {
            // The next pass is due an interval after this one *started*: a clock that jumps
            // while a pass runs (a test's manual clock) then gets its pass at once.
            let started = self.clock.now();
            match self.clean(&stop).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    deleted = n,
                    "cleaner deleted finished job records past their retention"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "cleaning finished job records failed; retrying at the next pass")
                }
            }
            let next = add(started, self.interval);
            tokio::select! {
                _ = self.clock.sleep_until(next) => {}
                _ = stop.wait() => return,
            }
        }
    }
}

impl Cleaner {
    /// One pass: every retention group, in bounded batches, until nothing is past its cut
    /// (or the engine stops). Returns how many records it deleted.
    pub(crate) async fn clean(&self, stop: &Stop) -> Result<u64, Error> {
        let now = self.clock.now();
        let mut deleted = 0;
        for (status, job_types, period) in self.retention.groups() {
            let params = JobPurgeParams {
                before: sub(now, period),
                statuses: vec![status],
                job_types: Some(job_types),
                limit: self.batch,
            };
            deleted += purge_all(self.store.as_ref(), &params, stop, |_| {}).await?;
        }
        Ok(deleted)
    }
}

/// Calls `job_purge` until a call deletes less than its limit, reporting each batch; stops
/// early when `stop` is set. Returns how many records it deleted.
pub(crate) async fn purge_all(
    store: &dyn Store,
    params: &JobPurgeParams,
    stop: &Stop,
    mut on_batch: impl FnMut(u64),
) -> Result<u64, Error> {
    let mut deleted = 0;
    loop {
        let n = store.job_purge(params.clone()).await?;
        deleted += n;
        on_batch(n);
        if n < u64::from(params.limit) || stop.is_set() {
            return Ok(deleted);
        }
        // Let other work reach the store between batches.
        tokio::task::yield_now().await;
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use asyncapex_core::{JobFinishParams, JobOutcome, JobStatus};

    use super::Cleaner;
    use crate::runtime::retention::Retention;
    use crate::runtime::signals::Shutdown;
    use crate::services::testkit::Kit;

    const DAY: Duration = Duration::from_secs(86_400);

    async fn ended(kit: &Kit, outcome: JobOutcome) -> asyncapex_core::JobId {
        let id = kit.queued().await;
        assert_eq!(kit.claim("w", Duration::from_secs(30)).await, vec![id]);
        assert!(
            kit.store
                .job_finish(JobFinishParams {
                    id,
                    owner: "w".into(),
                    now: kit.clock.now(),
                    outcome,
                    insert: Vec::new(),
                    max_holding: 100,
                })
                .await
                .unwrap()
        );
        id
    }

    #[tokio::test]
    async fn deletes_past_retention_in_batches_and_keeps_failures_longer() {
        let kit = Kit::new().await;
        let mut completed = Vec::new();
        for _ in 0..5 {
            completed.push(ended(&kit, JobOutcome::Completed).await);
        }
        let failed = ended(
            &kit,
            JobOutcome::Failed {
                message: "x".into(),
            },
        )
        .await;
        let cleaner = Cleaner {
            store: kit.store.clone(),
            clock: kit.clock(),
            retention: Retention::default().keep_status(JobStatus::Failed, 30 * DAY),
            interval: Duration::from_secs(60),
            batch: 2,
        };
        let stop = Shutdown::default().stop();
        kit.clock.advance(7 * DAY);
        assert_eq!(
            cleaner.clean(&stop).await.unwrap(),
            0,
            "exactly 7 days old: kept"
        );
        kit.clock.advance(Duration::from_secs(1));
        assert_eq!(
            cleaner.clean(&stop).await.unwrap(),
            5,
            "three batches of at most 2"
        );
        for id in completed {
            assert!(kit.store.job_get(id).await.unwrap().is_none());
        }
        assert!(
            kit.store.job_get(failed).await.unwrap().is_some(),
            "failures kept 30 days"
        );
        kit.clock.advance(23 * DAY);
        assert_eq!(cleaner.clean(&stop).await.unwrap(), 1);
    }
}
