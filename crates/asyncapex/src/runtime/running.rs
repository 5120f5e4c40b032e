//! The jobs this process is running: their shared execution state and their tasks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use asyncapex_core::JobId;
use tokio::task::AbortHandle;

use super::context::ExecShared;

/// A job this process is running.
pub(crate) struct Running {
    pub(crate) shared: Arc<ExecShared>,
    pub(crate) task: Option<AbortHandle>,
    /// The index of its queue among those the engine works.
    pub(crate) queue: usize,
}

/// Running jobs by ID. A job stays here, holding its slot and its lease, until its ending is
/// committed.
#[derive(Default)]
pub(crate) struct RunningJobs(Mutex<HashMap<JobId, Running>>);

impl RunningJobs {
    pub(crate) fn lock(&self) -> MutexGuard<'_, HashMap<JobId, Running>> {
        // The map holds plain handles; a panic elsewhere cannot leave it inconsistent.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Jobs running per worked queue (`queues` of them): one pass over the map, which
    /// holds at most the engine's concurrency.
    pub(crate) fn per_queue(&self, queues: usize) -> Vec<usize> {
        let mut counts = vec![0; queues];
        for r in self.lock().values() {
            if let Some(c) = counts.get_mut(r.queue) {
                *c += 1;
            }
        }
        counts
    }

    pub(crate) fn ids(&self) -> Vec<JobId> {
        self.lock().keys().copied().collect()
    }

    /// Asks a running job to stop; `false` when this process is not running it.
    pub(crate) fn request_abort(&self, id: JobId) -> bool {
        match self.lock().get(&id) {
            Some(r) => {
                r.shared.request_abort();
                true
            }
            None => false,
        }
    }

    pub(crate) fn remove(&self, id: JobId) {
        self.lock().remove(&id);
    }
}
