//! Submitting work: queueables, bulk loads, batches, and JSON by class name.

use std::time::Duration;

use asyncapex_core::batch::BatchScope;
use asyncapex_core::cron_trigger::ScheduleName;
use asyncapex_core::{CronTriggerId, Error, JobId, JobType, NewCronTrigger, NewJob};

use super::Engine;
use crate::kinds::batch::{self, Batchable};
use crate::kinds::queueable::{self, Queueable};
use crate::runtime::enqueue::EnqueueOptions;

impl Engine {
    /// Enqueues a queueable and returns its `707…` ID once it is committed (Apex's
    /// `System.enqueueJob`).
    ///
    /// # Errors
    /// [`Error::UnknownJobType`] for an unregistered type, [`Error::Payload`] when it cannot
    /// be serialized, a store error.
    pub async fn enqueue_job<Q: Queueable>(&self, job: Q) -> Result<JobId, Error> {
        self.enqueue_job_with(job, EnqueueOptions::default()).await
    }

    /// [`enqueue_job`](Self::enqueue_job) with options (delay, maximum stack depth, duplicate
    /// signature).
    ///
    /// # Errors
    /// As [`enqueue_job`](Self::enqueue_job); also [`Error::DuplicateSignature`] when a job
    /// with the same signature is still waiting to run.
    pub async fn enqueue_job_with<Q: Queueable>(
        &self,
        job: Q,
        options: EnqueueOptions,
    ) -> Result<JobId, Error> {
        let mut tx = self.begin();
        let id = tx.enqueue_job_with(job, options)?;
        tx.commit().await?;
        Ok(id)
    }

    /// Enqueues many queueables at once: the bulk API for loading work, outside Apex's
    /// per-transaction limit of 50. Jobs are committed in store transactions of up to 10,000
    /// (all or none within each); the daily async execution cap still applies. Returns the
    /// IDs in order.
    ///
    /// # Errors
    /// [`Error::UnknownJobType`], [`Error::Payload`], [`Error::LimitExceeded`] (daily cap), a
    /// store error. Transactions committed before an error stay committed.
    pub async fn enqueue_jobs<Q, I>(&self, jobs: I) -> Result<Vec<JobId>, Error>
    where
        Q: Queueable,
        I: IntoIterator<Item = Q>,
    {
        const PER_TRANSACTION: usize = 10_000;
        let class = Q::class_name();
        self.rt.registry.require(class, JobType::Queueable)?;
        let mut ids = Vec::new();
        let mut pending: Vec<NewJob> = Vec::with_capacity(PER_TRANSACTION);
        let mut jobs = jobs.into_iter().peekable();
        while jobs.peek().is_some() {
            let now = self.rt.clock.now();
            let run_at = asyncapex_core::clock::checked_add(
                now,
                self.rt.config.default_delay.unwrap_or_default(),
            )?;
            for job in jobs.by_ref().take(PER_TRANSACTION) {
                let payload = crate::kinds::to_payload(class, "job", &job)?;
                let id = self.rt.ids.job_id(now);
                ids.push(id);
                let job = NewJob::queueable(id, class, payload, now)
                    .run_at(run_at)
                    .max_attempts(self.rt.config.max_attempts)
                    .chain(1, self.rt.config.default_max_stack_depth, 0);
                pending.push(self.rt.routing.stamp(job, &Default::default()));
            }
            self.rt
                .daily
                .check(self.rt.store.as_ref(), now, pending.len() as u64)
                .await?;
            self.rt.insert(std::mem::take(&mut pending)).await?;
        }
        Ok(ids)
    }

    /// Enqueues a queueable from JSON, by class name: for services in other languages (the
    /// HTTP API). When this engine registered the class, the JSON must deserialize into it;
    /// when it did not (an API server that runs no jobs), it is stored as given and a worker
    /// that registered the class runs it (or fails it, saying the class is unknown).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty class name or JSON that is not an object;
    /// [`Error::Payload`] when it does not fit the registered type; as
    /// [`enqueue_job_with`](Self::enqueue_job_with).
    pub async fn enqueue_json(
        &self,
        class_name: &str,
        payload: serde_json::Value,
        options: EnqueueOptions,
    ) -> Result<JobId, Error> {
        let (class, text) = self.checked_json(class_name, &payload, JobType::Queueable)?;
        let tx = self.begin();
        let id = queueable::buffer(&tx.inner, class, text, options)?;
        tx.commit().await?;
        Ok(id)
    }

    /// Submits a batch job (Apex's `Database.executeBatch`): it joins the end of the flex
    /// queue (`Holding`) and is promoted to `Queued` when fewer than
    /// [`Limits::active_batch_jobs`](crate::Limits::active_batch_jobs) batches are queued or running. `scope` is the number of
    /// items per `execute` (Apex's default is 200; a query locator's chunks hold at most 2,000).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a scope of 0; [`Error::LimitExceeded`] when the
    /// flex queue already holds [`Limits::flex_queue_size`](crate::Limits::flex_queue_size) jobs; [`Error::UnknownJobType`].
    pub async fn execute_batch<B: Batchable>(&self, batch: B, scope: u32) -> Result<JobId, Error> {
        let mut tx = self.begin();
        let id = tx.execute_batch(batch, scope)?;
        tx.commit().await?;
        Ok(id)
    }

    /// Submits a batch job from JSON, by class name (the HTTP API's
    /// `Database.executeBatch`): it joins the end of the flex queue like
    /// [`execute_batch`](Self::execute_batch). When this engine registered the class, the JSON
    /// must deserialize into it; when it did not (an API server that runs no jobs), it is
    /// stored as given and a worker that registered the class runs it.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty class name, JSON that is not an object or a scope
    /// of 0; [`Error::Payload`] when it does not fit the registered type;
    /// [`Error::LimitExceeded`] when the flex queue is full; a store error.
    pub async fn execute_batch_json(
        &self,
        class_name: &str,
        payload: serde_json::Value,
        scope: u32,
    ) -> Result<JobId, Error> {
        let (class, text) = self.checked_json(class_name, &payload, JobType::BatchApex)?;
        let scope = BatchScope::new(scope)?;
        let tx = self.begin();
        let id = batch::buffer(&tx.inner, class, text, scope)?;
        tx.commit().await?;
        Ok(id)
    }

    /// Submits a batch job `minutes_from_now` minutes from now (Apex's
    /// `System.scheduleBatch`): a one-time schedule that, when it fires, adds the batch to the
    /// end of the flex queue. Returns the schedule's `08e…` ID, which `abort_job` accepts
    /// until it fires.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for 0 minutes or a scope of 0; as
    /// [`schedule`](Self::schedule) for the name and the schedule cap.
    pub async fn schedule_batch<B: Batchable>(
        &self,
        batch: B,
        name: &str,
        minutes_from_now: u32,
        scope: u32,
    ) -> Result<CronTriggerId, Error> {
        if minutes_from_now == 0 {
            return Err(Error::InvalidInput {
                what: "minutes from now",
                input: "0".into(),
                rule: "a scheduled batch must run at least one minute from now",
            });
        }
        let scope = BatchScope::new(scope)?;
        let name = ScheduleName::new(name)?;
        let class = B::class_name();
        self.rt.registry.require(class, JobType::BatchApex)?;
        let payload = crate::kinds::to_payload(class, "batch", &batch)?;
        let now = self.rt.clock.now();
        let at = asyncapex_core::clock::checked_add(
            now,
            Duration::from_secs(u64::from(minutes_from_now) * 60),
        )?;
        // Apex shows a scheduled batch as a one-time cron expression for its instant (UTC).
        let at_utc = jiff::tz::TimeZone::UTC.to_datetime(at);
        let expression = format!(
            "{} {} {} {} {} ? {}",
            at_utc.second(),
            at_utc.minute(),
            at_utc.hour(),
            at_utc.day(),
            at_utc.month(),
            at_utc.year()
        );
        self.insert_trigger(NewCronTrigger {
            id: self.rt.ids.cron_trigger_id(now),
            name: name.into_string(),
            job_type: JobType::BatchApex,
            class_name: class.to_owned(),
            payload,
            cron_expression: expression,
            time_zone: "UTC".into(),
            dst_policy: "quartz".into(),
            // Whole seconds, as the expression shows it.
            next_fire_time: jiff::Timestamp::from_second(at.as_second()).unwrap_or(at),
            start_time: now,
            batch_scope: Some(scope.get()),
        })
        .await
    }

    /// Checks a class name and a JSON payload submitted by name (the HTTP API): the payload is
    /// an object and, when this engine registered the class as `job_type`, it deserializes
    /// into it. Returns the trimmed class name and the payload's text.
    pub(super) fn checked_json<'a>(
        &self,
        class_name: &'a str,
        payload: &serde_json::Value,
        job_type: asyncapex_core::JobType,
    ) -> Result<(&'a str, String), Error> {
        let class = class_name.trim();
        if class.is_empty() || class.len() > 255 {
            return Err(Error::InvalidInput {
                what: "class name",
                input: class.chars().take(60).collect(),
                rule: "a class name has 1 to 255 bytes",
            });
        }
        if !payload.is_object() {
            return Err(Error::InvalidInput {
                what: "payload",
                input: payload.to_string().chars().take(60).collect(),
                rule: "a payload is a JSON object",
            });
        }
        let text = payload.to_string();
        self.rt.registry.check_payload(class, job_type, &text)?;
        Ok((class, text))
    }
}
