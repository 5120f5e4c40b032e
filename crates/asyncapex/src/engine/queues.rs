//! What an operator does to named queues (an extension beyond Apex): list them with their
//! depth and latency, pause and resume them on every node, and see tenants' counts.

use asyncapex_core::queue::check_queue_name;
use asyncapex_core::{Error, QueueRecord, TenantCount};

use super::Engine;

impl Engine {
    /// Every queue that has stored settings or holds waiting or running jobs, by name, with
    /// its depth (waiting, due), running jobs on every node, the run time of its
    /// longest-waiting due job, and whether it is paused.
    ///
    /// # Errors
    /// A store error.
    pub async fn queues(&self) -> Result<Vec<QueueRecord>, Error> {
        self.rt.store.queue_list(self.rt.clock.now()).await
    }

    /// Pauses a queue on every node sharing the store: its jobs wait (running ones finish)
    /// until [`resume_queue`](Self::resume_queue). `false` when it was already paused. A name
    /// no job uses yet may be paused ahead of its jobs. While a paused queue holds due jobs,
    /// [`wait_idle`](Self::wait_idle) does not return (they are pending).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad queue name; a store error.
    pub async fn pause_queue(&self, name: &str) -> Result<bool, Error> {
        check_queue_name(name)?;
        self.rt
            .store
            .queue_pause(name.to_owned(), self.rt.clock.now())
            .await
    }

    /// Resumes a paused queue on every node and wakes this process's workers. `false` when
    /// it was not paused.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad queue name; a store error.
    pub async fn resume_queue(&self, name: &str) -> Result<bool, Error> {
        check_queue_name(name)?;
        let resumed = self
            .rt
            .store
            .queue_resume(name.to_owned(), self.rt.clock.now())
            .await?;
        if resumed {
            self.rt.wakers.work.notify_one();
        }
        Ok(resumed)
    }

    /// The tenants with the most waiting and running jobs (at most `limit`), most first.
    ///
    /// # Errors
    /// A store error.
    pub async fn tenant_counts(&self, limit: u32) -> Result<Vec<TenantCount>, Error> {
        self.rt.store.tenant_counts(limit).await
    }
}
