//! A process running a stateful batch is killed with SIGKILL mid-batch; a new engine on the
//! same file resumes at the first uncommitted chunk, and every item is counted exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use asyncapex::{BatchContext, Batchable, Engine, JobError, JobStatus, ManualClock, WorkSet};
use serde::{Deserialize, Serialize};

const CHILD_ENV: &str = "ASYNCAPEX_BATCH_CRASH_DB";
const ITEMS: u64 = 100_000;
const SCOPE: u32 = 100;
/// The chunk on which the first process hangs (and is killed).
const HANG_AT: u64 = 400;

/// Counts items and their sum; on its first attempt it hangs at chunk `HANG_AT`.
#[derive(Default, Serialize, Deserialize)]
struct Tally {
    count: u64,
    sum: u64,
    chunks: u64,
}

impl Batchable for Tally {
    type Item = u64;
    const STATEFUL: bool = true;

    fn execution_time_limit() -> Option<Duration> {
        Some(Duration::from_secs(24 * 3600))
    }

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<u64>, JobError> {
        Ok(WorkSet::iter(1..=ITEMS))
    }

    async fn execute(&mut self, ctx: &mut BatchContext, scope: Vec<u64>) -> Result<(), JobError> {
        if self.chunks == HANG_AT && ctx.attempt() == 1 {
            println!("HANGING {}", ctx.job_id());
            std::future::pending::<()>().await;
        }
        self.chunks += 1;
        self.count += scope.len() as u64;
        self.sum += scope.iter().sum::<u64>();
        Ok(())
    }

    async fn finish(&mut self, _ctx: &mut BatchContext) -> Result<(), JobError> {
        println!(
            "FINISH count={} sum={} chunks={}",
            self.count, self.sum, self.chunks
        );
        Ok(())
    }
}

fn builder(path: &std::path::Path) -> asyncapex::EngineBuilder {
    Engine::builder().sqlite(path).register_batch::<Tally>()
}

/// The child process's body; does nothing when run as a normal test.
#[test]
fn batch_crash_child_entry() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let engine = builder(std::path::Path::new(&path)).start().await.unwrap();
        engine.execute_batch(Tally::default(), SCOPE).await.unwrap();
        std::future::pending::<()>().await;
    });
}

#[tokio::test]
async fn a_batch_killed_mid_run_resumes_and_counts_every_item_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("batch-crash.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "batch_crash_child_entry",
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
            if let Some((_, id)) = line.split_once("HANGING ") {
                let _ = tx.send(id.trim().to_owned());
            }
        }
    });
    let id: asyncapex::JobId = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the child never reached the hanging chunk")
        .parse()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();

    let clock = ManualClock::new(asyncapex::clock::add(
        jiff::Timestamp::now(),
        Duration::from_secs(3600),
    ));
    let engine = builder(&path).clock(clock).start().await.unwrap();
    let before = engine.job(id).await.unwrap();
    assert_eq!(
        before.items_processed, HANG_AT,
        "chunks committed before the crash"
    );
    let done = engine.wait_for(id, Duration::from_secs(120)).await.unwrap();
    assert_eq!(
        done.status,
        JobStatus::Completed,
        "{:?}",
        done.extended_status
    );
    assert_eq!(done.attempt, 2);
    let chunks = ITEMS / u64::from(SCOPE);
    assert_eq!((done.items_processed, done.total_items), (chunks, chunks));
    assert_eq!(done.number_of_errors, 0);
    let state: serde_json::Value = serde_json::from_str(&done.payload).unwrap();
    assert_eq!(state["count"], ITEMS, "every item counted exactly once");
    assert_eq!(state["sum"], ITEMS * (ITEMS + 1) / 2);
    assert_eq!(state["chunks"], chunks, "no committed chunk ran twice");
}
