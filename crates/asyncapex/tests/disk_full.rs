//! A full disk: enqueues fail with a clear error, nothing committed is lost, and the engine
//! goes on once space returns (issue 13). Mounts a 16 MiB tmpfs (half of it taken by a file the test deletes to give space back), so it needs root: `.ci/run`
//! runs it with `--ignored`; `cargo test` alone lists it as ignored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use std::time::Duration;

use asyncapex::{Engine, Error, JobError, JobStatus, Queueable, QueueableContext, StoreErrorKind};
use serde::{Deserialize, Serialize};
use support::WAIT;

#[derive(Serialize, Deserialize)]
struct Padded {
    pad: String,
}

impl Queueable for Padded {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        Ok(())
    }
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a tmpfs needs root (run as root, as CI does)"
        );
        SmallDisk { dir }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[tokio::test]
#[ignore = "needs root to mount a small tmpfs; .ci/run runs it with --ignored"]
async fn a_full_disk_refuses_enqueues_clearly_loses_nothing_and_recovers_when_space_returns() {
    let disk = SmallDisk::mount("16m");
    let path = disk.dir.path().join("jobs.db");
    // Space to give back later: the test frees it to end the "disk full".
    let filler = disk.dir.path().join("filler");
    std::fs::write(&filler, vec![0u8; 8 * 1024 * 1024]).unwrap();
    let engine = Engine::builder()
        .sqlite(&path)
        .register::<Padded>()
        .concurrency(0)
        .limits(asyncapex::Limits::unlimited())
        .start()
        .await
        .unwrap();
    let mut committed = Vec::new();
    let refused = loop {
        let batch = (0..200).map(|_| Padded {
            pad: "x".repeat(1000),
        });
        match engine.enqueue_jobs(batch).await {
            Ok(ids) => committed.extend(ids),
            Err(e) => break e,
        }
        assert!(committed.len() < 100_000, "the 16 MiB disk never filled");
    };
    assert!(
        matches!(
            refused,
            Error::Store {
                kind: StoreErrorKind::Unavailable,
                ..
            }
        ),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("full"),
        "the error says the disk is full: {refused}"
    );
    assert!(
        !committed.is_empty(),
        "some enqueues fitted before the disk filled"
    );
    std::fs::remove_file(&filler).unwrap();
    // Space is back: the same engine enqueues again, and a worker runs everything committed.
    let after = engine
        .enqueue_job(Padded { pad: String::new() })
        .await
        .expect("an enqueue once space returned");
    committed.push(after);
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
    drop(engine);
    let worker = Engine::builder()
        .sqlite(&path)
        .register::<Padded>()
        .concurrency(64)
        .limits(asyncapex::Limits::unlimited())
        .start()
        .await
        .unwrap();
    worker.wait_idle(WAIT).await.unwrap();
    for id in &committed {
        assert_eq!(
            worker.job(*id).await.unwrap().status,
            JobStatus::Completed,
            "committed job {id} ran"
        );
    }
    worker.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[derive(Serialize, Deserialize)]
struct Slow;

impl Queueable for Slow {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        Ok(())
    }
}

/// Fills the rest of the disk with one file; returns it (delete it to give the space back).
fn fill(dir: &std::path::Path) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join("fill");
    let mut file = std::fs::File::create(&path).unwrap();
    let block = vec![0u8; 64 * 1024];
    while file.write_all(&block).is_ok() {}
    let _ = file.sync_all();
    path
}

#[tokio::test]
#[ignore = "needs root to mount a small tmpfs; .ci/run runs it with --ignored"]
async fn completions_that_meet_a_full_disk_are_retried_and_nothing_is_lost() {
    let disk = SmallDisk::mount("16m");
    let path = disk.dir.path().join("jobs.db");
    let engine = Engine::builder()
        .sqlite(&path)
        .register::<Slow>()
        .concurrency(8)
        .start()
        .await
        .unwrap();
    let ids = engine.enqueue_jobs((0..8).map(|_| Slow)).await.unwrap();
    // Let the worker claim them (they then run for 1.5 s), then fill the disk under them.
    tokio::time::timeout(WAIT, async {
        loop {
            let running = engine
                .jobs(asyncapex::JobListParams {
                    statuses: vec![JobStatus::Processing],
                    ..Default::default()
                })
                .await
                .unwrap()
                .len();
            if running == ids.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the worker claimed every job");
    let filler = fill(disk.dir.path());
    // The jobs end while the disk is full: their completions fail and are retried.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let completed_while_full = engine
        .jobs(asyncapex::JobListParams {
            statuses: vec![JobStatus::Completed],
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    assert_eq!(
        completed_while_full, 0,
        "no completion could be written to the full disk"
    );
    std::fs::remove_file(filler).unwrap();
    for id in &ids {
        let done = engine.wait_for(*id, WAIT).await.unwrap();
        assert_eq!(done.status, JobStatus::Completed, "job {id} was not lost");
    }
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
}
