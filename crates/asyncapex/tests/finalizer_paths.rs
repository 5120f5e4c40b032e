//! Finalizers run on every ending Apex runs them on — a failure with the state the
//! finalizer's value had when the execution ended, a broken governor limit, the execution
//! time limit, and a crash on the job's last attempt (stored with the job, run by the node
//! that rescues it) — on both stores (PostgreSQL with `ASYNCAPEX_TEST_POSTGRES_URL`;
//! required when `ASYNCAPEX_REQUIRE_POSTGRES=1`, as in CI).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use asyncapex::unstable::store::Store;
use asyncapex::{
    Engine, Finalizer, FinalizerContext, JobError, JobId, JobListParams, JobType, Queueable,
    QueueableContext,
};
use serde::{Deserialize, Serialize};
use support::{WAIT, log, logged, signal, tag, wait_signal};

/// Logs what it saw: the parent's result, its error and how far the parent got.
#[derive(Default, Serialize, Deserialize)]
struct Seen {
    tag: String,
    progress: u32,
}

impl Finalizer for Seen {
    async fn execute(&mut self, ctx: &mut FinalizerContext) -> Result<(), JobError> {
        log(
            &self.tag,
            format!(
                "{:?} progress={} error={}",
                ctx.result(),
                self.progress,
                ctx.error().unwrap_or("-")
            ),
        );
        Ok(())
    }
}

#[derive(Serialize, Deserialize, Clone, Copy)]
enum Ending {
    Succeed,
    Panic,
    FailAfterProgress,
    BreakALimit,
    Hang,
}

#[derive(Serialize, Deserialize)]
struct Work {
    tag: String,
    ending: Ending,
}

impl Queueable for Work {
    fn execution_time_limit() -> Option<Duration> {
        // Far shorter than any wait in these tests; only `Hang` reaches it.
        Some(Duration::from_millis(300))
    }

    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        ctx.attach_finalizer(Seen {
            tag: self.tag.clone(),
            progress: 0,
        })?;
        match self.ending {
            Ending::Succeed => {
                ctx.update_finalizer(|s: &mut Seen| s.progress = 5)?;
                Ok(())
            }
            Ending::Panic => {
                ctx.update_finalizer(|s: &mut Seen| s.progress = 2)?;
                panic!("the card reader exploded")
            }
            Ending::FailAfterProgress => {
                for _ in 0..3 {
                    ctx.update_finalizer(|s: &mut Seen| s.progress += 1)?;
                }
                Err(JobError::new("gave up after three"))
            }
            Ending::BreakALimit => {
                ctx.update_finalizer(|s: &mut Seen| s.progress = 1)?;
                for _ in 0..2 {
                    // The second enqueue breaks the one-per-execution limit; swallowing the
                    // error does not save the job (Apex's uncatchable LimitException).
                    let _ = ctx.enqueue_job(Work {
                        tag: format!("{}-child", self.tag),
                        ending: Ending::Hang,
                    });
                }
                Ok(())
            }
            Ending::Hang => std::future::pending().await,
        }
    }
}

/// Runs until its process dies.
#[derive(Serialize, Deserialize)]
struct Doomed {
    tag: String,
}

impl Queueable for Doomed {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        ctx.attach_finalizer(Seen {
            tag: self.tag.clone(),
            progress: 7,
        })?;
        signal(&format!("{}-attached", self.tag));
        std::future::pending().await
    }
}

fn builder(store: Arc<dyn Store>) -> asyncapex::EngineBuilder {
    Engine::builder()
        .store(store)
        .register::<Work>()
        .register::<Doomed>()
        .register_finalizer::<Seen>()
        .lease_duration(Duration::from_millis(600))
        .rescue_interval(Duration::from_millis(100))
        .poll_interval(Duration::from_millis(50))
}

/// A store under test, with where its rows can be read directly.
struct TestStore {
    name: &'static str,
    store: Arc<dyn Store>,
    /// The SQLite file, or the PostgreSQL URL and schema.
    place: Place,
}

enum Place {
    Sqlite(std::path::PathBuf),
    #[cfg(feature = "postgres")]
    Postgres {
        url: String,
        schema: String,
    },
}

/// A fresh store of each kind this run can reach: a SQLite file, and a PostgreSQL schema
/// when the test database is configured. The directory must outlive the stores.
async fn stores(dir: &std::path::Path, name: &str) -> Vec<TestStore> {
    let path = dir.join(format!("{name}.db"));
    let sqlite: Arc<dyn Store> = Arc::new(asyncapex::SqliteStore::open(&path).await.unwrap());
    #[allow(unused_mut)] // without the postgres feature, only SQLite
    let mut out = vec![TestStore {
        name: "sqlite",
        store: sqlite,
        place: Place::Sqlite(path),
    }];
    #[cfg(feature = "postgres")]
    if let Some(url) = support::postgres_url() {
        let schema = format!("asyncapex_fin_{name}_{}", std::process::id());
        asyncapex::PostgresStore::drop_schema(&url, &schema)
            .await
            .unwrap();
        let pg = asyncapex::PostgresStore::connect_with(
            &url,
            asyncapex::PostgresOptions {
                schema: schema.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        out.push(TestStore {
            name: "postgres",
            store: Arc::new(pg),
            place: Place::Postgres { url, schema },
        });
    }
    out
}

/// Waits until the finalizer logged under `tag` has run, and returns what it saw.
async fn finalizer_saw(tag: &str) -> String {
    tokio::time::timeout(WAIT, async {
        loop {
            if let Some(line) = logged(tag).first() {
                return line.clone();
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the finalizer of {tag} never ran"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finalizer_runs_after_success_a_panic_a_failure_a_broken_limit_and_the_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    for TestStore {
        name: store_name,
        store,
        ..
    } in stores(dir.path(), "endings").await
    {
        let engine = builder(store).start().await.unwrap();
        let cases = [
            (Ending::Succeed, "Success progress=5 error=-"),
            (
                Ending::Panic,
                "UnhandledException progress=2 error=panicked: the card reader exploded",
            ),
            (
                Ending::FailAfterProgress,
                "UnhandledException progress=3 error=gave up after three",
            ),
            (Ending::BreakALimit, "UnhandledException progress=1 error="),
            (Ending::Hang, "UnhandledException progress=0 error="),
        ];
        for (ending, expected) in cases {
            let t = tag(&format!("{store_name}-ending"));
            let id = engine
                .enqueue_job(Work {
                    tag: t.clone(),
                    ending,
                })
                .await
                .unwrap();
            let saw = finalizer_saw(&t).await;
            assert!(saw.starts_with(expected), "{store_name}: {saw}");
            let job = engine.job(id).await.unwrap();
            if matches!(ending, Ending::Succeed) {
                continue;
            }
            assert_eq!(
                job.extended_status.as_deref().map(|s| saw.ends_with(s)),
                Some(true),
                "{store_name}: the finalizer saw the job's own error: {saw} / {:?}",
                job.extended_status
            );
        }
        engine.shutdown(Duration::from_secs(5)).await.unwrap();
    }
}

#[test]
fn a_finalizer_runs_when_its_job_dies_with_its_process_on_the_last_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let setup = tokio::runtime::Runtime::new().unwrap();
    for TestStore {
        name: store_name,
        store,
        place,
    } in setup.block_on(stores(dir.path(), "crash"))
    {
        let t = tag(&format!("{store_name}-crash"));
        // The process that dies: its own runtime, dropped without a shutdown, takes every
        // task of its engine with it (no release, no heartbeat, no end written).
        let doomed = tokio::runtime::Runtime::new().unwrap();
        let id: JobId = doomed.block_on(async {
            let engine = builder(store.clone())
                .max_attempts(1)
                .start()
                .await
                .unwrap();
            let id = engine.enqueue_job(Doomed { tag: t.clone() }).await.unwrap();
            wait_signal(&format!("{t}-attached")).await;
            std::mem::forget(engine);
            id
        });
        setup.block_on(wait_until_stored(&place, id));
        doomed.shutdown_background();

        setup.block_on(async {
            let survivor = builder(store.clone()).start().await.unwrap();
            let saw = finalizer_saw(&t).await;
            assert!(
                saw.starts_with("UnhandledException progress=7 error="),
                "{store_name}: {saw}"
            );
            assert!(saw.contains("stopped heartbeating"), "{store_name}: {saw}");
            let job = survivor.job(id).await.unwrap();
            assert_eq!(job.status, asyncapex::JobStatus::Failed);
            assert_eq!(job.attempt, 1);
            survivor.wait_idle(WAIT).await.unwrap();
            let runs = survivor
                .jobs(JobListParams {
                    job_types: vec![JobType::Finalizer],
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(runs.len(), 1, "{store_name}: it ran once");
            assert_eq!(runs[0].parent_job_id, Some(id));
            survivor.shutdown(Duration::from_secs(5)).await.unwrap();
        });
    }
}

/// Waits until the attached finalizer's store write has landed, read from the row itself
/// (the store's API shows a stored finalizer only once its job has failed): the job is
/// killed only then, since a kill in the moments before loses it, as documented.
async fn wait_until_stored(place: &Place, id: JobId) {
    let sql = "SELECT finalizer_class FROM asyncapex_job WHERE id = $1";
    let read = || async {
        match place {
            Place::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.query_row(sql, [id.as_15()], |r| r.get::<_, Option<String>>(0))
                    .unwrap()
            }
            #[cfg(feature = "postgres")]
            Place::Postgres { url, schema } => {
                let (client, connection) =
                    asyncapex::tokio_postgres::connect(url, asyncapex::tokio_postgres::NoTls)
                        .await
                        .unwrap();
                tokio::spawn(connection);
                let sql = sql.replace("asyncapex_job", &format!("{schema}.asyncapex_job"));
                client
                    .query_one(&sql, &[&id.as_15()])
                    .await
                    .unwrap()
                    .get::<_, Option<String>>(0)
            }
        }
    };
    tokio::time::timeout(WAIT, async {
        while read().await.is_none() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the attached finalizer is stored with its job");
}
