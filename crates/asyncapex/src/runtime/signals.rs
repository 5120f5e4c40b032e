//! How the parts of a runtime tell each other things: wake-ups, job events, shutdown.

use std::sync::Mutex;

use asyncapex_core::{
    Error, JobId, JobRecord, JobStatus, JobType, NewBatchErrorEvent, NewJob, StoreErrorKind,
};
use jiff::Timestamp;
use tokio::sync::{Notify, broadcast, watch};

/// Wake-ups between the services of one process. Each is a hint: a service woken for
/// nothing looks, finds nothing and sleeps again.
#[derive(Debug, Default)]
pub(crate) struct Wakers {
    /// The executor: an enqueue, a freed slot, a rescued or promoted job.
    pub(crate) work: Notify,
    /// The scheduler: a new or resumed schedule, a scheduled run that ended.
    pub(crate) scheduler: Notify,
    /// The flex-queue promoter: a batch submitted or ended here. (A `Notify` keeps one
    /// wake-up that arrives while its waiter is busy, so none is lost.)
    pub(crate) promoter: Notify,
}

impl Wakers {
    /// The flex queue may have changed here (a batch submitted, chained or ended).
    pub(crate) fn batches_changed(&self) {
        self.promoter.notify_one();
    }

    /// Wakes what a job's recorded end may unblock: the promoter when a batch slot freed (or
    /// a batch was chained), the scheduler when the run of a schedule ended (its schedule may
    /// be blocked waiting for it).
    pub(crate) fn after_end(&self, batches_changed: bool, scheduled: bool) {
        if batches_changed {
            self.batches_changed();
        }
        if scheduled {
            self.scheduler.notify_one();
        }
    }
}

/// A job that ended, as announced to waiters in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobEvent {
    /// The job.
    pub id: JobId,
    /// Its new status.
    pub status: JobStatus,
}

/// A step in a job's life that this process took (see [`Engine::subscribe_lifecycle`]).
///
/// [`Engine::subscribe_lifecycle`]: crate::Engine::subscribe_lifecycle
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLifecycle {
    /// The job.
    pub id: JobId,
    /// Its kind.
    pub job_type: JobType,
    /// Its class (`class.method` for a future).
    pub class_name: String,
    /// When, on the engine's clock.
    pub at: Timestamp,
    /// What happened.
    pub step: LifecycleStep,
}

/// What happened to a job.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LifecycleStep {
    /// Committed to the store by this process: by an engine call, an enqueue transaction,
    /// a job's successful execution (its chained work and its finalizer) or a schedule's
    /// firing. Its status is `Queued` or, for a batch in the flex queue, `Holding`. Jobs
    /// committed in the application's own transaction (`EnqueueTransaction::commit_in`,
    /// `PreparedEnqueue::insert_in`) are not announced, and not counted in this process's
    /// cached daily usage until its next refresh: the engine does not see that commit; their
    /// `Started` step is.
    Enqueued {
        /// `Queued` or `Holding`.
        status: JobStatus,
    },
    /// Claimed by this process and about to run.
    Started {
        /// Which claim this is (1 for the first run).
        attempt: u32,
    },
    /// Ran to the end; its ending is committed.
    Completed,
    /// Ended `Failed`; its ending is committed.
    Failed {
        /// Why (what `extended_status` records).
        error: String,
    },
    /// Its attempt failed and its retry policy queued it again (an extension beyond Apex).
    Retried {
        /// Why the attempt failed (kept in its attempt history).
        error: String,
        /// When the next attempt is due.
        run_at: jiff::Timestamp,
    },
    /// Ended `Aborted` (while running here, or waiting, by this process's abort).
    Aborted,
    /// Its lease had expired (its worker died) and this process's rescuer moved it on.
    /// Published once the rescue has committed, so a requeued job may already have been
    /// claimed again: its `Started` step (attempt + 1) can arrive first.
    Rescued {
        /// `Queued` for another attempt, `Failed` after its last, or `Aborted` when an
        /// abort had been asked for.
        status: JobStatus,
    },
}

/// Broadcasts of one process: job endings, lifecycle steps and batch error events.
#[derive(Debug)]
pub(crate) struct Events {
    jobs: broadcast::Sender<JobEvent>,
    lifecycle: broadcast::Sender<JobLifecycle>,
    batch_errors: broadcast::Sender<NewBatchErrorEvent>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            jobs: broadcast::channel(4096).0,
            lifecycle: broadcast::channel(4096).0,
            batch_errors: broadcast::channel(1024).0,
        }
    }
}

impl Events {
    /// Whether anyone listens for lifecycle steps: when nobody does, the hot path builds
    /// none (a step carries the class name, which costs an allocation).
    pub(crate) fn lifecycle_wanted(&self) -> bool {
        self.lifecycle.receiver_count() > 0
    }

    /// Publishes a step of the job `job`.
    pub(crate) fn step(&self, job: &JobRecord, at: Timestamp, step: LifecycleStep) {
        if self.lifecycle_wanted() {
            let class = class_of(job.job_type, &job.class_name, job.method_name.as_deref());
            self.publish(job.id, job.job_type, class, at, step);
        }
    }

    /// Publishes a step of a job known by its parts.
    pub(crate) fn publish(
        &self,
        id: JobId,
        job_type: JobType,
        class_name: String,
        at: Timestamp,
        step: LifecycleStep,
    ) {
        let _ = self.lifecycle.send(JobLifecycle {
            id,
            job_type,
            class_name,
            at,
            step,
        });
    }

    /// The enqueue steps of `jobs`, built before they are handed to the store (none when
    /// nobody listens); [`send`](Self::send) them once the store has committed.
    pub(crate) fn enqueue_steps(&self, jobs: &[NewJob]) -> Vec<JobLifecycle> {
        if !self.lifecycle_wanted() {
            return Vec::new();
        }
        jobs.iter()
            .map(|j| JobLifecycle {
                id: j.id,
                job_type: j.job_type,
                class_name: class_of(j.job_type, &j.class_name, j.method_name.as_deref()),
                at: j.created_at,
                step: LifecycleStep::Enqueued { status: j.status },
            })
            .collect()
    }

    /// Publishes steps built earlier.
    pub(crate) fn send(&self, steps: Vec<JobLifecycle>) {
        for step in steps {
            let _ = self.lifecycle.send(step);
        }
    }

    /// The class name lifecycle steps give `job`, when anyone listens.
    pub(crate) fn class_if_wanted(&self, job: &JobRecord) -> Option<String> {
        self.lifecycle_wanted()
            .then(|| class_of(job.job_type, &job.class_name, job.method_name.as_deref()))
    }

    pub(crate) fn subscribe_lifecycle(&self) -> broadcast::Receiver<JobLifecycle> {
        self.lifecycle.subscribe()
    }

    /// Announces a job's end. No receiver is fine: nobody is waiting.
    pub(crate) fn announce(&self, id: JobId, status: JobStatus) {
        let _ = self.jobs.send(JobEvent { id, status });
    }

    pub(crate) fn subscribe_jobs(&self) -> broadcast::Receiver<JobEvent> {
        self.jobs.subscribe()
    }

    /// Publishes a batch error event to this process's subscribers.
    pub(crate) fn publish_batch_error(&self, event: NewBatchErrorEvent) {
        let _ = self.batch_errors.send(event);
    }

    pub(crate) fn subscribe_batch_errors(&self) -> broadcast::Receiver<NewBatchErrorEvent> {
        self.batch_errors.subscribe()
    }
}

/// A job's class as lifecycle steps name it: `class.method` for a future, as registered.
fn class_of(job_type: JobType, class: &str, method: Option<&str>) -> String {
    match (job_type, method) {
        (JobType::Future, Some(m)) => super::handler::registry_key(class, m),
        _ => class.to_owned(),
    }
}

/// The engine's stop signal, set once by a shutdown — or by a service that met an error the
/// engine cannot recover from (its store's file was deleted or replaced), which it keeps.
#[derive(Debug)]
pub(crate) struct Shutdown {
    stop: watch::Sender<bool>,
    failure: Mutex<Option<Error>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown {
            stop: watch::channel(false).0,
            failure: Mutex::new(None),
        }
    }
}

impl Shutdown {
    pub(crate) fn signal(&self) {
        self.stop.send_replace(true);
    }

    /// Stops the engine because of `error` if it is one no retry can mend; returns whether it
    /// was. The first such error is kept for [`failure`](Self::failure).
    pub(crate) fn fail_if_fatal(&self, error: &Error) -> bool {
        if !is_fatal(error) {
            return false;
        }
        {
            let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
            if failure.is_none() {
                tracing::error!(error = %error, "the store cannot be used any more; this engine stops claiming and shuts down");
                *failure = Some(error.clone());
            }
        }
        self.signal();
        true
    }

    /// The error that stopped the engine, if one did.
    pub(crate) fn failure(&self) -> Option<Error> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A receiver for one service.
    pub(crate) fn stop(&self) -> Stop {
        Stop(self.stop.subscribe())
    }
}

/// Whether a store error means the store is gone for good: retrying cannot help, and working
/// on would lose what is done (a deleted or replaced SQLite file).
pub(crate) fn is_fatal(error: &Error) -> bool {
    matches!(
        error,
        Error::Store {
            kind: StoreErrorKind::Replaced,
            ..
        }
    )
}

/// What a service waits on to learn that it should stop.
#[derive(Debug, Clone)]
pub(crate) struct Stop(watch::Receiver<bool>);

impl Stop {
    pub(crate) fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once the stop signal is set (at once if it already is).
    pub(crate) async fn wait(&mut self) {
        // An error means the engine is gone: stop as well.
        let _ = self.0.wait_for(|stopped| *stopped).await;
    }
}

/// Waits for the store's cross-process notification; `false` when the store stopped
/// notifying (the caller then relies on polling).
pub(crate) async fn store_notified(notes: &mut Option<watch::Receiver<u64>>) -> bool {
    match notes {
        Some(rx) => rx.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}
