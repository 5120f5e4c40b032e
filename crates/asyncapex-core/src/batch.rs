//! Batch jobs in the store: chunks (Apex's `BatchApexWorker` records), error events (Apex's
//! `BatchApexErrorEvent`) and flex-queue moves.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::id::JobId;

/// Where a chunk is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChunkStatus {
    /// Not yet run to a committed end.
    Pending,
    /// `execute` succeeded and its transaction committed.
    Completed,
    /// `execute` failed; its buffered work was discarded.
    Failed,
}

impl ChunkStatus {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            ChunkStatus::Pending => "Pending",
            ChunkStatus::Completed => "Completed",
            ChunkStatus::Failed => "Failed",
        }
    }
}

impl FromStr for ChunkStatus {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "Pending" => Ok(ChunkStatus::Pending),
            "Completed" => Ok(ChunkStatus::Completed),
            "Failed" => Ok(ChunkStatus::Failed),
            _ => Err(Error::InvalidInput {
                what: "chunk status",
                input: s.to_owned(),
                rule: "expected Pending, Completed or Failed",
            }),
        }
    }
}

/// One chunk (scope) of a batch job's work set, stored when `start` produced it so a restart
/// after a crash resumes exactly where the last committed chunk left off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchChunkRecord {
    /// The chunk's own ID (Apex's `getChildJobId`).
    pub id: JobId,
    /// The batch job.
    pub job_id: JobId,
    /// Position in the work set, from 0.
    pub seq: u64,
    /// Where it is.
    pub status: ChunkStatus,
    /// How many items it holds.
    pub item_count: u32,
    /// The items as one JSON array.
    pub items: String,
    /// Why it failed.
    pub error: Option<String>,
    /// When it ended.
    pub completed_at: Option<Timestamp>,
}

/// A chunk to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBatchChunk {
    /// Minted when the chunk is cut.
    pub id: JobId,
    /// Position in the work set, from 0.
    pub seq: u64,
    /// How many items.
    pub item_count: u32,
    /// The items as one JSON array.
    pub items: String,
}

/// Which method of a batch failed (Apex's `BatchApexErrorEvent.Phase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BatchPhase {
    /// `start`.
    Start,
    /// `execute`.
    Execute,
    /// `finish`.
    Finish,
}

impl BatchPhase {
    /// Apex's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            BatchPhase::Start => "START",
            BatchPhase::Execute => "EXECUTE",
            BatchPhase::Finish => "FINISH",
        }
    }
}

impl fmt::Display for BatchPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BatchPhase {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "START" => Ok(BatchPhase::Start),
            "EXECUTE" => Ok(BatchPhase::Execute),
            "FINISH" => Ok(BatchPhase::Finish),
            _ => Err(Error::InvalidInput {
                what: "batch phase",
                input: s.to_owned(),
                rule: "expected START, EXECUTE or FINISH",
            }),
        }
    }
}

/// Longest `job_scope` kept (Apex's `JobScope` is a 40,000-character text area).
pub const JOB_SCOPE_MAX_LEN: usize = 40_000;

/// An unhandled error in a batch that asked for error events (Apex's `BatchApexErrorEvent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchErrorEvent {
    /// The event's own number, increasing (Apex's `ReplayId`).
    pub replay_id: i64,
    /// The batch job (Apex's `AsyncApexJobId`).
    pub job_id: JobId,
    /// Which method failed.
    pub phase: BatchPhase,
    /// The kind of error: `JobError`, `Panic`, `LimitException`, `TimeLimit`.
    pub exception_type: String,
    /// The error message.
    pub message: String,
    /// The failing chunk's item keys, comma-separated (empty for `start` and `finish`).
    pub job_scope: String,
    /// Whether `job_scope` was cut at [`JOB_SCOPE_MAX_LEN`].
    pub does_exceed_job_scope_max_length: bool,
    /// When it was published.
    pub created_at: Timestamp,
}

/// An error event to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBatchErrorEvent {
    /// The batch job.
    pub job_id: JobId,
    /// Which method failed.
    pub phase: BatchPhase,
    /// The kind of error.
    pub exception_type: String,
    /// The message.
    pub message: String,
    /// The failing chunk's item keys.
    pub job_scope: String,
    /// Whether the keys were cut.
    pub does_exceed_job_scope_max_length: bool,
    /// When.
    pub created_at: Timestamp,
}

/// Where to move a job in the flex queue (Apex's `System.FlexQueue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlexMove {
    /// Immediately before this job (`moveBeforeJob`).
    Before(JobId),
    /// Immediately after this job (`moveAfterJob`).
    After(JobId),
    /// To the front: it is promoted next (`moveJobToFront`).
    Front,
    /// To the end (`moveJobToEnd`).
    End,
}

/// Applies a move to the flex queue's order; `None` when nothing moves (already in place).
///
/// # Errors
/// [`Error::NotInFlexQueue`] when the job (or the job it moves relative to) is not holding.
///
/// ```
/// use asyncapex_core::batch::{FlexMove, reorder};
/// # use asyncapex_core::JobId;
/// let [a, b, c] = [1, 2, 3].map(JobId::from_body);
/// assert_eq!(reorder(&[a, b, c], c, FlexMove::Front)?, Some(vec![c, a, b]));
/// assert_eq!(reorder(&[a, b, c], a, FlexMove::Before(b))?, None);
/// # Ok::<(), asyncapex_core::Error>(())
/// ```
pub fn reorder(order: &[JobId], id: JobId, to: FlexMove) -> Result<Option<Vec<JobId>>, Error> {
    let missing = |id: JobId| Error::NotInFlexQueue { id: id.to_string() };
    let from = order
        .iter()
        .position(|j| *j == id)
        .ok_or_else(|| missing(id))?;
    let mut rest: Vec<JobId> = order.to_vec();
    rest.remove(from);
    let at = match to {
        FlexMove::Front => 0,
        FlexMove::End => rest.len(),
        FlexMove::Before(other) | FlexMove::After(other) if other == id => {
            return Err(Error::InvalidInput {
                what: "flex queue move",
                input: id.to_string(),
                rule: "a job cannot be moved relative to itself",
            });
        }
        FlexMove::Before(other) => rest
            .iter()
            .position(|j| *j == other)
            .ok_or_else(|| missing(other))?,
        FlexMove::After(other) => {
            rest.iter()
                .position(|j| *j == other)
                .ok_or_else(|| missing(other))?
                + 1
        }
    };
    rest.insert(at, id);
    Ok(if rest == order { None } else { Some(rest) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> [JobId; 4] {
        [1, 2, 3, 4].map(JobId::from_body)
    }

    #[test]
    fn every_move_reports_whether_anything_moved() {
        let [a, b, c, d] = ids();
        let q = [a, b, c, d];
        assert_eq!(
            reorder(&q, d, FlexMove::Front).unwrap(),
            Some(vec![d, a, b, c])
        );
        assert_eq!(reorder(&q, a, FlexMove::Front).unwrap(), None);
        assert_eq!(
            reorder(&q, a, FlexMove::End).unwrap(),
            Some(vec![b, c, d, a])
        );
        assert_eq!(reorder(&q, d, FlexMove::End).unwrap(), None);
        assert_eq!(
            reorder(&q, d, FlexMove::Before(b)).unwrap(),
            Some(vec![a, d, b, c])
        );
        assert_eq!(reorder(&q, a, FlexMove::Before(b)).unwrap(), None);
        assert_eq!(
            reorder(&q, a, FlexMove::After(c)).unwrap(),
            Some(vec![b, c, a, d])
        );
        assert_eq!(reorder(&q, c, FlexMove::After(b)).unwrap(), None);
    }

    #[test]
    fn jobs_outside_the_queue_are_named_in_the_error() {
        let [a, b, c, d] = ids();
        let err = reorder(&[a, b], c, FlexMove::Front).unwrap_err();
        assert!(err.to_string().contains(&c.to_string()), "{err}");
        let err = reorder(&[a, b], a, FlexMove::After(d)).unwrap_err();
        assert!(err.to_string().contains(&d.to_string()), "{err}");
        assert!(reorder(&[a, b], a, FlexMove::Before(a)).is_err());
    }
}

/// A batch's scope: items per `execute` (Apex's `Database.executeBatch(job, scope)`), checked
/// once here so every entry point applies the same rule.
///
/// Apex's rules: the scope must be above 0; a query locator's chunks hold at most
/// [`LOCATOR_MAX`](Self::LOCATOR_MAX) records, a larger scope being silently cut down to it;
/// an iterable's scope has no upper limit. What bounds an iterable's scope here is memory:
/// one chunk's items are held at once by `execute` (and, while `start` is cut, until their
/// chunk is written), and each chunk is stored as one JSON value, which both stores cap at
/// 1 GB.
///
/// ```
/// use asyncapex_core::batch::BatchScope;
/// assert_eq!(BatchScope::new(200).unwrap().get(), 200);
/// assert!(BatchScope::new(0).is_err());
/// let large = BatchScope::new(50_000).unwrap();
/// assert_eq!(large.get(), 50_000);             // an iterable's chunks
/// assert_eq!(large.for_query_locator(), 2_000); // a query locator's chunks
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchScope(u32);

impl BatchScope {
    /// The most records a query locator's chunk holds (Apex's): a larger scope is cut down.
    pub const LOCATOR_MAX: u32 = 2000;
    /// Apex's default scope.
    pub const DEFAULT: BatchScope = BatchScope(200);

    /// A scope of `items` per `execute`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for 0.
    pub fn new(items: u32) -> Result<BatchScope, Error> {
        if items >= 1 {
            Ok(BatchScope(items))
        } else {
            Err(Error::InvalidInput {
                what: "batch scope",
                input: items.to_string(),
                rule: "the scope (items per execute) must be greater than 0",
            })
        }
    }

    /// The items per `execute` of a query locator's chunks: the scope, at most
    /// [`LOCATOR_MAX`](Self::LOCATOR_MAX).
    pub fn for_query_locator(self) -> u32 {
        self.0.min(Self::LOCATOR_MAX)
    }

    /// Items per `execute`.
    pub fn get(self) -> u32 {
        self.0
    }
}
