//! The handler seam between typed job kinds and the untyped executor (River's `WorkUnit`):
//! each kind implements [`Handler`] for its trait, the [`Registry`] keeps them by name, and
//! the executor runs stored records through them without knowing any kind.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use asyncapex_core::{Error, JobRecord, JobType};

use super::context::ExecContext;
use super::job_error::JobError;
use super::limits::ContextKind;

/// The boxed future of one execution.
pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;

/// Runs stored jobs of one registered type.
pub(crate) trait Handler: Send + Sync {
    /// The job type this handler runs.
    fn job_type(&self) -> JobType;

    /// The context kind an execution of `job` runs under.
    fn context_kind(&self, job: &JobRecord) -> ContextKind;

    /// Whether its executions may make callouts.
    fn allows_callouts(&self) -> bool;

    /// The payload fields operator views redact.
    fn sensitive_fields(&self) -> &'static [&'static str] {
        &[]
    }

    /// Its own execution time limit, if it has one.
    fn time_limit(&self) -> Option<std::time::Duration>;

    /// Checks that a payload deserializes into the registered type (for JSON submitted over
    /// HTTP); `Err` says what serde said.
    fn check_payload(&self, payload: &str) -> Result<(), String>;

    /// Deserializes the payload and runs it.
    fn run(&self, job: &JobRecord, ctx: ExecContext) -> JobFuture;
}

/// The name a job record's handler is registered under: its class, or `class.method` for a
/// future. Handlers are keyed by job type and name, so one type may be both a queueable and a
/// schedulable, as an Apex class may.
pub(crate) fn key_of(job: &JobRecord) -> (JobType, String) {
    let name = match (&job.job_type, &job.method_name) {
        (JobType::Future, Some(method)) => registry_key(&job.class_name, method),
        _ => job.class_name.clone(),
    };
    (job.job_type, name)
}

/// Job types by registered name.
#[derive(Default)]
pub(crate) struct Registry {
    handlers: HashMap<(JobType, String), Arc<dyn Handler>>,
}

impl Registry {
    /// Registers `handler` under `name` (its job type is the handler's).
    ///
    /// # Errors
    /// [`Error::DuplicateRegistration`] when that type already has a handler of that name.
    pub(crate) fn add(&mut self, name: &str, handler: Arc<dyn Handler>) -> Result<(), Error> {
        let key = (handler.job_type(), name.to_owned());
        if self.handlers.contains_key(&key) {
            return Err(Error::DuplicateRegistration {
                name: name.to_owned(),
            });
        }
        self.handlers.insert(key, handler);
        Ok(())
    }

    pub(crate) fn get(&self, key: &(JobType, String)) -> Option<&Arc<dyn Handler>> {
        self.handlers.get(key)
    }

    /// Checks that `name` is registered as a `job_type`.
    pub(crate) fn require(&self, name: &str, job_type: JobType) -> Result<(), Error> {
        if self.handlers.contains_key(&(job_type, name.to_owned())) {
            return Ok(());
        }
        match self.handlers.keys().find(|(_, n)| n == name) {
            Some((other, _)) => Err(Error::NotAllowed {
                rule: format!("{name} is registered as a {other}, not as a {job_type}"),
            }),
            None => Err(Error::UnknownJobType {
                name: name.to_owned(),
            }),
        }
    }

    /// Checks a JSON payload against the type registered under `name`, if there is one.
    /// `Ok(false)` when nothing is registered under that name in this engine.
    pub(crate) fn check_payload(
        &self,
        name: &str,
        job_type: JobType,
        payload: &str,
    ) -> Result<bool, Error> {
        match self.handlers.get(&(job_type, name.to_owned())) {
            None => Ok(false),
            Some(h) => h
                .check_payload(payload)
                .map(|()| true)
                .map_err(|message| Error::Payload {
                    class: name.to_owned(),
                    message: format!("the JSON does not deserialize into {name}: {message}"),
                }),
        }
    }

    /// The sensitive fields of each registered class that has any, by class name.
    pub(crate) fn sensitive(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = self
            .handlers
            .iter()
            .filter(|(_, h)| !h.sensitive_fields().is_empty())
            .map(|((_, name), h)| {
                let fields = h
                    .sensitive_fields()
                    .iter()
                    .map(|f| (*f).to_owned())
                    .collect();
                (name.clone(), fields)
            })
            .collect();
        out.sort();
        out
    }

    /// Registered names with their job types, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .handlers
            .keys()
            .map(|(t, n)| format!("{n} ({t})"))
            .collect();
        names.sort_unstable();
        names
    }
}

/// The registry key of a future method: `class.method`.
pub(crate) fn registry_key(class: &str, method: &str) -> String {
    format!("{class}.{method}")
}
