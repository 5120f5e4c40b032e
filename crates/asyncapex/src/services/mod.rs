//! The engine's background services, each small and named, all with one start/stop shape
//! ([`Service`]): the executor (with its completer), the flex-queue promoter, the scheduler,
//! the heartbeat and the rescuer.
//!
//! Each takes a narrow configuration of its own — the handles and numbers it needs, not the
//! whole runtime (the executor is the exception: it builds execution contexts, which need the
//! runtime). Services wait on the engine's [`Clock`](asyncapex_core::Clock), so tests drive
//! them with a manual clock.

pub(crate) mod completer;
pub(crate) mod executor;
pub(crate) mod heartbeat;
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
