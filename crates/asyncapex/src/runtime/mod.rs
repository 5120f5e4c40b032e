//! The runtime: what every execution shares — the store, the clock, the ID generator, the
//! configuration, the registry of handlers, the wake-ups and events, the running-jobs map —
//! plus the seams every kind plugs into: the [`handler`] trait, [`isolation`] of user code,
//! the one [`outcome`] mapping and the execution [`context`] with its [`limits`] table.
//!
//! Nothing here knows a job kind, a service or the `Engine`: those layers sit above and use
//! this one (see `CONTRIBUTING.md`, "Layers").

#[cfg(feature = "callouts")]
pub(crate) mod callout;
pub(crate) mod config;
pub(crate) mod context;
pub(crate) mod current;
pub(crate) mod daily;
pub(crate) mod enqueue;
pub(crate) mod handler;
pub(crate) mod isolation;
pub(crate) mod job_error;
pub(crate) mod limits;
pub(crate) mod outcome;
pub(crate) mod queues;
pub(crate) mod retention;
pub(crate) mod running;
pub(crate) mod signals;
pub(crate) mod trace_context;

use std::sync::Arc;

use asyncapex_core::{
    Clock, Error, IdGenerator, JobId, JobInsertManyParams, JobStatus, NewJob, Store,
};

use tracing::Instrument;

use self::config::{EngineConfig, TestRules};
use self::daily::DailyCap;
use self::handler::Registry;
use self::running::RunningJobs;
use self::signals::{Events, Shutdown, Wakers};

/// The state one engine's executions and services share. Services take only the parts they
/// need (each part is its own `Arc`); contexts and handlers see the whole runtime.
pub(crate) struct Runtime {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ids: Arc<IdGenerator>,
    pub(crate) config: EngineConfig,
    /// The test kit's rules (all off outside it).
    pub(crate) test: TestRules,
    pub(crate) registry: Registry,
    /// The queues this engine works and each type's queue, priority and retry policy.
    pub(crate) routing: Arc<queues::Routing>,
    pub(crate) wakers: Arc<Wakers>,
    pub(crate) events: Arc<Events>,
    pub(crate) running: Arc<RunningJobs>,
    pub(crate) daily: Arc<DailyCap>,
    pub(crate) shutdown: Arc<Shutdown>,
    /// This process's lease-owner name, `host:pid#node`.
    pub(crate) owner: String,
    /// This process's row in the store's node table.
    pub(crate) node_id: i64,
    #[cfg(feature = "callouts")]
    pub(crate) http: reqwest::Client,
}

impl Runtime {
    /// Inserts jobs with one store call, then counts them against the daily cap and wakes
    /// whoever they concern (the executor; the flex-queue promoter for batches).
    pub(crate) async fn insert(&self, jobs: Vec<NewJob>) -> Result<(), Error> {
        if jobs.is_empty() {
            return Ok(());
        }
        let counted = daily::counted(&jobs);
        let holding = jobs.iter().any(|j| j.status == JobStatus::Holding);
        let steps = self.events.enqueue_steps(&jobs);
        let span =
            tracing::debug_span!("asyncapex.store", op = "job_insert_many", jobs = jobs.len());
        self.store
            .job_insert_many(JobInsertManyParams {
                jobs,
                max_holding: self.config.limits.flex_queue_size,
            })
            .instrument(span)
            .await?;
        self.events.send(steps);
        self.daily.record(counted);
        if holding {
            self.wakers.batches_changed();
        }
        self.wakers.work.notify_one();
        Ok(())
    }

    /// Tells this process's waiters that a job ended.
    pub(crate) fn announce(&self, id: JobId, status: JobStatus) {
        self.events.announce(id, status);
    }
}
