//! A process running the engine is killed with SIGKILL in the middle of a job; a new engine
//! on the same file finishes everything. Nothing is lost or left Processing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use asyncapex::{
    Engine, JobError, JobId, JobListParams, JobStatus, ManualClock, Queueable, QueueableContext,
};
use serde::{Deserialize, Serialize};

const CHILD_ENV: &str = "ASYNCAPEX_CRASH_TEST_DB";
const QUICK_JOBS: usize = 20;

/// Hangs on its first attempt (announcing it on stdout), completes on any later one.
#[derive(Serialize, Deserialize)]
struct HangsOnce;

impl Queueable for HangsOnce {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        if ctx.attempt() == 1 {
            println!("STARTED {}", ctx.job_id());
            std::future::pending::<()>().await;
        }
        Ok(())
    }
}

/// Quick work that chains one child, so a crash can fall between a parent and its child.
#[derive(Serialize, Deserialize)]
struct Quick {
    chain: bool,
}

impl Queueable for Quick {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        if self.chain {
            ctx.enqueue_job(Quick { chain: false })?;
        }
        Ok(())
    }
}

fn builder(path: &std::path::Path) -> asyncapex::EngineBuilder {
    Engine::builder()
        .sqlite(path)
        .register::<HangsOnce>()
        .register::<Quick>()
        .concurrency(2)
}

/// The child process's body; does nothing when run as a normal test.
#[test]
fn crash_child_entry() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let engine = builder(std::path::Path::new(&path)).start().await.unwrap();
        let mut tx = engine.begin();
        for _ in 0..QUICK_JOBS {
            tx.enqueue_job(Quick { chain: true }).unwrap();
        }
        tx.commit().await.unwrap();
        engine.enqueue_job(HangsOnce).await.unwrap();
        std::future::pending::<()>().await;
    });
}

#[tokio::test]
async fn a_job_killed_mid_run_is_completed_by_the_next_engine_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // The harness prints "test crash_child_entry ... " before it, on the same line.
            if let Some((_, id)) = line.split_once("STARTED ") {
                let _ = tx.send(id.trim().to_owned());
            }
        }
    });
    let hung: JobId = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the child never started the hanging job")
        .parse()
        .unwrap();
    child.kill().unwrap(); // SIGKILL on Unix: no destructor, no shutdown, no flush
    child.wait().unwrap();

    // The dead process left its job Processing under a lease nobody will renew.
    let store = asyncapex::SqliteStore::open(&path).await.unwrap();
    let before = asyncapex::unstable::store::Store::job_get(&store, hung)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.status, JobStatus::Processing);
    drop(store);

    // A new engine whose clock is past that lease rescues it and finishes everything.
    let clock = ManualClock::new(asyncapex::clock::add(
        jiff::Timestamp::now(),
        Duration::from_secs(3600),
    ));
    let engine = builder(&path).clock(clock.clone()).start().await.unwrap();
    let done = engine
        .wait_for(hung, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.attempt, 2, "the rescued run says it is a retry");
    engine.wait_idle(Duration::from_secs(60)).await.unwrap();

    let jobs = engine
        .jobs(JobListParams {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    let roots = jobs.iter().filter(|j| j.parent_job_id.is_none()).count();
    let children = jobs.iter().filter(|j| j.parent_job_id.is_some()).count();
    assert_eq!(roots, QUICK_JOBS + 1, "every enqueued job is there");
    assert_eq!(children, QUICK_JOBS, "every chain has exactly one child");
    for job in &jobs {
        assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    }
    assert!(clock.now() > before.lease_expires_at.unwrap());
}
