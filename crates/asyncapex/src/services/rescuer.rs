//! The rescuer: requeues (or fails) jobs whose worker stopped heartbeating — a crashed
//! process's jobs.

use std::sync::Arc;
use std::time::Duration;

use asyncapex_core::clock::add;
use asyncapex_core::{
    Clock, IdGenerator, JobOutcome, JobRescueParams, JobStatus, RescueOutcome, Store,
};

use jiff::Timestamp;
use tracing::Instrument;

use super::Service;
use crate::kinds::finalizer::finalizer_run;
use crate::runtime::signals::{Events, LifecycleStep, Stop, Wakers};

/// What the rescuer needs.
pub(crate) struct Rescuer {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) wakers: Arc<Wakers>,
    pub(crate) events: Arc<Events>,
    /// Mints the IDs of stranded finalizers' runs.
    pub(crate) ids: Arc<IdGenerator>,
    /// Claims allowed to a finalizer's run.
    pub(crate) max_attempts: u32,
    /// This process's lease-owner name: its own leases are the heartbeat's business.
    pub(crate) owner: String,
    /// How often it looks.
    pub(crate) interval: Duration,
    /// The lease duration: after a store failure it waits this long before rescuing again,
    /// so the live processes, which could not heartbeat through the same outage, renew their
    /// leases before anyone takes their jobs.
    pub(crate) grace: Duration,
}

impl Service for Rescuer {
    const NAME: &'static str = "rescuer";

    async fn run(self, mut stop: Stop) {
        let mut failed_at: Option<Timestamp> = None;
        loop {
            // Due an interval after this pass started, so a clock that jumps during a pass
            // (a test's manual clock) gets the next pass at once.
            let started = self.clock.now();
            let in_grace = failed_at.is_some_and(|at| {
                asyncapex_core::clock::duration_between(at, started) < self.grace
            });
            if !in_grace {
                failed_at = None;
                if self.rescue().await.is_none() {
                    failed_at = Some(self.clock.now());
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

impl Rescuer {
    /// One pass over expired leases.
    pub(crate) async fn rescue(&self) -> Option<RescueOutcome> {
        let params = JobRescueParams {
            now: self.clock.now(),
            exclude_owner: Some(self.owner.clone()),
        };
        let now = params.now;
        let span = tracing::debug_span!("asyncapex.store", op = "job_rescue");
        match self.store.job_rescue(params).instrument(span).await {
            Ok(out) => {
                if self.events.lifecycle_wanted() {
                    self.publish_rescues(&out, now).await;
                }
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
                self.dispatch_stranded(now).await;
                Some(out)
            }
            Err(e) => {
                tracing::warn!(error = %e, "rescue failed");
                None
            }
        }
    }

    /// Runs the finalizers of jobs a rescue failed (this pass's or another node's, if that
    /// node died before it could): each one's run is inserted once, whichever node gets there
    /// first. One indexed look that finds nothing, nearly always.
    async fn dispatch_stranded(&self, now: Timestamp) {
        let stranded = match self.store.job_finalizers_stranded(STRANDED_PER_PASS).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for finalizers of rescued jobs");
                return;
            }
        };
        for s in stranded {
            let parent = s.job.id;
            let outcome = JobOutcome::Failed {
                message: s
                    .job
                    .extended_status
                    .clone()
                    .unwrap_or_else(|| "its worker stopped heartbeating".into()),
            };
            let state = match serde_json::from_str(&s.state) {
                Ok(v) => v,
                Err(e) => {
                    tracing::error!(job = %parent, error = %e, "a stored finalizer is not JSON; running it with no state");
                    serde_json::Value::Null
                }
            };
            let run = match finalizer_run(
                &self.ids,
                now,
                self.max_attempts,
                &s.job,
                &outcome,
                (s.class, state),
            ) {
                Ok(run) => run,
                Err(e) => {
                    tracing::error!(job = %parent, error = %e, "cannot build the run of a rescued job's finalizer");
                    continue;
                }
            };
            let steps = self.events.enqueue_steps(std::slice::from_ref(&run));
            match self.store.job_finalizer_dispatch(parent, run).await {
                Ok(true) => {
                    tracing::info!(job = %parent, "running the finalizer of a job failed by a rescue");
                    self.events.send(steps);
                    self.wakers.work.notify_one();
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(job = %parent, error = %e, "cannot run the finalizer of a rescued job; the next pass tries again");
                }
            }
        }
    }
}

/// Stranded finalizers dispatched per rescue pass (the rest wait for the next pass).
const STRANDED_PER_PASS: u32 = 100;

impl Rescuer {
    /// Tells lifecycle listeners what the pass did, reading each job for its class (only
    /// when someone listens: a rescue after a crash may move a thousand jobs).
    async fn publish_rescues(&self, out: &RescueOutcome, now: Timestamp) {
        let moved = [
            (&out.requeued, JobStatus::Queued),
            (&out.failed, JobStatus::Failed),
            (&out.aborted, JobStatus::Aborted),
        ];
        for (ids, status) in moved {
            for id in ids {
                match self.store.job_get(*id).await {
                    Ok(Some(job)) => {
                        self.events
                            .step(&job, now, LifecycleStep::Rescued { status });
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(job = %id, error = %e, "cannot read a rescued job for its lifecycle step");
                    }
                }
            }
        }
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use asyncapex_core::JobStatus;

    use super::Rescuer;
    use crate::services::testkit::{Kit, was_woken};

    fn rescuer(kit: &Kit) -> Rescuer {
        Rescuer {
            store: kit.store.clone(),
            clock: kit.clock(),
            wakers: Default::default(),
            events: Default::default(),
            ids: std::sync::Arc::new(asyncapex_core::IdGenerator::new(3)),
            max_attempts: 3,
            owner: "me".into(),
            interval: Duration::from_secs(15),
            grace: Duration::from_secs(30),
        }
    }

    #[tokio::test]
    async fn requeues_an_expired_lease_of_another_owner_and_wakes_the_executor() {
        let kit = Kit::new().await;
        let id = kit.queued().await;
        assert_eq!(
            kit.claim("dead-worker", Duration::from_secs(30)).await,
            vec![id]
        );
        let rescuer = rescuer(&kit);
        let early = rescuer.rescue().await.unwrap();
        assert!(early.requeued.is_empty(), "a live lease is never rescued");
        kit.clock.advance(Duration::from_secs(31));
        let out = rescuer.rescue().await.unwrap();
        assert_eq!(out.requeued, vec![id]);
        assert!(was_woken(&rescuer.wakers.work).await);
        let job = kit.store.job_get(id).await.unwrap().unwrap();
        assert_eq!(job.status, JobStatus::Queued);
    }

    #[tokio::test]
    async fn spares_its_own_owner_whose_leases_the_heartbeat_keeps() {
        let kit = Kit::new().await;
        let id = kit.queued().await;
        assert_eq!(kit.claim("me", Duration::from_secs(30)).await, vec![id]);
        kit.clock.advance(Duration::from_secs(60));
        let out = rescuer(&kit).rescue().await.unwrap();
        assert!(out.requeued.is_empty() && out.failed.is_empty());
    }
}
