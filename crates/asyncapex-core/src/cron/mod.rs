//! Quartz-dialect cron expressions, as used by Apex `System.schedule`.
//!
//! Syntax: `Seconds Minutes Hours Day_of_month Month Day_of_week [Year]`, with
//! `, - * ? / L W #`, month names `JAN`–`DEC` and weekday names `SUN`–`SAT` in any
//! case, weekdays numbered 1 (Sunday) to 7 (Saturday), years 1970–2099, and
//! exactly one of the two day fields set to `?`.
//!
//! Next fire times agree with Quartz Scheduler 2.3's
//! `org.quartz.CronExpression#getTimeAfter` (checked against it on a fixture of
//! thousands of cases, see `tests/fixtures/quartz_next.tsv`), including its
//! behaviour around daylight-saving transitions, unless [`DstPolicy::NeverSkip`]
//! is asked for. Fire times are whole seconds; nothing after the year 2099 is
//! ever returned (Apex's limit; Quartz itself goes on to the current year + 100).

mod error;
mod explain;
mod parse;
mod schedule;

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::tz::TimeZone;

pub use error::{CronError, CronField, FieldErrorKind};
pub use parse::MAX_EXPR_LEN;

/// How strictly to read an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CronDialect {
    /// The full Quartz dialect (default): every special character wherever
    /// Quartz accepts it, including steps like `0 */15 * * * ?`.
    #[default]
    Quartz,
    /// Apex's documented subset: the seconds and minutes fields must be plain
    /// integers (no `, - * /`), so a single job fires at most once per hour.
    /// Everything else is as [`CronDialect::Quartz`].
    ApexStrict,
}

/// What to do with fire times that a daylight-saving change makes ambiguous or
/// non-existent in the expression's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DstPolicy {
    /// Exactly what Quartz 2.3 does (default). Its surprises:
    ///
    /// * **Spring-forward gap: the fire time is skipped.** A daily job at 02:30 in
    ///   `America/New_York` does not run at all on the day clocks jump from 02:00
    ///   to 03:00 (nor, e.g., at 02:15 on Lord Howe Island's 30-minute jump);
    ///   it runs at 02:30 the day before and the day after. Jobs whose hour is
    ///   `*` or a step simply have no runs inside the missing hour.
    /// * **Fall-back overlap: only the second (later) pass of the repeated hour
    ///   exists.** A daily job at 01:30 in New York fires once, at 01:30 standard
    ///   time (06:30Z), an hour later than a naive reading suggests; a job every
    ///   10 minutes runs at 00:50 daylight time and next at 01:00 standard time,
    ///   70 real minutes later, with nothing during the first 01:xx hour; a job
    ///   every 15 seconds goes from 00:59:45 daylight time straight to 01:00:00
    ///   standard time, an hour of silence. Any search that starts in the first
    ///   pass of the hour is moved to the second pass.
    ///   (Quartz reads wall times the way `java.util.GregorianCalendar` does:
    ///   a time in a gap with the pre-gap offset, one in an overlap with the
    ///   post-transition offset.)
    #[default]
    Quartz,
    /// Opt-in: wall-clock semantics that never lose or double a run. A fire time
    /// that falls in a spring-forward gap fires at the first instant after the
    /// gap (03:00 daylight time for a 02:30 job in New York); several fire times
    /// inside one gap collapse into that single run. A fire time in a fall-back
    /// overlap fires once, at the earlier of its two instants (01:30 daylight
    /// time), and the repeated wall-clock hour is not run again.
    NeverSkip,
}

impl FromStr for DstPolicy {
    type Err = String;

    /// Accepts `quartz` and `never-skip` (also `never_skip`, `neverskip`), any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "quartz" => Ok(DstPolicy::Quartz),
            "never-skip" | "never_skip" | "neverskip" => Ok(DstPolicy::NeverSkip),
            other => Err(format!(
                "unknown DST policy {other:?}: expected \"quartz\" or \"never-skip\""
            )),
        }
    }
}

impl fmt::Display for DstPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DstPolicy::Quartz => "quartz",
            DstPolicy::NeverSkip => "never-skip",
        })
    }
}

/// A parsed Quartz cron expression.
///
/// Equality compares the original text as well as the meaning, so `"0 0 12 * * ?"`
/// and `"0 0 12 ? * *"` are different values even though they fire alike.
///
/// ```
/// use asyncapex_core::cron::{CronExpr, DstPolicy};
/// use jiff::{Timestamp, tz::TimeZone};
///
/// let expr: CronExpr = "0 0 22 ? * 6L".parse()?;
/// assert_eq!(expr.explain(), "at 22:00 on the last Friday of every month");
///
/// let tz = TimeZone::get("America/New_York")?;
/// let after: Timestamp = "2026-01-01T00:00:00Z".parse()?;
/// let next = expr.next_after(after, &tz, DstPolicy::Quartz).unwrap();
/// assert_eq!(next.to_string(), "2026-01-31T03:00:00Z"); // Fri 30 Jan, 22:00 EST
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronExpr {
    text: String,
    fields: parse::Fields,
}

impl CronExpr {
    /// Parse an expression in the full Quartz dialect.
    pub fn parse(expr: &str) -> Result<CronExpr, CronError> {
        CronExpr::parse_with(expr, CronDialect::Quartz)
    }

    /// Parse an expression in the given dialect.
    pub fn parse_with(expr: &str, dialect: CronDialect) -> Result<CronExpr, CronError> {
        let fields = parse::parse(expr, dialect)?;
        Ok(CronExpr {
            text: expr.to_owned(),
            fields,
        })
    }

    /// The first fire time strictly after `after`, evaluated in `tz`, or `None`
    /// if the expression never fires again up to the end of 2099.
    ///
    /// Works at whole-second resolution, like Quartz: sub-second parts of
    /// `after` are dropped first.
    pub fn next_after(
        &self,
        after: Timestamp,
        tz: &TimeZone,
        policy: DstPolicy,
    ) -> Option<Timestamp> {
        let mut secs = after.as_second();
        if after.subsec_nanosecond() < 0 {
            secs -= 1;
        }
        let next = match policy {
            DstPolicy::Quartz => schedule::quartz_next(&self.fields, schedule::Zone::of(tz), secs),
            DstPolicy::NeverSkip => schedule::never_skip_next(&self.fields, tz, secs),
        }?;
        Timestamp::from_second(next).ok()
    }

    /// All fire times strictly after `after`, in order, each computed from the
    /// previous as Quartz's trigger does. Ends after the last one in 2099. The
    /// iterator owns a copy of the expression, so it does not borrow `self`.
    pub fn iter_after(
        &self,
        after: Timestamp,
        tz: TimeZone,
        policy: DstPolicy,
    ) -> impl Iterator<Item = Timestamp> + use<> {
        let expr = self.clone();
        let mut cur = after;
        std::iter::from_fn(move || {
            let next = expr.next_after(cur, &tz, policy)?;
            cur = next;
            Some(next)
        })
    }

    /// A plain-English description, e.g. `"at 22:00 on the last Friday of every
    /// month"` for `0 0 22 ? * 6L`.
    pub fn explain(&self) -> String {
        explain::explain(&self.fields)
    }

    /// The expression exactly as it was given.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for CronExpr {
    type Err = CronError;

    /// Same as [`CronExpr::parse`] (Quartz dialect).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CronExpr::parse(s)
    }
}

impl fmt::Display for CronExpr {
    /// Writes the original text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests;
