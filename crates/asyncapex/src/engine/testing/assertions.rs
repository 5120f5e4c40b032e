//! Assertions on enqueued work (River's `RequireInserted`, Oban's `assert_enqueued`) and the
//! flex queue's order (Apex's `Test.getFlexQueueOrder`).

use std::fmt;
use std::sync::Arc;

use asyncapex_core::{Error, JobId, JobListParams, JobRecord, JobStatus, JobType};
use serde::de::DeserializeOwned;

use super::TestKit;
use crate::kinds::batch::Batchable;
use crate::kinds::finalizer::Finalizer;
use crate::kinds::future::FutureMethod;
use crate::kinds::queueable::Queueable;

type Predicate = Arc<dyn Fn(&JobRecord) -> bool + Send + Sync>;

/// Which jobs an assertion looks for: a job type, a class, a payload predicate, statuses.
/// By default it matches jobs still waiting to run (`Holding` or `Queued`): "enqueued".
///
/// ```
/// use asyncapex::testing::JobMatch;
/// # #[derive(serde::Serialize, serde::Deserialize)] struct SyncAccount { id: u64 }
/// # impl asyncapex::Queueable for SyncAccount { async fn execute(&mut self, _: &mut asyncapex::QueueableContext) -> Result<(), asyncapex::JobError> { Ok(()) } }
/// let account_42 = JobMatch::queueable::<SyncAccount>().payload(|job: &SyncAccount| job.id == 42);
/// ```
#[derive(Clone)]
pub struct JobMatch {
    job_type: Option<JobType>,
    class_name: Option<String>,
    method_name: Option<String>,
    statuses: Vec<JobStatus>,
    predicates: Vec<Predicate>,
    described: String,
}

impl fmt::Debug for JobMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.described)
    }
}

impl JobMatch {
    fn new(job_type: Option<JobType>, class: Option<&str>, described: String) -> JobMatch {
        JobMatch {
            job_type,
            class_name: class.map(str::to_owned),
            method_name: None,
            statuses: vec![JobStatus::Holding, JobStatus::Queued],
            predicates: Vec::new(),
            described,
        }
    }

    /// Jobs of any type and class.
    pub fn any() -> JobMatch {
        JobMatch::new(None, None, "any job".into())
    }

    /// Jobs of one type, any class.
    pub fn of_type(job_type: JobType) -> JobMatch {
        JobMatch::new(Some(job_type), None, format!("a {job_type} job"))
    }

    /// Jobs of one type and class name (for classes submitted as JSON).
    pub fn class(job_type: JobType, class_name: &str) -> JobMatch {
        JobMatch::new(
            Some(job_type),
            Some(class_name),
            format!("a {job_type} job of class {class_name}"),
        )
    }

    /// Queueables of type `Q`.
    pub fn queueable<Q: Queueable>() -> JobMatch {
        JobMatch::class(JobType::Queueable, Q::class_name())
    }

    /// Batch jobs of type `B`.
    pub fn batch<B: Batchable>() -> JobMatch {
        JobMatch::class(JobType::BatchApex, B::class_name())
    }

    /// Finalizer runs of type `F`.
    pub fn finalizer<F: Finalizer>() -> JobMatch {
        JobMatch::class(JobType::Finalizer, F::class_name())
    }

    /// Calls of a future method (`my_future::METHOD`).
    pub fn future(method: &FutureMethod) -> JobMatch {
        let mut m = JobMatch::class(JobType::Future, method.class_name());
        m.method_name = Some(method.method_name().to_owned());
        m.described = format!("a call of future {}", method.key());
        m
    }

    /// Only jobs whose payload deserializes into `T` and satisfies `predicate` (for a
    /// future, `T` is a struct of its arguments by name).
    pub fn payload<T, P>(mut self, predicate: P) -> JobMatch
    where
        T: DeserializeOwned,
        P: Fn(&T) -> bool + Send + Sync + 'static,
    {
        self.described.push_str(" whose payload matches");
        self.predicates.push(Arc::new(move |job: &JobRecord| {
            serde_json::from_str::<T>(&job.payload).is_ok_and(|v| predicate(&v))
        }));
        self
    }

    /// Only jobs satisfying `predicate` on their whole record (run time, parent, depth…).
    pub fn record<P>(mut self, predicate: P) -> JobMatch
    where
        P: Fn(&JobRecord) -> bool + Send + Sync + 'static,
    {
        self.described.push_str(" whose record matches");
        self.predicates.push(Arc::new(predicate));
        self
    }

    /// Only jobs in these statuses (instead of `Holding` and `Queued`); empty: any status.
    pub fn statuses(mut self, statuses: &[JobStatus]) -> JobMatch {
        self.statuses = statuses.to_vec();
        self
    }

    fn matches(&self, job: &JobRecord) -> bool {
        self.job_type.is_none_or(|t| t == job.job_type)
            && self
                .class_name
                .as_ref()
                .is_none_or(|c| *c == job.class_name)
            && self
                .method_name
                .as_ref()
                .is_none_or(|m| job.method_name.as_ref() == Some(m))
            && (self.statuses.is_empty() || self.statuses.contains(&job.status))
            && self.predicates.iter().all(|p| p(job))
    }
}

impl TestKit {
    /// Every job `matching` selects, oldest first (River's `RequireManyInserted`, without
    /// the panic).
    ///
    /// ```
    /// # async fn demo(kit: &asyncapex::testing::TestKit) -> Result<(), asyncapex::Error> {
    /// use asyncapex::{JobType, testing::JobMatch};
    /// let futures = kit.all_enqueued(JobMatch::of_type(JobType::Future)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A store error.
    pub async fn all_enqueued(&self, matching: JobMatch) -> Result<Vec<JobRecord>, Error> {
        let mut jobs = self
            .engine
            .jobs(JobListParams {
                statuses: matching.statuses.clone(),
                job_types: matching.job_type.into_iter().collect(),
                class_name: matching.class_name.clone(),
                limit: u32::MAX,
                ..JobListParams::default()
            })
            .await?;
        jobs.retain(|j| matching.matches(j));
        jobs.reverse();
        Ok(jobs)
    }

    /// The one job `matching` selects (Oban's `assert_enqueued`, River's
    /// `RequireInserted`).
    ///
    /// # Panics
    /// When no job or more than one matches, listing what was enqueued — it is an
    /// assertion. Also on a store error.
    pub async fn assert_enqueued(&self, matching: JobMatch) -> JobRecord {
        let found = self.found(&matching).await;
        match <[JobRecord; 1]>::try_from(found) {
            Ok([job]) => job,
            Err(found) => panic!(
                "expected exactly one job matching {matching:?}, found {}; enqueued: {}",
                found.len(),
                self.listing().await
            ),
        }
    }

    /// Asserts that no job `matching` selects exists (Oban's `refute_enqueued`, River's
    /// `RequireNotInserted`).
    ///
    /// # Panics
    /// When one matches (listing it), or on a store error.
    pub async fn refute_enqueued(&self, matching: JobMatch) {
        let found = self.found(&matching).await;
        if !found.is_empty() {
            let ids: Vec<String> = found.iter().map(|j| j.id.to_string()).collect();
            panic!(
                "expected no job matching {matching:?}, found {}",
                ids.join(", ")
            );
        }
    }

    async fn found(&self, matching: &JobMatch) -> Vec<JobRecord> {
        match self.all_enqueued(matching.clone()).await {
            Ok(jobs) => jobs,
            Err(e) => panic!("cannot read the enqueued jobs: {e}"),
        }
    }

    /// What the store holds, for an assertion's message.
    async fn listing(&self) -> String {
        let jobs = self.found(&JobMatch::any().statuses(&[])).await;
        if jobs.is_empty() {
            return "nothing".into();
        }
        jobs.iter()
            .map(|j| format!("{} {} {} ({})", j.job_type, j.class_name, j.id, j.status))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The IDs of the holding batch jobs in flex-queue order, position 0 first (Apex's
    /// `Test.getFlexQueueOrder()`).
    ///
    /// ```
    /// # async fn demo(kit: &asyncapex::testing::TestKit) -> Result<(), asyncapex::Error> {
    /// let order = kit.flex_queue_order().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A store error.
    pub async fn flex_queue_order(&self) -> Result<Vec<JobId>, Error> {
        Ok(self
            .engine
            .flex_queue()
            .await?
            .into_iter()
            .map(|j| j.id)
            .collect())
    }
}
