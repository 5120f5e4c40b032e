//! Schedules (Apex's `CronTrigger` and `CronJobDetail`): a cron expression in a time zone that
//! creates a job record each time it fires.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::id::{CronTriggerId, JobId};
use crate::job::JobType;
use crate::status::JobStatus;

/// What is stored about a trigger's life; the states Apex shows are derived from it and
/// from its last firing's job ([`CronTriggerRecord::state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StoredTriggerState {
    /// Scheduled; fires at `next_fire_time`.
    Waiting,
    /// Paused by an operator; does not fire until resumed.
    Paused,
    /// Fired for the last time (its expression has no later fire time).
    Complete,
    /// Cannot be evaluated any more (e.g. its stored expression no longer parses).
    Error,
    /// Deleted with `abort_job`; kept for history, its name free again.
    Deleted,
}

impl StoredTriggerState {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            StoredTriggerState::Waiting => "WAITING",
            StoredTriggerState::Paused => "PAUSED",
            StoredTriggerState::Complete => "COMPLETE",
            StoredTriggerState::Error => "ERROR",
            StoredTriggerState::Deleted => "DELETED",
        }
    }
}

impl FromStr for StoredTriggerState {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "WAITING" => StoredTriggerState::Waiting,
            "PAUSED" => StoredTriggerState::Paused,
            "COMPLETE" => StoredTriggerState::Complete,
            "ERROR" => StoredTriggerState::Error,
            "DELETED" => StoredTriggerState::Deleted,
            _ => {
                return Err(Error::InvalidInput {
                    what: "trigger state",
                    input: s.to_owned(),
                    rule: "expected WAITING, PAUSED, COMPLETE, ERROR or DELETED",
                });
            }
        })
    }
}

/// A trigger's state as Apex's `CronTrigger.State` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TriggerState {
    /// Waiting for its next fire time.
    Waiting,
    /// Fired; its job is queued, about to run.
    Acquired,
    /// Its job is running.
    Executing,
    /// Will not fire again.
    Complete,
    /// Broken; `state_detail` says why.
    Error,
    /// Deleted.
    Deleted,
    /// Paused.
    Paused,
    /// Due again while its previous run is still going: it waits (runs never overlap).
    Blocked,
}

impl TriggerState {
    /// Apex's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            TriggerState::Waiting => "WAITING",
            TriggerState::Acquired => "ACQUIRED",
            TriggerState::Executing => "EXECUTING",
            TriggerState::Complete => "COMPLETE",
            TriggerState::Error => "ERROR",
            TriggerState::Deleted => "DELETED",
            TriggerState::Paused => "PAUSED",
            TriggerState::Blocked => "BLOCKED",
        }
    }
}

impl fmt::Display for TriggerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A schedule as stored, with every field of Apex's `CronTrigger` and `CronJobDetail`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CronTriggerRecord {
    /// The trigger's ID (`08e…`).
    pub id: CronTriggerId,
    /// The unique job name (Apex's `CronJobDetail.Name`).
    pub name: String,
    /// What each firing creates: `ScheduledApex` (`schedule`) or `BatchApex`
    /// (`schedule_batch`), Apex's `CronJobDetail.JobType` 7 and 9.
    pub job_type: JobType,
    /// The registered class of the scheduled job.
    pub class_name: String,
    /// The job's state, serialized when it was scheduled; every firing starts from it.
    pub payload: String,
    /// The cron expression (Apex's `CronExpression`).
    pub cron_expression: String,
    /// The IANA time zone it is evaluated in (Apex's `TimeZoneSidKey`).
    pub time_zone: String,
    /// How fire times in DST gaps and overlaps are handled (`quartz` or `never-skip`).
    pub dst_policy: String,
    /// The stored state.
    pub stored_state: StoredTriggerState,
    /// Why the trigger is in `ERROR`, if it is.
    pub state_detail: Option<String>,
    /// The next planned firing (`None` once it will not fire again).
    pub next_fire_time: Option<Timestamp>,
    /// The last firing.
    pub previous_fire_time: Option<Timestamp>,
    /// How many times it fired (Apex's `TimesTriggered`).
    pub times_triggered: u64,
    /// When it was scheduled (Apex's `StartTime`).
    pub start_time: Timestamp,
    /// When it completed or was deleted (Apex's `EndTime`).
    pub end_time: Option<Timestamp>,
    /// The job record of its latest firing.
    pub last_job_id: Option<JobId>,
    /// That job's status, read with the trigger.
    pub last_job_status: Option<JobStatus>,
    /// For a scheduled batch, the scope of the batch job it submits.
    pub batch_scope: Option<u32>,
}

impl CronTriggerRecord {
    /// The state Apex would show at `now`: `EXECUTING`/`ACQUIRED` while the latest firing's
    /// job runs or waits to run, `BLOCKED` if the next fire is already due meanwhile.
    pub fn state(&self, now: Timestamp) -> TriggerState {
        match self.stored_state {
            StoredTriggerState::Paused => TriggerState::Paused,
            StoredTriggerState::Complete if self.run_is_active() => TriggerState::Executing,
            StoredTriggerState::Complete => TriggerState::Complete,
            StoredTriggerState::Error => TriggerState::Error,
            StoredTriggerState::Deleted => TriggerState::Deleted,
            StoredTriggerState::Waiting => {
                if !self.run_is_active() {
                    return TriggerState::Waiting;
                }
                if self.next_fire_time.is_some_and(|t| t <= now) {
                    TriggerState::Blocked
                } else if self.last_job_status.is_some_and(|s| s.is_waiting()) {
                    TriggerState::Acquired
                } else {
                    TriggerState::Executing
                }
            }
        }
    }

    /// Whether the latest firing's job has not ended yet.
    pub fn run_is_active(&self) -> bool {
        self.last_job_status.is_some_and(|s| !s.is_terminal())
    }
}

/// A trigger to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCronTrigger {
    /// Minted at call time.
    pub id: CronTriggerId,
    /// Unique among triggers that are not deleted or complete.
    pub name: String,
    /// `ScheduledApex` or `BatchApex`.
    pub job_type: JobType,
    /// The registered class.
    pub class_name: String,
    /// The serialized job.
    pub payload: String,
    /// The cron expression.
    pub cron_expression: String,
    /// The IANA zone.
    pub time_zone: String,
    /// `quartz` or `never-skip`.
    pub dst_policy: String,
    /// The first fire time.
    pub next_fire_time: Timestamp,
    /// Scheduling time.
    pub start_time: Timestamp,
    /// For a scheduled batch, the scope of the batch job it submits.
    pub batch_scope: Option<u32>,
}

/// A schedule's name (Apex's `System.schedule(name, …)`): trimmed, 1 to 255 bytes; checked
/// once here for every entry point.
///
/// ```
/// use asyncapex_core::cron_trigger::ScheduleName;
/// assert_eq!(ScheduleName::new("  Nightly ").unwrap().as_str(), "Nightly");
/// assert!(ScheduleName::new("   ").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScheduleName(String);

impl ScheduleName {
    /// The longest name, in bytes.
    pub const MAX_LEN: usize = 255;

    /// Checks and trims a name.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a name that is empty (after trimming) or over 255 bytes.
    pub fn new(name: &str) -> Result<ScheduleName, Error> {
        let name = name.trim();
        if name.is_empty() || name.len() > Self::MAX_LEN {
            return Err(Error::InvalidInput {
                what: "schedule name",
                input: name.chars().take(60).collect(),
                rule: "a schedule name has 1 to 255 bytes",
            });
        }
        Ok(ScheduleName(name.to_owned()))
    }

    /// The trimmed name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The trimmed name, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}
