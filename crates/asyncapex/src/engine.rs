//! The engine: a store, a registry of job types, and the services that run jobs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use asyncapex_core::{
    AbortOutcome, Clock, Error, IdGenerator, JobAbortParams, JobId, JobInsertManyParams,
    JobListParams, JobRecord, JobReleaseParams, JobStatus, Limits, NewJob, NodeRegisterParams,
    Store, SystemClock,
};
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::{AbortHandle, JoinHandle};

use crate::context::{ContextKind, EnqueueTransaction, ExecContext, ExecShared};
use crate::enqueue::EnqueueOptions;
use crate::finalizer::Finalizer;
use crate::governor::{DailyCap, DailyUsage};
use crate::queueable::Queueable;
use crate::registry::Registry;
use crate::{executor, maintenance};

/// Tuning of an engine. Every field has a builder method; the defaults suit most services.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Jobs run at once by this process (0: enqueue only, run nothing).
    pub concurrency: usize,
    /// How long a claim lasts without a heartbeat before another process may rescue the job.
    pub lease_duration: Duration,
    /// How often running jobs' leases are renewed (and abort requests picked up).
    pub heartbeat_interval: Duration,
    /// How often an idle worker looks for work it was not woken for (other processes'
    /// enqueues on a store without notifications).
    pub poll_interval: Duration,
    /// How often the rescuer looks for expired leases.
    pub rescue_interval: Duration,
    /// Claims before a job whose worker keeps dying is failed instead of retried.
    pub max_attempts: u32,
    /// Delay added to every enqueue that does not give its own (Apex's org-wide "default
    /// minimum enqueue delay").
    pub default_delay: Option<Duration>,
    /// Maximum stack depth for chains whose root does not set one (Apex: none in production,
    /// 5 in Developer and Trial orgs).
    pub default_max_stack_depth: Option<u32>,
    /// Governor limits.
    pub limits: Limits,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            concurrency: 8,
            lease_duration: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            rescue_interval: Duration::from_secs(15),
            max_attempts: 3,
            default_delay: None,
            default_max_stack_depth: None,
            limits: Limits::default(),
        }
    }
}

enum StoreChoice {
    Ready(Arc<dyn Store>),
    #[cfg(feature = "sqlite")]
    SqliteFile(PathBuf),
    #[cfg(feature = "sqlite")]
    SqliteMemory,
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
}

impl EngineBuilder {
    fn new() -> EngineBuilder {
        EngineBuilder {
            store: None,
            clock: Arc::new(SystemClock),
            registry: Registry::default(),
            errors: Vec::new(),
            config: EngineConfig::default(),
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
        if let Err(e) = self.registry.add_queueable::<Q>() {
            self.errors.push(e);
        }
        self
    }

    /// Registers a finalizer type under [`Finalizer::class_name`].
    pub fn register_finalizer<F: Finalizer>(mut self) -> Self {
        if let Err(e) = self.registry.add_finalizer::<F>() {
            self.errors.push(e);
        }
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

    /// Governor limits ([`Limits::unlimited`] lifts them).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.config.limits = limits;
        self
    }

    /// Replaces the whole configuration.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// Opens the store, registers this process with it and starts the services: the
    /// executor (unless concurrency is 0), the heartbeat and the rescuer.
    ///
    /// # Errors
    /// The first registration error, an invalid configuration, or a store error.
    pub async fn start(mut self) -> Result<Engine, Error> {
        if let Err(e) = self.registry.add_linked_futures() {
            self.errors.push(e);
        }
        if let Some(e) = self.errors.drain(..).next() {
            return Err(e);
        }
        if self.config.max_attempts == 0 {
            return Err(Error::InvalidInput {
                what: "max_attempts",
                input: "0".into(),
                rule: "a job needs at least one attempt",
            });
        }
        if self.config.lease_duration.is_zero() || self.config.heartbeat_interval.is_zero() {
            return Err(Error::InvalidInput {
                what: "lease duration",
                input: format!("{:?}", self.config.lease_duration),
                rule: "the lease and its heartbeat interval must be longer than zero",
            });
        }
        let store: Arc<dyn Store> = match self.store.take() {
            Some(StoreChoice::Ready(s)) => s,
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
        };
        let name = format!(
            "{}:{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into()),
            std::process::id()
        );
        let node = store
            .node_register(NodeRegisterParams {
                name: name.clone(),
                now: self.clock.now(),
            })
            .await?;
        let (events, _) = broadcast::channel(4096);
        let (shutdown, _) = watch::channel(false);
        let daily = DailyCap::new(self.config.limits.daily_async_executions);
        daily.refresh(store.as_ref(), self.clock.now()).await?;
        let inner = Arc::new(EngineInner {
            daily,
            #[cfg(feature = "callouts")]
            http: reqwest::Client::new(),
            store,
            clock: self.clock,
            ids: IdGenerator::new(node),
            registry: self.registry,
            owner: format!("{name}#{node}"),
            config: self.config,
            wake: Notify::new(),
            running: Mutex::new(HashMap::new()),
            events,
            shutdown,
            services: Mutex::new(Vec::new()),
        });
        if inner.config.concurrency > 0 {
            let services = vec![
                tokio::spawn(executor::run(inner.clone())),
                tokio::spawn(maintenance::heartbeat(inner.clone())),
                tokio::spawn(maintenance::rescuer(inner.clone())),
            ];
            inner.lock_services().extend(services);
        }
        Ok(Engine { inner })
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

/// A job this process is running.
pub(crate) struct Running {
    pub(crate) shared: Arc<ExecShared>,
    pub(crate) task: Option<AbortHandle>,
}

pub(crate) struct EngineInner {
    pub(crate) daily: DailyCap,
    #[cfg(feature = "callouts")]
    pub(crate) http: reqwest::Client,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ids: IdGenerator,
    pub(crate) registry: Registry,
    pub(crate) owner: String,
    pub(crate) config: EngineConfig,
    /// Wakes the executor: an enqueue, a freed slot, a rescued job.
    pub(crate) wake: Notify,
    pub(crate) running: Mutex<HashMap<JobId, Running>>,
    pub(crate) events: broadcast::Sender<JobEvent>,
    pub(crate) shutdown: watch::Sender<bool>,
    services: Mutex<Vec<JoinHandle<()>>>,
}

impl EngineInner {
    pub(crate) fn lock_running(&self) -> MutexGuard<'_, HashMap<JobId, Running>> {
        // The map holds plain handles; a panic elsewhere cannot leave it inconsistent.
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_services(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.services.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) async fn insert(&self, jobs: Vec<NewJob>) -> Result<(), Error> {
        if jobs.is_empty() {
            return Ok(());
        }
        let counted = crate::governor::counted(&jobs);
        self.store
            .job_insert_many(JobInsertManyParams { jobs })
            .await?;
        self.daily.record(counted);
        self.wake.notify_one();
        Ok(())
    }

    pub(crate) fn announce(&self, id: JobId, status: JobStatus) {
        // No receiver is fine: nobody is waiting.
        let _ = self.events.send(JobEvent { id, status });
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }
}

/// What a graceful shutdown did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Jobs that were still running at the deadline and were handed back to the queue.
    pub released: Vec<JobId>,
}

/// A running asyncapex engine. Cheap to clone; clones share the engine.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("owner", &self.inner.owner)
            .field("registered", &self.inner.registry.names())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts building an engine.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::new()
    }

    /// The store this engine uses.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The clock this engine uses.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The configuration in force.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// This process's lease-owner name.
    pub fn owner(&self) -> &str {
        &self.inner.owner
    }

    /// Registered job type names, sorted.
    pub fn registered(&self) -> Vec<&str> {
        self.inner.registry.names()
    }

    /// Opens a synchronous context: up to 50 enqueues committed together.
    pub fn begin(&self) -> EnqueueTransaction {
        EnqueueTransaction {
            inner: ExecContext::new(
                self.inner.clone(),
                ContextKind::Sync,
                None,
                Arc::new(ExecShared::default()),
            ),
        }
    }

    /// Enqueues a queueable and returns its `707…` ID once it is committed (Apex's
    /// `System.enqueueJob`).
    ///
    /// # Errors
    /// [`Error::UnknownJobType`] for an unregistered type, [`Error::Payload`] when it cannot
    /// be serialized, a store error.
    pub async fn enqueue_job<Q: Queueable>(&self, job: Q) -> Result<JobId, Error> {
        self.enqueue_job_with(job, EnqueueOptions::default()).await
    }

    /// [`enqueue_job`](Self::enqueue_job) with options (delay, maximum stack depth, duplicate
    /// signature).
    ///
    /// # Errors
    /// As [`enqueue_job`](Self::enqueue_job); also [`Error::DuplicateSignature`] when a job
    /// with the same signature is still waiting to run.
    pub async fn enqueue_job_with<Q: Queueable>(
        &self,
        job: Q,
        options: EnqueueOptions,
    ) -> Result<JobId, Error> {
        let mut tx = self.begin();
        let id = tx.enqueue_job_with(job, options)?;
        tx.commit().await?;
        Ok(id)
    }

    /// Async jobs submitted to this store in the last 24 hours, and the daily cap
    /// ([`Limits::daily_async_executions`]); read fresh from the store.
    ///
    /// # Errors
    /// A store error.
    pub async fn daily_async_usage(&self) -> Result<DailyUsage, Error> {
        self.inner
            .daily
            .usage(self.inner.store.as_ref(), self.inner.clock.now())
            .await
    }

    /// One job record.
    ///
    /// # Errors
    /// [`Error::UnknownJob`] when no job has that ID; a store error.
    pub async fn job(&self, id: JobId) -> Result<JobRecord, Error> {
        self.inner
            .store
            .job_get(id)
            .await?
            .ok_or_else(|| Error::UnknownJob { id: id.to_string() })
    }

    /// Job records matching the filters, newest first.
    ///
    /// # Errors
    /// A store error.
    pub async fn jobs(&self, params: JobListParams) -> Result<Vec<JobRecord>, Error> {
        self.inner.store.job_list(params).await
    }

    /// Aborts a job (Apex's `System.abortJob`): a waiting job becomes `Aborted` at once and
    /// never runs; a running job is asked to stop (its context reports it) and ends `Aborted`
    /// when its code returns.
    ///
    /// # Errors
    /// [`Error::UnknownJob`] when no job has that ID; a store error.
    pub async fn abort_job(&self, id: JobId) -> Result<AbortOutcome, Error> {
        let outcome = self
            .inner
            .store
            .job_abort(JobAbortParams {
                id,
                now: self.inner.clock.now(),
            })
            .await?;
        match outcome {
            AbortOutcome::Aborted => self.inner.announce(id, JobStatus::Aborted),
            AbortOutcome::AbortRequested => {
                // Our own running job hears it now; another process's at its next heartbeat.
                if let Some(r) = self.inner.lock_running().get(&id) {
                    r.shared.request_abort();
                }
            }
            AbortOutcome::NotFound => return Err(Error::UnknownJob { id: id.to_string() }),
            AbortOutcome::AlreadyFinished(_) => {}
        }
        Ok(outcome)
    }

    /// Waits until a job has ended and returns its final record.
    ///
    /// # Errors
    /// [`Error::Timeout`] when it has not ended within `timeout`; [`Error::UnknownJob`].
    pub async fn wait_for(&self, id: JobId, timeout: Duration) -> Result<JobRecord, Error> {
        let mut events = self.inner.events.subscribe();
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
    /// engine's clock) has ended, including what those jobs enqueued. Apex tests'
    /// `Test.stopTest()` in spirit; delayed jobs still in the future are not waited for.
    ///
    /// # Errors
    /// [`Error::Timeout`]; a store error.
    pub async fn wait_idle(&self, timeout: Duration) -> Result<(), Error> {
        let mut events = self.inner.events.subscribe();
        let wait = async {
            loop {
                let pending = self
                    .inner
                    .store
                    .job_count_pending(self.inner.clock.now())
                    .await?;
                if pending == 0 && self.inner.lock_running().is_empty() {
                    return Ok(());
                }
                let _ = tokio::time::timeout(Duration::from_millis(100), events.recv()).await;
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| Error::Timeout {
                what: "the engine to become idle".into(),
                millis: timeout.as_millis() as u64,
            })?
    }

    /// Stops claiming, lets running jobs finish until `deadline`, then hands the rest back
    /// to the queue (their attempt is not counted) so another process or a later start runs
    /// them.
    ///
    /// # Errors
    /// A store error while releasing; the jobs are then rescued when their leases expire.
    pub async fn shutdown(&self, deadline: Duration) -> Result<ShutdownReport, Error> {
        self.inner.shutdown.send_replace(true);
        self.inner.wake.notify_one();
        let mut events = self.inner.events.subscribe();
        let _ = tokio::time::timeout(deadline, async {
            while !self.inner.lock_running().is_empty() {
                let _ = tokio::time::timeout(Duration::from_millis(50), events.recv()).await;
            }
        })
        .await;
        let leftover: Vec<(JobId, Option<AbortHandle>)> = self
            .inner
            .lock_running()
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
            self.inner
                .store
                .job_release(JobReleaseParams {
                    owner: self.inner.owner.clone(),
                    ids: ids.clone(),
                })
                .await?;
        }
        let services: Vec<JoinHandle<()>> = self.inner.lock_services().drain(..).collect();
        for s in services {
            let _ = s.await;
        }
        Ok(ShutdownReport { released: ids })
    }
}
