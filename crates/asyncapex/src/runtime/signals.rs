//! How the parts of a runtime tell each other things: wake-ups, job events, shutdown.

use std::sync::Mutex;

use asyncapex_core::{Error, JobId, JobStatus, NewBatchErrorEvent, StoreErrorKind};
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

/// Broadcasts of one process: job endings and batch error events.
#[derive(Debug)]
pub(crate) struct Events {
    jobs: broadcast::Sender<JobEvent>,
    batch_errors: broadcast::Sender<NewBatchErrorEvent>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            jobs: broadcast::channel(4096).0,
            batch_errors: broadcast::channel(1024).0,
        }
    }
}

impl Events {
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
