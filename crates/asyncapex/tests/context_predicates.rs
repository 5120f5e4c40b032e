//! `asyncapex::system`: Apex's `System.isBatch()`, `isFuture()`, `isQueueable()` and
//! `isScheduled()`, as seen by helper code called from each kind of execution.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use asyncapex::system::{self, ExecutionKind};
use asyncapex::{
    BatchContext, BatchPhase, Batchable, Engine, Finalizer, FinalizerContext, JobError, JobStatus,
    ManualClock, Queueable, QueueableContext, Schedulable, SchedulableContext, WorkSet,
};
use serde::{Deserialize, Serialize};
use support::{WAIT, log, logged, tag};

/// Shared helper code: what it is told about the execution it runs in.
fn observe(tag: &str, at: &str) {
    log(
        tag,
        format!(
            "{at}: {:?} batch={} future={} queueable={} scheduled={}",
            system::current(),
            system::is_batch(),
            system::is_future(),
            system::is_queueable(),
            system::is_scheduled()
        ),
    );
}

#[derive(Serialize, Deserialize)]
struct Job {
    tag: String,
}

impl Queueable for Job {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        observe(&self.tag, "queueable");
        // A task the job spawns is outside the execution (documented).
        let t = self.tag.clone();
        tokio::spawn(async move { observe(&t, "spawned") })
            .await
            .unwrap();
        ctx.attach_finalizer(After {
            tag: self.tag.clone(),
        })?;
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct After {
    tag: String,
}

impl Finalizer for After {
    async fn execute(&mut self, _ctx: &mut FinalizerContext) -> Result<(), JobError> {
        observe(&self.tag, "finalizer");
        Ok(())
    }
}

#[asyncapex::future]
async fn in_a_future(tag: String) -> Result<(), JobError> {
    observe(&tag, "future");
    Ok(())
}

#[derive(Default, Serialize, Deserialize)]
struct Phases {
    tag: String,
}

impl Batchable for Phases {
    type Item = u32;

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<u32>, JobError> {
        observe(&self.tag, "start");
        Ok(WorkSet::iter(0..1))
    }
    async fn execute(&mut self, _ctx: &mut BatchContext, _scope: Vec<u32>) -> Result<(), JobError> {
        observe(&self.tag, "execute");
        Ok(())
    }
    async fn finish(&mut self, _ctx: &mut BatchContext) -> Result<(), JobError> {
        observe(&self.tag, "finish");
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct Nightly {
    tag: String,
}

impl Schedulable for Nightly {
    async fn execute(&mut self, _ctx: &mut SchedulableContext) -> Result<(), JobError> {
        observe(&self.tag, "scheduled");
        Ok(())
    }
}

fn seen(kind: &str, batch: bool, future: bool, queueable: bool, scheduled: bool) -> String {
    format!("{kind} batch={batch} future={future} queueable={queueable} scheduled={scheduled}")
}

#[tokio::test]
async fn each_kind_of_execution_is_told_which_it_is() {
    let clock = ManualClock::new("2026-12-03T10:00:00Z".parse().unwrap());
    let engine = Engine::builder()
        .in_memory()
        .clock(clock.clone())
        .register::<Job>()
        .register_finalizer::<After>()
        .register_batch::<Phases>()
        .register_schedulable::<Nightly>()
        .start()
        .await
        .unwrap();
    let t = tag("predicates");
    observe(&t, "caller");

    let id = engine.enqueue_job(Job { tag: t.clone() }).await.unwrap();
    assert_eq!(
        engine.wait_for(id, WAIT).await.unwrap().status,
        JobStatus::Completed
    );
    in_a_future::future(&engine, t.clone()).await.unwrap();
    let id = engine
        .execute_batch(Phases { tag: t.clone() }, 1)
        .await
        .unwrap();
    assert_eq!(
        engine.wait_for(id, WAIT).await.unwrap().status,
        JobStatus::Completed
    );
    engine
        .schedule("predicates", "0 0 11 * * ?", Nightly { tag: t.clone() })
        .await
        .unwrap();
    clock.set("2026-12-03T11:00:00Z".parse().unwrap());
    tokio::time::timeout(WAIT, async {
        while logged(&t).len() < 9 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("not every execution observed: {:?}", logged(&t)));
    engine.wait_idle(WAIT).await.unwrap();

    let mut log = logged(&t);
    log[1..].sort(); // the caller's line first; the rest by name
    let batch = |phase: BatchPhase, at: &str| {
        format!(
            "{at}: {}",
            seen(
                &format!("Some({:?})", ExecutionKind::Batch(phase)),
                true,
                false,
                false,
                false
            )
        )
    };
    assert_eq!(
        log,
        vec![
            format!("caller: {}", seen("None", false, false, false, false)),
            batch(BatchPhase::Execute, "execute"),
            format!(
                "finalizer: {}",
                seen("Some(Finalizer)", false, false, false, false)
            ),
            batch(BatchPhase::Finish, "finish"),
            format!(
                "future: {}",
                seen("Some(Future)", false, true, false, false)
            ),
            format!(
                "queueable: {}",
                seen("Some(Queueable)", false, false, true, false)
            ),
            format!(
                "scheduled: {}",
                seen("Some(Scheduled)", false, false, false, true)
            ),
            format!("spawned: {}", seen("None", false, false, false, false)),
            batch(BatchPhase::Start, "start"),
        ]
    );
}

/// The test kit's unit runs of one execution tell the code the same.
#[tokio::test]
async fn a_unit_run_of_the_test_kit_is_told_too() {
    let kit = asyncapex::testing::TestKit::builder(
        Engine::builder()
            .register::<Job>()
            .register_finalizer::<After>()
            .register_batch::<Phases>(),
    )
    .start()
    .await
    .unwrap();
    let t = tag("unit");
    kit.execute_queueable(Job { tag: t.clone() }).await;
    kit.batch_finish(Phases { tag: t.clone() }).await;
    let log = logged(&t);
    assert_eq!(
        log[0],
        format!(
            "queueable: {}",
            seen("Some(Queueable)", false, false, true, false)
        )
    );
    assert_eq!(
        log[2],
        format!(
            "finish: {}",
            seen("Some(Batch(Finish))", true, false, false, false)
        )
    );
}
