//! The public error type shared by every asyncapex crate.
//!
//! Each variant says which input broke which rule; messages are lowercase and never repeat the
//! type name. Store failures are classified at the store boundary into [`StoreErrorKind`] so
//! callers can tell a uniqueness conflict from a broken connection.

use thiserror::Error as ThisError;

/// What went wrong in asyncapex.
#[derive(Debug, Clone, ThisError, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Text that should be an ID is not one.
    #[error("invalid ID {input:?}: {reason}")]
    InvalidId {
        /// The text given.
        input: String,
        /// Which rule it broke.
        reason: String,
    },

    /// An ID of one kind was given where another kind is needed.
    #[error("expected a {expected} but got {input:?}, which is a {found}")]
    WrongIdKind {
        /// The text given.
        input: String,
        /// The kind required, e.g. "job ID".
        expected: &'static str,
        /// The kind found, e.g. "cron trigger ID".
        found: &'static str,
    },

    /// A value given to an API or the CLI is out of its allowed set or range.
    #[error("invalid {what} {input:?}: {rule}")]
    InvalidInput {
        /// What the value is for.
        what: &'static str,
        /// The value given.
        input: String,
        /// The rule it broke.
        rule: &'static str,
    },

    /// No job record has this ID.
    #[error("no job with ID {id}")]
    UnknownJob {
        /// The ID looked up.
        id: String,
    },

    /// No job type is registered under this name in this engine.
    #[error(
        "no job type is registered under the name {name:?}; register it with the engine builder"
    )]
    UnknownJobType {
        /// The class name looked up.
        name: String,
    },

    /// Two job types were registered under one name.
    #[error("the job type name {name:?} is registered twice; give one of them another name")]
    DuplicateRegistration {
        /// The name registered twice.
        name: String,
    },

    /// A job's state could not be turned into JSON, or JSON back into the job's type.
    #[error("payload of {class}: {message}")]
    Payload {
        /// The registered class name.
        class: String,
        /// What serde said.
        message: String,
    },

    /// A governor limit was exceeded (Apex's `System.LimitException`).
    #[error("{message}")]
    LimitExceeded {
        /// Which limit.
        limit: crate::limits::LimitName,
        /// How many were attempted.
        used: u64,
        /// The limit in force.
        max: u64,
        /// Apex-style wording, e.g. "too many queueable jobs added to the queue: 2".
        message: String,
    },

    /// A chain went deeper than its maximum stack depth (Apex's `System.AsyncException`).
    #[error(
        "maximum stack depth has been reached: a job at depth {depth} may not enqueue a child when the maximum stack depth is {max}"
    )]
    MaxStackDepth {
        /// Depth of the job that tried to enqueue.
        depth: u32,
        /// The maximum in force for its chain.
        max: u32,
    },

    /// A job with the same duplicate signature is still waiting to run.
    #[error(
        "attempt to enqueue job with duplicate queueable signature {signature:?}: a job with that signature is still waiting to run"
    )]
    DuplicateSignature {
        /// The signature.
        signature: String,
    },

    /// A cron expression is invalid, or never fires.
    #[error("{message}")]
    InvalidCron {
        /// Names the expression, the field and the rule.
        message: String,
    },

    /// A job is not holding in the flex queue, so it cannot be moved there (or relative to).
    #[error("job {id} is not in the flex queue (only Holding batch jobs are)")]
    NotInFlexQueue {
        /// The job.
        id: String,
    },

    /// The job's status does not allow the action: a retry of a job that did not fail or
    /// abort, a delete of one that has not finished.
    #[error("job {id} is {status}: {rule}")]
    WrongStatus {
        /// The job.
        id: String,
        /// Its status.
        status: crate::JobStatus,
        /// What the action needs, in words.
        rule: &'static str,
    },

    /// An active schedule already has this name.
    #[error("the job named {name:?} is already scheduled for execution")]
    DuplicateScheduleName {
        /// The name.
        name: String,
    },

    /// No schedule has this ID or name.
    #[error("no scheduled job with ID or name {key:?}")]
    UnknownSchedule {
        /// The ID or name looked up.
        key: String,
    },

    /// An HTTP callout failed (connection, timeout, or a malformed request).
    #[error("callout to {url} failed: {message}")]
    Callout {
        /// The URL called.
        url: String,
        /// What went wrong.
        message: String,
    },

    /// An operation is not allowed where it was called.
    #[error("{rule}")]
    NotAllowed {
        /// The rule, in words.
        rule: String,
    },

    /// The store failed.
    #[error("store error ({kind}): {message}")]
    Store {
        /// The class of failure.
        kind: StoreErrorKind,
        /// What the database said.
        message: String,
    },

    /// The engine has been shut down.
    #[error("the engine has been shut down")]
    Shutdown,

    /// Waiting for something took longer than allowed.
    #[error("timed out after {millis} ms waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long it waited.
        millis: u64,
    },
}

/// The class of a store failure, decided by the store that saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The database file or server could not be reached or opened.
    Unavailable,
    /// The database exists but is not an asyncapex store, or is damaged.
    Corrupt,
    /// The database was written by a newer asyncapex (an unknown migration).
    TooNew,
    /// A constraint the store relies on was violated.
    Constraint,
    /// The database file was deleted, or replaced by another file, while the store had it
    /// open: its changes go to a file nobody else sees. Stop claiming work and restart on
    /// the real file.
    Replaced,
    /// Anything else the database reported.
    Other,
}

impl std::fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StoreErrorKind::Unavailable => "unavailable",
            StoreErrorKind::Corrupt => "corrupt",
            StoreErrorKind::TooNew => "too new",
            StoreErrorKind::Constraint => "constraint",
            StoreErrorKind::Replaced => "replaced",
            StoreErrorKind::Other => "other",
        })
    }
}

impl Error {
    /// A store error of the given kind.
    pub fn store(kind: StoreErrorKind, message: impl Into<String>) -> Error {
        Error::Store {
            kind,
            message: message.into(),
        }
    }

    /// Whether this is a store failure (as opposed to a refusal of bad input).
    pub fn is_store(&self) -> bool {
        matches!(self, Error::Store { .. })
    }
}

/// `Result` with asyncapex's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
