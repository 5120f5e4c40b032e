//! Where time comes from: the system clock in production, a manual clock in tests.
//!
//! Every service that reasons about time — delays, leases, the rescuer, cron — asks a
//! [`Clock`], never the operating system directly, so a test can move time forward by an hour
//! in a microsecond and see exactly what a real hour would have done.
//!
//! ```
//! use std::time::Duration;
//! use asyncapex_core::{Clock, ManualClock};
//!
//! let clock = ManualClock::new("2026-03-08T06:59:00Z".parse().unwrap());
//! clock.advance(Duration::from_secs(60));
//! assert_eq!(clock.now().to_string(), "2026-03-08T07:00:00Z");
//! ```

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::watch;

/// A boxed future that completes when a clock reaches a deadline.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A source of the current instant, and a way to wait for a later one.
pub trait Clock: Send + Sync + Debug + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;

    /// Completes once [`now`](Clock::now) has reached `deadline`.
    fn sleep_until(&self, deadline: Timestamp) -> Sleep;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn sleep_until(&self, deadline: Timestamp) -> Sleep {
        let wait = duration_between(Timestamp::now(), deadline);
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that moves only when told to: for deterministic tests.
///
/// Clones share one time. Sleepers wake when [`advance`](ManualClock::advance) or
/// [`set`](ManualClock::set) moves the time to or past their deadline.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<watch::Sender<Timestamp>>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> ManualClock {
        let (tx, _rx) = watch::channel(start);
        ManualClock { now: Arc::new(tx) }
    }

    /// A clock stopped at the current system time.
    pub fn starting_now() -> ManualClock {
        ManualClock::new(Timestamp::now())
    }

    /// The clock's current instant (also [`Clock::now`], without importing the trait).
    pub fn now(&self) -> Timestamp {
        *self.now.borrow()
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.now.send_modify(|t| *t = add(*t, by));
    }

    /// Sets the clock to an instant (earlier instants are allowed, for tests of clock skew).
    pub fn set(&self, to: Timestamp) {
        self.now.send_replace(to);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        ManualClock::now(self)
    }

    fn sleep_until(&self, deadline: Timestamp) -> Sleep {
        let mut rx = self.now.subscribe();
        Box::pin(async move {
            // `wait_for` checks the current value first, so a deadline already passed
            // returns at once; if the clock is dropped we never wake, like a stopped clock.
            if rx.wait_for(|now| *now >= deadline).await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

/// `ts + by`, saturating at the largest instant jiff can represent.
pub fn add(ts: Timestamp, by: Duration) -> Timestamp {
    let micros = ts
        .as_microsecond()
        .saturating_add(i64::try_from(by.as_micros()).unwrap_or(i64::MAX));
    Timestamp::from_microsecond(micros).unwrap_or(Timestamp::MAX)
}

/// The latest instant asyncapex lets reach a store: 9999-01-01T00:00:00Z.
///
/// jiff's own limit ([`Timestamp::MAX`], late on 9999-12-30) is not a safe ceiling: an
/// instant there cannot always be read back from whole microseconds, printed in a zone east
/// of UTC, or have a lease or a retry delay added to it. A year of margin leaves room for all
/// three, and no real delay or schedule comes near it.
pub const MAX_STORABLE: Timestamp = Timestamp::constant(253_370_764_800, 0);

/// The text of [`MAX_STORABLE`], for error messages (which take static text).
const MAX_STORABLE_RULE: &str =
    "the instant it leads to must not be later than 9999-01-01T00:00:00Z, the latest a store keeps";

/// `now + by`, or an error if that passes [`MAX_STORABLE`].
///
/// Use it for every instant computed from a caller's duration (a delay, a lease, a retry) on
/// its way to a store: [`add`] saturates, and a saturated instant is stored but cannot be read
/// back, which takes down every listing it is part of.
///
/// # Errors
/// [`Error::InvalidInput`](crate::Error::InvalidInput) with `what: "duration"`, the duration
/// as its input, and a rule naming the bound.
///
/// # Example
/// ```
/// use std::time::Duration;
/// use asyncapex_core::clock::checked_add;
///
/// let now = "2026-03-08T06:59:00Z".parse().unwrap();
/// assert_eq!(checked_add(now, Duration::from_secs(60)).unwrap().to_string(), "2026-03-08T07:00:00Z");
/// assert!(checked_add(now, Duration::from_secs(u64::MAX)).is_err());
/// ```
pub fn checked_add(now: Timestamp, by: Duration) -> crate::Result<Timestamp> {
    let refused = || crate::Error::InvalidInput {
        what: "duration",
        input: format!("{by:?}"),
        rule: MAX_STORABLE_RULE,
    };
    let micros = i64::try_from(by.as_micros()).map_err(|_| refused())?;
    let sum = now
        .as_microsecond()
        .checked_add(micros)
        .ok_or_else(refused)?;
    if sum > MAX_STORABLE.as_microsecond() {
        return Err(refused());
    }
    Timestamp::from_microsecond(sum).map_err(|_| refused())
}

/// `ts - by`, saturating at the smallest instant jiff can represent.
pub fn sub(ts: Timestamp, by: Duration) -> Timestamp {
    let micros = ts
        .as_microsecond()
        .saturating_sub(i64::try_from(by.as_micros()).unwrap_or(i64::MAX));
    Timestamp::from_microsecond(micros).unwrap_or(Timestamp::MIN)
}

/// How long from `from` until `to`; zero if `to` is not later.
pub fn duration_between(from: Timestamp, to: Timestamp) -> Duration {
    let micros = to.as_microsecond().saturating_sub(from.as_microsecond());
    Duration::from_micros(u64::try_from(micros).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_add_refuses_a_duration_past_the_latest_storable_instant() {
        let now: Timestamp = "2026-12-02T06:00:00Z".parse().unwrap();
        // The delay of issue 13: it stored a run_at no store could read back.
        let huge = Duration::from_secs(115_200_858_273_512);
        let err = checked_add(now, huge).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(
                err,
                crate::Error::InvalidInput {
                    what: "duration",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(text.contains("115200858273512s"), "{text}");
        assert!(text.contains("9999-01-01T00:00:00Z"), "{text}");
        // Even Duration::MAX is an error, not a panic or a saturated instant.
        assert!(checked_add(now, Duration::MAX).is_err());
        assert_eq!(
            checked_add(now, Duration::from_secs(60))
                .unwrap()
                .to_string(),
            "2026-12-02T06:01:00Z"
        );
        let to_bound = duration_between(now, MAX_STORABLE);
        assert_eq!(checked_add(now, to_bound).unwrap(), MAX_STORABLE);
        assert!(checked_add(now, to_bound + Duration::from_micros(1)).is_err());
    }

    #[test]
    fn the_latest_storable_instant_reads_back_from_microseconds_and_prints_in_any_zone() {
        let back = Timestamp::from_microsecond(MAX_STORABLE.as_microsecond()).unwrap();
        assert_eq!(back, MAX_STORABLE);
        for zone in ["Pacific/Kiritimati", "Etc/GMT+12", "UTC"] {
            let zoned = MAX_STORABLE.in_tz(zone).unwrap();
            assert!(zoned.year() >= 9998, "{zoned}");
        }
    }

    #[tokio::test]
    async fn manual_sleep_wakes_only_when_advanced_past_deadline() {
        let clock = ManualClock::new(Timestamp::from_second(1_000).unwrap());
        let deadline = add(clock.now(), Duration::from_secs(60));
        let mut sleep = clock.sleep_until(deadline);
        // Not yet due: polling once must leave it pending.
        assert!(futures_poll_once(&mut sleep).await.is_none());
        clock.advance(Duration::from_secs(59));
        assert!(futures_poll_once(&mut sleep).await.is_none());
        clock.advance(Duration::from_secs(1));
        tokio::time::timeout(Duration::from_secs(5), sleep)
            .await
            .expect("sleep must complete once the deadline is reached");
    }

    async fn futures_poll_once(s: &mut Sleep) -> Option<()> {
        tokio::time::timeout(Duration::from_millis(20), s.as_mut())
            .await
            .ok()
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(add(Timestamp::MAX, Duration::from_secs(1)), Timestamp::MAX);
        assert_eq!(sub(Timestamp::MIN, Duration::from_secs(1)), Timestamp::MIN);
        let t = Timestamp::from_second(10).unwrap();
        assert_eq!(
            duration_between(t, Timestamp::from_second(5).unwrap()),
            Duration::ZERO
        );
    }
}
