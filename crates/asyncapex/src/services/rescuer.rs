//! The rescuer: requeues (or fails) jobs whose worker stopped heartbeating — a crashed
//! process's jobs.

use std::sync::Arc;
use std::time::Duration;

use asyncapex_core::clock::add;
use asyncapex_core::{Clock, JobRescueParams, JobStatus, RescueOutcome, Store};

use super::Service;
use crate::runtime::signals::{Events, Stop, Wakers};

/// What the rescuer needs.
pub(crate) struct Rescuer {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) wakers: Arc<Wakers>,
    pub(crate) events: Arc<Events>,
    /// This process's lease-owner name: its own leases are the heartbeat's business.
    pub(crate) owner: String,
    /// How often it looks.
    pub(crate) interval: Duration,
}

impl Service for Rescuer {
    const NAME: &'static str = "rescuer";

    async fn run(self, mut stop: Stop) {
        loop {
            self.rescue().await;
            let next = add(self.clock.now(), self.interval);
            tokio::select! {
                _ = self.clock.sleep_until(next) => {}
                _ = stop.wait() => return,
            }
        }
    }
}

impl Rescuer {
    /// One pass over expired leases.
    pub(crate) async fn rescue(&self) -> Option<RescueOutcome> {
        let params = JobRescueParams {
            now: self.clock.now(),
            exclude_owner: Some(self.owner.clone()),
        };
        match self.store.job_rescue(params).await {
            Ok(out) => {
                if !out.requeued.is_empty() {
                    tracing::info!(jobs = ?out.requeued, "rescued jobs whose lease expired");
                    self.wakers.work.notify_one();
                }
                for id in &out.failed {
                    tracing::warn!(job = %id, "failed a job whose lease expired on its last attempt");
                    self.events.announce(*id, JobStatus::Failed);
                }
                for id in &out.aborted {
                    self.events.announce(*id, JobStatus::Aborted);
                }
                Some(out)
            }
            Err(e) => {
                tracing::warn!(error = %e, "rescue failed");
                None
            }
        }
    }
}
