//! Building an engine: its store, its job types, its configuration; then starting it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use asyncapex_core::{Clock, Error, IdGenerator, Limits, NodeRegisterParams, Store, SystemClock};

use super::Engine;
use crate::kinds::batch::{self, Batchable};
use crate::kinds::finalizer::{self, Finalizer};
use crate::kinds::future;
use crate::kinds::queueable::{self, Queueable};
use crate::kinds::schedulable::{self, Schedulable};
use crate::runtime::Runtime;
use crate::runtime::config::{EngineConfig, TestRules};
use crate::runtime::daily::DailyCap;
use crate::runtime::handler::Registry;
use crate::runtime::queues::Routing;
use crate::runtime::retention::Retention;
use crate::services::Services;
use crate::services::cleaner::Cleaner;
use crate::services::executor::Executor;
use crate::services::heartbeat::Heartbeat;
use crate::services::maintainer::Maintainer;
use crate::services::promoter::Promoter;
use crate::services::rescuer::Rescuer;
use crate::services::scheduler::Scheduler;

enum StoreChoice {
    Ready(Arc<dyn Store>),
    #[cfg(feature = "sqlite")]
    SqliteFile(PathBuf),
    #[cfg(feature = "sqlite")]
    SqliteMemory,
    #[cfg(feature = "postgres")]
    Postgres(String, asyncapex_postgres::PostgresOptions),
}

/// Builds an [`Engine`].
///
/// ```no_run
/// # use asyncapex::{Engine, JobError, Queueable, QueueableContext};
/// # #[derive(serde::Serialize, serde::Deserialize)] struct Cleanup;
/// # impl Queueable for Cleanup { async fn execute(&mut self, _: &mut QueueableContext) -> Result<(), JobError> { Ok(()) } }
/// # async fn demo() -> Result<(), asyncapex::Error> {
/// let engine = Engine::builder()
///     .sqlite("asyncapex.db")
///     .register::<Cleanup>()
///     .concurrency(4)
///     .start()
///     .await?;
/// let id = engine.enqueue_job(Cleanup).await?;
/// # Ok(()) }
/// ```
pub struct EngineBuilder {
    store: Option<StoreChoice>,
    clock: Arc<dyn Clock>,
    registry: Registry,
    errors: Vec<Error>,
    config: EngineConfig,
    test: TestRules,
}

impl EngineBuilder {
    /// Registers a kind's handler, keeping the first error for `start`.
    fn add(&mut self, (name, handler): (&str, Arc<dyn crate::runtime::handler::Handler>)) {
        if let Err(e) = self.registry.add(name, handler) {
            self.errors.push(e);
        }
    }

    pub(super) fn new() -> EngineBuilder {
        EngineBuilder {
            store: None,
            clock: Arc::new(SystemClock),
            registry: Registry::default(),
            errors: Vec::new(),
            config: EngineConfig::default(),
            test: TestRules::default(),
        }
    }

    /// Uses an SQLite file (created if missing) as the store.
    #[cfg(feature = "sqlite")]
    pub fn sqlite(mut self, path: impl Into<PathBuf>) -> Self {
        self.store = Some(StoreChoice::SqliteFile(path.into()));
        self
    }

    /// Uses a private in-memory SQLite database: for tests.
    #[cfg(feature = "sqlite")]
    pub fn in_memory(mut self) -> Self {
        self.store = Some(StoreChoice::SqliteMemory);
        self
    }

    /// Uses a PostgreSQL database (`postgres://user@host/db`) in the schema `asyncapex`:
    /// many worker processes on many machines can share it.
    #[cfg(feature = "postgres")]
    pub fn postgres(self, url: impl Into<String>) -> Self {
        self.postgres_with(url, asyncapex_postgres::PostgresOptions::default())
    }

    /// [`postgres`](Self::postgres) with options (schema, pool size, timeouts).
    #[cfg(feature = "postgres")]
    pub fn postgres_with(
        mut self,
        url: impl Into<String>,
        options: asyncapex_postgres::PostgresOptions,
    ) -> Self {
        self.store = Some(StoreChoice::Postgres(url.into(), options));
        self
    }

    /// Uses a store you opened yourself.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(StoreChoice::Ready(store));
        self
    }

    /// Uses this clock (a [`ManualClock`](crate::ManualClock) in tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Registers a queueable type under [`Queueable::class_name`].
    pub fn register<Q: Queueable>(mut self) -> Self {
        self.add(queueable::handler::<Q>());
        self
    }

    /// Registers a finalizer type under [`Finalizer::class_name`].
    pub fn register_finalizer<F: Finalizer>(mut self) -> Self {
        self.add(finalizer::handler::<F>());
        self
    }

    /// Jobs run at once by this process; 0 makes an enqueue-only engine.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.config.concurrency = n;
        self
    }

    /// How long a claim lasts without a heartbeat; heartbeats go out every third of it.
    pub fn lease_duration(mut self, d: Duration) -> Self {
        self.config.lease_duration = d;
        self.config.heartbeat_interval = d / 3;
        self
    }

    /// How often an idle worker polls for work it was not woken for.
    pub fn poll_interval(mut self, d: Duration) -> Self {
        self.config.poll_interval = d;
        self
    }

    /// How often the rescuer looks for expired leases.
    pub fn rescue_interval(mut self, d: Duration) -> Self {
        self.config.rescue_interval = d;
        self
    }

    /// Claims before a job whose worker keeps dying is failed.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.config.max_attempts = n;
        self
    }

    /// A delay added to every enqueue that does not set its own.
    pub fn default_delay(mut self, d: Duration) -> Self {
        self.config.default_delay = Some(d);
        self
    }

    /// A maximum stack depth for chains whose root does not set one (5 mimics a Developer
    /// Edition org).
    pub fn default_max_stack_depth(mut self, depth: u32) -> Self {
        self.config.default_max_stack_depth = Some(depth);
        self
    }

    /// Registers a batch type under [`Batchable::class_name`].
    pub fn register_batch<B: Batchable>(mut self) -> Self {
        self.add(batch::handler::<B>());
        self
    }

    /// Registers a schedulable type under [`Schedulable::class_name`].
    pub fn register_schedulable<S: Schedulable>(mut self) -> Self {
        self.add(schedulable::handler::<S>());
        self
    }

    /// The IANA time zone schedules use when they do not name one (default `UTC`; Apex uses
    /// the scheduling user's zone).
    pub fn default_time_zone(mut self, zone: impl Into<String>) -> Self {
        self.config.default_time_zone = zone.into();
        self
    }

    /// Whether this engine fires schedules (default: when it runs jobs, i.e. concurrency > 0).
    pub fn scheduler(mut self, on: bool) -> Self {
        self.config.scheduler = Some(on);
        self
    }

    /// How long finished job records are kept before this engine's cleaner deletes them
    /// (default: 7 days, as Apex; [`Retention::forever`] keeps them).
    pub fn retention(mut self, retention: Retention) -> Self {
        self.config.retention = retention;
        self
    }

    /// Governor limits ([`Limits::unlimited`] lifts them).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.config.limits = limits;
        self
    }

    /// Works a named queue with its own concurrency (and stores its global cap, rate limit
    /// and tenant limit for every node): an extension beyond Apex, whose one shared pool is
    /// what an engine without queues keeps. `Queue::new("default")` sets the default
    /// queue's.
    pub fn queue(mut self, queue: crate::runtime::queues::Queue) -> Self {
        self.config.queues.push(queue);
        self
    }

    /// The queue, priority and retry policy of the job type registered as `name` (`Class`,
    /// or `Class.method` for a future): an extension beyond Apex. Without options a type
    /// keeps Apex's behaviour: the default queue, priority 0, a failure ends the job.
    ///
    /// ```no_run
    /// # use asyncapex::{Engine, JobError, JobOptions, Queue, Queueable, QueueableContext, RetryPolicy};
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct SyncAccount;
    /// # impl Queueable for SyncAccount { async fn execute(&mut self, _: &mut QueueableContext) -> Result<(), JobError> { Ok(()) } }
    /// # async fn demo() -> Result<(), asyncapex::Error> {
    /// let engine = Engine::builder()
    ///     .sqlite("asyncapex.db")
    ///     .register::<SyncAccount>()
    ///     .queue(Queue::new("callouts").concurrency(4))
    ///     .job_options(
    ///         SyncAccount::class_name(),
    ///         JobOptions::default().queue("callouts").retry(RetryPolicy::exponential(5)),
    ///     )
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn job_options(
        mut self,
        name: impl Into<String>,
        options: crate::runtime::queues::JobOptions,
    ) -> Self {
        self.config.job_options.insert(name.into(), options);
        self
    }

    /// Replaces the whole configuration.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// The test kit's rules, and the clock, concurrency and scheduler it needs: jobs are
    /// collected in the store and run by the kit on the calling task.
    #[cfg(feature = "testing")]
    pub(super) fn for_test_kit(mut self, clock: Arc<dyn Clock>, test: TestRules) -> Self {
        self.clock = clock;
        self.test = test;
        self.config.concurrency = 0;
        for q in &mut self.config.queues {
            q.concurrency = Some(0);
        }
        self.config.scheduler = Some(false);
        self
    }

    /// Whether a store was chosen (the test kit picks an in-memory one otherwise).
    #[cfg(feature = "testing")]
    pub(super) fn has_store(&self) -> bool {
        self.store.is_some()
    }

    /// The chain depth limit chosen so far.
    #[cfg(feature = "testing")]
    pub(super) fn max_stack_depth(&self) -> Option<u32> {
        self.config.default_max_stack_depth
    }

    /// Sets or lifts the chain depth limit (the test kit's own choice wins).
    #[cfg(feature = "testing")]
    pub(super) fn set_max_stack_depth(mut self, depth: Option<u32>) -> Self {
        self.config.default_max_stack_depth = depth;
        self
    }

    /// Opens the store, registers this process with it and starts the services: the
    /// executor, the flex-queue promoter, the heartbeat, the rescuer and the cleaner (unless
    /// concurrency is 0), and the scheduler.
    ///
    /// # Errors
    /// The first registration error, an invalid configuration, or a store error.
    pub async fn start(mut self) -> Result<Engine, Error> {
        for linked in future::linked_handlers() {
            self.add((&linked.0, linked.1));
        }
        if let Some(e) = self.errors.drain(..).next() {
            return Err(e);
        }
        check_config(&self.config)?;
        let routing = Routing::new(
            self.config.concurrency,
            &self.config.queues,
            &self.config.job_options,
        )?;
        let store = open_store(self.store.take()).await?;
        for settings in &routing.settings {
            store
                .queue_configure(settings.clone(), self.clock.now())
                .await?;
        }
        let name = format!(
            "{}:{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into()),
            std::process::id()
        );
        let node_id = store
            .node_register(NodeRegisterParams {
                name: name.clone(),
                now: self.clock.now(),
                runs_jobs: routing.concurrency() > 0,
            })
            .await?;
        for (class, fields) in self.registry.sensitive() {
            let paths: Vec<&str> = fields.iter().map(String::as_str).collect();
            asyncapex_core::redaction::check_fields(&paths)?;
            store
                .sensitive_fields_put(class, fields, self.clock.now())
                .await?;
        }
        let node = node_id.rem_euclid(1 << 16) as u16;
        let daily = DailyCap::new(self.config.limits.daily_async_executions);
        daily.refresh(store.as_ref(), self.clock.now()).await?;
        let rt = Arc::new(Runtime {
            store,
            clock: self.clock,
            ids: Arc::new(IdGenerator::new(node)),
            registry: self.registry,
            routing: Arc::new(routing),
            owner: format!("{name}#{node_id}"),
            node_id,
            config: self.config,
            test: self.test,
            wakers: Default::default(),
            events: Default::default(),
            running: Default::default(),
            daily: Arc::new(daily),
            shutdown: Default::default(),
            #[cfg(feature = "callouts")]
            http: reqwest::Client::new(),
        });
        let services = Arc::new(Services::default());
        start_services(&rt, &services);
        Ok(Engine { rt, services })
    }
}

/// Refuses a configuration no engine can run with.
fn check_config(config: &EngineConfig) -> Result<(), Error> {
    if config.max_attempts == 0 {
        return Err(Error::InvalidInput {
            what: "max_attempts",
            input: "0".into(),
            rule: "a job needs at least one attempt",
        });
    }
    if let Err(e) = jiff::tz::TimeZone::get(&config.default_time_zone) {
        return Err(Error::InvalidInput {
            what: "default time zone",
            input: format!("{} ({e})", config.default_time_zone),
            rule: "expected an IANA time zone name such as Europe/London",
        });
    }
    if config.lease_duration.is_zero() || config.heartbeat_interval.is_zero() {
        return Err(Error::InvalidInput {
            what: "lease duration",
            input: format!("{:?}", config.lease_duration),
            rule: "the lease and its heartbeat interval must be longer than zero",
        });
    }
    Ok(())
}

async fn open_store(choice: Option<StoreChoice>) -> Result<Arc<dyn Store>, Error> {
    Ok(match choice {
        Some(StoreChoice::Ready(s)) => s,
        #[cfg(feature = "postgres")]
        Some(StoreChoice::Postgres(url, options)) => {
            Arc::new(asyncapex_postgres::PostgresStore::connect_with(&url, options).await?)
        }
        #[cfg(feature = "sqlite")]
        Some(StoreChoice::SqliteFile(path)) => {
            Arc::new(asyncapex_sqlite::SqliteStore::open(path).await?)
        }
        #[cfg(feature = "sqlite")]
        Some(StoreChoice::SqliteMemory) => {
            Arc::new(asyncapex_sqlite::SqliteStore::in_memory().await?)
        }
        None => {
            return Err(Error::InvalidInput {
                what: "engine store",
                input: String::new(),
                rule: "choose a store with .sqlite(path), .in_memory() or .store(..)",
            });
        }
    })
}

/// Starts the services this engine's configuration asks for, each with its own narrow
/// configuration.
fn start_services(rt: &Arc<Runtime>, services: &Services) {
    let config = &rt.config;
    // Every engine heartbeats its node row, also one that runs nothing (a dashboard), so
    // no live process is ever listed as silent.
    services.start(
        Heartbeat {
            store: rt.store.clone(),
            clock: rt.clock.clone(),
            running: rt.running.clone(),
            node_id: rt.node_id,
            owner: rt.owner.clone(),
            interval: config.heartbeat_interval,
            lease: config.lease_duration,
            shutdown: rt.shutdown.clone(),
        },
        rt.shutdown.stop(),
    );
    let concurrency = rt.routing.concurrency();
    if concurrency > 0 {
        services.start(
            Executor {
                rt: rt.clone(),
                concurrency,
            },
            rt.shutdown.stop(),
        );
        services.start(
            Promoter {
                store: rt.store.clone(),
                clock: rt.clock.clone(),
                wakers: rt.wakers.clone(),
                max_active: config.limits.active_batch_jobs,
                poll_interval: config.poll_interval,
            },
            rt.shutdown.stop(),
        );
        services.start(
            Rescuer {
                store: rt.store.clone(),
                clock: rt.clock.clone(),
                wakers: rt.wakers.clone(),
                events: rt.events.clone(),
                ids: rt.ids.clone(),
                max_attempts: config.max_attempts,
                owner: rt.owner.clone(),
                interval: config.rescue_interval,
                grace: config.lease_duration,
            },
            rt.shutdown.stop(),
        );
        services.start(
            Maintainer {
                store: rt.store.clone(),
                clock: rt.clock.clone(),
                interval: config.maintain_interval,
            },
            rt.shutdown.stop(),
        );
        // Also with retention forever: the cleaner forgets long-silent nodes.
        services.start(
            Cleaner {
                store: rt.store.clone(),
                clock: rt.clock.clone(),
                retention: config.retention.clone(),
                interval: config.clean_interval,
                batch: super::retention::PURGE_BATCH,
                forget_nodes_after: config.forget_nodes_after,
            },
            rt.shutdown.stop(),
        );
    }
    if config.scheduler.unwrap_or(concurrency > 0) {
        services.start(scheduler(rt), rt.shutdown.stop());
    }
}

/// The scheduler an engine runs (the test kit fires schedules through the same one).
pub(super) fn scheduler(rt: &Arc<Runtime>) -> Scheduler {
    Scheduler {
        store: rt.store.clone(),
        clock: rt.clock.clone(),
        ids: rt.ids.clone(),
        wakers: rt.wakers.clone(),
        daily: rt.daily.clone(),
        events: rt.events.clone(),
        max_attempts: rt.config.max_attempts,
        max_stack_depth: rt.config.default_max_stack_depth,
        poll_interval: rt.config.poll_interval,
        routing: rt.routing.clone(),
    }
}
