//! Schedules (Apex's `System.schedule`): create, look up, pause, resume.

use asyncapex_core::cron::{CronDialect, CronExpr, DstPolicy};
use asyncapex_core::cron_trigger::ScheduleName;
use asyncapex_core::{
    CronTriggerId, CronTriggerInsertParams, CronTriggerListParams, CronTriggerRecord,
    CronTriggerResumeParams, Error, JobType, NewCronTrigger,
};

use super::Engine;
use crate::kinds::schedulable::Schedulable;

/// How to schedule: time zone, DST policy, dialect.
///
/// ```
/// use asyncapex::{CronDialect, DstPolicy, ScheduleOptions};
///
/// let options = ScheduleOptions::default()
///     .time_zone("America/New_York")
///     .dst_policy(DstPolicy::NeverSkip)
///     .dialect(CronDialect::ApexStrict);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleOptions {
    time_zone: Option<String>,
    dst_policy: DstPolicy,
    dialect: CronDialect,
}

impl ScheduleOptions {
    /// The IANA zone the expression is read in (default: the engine's default zone).
    pub fn time_zone(mut self, zone: impl Into<String>) -> Self {
        self.time_zone = Some(zone.into());
        self
    }

    /// What to do at DST gaps and overlaps (default: Quartz's behaviour, as Apex).
    pub fn dst_policy(mut self, policy: DstPolicy) -> Self {
        self.dst_policy = policy;
        self
    }

    /// The dialect: the full Quartz one (default) or Apex's strict one, which allows no
    /// special characters in the seconds and minutes fields.
    pub fn dialect(mut self, dialect: CronDialect) -> Self {
        self.dialect = dialect;
        self
    }
}

/// The stored name of a DST policy.
fn dst_policy_name(policy: DstPolicy) -> &'static str {
    match policy {
        DstPolicy::Quartz => "quartz",
        DstPolicy::NeverSkip => "never-skip",
    }
}

impl Engine {
    /// Schedules `job` to run each time `cron` fires (Apex's `System.schedule`), in the
    /// engine's default time zone with Quartz's DST behaviour. Returns the `08e…` trigger ID.
    ///
    /// # Errors
    /// As [`schedule_with`](Self::schedule_with).
    pub async fn schedule<S: Schedulable>(
        &self,
        name: &str,
        cron: &str,
        job: S,
    ) -> Result<CronTriggerId, Error> {
        self.schedule_with(name, cron, job, ScheduleOptions::default())
            .await
    }

    /// [`schedule`](Self::schedule) with a time zone, a DST policy or Apex's strict dialect.
    ///
    /// # Errors
    /// [`Error::InvalidCron`] for an invalid expression (naming the field and the rule) or
    /// one that never fires again; [`Error::InvalidInput`] for an empty or overlong name or an
    /// unknown time zone; [`Error::DuplicateScheduleName`]; [`Error::LimitExceeded`] past
    /// [`Limits::scheduled_jobs`](crate::Limits::scheduled_jobs); [`Error::UnknownJobType`] for an unregistered type.
    pub async fn schedule_with<S: Schedulable>(
        &self,
        name: &str,
        cron: &str,
        job: S,
        options: ScheduleOptions,
    ) -> Result<CronTriggerId, Error> {
        let class = S::class_name();
        let name = ScheduleName::new(name)?;
        self.rt.registry.require(class, JobType::ScheduledApex)?;
        let payload = crate::kinds::to_payload(class, "scheduled job", &job)?;
        self.schedule_serialized(name, cron, class, payload, options)
            .await
    }

    /// Schedules a schedulable from JSON, by class name (the HTTP API's `System.schedule`).
    /// When this engine registered the class, the JSON must deserialize into it; when it did
    /// not (an API server that runs no jobs), it is stored as given and the engine that fires
    /// it must know the class.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty class name or JSON that is not an object;
    /// [`Error::Payload`] when it does not fit the registered type; as
    /// [`schedule_with`](Self::schedule_with).
    pub async fn schedule_json(
        &self,
        name: &str,
        cron: &str,
        class_name: &str,
        payload: serde_json::Value,
        options: ScheduleOptions,
    ) -> Result<CronTriggerId, Error> {
        let name = ScheduleName::new(name)?;
        let (class, text) = self.checked_json(class_name, &payload, JobType::ScheduledApex)?;
        self.schedule_serialized(name, cron, class, text, options)
            .await
    }

    async fn schedule_serialized(
        &self,
        name: ScheduleName,
        cron: &str,
        class: &str,
        payload: String,
        options: ScheduleOptions,
    ) -> Result<CronTriggerId, Error> {
        let expr = CronExpr::parse_with(cron, options.dialect).map_err(|e| Error::InvalidCron {
            message: e.to_string(),
        })?;
        let zone_name = options
            .time_zone
            .unwrap_or_else(|| self.rt.config.default_time_zone.clone());
        let tz = jiff::tz::TimeZone::get(&zone_name).map_err(|e| Error::InvalidInput {
            what: "time zone",
            input: format!("{zone_name} ({e})"),
            rule: "expected an IANA time zone name such as America/New_York",
        })?;
        let now = self.rt.clock.now();
        let first = expr
            .next_after(now, &tz, options.dst_policy)
            .ok_or_else(|| Error::InvalidCron {
                message: format!(
                    "the cron expression {cron:?} never fires after {now} in {zone_name}"
                ),
            })?;
        self.insert_trigger(NewCronTrigger {
            id: self.rt.ids.cron_trigger_id(now),
            name: name.into_string(),
            job_type: JobType::ScheduledApex,
            class_name: class.to_owned(),
            payload,
            cron_expression: expr.as_str().to_owned(),
            time_zone: zone_name,
            dst_policy: dst_policy_name(options.dst_policy).to_owned(),
            next_fire_time: first,
            start_time: now,
            batch_scope: None,
        })
        .await
    }

    /// Inserts a trigger under the schedule cap and wakes the scheduler.
    pub(super) async fn insert_trigger(
        &self,
        trigger: NewCronTrigger,
    ) -> Result<CronTriggerId, Error> {
        let id = trigger.id;
        self.rt
            .store
            .cron_trigger_insert(CronTriggerInsertParams {
                trigger,
                max_active: self.rt.config.limits.scheduled_jobs,
            })
            .await?;
        self.rt.wakers.scheduler.notify_one();
        Ok(id)
    }

    /// A schedule by `08e…` ID or by name.
    ///
    /// # Errors
    /// [`Error::UnknownSchedule`]; a store error.
    pub async fn schedule_record(&self, key: &str) -> Result<CronTriggerRecord, Error> {
        let found = match key.parse::<CronTriggerId>() {
            Ok(id) => self.rt.store.cron_trigger_get(id).await?,
            Err(_) => self.rt.store.cron_trigger_find(key.to_owned()).await?,
        };
        found.ok_or_else(|| Error::UnknownSchedule {
            key: key.to_owned(),
        })
    }

    /// Active schedules (and ended ones when asked), newest first.
    ///
    /// # Errors
    /// A store error.
    pub async fn schedules(
        &self,
        params: CronTriggerListParams,
    ) -> Result<Vec<CronTriggerRecord>, Error> {
        self.rt.store.cron_trigger_list(params).await
    }

    /// Pauses a schedule by ID or name (Apex's `System.pauseJobById`/`ByName`). A running
    /// firing finishes. Returns whether it was waiting (and is now paused).
    ///
    /// # Errors
    /// [`Error::UnknownSchedule`]; a store error.
    pub async fn pause_schedule(&self, key: &str) -> Result<bool, Error> {
        let trigger = self.schedule_record(key).await?;
        self.rt.store.cron_trigger_pause(trigger.id).await
    }

    /// Resumes a paused schedule by ID or name (Apex's `System.resumeJobById`/`ByName`): it
    /// runs once at once and then follows its schedule; fires missed while paused are not
    /// replayed. Returns whether it was paused.
    ///
    /// # Errors
    /// [`Error::UnknownSchedule`]; a store error.
    pub async fn resume_schedule(&self, key: &str) -> Result<bool, Error> {
        let trigger = self.schedule_record(key).await?;
        let resumed = self
            .rt
            .store
            .cron_trigger_resume(CronTriggerResumeParams {
                id: trigger.id,
                next_fire_time: self.rt.clock.now(),
            })
            .await?;
        self.rt.wakers.scheduler.notify_one();
        Ok(resumed)
    }
}
