//! Named queues, priorities, rate limits and tenants: extensions beyond Apex, which has one
//! shared pool per org. A job that names none of them is in the [`DEFAULT_QUEUE`] at
//! priority 0 with no tenant, and is claimed exactly as before (earliest run time first).
//!
//! How a queue's jobs are ordered: in two bands, then by `run_at + claim_delay`, where the
//! delay is [`PRIORITY_STEP`] × priority. The second band holds a tenant's jobs enqueued
//! while that tenant already had its queue's [`QueueSettings::tenant_limit`] jobs waiting
//! (fair share, *deferred*): a claim takes them only with the slots the first band leaves.
//! A job is still due at its `run_at`, so a queue with nothing better to do claims a
//! low-priority or deferred job at once; the delays only order jobs that wait together.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The queue of every job that names none.
pub const DEFAULT_QUEUE: &str = "default";

/// The most characters in a queue name.
pub const QUEUE_NAME_MAX: usize = 63;

/// The most characters in a tenant key.
pub const TENANT_MAX: usize = 255;

/// The lowest priority (priorities run from 0, claimed first, to this).
pub const PRIORITY_MAX: u8 = 9;

/// How much waiting one step of priority is worth. A job of priority `p` is ordered as if
/// it had become due `p` steps later, so behind jobs of a better priority it waits at most
/// `p` × this step (plus its queue's own backlog): priorities order claims without starving
/// anyone for longer than 9 minutes.
pub const PRIORITY_STEP: Duration = Duration::from_secs(60);

/// Apex's fair-share threshold: more than this many pending requests from one org and its
/// further work waits while others' runs.
pub const DEFAULT_TENANT_LIMIT: u32 = 2_000;

/// Checks a queue name: 1 to 63 characters of ASCII letters, digits, `_`, `-` and `.`.
///
/// ```
/// use asyncapex_core::queue::check_queue_name;
/// assert!(check_queue_name("callouts").is_ok());
/// assert!(check_queue_name("has space").is_err());
/// ```
///
/// # Errors
/// [`Error::InvalidInput`] naming the rule broken.
pub fn check_queue_name(name: &str) -> Result<()> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if name.is_empty() || name.len() > QUEUE_NAME_MAX || !ok_chars {
        return Err(Error::InvalidInput {
            what: "queue name",
            input: name.chars().take(80).collect(),
            rule: "a queue name is 1 to 63 characters of ASCII letters, digits, '_', '-' and '.'",
        });
    }
    Ok(())
}

/// Checks a tenant key: 1 to 255 characters, none a control character.
///
/// # Errors
/// [`Error::InvalidInput`] naming the rule broken.
pub fn check_tenant(tenant: &str) -> Result<()> {
    if tenant.is_empty()
        || tenant.chars().count() > TENANT_MAX
        || tenant.chars().any(char::is_control)
    {
        return Err(Error::InvalidInput {
            what: "tenant",
            input: tenant.chars().take(80).collect(),
            rule: "a tenant key is 1 to 255 characters, none a control character",
        });
    }
    Ok(())
}

/// Checks a priority: 0 (claimed first) to [`PRIORITY_MAX`].
///
/// # Errors
/// [`Error::InvalidInput`] above 9.
pub fn check_priority(priority: u8) -> Result<()> {
    if priority > PRIORITY_MAX {
        return Err(Error::InvalidInput {
            what: "priority",
            input: priority.to_string(),
            rule: "a priority is 0 (claimed first) to 9",
        });
    }
    Ok(())
}

/// The claim-order delay of a priority, in microseconds (what stores add to `run_at`).
pub fn priority_delay_micros(priority: u8) -> i64 {
    i64::from(priority.min(PRIORITY_MAX)) * PRIORITY_STEP.as_micros() as i64
}

/// At most `starts` jobs of a queue start in any window of `per`, across every node
/// sharing the store; jobs over the limit wait (they are not failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Starts allowed per window (at least 1, at most [`RateLimit::MAX_STARTS`]).
    pub starts: u32,
    /// The window.
    pub per: Duration,
}

impl RateLimit {
    /// The largest `starts`: the store keeps one row per start of the window.
    pub const MAX_STARTS: u32 = 100_000;

    /// `starts` per `per`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use asyncapex_core::queue::RateLimit;
    /// let limit = RateLimit::new(10, Duration::from_secs(1))?;
    /// assert_eq!(limit.starts, 10);
    /// assert!(RateLimit::new(0, Duration::from_secs(1)).is_err());
    /// # Ok::<(), asyncapex_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for no starts, more than [`RateLimit::MAX_STARTS`], or a
    /// window under a millisecond.
    pub fn new(starts: u32, per: Duration) -> Result<RateLimit> {
        if starts == 0 || starts > RateLimit::MAX_STARTS {
            return Err(Error::InvalidInput {
                what: "rate limit",
                input: starts.to_string(),
                rule: "a rate limit allows 1 to 100,000 starts per window",
            });
        }
        if per < Duration::from_millis(1) || per > Duration::from_secs(366 * 86_400) {
            return Err(Error::InvalidInput {
                what: "rate limit window",
                input: format!("{per:?}"),
                rule: "a rate limit's window is 1 ms to 366 days",
            });
        }
        Ok(RateLimit { starts, per })
    }
}

/// What is stored about a queue for every node: its global concurrency cap, its rate limit
/// and its tenant limit. Each node's own concurrency for the queue is its engine's setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSettings {
    /// The queue.
    pub name: String,
    /// The most of its jobs running at once across every node, if capped.
    pub global_limit: Option<u32>,
    /// Its rate limit, if any.
    pub rate_limit: Option<RateLimit>,
    /// Pending jobs one tenant may have before its further jobs are deferred.
    pub tenant_limit: u32,
}

impl QueueSettings {
    /// A queue with no cap and no rate limit, and Apex's tenant limit.
    pub fn new(name: impl Into<String>) -> QueueSettings {
        QueueSettings {
            name: name.into(),
            global_limit: None,
            rate_limit: None,
            tenant_limit: DEFAULT_TENANT_LIMIT,
        }
    }
}

/// Up to `limit` jobs to claim from one queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueClaim {
    /// The queue.
    pub queue: String,
    /// The most jobs to claim from it.
    pub limit: u32,
}

impl QueueClaim {
    /// Up to `limit` jobs of the default queue: what a single-pool engine claims.
    pub fn default_queue(limit: u32) -> Vec<QueueClaim> {
        vec![QueueClaim {
            queue: DEFAULT_QUEUE.to_owned(),
            limit,
        }]
    }
}

/// A queue as operators see it: its stored settings and what it holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueRecord {
    /// Its name.
    pub name: String,
    /// Whether an operator paused it (it claims nothing until resumed).
    pub paused: bool,
    /// When it was paused.
    pub paused_at: Option<Timestamp>,
    /// Its global concurrency cap, if any.
    pub global_limit: Option<u32>,
    /// Its rate limit, if any.
    pub rate_limit: Option<RateLimit>,
    /// Its tenant limit.
    pub tenant_limit: u32,
    /// Jobs waiting in it (due or not).
    pub queued: u64,
    /// Of those, the ones due now.
    pub due: u64,
    /// Its jobs running now, on every node.
    pub running: u64,
    /// The run time of its longest-waiting due job: `now` minus this is its latency.
    pub oldest_due_at: Option<Timestamp>,
}

/// One tenant's jobs in one queue, for the dashboard and metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantCount {
    /// The queue.
    pub queue: String,
    /// The tenant.
    pub tenant: String,
    /// Its jobs waiting.
    pub queued: u64,
    /// Its jobs running.
    pub running: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_tenants_and_priorities_are_checked() {
        assert!(check_queue_name("a.b-c_d9").is_ok());
        for bad in ["", "a b", "é", &"x".repeat(64)] {
            assert!(check_queue_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_tenant("org 42").is_ok());
        assert!(check_tenant("").is_err());
        assert!(check_tenant("a\nb").is_err());
        assert!(check_priority(9).is_ok());
        assert!(check_priority(10).is_err());
        assert_eq!(priority_delay_micros(0), 0);
        assert_eq!(priority_delay_micros(2), 120_000_000);
    }

    #[test]
    fn a_rate_limit_needs_starts_and_a_window() {
        assert!(RateLimit::new(1, Duration::from_millis(1)).is_ok());
        assert!(RateLimit::new(100_001, Duration::from_secs(1)).is_err());
        assert!(RateLimit::new(1, Duration::from_micros(10)).is_err());
    }
}
