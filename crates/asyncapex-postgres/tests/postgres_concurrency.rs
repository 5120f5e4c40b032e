//! Many processes on one database: what must hold globally holds under concurrent calls from
//! separate store handles (separate pools, as separate processes would have).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::HashSet;

use asyncapex_core::clock::add;
use asyncapex_core::{
    BatchPromoteParams, CronTriggerFireParams, CronTriggerInsertParams, Error, IdGenerator,
    JobClaimParams, JobInsertManyParams, JobStatus, JobType, NewCronTrigger, Store,
};
use asyncapex_postgres::PostgresStore;
use common::{job, t0};
use futures_util::future::join_all;

async fn stores(url: &str, schema: &str, n: usize) -> Vec<PostgresStore> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(
            PostgresStore::connect_with(url, common::options(schema))
                .await
                .unwrap(),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "needs ASYNCAPEX_TEST_POSTGRES_URL (a PostgreSQL database)"
)]
async fn processes_starting_at_once_migrate_the_schema_once() {
    let Some(url) = common::url() else { return };
    let schema = common::fresh_schema();
    let connects = (0..4).map(|_| {
        let url = url.clone();
        let schema = schema.clone();
        tokio::spawn(
            async move { PostgresStore::connect_with(&url, common::options(&schema)).await },
        )
    });
    for result in join_all(connects).await {
        result.unwrap().expect("every concurrent connect succeeds");
    }
    let admin = common::admin(&url).await;
    let rows = admin
        .query(
            &format!("SELECT version, name FROM \"{schema}\".asyncapex_migration ORDER BY version"),
            &[],
        )
        .await
        .unwrap();
    let applied: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let expected: Vec<(i64, String)> = asyncapex_postgres::migration_versions()
        .into_iter()
        .map(|(v, n)| (v, n.to_owned()))
        .collect();
    assert_eq!(applied, expected, "each migration applied exactly once");
    let latest = asyncapex_core::rules::MIGRATIONS
        .last()
        .map(|m| i64::from(m.0));
    assert_eq!(applied.last().map(|m| m.0), latest);
    common::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "needs ASYNCAPEX_TEST_POSTGRES_URL (a PostgreSQL database)"
)]
async fn a_signature_raced_from_two_processes_is_inserted_once() {
    let Some(url) = common::url() else { return };
    let schema = common::fresh_schema();
    let handles = stores(&url, &schema, 2).await;
    let gens = [IdGenerator::new(1), IdGenerator::new(2)];
    for round in 0..20 {
        let attempts = handles.iter().enumerate().map(|(i, store)| {
            let mut j = job(&gens[i], t0());
            j.signature = Some(format!("sig-{round}"));
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .job_insert_many(JobInsertManyParams::new(vec![j]))
                    .await
            })
        });
        let results: Vec<_> = join_all(attempts)
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "round {round}: {results:?}");
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(Error::DuplicateSignature { signature }) if *signature == format!("sig-{round}"))),
            "round {round}: {results:?}"
        );
    }
    common::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "needs ASYNCAPEX_TEST_POSTGRES_URL (a PostgreSQL database)"
)]
async fn a_fire_time_raced_from_two_processes_fires_once() {
    let Some(url) = common::url() else { return };
    let schema = common::fresh_schema();
    let handles = stores(&url, &schema, 2).await;
    let ids = IdGenerator::new(9);
    let gens = [IdGenerator::new(1), IdGenerator::new(2)];
    for round in 0..20u64 {
        let due = add(t0(), std::time::Duration::from_secs(round));
        let trigger = NewCronTrigger {
            id: ids.cron_trigger_id(t0()),
            name: format!("nightly-{round}"),
            job_type: JobType::ScheduledApex,
            class_name: "Nightly".into(),
            payload: "{}".into(),
            cron_expression: "0 0 0 * * ?".into(),
            time_zone: "UTC".into(),
            dst_policy: "quartz".into(),
            next_fire_time: due,
            start_time: t0(),
            batch_scope: None,
        };
        handles[0]
            .cron_trigger_insert(CronTriggerInsertParams {
                trigger: trigger.clone(),
                max_active: 100,
            })
            .await
            .unwrap();
        let fires = handles.iter().enumerate().map(|(i, store)| {
            let mut j = job(&gens[i], due);
            j.job_type = JobType::ScheduledApex;
            j.cron_trigger_id = Some(trigger.id);
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .cron_trigger_fire(CronTriggerFireParams {
                        id: trigger.id,
                        expected_next_fire_time: due,
                        next_fire_time: Some(add(due, std::time::Duration::from_secs(86_400))),
                        fired_at: due,
                        job: j,
                    })
                    .await
            })
        });
        let fired: Vec<bool> = join_all(fires)
            .await
            .into_iter()
            .map(|r| r.unwrap().unwrap())
            .collect();
        assert_eq!(
            fired.iter().filter(|f| **f).count(),
            1,
            "round {round}: {fired:?}"
        );
        let got = handles[1]
            .cron_trigger_get(trigger.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.times_triggered, 1);
        // Let the next round's trigger fire: end this one's run.
        handles[0]
            .job_abort(asyncapex_core::JobAbortParams {
                id: got.last_job_id.unwrap(),
                now: due,
            })
            .await
            .unwrap();
    }
    let scheduled = handles[0]
        .job_list(asyncapex_core::JobListParams {
            job_types: vec![JobType::ScheduledApex],
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(scheduled.len(), 20, "one job per firing");
    common::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "needs ASYNCAPEX_TEST_POSTGRES_URL (a PostgreSQL database)"
)]
async fn the_flex_queue_caps_hold_across_processes() {
    let Some(url) = common::url() else { return };
    let schema = common::fresh_schema();
    let handles = stores(&url, &schema, 4).await;
    let inserts = (0..16).map(|i| {
        let store = handles[i % 4].clone();
        let mut j = job(&IdGenerator::new(i as u16 + 1), t0());
        j.job_type = JobType::BatchApex;
        j.status = JobStatus::Holding;
        j.batch_scope = Some(200);
        tokio::spawn(async move {
            store
                .job_insert_many(JobInsertManyParams {
                    jobs: vec![j],
                    max_holding: 5,
                })
                .await
        })
    });
    let results: Vec<_> = join_all(inserts)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        5,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, Error::LimitExceeded { max: 5, .. })),
        "{results:?}"
    );
    let queue = handles[0].flex_queue_list().await.unwrap();
    let positions: HashSet<Option<i64>> = queue.iter().map(|j| j.flex_position).collect();
    assert_eq!(queue.len(), 5);
    assert_eq!(positions.len(), 5, "distinct flex-queue positions");

    // Promotion's active cap holds too: three promoters, room for two.
    let promotes = handles.iter().take(3).map(|store| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .batch_promote(BatchPromoteParams {
                    now: t0(),
                    max_active: 2,
                })
                .await
        })
    });
    let promoted: usize = join_all(promotes)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap().len())
        .sum();
    assert_eq!(promoted, 2);
    common::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "needs ASYNCAPEX_TEST_POSTGRES_URL (a PostgreSQL database)"
)]
async fn concurrent_claims_never_hand_out_a_job_twice() {
    let Some(url) = common::url() else { return };
    let schema = common::fresh_schema();
    let handles = stores(&url, &schema, 4).await;
    let ids = IdGenerator::new(1);
    let jobs: Vec<_> = (0..2000).map(|_| job(&ids, t0())).collect();
    let all: HashSet<_> = jobs.iter().map(|j| j.id).collect();
    handles[0]
        .job_insert_many(JobInsertManyParams::new(jobs))
        .await
        .unwrap();
    let workers = handles.iter().enumerate().map(|(i, store)| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = store
                    .job_claim(JobClaimParams {
                        owner: format!("worker-{i}"),
                        now: t0(),
                        lease_until: add(t0(), std::time::Duration::from_secs(60)),
                        queues: asyncapex_core::QueueClaim::default_queue(25),
                    })
                    .await
                    .unwrap();
                if got.is_empty() {
                    break mine;
                }
                assert!(
                    got.iter()
                        .all(|j| j.lease_owner.as_deref() == Some(&*format!("worker-{i}")))
                );
                mine.extend(got.into_iter().map(|j| j.id));
            }
        })
    });
    let claimed: Vec<Vec<_>> = join_all(workers)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let total: usize = claimed.iter().map(Vec::len).sum();
    let unique: HashSet<_> = claimed.iter().flatten().copied().collect();
    assert_eq!(total, 2000, "every job claimed once: {total} claims");
    assert_eq!(unique, all);
    common::drop_schema(&url, &schema).await;
}
