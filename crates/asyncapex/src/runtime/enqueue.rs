//! Options for enqueueing, and duplicate signatures.

use std::time::Duration;

use asyncapex_core::{Error, JobId};

/// How to enqueue a job (Apex's `AsyncOptions`).
///
/// ```
/// use std::time::Duration;
/// use asyncapex::{DuplicateSignature, EnqueueOptions};
///
/// let options = EnqueueOptions::default()
///     .delay(Duration::from_secs(120))
///     .max_stack_depth(5)
///     .duplicate_signature(DuplicateSignature::builder().add_string("sync-account").add_integer(42).build()?);
/// # Ok::<(), asyncapex::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnqueueOptions {
    pub(crate) delay: Option<Duration>,
    pub(crate) max_stack_depth: Option<u32>,
    pub(crate) signature: Option<DuplicateSignature>,
    pub(crate) route: super::queues::EnqueueRoute,
}

impl EnqueueOptions {
    /// The earliest the job may start, counted from the enqueue (Apex's
    /// `MinimumQueueableDelayInMinutes`). Apex accepts 0–10 minutes in whole minutes; asyncapex
    /// accepts any delay. An explicit delay replaces the engine's default delay; `ZERO` means
    /// "as soon as possible" even when a default is configured.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// The deepest the chain started by this job may go, counting this job as depth 1 when it
    /// is a root (Apex's `MaximumQueueableStackDepth`). Descendants inherit it; a descendant
    /// may lower it but never raise it. Must be at least 1.
    pub fn max_stack_depth(mut self, depth: u32) -> Self {
        self.max_stack_depth = Some(depth);
        self
    }

    /// Refuse this enqueue while another job with the same signature is still waiting to run
    /// (Apex's `DuplicateSignature`). The signature is released when that job starts.
    pub fn duplicate_signature(mut self, signature: DuplicateSignature) -> Self {
        self.signature = Some(signature);
        self
    }

    /// Waits in this named queue rather than its type's (or the default): an extension
    /// beyond Apex. The name is checked at enqueue (1 to 63 ASCII letters, digits, `_`, `-`,
    /// `.`); some engine must work the queue.
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.route.queue = Some(queue.into());
        self
    }

    /// Its priority in its queue, 0 (claimed first, the default) to 9, checked at enqueue:
    /// an extension beyond Apex. A job of priority `p` is ordered as if due `p` minutes
    /// later than it is, so priorities order claims while nothing waits more than 9 minutes
    /// longer for them (see `asyncapex_core::queue::PRIORITY_STEP`).
    pub fn priority(mut self, priority: u8) -> Self {
        self.route.priority = Some(priority);
        self
    }

    /// Counts the job against this tenant (Apex's org) for fair share: while the tenant has
    /// its queue's tenant limit of jobs waiting (2,000 by default), its further jobs wait
    /// behind other tenants'. An extension beyond Apex; 1 to 255 characters, no control
    /// characters, checked at enqueue.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.route.tenant = Some(tenant.into());
        self
    }
}

/// A duplicate signature (Apex's `QueueableDuplicateSignature`), built from IDs, integers and
/// strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DuplicateSignature(String);

impl DuplicateSignature {
    /// The largest signature, in bytes.
    pub const MAX_SIZE: usize = 1024;

    /// A builder (Apex's `QueueableDuplicateSignature.Builder`).
    pub fn builder() -> DuplicateSignatureBuilder {
        DuplicateSignatureBuilder::default()
    }

    /// The signature as text, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DuplicateSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Builds a [`DuplicateSignature`]; parts are kept with their kind so `add_integer(1)` and
/// `add_string("1")` differ.
#[derive(Debug, Clone, Default)]
pub struct DuplicateSignatureBuilder {
    parts: Vec<String>,
}

impl DuplicateSignatureBuilder {
    /// Adds a job or trigger ID (its 15-character form, so both spellings match).
    pub fn add_id(mut self, id: JobId) -> Self {
        self.parts.push(format!("id:{}", id.as_15()));
        self
    }

    /// Adds an integer.
    pub fn add_integer(mut self, value: i64) -> Self {
        self.parts.push(format!("int:{value}"));
        self
    }

    /// Adds a string.
    pub fn add_string(mut self, value: impl AsRef<str>) -> Self {
        self.parts.push(format!("str:{}", value.as_ref()));
        self
    }

    /// Bytes used so far (Apex's `getSize`).
    pub fn size(&self) -> usize {
        self.parts.iter().map(|p| p.len() + 1).sum()
    }

    /// Finishes the signature.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when it is empty or longer than
    /// [`DuplicateSignature::MAX_SIZE`] bytes.
    pub fn build(self) -> Result<DuplicateSignature, Error> {
        let text = self.parts.join("|");
        if text.is_empty() {
            return Err(Error::InvalidInput {
                what: "duplicate signature",
                input: text,
                rule: "a signature needs at least one part",
            });
        }
        if text.len() > DuplicateSignature::MAX_SIZE {
            return Err(Error::InvalidInput {
                what: "duplicate signature",
                input: text.chars().take(40).collect::<String>() + "…",
                rule: "a signature may be at most 1024 bytes",
            });
        }
        Ok(DuplicateSignature(text))
    }
}
