//! The `Store` trait: everything the engine asks of a database.
//!
//! Methods are named noun-first (`job_claim`, `job_finish`) and take one params struct each, so
//! fields can be added without breaking callers. Every status change is one of these named
//! operations, written as a guarded compare-and-set: an operation whose guard no longer holds
//! (the job was aborted, rescued or finished by someone else) changes nothing and says so.
//!
//! Implementations live in their own crates (`asyncapex-sqlite`, `asyncapex-postgres`) and
//! must pass the conformance suite in `asyncapex-storetest`. **Unstable**: the trait is not
//! meant for implementation outside this project and changes between minor releases; the
//! `asyncapex` crate re-exports it only under `asyncapex::unstable`. Rules both stores apply
//! (caps, abort and rescue decisions, migrations) live in [`crate::rules`], not in each store.

use std::fmt::Debug;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::batch::{
    BatchChunkRecord, BatchErrorEvent, FlexMove, NewBatchChunk, NewBatchErrorEvent,
};
use crate::cron_trigger::{CronTriggerRecord, NewCronTrigger};
use crate::error::Result;
use crate::id::{CronTriggerId, JobId};
use crate::job::{JobRecord, JobType, NewJob};
use crate::query::QuerySource;
use crate::status::JobStatus;

/// Everything the engine asks of a database. Every store can also run an application's query
/// page by page ([`QuerySource`]), for batches over tables in the store's own database.
#[async_trait]
pub trait Store: QuerySource + Send + Sync + Debug + 'static {
    /// The store as [`Any`](std::any::Any), so a store crate can recognise its own store
    /// behind an `Arc<dyn Store>` (for capabilities only it has, such as inserting jobs inside
    /// an application's own database transaction).
    fn as_any(&self) -> &dyn std::any::Any;

    /// Counts for dashboards and metrics: jobs by type and status (all time), and for jobs
    /// that ended at or after `since`: completions and failures per minute, a histogram of run
    /// durations, and how many needed more than one attempt (rescued after a crash).
    async fn job_stats(&self, params: JobStatsParams) -> Result<JobStats>;

    /// Registers a process that will mint IDs and hold leases; returns its node ID, unique
    /// among the processes sharing this store (its number in IDs is the ID modulo 65,536).
    async fn node_register(&self, params: NodeRegisterParams) -> Result<i64>;

    /// Records that a node is alive. Returns `false` when the node is unknown.
    async fn node_heartbeat(&self, params: NodeHeartbeatParams) -> Result<bool>;

    /// Records that a node stopped cleanly: it is listed as stopped, not alive, from now on.
    /// Returns `false` when the node is unknown.
    async fn node_stop(&self, params: NodeHeartbeatParams) -> Result<bool>;

    /// Deletes the nodes whose last sign of life (stop, else heartbeat, else registration) is
    /// before `silent_before` and that hold no running job's lease; returns how many. Node
    /// numbers are never handed out again, so forgetting a row cannot make two processes
    /// share one.
    async fn node_forget(&self, silent_before: Timestamp) -> Result<u64>;

    /// Registered nodes, newest first, with whether each is alive (not stopped, heartbeat
    /// within `dead_after` of `now`) and how many jobs it is running.
    async fn node_list(&self, params: NodeListParams) -> Result<Vec<NodeRecord>>;

    /// A counter that goes up whenever another process may have made work available (jobs
    /// inserted, a schedule changed); engines wait on it instead of polling. `None` when the
    /// store cannot notify across processes: engines then poll.
    fn notifications(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }

    /// Inserts jobs atomically: all or none.
    ///
    /// # Errors
    /// [`Error::DuplicateSignature`](crate::Error::DuplicateSignature) when a job's signature
    /// matches one still waiting to run (or another in the same call); nothing is inserted.
    async fn job_insert_many(&self, params: JobInsertManyParams) -> Result<()>;

    /// One job by ID.
    async fn job_get(&self, id: JobId) -> Result<Option<JobRecord>>;

    /// Jobs matching the filters, newest first.
    async fn job_list(&self, params: JobListParams) -> Result<Vec<JobRecord>>;

    /// How many jobs [`job_list`](Self::job_list) would list with these params, counting at
    /// most `params.limit` (ask one more than you show to say "more than N"): bounded, so a
    /// count over ten million rows costs what a page of `limit` rows costs.
    async fn job_count(&self, params: JobListParams) -> Result<u64>;

    /// The distinct class names of the stored jobs, in byte order, at most `limit`: read by
    /// skipping through the class-name index (one seek per name), not by scanning jobs.
    async fn job_class_names(&self, limit: u32) -> Result<Vec<String>>;

    /// Records the payload fields `class_name` marks sensitive (replacing what was recorded
    /// for it), so views that run no jobs redact them too.
    async fn sensitive_fields_put(
        &self,
        class_name: String,
        fields: Vec<String>,
        now: Timestamp,
    ) -> Result<()>;

    /// Every class's recorded sensitive fields.
    async fn sensitive_fields_list(&self) -> Result<crate::Redactions>;

    /// The recorded attempts of a job, oldest first: every attempt that ended without
    /// completing it (failed, aborted while running, rescued after its worker died). Join
    /// with the record's own current attempt through [`JobRecord::attempts`].
    async fn job_attempts(&self, id: JobId) -> Result<Vec<crate::AttemptRecord>>;

    /// Deletes these finished jobs (Completed, Failed, Aborted) with their batch chunks and
    /// error events; IDs of jobs that are unknown or not finished are skipped. Returns how
    /// many were deleted.
    async fn job_delete(&self, ids: Vec<JobId>) -> Result<u64>;

    /// Claims up to `limit` due `Queued` jobs, oldest run time first: each becomes
    /// `Processing` under `owner`'s lease, its attempt count goes up by one, its start time is
    /// set on first start and its duplicate signature is cleared.
    async fn job_claim(&self, params: JobClaimParams) -> Result<Vec<JobRecord>>;

    /// When a worker serving `queues` may next claim something, to know how long it may
    /// sleep: per queue, the earliest run time among its `Queued` jobs (not before its next
    /// start when rate-limited; none while paused), and of those the earliest after `after`.
    /// A worker passes now, so a queue whose due jobs it could not claim (at its global
    /// cap) does not hide the others' later times; `Timestamp::MIN` gives every queue's.
    /// `None`: nothing waits past `after`.
    async fn job_next_run_at(
        &self,
        queues: Vec<String>,
        after: Timestamp,
    ) -> Result<Option<Timestamp>>;

    /// Extends the leases `owner` still holds; returns, for each job still held, whether an
    /// abort was requested. A job missing from the answer has been lost (rescued or aborted).
    async fn job_heartbeat(&self, params: JobHeartbeatParams) -> Result<Vec<HeartbeatAck>>;

    /// Ends a running job held by `owner` and inserts `insert` in the same transaction.
    /// Returns `false`, inserting nothing, when the job is no longer running under that owner.
    ///
    /// # Errors
    /// [`Error::DuplicateSignature`](crate::Error::DuplicateSignature) from an insert; the
    /// job is left untouched.
    async fn job_finish(&self, params: JobFinishParams) -> Result<bool>;

    /// A running job held by `owner` whose attempt failed goes back to `Queued`, due at
    /// `run_at` (a retry policy's backoff), keeping its ID and attempt count; the failed
    /// attempt is recorded with its error, its stored finalizer is cleared (the next attempt
    /// attaches its own). Returns `false` when the job is no longer running under that owner.
    async fn job_retry(&self, params: JobRetryParams) -> Result<bool>;

    /// Stores a queue's settings (global cap, rate limit, tenant limit) for every node,
    /// keeping whether it is paused.
    async fn queue_configure(
        &self,
        settings: crate::queue::QueueSettings,
        now: Timestamp,
    ) -> Result<()>;

    /// Pauses a queue on every node: it claims nothing until resumed. `false` when it was
    /// already paused.
    async fn queue_pause(&self, name: String, now: Timestamp) -> Result<bool>;

    /// Resumes a paused queue and wakes workers. `false` when it was not paused.
    async fn queue_resume(&self, name: String, now: Timestamp) -> Result<bool>;

    /// Every queue that has stored settings or holds waiting or running jobs, by name.
    async fn queue_list(&self, now: Timestamp) -> Result<Vec<crate::queue::QueueRecord>>;

    /// The tenants with the most waiting and running jobs, at most `limit`, most first.
    async fn tenant_counts(&self, limit: u32) -> Result<Vec<crate::queue::TenantCount>>;

    /// Ends many running jobs held by `owner` as `Completed`, inserting nothing: the
    /// executor's hot path, one store call for a group of plain completions instead of one
    /// each. Returns the IDs it ended; an ID missing from the answer was no longer running
    /// under `owner` (rescued or aborted meanwhile) and was left untouched.
    ///
    /// The default runs [`job_finish`](Self::job_finish) once per ID; stores override it with
    /// one statement.
    async fn job_complete_many(&self, params: JobCompleteManyParams) -> Result<Vec<JobId>> {
        let mut done = Vec::with_capacity(params.ids.len());
        for id in params.ids {
            let ended = self
                .job_finish(JobFinishParams {
                    id,
                    owner: params.owner.clone(),
                    now: params.now,
                    outcome: JobOutcome::Completed,
                    insert: Vec::new(),
                    max_holding: 0,
                })
                .await?;
            if ended {
                done.push(id);
            }
        }
        Ok(done)
    }

    /// Stores the finalizer attached to a running job held by `owner` (replacing one stored
    /// before), so it survives the process: a job that a rescuer fails after its last
    /// attempt still has it. Returns `false` when the job is not running under that owner.
    /// [`job_finish`](Self::job_finish), [`job_release`](Self::job_release) and a rescue that
    /// requeues or aborts the job clear it.
    async fn job_finalizer_store(&self, params: JobFinalizerStoreParams) -> Result<bool>;

    /// Failed jobs that still hold a stored finalizer — their worker died and the rescuer
    /// failed them — oldest first, at most `limit`.
    async fn job_finalizers_stranded(&self, limit: u32) -> Result<Vec<StrandedFinalizer>>;

    /// Clears the stored finalizer of the failed job `parent` and inserts `run`, its
    /// finalizer's job record, in one transaction. Returns `false`, inserting nothing, when
    /// the job holds no stored finalizer any more (another node dispatched it).
    async fn job_finalizer_dispatch(&self, parent: JobId, run: NewJob) -> Result<bool>;

    /// Aborts a job: a waiting one at once, a running one by request.
    async fn job_abort(&self, params: JobAbortParams) -> Result<AbortOutcome>;

    /// Requeues (or fails, after `max_attempts`) running jobs whose lease expired before
    /// `now`, except those held by `exclude_owner`.
    async fn job_rescue(&self, params: JobRescueParams) -> Result<RescueOutcome>;

    /// Gives back running jobs `owner` will not finish (graceful shutdown): they become
    /// `Queued` again, and the interrupted attempt is not counted. Returns how many.
    async fn job_release(&self, params: JobReleaseParams) -> Result<u64>;

    /// How many jobs are in each status.
    async fn job_count_by_status(&self) -> Result<Vec<(JobStatus, u64)>>;

    /// How many jobs are in each terminal status (`Completed`, `Failed`, `Aborted`): the
    /// part of [`job_count_by_status`](Self::job_count_by_status) a store keeps as counts,
    /// so it costs the same whatever the number of jobs waiting, where counting the waiting
    /// ones walks an index entry per job (a benchmark polling for completions beside two
    /// million queued jobs). The default filters `job_count_by_status`.
    async fn job_count_finished(&self) -> Result<Vec<(JobStatus, u64)>> {
        let counts = self.job_count_by_status().await?;
        Ok(counts
            .into_iter()
            .filter(|(status, _)| status.is_terminal())
            .collect())
    }

    /// How many jobs of the given types were created at or after `since` (the daily async
    /// execution cap counts these).
    async fn job_count_created_since(&self, params: JobCountCreatedSinceParams) -> Result<u64>;

    /// How many jobs are due or running at `now`: `Queued` with a run time not after `now`,
    /// plus `Preparing` and `Processing`.
    async fn job_count_pending(&self, now: Timestamp) -> Result<u64>;

    /// Deletes up to `params.limit` finished jobs (of the given terminal statuses and job
    /// types) that ended before `params.before`, with their batch chunks and batch error
    /// events, in one transaction; returns how many job records it deleted, the latest end
    /// among them (the next batch's [`ended_from`](JobPurgeParams::ended_from)) and whether
    /// any are left (see [`PurgeBatch`]). Oldest
    /// endings go first. Concurrent purges on a shared store never delete the same rows
    /// twice (each skips rows another holds). Schedules are never touched: a trigger's
    /// `TimesTriggered` and `PreviousFireTime` live on the trigger.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) when a status is not terminal
    /// (see [`rules::check_purge_statuses`](crate::rules::check_purge_statuses)).
    async fn job_purge(&self, params: JobPurgeParams) -> Result<PurgeBatch>;

    /// Upkeep the database does not do by itself, run by a worker now and then (every
    /// minute): returns how many tables it tidied. The default does nothing. The PostgreSQL
    /// store vacuums and analyzes its tables when autovacuum is off on the server: without
    /// it, the row versions every status change and counter update leaves behind are never
    /// reclaimed, the kept counters grow without bound, and every index walk over the
    /// current work reads the dead entries of all the work before it.
    ///
    /// # Errors
    /// A store error (the next run tries again).
    async fn maintain(&self) -> Result<u32> {
        Ok(0)
    }

    /// How many job records [`job_purge`](Self::job_purge) would delete with these params if
    /// it had no limit (a dry run).
    ///
    /// # Errors
    /// As [`job_purge`](Self::job_purge).
    async fn job_purge_count(&self, params: JobPurgeParams) -> Result<u64>;

    /// Inserts a schedule.
    ///
    /// # Errors
    /// [`Error::DuplicateScheduleName`](crate::Error::DuplicateScheduleName) when an active
    /// trigger (not deleted or complete) has the name; [`Error::LimitExceeded`](crate::Error::LimitExceeded)
    /// when `max_active` triggers are already active. Nothing is inserted then.
    async fn cron_trigger_insert(&self, params: CronTriggerInsertParams) -> Result<()>;

    /// One trigger by ID, with its latest job's status.
    async fn cron_trigger_get(&self, id: CronTriggerId) -> Result<Option<CronTriggerRecord>>;

    /// The trigger with this name, preferring an active one over deleted or complete ones
    /// (then the newest).
    async fn cron_trigger_find(&self, name: String) -> Result<Option<CronTriggerRecord>>;

    /// Triggers, newest first.
    async fn cron_trigger_list(
        &self,
        params: CronTriggerListParams,
    ) -> Result<Vec<CronTriggerRecord>>;

    /// `WAITING` triggers whose next fire time is not after `now` and whose latest run has
    /// ended (runs of one trigger never overlap), earliest first.
    async fn cron_trigger_due(
        &self,
        params: CronTriggerDueParams,
    ) -> Result<Vec<CronTriggerRecord>>;

    /// Fires a trigger exactly once: only if it is still `WAITING` at `expected_next_fire_time`
    /// with no run active. Inserts the firing's job, records the firing and moves the trigger
    /// to `next_fire_time` (`COMPLETE` when `None`), all in one transaction. Returns `false`,
    /// changing nothing, when another engine fired it first or it was paused or deleted.
    async fn cron_trigger_fire(&self, params: CronTriggerFireParams) -> Result<bool>;

    /// The earliest next fire time among `WAITING` triggers, to know how long to sleep.
    async fn cron_trigger_next_fire_time(&self) -> Result<Option<Timestamp>>;

    /// `WAITING` → `PAUSED`. Returns whether it changed.
    async fn cron_trigger_pause(&self, id: CronTriggerId) -> Result<bool>;

    /// `PAUSED` → `WAITING`, due at `next_fire_time` (Apex runs a resumed job once at once and
    /// skips what it missed). Returns whether it changed.
    async fn cron_trigger_resume(&self, params: CronTriggerResumeParams) -> Result<bool>;

    /// Any state but `DELETED` → `DELETED`; a running firing finishes. Returns whether it
    /// changed.
    async fn cron_trigger_delete(&self, params: CronTriggerDeleteParams) -> Result<bool>;

    /// `WAITING` → `ERROR` with a reason (e.g. its expression no longer parses). Returns
    /// whether it changed.
    async fn cron_trigger_fail(&self, params: CronTriggerFailParams) -> Result<bool>;

    /// Promotes holding batch jobs to `Queued`, front of the flex queue first, while fewer
    /// than `max_active` batch jobs are queued or running. Returns the promoted jobs.
    async fn batch_promote(&self, params: BatchPromoteParams) -> Result<Vec<JobId>>;

    /// Holding batch jobs in flex-queue order (Apex's `FlexQueueItem`s).
    async fn flex_queue_list(&self) -> Result<Vec<JobRecord>>;

    /// Moves a holding job in the flex queue; returns whether anything moved.
    ///
    /// # Errors
    /// [`Error::NotInFlexQueue`](crate::Error::NotInFlexQueue) when either job is not holding.
    async fn flex_queue_move(&self, params: FlexQueueMoveParams) -> Result<bool>;

    /// Stores chunks cut from a batch's work set, if `owner` still holds the job. Returns
    /// `false`, storing nothing, otherwise.
    async fn batch_chunks_insert(&self, params: BatchChunksInsertParams) -> Result<bool>;

    /// Deletes a batch job's chunks (before `start` runs again after a crash), if `owner`
    /// holds the job.
    async fn batch_chunks_reset(&self, params: BatchChunksResetParams) -> Result<bool>;

    /// Deletes a running batch job's `Completed` chunks, if `owner` holds the job: once every
    /// chunk has run, their items are no longer needed (a crash after this resumes at the
    /// first `Pending` chunk, of which there are none). `Failed` chunks stay for operators.
    /// Returns how many chunks it deleted, or `None` when `owner` does not hold the job.
    async fn batch_chunks_release(&self, params: BatchChunksResetParams) -> Result<Option<u64>>;

    /// `Preparing` → `Processing`: `start` is done, its chunks stored; records the chunk count
    /// and the state chunks start from. Guarded by the lease.
    async fn batch_start_complete(&self, params: BatchStartCompleteParams) -> Result<bool>;

    /// A batch job's chunks, in order, from `from_seq`, optionally of one status.
    async fn batch_chunk_list(&self, params: BatchChunkListParams)
    -> Result<Vec<BatchChunkRecord>>;

    /// Ends one chunk in one transaction: its status, the job's progress counters and first
    /// error, the stateful state, what the chunk enqueued and its error event. Guarded by the
    /// job's lease and the chunk being pending; returns `false`, changing nothing, otherwise.
    async fn batch_chunk_finish(&self, params: BatchChunkFinishParams) -> Result<bool>;

    /// Publishes error events.
    async fn batch_error_event_insert(&self, events: Vec<NewBatchErrorEvent>) -> Result<()>;

    /// Error events, newest first.
    async fn batch_error_event_list(
        &self,
        params: BatchErrorEventListParams,
    ) -> Result<Vec<BatchErrorEvent>>;
}

/// Params of [`Store::batch_promote`].
#[derive(Debug, Clone)]
pub struct BatchPromoteParams {
    /// Promotion time (the promoted jobs' run time).
    pub now: Timestamp,
    /// The most batch jobs queued or running at once (Apex: 5).
    pub max_active: u32,
}

/// Params of [`Store::flex_queue_move`].
#[derive(Debug, Clone)]
pub struct FlexQueueMoveParams {
    /// The job to move.
    pub id: JobId,
    /// Where to.
    pub to: FlexMove,
}

/// Params of [`Store::batch_chunks_insert`].
#[derive(Debug, Clone)]
pub struct BatchChunksInsertParams {
    /// The batch job.
    pub job_id: JobId,
    /// Its lease holder.
    pub owner: String,
    /// The chunks.
    pub chunks: Vec<NewBatchChunk>,
}

/// Params of [`Store::batch_chunks_reset`].
#[derive(Debug, Clone)]
pub struct BatchChunksResetParams {
    /// The batch job.
    pub job_id: JobId,
    /// Its lease holder.
    pub owner: String,
}

/// Params of [`Store::batch_start_complete`].
#[derive(Debug, Clone)]
pub struct BatchStartCompleteParams {
    /// The batch job.
    pub job_id: JobId,
    /// Its lease holder.
    pub owner: String,
    /// How many chunks `start` produced (Apex's `TotalJobItems`).
    pub total_chunks: u64,
    /// The batch's state after `start`, which every chunk starts from (the first chunk only,
    /// for a stateful batch).
    pub state: String,
    /// What `start` enqueued, committed with it.
    pub insert: Vec<NewJob>,
}

/// Params of [`Store::batch_chunk_list`].
#[derive(Debug, Clone)]
pub struct BatchChunkListParams {
    /// The batch job.
    pub job_id: JobId,
    /// Only this status.
    pub status: Option<crate::batch::ChunkStatus>,
    /// From this position on.
    pub from_seq: u64,
    /// At most this many.
    pub limit: u32,
}

/// How a chunk ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkOutcome {
    /// `execute` succeeded.
    Completed,
    /// `execute` failed.
    Failed {
        /// Why.
        message: String,
    },
}

/// Params of [`Store::batch_chunk_finish`].
#[derive(Debug, Clone)]
pub struct BatchChunkFinishParams {
    /// The batch job.
    pub job_id: JobId,
    /// Its lease holder.
    pub owner: String,
    /// The chunk's position.
    pub seq: u64,
    /// How it ended.
    pub outcome: ChunkOutcome,
    /// When.
    pub now: Timestamp,
    /// A stateful batch's state after the chunk (only on success).
    pub state: Option<String>,
    /// What the chunk enqueued (only on success).
    pub insert: Vec<NewJob>,
    /// Its error event, if the batch raises them.
    pub error_event: Option<NewBatchErrorEvent>,
}

/// Params of [`Store::batch_error_event_list`].
#[derive(Debug, Clone)]
pub struct BatchErrorEventListParams {
    /// Only this job's.
    pub job_id: Option<JobId>,
    /// At most this many.
    pub limit: u32,
}

/// Params of [`Store::cron_trigger_insert`].
#[derive(Debug, Clone)]
pub struct CronTriggerInsertParams {
    /// The trigger.
    pub trigger: NewCronTrigger,
    /// The most triggers that may be active at once (Apex: 100).
    pub max_active: u32,
}

/// Params of [`Store::cron_trigger_list`].
#[derive(Debug, Clone)]
pub struct CronTriggerListParams {
    /// Also list deleted and complete triggers.
    pub include_ended: bool,
    /// At most this many.
    pub limit: u32,
}

impl Default for CronTriggerListParams {
    fn default() -> Self {
        CronTriggerListParams {
            include_ended: false,
            limit: 200,
        }
    }
}

/// Params of [`Store::cron_trigger_due`].
#[derive(Debug, Clone)]
pub struct CronTriggerDueParams {
    /// Triggers due at or before this.
    pub now: Timestamp,
    /// At most this many.
    pub limit: u32,
}

/// Params of [`Store::cron_trigger_fire`].
#[derive(Debug, Clone)]
pub struct CronTriggerFireParams {
    /// The trigger.
    pub id: CronTriggerId,
    /// The fire time the caller saw: the guard that makes a firing happen once.
    pub expected_next_fire_time: Timestamp,
    /// The fire time after this one; `None` completes the trigger.
    pub next_fire_time: Option<Timestamp>,
    /// When it fired.
    pub fired_at: Timestamp,
    /// The firing's job record.
    pub job: NewJob,
}

/// Params of [`Store::cron_trigger_resume`].
#[derive(Debug, Clone)]
pub struct CronTriggerResumeParams {
    /// The trigger.
    pub id: CronTriggerId,
    /// When it fires next (now: a resumed trigger runs once at once).
    pub next_fire_time: Timestamp,
}

/// Params of [`Store::cron_trigger_delete`].
#[derive(Debug, Clone)]
pub struct CronTriggerDeleteParams {
    /// The trigger.
    pub id: CronTriggerId,
    /// Deletion time (its `end_time`).
    pub now: Timestamp,
}

/// Params of [`Store::cron_trigger_fail`].
#[derive(Debug, Clone)]
pub struct CronTriggerFailParams {
    /// The trigger.
    pub id: CronTriggerId,
    /// Why.
    pub message: String,
}

/// Params of [`Store::node_register`].
#[derive(Debug, Clone)]
pub struct NodeRegisterParams {
    /// A readable name, e.g. `host:pid`.
    pub name: String,
    /// Registration time.
    pub now: Timestamp,
    /// Whether it claims and runs jobs (a dashboard's engine does not).
    pub runs_jobs: bool,
}

/// Params of [`Store::job_stats`].
#[derive(Debug, Clone)]
pub struct JobStatsParams {
    /// Window start for the per-minute, duration and rescue figures.
    pub since: Timestamp,
}

/// Upper bounds (milliseconds) of the run-duration histogram's buckets; a last, unbounded
/// bucket follows.
pub const DURATION_BUCKETS_MS: [u64; 13] = [
    5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000,
];

/// What [`Store::job_stats`] counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JobStats {
    /// Jobs by type and status.
    pub by_type_and_status: Vec<(JobType, JobStatus, u64)>,
    /// Per minute (its start) since the window start: jobs that completed, and that failed.
    pub per_minute: Vec<MinuteStats>,
    /// Jobs that ended in the window per duration bucket: one count per bound of
    /// [`DURATION_BUCKETS_MS`], then the count above the last bound (not cumulative).
    pub duration_counts: Vec<u64>,
    /// Sum of those durations, in milliseconds.
    pub duration_sum_ms: u64,
    /// Jobs that ended in the window after more than one attempt.
    pub rescued: u64,
}

/// Completions in one minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MinuteStats {
    /// The minute's start.
    pub minute: Timestamp,
    /// Jobs that completed in it.
    pub completed: u64,
    /// Jobs that failed in it.
    pub failed: u64,
}

/// How far back (in minutes before the newest counted one) the stores keep their per-minute
/// counts of creations and completions: 48 hours. The stores' migrations prune at this
/// distance; a window reaching further back is counted from the job rows.
pub const KEPT_MINUTES: i64 = 2_880;

/// Where a store reads a window's figures that starts at `since`: the whole minutes from
/// `first_kept_minute` on from its kept per-minute counts, the rows completed before
/// `rows_until` (microseconds) from the job table: the part-minute before the first whole
/// one, or the whole window when the kept minutes do not reach back to it.
///
/// ```
/// use asyncapex_core::MinuteWindow;
/// use jiff::Timestamp;
///
/// let since = Timestamp::from_microsecond(90_000_000).unwrap(); // 1.5 minutes
/// let w = MinuteWindow::split(since, Some(10));
/// assert_eq!((w.rows_until, w.first_kept_minute), (120_000_000, 2));
/// // Nothing kept: every row is read.
/// assert_eq!(MinuteWindow::split(since, None).rows_until, i64::MAX);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinuteWindow {
    /// Rows completed at or after the window start and before this instant (µs) are read.
    pub rows_until: i64,
    /// Kept minutes from this one (minute = µs / 60,000,000) on are read.
    pub first_kept_minute: i64,
}

impl MinuteWindow {
    /// Splits the window starting at `since`, given the newest minute the store keeps
    /// (`None` when it keeps none).
    pub fn split(since: Timestamp, newest_kept_minute: Option<i64>) -> Self {
        let first_whole = since.as_microsecond().div_euclid(60_000_000)
            + i64::from(since.as_microsecond().rem_euclid(60_000_000) != 0);
        match newest_kept_minute {
            Some(newest) if first_whole >= newest - KEPT_MINUTES => MinuteWindow {
                rows_until: first_whole.saturating_mul(60_000_000),
                first_kept_minute: first_whole,
            },
            _ => MinuteWindow {
                rows_until: i64::MAX,
                first_kept_minute: i64::MAX,
            },
        }
    }
}

/// What the jobs that ended in one minute and one duration bucket add to [`JobStats`]: a row
/// of a store's kept completion figures, or one job's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MinuteFigures {
    /// The minute (µs / 60,000,000).
    pub minute: i64,
    /// The index in [`DURATION_BUCKETS_MS`] of the run time's bucket, its length for the
    /// bucket above the last bound, or -1 for jobs that ended without starting.
    pub bucket: i64,
    /// Those that completed.
    pub completed: u64,
    /// Those that failed.
    pub failed: u64,
    /// All of them (aborted ones too).
    pub ended: u64,
    /// Their run time, in milliseconds.
    pub sum_ms: u64,
    /// Those that ran more than one attempt.
    pub rescued: u64,
}

impl JobStats {
    /// Stats with no figures yet (a zero for each duration bucket).
    pub fn empty() -> Self {
        JobStats {
            duration_counts: vec![0; DURATION_BUCKETS_MS.len() + 1],
            ..JobStats::default()
        }
    }

    /// Adds one minute's and bucket's figures; figures must come in minute order (a store's
    /// `ORDER BY minute`), so the per-minute list stays sorted.
    pub fn add(&mut self, f: MinuteFigures) -> Result<()> {
        let minute =
            Timestamp::from_microsecond(f.minute.saturating_mul(60_000_000)).map_err(|e| {
                crate::Error::store(
                    crate::StoreErrorKind::Corrupt,
                    format!("kept stats: minute {} is out of range: {e}", f.minute),
                )
            })?;
        match self.per_minute.last_mut() {
            Some(last) if last.minute == minute => {
                last.completed += f.completed;
                last.failed += f.failed;
            }
            _ => self.per_minute.push(MinuteStats {
                minute,
                completed: f.completed,
                failed: f.failed,
            }),
        }
        if f.bucket >= 0 {
            let slot = (f.bucket as usize).min(DURATION_BUCKETS_MS.len());
            if self.duration_counts.len() <= slot {
                self.duration_counts
                    .resize(DURATION_BUCKETS_MS.len() + 1, 0);
            }
            self.duration_counts[slot] += f.ended;
            self.duration_sum_ms += f.sum_ms;
            self.rescued += f.rescued;
        }
        Ok(())
    }
}

/// Params of [`Store::node_heartbeat`].
#[derive(Debug, Clone)]
pub struct NodeHeartbeatParams {
    /// The node's ID from [`Store::node_register`].
    pub id: i64,
    /// Now.
    pub now: Timestamp,
}

/// Params of [`Store::node_list`].
#[derive(Debug, Clone)]
pub struct NodeListParams {
    /// Now.
    pub now: Timestamp,
    /// A node silent longer than this is dead.
    pub dead_after: std::time::Duration,
    /// At most this many.
    pub limit: u32,
    /// Only nodes that run jobs (leave out dashboards and other engines of concurrency 0).
    pub workers_only: bool,
}

/// A process registered with the store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeRecord {
    /// Its ID.
    pub id: i64,
    /// Its readable name (`host:pid`).
    pub name: String,
    /// Its lease-owner name: `name#id`.
    pub owner: String,
    /// When it registered.
    pub started_at: Timestamp,
    /// Its last heartbeat.
    pub heartbeat_at: Timestamp,
    /// Whether it has not stopped and heartbeated recently enough.
    pub alive: bool,
    /// Jobs it holds leases on.
    pub running_jobs: u64,
    /// Whether it claims and runs jobs.
    pub runs_jobs: bool,
    /// When it stopped cleanly; `None` while it runs, or when it died without stopping.
    pub stopped_at: Option<Timestamp>,
}

impl NodeRecord {
    /// `alive`, `stopped` or `dead` (silent past the limit without stopping).
    pub fn state(&self) -> &'static str {
        match (self.stopped_at, self.alive) {
            (Some(_), _) => "stopped",
            (None, true) => "alive",
            (None, false) => "dead",
        }
    }
}

/// Params of [`Store::job_insert_many`].
#[derive(Debug, Clone)]
pub struct JobInsertManyParams {
    /// The jobs.
    pub jobs: Vec<NewJob>,
    /// The most batch jobs that may be `Holding` in the flex queue (Apex: 100).
    pub max_holding: u32,
}

impl JobInsertManyParams {
    /// Jobs with no flex-queue cap.
    pub fn new(jobs: Vec<NewJob>) -> JobInsertManyParams {
        JobInsertManyParams {
            jobs,
            max_holding: u32::MAX,
        }
    }
}

/// Params of [`Store::job_list`] and [`Store::job_count`]; empty filters match everything,
/// and every filter given applies.
#[derive(Debug, Clone)]
pub struct JobListParams {
    /// Only these statuses.
    pub statuses: Vec<JobStatus>,
    /// Only these job types.
    pub job_types: Vec<JobType>,
    /// Only this class name.
    pub class_name: Option<String>,
    /// Only these class names (any of them): how a class-name prefix is searched, once
    /// [`Store::job_class_names`] has said which names it matches.
    pub class_names: Vec<String>,
    /// Only children of this job.
    pub parent_job_id: Option<JobId>,
    /// Only firings of this schedule (Apex's `CronTriggerId`).
    pub cron_trigger_id: Option<CronTriggerId>,
    /// Only retries of this job.
    pub retry_of: Option<JobId>,
    /// Only jobs submitted in this range.
    pub created: TimeRange,
    /// Only jobs that ended in this range (unfinished jobs never match a bound).
    pub completed: TimeRange,
    /// Only jobs older than this one (keyset pagination).
    pub before: Option<JobId>,
    /// At most this many.
    pub limit: u32,
}

impl Default for JobListParams {
    fn default() -> Self {
        JobListParams {
            statuses: Vec::new(),
            job_types: Vec::new(),
            class_name: None,
            class_names: Vec::new(),
            parent_job_id: None,
            cron_trigger_id: None,
            retry_of: None,
            created: TimeRange::default(),
            completed: TimeRange::default(),
            before: None,
            limit: 100,
        }
    }
}

/// How far a job's ID may run ahead of its submission time: IDs sort by the millisecond they
/// were minted, which is the submission time except after the clock stepped back or a node
/// minted more than 8,192 IDs in one millisecond (the generator then borrows from the next).
/// A range filter walks the IDs down from its end plus this slack, so it reads the jobs of
/// its range rather than every newer one.
pub const ID_CLOCK_SLACK: std::time::Duration = std::time::Duration::from_secs(60);

impl JobListParams {
    /// `class_names` sorted, each once: a store lists each name once however often it is
    /// given, in this order.
    pub fn unique_class_names(&self) -> Vec<String> {
        let mut out = self.class_names.clone();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The smallest ID a matching job can have, and the ID the newest-first walk starts
    /// below: the keyset `before`, narrowed by the time ranges. A job submitted at or after
    /// `created.from` has an ID minted then or later (IDs never run behind their time); a job
    /// submitted (or ended, which comes later) before a range's end has an ID minted before
    /// that end plus [`ID_CLOCK_SLACK`].
    pub fn id_bounds(&self) -> (Option<JobId>, Option<JobId>) {
        let floor = self.created.from.map(JobId::first_minted_at);
        let ends = [self.created.before, self.completed.before];
        let ceiling = ends
            .into_iter()
            .flatten()
            .min()
            .map(|end| JobId::first_minted_at(crate::clock::add(end, ID_CLOCK_SLACK)));
        let start = match (self.before, ceiling) {
            (Some(b), Some(c)) => Some(b.min(c)),
            (b, c) => b.or(c),
        };
        (floor, start)
    }
}

/// A half-open range of instants, `[from, before)`; an open end is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive start.
    pub from: Option<Timestamp>,
    /// Exclusive end.
    pub before: Option<Timestamp>,
}

impl TimeRange {
    /// Whether neither end is set.
    pub fn is_open(&self) -> bool {
        self.from.is_none() && self.before.is_none()
    }
}

/// Params of [`Store::job_count_created_since`].
#[derive(Debug, Clone)]
pub struct JobCountCreatedSinceParams {
    /// Start of the window (inclusive).
    pub since: Timestamp,
    /// Only these job types.
    pub job_types: Vec<JobType>,
}

/// Params of [`Store::job_claim`].
#[derive(Debug, Clone)]
pub struct JobClaimParams {
    /// The lease holder.
    pub owner: String,
    /// Jobs with a run time not after this are due.
    pub now: Timestamp,
    /// The lease's expiry.
    pub lease_until: Timestamp,
    /// How many jobs to claim from which queues ([`QueueClaim::default_queue`](crate::queue::QueueClaim::default_queue) for a
    /// single-pool engine). A paused queue gives none; a queue at its global cap or rate limit
    /// gives only what the cap or limit leaves.
    pub queues: Vec<crate::queue::QueueClaim>,
}

/// Params of [`Store::job_retry`].
#[derive(Debug, Clone)]
pub struct JobRetryParams {
    /// The job.
    pub id: JobId,
    /// The lease holder whose attempt failed.
    pub owner: String,
    /// When the attempt ended.
    pub now: Timestamp,
    /// When the next attempt is due.
    pub run_at: Timestamp,
    /// Why the attempt failed (kept in the job's attempt history).
    pub error: String,
}

/// Params of [`Store::job_heartbeat`].
#[derive(Debug, Clone)]
pub struct JobHeartbeatParams {
    /// The lease holder.
    pub owner: String,
    /// The jobs it believes it holds.
    pub ids: Vec<JobId>,
    /// The new expiry.
    pub lease_until: Timestamp,
}

/// One job still held, from [`Store::job_heartbeat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeartbeatAck {
    /// The job.
    pub id: JobId,
    /// Whether `abort_job` asked it to stop.
    pub abort_requested: bool,
}

/// How a running job ended, as the executor decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Ran to the end.
    Completed,
    /// Failed; the message goes to `extended_status` unless one is already there.
    Failed {
        /// Why.
        message: String,
    },
    /// Stopped because an abort was requested.
    Aborted {
        /// Why.
        message: String,
    },
}

impl JobOutcome {
    /// The terminal status this outcome writes.
    pub fn status(&self) -> JobStatus {
        match self {
            JobOutcome::Completed => JobStatus::Completed,
            JobOutcome::Failed { .. } => JobStatus::Failed,
            JobOutcome::Aborted { .. } => JobStatus::Aborted,
        }
    }

    /// The message for `extended_status`.
    pub fn message(&self) -> Option<&str> {
        match self {
            JobOutcome::Completed => None,
            JobOutcome::Failed { message } | JobOutcome::Aborted { message } => Some(message),
        }
    }
}

/// Params of [`Store::job_finish`].
#[derive(Debug, Clone)]
pub struct JobFinishParams {
    /// The job.
    pub id: JobId,
    /// The lease holder finishing it.
    pub owner: String,
    /// Completion time.
    pub now: Timestamp,
    /// How it ended.
    pub outcome: JobOutcome,
    /// Jobs to insert atomically with the transition (children, a finalizer run).
    pub insert: Vec<NewJob>,
    /// The flex-queue cap applied to `insert` (a batch chained from `finish`).
    pub max_holding: u32,
}

/// Params of [`Store::job_complete_many`].
#[derive(Debug, Clone)]
pub struct JobCompleteManyParams {
    /// The jobs.
    pub ids: Vec<JobId>,
    /// The lease holder completing them.
    pub owner: String,
    /// Completion time.
    pub now: Timestamp,
}

/// Params of [`Store::job_abort`].
#[derive(Debug, Clone)]
pub struct JobAbortParams {
    /// The job.
    pub id: JobId,
    /// Abort time.
    pub now: Timestamp,
}

/// What [`Store::job_abort`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbortOutcome {
    /// It was waiting; it is now `Aborted` and will never run.
    Aborted,
    /// It is running; it has been asked to stop and will end `Aborted`.
    AbortRequested,
    /// It had already ended with this status; nothing changed.
    AlreadyFinished(JobStatus),
    /// No job has that ID.
    NotFound,
    /// It was a schedule: it is now deleted and fires no more (a running firing finishes).
    ScheduleDeleted,
    /// It was a schedule that had already been deleted.
    ScheduleAlreadyDeleted,
}

/// Params of [`Store::job_rescue`].
#[derive(Debug, Clone)]
pub struct JobRescueParams {
    /// Leases that expired before this are rescued.
    pub now: Timestamp,
    /// Leases of this owner are left alone (it is alive: it is the caller).
    pub exclude_owner: Option<String>,
}

/// What [`Store::job_rescue`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RescueOutcome {
    /// Jobs put back to `Queued` for another attempt.
    pub requeued: Vec<JobId>,
    /// Jobs failed because they had used all their attempts.
    pub failed: Vec<JobId>,
    /// Jobs that were asked to abort, now `Aborted`.
    pub aborted: Vec<JobId>,
}

/// Params of [`Store::job_finalizer_store`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFinalizerStoreParams {
    /// The running job.
    pub id: JobId,
    /// Its lease holder.
    pub owner: String,
    /// The finalizer's registered class.
    pub class: String,
    /// The finalizer's state, as JSON.
    pub state: String,
}

/// A failed job whose stored finalizer has not run (see [`Store::job_finalizers_stranded`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StrandedFinalizer {
    /// The failed job.
    pub job: JobRecord,
    /// The finalizer's registered class.
    pub class: String,
    /// The finalizer's state, as JSON.
    pub state: String,
}

/// Params of [`Store::job_release`].
#[derive(Debug, Clone)]
pub struct JobReleaseParams {
    /// The lease holder giving them back.
    pub owner: String,
    /// The jobs.
    pub ids: Vec<JobId>,
}

/// A store's capability to insert jobs inside an application's own database transaction of
/// type `Self`: the jobs exist if and only if that transaction commits (Apex's "enqueued work
/// is dispatched when the transaction commits").
///
/// A store crate implements it for its database's transaction type (the PostgreSQL store for
/// `tokio_postgres::Transaction`); the engine's `EnqueueTransaction::commit_in` finds the
/// store behind its `Arc<dyn Store>` with [`Store::as_any`], so the engine names no store.
pub trait AppTransaction<S: Store>: Sync {
    /// Inserts `jobs` inside this transaction, capping the flex queue at `max_holding` as
    /// [`Store::job_insert_many`] does.
    ///
    /// # Errors
    /// As [`Store::job_insert_many`]; a store error when the database refuses.
    fn job_insert_in(
        &self,
        store: &S,
        jobs: &[NewJob],
        max_holding: u32,
    ) -> impl std::future::Future<Output = Result<()>> + Send;
}

/// An application's own database transaction that jobs can be inserted into without
/// awaiting: SQLite's (`rusqlite`), whose connection is not `Send` and so cannot be held
/// across an `.await` in a spawned task. The engine's `PreparedEnqueue::insert_in` takes
/// one; the store crate implements it for its connection types.
pub trait BlockingAppTransaction<S: Store> {
    /// Inserts `jobs` inside this transaction, capping the flex queue at `max_holding`.
    ///
    /// # Errors
    /// As [`Store::job_insert_many`]; [`Error::NotAllowed`](crate::Error::NotAllowed) when
    /// the transaction is not on the store's file or none is open.
    fn job_insert_in(&self, store: &S, jobs: &[NewJob], max_holding: u32) -> Result<()>;
}

/// Params of [`Store::job_purge`] and [`Store::job_purge_count`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobPurgeParams {
    /// Jobs that ended strictly before this instant (one that ended at it survives).
    pub before: Timestamp,
    /// Which terminal statuses to delete.
    pub statuses: Vec<JobStatus>,
    /// Only these job types; `None` for every type.
    pub job_types: Option<Vec<JobType>>,
    /// The most job records one call deletes, so a purge never holds the write lock long.
    pub limit: u32,
    /// Only jobs that ended at or after this instant; `None` for no lower bound. A purge in
    /// batches passes each batch's [`PurgeBatch::last_ended_at`] on, so a batch starts where
    /// the last one stopped: on PostgreSQL the entries earlier batches deleted stay in the
    /// index until a vacuum, and walking them from the oldest made each batch slower than
    /// the one before (ignored by [`Store::job_purge_count`]).
    pub ended_from: Option<Timestamp>,
}

/// What one [`Store::job_purge`] call deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PurgeBatch {
    /// Job records deleted.
    pub deleted: u64,
    /// The latest end among them (`None` when none were deleted).
    pub last_ended_at: Option<Timestamp>,
    /// Whether the store found no more records to purge. A call may stop short of its limit
    /// without being done (the SQLite store lets other calls waiting for its one connection
    /// in between): only this says a purge in batches has finished.
    pub exhausted: bool,
}
