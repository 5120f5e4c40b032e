//! Background services that keep leases honest: the heartbeat and the rescuer.
//!
//! Both wait on the engine's [`Clock`](asyncapex_core::Clock), so a test with a manual clock
//! drives them by moving time.

use std::collections::HashSet;
use std::sync::Arc;

use asyncapex_core::clock::add;
use asyncapex_core::{JobHeartbeatParams, JobId, JobRescueParams, JobStatus, NodeHeartbeatParams};

use crate::engine::EngineInner;

/// Renews the leases of this process's running jobs and relays abort requests made by other
/// processes.
pub(crate) async fn heartbeat(engine: Arc<EngineInner>) {
    let mut shutdown = engine.shutdown.subscribe();
    loop {
        let next = add(engine.clock.now(), engine.config.heartbeat_interval);
        tokio::select! {
            _ = engine.clock.sleep_until(next) => {}
            _ = shutdown.changed() => return,
        }
        if let Err(e) = engine
            .store
            .node_heartbeat(NodeHeartbeatParams {
                id: engine.node_id,
                now: engine.clock.now(),
            })
            .await
        {
            tracing::warn!(error = %e, "node heartbeat failed");
        }
        let ids: Vec<JobId> = engine.lock_running().keys().copied().collect();
        if ids.is_empty() {
            continue;
        }
        let params = JobHeartbeatParams {
            owner: engine.owner.clone(),
            ids: ids.clone(),
            lease_until: add(engine.clock.now(), engine.config.lease_duration),
        };
        match engine.store.job_heartbeat(params).await {
            Ok(acks) => {
                let held: HashSet<JobId> = acks.iter().map(|a| a.id).collect();
                let running = engine.lock_running();
                for ack in acks.iter().filter(|a| a.abort_requested) {
                    if let Some(r) = running.get(&ack.id) {
                        r.shared.request_abort();
                    }
                }
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

/// Requeues (or fails) jobs whose worker stopped heartbeating: a crashed process's jobs.
pub(crate) async fn rescuer(engine: Arc<EngineInner>) {
    let mut shutdown = engine.shutdown.subscribe();
    loop {
        let params = JobRescueParams {
            now: engine.clock.now(),
            exclude_owner: Some(engine.owner.clone()),
        };
        match engine.store.job_rescue(params).await {
            Ok(out) => {
                if !out.requeued.is_empty() {
                    tracing::info!(jobs = ?out.requeued, "rescued jobs whose lease expired");
                    engine.wake.notify_one();
                }
                for id in &out.failed {
                    tracing::warn!(job = %id, "failed a job whose lease expired on its last attempt");
                    engine.announce(*id, JobStatus::Failed);
                }
                for id in &out.aborted {
                    engine.announce(*id, JobStatus::Aborted);
                }
            }
            Err(e) => tracing::warn!(error = %e, "rescue failed"),
        }
        let next = add(engine.clock.now(), engine.config.rescue_interval);
        tokio::select! {
            _ = engine.clock.sleep_until(next) => {}
            _ = shutdown.changed() => return,
        }
    }
}
