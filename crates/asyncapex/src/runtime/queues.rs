//! Named queues and per-type job options: extensions beyond Apex, whose one shared pool
//! and one answer to a failure (a finalizer) stay the default.
//!
//! A [`Queue`] is worked by this engine with its own concurrency (and, stored for every
//! node, an optional global cap, rate limit and tenant limit); [`JobOptions`] send a job
//! type's jobs to a queue at a priority and give it a [`RetryPolicy`]. The [`Routing`]
//! built from both stamps each new job and answers the executor's questions.

use std::collections::HashMap;
use std::time::Duration;

use asyncapex_core::queue::{
    DEFAULT_QUEUE, DEFAULT_TENANT_LIMIT, QueueSettings, RateLimit, check_priority, check_queue_name,
};
use asyncapex_core::{Error, JobId, JobRecord, JobType, NewJob};
use jiff::Timestamp;

/// A named queue this engine works, with its own concurrency: a flood of slow jobs in one
/// queue cannot take the slots of another. An extension beyond Apex.
///
/// ```
/// use std::time::Duration;
/// use asyncapex::Queue;
///
/// let callouts = Queue::new("callouts")
///     .concurrency(4)                              // on this node
///     .global_limit(10)                            // across every node sharing the store
///     .rate_limit(100, Duration::from_secs(60));   // starts per window, across every node
/// assert_eq!(callouts.name(), "callouts");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub(crate) name: String,
    pub(crate) concurrency: Option<usize>,
    pub(crate) global_limit: Option<u32>,
    pub(crate) rate_limit: Option<(u32, Duration)>,
    pub(crate) tenant_limit: Option<u32>,
}

impl Queue {
    /// A queue by name (1 to 63 ASCII letters, digits, `_`, `-`, `.`; checked by `start`).
    /// `"default"` configures the queue of jobs that name none. Its concurrency defaults to
    /// the engine's.
    pub fn new(name: impl Into<String>) -> Queue {
        Queue {
            name: name.into(),
            concurrency: None,
            global_limit: None,
            rate_limit: None,
            tenant_limit: None,
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many of its jobs this engine runs at once (0: this engine does not work it).
    pub fn concurrency(mut self, n: usize) -> Queue {
        self.concurrency = Some(n);
        self
    }

    /// The most of its jobs running at once across every node sharing the store (at least
    /// 1). A queue's stored rules (this, the rate limit, the tenant limit) are the ones of the
    /// engine that last started with the queue configured: give every node the same.
    pub fn global_limit(mut self, n: u32) -> Queue {
        self.global_limit = Some(n);
        self
    }

    /// At most `starts` of its jobs start in any window of `per`, across every node sharing
    /// the store; jobs over the limit wait.
    pub fn rate_limit(mut self, starts: u32, per: Duration) -> Queue {
        self.rate_limit = Some((starts, per));
        self
    }

    /// Pending jobs one tenant may have in this queue before its further jobs wait behind
    /// other tenants' (default 2,000, Apex's figure).
    pub fn tenant_limit(mut self, n: u32) -> Queue {
        self.tenant_limit = Some(n);
        self
    }

    fn settings(&self) -> Result<QueueSettings, Error> {
        if self.global_limit == Some(0) {
            return Err(Error::InvalidInput {
                what: "queue global limit",
                input: format!("{}: 0", self.name),
                rule: "a global limit allows at least one running job (pause a queue to stop it)",
            });
        }
        Ok(QueueSettings {
            name: self.name.clone(),
            global_limit: self.global_limit,
            rate_limit: self
                .rate_limit
                .map(|(starts, per)| RateLimit::new(starts, per))
                .transpose()?,
            tenant_limit: self.tenant_limit.unwrap_or(DEFAULT_TENANT_LIMIT),
        })
    }
}

/// Automatic retries of a failed job, with exponential backoff and jitter: an extension
/// beyond Apex, off unless a job type opts in with [`JobOptions::retry`].
///
/// Attempt `n` (the first is 1) that fails with a retryable error is followed by attempt
/// `n + 1`, due `min(cap, base × 2^(n−1))` later, shortened by up to `jitter` of itself so
/// that jobs failing together do not all come back at once. A [`JobError::permanent`]
/// error, a broken governor limit, or the last attempt ends the job `Failed`, with every
/// attempt's error kept in its attempt history. Chained work and the finalizer of a failed
/// attempt are discarded; the finalizer of the last attempt sees the final outcome.
/// Queueables, futures and scheduled runs retry; batches and finalizers do not.
///
/// [`JobError::permanent`]: crate::JobError::permanent
///
/// ```
/// use std::time::Duration;
/// use asyncapex::RetryPolicy;
///
/// let policy = RetryPolicy::exponential(5)
///     .base(Duration::from_secs(2))
///     .cap(Duration::from_secs(60))
///     .jitter(0.0);
/// assert_eq!(policy.backoff(1), (Duration::from_secs(2), Duration::from_secs(2)));
/// assert_eq!(policy.backoff(3).1, Duration::from_secs(8));
/// assert_eq!(policy.backoff(10).1, Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub(crate) max_attempts: u32,
    pub(crate) base: Duration,
    pub(crate) cap: Duration,
    pub(crate) jitter: f64,
}

impl RetryPolicy {
    /// Up to `max_attempts` attempts in all (at least 1), 1 s doubling to at most 1 h
    /// between them, with up to 20 % jitter.
    pub fn exponential(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(3600),
            jitter: 0.2,
        }
    }

    /// The wait after the first failed attempt.
    pub fn base(mut self, base: Duration) -> RetryPolicy {
        self.base = base;
        self
    }

    /// The longest wait between attempts.
    pub fn cap(mut self, cap: Duration) -> RetryPolicy {
        self.cap = cap;
        self
    }

    /// How much of a wait may be cut at random, 0.0 to 1.0.
    pub fn jitter(mut self, fraction: f64) -> RetryPolicy {
        self.jitter = fraction;
        self
    }

    /// Attempts in all.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The range the wait after failed attempt `attempt` falls in: `(shortest, longest)`.
    pub fn backoff(&self, attempt: u32) -> (Duration, Duration) {
        let doublings = attempt.saturating_sub(1).min(63);
        let longest = self
            .base
            .checked_mul(1_u32.checked_shl(doublings.min(31)).unwrap_or(u32::MAX))
            .unwrap_or(self.cap)
            .min(self.cap);
        let jitter = self.jitter.clamp(0.0, 1.0);
        (micros(longest.mul_f64(1.0 - jitter)), micros(longest))
    }

    /// The wait after failed attempt `attempt` of job `id`: inside [`backoff`](Self::backoff),
    /// at a point drawn from the job and attempt (so a replayed test sees the same schedule).
    pub fn delay(&self, id: JobId, attempt: u32) -> Duration {
        let (shortest, longest) = self.backoff(attempt);
        let spread = longest.saturating_sub(shortest);
        shortest + micros(spread.mul_f64(unit_draw(id, attempt)))
    }

    fn check(&self, class: &str) -> Result<(), Error> {
        let bad = |rule| Error::InvalidInput {
            what: "retry policy",
            input: format!("{class}: {self:?}"),
            rule,
        };
        if self.max_attempts == 0 {
            return Err(bad("a retry policy allows at least one attempt"));
        }
        if self.base.is_zero() || self.cap < self.base || self.cap > MAX_BACKOFF {
            return Err(bad(
                "a retry policy's base wait is above zero and not above its cap, which is at most 366 days",
            ));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(bad("a retry policy's jitter is a fraction from 0.0 to 1.0"));
        }
        Ok(())
    }
}

/// The longest wait a retry policy may set between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(366 * 86_400);

/// Whole microseconds, what stores keep of an instant.
fn micros(d: Duration) -> Duration {
    Duration::from_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// A number in `[0, 1)` drawn from a job and an attempt (SplitMix64 over an FNV-1a hash of
/// the ID): spread without a random-number dependency, and reproducible.
fn unit_draw(id: JobId, attempt: u32) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_15().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = h ^ u64::from(attempt).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1_u64 << 53) as f64
}

/// Where a job type's jobs go and how their failures are answered. Registered per type
/// name with [`EngineBuilder::job_options`](crate::EngineBuilder::job_options); an enqueue's
/// own [`EnqueueOptions`](crate::EnqueueOptions) queue and priority win over these.
///
/// ```
/// use std::time::Duration;
/// use asyncapex::{JobOptions, RetryPolicy};
///
/// let options = JobOptions::default()
///     .queue("callouts")
///     .priority(2)
///     .retry(RetryPolicy::exponential(5).cap(Duration::from_secs(300)));
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobOptions {
    pub(crate) queue: Option<String>,
    pub(crate) priority: Option<u8>,
    pub(crate) retry: Option<RetryPolicy>,
}

impl JobOptions {
    /// Its jobs wait in this queue (which this or another engine must work).
    pub fn queue(mut self, queue: impl Into<String>) -> JobOptions {
        self.queue = Some(queue.into());
        self
    }

    /// Its jobs' priority in their queue, 0 (claimed first, the default) to 9.
    pub fn priority(mut self, priority: u8) -> JobOptions {
        self.priority = Some(priority);
        self
    }

    /// Failed attempts are retried by this policy.
    pub fn retry(mut self, policy: RetryPolicy) -> JobOptions {
        self.retry = Some(policy);
        self
    }
}

/// A queue this engine claims from, and how many of its jobs it runs at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WorkedQueue {
    pub(crate) name: String,
    pub(crate) concurrency: usize,
}

/// The engine's queues and per-type options, fixed when it starts.
#[derive(Debug, Clone, Default)]
pub(crate) struct Routing {
    /// Queues this engine claims from, the default first; none with concurrency 0.
    pub(crate) worked: Vec<WorkedQueue>,
    /// Settings to store for other nodes.
    pub(crate) settings: Vec<QueueSettings>,
    /// Options by registered type name (`Class`, or `Class.method` for a future).
    options: HashMap<String, JobOptions>,
}

impl Routing {
    /// Checks and combines the builder's queues and options. The default queue runs
    /// `concurrency` jobs unless configured otherwise.
    pub(crate) fn new(
        concurrency: usize,
        queues: &[Queue],
        options: &HashMap<String, JobOptions>,
    ) -> Result<Routing, Error> {
        let mut worked = vec![WorkedQueue {
            name: DEFAULT_QUEUE.to_owned(),
            concurrency,
        }];
        let mut settings = Vec::new();
        for q in queues {
            check_queue_name(&q.name)?;
            // Every configured queue stores its rules, so a cap or rate limit removed from
            // the code is removed from the store when the engine starts.
            settings.push(q.settings()?);
            let n = q.concurrency.unwrap_or(concurrency);
            match worked.iter_mut().find(|w| w.name == q.name) {
                Some(w) if q.name == DEFAULT_QUEUE => w.concurrency = n,
                Some(_) => {
                    return Err(Error::InvalidInput {
                        what: "queue",
                        input: q.name.clone(),
                        rule: "each queue is configured once",
                    });
                }
                None => worked.push(WorkedQueue {
                    name: q.name.clone(),
                    concurrency: n,
                }),
            }
        }
        worked.retain(|w| w.concurrency > 0);
        for (class, o) in options {
            if let Some(q) = &o.queue {
                check_queue_name(q)?;
            }
            if let Some(p) = o.priority {
                check_priority(p)?;
            }
            if let Some(r) = &o.retry {
                r.check(class)?;
            }
        }
        Ok(Routing {
            worked,
            settings,
            options: options.clone(),
        })
    }

    /// Jobs this engine runs at once, over all its queues.
    pub(crate) fn concurrency(&self) -> usize {
        self.worked
            .iter()
            .fold(0_usize, |n, w| n.saturating_add(w.concurrency))
    }

    /// The index of a worked queue.
    pub(crate) fn index(&self, queue: &str) -> Option<usize> {
        self.worked.iter().position(|w| w.name == queue)
    }

    fn options_for(
        &self,
        job_type: JobType,
        class: &str,
        method: Option<&str>,
    ) -> Option<&JobOptions> {
        // Most engines set no options: no key is built for each job they stamp.
        if self.options.is_empty() {
            return None;
        }
        let key = match (job_type, method) {
            (JobType::Future, Some(m)) => format!("{class}.{m}"),
            _ => class.to_owned(),
        };
        self.options.get(&key)
    }

    /// The retry policy of a stored job's type, if it has one and its kind retries.
    pub(crate) fn retry_policy(&self, job: &JobRecord) -> Option<RetryPolicy> {
        if !retries(job.job_type) {
            return None;
        }
        self.options_for(job.job_type, &job.class_name, job.method_name.as_deref())
            .and_then(|o| o.retry)
    }

    /// When a failed attempt of `job` runs again under its type's policy, or `None` when it
    /// does not (no policy, a permanent error, or the attempts are used up).
    pub(crate) fn retry_at(
        &self,
        job: &JobRecord,
        permanent: bool,
        now: Timestamp,
    ) -> Option<Timestamp> {
        let policy = self.retry_policy(job)?;
        if permanent || job.attempt >= policy.max_attempts {
            return None;
        }
        asyncapex_core::clock::checked_add(now, policy.delay(job.id, job.attempt)).ok()
    }

    /// Stamps a new job with its type's queue, priority and attempt count, then with the
    /// enqueue's own queue, priority and tenant, which win.
    pub(crate) fn stamp(&self, mut job: NewJob, enqueue: &EnqueueRoute) -> NewJob {
        // Batches stay in the default queue, under the flex queue's rules.
        if job.job_type == JobType::BatchApex {
            return job;
        }
        if let Some(o) = self.options_for(job.job_type, &job.class_name, job.method_name.as_deref())
        {
            if let Some(q) = &o.queue {
                job.queue = q.clone();
            }
            if let Some(p) = o.priority {
                job.priority = p;
            }
            if let Some(r) = &o.retry
                && retries(job.job_type)
            {
                job.max_attempts = r.max_attempts;
            }
        }
        if let Some(q) = &enqueue.queue {
            job.queue = q.clone();
        }
        if let Some(p) = enqueue.priority {
            job.priority = p;
        }
        if enqueue.tenant.is_some() {
            job.tenant = enqueue.tenant.clone();
        }
        job
    }
}

/// Whether jobs of this kind are retried by a policy: queueables, futures and scheduled
/// runs; a batch's chunks have their own failure rules, and a finalizer runs once.
fn retries(job_type: JobType) -> bool {
    matches!(
        job_type,
        JobType::Queueable | JobType::Future | JobType::ScheduledApex
    )
}

/// An enqueue's own queue, priority and tenant (checked when they were set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EnqueueRoute {
    pub(crate) queue: Option<String>,
    pub(crate) priority: Option<u8>,
    pub(crate) tenant: Option<String>,
}

impl EnqueueRoute {
    /// Checks the values an application gave.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if let Some(q) = &self.queue {
            check_queue_name(q)?;
        }
        if let Some(p) = self.priority {
            check_priority(p)?;
        }
        if let Some(t) = &self.tenant {
            asyncapex_core::queue::check_tenant(t)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_and_jitter_stays_inside_its_bound() {
        let p = RetryPolicy::exponential(10)
            .base(Duration::from_secs(1))
            .cap(Duration::from_secs(30))
            .jitter(0.5);
        assert_eq!(
            p.backoff(1),
            (Duration::from_millis(500), Duration::from_secs(1))
        );
        assert_eq!(p.backoff(4).1, Duration::from_secs(8));
        assert_eq!(p.backoff(6).1, Duration::from_secs(30));
        assert_eq!(p.backoff(u32::MAX).1, Duration::from_secs(30));
        let ids = asyncapex_core::IdGenerator::new(1);
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let mut distinct = std::collections::HashSet::new();
        for _ in 0..200 {
            let id = ids.job_id(now);
            for attempt in 1..6 {
                let d = p.delay(id, attempt);
                let (lo, hi) = p.backoff(attempt);
                assert!(lo <= d && d <= hi, "{d:?} outside {lo:?}..{hi:?}");
                distinct.insert(d);
            }
            assert_eq!(p.delay(id, 2), p.delay(id, 2));
        }
        assert!(
            distinct.len() > 500,
            "jitter spreads waits: {}",
            distinct.len()
        );
    }

    #[test]
    fn bad_policies_and_queues_are_refused_by_name() {
        let mut options = HashMap::new();
        options.insert(
            "A".to_owned(),
            JobOptions::default().retry(RetryPolicy::exponential(0)),
        );
        assert!(Routing::new(1, &[], &options).is_err());
        options.insert(
            "A".to_owned(),
            JobOptions::default().retry(RetryPolicy::exponential(2).jitter(2.0)),
        );
        assert!(Routing::new(1, &[], &options).is_err());
        assert!(Routing::new(1, &[Queue::new("bad name")], &HashMap::new()).is_err());
        assert!(Routing::new(1, &[Queue::new("a"), Queue::new("a")], &HashMap::new()).is_err());
        let r = Routing::new(
            3,
            &[
                Queue::new("a").concurrency(2),
                Queue::new("default").concurrency(0),
            ],
            &HashMap::new(),
        )
        .unwrap();
        assert_eq!(
            r.worked,
            vec![WorkedQueue {
                name: "a".into(),
                concurrency: 2
            }]
        );
    }
}
