//! The maintainer: asks the store, once a minute, for the upkeep its database does not do by
//! itself ([`Store::maintain`]: on PostgreSQL without autovacuum, VACUUM and ANALYZE of the
//! store's tables), so a store that runs for months keeps its counters small and its index
//! walks over the current work short. On PostgreSQL one node at a time does it.

use std::sync::Arc;
use std::time::Duration;

use asyncapex_core::clock::add;
use asyncapex_core::{Clock, Store};

use super::Service;
use crate::runtime::signals::Stop;

/// What the maintainer needs.
pub(crate) struct Maintainer {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    /// How often it asks (by the engine clock).
    pub(crate) interval: Duration,
}

impl Service for Maintainer {
    const NAME: &'static str = "maintainer";

    async fn run(self, mut stop: Stop) {
        loop {
            let started = self.clock.now();
            match self.store.maintain().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(tables = n, "store upkeep: tables vacuumed or analyzed"),
                Err(e) => {
                    tracing::warn!(error = %e, "store upkeep failed; retrying at the next pass")
                }
            }
            tokio::select! {
                _ = self.clock.sleep_until(add(started, self.interval)) => {}
                _ = stop.wait() => return,
            }
        }
    }
}
