//! Shared types of asyncapex: IDs, the job record and its status machine, the clock, governor
//! limits, the [`Store`] trait, the rules every store applies the same way ([`rules`]) and the
//! public [`Error`].
//!
//! Users normally depend on the `asyncapex` crate, which re-exports everything here.

pub mod batch;
pub mod clock;
pub mod cron;
pub mod cron_trigger;
pub mod error;
pub mod fill;
pub mod id;
pub mod job;
pub mod limits;
pub mod query;
pub mod queue;
pub mod redaction;
pub mod rules;
pub mod status;
pub mod store;

pub use batch::{
    BatchChunkRecord, BatchErrorEvent, BatchPhase, ChunkStatus, FlexMove, NewBatchChunk,
    NewBatchErrorEvent,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use cron_trigger::{CronTriggerRecord, NewCronTrigger, StoredTriggerState, TriggerState};
pub use error::{Error, Result, StoreErrorKind};
pub use id::{CronTriggerId, IdGenerator, JobId, KeyPrefix, RecordId};
pub use job::{AttemptOutcome, AttemptRecord, JobRecord, JobType, NewJob};
pub use limits::{LimitName, Limits};
pub use query::{QueryPageParams, QuerySource};
pub use queue::{QueueClaim, QueueRecord, QueueSettings, RateLimit, TenantCount};
pub use redaction::Redactions;
pub use status::JobStatus;
pub use store::{
    AbortOutcome, AppTransaction, BlockingAppTransaction, CronTriggerDeleteParams,
    CronTriggerDueParams, CronTriggerFailParams, CronTriggerFireParams, CronTriggerInsertParams,
    CronTriggerListParams, CronTriggerResumeParams, DURATION_BUCKETS_MS, HeartbeatAck,
    ID_CLOCK_SLACK, JobAbortParams, JobClaimParams, JobCompleteManyParams,
    JobCountCreatedSinceParams, JobFinalizerStoreParams, JobFinishParams, JobHeartbeatParams,
    JobInsertManyParams, JobListParams, JobOutcome, JobPurgeParams, JobReleaseParams,
    JobRescueParams, JobRetryParams, JobStats, JobStatsParams, KEPT_MINUTES, MinuteFigures,
    MinuteStats, MinuteWindow, NodeHeartbeatParams, NodeListParams, NodeRecord, NodeRegisterParams,
    PurgeBatch, RescueOutcome, Store, StrandedFinalizer, TimeRange,
};
pub use store::{
    BatchChunkFinishParams, BatchChunkListParams, BatchChunksInsertParams, BatchChunksResetParams,
    BatchErrorEventListParams, BatchPromoteParams, BatchStartCompleteParams, ChunkOutcome,
    FlexQueueMoveParams,
};
