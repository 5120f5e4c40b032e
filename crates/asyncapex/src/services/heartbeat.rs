//! The heartbeat: renews the leases of this process's running jobs, records that the node is
//! alive, and relays abort requests made by other processes.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use asyncapex_core::clock::add;
use asyncapex_core::{Clock, JobHeartbeatParams, JobId, NodeHeartbeatParams, Store};

use super::Service;
use crate::runtime::running::RunningJobs;
use crate::runtime::signals::Stop;

/// What the heartbeat needs.
pub(crate) struct Heartbeat {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) running: Arc<RunningJobs>,
    /// This process's node row and lease-owner name.
    pub(crate) node_id: i64,
    pub(crate) owner: String,
    /// How often it beats.
    pub(crate) interval: Duration,
    /// How far each beat extends a lease.
    pub(crate) lease: Duration,
}

impl Service for Heartbeat {
    const NAME: &'static str = "heartbeat";

    async fn run(self, mut stop: Stop) {
        loop {
            let next = add(self.clock.now(), self.interval);
            tokio::select! {
                _ = self.clock.sleep_until(next) => {}
                _ = stop.wait() => return,
            }
            self.beat().await;
        }
    }
}

impl Heartbeat {
    /// One beat: the node, then the leases of every running job.
    pub(crate) async fn beat(&self) {
        if let Err(e) = self
            .store
            .node_heartbeat(NodeHeartbeatParams {
                id: self.node_id,
                now: self.clock.now(),
            })
            .await
        {
            tracing::warn!(error = %e, "node heartbeat failed");
        }
        let ids = self.running.ids();
        if ids.is_empty() {
            return;
        }
        let params = JobHeartbeatParams {
            owner: self.owner.clone(),
            ids: ids.clone(),
            lease_until: add(self.clock.now(), self.lease),
        };
        match self.store.job_heartbeat(params).await {
            Ok(acks) => {
                let held: HashSet<JobId> = acks.iter().map(|a| a.id).collect();
                for ack in acks.iter().filter(|a| a.abort_requested) {
                    self.running.request_abort(ack.id);
                }
                let running = self.running.lock();
                for lost in ids.iter().filter(|id| !held.contains(id)) {
                    if running.contains_key(lost) {
                        tracing::warn!(job = %lost, "lost the lease of a running job (rescued elsewhere or already ended); its result will be discarded");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "heartbeat failed; leases may expire"),
        }
    }
}
