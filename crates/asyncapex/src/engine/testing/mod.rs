//! The test kit (feature `testing`): Apex's `Test.startTest()` / `Test.stopTest()`, unit
//! tests of one execution, assertions on enqueued work, and virtual time — so tests of async
//! code are deterministic and need no polling loops, sleeps or statics.
//!
//! A [`TestKit`] wraps an [`Engine`] built with a [`ManualClock`] and no workers: work you
//! submit is collected in the store (durable records, as in production), and the kit runs it
//! **on the calling task** through the same handler, isolation, outcome mapping and completer
//! the engine's executor uses, so test semantics cannot drift from production ones.
//!
//! ```
//! use asyncapex::testing::TestKit;
//! use asyncapex::{Engine, EnqueueOptions, JobError, JobStatus, Queueable, QueueableContext};
//! use serde::{Deserialize, Serialize};
//! use std::time::Duration;
//!
//! #[derive(Serialize, Deserialize)]
//! struct Welcome { sent: u32 }
//!
//! impl Queueable for Welcome {
//!     async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
//!         self.sent += 1;
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let kit = TestKit::builder(Engine::builder().register::<Welcome>()).start().await?;
//! let mut block = kit.start_test().await?;                 // Test.startTest()
//! let delay = EnqueueOptions::default().delay(Duration::from_secs(600));
//! let id = block.enqueue_job_with(Welcome { sent: 0 }, delay)?;
//! let report = kit.stop_test(block).await?;              // Test.stopTest(): runs it now
//! assert_eq!(report.run(id).unwrap().record.status, JobStatus::Completed);
//! assert_eq!(report.run(id).unwrap().state::<Welcome>().unwrap().sent, 1);
//! report.into_result()?;                                   // any failure becomes an error
//! # Ok(()) }
//! ```
//!
//! See `docs/testing.md` for the guide, with one example per job kind.

mod assertions;
mod report;
mod time;
mod unit;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use asyncapex_core::clock::add;
use asyncapex_core::{
    CronTriggerId, CronTriggerListParams, Error, JobClaimParams, ManualClock, QueueClaim,
    StoredTriggerState,
};
use jiff::Timestamp;

pub use self::assertions::JobMatch;
pub use self::report::{JobFailure, JobRun, TestFailures, TestReport};
pub use self::unit::{Buffered, Execution};
use super::{Engine, EngineBuilder, EnqueueTransaction};
use crate::runtime::Runtime;
use crate::runtime::config::TestRules;
use crate::services::executor::run_claimed;
use crate::services::promoter::Promoter;
use crate::services::scheduler::Scheduler;

/// The most executions one kit call runs: a guard against a job that re-enqueues itself
/// forever, which would otherwise hang the test.
const MAX_RUNS: usize = 10_000;

/// The instant a kit's clock starts at unless told otherwise: a fixed Monday, so schedules'
/// next fire times are the same on every run.
pub const DEFAULT_START: Timestamp = Timestamp::constant(1_798_761_600, 0); // 2027-01-01T00:00:00Z

/// The chain depth a kit's engine allows when the builder sets none (Apex's Developer and
/// Trial orgs' default), so a self-chaining job ends at stop instead of running forever.
pub const DEFAULT_MAX_STACK_DEPTH: u32 = 5;

/// How batches run under the kit.
///
/// The default is [`Strict`](BatchMode::Strict), Apex's rule, because asyncapex follows Apex
/// where behaviour is concerned; choose [`AllChunks`](BatchMode::AllChunks) to test a batch
/// over several chunks.
///
/// ```
/// use asyncapex::testing::BatchMode;
/// assert_eq!(BatchMode::default(), BatchMode::Strict);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BatchMode {
    /// Apex's rule: one `execute` per test. A batch whose `start` yields more than one
    /// chunk runs its first chunk, then fails with Apex's "No more than one executeBatch can
    /// be called from within a testmethod" error (its `finish` does not run); a batch
    /// chained from another batch's `finish` fails with the same error.
    #[default]
    Strict,
    /// Every chunk and `finish` run, as in production.
    AllChunks,
}

/// Builds a [`TestKit`] from an [`EngineBuilder`] (your registrations, limits and options).
///
/// ```
/// # use asyncapex::{Engine, ManualClock};
/// use asyncapex::testing::{BatchMode, TestKit};
/// # async fn demo() -> Result<(), asyncapex::Error> {
/// let clock = ManualClock::new("2026-03-02T00:00:00Z".parse().unwrap());
/// let kit = TestKit::builder(Engine::builder().in_memory())
///     .clock(clock.clone())
///     .batch_mode(BatchMode::AllChunks)
///     .start()
///     .await?;
/// # Ok(()) }
/// ```
pub struct TestKitBuilder {
    engine: EngineBuilder,
    clock: Option<ManualClock>,
    batch_mode: BatchMode,
    max_stack_depth: Option<Option<u32>>,
}

impl TestKitBuilder {
    /// The clock the kit's engine runs on (default: a new one at [`DEFAULT_START`]). Keep a
    /// clone to read or move it; [`TestKit::clock`] gives it too.
    pub fn clock(mut self, clock: ManualClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// How batches run ([`BatchMode::Strict`] by default, as in Apex).
    pub fn batch_mode(mut self, mode: BatchMode) -> Self {
        self.batch_mode = mode;
        self
    }

    /// The maximum chain depth of chains whose root sets none: `Some(n)`, or `None` for no
    /// limit (production's default; a chain that never ends then stops the kit's call after
    /// 10,000 executions with an error). Without this, the engine builder's
    /// `default_max_stack_depth` applies, or [`DEFAULT_MAX_STACK_DEPTH`].
    ///
    /// ```
    /// # async fn demo() -> Result<(), asyncapex::Error> {
    /// let kit = asyncapex::testing::TestKit::builder(asyncapex::Engine::builder())
    ///     .max_stack_depth(None)
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn max_stack_depth(mut self, depth: Option<u32>) -> Self {
        self.max_stack_depth = Some(depth);
        self
    }

    /// Starts the kit's engine: on the builder's store, or a private in-memory SQLite
    /// database when it chose none; with no workers and no scheduler (the kit runs work);
    /// with a maximum chain depth of [`DEFAULT_MAX_STACK_DEPTH`] unless
    /// [`max_stack_depth`](Self::max_stack_depth) or the engine builder set one. The
    /// builder's concurrency and scheduler settings are overridden: the kit runs the work.
    ///
    /// # Errors
    /// As [`EngineBuilder::start`].
    pub async fn start(self) -> Result<TestKit, Error> {
        let clock = self
            .clock
            .unwrap_or_else(|| ManualClock::new(DEFAULT_START));
        let mut engine = self.engine;
        #[cfg(feature = "sqlite")]
        if !engine.has_store() {
            engine = engine.in_memory();
        }
        let depth = match self.max_stack_depth {
            Some(chosen) => chosen,
            None => engine.max_stack_depth().or(Some(DEFAULT_MAX_STACK_DEPTH)),
        };
        engine = engine.set_max_stack_depth(depth);
        let rules = TestRules {
            strict_batches: self.batch_mode == BatchMode::Strict,
            capture_state: true,
        };
        let engine = engine
            .for_test_kit(Arc::new(clock.clone()), rules)
            .start()
            .await?;
        Ok(TestKit {
            engine,
            clock,
            block: Mutex::new(Block::NotStarted),
        })
    }
}

/// Where a test is with its start/stop block (each may be called once per test, as in Apex).
enum Block {
    NotStarted,
    /// Started; the schedules that existed before it (the others were created inside it).
    Started(HashSet<CronTriggerId>),
    Stopped,
}

/// An engine for tests: work is collected, and runs when the test says so, on the test's own
/// task. See the [module documentation](self) for an overview.
///
/// | Apex | the kit |
/// |---|---|
/// | `Test.startTest()` | [`start_test`](Self::start_test) |
/// | `Test.stopTest()` | [`stop_test`](Self::stop_test) |
/// | async work run at the end of a test method | [`run_queued`](Self::run_queued) |
/// | `Test.getFlexQueueOrder()` | [`flex_queue_order`](Self::flex_queue_order) |
/// | `Test.getEventBus().deliver()` | [`TestReport::batch_error_events`] |
pub struct TestKit {
    engine: Engine,
    clock: ManualClock,
    block: Mutex<Block>,
}

impl std::fmt::Debug for TestKit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKit")
            .field("engine", &self.engine)
            .field("now", &self.clock.now())
            .finish_non_exhaustive()
    }
}

/// The code between `start_test` and `stop_test`: a synchronous context with a fresh set of
/// governor limits (Apex's), whose submissions commit when the block stops. It dereferences
/// to an [`EnqueueTransaction`], so `enqueue_job`, `execute_batch`, future calls
/// (`my_future::future(&*block, …)`) and [`limits`](EnqueueTransaction::limits) work on it.
/// Work submitted through the kit's [`engine`](TestKit::engine) inside the block is collected
/// as well.
pub struct TestBlock {
    tx: EnqueueTransaction,
}

impl std::fmt::Debug for TestBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestBlock")
            .field("limits", &self.tx.limits())
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for TestBlock {
    type Target = EnqueueTransaction;

    fn deref(&self) -> &EnqueueTransaction {
        &self.tx
    }
}

impl std::ops::DerefMut for TestBlock {
    fn deref_mut(&mut self) -> &mut EnqueueTransaction {
        &mut self.tx
    }
}

impl TestKit {
    /// Starts building a kit from an engine builder.
    ///
    /// ```
    /// # async fn demo() -> Result<(), asyncapex::Error> {
    /// let kit = asyncapex::testing::TestKit::builder(asyncapex::Engine::builder()).start().await?;
    /// # Ok(()) }
    /// ```
    pub fn builder(engine: EngineBuilder) -> TestKitBuilder {
        TestKitBuilder {
            engine,
            clock: None,
            batch_mode: BatchMode::default(),
            max_stack_depth: None,
        }
    }

    /// The kit's engine: give it to the code under test, which submits through it as usual.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The kit's clock; it moves only when the test moves it (or calls the virtual-time
    /// methods such as [`advance`](Self::advance)).
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    fn rt(&self) -> &Arc<Runtime> {
        &self.engine.rt
    }

    fn block(&self) -> MutexGuard<'_, Block> {
        // The state is a plain enum; a panic elsewhere cannot leave it half-written.
        self.block.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the test block (Apex's `Test.startTest()`): returns a synchronous context with
    /// fresh governor limits. Everything submitted from now on — queueables, futures,
    /// batches, schedules, `schedule_batch` — is collected and runs at
    /// [`stop_test`](Self::stop_test).
    ///
    /// # Errors
    /// [`Error::NotAllowed`] when called a second time in this kit (Apex allows one block
    /// per test); a store error.
    pub async fn start_test(&self) -> Result<TestBlock, Error> {
        if !matches!(*self.block(), Block::NotStarted) {
            return Err(Error::NotAllowed {
                rule: "Test.startTest may be called only once per test (this kit already started its block)".into(),
            });
        }
        let before = self.trigger_ids().await?;
        let mut block = self.block();
        if !matches!(*block, Block::NotStarted) {
            return Err(Error::NotAllowed {
                rule: "Test.startTest may be called only once per test (this kit already started its block)".into(),
            });
        }
        *block = Block::Started(before);
        Ok(TestBlock {
            tx: self.engine.begin(),
        })
    }

    /// Stops the test block (Apex's `Test.stopTest()`): commits what `block` buffered, then
    /// runs everything waiting — on this task, whatever its delay — until nothing is left:
    /// what the jobs chain runs too, within the chain's maximum stack depth. Each schedule
    /// created inside the block (by [`schedule`](Engine::schedule) or
    /// [`schedule_batch`](Engine::schedule_batch)) fires **once**, whatever its cron time;
    /// its next fire time then moves to the one after.
    ///
    /// Jobs that fail do not make this return `Err`: the report lists them (Apex surfaces a
    /// batch's exception to the test after `stopTest`); [`TestReport::into_result`] turns
    /// them into an error.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] without a started block or a second time; the block's commit
    /// error (a broken limit, a duplicate signature); a store error; [`Error::NotAllowed`]
    /// past 10,000 executions (a chain that never ends).
    pub async fn stop_test(&self, block: TestBlock) -> Result<TestReport, Error> {
        // A statement of its own, so the lock is released before an arm takes it again.
        let state = std::mem::replace(&mut *self.block(), Block::Stopped);
        let before = match state {
            Block::Started(before) => before,
            other => {
                let stopped = matches!(other, Block::Stopped);
                *self.block() = other;
                return Err(Error::NotAllowed {
                    rule: if stopped {
                        "Test.stopTest may be called only once per test".into()
                    } else {
                        "Test.stopTest needs a Test.startTest before it".into()
                    },
                });
            }
        };
        block.tx.commit().await?;
        let mut report = report::Collector::new(self.rt());
        let now = self.clock.now();
        let scheduler = scheduler(self.rt());
        for trigger in self.triggers().await? {
            if before.contains(&trigger.id) || trigger.stored_state != StoredTriggerState::Waiting {
                continue;
            }
            if let Some(at) = trigger.next_fire_time {
                scheduler.fire_as(&trigger, now, at).await?;
            }
        }
        self.drain(true, &mut report).await?;
        report.finish().await
    }

    /// Runs everything waiting, ignoring delays, without a block (Apex runs async work
    /// started outside `startTest`/`stopTest` at the end of the test method). Schedules do
    /// not fire; use [`advance`](Self::advance) for them.
    ///
    /// ```
    /// # async fn demo(kit: &asyncapex::testing::TestKit) -> Result<(), asyncapex::Error> {
    /// let report = kit.run_queued().await?;
    /// assert!(report.failures().is_empty());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A store error; [`Error::NotAllowed`] past 10,000 executions.
    pub async fn run_queued(&self) -> Result<TestReport, Error> {
        let mut report = report::Collector::new(self.rt());
        self.drain(true, &mut report).await?;
        report.finish().await
    }

    /// Runs waiting jobs one at a time until none is left: promotes batches from the flex
    /// queue, claims the job due first (with `ignore_delays`, the one whose run time comes
    /// first, however far ahead) and runs it through the executor's path.
    async fn drain(
        &self,
        ignore_delays: bool,
        report: &mut report::Collector,
    ) -> Result<(), Error> {
        let rt = self.rt();
        let promoter = Promoter {
            store: rt.store.clone(),
            clock: rt.clock.clone(),
            wakers: rt.wakers.clone(),
            max_active: rt.config.limits.active_batch_jobs,
            poll_interval: rt.config.poll_interval,
        };
        loop {
            promoter.promote().await;
            let now = self.clock.now();
            // Every queue holding jobs at its own next claimable time, earliest first: the
            // kit runs the job due first whichever queue it waits in, and passes over a queue
            // whose due job cannot be claimed (at its global cap).
            let mut waiting: Vec<(Timestamp, String)> = Vec::new();
            for queue in rt.store.queue_list(now).await? {
                let next = rt
                    .store
                    .job_next_run_at(vec![queue.name.clone()], Timestamp::MIN)
                    .await?;
                if let Some(t) = next {
                    waiting.push((t, queue.name));
                }
            }
            waiting.sort();
            let mut claimed = None;
            for (next, queue) in waiting {
                if next > now && !ignore_delays {
                    break;
                }
                let at = next.max(now);
                let jobs = rt
                    .store
                    .job_claim(JobClaimParams {
                        owner: rt.owner.clone(),
                        now: at,
                        lease_until: add(at, rt.config.lease_duration),
                        queues: vec![QueueClaim { queue, limit: 1 }],
                    })
                    .await?;
                if let Some(job) = jobs.into_iter().next() {
                    claimed = Some(job);
                    break;
                }
            }
            let Some(job) = claimed else {
                return Ok(());
            };
            if report.len() >= MAX_RUNS {
                return Err(Error::NotAllowed {
                    rule: format!(
                        "the test kit stopped after {MAX_RUNS} executions in one call: a job keeps enqueueing work (set a maximum stack depth)"
                    ),
                });
            }
            let id = job.id;
            let (_, state) = run_claimed(rt, job).await;
            report.ran(id, state);
        }
    }

    async fn triggers(&self) -> Result<Vec<asyncapex_core::CronTriggerRecord>, Error> {
        self.engine
            .schedules(CronTriggerListParams {
                include_ended: true,
                limit: u32::MAX,
            })
            .await
    }

    async fn trigger_ids(&self) -> Result<HashSet<CronTriggerId>, Error> {
        Ok(self.triggers().await?.into_iter().map(|t| t.id).collect())
    }
}

/// A scheduler for the kit's calls: the engine's own.
fn scheduler(rt: &Arc<Runtime>) -> Scheduler {
    super::builder::scheduler(rt)
}
