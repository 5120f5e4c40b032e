//! The one status machine every job record follows (Apex's `AsyncApexJob.Status`).
//!
//! ```text
//! Holding ──► Queued ──► Preparing ──► Processing ──► Completed | Failed | Aborted
//!    │           │  └────────────────────►┘ │ ▲
//!    └──► Aborted└──► Aborted               │ └── rescued / released: back to Queued
//! ```
//!
//! Stores never write a status directly: each change is one of the named operations of the
//! [`Store`](crate::Store) trait (claim, finish, abort, rescue, release, promote), each a guarded
//! compare-and-set whose `WHERE` clause lists exactly the source statuses allowed by
//! [`JobStatus::can_become`]. The conformance suite applies every such operation to a job in
//! every status and fails on any move this table forbids. See `docs/state_machine.md` for the
//! diagram and who moves what.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Where a job record is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum JobStatus {
    /// In the flex queue, waiting for a batch slot (batch jobs only). Moved to `Queued` by the
    /// flex-queue promoter, to `Aborted` by `abort_job`.
    Holding,
    /// Waiting to run; its earliest run time may lie in the future (a delay). Moved to
    /// `Preparing`/`Processing` by a worker's claim, to `Aborted` by `abort_job`.
    Queued,
    /// A batch job's `start` is running. Moved on by the worker that holds its lease, or back
    /// to `Queued` by the rescuer when that lease expires.
    Preparing,
    /// Running under a worker's lease. Moved to a terminal status by that worker, or back to
    /// `Queued` (or to `Failed` after the attempt limit) by the rescuer when the lease expires,
    /// or by a graceful shutdown that releases it.
    Processing,
    /// Terminal: ran to the end without an unhandled error.
    Completed,
    /// Terminal: an unhandled error, a panic, a broken limit, an undeserializable payload, an
    /// unknown job type, or too many lost leases; `extended_status` says which.
    Failed,
    /// Terminal: aborted by `abort_job` (while waiting, or while running at the request of an
    /// operator).
    Aborted,
}

impl JobStatus {
    /// Every status, in life order: the canonical list that stores' CHECK constraints mirror.
    pub const ALL: [JobStatus; 7] = [
        JobStatus::Holding,
        JobStatus::Queued,
        JobStatus::Preparing,
        JobStatus::Processing,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Aborted,
    ];

    /// The name as Apex spells it (and stores keep it).
    pub const fn as_str(self) -> &'static str {
        match self {
            JobStatus::Holding => "Holding",
            JobStatus::Queued => "Queued",
            JobStatus::Preparing => "Preparing",
            JobStatus::Processing => "Processing",
            JobStatus::Completed => "Completed",
            JobStatus::Failed => "Failed",
            JobStatus::Aborted => "Aborted",
        }
    }

    /// Whether the job has ended for good.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Aborted
        )
    }

    /// Whether the job is waiting to run (it may still be aborted without running).
    pub const fn is_waiting(self) -> bool {
        matches!(self, JobStatus::Holding | JobStatus::Queued)
    }

    /// Whether a worker holds the job under a lease.
    pub const fn is_running(self) -> bool {
        matches!(self, JobStatus::Preparing | JobStatus::Processing)
    }

    /// The legal transitions: the only ones any store operation performs (the conformance case
    /// `every_status_change_is_one_the_status_machine_allows` checks each store against it).
    pub const fn can_become(self, next: JobStatus) -> bool {
        use JobStatus::*;
        matches!(
            (self, next),
            (Holding, Queued)
                | (Holding, Aborted)
                | (Queued, Preparing)
                | (Queued, Processing)
                | (Queued, Aborted)
                | (Preparing, Processing)
                | (Preparing, Queued)
                | (Preparing, Completed)
                | (Preparing, Failed)
                | (Preparing, Aborted)
                | (Processing, Queued)
                | (Processing, Completed)
                | (Processing, Failed)
                | (Processing, Aborted)
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = Error;

    /// Parses a status name in any case.
    fn from_str(s: &str) -> Result<Self, Error> {
        JobStatus::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::InvalidInput {
                what: "job status",
                input: s.to_owned(),
                rule: "expected one of Holding, Queued, Preparing, Processing, Completed, Failed, Aborted",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_statuses_have_no_way_out() {
        for from in JobStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in JobStatus::ALL {
                assert!(!from.can_become(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn nothing_returns_to_holding_and_nothing_is_its_own_successor() {
        for from in JobStatus::ALL {
            assert!(!from.can_become(JobStatus::Holding));
            assert!(!from.can_become(from));
        }
    }

    #[test]
    fn parses_any_case_and_names_the_rule() {
        assert_eq!(
            "processing".parse::<JobStatus>().unwrap(),
            JobStatus::Processing
        );
        let err = "Running".parse::<JobStatus>().unwrap_err().to_string();
        assert!(err.contains("Running") && err.contains("Queued"), "{err}");
    }
}
