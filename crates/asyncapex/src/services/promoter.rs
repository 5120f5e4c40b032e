//! The flex-queue promoter: moves holding batch jobs to `Queued` whenever fewer than the
//! active cap are queued or running (Apex's flex queue, 5 active batches).
//!
//! Batches move slowly, so it looks when a batch was submitted or ended here, when another
//! process may have changed the queue (a store notification), and at the poll interval — at
//! most every [`MIN_GAP`] unless woken by this process.

use std::sync::Arc;
use std::time::Duration;

use asyncapex_core::{BatchPromoteParams, Clock, Store};

use super::Service;
use crate::runtime::signals::{Stop, Wakers, store_notified};

/// The shortest time between two looks caused by other processes' notifications.
const MIN_GAP: Duration = Duration::from_millis(100);

/// What the promoter needs.
pub(crate) struct Promoter {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) wakers: Arc<Wakers>,
    /// Batch jobs that may be queued or running at once.
    pub(crate) max_active: u32,
    /// How often it looks without being woken.
    pub(crate) poll_interval: Duration,
}

impl Service for Promoter {
    const NAME: &'static str = "flex-queue promoter";

    async fn run(self, mut stop: Stop) {
        let mut notes = self.store.notifications();
        loop {
            if stop.is_set() {
                return;
            }
            self.promote().await;
            tokio::select! {
                _ = self.wakers.promoter.notified() => {}
                alive = store_notified(&mut notes) => {
                    if !alive {
                        notes = None;
                    }
                    // Other processes' changes can come in floods; a look per gap is enough.
                    tokio::time::sleep(MIN_GAP).await;
                }
                _ = tokio::time::sleep(self.poll_interval) => {}
                _ = stop.wait() => return,
            }
        }
    }
}

impl Promoter {
    /// One look: promotes what fits and wakes the executor when anything moved.
    pub(crate) async fn promote(&self) -> usize {
        match self
            .store
            .batch_promote(BatchPromoteParams {
                now: self.clock.now(),
                max_active: self.max_active,
            })
            .await
        {
            Ok(promoted) => {
                if !promoted.is_empty() {
                    self.wakers.work.notify_one();
                }
                promoted.len()
            }
            Err(e) => {
                tracing::warn!(error = %e, "promoting batch jobs from the flex queue failed");
                0
            }
        }
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use asyncapex_core::batch::BatchScope;
    use asyncapex_core::{JobStatus, NewJob};

    use super::Promoter;
    use crate::services::testkit::{Kit, was_woken};

    #[tokio::test]
    async fn promotes_up_to_the_active_cap_in_flex_queue_order_and_wakes_the_executor() {
        let kit = Kit::new().await;
        let now = kit.clock.now();
        let ids: Vec<_> = (0..3).map(|_| kit.ids.job_id(now)).collect();
        kit.insert(
            ids.iter()
                .map(|id| NewJob::batch(*id, "Reindex", "{}".into(), BatchScope::DEFAULT, now))
                .collect(),
        )
        .await;
        let promoter = Promoter {
            store: kit.store.clone(),
            clock: kit.clock(),
            wakers: Default::default(),
            max_active: 2,
            poll_interval: Duration::from_secs(1),
        };
        assert!(!was_woken(&promoter.wakers.work).await);
        assert_eq!(promoter.promote().await, 2);
        assert!(was_woken(&promoter.wakers.work).await);
        let status = |i: usize| {
            let store = kit.store.clone();
            let id = ids[i];
            async move { store.job_get(id).await.unwrap().unwrap().status }
        };
        assert_eq!(status(0).await, JobStatus::Queued);
        assert_eq!(status(1).await, JobStatus::Queued);
        assert_eq!(status(2).await, JobStatus::Holding);
        assert_eq!(promoter.promote().await, 0, "the cap is full");
        assert!(
            !was_woken(&promoter.wakers.work).await,
            "nothing moved, nobody woken"
        );
    }
}
