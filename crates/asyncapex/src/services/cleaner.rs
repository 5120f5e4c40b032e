//! The cleaner: deletes finished job records older than their retention period, with their
//! batch chunks and error events, in bounded batches (invariant 7, bounded growth).
//!
//! Each store call deletes at most [`Cleaner::batch`] records, and the cleaner yields between
//! calls, so an enqueue never waits long behind it. On PostgreSQL every node's cleaner may
//! run at once: rows another purge holds are skipped, so no record is deleted twice and the
//! work spreads over whoever gets there first.

use std::sync::Arc;
use std::time::Duration;

use asyncapex_core::clock::{add, sub};
use asyncapex_core::{Clock, Error, JobPurgeParams, Store};

use super::Service;
use crate::runtime::retention::Retention;
use crate::runtime::signals::Stop;

/// What the cleaner needs.
pub(crate) struct Cleaner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) retention: Retention,
    /// How often it looks (by the engine clock).
    pub(crate) interval: Duration,
    /// The most records one store call deletes.
    pub(crate) batch: u32,
    /// Node rows silent this long are deleted.
    pub(crate) forget_nodes_after: Duration,
}

impl Service for Cleaner {
    const NAME: &'static str = "cleaner";

    async fn run(self, mut stop: Stop) {
        loop {
            // The next pass is due an interval after this one *started*: a clock that jumps
            // while a pass runs (a test's manual clock) then gets its pass at once.
            let started = self.clock.now();
            match self.clean(&stop).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    deleted = n,
                    "cleaner deleted finished job records past their retention"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "cleaning finished job records failed; retrying at the next pass")
                }
            }
            let next = add(started, self.interval);
            tokio::select! {
                _ = self.clock.sleep_until(next) => {}
                _ = stop.wait() => return,
            }
        }
    }
}

impl Cleaner {
    /// One pass: every retention group, in bounded batches, until nothing is past its cut
    /// (or the engine stops). Returns how many records it deleted.
    pub(crate) async fn clean(&self, stop: &Stop) -> Result<u64, Error> {
        let now = self.clock.now();
        let mut deleted = 0;
        for (status, job_types, period) in self.retention.groups() {
            let params = JobPurgeParams {
                before: sub(now, period),
                statuses: vec![status],
                job_types: Some(job_types),
                limit: self.batch,
                ended_from: None,
            };
            deleted += purge_all(self.store.as_ref(), &params, || stop.is_set(), |_| {}).await?;
        }
        let forgotten = self
            .store
            .node_forget(sub(now, self.forget_nodes_after))
            .await?;
        if forgotten > 0 {
            tracing::info!(
                nodes = forgotten,
                "cleaner forgot nodes silent for over {:?}",
                self.forget_nodes_after
            );
        }
        Ok(deleted)
    }
}

/// Calls `job_purge` until the store finds nothing more to purge, reporting each batch; stops
/// early when `stop` says so. Returns how many records it deleted.
pub(crate) async fn purge_all(
    store: &dyn Store,
    params: &JobPurgeParams,
    stop: impl Fn() -> bool,
    mut on_batch: impl FnMut(u64),
) -> Result<u64, Error> {
    let mut deleted = 0;
    let mut params = params.clone();
    loop {
        let batch = store.job_purge(params.clone()).await?;
        deleted += batch.deleted;
        on_batch(batch.deleted);
        if batch.exhausted || batch.deleted == 0 || stop() {
            return Ok(deleted);
        }
        // The next batch starts where this one stopped (see JobPurgeParams::ended_from).
        params.ended_from = batch.last_ended_at;
        // Let other work reach the store between batches.
        tokio::task::yield_now().await;
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use asyncapex_core::{JobFinishParams, JobOutcome, JobStatus};

    use super::Cleaner;
    use crate::runtime::retention::Retention;
    use crate::runtime::signals::Shutdown;
    use crate::services::testkit::Kit;

    const DAY: Duration = Duration::from_secs(86_400);

    async fn ended(kit: &Kit, outcome: JobOutcome) -> asyncapex_core::JobId {
        let id = kit.queued().await;
        assert_eq!(kit.claim("w", Duration::from_secs(30)).await, vec![id]);
        assert!(
            kit.store
                .job_finish(JobFinishParams {
                    id,
                    owner: "w".into(),
                    now: kit.clock.now(),
                    outcome,
                    insert: Vec::new(),
                    max_holding: 100,
                })
                .await
                .unwrap()
        );
        id
    }

    #[tokio::test]
    async fn deletes_past_retention_in_batches_and_keeps_failures_longer() {
        let kit = Kit::new().await;
        let mut completed = Vec::new();
        for _ in 0..5 {
            completed.push(ended(&kit, JobOutcome::Completed).await);
        }
        let failed = ended(
            &kit,
            JobOutcome::Failed {
                message: "x".into(),
            },
        )
        .await;
        let cleaner = Cleaner {
            store: kit.store.clone(),
            clock: kit.clock(),
            retention: Retention::default().keep_status(JobStatus::Failed, 30 * DAY),
            interval: Duration::from_secs(60),
            batch: 2,
            forget_nodes_after: DAY,
        };
        let stop = Shutdown::default().stop();
        kit.clock.advance(7 * DAY);
        assert_eq!(
            cleaner.clean(&stop).await.unwrap(),
            0,
            "exactly 7 days old: kept"
        );
        kit.clock.advance(Duration::from_secs(1));
        assert_eq!(
            cleaner.clean(&stop).await.unwrap(),
            5,
            "three batches of at most 2"
        );
        for id in completed {
            assert!(kit.store.job_get(id).await.unwrap().is_none());
        }
        assert!(
            kit.store.job_get(failed).await.unwrap().is_some(),
            "failures kept 30 days"
        );
        kit.clock.advance(23 * DAY);
        assert_eq!(cleaner.clean(&stop).await.unwrap(), 1);
    }

    /// Nodes silent past `forget_nodes_after` are deleted by the pass, also when retention
    /// keeps every job forever; a node heard from within it stays.
    #[tokio::test]
    async fn forgets_nodes_silent_for_longer_than_a_day() {
        use asyncapex_core::{NodeHeartbeatParams, NodeListParams, NodeRegisterParams};

        let kit = Kit::new().await;
        let register = |name: &str| NodeRegisterParams {
            name: name.into(),
            now: kit.clock.now(),
            runs_jobs: true,
        };
        let gone = kit.store.node_register(register("gone:1")).await.unwrap();
        let live = kit.store.node_register(register("live:2")).await.unwrap();
        let cleaner = Cleaner {
            store: kit.store.clone(),
            clock: kit.clock(),
            retention: Retention::forever(),
            interval: Duration::from_secs(60),
            batch: 100,
            forget_nodes_after: DAY,
        };
        let stop = Shutdown::default().stop();
        let listed = || async {
            kit.store
                .node_list(NodeListParams {
                    now: kit.clock.now(),
                    dead_after: Duration::from_secs(30),
                    limit: 10,
                    workers_only: false,
                })
                .await
                .unwrap()
                .iter()
                .map(|n| n.id)
                .collect::<Vec<_>>()
        };
        kit.clock.advance(DAY);
        kit.store
            .node_heartbeat(NodeHeartbeatParams {
                id: live,
                now: kit.clock.now(),
            })
            .await
            .unwrap();
        cleaner.clean(&stop).await.unwrap();
        assert_eq!(
            listed().await,
            vec![live, gone],
            "silent exactly a day: kept"
        );
        kit.clock.advance(Duration::from_secs(1));
        cleaner.clean(&stop).await.unwrap();
        assert_eq!(listed().await, vec![live]);
    }

    /// A purge of many records goes in bounded batches, and the store serves other writers
    /// between them: an enqueue made while a long purge runs commits after at most a few
    /// batches, never after the whole purge. Progress is read from the purge's own batch
    /// reports, so the bound is in batches, not in milliseconds.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_enqueue_waits_for_at_most_a_few_purge_batches() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU64, Ordering};

        use asyncapex_core::fill::FinishedJobsFill;
        use asyncapex_core::{IdGenerator, JobInsertManyParams, JobPurgeParams, Store};

        const ROWS: u64 = 20_000;
        const BATCH: u32 = 500;
        let dir = tempfile::tempdir().unwrap();
        let sqlite = asyncapex_sqlite::SqliteStore::open(dir.path().join("purge.db"))
            .await
            .unwrap();
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let fill =
            FinishedJobsFill::over_days(ROWS, 30, now - jiff::SignedDuration::from_hours(24 * 8));
        sqlite.fill_finished(&fill, |_| {}).await.unwrap();
        let store: Arc<dyn Store> = Arc::new(sqlite);

        let deleted = Arc::new(AtomicU64::new(0));
        let batches = Arc::new(std::sync::Mutex::new(Vec::new()));
        let purge = {
            let (store, deleted, batches) = (store.clone(), deleted.clone(), batches.clone());
            tokio::spawn(async move {
                let params = JobPurgeParams {
                    before: now,
                    statuses: vec![JobStatus::Completed, JobStatus::Failed, JobStatus::Aborted],
                    job_types: None,
                    limit: BATCH,
                    ended_from: None,
                };
                super::purge_all(
                    store.as_ref(),
                    &params,
                    || false,
                    |n| {
                        deleted.fetch_add(n, Ordering::SeqCst);
                        batches.lock().unwrap().push(n);
                    },
                )
                .await
            })
        };
        // Once the purge is under way (its first batch reported), enqueue.
        while deleted.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let before = deleted.load(Ordering::SeqCst);
        let ids = IdGenerator::new(1);
        let job = asyncapex_core::NewJob::queueable(ids.job_id(now), "Probe", "{}".into(), now);
        store
            .job_insert_many(JobInsertManyParams::new(vec![job]))
            .await
            .unwrap();
        let waited = deleted.load(Ordering::SeqCst) - before;
        assert_eq!(
            purge.await.unwrap().unwrap(),
            ROWS,
            "the purge took every record"
        );
        assert!(
            waited <= 3 * u64::from(BATCH),
            "the enqueue waited for {waited} records to be deleted, more than three batches"
        );
        // The bound holds because no batch is larger than the limit: the write lock is
        // never held for more than one batch's deletes.
        let batches = batches.lock().unwrap().clone();
        assert!(
            batches.iter().all(|n| *n <= u64::from(BATCH)),
            "{batches:?}"
        );
        assert!(
            batches.len() as u64 >= ROWS / u64::from(BATCH),
            "{} batches",
            batches.len()
        );
    }
}
