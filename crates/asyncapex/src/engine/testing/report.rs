//! What a kit call ran: each execution's final record and state, the failures among them,
//! and the batch error events they published.

use std::sync::Arc;

use asyncapex_core::{Error, JobId, JobRecord, JobStatus, JobType, NewBatchErrorEvent};
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;

use crate::runtime::Runtime;

/// One execution the kit ran: the job's final record and the state its code left.
#[derive(Debug, Clone)]
pub struct JobRun {
    /// The job's record after the run (status, `extended_status`, batch counters, …).
    pub record: JobRecord,
    state: Option<String>,
}

impl JobRun {
    /// The job's state as its code left it: after `execute` for queueables, schedulables
    /// and finalizers, after `finish` for batches (`None` for futures, which have none, and
    /// when the code panicked or a batch failed before `finish`). This is how a test
    /// observes a job without statics.
    ///
    /// ```
    /// # fn demo(run: &asyncapex::testing::JobRun) {
    /// #[derive(serde::Deserialize)] struct Counter { count: u32 }
    /// let after: Option<Counter> = run.state();
    /// # }
    /// ```
    pub fn state<T: DeserializeOwned>(&self) -> Option<T> {
        self.state
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
    }

    /// The state as JSON, if it was kept.
    pub fn state_json(&self) -> Option<serde_json::Value> {
        self.state()
    }

    /// Why the run counts as a failure, if it does: a `Failed` or `Aborted` job's reason,
    /// or the first chunk error of a batch that completed with failed chunks (Apex surfaces
    /// that to the test too).
    pub fn failure(&self) -> Option<JobFailure> {
        let r = &self.record;
        let failed = matches!(r.status, JobStatus::Failed | JobStatus::Aborted)
            || (r.job_type == JobType::BatchApex && r.number_of_errors > 0);
        failed.then(|| JobFailure {
            id: r.id,
            job_type: r.job_type,
            class_name: r.class_name.clone(),
            status: r.status,
            message: r.extended_status.clone().unwrap_or_default(),
        })
    }
}

/// A job that failed during a kit call, in a form a test can assert on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    /// The job.
    pub id: JobId,
    /// Its type.
    pub job_type: JobType,
    /// Its class (`class.method` is split: this is the class).
    pub class_name: String,
    /// Its final status (`Completed` for a batch whose chunks failed).
    pub status: JobStatus,
    /// The reason: its `extended_status`.
    pub message: String,
}

impl std::fmt::Display for JobFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} ended {}: {}",
            self.job_type, self.class_name, self.id, self.status, self.message
        )
    }
}

/// The failures of a kit call, as an error (see [`TestReport::into_result`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestFailures(pub Vec<JobFailure>);

impl std::fmt::Display for TestFailures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} job(s) failed", self.0.len())?;
        for failure in &self.0 {
            write!(f, "; {failure}")?;
        }
        Ok(())
    }
}

impl std::error::Error for TestFailures {}

/// What a kit call ([`stop_test`](super::TestKit::stop_test), [`run_queued`](super::TestKit::run_queued),
/// [`advance`](super::TestKit::advance) …) ran, in the order it ran them.
///
/// ```
/// # fn demo(report: asyncapex::testing::TestReport) -> Result<(), asyncapex::testing::TestFailures> {
/// for run in report.runs() {
///     println!("{} {}", run.record.id, run.record.status);
/// }
/// let report = report.into_result()?; // Err lists every failed job
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct TestReport {
    runs: Vec<JobRun>,
    batch_error_events: Vec<NewBatchErrorEvent>,
}

impl TestReport {
    /// Every execution, in run order.
    pub fn runs(&self) -> &[JobRun] {
        &self.runs
    }

    /// The run of one job, if this call ran it.
    pub fn run(&self, id: JobId) -> Option<&JobRun> {
        self.runs.iter().find(|r| r.record.id == id)
    }

    /// The runs of one class (of any job type), in run order.
    pub fn runs_of(&self, class_name: &str) -> Vec<&JobRun> {
        self.runs
            .iter()
            .filter(|r| r.record.class_name == class_name)
            .collect()
    }

    /// The failures, in run order.
    pub fn failures(&self) -> Vec<JobFailure> {
        self.runs.iter().filter_map(JobRun::failure).collect()
    }

    /// The failure of one job, if it failed.
    pub fn failure_of(&self, id: JobId) -> Option<JobFailure> {
        self.run(id).and_then(JobRun::failure)
    }

    /// The batch error events published during the call (Apex's `BatchApexErrorEvent`s, as
    /// `Test.getEventBus().deliver()` hands them to a test after `stopTest`); only batches
    /// with `RAISES_ERROR_EVENTS` publish them.
    pub fn batch_error_events(&self) -> &[NewBatchErrorEvent] {
        &self.batch_error_events
    }

    /// `Ok(self)` when nothing failed; otherwise every failure as one error, for `?`.
    ///
    /// # Errors
    /// [`TestFailures`] listing each failed job and its reason.
    pub fn into_result(self) -> Result<TestReport, TestFailures> {
        let failures = self.failures();
        if failures.is_empty() {
            Ok(self)
        } else {
            Err(TestFailures(failures))
        }
    }

    /// Appends another report's runs and events (the virtual-time calls run in steps).
    pub(super) fn extend(&mut self, other: TestReport) {
        self.runs.extend(other.runs);
        self.batch_error_events.extend(other.batch_error_events);
    }
}

/// Gathers what one kit call ran.
pub(super) struct Collector {
    rt: Arc<Runtime>,
    ran: Vec<(JobId, Option<String>)>,
    events: broadcast::Receiver<NewBatchErrorEvent>,
}

impl Collector {
    /// Starts listening for batch error events before anything runs, so none is missed.
    pub(super) fn new(rt: &Arc<Runtime>) -> Collector {
        Collector {
            rt: rt.clone(),
            ran: Vec::new(),
            events: rt.events.subscribe_batch_errors(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.ran.len()
    }

    pub(super) fn ran(&mut self, id: JobId, state: Option<String>) {
        self.ran.push((id, state));
    }

    /// Reads each job's final record and the events published meanwhile.
    pub(super) async fn finish(mut self) -> Result<TestReport, Error> {
        let mut runs = Vec::with_capacity(self.ran.len());
        for (id, state) in self.ran {
            let record = self
                .rt
                .store
                .job_get(id)
                .await?
                .ok_or_else(|| Error::UnknownJob { id: id.to_string() })?;
            runs.push(JobRun { record, state });
        }
        let mut batch_error_events = Vec::new();
        loop {
            match self.events.try_recv() {
                Ok(event) => batch_error_events.push(event),
                Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
                Err(_) => break,
            }
        }
        Ok(TestReport {
            runs,
            batch_error_events,
        })
    }
}
