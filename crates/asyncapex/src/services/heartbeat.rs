//! The heartbeat: renews the leases of this process's running jobs, records that the node is
//! alive, and relays abort requests made by other processes.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use asyncapex_core::clock::add;
use asyncapex_core::{Clock, JobHeartbeatParams, JobId, NodeHeartbeatParams, Store};

use super::Service;
use crate::runtime::running::RunningJobs;
use crate::runtime::signals::{Shutdown, Stop};

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
    /// Stopped through it when the store is gone for good.
    pub(crate) shutdown: Arc<Shutdown>,
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
            if self.shutdown.fail_if_fatal(&e) {
                return;
            }
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

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Arc;
    use std::time::Duration;

    use asyncapex_core::{JobAbortParams, JobRescueParams};

    use super::Heartbeat;
    use crate::runtime::context::ExecShared;
    use crate::runtime::running::Running;
    use crate::services::testkit::Kit;

    #[tokio::test]
    async fn extends_running_leases_and_relays_abort_requests() {
        let kit = Kit::new().await;
        let id = kit.queued().await;
        assert_eq!(kit.claim("me", Duration::from_secs(30)).await, vec![id]);
        let shared = Arc::new(ExecShared::default());
        let heartbeat = Heartbeat {
            store: kit.store.clone(),
            clock: kit.clock(),
            running: Default::default(),
            node_id: 1,
            owner: "me".into(),
            interval: Duration::from_secs(10),
            lease: Duration::from_secs(30),
            shutdown: Default::default(),
        };
        heartbeat.running.lock().insert(
            id,
            Running {
                shared: shared.clone(),
                task: None,
                queue: 0,
            },
        );
        kit.clock.advance(Duration::from_secs(20));
        heartbeat.beat().await;
        kit.clock.advance(Duration::from_secs(20));
        // 40 s after the claim: only the beat at 20 s keeps the 30 s lease alive.
        let rescued = kit
            .store
            .job_rescue(JobRescueParams {
                now: kit.clock.now(),
                exclude_owner: None,
            })
            .await
            .unwrap();
        assert!(rescued.requeued.is_empty(), "the beat extended the lease");
        kit.store
            .job_abort(JobAbortParams {
                id,
                now: kit.clock.now(),
            })
            .await
            .unwrap();
        assert!(!shared.is_abort_requested());
        heartbeat.beat().await;
        assert!(
            shared.is_abort_requested(),
            "the beat relays another process's abort"
        );
    }
}
