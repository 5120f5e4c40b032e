//! Bulk fills of finished job records, for benchmarks and load tests: a store that has run
//! for months, made in seconds. Each store crate writes the rows its own fastest way
//! (`fill_finished`); the rows themselves are decided here, once, so both stores hold the
//! same history.

use jiff::{SignedDuration, Timestamp};

use crate::{IdGenerator, JobId, JobStatus, JobType};

/// What a fill writes: `count` finished job records whose creation times spread evenly from
/// `from` to `to`, with IDs minted by node `node` (pick one no live process uses).
///
/// The mix is fixed ([`FinishedJobsFill::row`]): 97 % Completed, 2 % Failed, 1 % Aborted;
/// half Queueable, a fifth Future, a tenth each BatchApex, ScheduledApex and Finalizer.
///
/// ```
/// use asyncapex_core::fill::FinishedJobsFill;
/// use asyncapex_core::{IdGenerator, JobStatus};
/// let to = jiff::Timestamp::from_second(1_800_000_000).unwrap();
/// let fill = FinishedJobsFill::over_days(1_000, 30, to);
/// let ids = IdGenerator::new(fill.node);
/// let first = fill.row(&ids, 0);
/// assert!(first.status.is_terminal());
/// assert!(first.created_at < to);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedJobsFill {
    /// How many records.
    pub count: u64,
    /// The first record's creation time.
    pub from: Timestamp,
    /// The last record's creation time (at most).
    pub to: Timestamp,
    /// The node number in the records' IDs.
    pub node: u16,
}

/// One record of a fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilledJob {
    /// Its ID (minted at `created_at`).
    pub id: JobId,
    /// Its type.
    pub job_type: JobType,
    /// Its class (`Bench` and the type).
    pub class_name: &'static str,
    /// `run` for a future method, else `None`.
    pub method_name: Option<&'static str>,
    /// Completed, Failed or Aborted.
    pub status: JobStatus,
    /// Why a failed record failed.
    pub extended_status: Option<&'static str>,
    /// When it was created (and due).
    pub created_at: Timestamp,
    /// When it started; `None` for an aborted record (aborted while queued).
    pub started_at: Option<Timestamp>,
    /// When it ended.
    pub completed_at: Timestamp,
    /// Attempts made.
    pub attempt: u32,
}

/// The node number fills use unless told otherwise: far from the small numbers stores hand
/// out to live processes.
pub const FILL_NODE: u16 = 65_000;

impl FinishedJobsFill {
    /// `count` records created over the `days` days before `to`, on [`FILL_NODE`].
    pub fn over_days(count: u64, days: u32, to: Timestamp) -> FinishedJobsFill {
        let from = to
            .checked_sub(SignedDuration::from_hours(24 * i64::from(days)))
            .unwrap_or(Timestamp::UNIX_EPOCH);
        FinishedJobsFill {
            count,
            from,
            to,
            node: FILL_NODE,
        }
    }

    /// Record `i` (0-based) of the fill; call with `i` in increasing order on one
    /// generator, so IDs increase with creation time as live IDs do.
    pub fn row(&self, ids: &IdGenerator, i: u64) -> FilledJob {
        let span = self.to.duration_since(self.from).as_micros().max(0);
        let offset = span * i128::from(i) / i128::from(self.count.max(1));
        let created_at = self
            .from
            .checked_add(SignedDuration::from_micros(
                i64::try_from(offset).unwrap_or(i64::MAX),
            ))
            .unwrap_or(self.to);
        let status = match i % 100 {
            7 | 57 => JobStatus::Failed,
            33 => JobStatus::Aborted,
            _ => JobStatus::Completed,
        };
        let (job_type, class_name) = match i % 10 {
            0..=4 => (JobType::Queueable, "BenchQueueable"),
            5 | 6 => (JobType::Future, "BenchFuture"),
            7 => (JobType::BatchApex, "BenchBatch"),
            8 => (JobType::ScheduledApex, "BenchScheduled"),
            _ => (JobType::Finalizer, "BenchFinalizer"),
        };
        let ran = status != JobStatus::Aborted;
        let started_at = ran.then_some(created_at);
        let completed_at = created_at
            .checked_add(SignedDuration::from_millis(if ran { 20 } else { 0 }))
            .unwrap_or(created_at);
        FilledJob {
            id: ids.job_id(created_at),
            job_type,
            class_name,
            method_name: (job_type == JobType::Future).then_some("run"),
            status,
            extended_status: (status == JobStatus::Failed).then_some("bench: failed on purpose"),
            created_at,
            started_at,
            completed_at,
            attempt: u32::from(ran),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rows_are_finished_ordered_and_mixed() {
        let to = Timestamp::from_second(1_800_000_000).unwrap();
        let fill = FinishedJobsFill::over_days(10_000, 30, to);
        let ids = IdGenerator::new(fill.node);
        let rows: Vec<FilledJob> = (0..fill.count).map(|i| fill.row(&ids, i)).collect();
        assert!(
            rows.windows(2)
                .all(|w| w[0].id < w[1].id && w[0].created_at <= w[1].created_at)
        );
        assert!(
            rows.iter()
                .all(|r| r.status.is_terminal() && r.created_at >= fill.from && r.created_at <= to)
        );
        let failed = rows
            .iter()
            .filter(|r| r.status == JobStatus::Failed)
            .count();
        let aborted = rows
            .iter()
            .filter(|r| r.status == JobStatus::Aborted)
            .count();
        assert_eq!((failed, aborted), (200, 100));
        assert!(
            rows.iter()
                .filter(|r| r.status == JobStatus::Aborted)
                .all(|r| r.started_at.is_none())
        );
    }
}
