//! The error a job's own code returns.

use std::fmt;

/// An unhandled error from a job's `execute` (Apex's unhandled exception).
///
/// Any `std::error::Error` converts into it with `?`, keeping its chain of causes in the
/// message, so job code can use the errors it already has. Its message becomes the job's
/// `extended_status`.
///
/// ```
/// use asyncapex::JobError;
///
/// fn parse(input: &str) -> Result<u32, JobError> {
///     Ok(input.parse::<u32>()?)
/// }
/// assert!(parse("x").unwrap_err().message().contains("invalid digit"));
/// let custom = JobError::new("account 42 has no owner");
/// assert_eq!(custom.to_string(), "account 42 has no owner");
/// // Under a retry policy, say which failures another attempt cannot mend:
/// let gone = JobError::permanent("account 42 was deleted");
/// assert!(gone.is_permanent() && !custom.is_permanent());
/// ```
pub struct JobError {
    message: String,
    permanent: bool,
}

impl JobError {
    /// An error with this message. Under a [`RetryPolicy`](crate::RetryPolicy) it is
    /// retryable: another attempt follows (without a policy, as in Apex, the job fails).
    pub fn new(message: impl Into<String>) -> JobError {
        JobError {
            message: message.into(),
            permanent: false,
        }
    }

    /// The same as [`new`](Self::new), named for code that says so.
    pub fn retryable(message: impl Into<String>) -> JobError {
        JobError::new(message)
    }

    /// An error no retry can mend (bad input, a record gone): the job fails now, even
    /// under a retry policy with attempts left.
    pub fn permanent(message: impl Into<String>) -> JobError {
        JobError {
            message: message.into(),
            permanent: true,
        }
    }

    /// This error, marked permanent (for one made by `?`).
    pub fn into_permanent(mut self) -> JobError {
        self.permanent = true;
        self
    }

    /// Whether a retry policy must not retry it.
    pub fn is_permanent(&self) -> bool {
        self.permanent
    }

    /// The message, as it will appear in `extended_status`.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// An error's message followed by its chain of causes, `outer: inner: innermost`.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

impl<E: std::error::Error> From<E> for JobError {
    fn from(e: E) -> JobError {
        JobError {
            message: error_chain(&e),
            permanent: false,
        }
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.permanent {
            write!(f, "JobError({:?}, permanent)", self.message)
        } else {
            write!(f, "JobError({:?})", self.message)
        }
    }
}
