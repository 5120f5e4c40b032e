//! The test kit in one program: Apex's `Test.startTest()` / `Test.stopTest()` around a
//! queueable chain, a schedule and a batch, then virtual time. The same calls go in your
//! `#[tokio::test]`s; see `docs/testing.md`.
//!
//! ```apex
//! @isTest static void nightlyCleanupRuns() {
//!     Test.startTest();
//!     String id = System.schedule('Nightly', '0 0 2 * * ?', new NightlyCleanup());
//!     Database.executeBatch(new Reindex(), 200);
//!     Test.stopTest();
//!     // the schedule's execute ran once; the batch ran its one execute
//! }
//! ```
//!
//! Run it with `cargo run --example testing` (the kit is the `testing` feature).

use std::time::Duration;

use asyncapex::testing::TestKit;
use asyncapex::{
    BatchContext, Batchable, Engine, JobError, Queueable, QueueableContext, Schedulable,
    SchedulableContext, WorkSet,
};
use serde::{Deserialize, Serialize};

/// Purges one day's rows, then chains the previous day until `days` is done.
#[derive(Default, Serialize, Deserialize)]
struct Purge {
    days: u32,
    purged: u32,
}

impl Queueable for Purge {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        self.purged += 1;
        if self.purged < self.days {
            ctx.enqueue_job(Purge {
                days: self.days,
                purged: self.purged,
            })?;
        }
        Ok(())
    }
}

/// Every night: hands the work to a purge chain.
#[derive(Serialize, Deserialize)]
struct NightlyCleanup {
    keep_days: u32,
}

impl Schedulable for NightlyCleanup {
    async fn execute(&mut self, ctx: &mut SchedulableContext) -> Result<(), JobError> {
        ctx.enqueue_job(Purge {
            days: self.keep_days,
            purged: 0,
        })?;
        Ok(())
    }
}

/// Re-indexes `n` documents, `scope` per chunk.
#[derive(Default, Serialize, Deserialize)]
struct Reindex {
    n: u32,
    indexed: u32,
}

impl Batchable for Reindex {
    type Item = u32;
    const STATEFUL: bool = true;

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<u32>, JobError> {
        Ok(WorkSet::iter(0..self.n))
    }
    async fn execute(&mut self, _ctx: &mut BatchContext, scope: Vec<u32>) -> Result<(), JobError> {
        self.indexed += scope.len() as u32;
        Ok(())
    }
    async fn finish(&mut self, _ctx: &mut BatchContext) -> Result<(), JobError> {
        Ok(())
    }
}

fn engine() -> asyncapex::EngineBuilder {
    Engine::builder()
        .register::<Purge>()
        .register_schedulable::<NightlyCleanup>()
        .register_batch::<Reindex>()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Apex's rules: one batch execute per test (BatchMode::Strict, the default).
    let kit = TestKit::builder(engine()).start().await?;
    let mut block = kit.start_test().await?;
    kit.engine()
        .schedule("Nightly", "0 0 2 * * ?", NightlyCleanup { keep_days: 3 })
        .await?;
    let fits = block.execute_batch(Reindex { n: 150, indexed: 0 }, 200)?;
    let too_big = block.execute_batch(Reindex { n: 450, indexed: 0 }, 200)?;
    let report = kit.stop_test(block).await?;
    for run in report.runs() {
        let r = &run.record;
        println!(
            "{} {:<14} {:<12} depth {}",
            r.id, r.class_name, r.status, r.stack_depth
        );
    }
    let purges = report.runs_of("Purge");
    assert_eq!(purges.len(), 3, "the firing's chain ran, three links deep");
    assert_eq!(purges[2].state::<Purge>().map(|p| p.purged), Some(3));
    let indexed = report.run(fits).and_then(|r| r.state::<Reindex>());
    assert_eq!(indexed.map(|b| b.indexed), Some(150));
    let failure = report
        .failure_of(too_big)
        .ok_or("the big batch should fail")?;
    println!("as Apex says: {}", failure.message);

    // Virtual time: a week of nightly firings, each run before the clock moves on.
    let kit = TestKit::builder(engine()).start().await?;
    kit.engine()
        .schedule("Nightly", "0 0 2 * * ?", NightlyCleanup { keep_days: 1 })
        .await?;
    let week = kit.advance(Duration::from_secs(7 * 24 * 3600)).await?;
    let firings = week.runs_of("NightlyCleanup").len();
    println!(
        "{firings} nightly firings in a week, ending at {}",
        kit.clock().now()
    );
    assert_eq!(firings, 7);
    week.into_result()?;
    Ok(())
}
