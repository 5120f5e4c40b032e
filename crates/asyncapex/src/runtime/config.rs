//! The engine's tuning knobs.

use std::time::Duration;

use asyncapex_core::Limits;

use super::retention::Retention;

/// Tuning of an engine. Every field has a builder method; the defaults suit most services.
///
/// ```
/// use std::time::Duration;
/// use asyncapex::EngineConfig;
///
/// let config = EngineConfig { concurrency: 32, poll_interval: Duration::from_millis(250), ..EngineConfig::default() };
/// assert_eq!(config.max_attempts, 3);
/// ```
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
    /// How long finished job records are kept (Apex: 7 days); engines that run jobs delete
    /// older ones.
    pub retention: Retention,
    /// How often the cleaner looks for records past their retention.
    pub clean_interval: Duration,
    /// How often the maintainer asks the store for its upkeep (`Store::maintain`).
    pub maintain_interval: Duration,
    /// A node (process) row silent this long — stopped, or dead without stopping — is
    /// deleted by the cleaner, so node lists do not fill with processes that are long gone
    /// (a day: an operator still sees last night's crash in the morning).
    pub forget_nodes_after: Duration,
    /// Named queues this engine works beside the default one (whose concurrency is
    /// `concurrency` unless configured here): an extension beyond Apex.
    pub queues: Vec<super::queues::Queue>,
    /// Per job type (its registered name: `Class`, or `Class.method` for a future): its
    /// queue, priority and retry policy. An extension beyond Apex.
    pub job_options: std::collections::HashMap<String, super::queues::JobOptions>,
}

/// Rules an engine built by the test kit follows; a normal engine has them all off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TestRules {
    /// Apex's rule: one batch `execute` per test; a batch whose `start` yields more chunks
    /// fails with Apex's "No more than one executeBatch" error after its first chunk.
    pub(crate) strict_batches: bool,
    /// Keep the state a job's code left after it ran (queueables, schedulables,
    /// finalizers), so a test reads it instead of logging to statics.
    pub(crate) capture_state: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            concurrency: 8,
            // Short leases renewed often are the engine's node liveness: a killed process's
            // jobs run again within lease + rescue interval (≤ 8 s), while a live process
            // renews all its leases in one store call every 2 s.
            lease_duration: Duration::from_secs(6),
            heartbeat_interval: Duration::from_secs(2),
            poll_interval: Duration::from_secs(1),
            rescue_interval: Duration::from_secs(2),
            max_attempts: 3,
            default_delay: None,
            default_max_stack_depth: None,
            limits: Limits::default(),
            default_time_zone: "UTC".into(),
            scheduler: None,
            retention: Retention::default(),
            clean_interval: Duration::from_secs(60),
            maintain_interval: Duration::from_secs(60),
            forget_nodes_after: Duration::from_secs(86_400),
            queues: Vec::new(),
            job_options: std::collections::HashMap::new(),
        }
    }
}
