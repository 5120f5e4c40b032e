//! The engine: a store, a registry of job types, and the services that run jobs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use asyncapex_core::cron::{CronDialect, CronExpr, DstPolicy};
use asyncapex_core::{
    AbortOutcome, Clock, Error, IdGenerator, JobAbortParams, JobId, JobInsertManyParams,
    JobListParams, JobRecord, JobReleaseParams, JobStatus, Limits, NewJob, NodeRegisterParams,
    Store, SystemClock,
};
use asyncapex_core::{
    BatchChunkListParams, BatchChunkRecord, BatchErrorEvent, BatchErrorEventListParams,
    ChunkStatus, FlexMove, FlexQueueMoveParams, NewBatchErrorEvent,
};
use asyncapex_core::{
    CronTriggerDeleteParams, CronTriggerId, CronTriggerInsertParams, CronTriggerListParams,
    CronTriggerRecord, CronTriggerResumeParams, NewCronTrigger,
};
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::{AbortHandle, JoinHandle};

use crate::batchable::Batchable;
use crate::context::{ContextKind, EnqueueTransaction, ExecContext, ExecShared};
use crate::enqueue::EnqueueOptions;
use crate::finalizer::Finalizer;
use crate::governor::{DailyCap, DailyUsage};
use crate::queueable::Queueable;
use crate::registry::Registry;
use crate::schedulable::Schedulable;
use crate::{executor, maintenance, scheduler};

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
    /// The IANA zone of schedules that do not name one.
    pub default_time_zone: String,
    /// Whether to fire schedules; `None`: when concurrency > 0.
    pub scheduler: Option<bool>,
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
            default_time_zone: "UTC".into(),
            scheduler: None,
        }
    }
}

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

    /// Registers a batch type under [`Batchable::class_name`].
    pub fn register_batch<B: Batchable>(mut self) -> Self {
        if let Err(e) = self.registry.add_batch::<B>() {
            self.errors.push(e);
        }
        self
    }

    /// Registers a schedulable type under [`Schedulable::class_name`].
    pub fn register_schedulable<S: Schedulable>(mut self) -> Self {
        if let Err(e) = self.registry.add_schedulable::<S>() {
            self.errors.push(e);
        }
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
        if let Err(e) = jiff::tz::TimeZone::get(&self.config.default_time_zone) {
            return Err(Error::InvalidInput {
                what: "default time zone",
                input: format!("{} ({e})", self.config.default_time_zone),
                rule: "expected an IANA time zone name such as Europe/London",
            });
        }
        if self.config.lease_duration.is_zero() || self.config.heartbeat_interval.is_zero() {
            return Err(Error::InvalidInput {
                what: "lease duration",
                input: format!("{:?}", self.config.lease_duration),
                rule: "the lease and its heartbeat interval must be longer than zero",
            });
        }
        #[cfg_attr(not(feature = "postgres"), allow(unused_mut))]
        let mut postgres_schema = None;
        let store: Arc<dyn Store> = match self.store.take() {
            Some(StoreChoice::Ready(s)) => s,
            #[cfg(feature = "postgres")]
            Some(StoreChoice::Postgres(url, options)) => {
                postgres_schema = Some(options.schema.clone());
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
        };
        let name = format!(
            "{}:{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into()),
            std::process::id()
        );
        let node_id = store
            .node_register(NodeRegisterParams {
                name: name.clone(),
                now: self.clock.now(),
            })
            .await?;
        let node = node_id.rem_euclid(1 << 16) as u16;
        let (events, _) = broadcast::channel(4096);
        let (batch_errors, _) = broadcast::channel(1024);
        let (shutdown, _) = watch::channel(false);
        let daily = DailyCap::new(self.config.limits.daily_async_executions);
        daily.refresh(store.as_ref(), self.clock.now()).await?;
        let inner = Arc::new(EngineInner {
            postgres_schema,
            daily,
            #[cfg(feature = "callouts")]
            http: reqwest::Client::new(),
            store,
            clock: self.clock,
            ids: IdGenerator::new(node),
            registry: self.registry,
            owner: format!("{name}#{node_id}"),
            node_id,
            config: self.config,
            wake: Notify::new(),
            scheduler_wake: Notify::new(),
            batches_changed: std::sync::atomic::AtomicBool::new(true),
            batch_errors,
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
        if inner
            .config
            .scheduler
            .unwrap_or(inner.config.concurrency > 0)
        {
            let service = tokio::spawn(scheduler::run(inner.clone()));
            inner.lock_services().push(service);
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
    /// The schema, when the store is PostgreSQL opened by the builder (for enqueues inside
    /// the application's own transactions).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) postgres_schema: Option<String>,
    /// This process's row in the store's node table.
    pub(crate) node_id: i64,
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
    /// Wakes the scheduler: a new or resumed schedule, a scheduled run that ended.
    pub(crate) scheduler_wake: Notify,
    /// Set when the flex queue may have changed here (a batch submitted or ended), so the
    /// executor promotes at once instead of at its next periodic check.
    pub(crate) batches_changed: std::sync::atomic::AtomicBool,
    /// Batch error events, as they are published.
    pub(crate) batch_errors: broadcast::Sender<NewBatchErrorEvent>,
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
        if jobs.iter().any(|j| j.status == JobStatus::Holding) {
            self.batches_changed
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        self.store
            .job_insert_many(JobInsertManyParams {
                jobs,
                max_holding: self.config.limits.flex_queue_size,
            })
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

/// What `abort_job` acts on: a job record or a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbortTarget {
    /// A job record (`707…`).
    Job(JobId),
    /// A schedule (`08e…`): it is deleted.
    Schedule(CronTriggerId),
}

impl From<JobId> for AbortTarget {
    fn from(id: JobId) -> Self {
        AbortTarget::Job(id)
    }
}

impl From<CronTriggerId> for AbortTarget {
    fn from(id: CronTriggerId) -> Self {
        AbortTarget::Schedule(id)
    }
}

impl std::str::FromStr for AbortTarget {
    type Err = Error;

    /// Parses a `707…` job ID or an `08e…` trigger ID.
    fn from_str(s: &str) -> Result<Self, Error> {
        let id = asyncapex_core::RecordId::parse(s)?;
        match id.prefix() {
            asyncapex_core::KeyPrefix::Job => Ok(AbortTarget::Job(JobId::try_from(id)?)),
            asyncapex_core::KeyPrefix::CronTrigger => {
                Ok(AbortTarget::Schedule(CronTriggerId::try_from(id)?))
            }
        }
    }
}

/// How to schedule: time zone, DST policy, dialect.
///
/// ```
/// use asyncapex::{CronDialect, DstPolicy, ScheduleOptions};
///
/// let options = ScheduleOptions::default()
///     .time_zone("America/New_York")
///     .dst_policy(DstPolicy::NeverSkip)
///     .dialect(CronDialect::ApexStrict);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleOptions {
    time_zone: Option<String>,
    dst_policy: DstPolicy,
    dialect: CronDialect,
}

impl ScheduleOptions {
    /// The IANA zone the expression is read in (default: the engine's default zone).
    pub fn time_zone(mut self, zone: impl Into<String>) -> Self {
        self.time_zone = Some(zone.into());
        self
    }

    /// What to do at DST gaps and overlaps (default: Quartz's behaviour, as Apex).
    pub fn dst_policy(mut self, policy: DstPolicy) -> Self {
        self.dst_policy = policy;
        self
    }

    /// The dialect: the full Quartz one (default) or Apex's strict one, which allows no
    /// special characters in the seconds and minutes fields.
    pub fn dialect(mut self, dialect: CronDialect) -> Self {
        self.dialect = dialect;
        self
    }
}

fn check_schedule_name(name: &str) -> Result<(), Error> {
    let name = name.trim();
    if name.is_empty() || name.len() > 255 {
        return Err(Error::InvalidInput {
            what: "schedule name",
            input: name.chars().take(60).collect(),
            rule: "a schedule name has 1 to 255 bytes",
        });
    }
    Ok(())
}

/// The stored name of a DST policy.
pub(crate) fn dst_policy_name(policy: DstPolicy) -> &'static str {
    match policy {
        DstPolicy::Quartz => "quartz",
        DstPolicy::NeverSkip => "never-skip",
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

    /// Registered job types as `Name (JobType)`, sorted.
    pub fn registered(&self) -> Vec<String> {
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

    /// Submits a batch job (Apex's `Database.executeBatch`): it joins the end of the flex
    /// queue (`Holding`) and is promoted to `Queued` when fewer than
    /// [`Limits::active_batch_jobs`] batches are queued or running. `scope` is the number of
    /// items per `execute` (Apex's default is 200; 1 to 2000).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a scope outside 1–2000; [`Error::LimitExceeded`] when the
    /// flex queue already holds [`Limits::flex_queue_size`] jobs; [`Error::UnknownJobType`].
    pub async fn execute_batch<B: Batchable>(&self, batch: B, scope: u32) -> Result<JobId, Error> {
        let mut tx = self.begin();
        let id = tx.execute_batch(batch, scope)?;
        tx.commit().await?;
        Ok(id)
    }

    /// Submits a batch job `minutes_from_now` minutes from now (Apex's
    /// `System.scheduleBatch`): a one-time schedule that, when it fires, adds the batch to the
    /// end of the flex queue. Returns the schedule's `08e…` ID, which `abort_job` accepts
    /// until it fires.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for 0 minutes or a scope outside 1–2000; as
    /// [`schedule`](Self::schedule) for the name and the schedule cap.
    pub async fn schedule_batch<B: Batchable>(
        &self,
        batch: B,
        name: &str,
        minutes_from_now: u32,
        scope: u32,
    ) -> Result<CronTriggerId, Error> {
        if minutes_from_now == 0 {
            return Err(Error::InvalidInput {
                what: "minutes from now",
                input: "0".into(),
                rule: "a scheduled batch must run at least one minute from now",
            });
        }
        if !(1..=2000).contains(&scope) {
            return Err(Error::InvalidInput {
                what: "batch scope",
                input: scope.to_string(),
                rule: "the scope (items per execute) must be between 1 and 2000",
            });
        }
        let name = name.trim();
        if name.is_empty() || name.len() > 255 {
            return Err(Error::InvalidInput {
                what: "schedule name",
                input: name.chars().take(60).collect(),
                rule: "a schedule name has 1 to 255 bytes",
            });
        }
        let class = B::class_name();
        self.inner
            .registry
            .require(class, asyncapex_core::JobType::BatchApex)?;
        let payload = serde_json::to_string(&batch).map_err(|e| Error::Payload {
            class: class.to_owned(),
            message: format!("cannot serialize the batch: {e}"),
        })?;
        let now = self.inner.clock.now();
        let at =
            asyncapex_core::clock::add(now, Duration::from_secs(u64::from(minutes_from_now) * 60));
        // Apex shows a scheduled batch as a one-time cron expression for its instant (UTC).
        let at_utc = jiff::tz::TimeZone::UTC.to_datetime(at);
        let expression = format!(
            "{} {} {} {} {} ? {}",
            at_utc.second(),
            at_utc.minute(),
            at_utc.hour(),
            at_utc.day(),
            at_utc.month(),
            at_utc.year()
        );
        let id = self.inner.ids.cron_trigger_id(now);
        self.inner
            .store
            .cron_trigger_insert(CronTriggerInsertParams {
                trigger: NewCronTrigger {
                    id,
                    name: name.to_owned(),
                    job_type: asyncapex_core::JobType::BatchApex,
                    class_name: class.to_owned(),
                    payload,
                    cron_expression: expression,
                    time_zone: "UTC".into(),
                    dst_policy: "quartz".into(),
                    // Whole seconds, as the expression shows it.
                    next_fire_time: jiff::Timestamp::from_second(at.as_second()).unwrap_or(at),
                    start_time: now,
                    batch_scope: Some(scope),
                },
                max_active: self.inner.config.limits.scheduled_jobs,
            })
            .await?;
        self.inner.scheduler_wake.notify_one();
        Ok(id)
    }

    /// Holding batch jobs in flex-queue order (position 0 runs next).
    ///
    /// # Errors
    /// A store error.
    pub async fn flex_queue(&self) -> Result<Vec<JobRecord>, Error> {
        self.inner.store.flex_queue_list().await
    }

    /// Moves a holding batch job in the flex queue (Apex's `System.FlexQueue`); returns
    /// whether anything moved.
    ///
    /// # Errors
    /// [`Error::NotInFlexQueue`] when either job is not holding; a store error.
    pub async fn flex_queue_move(&self, id: JobId, to: FlexMove) -> Result<bool, Error> {
        self.inner
            .store
            .flex_queue_move(FlexQueueMoveParams { id, to })
            .await
    }

    /// A batch job's chunks (optionally of one status), in order.
    ///
    /// # Errors
    /// A store error.
    pub async fn batch_chunks(
        &self,
        job_id: JobId,
        status: Option<ChunkStatus>,
        limit: u32,
    ) -> Result<Vec<BatchChunkRecord>, Error> {
        self.inner
            .store
            .batch_chunk_list(BatchChunkListParams {
                job_id,
                status,
                from_seq: 0,
                limit,
            })
            .await
    }

    /// Stored batch error events, newest first (optionally one job's).
    ///
    /// # Errors
    /// A store error.
    pub async fn batch_error_events(
        &self,
        job_id: Option<JobId>,
        limit: u32,
    ) -> Result<Vec<BatchErrorEvent>, Error> {
        self.inner
            .store
            .batch_error_event_list(BatchErrorEventListParams { job_id, limit })
            .await
    }

    /// Subscribes to batch error events published by this engine's batches from now on (Apex's
    /// `BatchApexErrorEvent` trigger). Events are also stored; see
    /// [`batch_error_events`](Self::batch_error_events).
    pub fn subscribe_batch_errors(&self) -> broadcast::Receiver<NewBatchErrorEvent> {
        self.inner.batch_errors.subscribe()
    }

    /// Checks a class name and a JSON payload submitted by name (the HTTP API): the payload is
    /// an object and, when this engine registered the class as `job_type`, it deserializes
    /// into it. Returns the trimmed class name and the payload's text.
    fn checked_json<'a>(
        &self,
        class_name: &'a str,
        payload: &serde_json::Value,
        job_type: asyncapex_core::JobType,
    ) -> Result<(&'a str, String), Error> {
        let class = class_name.trim();
        if class.is_empty() || class.len() > 255 {
            return Err(Error::InvalidInput {
                what: "class name",
                input: class.chars().take(60).collect(),
                rule: "a class name has 1 to 255 bytes",
            });
        }
        if !payload.is_object() {
            return Err(Error::InvalidInput {
                what: "payload",
                input: payload.to_string().chars().take(60).collect(),
                rule: "a payload is a JSON object",
            });
        }
        let text = payload.to_string();
        self.inner.registry.check_payload(class, job_type, &text)?;
        Ok((class, text))
    }

    /// Enqueues a queueable from JSON, by class name: for services in other languages (the
    /// HTTP API). When this engine registered the class, the JSON must deserialize into it;
    /// when it did not (an API server that runs no jobs), it is stored as given and a worker
    /// that registered the class runs it (or fails it, saying the class is unknown).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty class name or JSON that is not an object;
    /// [`Error::Payload`] when it does not fit the registered type; as
    /// [`enqueue_job_with`](Self::enqueue_job_with).
    pub async fn enqueue_json(
        &self,
        class_name: &str,
        payload: serde_json::Value,
        options: EnqueueOptions,
    ) -> Result<JobId, Error> {
        let (class, text) =
            self.checked_json(class_name, &payload, asyncapex_core::JobType::Queueable)?;
        let tx = self.begin();
        let id = tx.inner.enqueue_serialized(class, text, options)?;
        tx.commit().await?;
        Ok(id)
    }

    /// Enqueues many queueables at once: the bulk API for loading work, outside Apex's
    /// per-transaction limit of 50. Jobs are committed in store transactions of up to 10,000
    /// (all or none within each); the daily async execution cap still applies. Returns the
    /// IDs in order.
    ///
    /// # Errors
    /// [`Error::UnknownJobType`], [`Error::Payload`], [`Error::LimitExceeded`] (daily cap), a
    /// store error. Transactions committed before an error stay committed.
    pub async fn enqueue_jobs<Q, I>(&self, jobs: I) -> Result<Vec<JobId>, Error>
    where
        Q: Queueable,
        I: IntoIterator<Item = Q>,
    {
        const PER_TRANSACTION: usize = 10_000;
        let class = Q::class_name();
        self.inner
            .registry
            .require(class, asyncapex_core::JobType::Queueable)?;
        let mut ids = Vec::new();
        let mut pending: Vec<NewJob> = Vec::with_capacity(PER_TRANSACTION);
        let mut jobs = jobs.into_iter().peekable();
        while jobs.peek().is_some() {
            let now = self.inner.clock.now();
            let run_at = asyncapex_core::clock::add(
                now,
                self.inner.config.default_delay.unwrap_or_default(),
            );
            for job in jobs.by_ref().take(PER_TRANSACTION) {
                let payload = serde_json::to_string(&job).map_err(|e| Error::Payload {
                    class: class.to_owned(),
                    message: format!("cannot serialize the job: {e}"),
                })?;
                let id = self.inner.ids.job_id(now);
                ids.push(id);
                pending.push(NewJob {
                    id,
                    job_type: asyncapex_core::JobType::Queueable,
                    class_name: class.to_owned(),
                    method_name: None,
                    status: JobStatus::Queued,
                    parent_job_id: None,
                    cron_trigger_id: None,
                    created_at: now,
                    run_at,
                    max_attempts: self.inner.config.max_attempts,
                    stack_depth: 1,
                    max_stack_depth: self.inner.config.default_max_stack_depth,
                    failure_reenqueues: 0,
                    signature: None,
                    payload,
                    batch_scope: None,
                });
            }
            self.inner
                .daily
                .check(self.inner.store.as_ref(), now, pending.len() as u64)
                .await?;
            self.inner.insert(std::mem::take(&mut pending)).await?;
        }
        Ok(ids)
    }

    /// Submits a batch job from JSON, by class name (the HTTP API's
    /// `Database.executeBatch`): it joins the end of the flex queue like
    /// [`execute_batch`](Self::execute_batch). When this engine registered the class, the JSON
    /// must deserialize into it; when it did not (an API server that runs no jobs), it is
    /// stored as given and a worker that registered the class runs it.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty class name, JSON that is not an object or a scope
    /// outside 1–2000; [`Error::Payload`] when it does not fit the registered type;
    /// [`Error::LimitExceeded`] when the flex queue is full; a store error.
    pub async fn execute_batch_json(
        &self,
        class_name: &str,
        payload: serde_json::Value,
        scope: u32,
    ) -> Result<JobId, Error> {
        let (class, text) =
            self.checked_json(class_name, &payload, asyncapex_core::JobType::BatchApex)?;
        let tx = self.begin();
        let id = tx.inner.enqueue_batch_serialized(class, text, scope)?;
        tx.commit().await?;
        Ok(id)
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
    pub async fn abort_job(&self, id: impl Into<AbortTarget>) -> Result<AbortOutcome, Error> {
        let id = match id.into() {
            AbortTarget::Job(id) => id,
            AbortTarget::Schedule(trigger) => return self.abort_schedule(trigger).await,
        };
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
            AbortOutcome::AlreadyFinished(_)
            | AbortOutcome::ScheduleDeleted
            | AbortOutcome::ScheduleAlreadyDeleted => {}
        }
        Ok(outcome)
    }

    async fn abort_schedule(&self, id: CronTriggerId) -> Result<AbortOutcome, Error> {
        if self.inner.store.cron_trigger_get(id).await?.is_none() {
            return Err(Error::UnknownSchedule {
                key: id.to_string(),
            });
        }
        let deleted = self
            .inner
            .store
            .cron_trigger_delete(CronTriggerDeleteParams {
                id,
                now: self.inner.clock.now(),
            })
            .await?;
        Ok(if deleted {
            AbortOutcome::ScheduleDeleted
        } else {
            AbortOutcome::ScheduleAlreadyDeleted
        })
    }

    /// Schedules `job` to run each time `cron` fires (Apex's `System.schedule`), in the
    /// engine's default time zone with Quartz's DST behaviour. Returns the `08e…` trigger ID.
    ///
    /// # Errors
    /// As [`schedule_with`](Self::schedule_with).
    pub async fn schedule<S: Schedulable>(
        &self,
        name: &str,
        cron: &str,
        job: S,
    ) -> Result<CronTriggerId, Error> {
        self.schedule_with(name, cron, job, ScheduleOptions::default())
            .await
    }

    /// [`schedule`](Self::schedule) with a time zone, a DST policy or Apex's strict dialect.
    ///
    /// # Errors
    /// [`Error::InvalidCron`] for an invalid expression (naming the field and the rule) or
    /// one that never fires again; [`Error::InvalidInput`] for an empty or overlong name or an
    /// unknown time zone; [`Error::DuplicateScheduleName`]; [`Error::LimitExceeded`] past
    /// [`Limits::scheduled_jobs`]; [`Error::UnknownJobType`] for an unregistered type.
    pub async fn schedule_with<S: Schedulable>(
        &self,
        name: &str,
        cron: &str,
        job: S,
        options: ScheduleOptions,
    ) -> Result<CronTriggerId, Error> {
        let class = S::class_name();
        check_schedule_name(name)?;
        self.inner
            .registry
            .require(class, asyncapex_core::JobType::ScheduledApex)?;
        let payload = serde_json::to_string(&job).map_err(|e| Error::Payload {
            class: class.to_owned(),
            message: format!("cannot serialize the scheduled job: {e}"),
        })?;
        self.schedule_serialized(name, cron, class, payload, options)
            .await
    }

    /// Schedules a schedulable from JSON, by class name (the HTTP API's `System.schedule`).
    /// When this engine registered the class, the JSON must deserialize into it; when it did
    /// not (an API server that runs no jobs), it is stored as given and the engine that fires
    /// it must know the class.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty class name or JSON that is not an object;
    /// [`Error::Payload`] when it does not fit the registered type; as
    /// [`schedule_with`](Self::schedule_with).
    pub async fn schedule_json(
        &self,
        name: &str,
        cron: &str,
        class_name: &str,
        payload: serde_json::Value,
        options: ScheduleOptions,
    ) -> Result<CronTriggerId, Error> {
        check_schedule_name(name)?;
        let (class, text) =
            self.checked_json(class_name, &payload, asyncapex_core::JobType::ScheduledApex)?;
        self.schedule_serialized(name, cron, class, text, options)
            .await
    }

    async fn schedule_serialized(
        &self,
        name: &str,
        cron: &str,
        class: &str,
        payload: String,
        options: ScheduleOptions,
    ) -> Result<CronTriggerId, Error> {
        let name = name.trim();
        let expr = CronExpr::parse_with(cron, options.dialect).map_err(|e| Error::InvalidCron {
            message: e.to_string(),
        })?;
        let zone_name = options
            .time_zone
            .unwrap_or_else(|| self.inner.config.default_time_zone.clone());
        let tz = jiff::tz::TimeZone::get(&zone_name).map_err(|e| Error::InvalidInput {
            what: "time zone",
            input: format!("{zone_name} ({e})"),
            rule: "expected an IANA time zone name such as America/New_York",
        })?;
        let now = self.inner.clock.now();
        let first = expr
            .next_after(now, &tz, options.dst_policy)
            .ok_or_else(|| Error::InvalidCron {
                message: format!(
                    "the cron expression {cron:?} never fires after {now} in {zone_name}"
                ),
            })?;
        let id = self.inner.ids.cron_trigger_id(now);
        self.inner
            .store
            .cron_trigger_insert(CronTriggerInsertParams {
                trigger: NewCronTrigger {
                    id,
                    name: name.to_owned(),
                    job_type: asyncapex_core::JobType::ScheduledApex,
                    class_name: class.to_owned(),
                    payload,
                    cron_expression: expr.as_str().to_owned(),
                    time_zone: zone_name,
                    dst_policy: dst_policy_name(options.dst_policy).to_owned(),
                    next_fire_time: first,
                    start_time: now,
                    batch_scope: None,
                },
                max_active: self.inner.config.limits.scheduled_jobs,
            })
            .await?;
        self.inner.scheduler_wake.notify_one();
        Ok(id)
    }

    /// A schedule by `08e…` ID or by name.
    ///
    /// # Errors
    /// [`Error::UnknownSchedule`]; a store error.
    pub async fn schedule_record(&self, key: &str) -> Result<CronTriggerRecord, Error> {
        let found = match key.parse::<CronTriggerId>() {
            Ok(id) => self.inner.store.cron_trigger_get(id).await?,
            Err(_) => self.inner.store.cron_trigger_find(key.to_owned()).await?,
        };
        found.ok_or_else(|| Error::UnknownSchedule {
            key: key.to_owned(),
        })
    }

    /// Active schedules (and ended ones when asked), newest first.
    ///
    /// # Errors
    /// A store error.
    pub async fn schedules(
        &self,
        params: CronTriggerListParams,
    ) -> Result<Vec<CronTriggerRecord>, Error> {
        self.inner.store.cron_trigger_list(params).await
    }

    /// Pauses a schedule by ID or name (Apex's `System.pauseJobById`/`ByName`). A running
    /// firing finishes. Returns whether it was waiting (and is now paused).
    ///
    /// # Errors
    /// [`Error::UnknownSchedule`]; a store error.
    pub async fn pause_schedule(&self, key: &str) -> Result<bool, Error> {
        let trigger = self.schedule_record(key).await?;
        self.inner.store.cron_trigger_pause(trigger.id).await
    }

    /// Resumes a paused schedule by ID or name (Apex's `System.resumeJobById`/`ByName`): it
    /// runs once at once and then follows its schedule; fires missed while paused are not
    /// replayed. Returns whether it was paused.
    ///
    /// # Errors
    /// [`Error::UnknownSchedule`]; a store error.
    pub async fn resume_schedule(&self, key: &str) -> Result<bool, Error> {
        let trigger = self.schedule_record(key).await?;
        let resumed = self
            .inner
            .store
            .cron_trigger_resume(CronTriggerResumeParams {
                id: trigger.id,
                next_fire_time: self.inner.clock.now(),
            })
            .await?;
        self.inner.scheduler_wake.notify_one();
        Ok(resumed)
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
