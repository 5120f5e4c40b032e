//! Controlling work: abort, wait, shut down.

use std::time::Duration;

use asyncapex_core::{
    AbortOutcome, CronTriggerDeleteParams, CronTriggerDueParams, CronTriggerId, Error,
    JobAbortParams, JobId, JobRecord, JobReleaseParams, JobStatus, NodeHeartbeatParams,
};
use tokio::task::AbortHandle;

use super::Engine;
use crate::runtime::signals::LifecycleStep;

/// What `abort_job` acts on: a job record or a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbortTarget {
    /// A job record (`707…`).
    Job(JobId),
    /// A schedule (`08e…`): it is deleted.
    Schedule(CronTriggerId),
}

impl From<JobId> for AbortTarget {
    fn from(id: JobId) -> Self {
        AbortTarget::Job(id)
    }
}

impl From<CronTriggerId> for AbortTarget {
    fn from(id: CronTriggerId) -> Self {
        AbortTarget::Schedule(id)
    }
}

impl std::str::FromStr for AbortTarget {
    type Err = Error;

    /// Parses a `707…` job ID or an `08e…` trigger ID.
    fn from_str(s: &str) -> Result<Self, Error> {
        let id = asyncapex_core::RecordId::parse(s)?;
        match id.prefix() {
            asyncapex_core::KeyPrefix::Job => Ok(AbortTarget::Job(JobId::try_from(id)?)),
            asyncapex_core::KeyPrefix::CronTrigger => {
                Ok(AbortTarget::Schedule(CronTriggerId::try_from(id)?))
            }
        }
    }
}

/// What a graceful shutdown did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Jobs that were still running at the deadline and were handed back to the queue.
    pub released: Vec<JobId>,
}

impl Engine {
    /// The unrecoverable store error that made this engine stop itself, if one did: its
    /// SQLite file was deleted or replaced while it ran, so whatever it did next would be
    /// lost. The engine then claims nothing more and its services stop; a worker binary
    /// should exit non-zero (see [`wait_failure`](Self::wait_failure)).
    pub fn failure(&self) -> Option<Error> {
        self.rt.shutdown.failure()
    }

    /// Completes, with the error, when this engine stops itself because of an unrecoverable
    /// store error; never completes otherwise. Use it in a worker's `select!` beside the
    /// shutdown signals:
    ///
    /// ```no_run
    /// # async fn demo(engine: asyncapex::Engine, stop_requested: impl std::future::Future<Output = ()>) -> Result<(), asyncapex::Error> {
    /// tokio::select! {
    ///     _ = stop_requested => engine.shutdown(std::time::Duration::from_secs(5)).await.map(drop),
    ///     failed = engine.wait_failure() => Err(failed), // exit non-zero
    /// }
    /// # }
    /// ```
    pub async fn wait_failure(&self) -> Error {
        self.rt.shutdown.stop().wait().await;
        match self.rt.shutdown.failure() {
            Some(e) => e,
            // A plain shutdown: no failure will come.
            None => std::future::pending().await,
        }
    }
    /// Aborts a job (Apex's `System.abortJob`): a waiting job becomes `Aborted` at once and
    /// never runs; a running job is asked to stop (its context reports it) and ends `Aborted`
    /// when its code returns.
    ///
    /// # Errors
    /// [`Error::UnknownJob`] when no job has that ID; a store error.
    pub async fn abort_job(&self, id: impl Into<AbortTarget>) -> Result<AbortOutcome, Error> {
        let id = match id.into() {
            AbortTarget::Job(id) => id,
            AbortTarget::Schedule(trigger) => return self.abort_schedule(trigger).await,
        };
        let outcome = self
            .rt
            .store
            .job_abort(JobAbortParams {
                id,
                now: self.rt.clock.now(),
            })
            .await?;
        match outcome {
            AbortOutcome::Aborted => {
                if self.rt.events.lifecycle_wanted() {
                    // The abort is committed: a failed read only costs listeners the step.
                    match self.rt.store.job_get(id).await {
                        Ok(Some(job)) => {
                            let at = job.completed_at.unwrap_or_else(|| self.rt.clock.now());
                            self.rt.events.step(&job, at, LifecycleStep::Aborted);
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(job = %id, error = %e, "cannot read an aborted job for its lifecycle step");
                        }
                    }
                }
                self.rt.announce(id, JobStatus::Aborted);
            }
            AbortOutcome::AbortRequested => {
                // Our own running job hears it now; another process's at its next heartbeat.
                if let Some(r) = self.rt.running.lock().get(&id) {
                    r.shared.request_abort();
                }
            }
            AbortOutcome::NotFound => return Err(Error::UnknownJob { id: id.to_string() }),
            AbortOutcome::AlreadyFinished(_)
            | AbortOutcome::ScheduleDeleted
            | AbortOutcome::ScheduleAlreadyDeleted => {}
        }
        Ok(outcome)
    }

    async fn abort_schedule(&self, id: CronTriggerId) -> Result<AbortOutcome, Error> {
        if self.rt.store.cron_trigger_get(id).await?.is_none() {
            return Err(Error::UnknownSchedule {
                key: id.to_string(),
            });
        }
        let deleted = self
            .rt
            .store
            .cron_trigger_delete(CronTriggerDeleteParams {
                id,
                now: self.rt.clock.now(),
            })
            .await?;
        Ok(if deleted {
            AbortOutcome::ScheduleDeleted
        } else {
            AbortOutcome::ScheduleAlreadyDeleted
        })
    }

    /// Waits until a job has ended and returns its final record.
    ///
    /// # Errors
    /// [`Error::Timeout`] when it has not ended within `timeout`; [`Error::UnknownJob`].
    pub async fn wait_for(&self, id: JobId, timeout: Duration) -> Result<JobRecord, Error> {
        let mut events = self.rt.events.subscribe_jobs();
        let wait = async {
            loop {
                let job = self.job(id).await?;
                if job.status.is_terminal() {
                    return Ok(job);
                }
                // Our own workers announce; another process's are seen by re-reading.
                let _ = tokio::time::timeout(Duration::from_millis(200), async {
                    loop {
                        match events.recv().await {
                            Ok(e) if e.id == id => return,
                            Ok(_) => continue,
                            Err(_) => return,
                        }
                    }
                })
                .await;
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| Error::Timeout {
                what: format!("job {id} to end"),
                millis: timeout.as_millis() as u64,
            })?
    }

    /// Waits until nothing is due or running: every job whose run time has come (by this
    /// engine's clock) has ended, including what those jobs enqueued; no batch waits in the
    /// flex queue; no schedule is due without having fired. Delayed jobs and schedules whose
    /// time is still in the future (by the engine's clock) are not waited for.
    ///
    /// This is for engines that run jobs (concurrency > 0): work that nobody will run keeps
    /// it waiting until the timeout. To test your jobs, prefer the `testing` feature's
    /// `TestKit` (`docs/testing.md`): its `stop_test`, `run_queued` and `advance` calls run
    /// everything on the calling task, ignore delays where Apex does, and return a report.
    ///
    /// ```no_run
    /// # async fn demo(engine: &asyncapex::Engine, clock: &asyncapex::ManualClock) -> Result<(), asyncapex::Error> {
    /// clock.advance(std::time::Duration::from_secs(3600)); // a schedule becomes due
    /// engine.wait_idle(std::time::Duration::from_secs(10)).await?; // …and has fired and run
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Timeout`]; a store error.
    pub async fn wait_idle(&self, timeout: Duration) -> Result<(), Error> {
        let mut events = self.rt.events.subscribe_jobs();
        let wait = async {
            loop {
                if self.is_idle().await? {
                    return Ok(());
                }
                let _ = tokio::time::timeout(Duration::from_millis(100), events.recv()).await;
                // A drain ends thousands of jobs a second: look again once per burst of
                // events, not once per event (each look counts the queue).
                while !matches!(
                    events.try_recv(),
                    Err(tokio::sync::broadcast::error::TryRecvError::Empty
                        | tokio::sync::broadcast::error::TryRecvError::Closed)
                ) {}
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| Error::Timeout {
                what: "the engine to become idle".into(),
                millis: timeout.as_millis() as u64,
            })?
    }

    /// Whether nothing is due, holding or running. Work moves downstream — a due trigger
    /// becomes a queued job, a holding batch a queued one, a queued job a running one, a
    /// running job's end inserts what it enqueued — each step in one store write, so looking
    /// upstream first means no work slips past between two looks. Due jobs are counted twice,
    /// around the look at the running map, each time with the clock read just before: a job
    /// inserted as "due now" by a job that ended meanwhile carries a run time later than the
    /// first reading, but not later than the second (it was inserted before its parent left
    /// the running map).
    async fn is_idle(&self) -> Result<bool, Error> {
        let store = &self.rt.store;
        let clock = &self.rt.clock;
        let due = store
            .cron_trigger_due(CronTriggerDueParams {
                now: clock.now(),
                limit: 1,
            })
            .await?;
        if !due.is_empty() {
            return Ok(false);
        }
        if !store.flex_queue_list().await?.is_empty() {
            return Ok(false);
        }
        if store.job_count_pending(clock.now()).await? > 0 {
            return Ok(false);
        }
        if !self.rt.running.is_empty() {
            return Ok(false);
        }
        Ok(store.job_count_pending(clock.now()).await? == 0)
    }

    /// Stops claiming, lets running jobs finish until `deadline`, then hands the rest back
    /// to the queue (their attempt is not counted) so another process or a later start runs
    /// them.
    ///
    /// # Errors
    /// A store error while releasing; the jobs are then rescued when their leases expire.
    pub async fn shutdown(&self, deadline: Duration) -> Result<ShutdownReport, Error> {
        self.rt.shutdown.signal();
        self.rt.wakers.work.notify_one();
        let mut events = self.rt.events.subscribe_jobs();
        let _ = tokio::time::timeout(deadline, async {
            while !self.rt.running.lock().is_empty() {
                let _ = tokio::time::timeout(Duration::from_millis(50), events.recv()).await;
            }
        })
        .await;
        let leftover: Vec<(JobId, Option<AbortHandle>)> = self
            .rt
            .running
            .lock()
            .drain()
            .map(|(id, r)| (id, r.task))
            .collect();
        let ids: Vec<JobId> = leftover.iter().map(|(id, _)| *id).collect();
        for (_, task) in &leftover {
            if let Some(t) = task {
                t.abort();
            }
        }
        if !ids.is_empty() {
            self.rt
                .store
                .job_release(JobReleaseParams {
                    owner: self.rt.owner.clone(),
                    ids: ids.clone(),
                })
                .await?;
        }
        self.services.join().await;
        // Listed as stopped from now on, not as alive until its heartbeat goes stale; a
        // store that cannot be reached any more just leaves the row to go stale.
        if let Err(e) = self
            .rt
            .store
            .node_stop(NodeHeartbeatParams {
                id: self.rt.node_id,
                now: self.rt.clock.now(),
            })
            .await
        {
            tracing::warn!(error = %e, "could not record this node's stop");
        }
        Ok(ShutdownReport { released: ids })
    }
}
