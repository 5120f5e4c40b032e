//! The engine's background services, each small and named, all with one start/stop shape
//! ([`Service`]): the executor (with its completer), the flex-queue promoter, the scheduler,
//! the heartbeat, the rescuer, the cleaner and the maintainer.
//!
//! Each takes a narrow configuration of its own — the handles and numbers it needs, not the
//! whole runtime (the executor is the exception: it builds execution contexts, which need the
//! runtime). Services wait on the engine's [`Clock`](asyncapex_core::Clock), so tests drive
//! them with a manual clock.

pub(crate) mod cleaner;
pub(crate) mod completer;
pub(crate) mod executor;
pub(crate) mod heartbeat;
pub(crate) mod maintainer;
pub(crate) mod promoter;
pub(crate) mod rescuer;
pub(crate) mod scheduler;

use std::future::Future;
use std::sync::Mutex;

use tokio::task::JoinHandle;

use crate::runtime::signals::Stop;

/// One background service: it runs until its stop signal is set, then returns.
pub(crate) trait Service: Send + 'static {
    /// The service's name, in logs.
    const NAME: &'static str;

    /// Runs the service until `stop` is set.
    fn run(self, stop: Stop) -> impl Future<Output = ()> + Send;
}

/// The services one engine started, to be joined at shutdown.
#[derive(Default)]
pub(crate) struct Services(Mutex<Vec<(&'static str, JoinHandle<()>)>>);

impl Services {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(&'static str, JoinHandle<()>)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Spawns `service`; it stops when `stop` is set.
    pub(crate) fn start<S: Service>(&self, service: S, stop: Stop) {
        tracing::debug!(service = S::NAME, "starting");
        let handle = tokio::spawn(service.run(stop));
        self.lock().push((S::NAME, handle));
    }

    /// Waits for every started service to return (after the stop signal was set).
    pub(crate) async fn join(&self) {
        let started: Vec<_> = self.lock().drain(..).collect();
        for (name, handle) in started {
            if let Err(e) = handle.await {
                tracing::error!(service = name, error = %e, "service ended abnormally");
            }
        }
    }
}

/// What the services' unit tests share: a fresh in-memory store, a manual clock and job
/// helpers.
#[cfg(all(test, feature = "sqlite"))]
pub(crate) mod testkit {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Arc;
    use std::time::Duration;

    use asyncapex_core::clock::add;
    use asyncapex_core::{
        Clock, IdGenerator, JobClaimParams, JobId, JobInsertManyParams, ManualClock, NewJob, Store,
    };
    use asyncapex_sqlite::SqliteStore;

    /// A store, a clock stopped at a fixed instant, and an ID generator.
    pub(crate) struct Kit {
        pub(crate) store: Arc<dyn Store>,
        pub(crate) clock: Arc<ManualClock>,
        pub(crate) ids: Arc<IdGenerator>,
    }

    impl Kit {
        pub(crate) async fn new() -> Kit {
            Kit {
                store: Arc::new(SqliteStore::in_memory().await.unwrap()),
                clock: Arc::new(ManualClock::new(
                    jiff::Timestamp::from_second(1_800_000_000).unwrap(),
                )),
                ids: Arc::new(IdGenerator::new(7)),
            }
        }

        pub(crate) fn clock(&self) -> Arc<dyn Clock> {
            self.clock.clone()
        }

        /// Inserts jobs as they are.
        pub(crate) async fn insert(&self, jobs: Vec<NewJob>) {
            self.store
                .job_insert_many(JobInsertManyParams {
                    jobs,
                    max_holding: 100,
                })
                .await
                .unwrap();
        }

        /// Inserts a queued queueable due now; returns its ID.
        pub(crate) async fn queued(&self) -> JobId {
            let now = self.clock.now();
            let id = self.ids.job_id(now);
            self.insert(vec![
                NewJob::queueable(id, "Probe", "{}".into(), now).max_attempts(3),
            ])
            .await;
            id
        }

        /// Claims everything due for `owner` under a lease of `lease`.
        pub(crate) async fn claim(&self, owner: &str, lease: Duration) -> Vec<JobId> {
            let now = self.clock.now();
            self.store
                .job_claim(JobClaimParams {
                    owner: owner.into(),
                    now,
                    lease_until: add(now, lease),
                    queues: asyncapex_core::QueueClaim::default_queue(100),
                })
                .await
                .unwrap()
                .into_iter()
                .map(|j| j.id)
                .collect()
        }
    }

    /// Whether `notify` holds a wake-up (one sent while nobody waited).
    pub(crate) async fn was_woken(notify: &tokio::sync::Notify) -> bool {
        tokio::time::timeout(Duration::from_millis(1), notify.notified())
            .await
            .is_ok()
    }
}
