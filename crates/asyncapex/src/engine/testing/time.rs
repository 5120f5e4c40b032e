//! Virtual time: move the kit's clock and have everything that comes due on the way run
//! before the call returns — schedules fire at each of their fire times, delayed jobs at
//! their run times, in time order, as the engine's services would run them.

use std::time::Duration;

use asyncapex_core::clock::add;
use asyncapex_core::{CronTriggerDueParams, Error, JobId};
use jiff::Timestamp;

use super::report::{Collector, TestReport};
use super::{MAX_RUNS, TestKit, scheduler};

impl TestKit {
    /// Moves the clock forward by `by`, stopping at every schedule fire time and delayed
    /// job's run time on the way: each due schedule fires (once per fire time, as the
    /// scheduler does) and every due job runs, with what it chains, before the clock moves
    /// on. Returns what ran.
    ///
    /// ```
    /// # async fn demo(kit: &asyncapex::testing::TestKit) -> Result<(), asyncapex::Error> {
    /// // An hourly schedule fires 24 times; each firing runs before the next.
    /// let report = kit.advance(std::time::Duration::from_secs(24 * 3600)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A store error; [`Error::NotAllowed`] past 10,000 executions.
    pub async fn advance(&self, by: Duration) -> Result<TestReport, Error> {
        self.advance_to(add(self.clock.now(), by)).await
    }

    /// [`advance`](Self::advance) to an instant (an instant in the past runs what is due
    /// now and leaves the clock where it is).
    ///
    /// # Errors
    /// As [`advance`](Self::advance).
    pub async fn advance_to(&self, until: Timestamp) -> Result<TestReport, Error> {
        let rt = self.rt().clone();
        let scheduler = scheduler(&rt);
        let mut report = TestReport::default();
        let mut steps = 0;
        // Past `after` for the next run time: after a step where nothing could run, the due
        // jobs left are ones no claim can take now (a queue at its cap), so time moves on.
        let mut after = Timestamp::MIN;
        loop {
            let now = self.clock.now();
            let next_fire = rt.store.cron_trigger_next_fire_time().await?;
            let queues = rt
                .store
                .queue_list(now)
                .await?
                .into_iter()
                .map(|q| q.name)
                .collect();
            let next_run = rt.store.job_next_run_at(queues, after).await?;
            let next = [next_fire, next_run].into_iter().flatten().min();
            let step = match next {
                Some(t) if t <= until => t.max(now),
                _ => until.max(now),
            };
            self.clock.set(step);
            let mut collector = Collector::new(&rt);
            let due = rt
                .store
                .cron_trigger_due(CronTriggerDueParams {
                    now: step,
                    limit: 100,
                })
                .await?;
            for trigger in &due {
                scheduler.fire(trigger, step).await?;
            }
            self.drain(false, &mut collector).await?;
            let ran = collector.len();
            report.extend(collector.finish().await?);
            steps += 1;
            if steps > MAX_RUNS {
                return Err(Error::NotAllowed {
                    rule: format!("the test kit stopped after {MAX_RUNS} clock steps in one call"),
                });
            }
            // Done once the clock reached the target and nothing more came due there.
            if step >= until && due.is_empty() && ran == 0 {
                return Ok(report);
            }
            after = if due.is_empty() && ran == 0 {
                step
            } else {
                Timestamp::MIN
            };
        }
    }

    /// Moves the clock to the next fire time of a schedule (by `08e…` ID or name) and runs
    /// what comes due up to then, that firing included.
    ///
    /// ```
    /// # async fn demo(kit: &asyncapex::testing::TestKit) -> Result<(), asyncapex::Error> {
    /// let report = kit.advance_to_next_fire("Nightly cleanup").await?;
    /// assert_eq!(report.runs_of("Cleanup").len(), 1);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownSchedule`]; [`Error::NotAllowed`] when the schedule has no next fire
    /// time (paused, deleted or complete); as [`advance`](Self::advance).
    pub async fn advance_to_next_fire(&self, schedule: &str) -> Result<TestReport, Error> {
        let trigger = self.engine.schedule_record(schedule).await?;
        let at = trigger.next_fire_time.ok_or_else(|| Error::NotAllowed {
            rule: format!(
                "schedule {schedule:?} has no next fire time (it is {})",
                trigger.state(self.clock.now())
            ),
        })?;
        self.advance_to(at).await
    }

    /// Moves the clock to a delayed job's run time and runs what comes due up to then, that
    /// job included.
    ///
    /// # Errors
    /// [`Error::UnknownJob`]; as [`advance`](Self::advance).
    pub async fn advance_to_run_at(&self, id: JobId) -> Result<TestReport, Error> {
        let job = self.engine.job(id).await?;
        self.advance_to(job.run_at).await
    }
}
