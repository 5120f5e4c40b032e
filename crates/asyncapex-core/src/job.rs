//! The job record (Apex's `AsyncApexJob`) and what it takes to create one.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::id::{CronTriggerId, JobId};
use crate::status::JobStatus;

/// The kind of work a job record stands for (Apex's `AsyncApexJob.JobType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum JobType {
    /// A queueable job (`enqueue_job`).
    Queueable,
    /// A future call (`#[future]`).
    Future,
    /// A batch job (`execute_batch`): the parent record of a batch run.
    BatchApex,
    /// An internal helper record of a batch run (one per chunk range).
    BatchApexWorker,
    /// One firing of a schedule.
    ScheduledApex,
    /// A transaction finalizer's run. An asyncapex extension: Apex runs finalizers without a
    /// record of their own; keeping one makes them durable and visible.
    Finalizer,
}

impl JobType {
    /// Every job type: the canonical list that stores' CHECK constraints mirror.
    pub const ALL: [JobType; 6] = [
        JobType::Queueable,
        JobType::Future,
        JobType::BatchApex,
        JobType::BatchApexWorker,
        JobType::ScheduledApex,
        JobType::Finalizer,
    ];

    /// The name as Apex spells it (and stores keep it).
    pub const fn as_str(self) -> &'static str {
        match self {
            JobType::Queueable => "Queueable",
            JobType::Future => "Future",
            JobType::BatchApex => "BatchApex",
            JobType::BatchApexWorker => "BatchApexWorker",
            JobType::ScheduledApex => "ScheduledApex",
            JobType::Finalizer => "Finalizer",
        }
    }
}

impl fmt::Display for JobType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobType {
    type Err = Error;

    /// Parses a job type name in any case.
    fn from_str(s: &str) -> Result<Self, Error> {
        JobType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::InvalidInput {
                what: "job type",
                input: s.to_owned(),
                rule: "expected one of Queueable, Future, BatchApex, BatchApexWorker, ScheduledApex, Finalizer",
            })
    }
}

/// A job record as stored: every field of Apex's `AsyncApexJob` plus what a durable engine
/// needs (lease, attempts, payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The record's ID (`707…`).
    pub id: JobId,
    /// What kind of work this is.
    pub job_type: JobType,
    /// The registered name of the job's type (Apex's `ApexClass.Name`).
    pub class_name: String,
    /// The method run, for futures (Apex's `MethodName`).
    pub method_name: Option<String>,
    /// Where the job is in its life.
    pub status: JobStatus,
    /// The first error, or why the job ended as it did (Apex's `ExtendedStatus`).
    pub extended_status: Option<String>,
    /// Chunks processed so far (Apex's `JobItemsProcessed`); 0 for queueables and futures.
    pub items_processed: u64,
    /// Chunks in total (Apex's `TotalJobItems`); 0 for queueables and futures.
    pub total_items: u64,
    /// Failed chunks (Apex's `NumberOfErrors`).
    pub number_of_errors: u64,
    /// The job whose execution (or finalizer) enqueued this one.
    pub parent_job_id: Option<JobId>,
    /// The schedule whose firing created this job (Apex's `CronTriggerId`).
    pub cron_trigger_id: Option<CronTriggerId>,
    /// When the job was submitted.
    pub created_at: Timestamp,
    /// When a worker first started it.
    pub started_at: Option<Timestamp>,
    /// When it reached a terminal status.
    pub completed_at: Option<Timestamp>,
    /// The earliest instant it may start (enqueue time plus any delay).
    pub run_at: Timestamp,
    /// How many times a worker has claimed it.
    pub attempt: u32,
    /// After this many claims whose lease expired, the rescuer fails it instead of re-queueing.
    pub max_attempts: u32,
    /// Position in its chain: 1 for a job enqueued from outside any job (Apex's
    /// `AsyncInfo.getCurrentQueueableStackDepth`).
    pub stack_depth: u32,
    /// The deepest its chain may go, inherited by descendants; `None` means no limit.
    pub max_stack_depth: Option<u32>,
    /// How many consecutive times a finalizer re-enqueued a failing job to produce this one.
    pub failure_reenqueues: u32,
    /// Duplicate signature; cleared when the job first starts.
    pub signature: Option<String>,
    /// The job's state as JSON.
    pub payload: String,
    /// Who holds the lease while it runs.
    pub lease_owner: Option<String>,
    /// When that lease runs out unless heartbeated.
    pub lease_expires_at: Option<Timestamp>,
    /// Set when `abort_job` asked a running job to stop.
    pub abort_requested: bool,
    /// A batch job's scope size (items per `execute`).
    pub batch_scope: Option<u32>,
    /// Whether a batch job's `start` has run and its chunks are stored.
    pub batch_start_done: bool,
    /// A holding batch job's place in the flex queue (lower runs sooner).
    pub flex_position: Option<i64>,
    /// The Failed or Aborted job an operator retried to make this one.
    pub retry_of: Option<JobId>,
    /// When the current (or last) attempt started.
    pub attempt_started_at: Option<Timestamp>,
    /// Who ran the last attempt that ended (`lease_owner` is cleared when it ends).
    pub last_owner: Option<String>,
    /// The W3C `traceparent` of the span that enqueued it (a request's, or the execution of
    /// the job that chained it), so its execution's span can name that span as its parent.
    pub trace_parent: Option<String>,
    /// The named queue it waits in ([`DEFAULT_QUEUE`](crate::queue::DEFAULT_QUEUE) unless it
    /// named one): an extension beyond Apex.
    pub queue: String,
    /// Its priority in its queue, 0 (claimed first) to 9.
    pub priority: u8,
    /// The tenant (Apex's org) it is counted against for fair share, if any.
    pub tenant: Option<String>,
}

impl JobRecord {
    /// The payload parsed as JSON (for display); `Value::String` of the raw text if it is not
    /// JSON.
    pub fn payload_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload)
            .unwrap_or_else(|_| serde_json::Value::String(self.payload.clone()))
    }
}

/// How one attempt of a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AttemptOutcome {
    /// It completed the job.
    Completed,
    /// Its code failed (an error, a panic, a broken limit, the time limit).
    Failed,
    /// It was aborted while it ran.
    Aborted,
    /// Its worker died or lost the store; the rescuer queued the job again.
    Rescued,
    /// It is still running.
    Running,
}

impl AttemptOutcome {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Completed => "Completed",
            AttemptOutcome::Failed => "Failed",
            AttemptOutcome::Aborted => "Aborted",
            AttemptOutcome::Rescued => "Rescued",
            AttemptOutcome::Running => "Running",
        }
    }
}

impl std::str::FromStr for AttemptOutcome {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        Ok(match s {
            "Completed" => AttemptOutcome::Completed,
            "Failed" => AttemptOutcome::Failed,
            "Aborted" => AttemptOutcome::Aborted,
            "Rescued" => AttemptOutcome::Rescued,
            "Running" => AttemptOutcome::Running,
            _ => {
                return Err(crate::Error::InvalidInput {
                    what: "attempt outcome",
                    input: s.chars().take(40).collect(),
                    rule: "expected Completed, Failed, Aborted, Rescued or Running",
                });
            }
        })
    }
}

/// One attempt of a job: a claim, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AttemptRecord {
    /// Its number, from 1.
    pub attempt: u32,
    /// When it started (unknown for attempts made before the store kept the history).
    pub started_at: Option<Timestamp>,
    /// When it ended; `None` while it runs.
    pub ended_at: Option<Timestamp>,
    /// Who ran it: the lease owner, `host:pid#node`.
    pub owner: Option<String>,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// Why it did not complete.
    pub error: Option<String>,
}

impl JobRecord {
    /// The job's attempts, oldest first: those `ended` recorded (the ones that did not
    /// complete the job), then the current or last attempt from the record itself when no
    /// row covers it (a completion, or one still running).
    pub fn attempts(&self, ended: Vec<AttemptRecord>) -> Vec<AttemptRecord> {
        let mut all = ended;
        let current = self.attempt;
        if current > 0 && !all.iter().any(|a| a.attempt == current) {
            let (ended_at, outcome, owner) = match self.status {
                JobStatus::Preparing | JobStatus::Processing => {
                    (None, AttemptOutcome::Running, self.lease_owner.clone())
                }
                JobStatus::Completed => (
                    self.completed_at,
                    AttemptOutcome::Completed,
                    self.last_owner.clone(),
                ),
                JobStatus::Failed => (
                    self.completed_at,
                    AttemptOutcome::Failed,
                    self.last_owner.clone(),
                ),
                JobStatus::Aborted => (
                    self.completed_at,
                    AttemptOutcome::Aborted,
                    self.last_owner.clone(),
                ),
                // Queued again (rescued, whose row is above, or released, whose claim did
                // not count): no current attempt.
                JobStatus::Queued | JobStatus::Holding => return all,
            };
            let started_at = match (self.attempt_started_at, current) {
                (Some(t), _) => Some(t),
                (None, 1) => self.started_at,
                (None, _) => None,
            };
            let error = match outcome {
                AttemptOutcome::Failed | AttemptOutcome::Aborted => self.extended_status.clone(),
                _ => None,
            };
            all.push(AttemptRecord {
                attempt: current,
                started_at,
                ended_at,
                owner,
                outcome,
                error,
            });
        }
        all.sort_by_key(|a| a.attempt);
        all
    }
}

/// A job record to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// The ID, minted at call time so callers get it before the insert commits.
    pub id: JobId,
    /// What kind of work this is.
    pub job_type: JobType,
    /// The registered name of the job's type.
    pub class_name: String,
    /// The method run, for futures.
    pub method_name: Option<String>,
    /// `Queued` (or `Holding` for a batch entering the flex queue).
    pub status: JobStatus,
    /// The job that enqueued it.
    pub parent_job_id: Option<JobId>,
    /// The schedule that fired it.
    pub cron_trigger_id: Option<CronTriggerId>,
    /// Submission time.
    pub created_at: Timestamp,
    /// Earliest start.
    pub run_at: Timestamp,
    /// Claims allowed before the rescuer fails it.
    pub max_attempts: u32,
    /// Position in its chain (1 for a root).
    pub stack_depth: u32,
    /// The chain's maximum depth, if any.
    pub max_stack_depth: Option<u32>,
    /// Consecutive finalizer re-enqueues of a failing job that led here.
    pub failure_reenqueues: u32,
    /// Duplicate signature, if any.
    pub signature: Option<String>,
    /// The job's state as JSON.
    pub payload: String,
    /// A batch job's scope size.
    pub batch_scope: Option<u32>,
    /// The finished job this one retries (an operator's retry).
    pub retry_of: Option<JobId>,
    /// The W3C `traceparent` of the span that enqueued it, if tracing recorded one.
    pub trace_parent: Option<String>,
    /// Its named queue.
    pub queue: String,
    /// Its priority in the queue, 0 (claimed first) to 9.
    pub priority: u8,
    /// Its tenant for fair share, if any.
    pub tenant: Option<String>,
}

impl NewJob {
    /// The fields every new record shares: a root of its chain (depth 1), due at once, one
    /// attempt, no parent, trigger, signature or scope. The named constructors below start
    /// from it, so each kind's defaults are written once.
    fn base(
        id: JobId,
        job_type: JobType,
        class_name: impl Into<String>,
        payload: String,
        created_at: Timestamp,
    ) -> NewJob {
        NewJob {
            id,
            job_type,
            class_name: class_name.into(),
            method_name: None,
            status: JobStatus::Queued,
            parent_job_id: None,
            cron_trigger_id: None,
            created_at,
            run_at: created_at,
            max_attempts: 1,
            stack_depth: 1,
            max_stack_depth: None,
            failure_reenqueues: 0,
            signature: None,
            payload,
            batch_scope: None,
            retry_of: None,
            trace_parent: None,
            queue: crate::queue::DEFAULT_QUEUE.to_owned(),
            priority: 0,
            tenant: None,
        }
    }

    /// An operator's retry of a Failed or Aborted job: a new record of the same kind, class,
    /// method, payload and scope, in the original's place in its chain (same parent and
    /// depth) and under its schedule, linked to it by `retry_of`; a batch re-runs whole, from
    /// `start`. A duplicate signature the original still holds (one that was aborted before
    /// it started) is kept, so the retry is refused while an equal job waits.
    ///
    /// # Errors
    /// [`Error::WrongStatus`] unless the original is Failed or
    /// Aborted; [`Error::NotAllowed`] for a finalizer's record
    /// (the finalizer runs with its job; retry the job).
    pub fn retry(id: JobId, original: &JobRecord, created_at: Timestamp) -> crate::Result<NewJob> {
        crate::rules::check_retryable(original)?;
        Ok(NewJob {
            id,
            job_type: original.job_type,
            class_name: original.class_name.clone(),
            method_name: original.method_name.clone(),
            status: if original.job_type == JobType::BatchApex {
                JobStatus::Holding
            } else {
                JobStatus::Queued
            },
            parent_job_id: original.parent_job_id,
            cron_trigger_id: original.cron_trigger_id,
            created_at,
            run_at: created_at,
            max_attempts: original.max_attempts,
            stack_depth: original.stack_depth,
            max_stack_depth: original.max_stack_depth,
            failure_reenqueues: 0,
            signature: original.signature.clone(),
            payload: original.payload.clone(),
            batch_scope: original.batch_scope,
            retry_of: Some(original.id),
            trace_parent: original.trace_parent.clone(),
            queue: original.queue.clone(),
            priority: original.priority,
            tenant: original.tenant.clone(),
        })
    }

    /// A queued queueable (`System.enqueueJob`), due at `created_at` unless
    /// [`run_at`](Self::run_at) says later.
    ///
    /// ```
    /// use asyncapex_core::{IdGenerator, JobStatus, JobType, NewJob};
    /// let now = jiff::Timestamp::from_second(1_700_000_000).unwrap();
    /// let job = NewJob::queueable(IdGenerator::new(1).job_id(now), "Welcome", "{}".into(), now)
    ///     .max_attempts(3);
    /// assert_eq!((job.job_type, job.status, job.stack_depth), (JobType::Queueable, JobStatus::Queued, 1));
    /// ```
    pub fn queueable(
        id: JobId,
        class_name: impl Into<String>,
        payload: String,
        created_at: Timestamp,
    ) -> NewJob {
        NewJob::base(id, JobType::Queueable, class_name, payload, created_at)
    }

    /// A queued future call: `class_name.method_name(args)`, its arguments a JSON object.
    /// Futures do not chain: each starts a depth of its own.
    pub fn future(
        id: JobId,
        class_name: impl Into<String>,
        method_name: impl Into<String>,
        args: String,
        created_at: Timestamp,
    ) -> NewJob {
        NewJob {
            method_name: Some(method_name.into()),
            ..NewJob::base(id, JobType::Future, class_name, args, created_at)
        }
    }

    /// A batch job entering the flex queue (`Holding`), `scope` items per `execute`.
    pub fn batch(
        id: JobId,
        class_name: impl Into<String>,
        payload: String,
        scope: crate::batch::BatchScope,
        created_at: Timestamp,
    ) -> NewJob {
        NewJob {
            status: JobStatus::Holding,
            batch_scope: Some(scope.get()),
            ..NewJob::base(id, JobType::BatchApex, class_name, payload, created_at)
        }
    }

    /// The record of a finalizer run for `parent`, whose chain position it keeps (so a
    /// re-enqueue from it counts as the parent's child).
    pub fn finalizer(
        id: JobId,
        class_name: impl Into<String>,
        envelope: String,
        parent: &JobRecord,
        created_at: Timestamp,
    ) -> NewJob {
        NewJob {
            parent_job_id: Some(parent.id),
            stack_depth: parent.stack_depth,
            max_stack_depth: parent.max_stack_depth,
            failure_reenqueues: parent.failure_reenqueues,
            // Its run belongs to the trace that led to its job, and runs where its job ran.
            trace_parent: parent.trace_parent.clone(),
            queue: parent.queue.clone(),
            priority: parent.priority,
            tenant: parent.tenant.clone(),
            ..NewJob::base(id, JobType::Finalizer, class_name, envelope, created_at)
        }
    }

    /// The job a schedule's firing creates: a `ScheduledApex` run, or for a scheduled batch
    /// (`System.scheduleBatch`) the batch entering the flex queue.
    pub fn fired(
        id: JobId,
        trigger: &crate::cron_trigger::CronTriggerRecord,
        created_at: Timestamp,
    ) -> NewJob {
        NewJob {
            status: if trigger.job_type == JobType::BatchApex {
                JobStatus::Holding
            } else {
                JobStatus::Queued
            },
            cron_trigger_id: Some(trigger.id),
            batch_scope: trigger.batch_scope,
            ..NewJob::base(
                id,
                trigger.job_type,
                trigger.class_name.clone(),
                trigger.payload.clone(),
                created_at,
            )
        }
    }

    /// Not before `at`.
    pub fn run_at(mut self, at: Timestamp) -> NewJob {
        self.run_at = at;
        self
    }

    /// Enqueued by `parent`.
    pub fn parent(mut self, parent: Option<JobId>) -> NewJob {
        self.parent_job_id = parent;
        self
    }

    /// The W3C `traceparent` of the span that enqueues it.
    pub fn trace_parent(mut self, trace_parent: Option<String>) -> NewJob {
        self.trace_parent = trace_parent;
        self
    }

    /// Claims allowed before the rescuer fails it.
    pub fn max_attempts(mut self, n: u32) -> NewJob {
        self.max_attempts = n;
        self
    }

    /// Its place in a chain: depth, the chain's maximum, and consecutive finalizer
    /// re-enqueues that led here.
    pub fn chain(
        mut self,
        stack_depth: u32,
        max_stack_depth: Option<u32>,
        failure_reenqueues: u32,
    ) -> NewJob {
        self.stack_depth = stack_depth;
        self.max_stack_depth = max_stack_depth;
        self.failure_reenqueues = failure_reenqueues;
        self
    }

    /// In the named queue (not checked here: enqueue paths check names with
    /// [`check_queue_name`](crate::queue::check_queue_name)).
    pub fn queue(mut self, queue: impl Into<String>) -> NewJob {
        self.queue = queue.into();
        self
    }

    /// At this priority, 0 (claimed first) to 9.
    pub fn priority(mut self, priority: u8) -> NewJob {
        self.priority = priority;
        self
    }

    /// Counted against this tenant for fair share.
    pub fn tenant(mut self, tenant: Option<String>) -> NewJob {
        self.tenant = tenant;
        self
    }

    /// Its duplicate signature (Apex's `QueueableDuplicateSignature`).
    pub fn signature(mut self, signature: Option<String>) -> NewJob {
        self.signature = signature;
        self
    }
}
