//! The scheduler: fires due cron triggers, each fire time exactly once across every engine
//! sharing the store.
//!
//! Missed fires (downtime, a long-running previous run) are not replayed: a trigger found
//! overdue fires **once**, and its next fire time is computed from *now*, so it resumes its
//! normal schedule — Quartz's "fire once now" misfire policy, and what Apex does after
//! maintenance. Runs of one trigger never overlap: a trigger due while its previous run is
//! still going waits (`BLOCKED`) and fires when that run ends.

use std::sync::Arc;
use std::time::Duration;

use asyncapex_core::cron::{CronExpr, DstPolicy};
use asyncapex_core::{
    Clock, CronTriggerDueParams, CronTriggerFailParams, CronTriggerFireParams, CronTriggerRecord,
    Error, IdGenerator, JobType, NewJob, Store,
};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::Service;
use crate::runtime::daily::DailyCap;
use crate::runtime::signals::{Events, Stop, Wakers, store_notified};

/// Triggers fired per pass; more wait for the next pass, which follows at once.
const BATCH: u32 = 100;

/// What the scheduler needs.
pub(crate) struct Scheduler {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ids: Arc<IdGenerator>,
    pub(crate) wakers: Arc<Wakers>,
    pub(crate) daily: Arc<DailyCap>,
    /// Where a firing's job is announced.
    pub(crate) events: Arc<Events>,
    /// Claims allowed to each fired job.
    pub(crate) max_attempts: u32,
    /// The chain depth limit of each fired job.
    pub(crate) max_stack_depth: Option<u32>,
    /// How often it looks without being woken (other processes' schedules).
    pub(crate) poll_interval: Duration,
    /// Each fired job's queue, priority and attempts, by its type.
    pub(crate) routing: Arc<crate::runtime::queues::Routing>,
}

impl Service for Scheduler {
    const NAME: &'static str = "scheduler";

    async fn run(self, stop: Stop) {
        self.run_loop(stop).await;
    }
}

impl Scheduler {
    async fn run_loop(&self, mut stop: Stop) {
        let engine = self;
        let mut notes = engine.store.notifications();
        loop {
            if stop.is_set() {
                return;
            }
            let now = engine.clock.now();
            let mut fired_all = true;
            match engine
                .store
                .cron_trigger_due(CronTriggerDueParams { now, limit: BATCH })
                .await
            {
                Ok(due) => {
                    fired_all = due.len() < BATCH as usize;
                    for trigger in due {
                        if let Err(e) = engine.fire(&trigger, now).await {
                            tracing::warn!(trigger = %trigger.id, error = %e, "firing a schedule failed; will retry");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "listing due schedules failed"),
            }
            if !fired_all {
                continue;
            }
            // A trigger that is due but blocked by its running job has a fire time in the past:
            // sleeping until then would spin, so only future fire times set the alarm. Blocked
            // triggers are woken by their job's end (or the poll interval).
            let next = engine
                .store
                .cron_trigger_next_fire_time()
                .await
                .ok()
                .flatten()
                .filter(|t| *t > now);
            let alarm = async {
                match next {
                    Some(t) => engine.clock.sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = engine.wakers.scheduler.notified() => {}
                alive = store_notified(&mut notes) => if !alive { notes = None },
                _ = alarm => {}
                _ = tokio::time::sleep(engine.poll_interval) => {}
                _ = stop.wait() => return,
            }
        }
    }

    /// Fires one due trigger: its job and its next fire time in one guarded store write.
    /// Missed fires are not replayed: the next fire time follows `now`.
    pub(crate) async fn fire(
        &self,
        trigger: &CronTriggerRecord,
        now: Timestamp,
    ) -> Result<bool, Error> {
        let Some(expected) = trigger.next_fire_time else {
            return Ok(false);
        };
        self.fire_as(trigger, now, now.max(expected)).await
    }

    /// Fires `trigger` at `now`, its next fire time being the first after `after`. The test
    /// kit's stop fires a schedule early this way (`after` = its pending fire time, so that
    /// fire is the one consumed). Returns whether it fired.
    pub(crate) async fn fire_as(
        &self,
        trigger: &CronTriggerRecord,
        now: Timestamp,
        after: Timestamp,
    ) -> Result<bool, Error> {
        let engine = self;
        let Some(expected) = trigger.next_fire_time else {
            return Ok(false);
        };
        let (expr, tz, policy) = match evaluate(trigger) {
            Ok(parts) => parts,
            Err(message) => {
                tracing::error!(trigger = %trigger.id, %message, "a stored schedule cannot be evaluated; marking it ERROR");
                engine
                    .store
                    .cron_trigger_fail(CronTriggerFailParams {
                        id: trigger.id,
                        message,
                    })
                    .await?;
                return Ok(false);
            }
        };
        let next = expr.next_after(after, &tz, policy);
        let job = NewJob::fired(engine.ids.job_id(now), trigger, now)
            .max_attempts(engine.max_attempts)
            .chain(1, engine.max_stack_depth, 0);
        let job = engine.routing.stamp(job, &Default::default());
        let steps = engine.events.enqueue_steps(std::slice::from_ref(&job));
        let fired = engine
            .store
            .cron_trigger_fire(CronTriggerFireParams {
                id: trigger.id,
                expected_next_fire_time: expected,
                next_fire_time: next,
                fired_at: now,
                job,
            })
            .await?;
        if fired {
            engine.events.send(steps);
            if trigger.job_type == JobType::BatchApex {
                engine.wakers.batches_changed();
            }
            engine.daily.record(1);
            engine.wakers.work.notify_one();
            let lag = asyncapex_core::clock::duration_between(expected, now);
            tracing::debug!(trigger = %trigger.id, name = %trigger.name, ?lag, "fired");
        }
        Ok(fired)
    }
}

/// Parses a stored trigger's expression, zone and policy.
fn evaluate(trigger: &CronTriggerRecord) -> Result<(CronExpr, TimeZone, DstPolicy), String> {
    let expr = CronExpr::parse(&trigger.cron_expression).map_err(|e| e.to_string())?;
    let tz = TimeZone::get(&trigger.time_zone)
        .map_err(|e| format!("unknown time zone {:?}: {e}", trigger.time_zone))?;
    let policy = trigger
        .dst_policy
        .parse::<DstPolicy>()
        .map_err(|e| e.to_string())?;
    Ok((expr, tz, policy))
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use asyncapex_core::clock::add;
    use asyncapex_core::{CronTriggerInsertParams, JobListParams, JobType, NewCronTrigger};

    use super::Scheduler;
    use crate::runtime::daily::DailyCap;
    use crate::runtime::signals::Shutdown;
    use crate::services::Service;
    use crate::services::testkit::Kit;

    #[tokio::test]
    async fn fires_a_due_trigger_once_when_the_clock_reaches_it() {
        let kit = Kit::new().await;
        let now = kit.clock.now();
        let trigger = kit.ids.cron_trigger_id(now);
        kit.store
            .cron_trigger_insert(CronTriggerInsertParams {
                trigger: NewCronTrigger {
                    id: trigger,
                    name: "Nightly".into(),
                    job_type: JobType::ScheduledApex,
                    class_name: "Cleanup".into(),
                    payload: "{}".into(),
                    cron_expression: "0 0 2 * * ?".into(),
                    time_zone: "UTC".into(),
                    dst_policy: "quartz".into(),
                    next_fire_time: add(now, Duration::from_secs(3600)),
                    start_time: now,
                    batch_scope: None,
                },
                max_active: 100,
            })
            .await
            .unwrap();
        let scheduler = Scheduler {
            store: kit.store.clone(),
            clock: kit.clock(),
            ids: kit.ids.clone(),
            wakers: Default::default(),
            daily: std::sync::Arc::new(DailyCap::new(None)),
            events: Default::default(),
            max_attempts: 3,
            max_stack_depth: None,
            poll_interval: Duration::from_secs(3600),
            routing: Default::default(),
        };
        let wakers = scheduler.wakers.clone();
        let shutdown = Shutdown::default();
        let running = tokio::spawn(scheduler.run(shutdown.stop()));
        let fired = |store: std::sync::Arc<dyn asyncapex_core::Store>| async move {
            store
                .job_list(JobListParams::default())
                .await
                .unwrap()
                .into_iter()
                .filter(|j| j.cron_trigger_id == Some(trigger))
                .count()
        };
        tokio::task::yield_now().await;
        assert_eq!(fired(kit.store.clone()).await, 0, "not due yet");
        kit.clock.advance(Duration::from_secs(3600));
        // The scheduler wakes the executor once it has written the fired job.
        tokio::time::timeout(Duration::from_secs(10), wakers.work.notified())
            .await
            .expect("the scheduler fired within 10 s of the clock move");
        assert_eq!(fired(kit.store.clone()).await, 1);
        shutdown.signal();
        running.await.unwrap();
        assert_eq!(fired(kit.store.clone()).await, 1, "fired once");
    }
}
