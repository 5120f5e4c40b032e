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
