//! Named queues, priorities, rate limits, fair share and retries (extensions beyond Apex):
//! each claim serves only the queues it names, in claim order, within every stored rule.

use std::time::Duration;

use asyncapex_core::clock::add;
use asyncapex_core::queue::{QueueSettings, RateLimit};
use asyncapex_core::{
    AttemptOutcome, IdGenerator, JobClaimParams, JobId, JobRetryParams, JobStatus, NewJob,
    QueueClaim, Store,
};
use jiff::Timestamp;

use crate::job_cases::{insert, job, secs, t0};

const LEASE: Duration = Duration::from_secs(60);

fn in_queue(ids: &IdGenerator, at: Timestamp, queue: &str) -> NewJob {
    job(ids, at).queue(queue)
}

async fn claim_from(store: &dyn Store, now: Timestamp, wanted: &[(&str, u32)]) -> Vec<JobId> {
    store
        .job_claim(JobClaimParams {
            owner: "w".into(),
            now,
            lease_until: add(now, LEASE),
            queues: wanted
                .iter()
                .map(|(q, n)| QueueClaim {
                    queue: (*q).into(),
                    limit: *n,
                })
                .collect(),
        })
        .await
        .expect("claim")
        .into_iter()
        .map(|j| j.id)
        .collect()
}

async fn next(store: &dyn Store, queue: &str) -> Option<Timestamp> {
    store
        .job_next_run_at(vec![queue.into()], Timestamp::MIN)
        .await
        .expect("next run")
}

pub(crate) async fn claims_serve_only_the_queues_named_each_up_to_its_limit(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let a: Vec<NewJob> = (0..3).map(|_| in_queue(&ids, t0(), "a")).collect();
    let b: Vec<NewJob> = (0..3).map(|_| in_queue(&ids, t0(), "b")).collect();
    let plain = job(&ids, t0());
    insert(store, [a.clone(), b.clone(), vec![plain.clone()]].concat()).await;
    let got = claim_from(store, t0(), &[("a", 2)]).await;
    assert_eq!(got, vec![a[0].id, a[1].id]);
    let got = claim_from(store, t0(), &[("b", 5), ("default", 0), ("a", 1)]).await;
    assert_eq!(got, vec![b[0].id, b[1].id, b[2].id, a[2].id]);
    let record = store.job_get(a[0].id).await.expect("get").expect("job");
    assert_eq!((record.queue.as_str(), record.priority), ("a", 0));
    assert_eq!(
        claim_from(store, t0(), &[("default", 9)]).await,
        vec![plain.id]
    );
}

pub(crate) async fn priorities_order_claims_and_a_step_of_waiting_outranks_one(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let low = job(&ids, t0()).priority(2);
    let top = job(&ids, t0()).priority(0);
    let mid = job(&ids, t0()).priority(1);
    insert(store, vec![low.clone(), top.clone(), mid.clone()]).await;
    let now = add(t0(), secs(1));
    assert_eq!(
        claim_from(store, now, &[("default", 1)]).await,
        vec![top.id]
    );
    assert_eq!(
        claim_from(store, now, &[("default", 1)]).await,
        vec![mid.id]
    );
    // A priority-2 job waiting since t0 goes before a priority-0 job due more than two
    // steps (120 s) later: waiting buys priority, so nothing starves.
    let late_top = job(&ids, add(t0(), secs(125)));
    insert(store, vec![late_top.clone()]).await;
    let now = add(t0(), secs(200));
    assert_eq!(
        claim_from(store, now, &[("default", 1)]).await,
        vec![low.id]
    );
    assert_eq!(
        claim_from(store, now, &[("default", 1)]).await,
        vec![late_top.id]
    );
}

pub(crate) async fn a_paused_queue_claims_nothing_until_resumed(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let j = in_queue(&ids, t0(), "slow");
    insert(store, vec![j.clone()]).await;
    assert!(store.queue_pause("slow".into(), t0()).await.expect("pause"));
    assert!(
        !store
            .queue_pause("slow".into(), t0())
            .await
            .expect("pause again")
    );
    assert!(claim_from(store, t0(), &[("slow", 5)]).await.is_empty());
    assert_eq!(
        next(store, "slow").await,
        None,
        "a paused queue sets no wake-up"
    );
    let listed = store.queue_list(t0()).await.expect("list");
    let slow = listed.iter().find(|q| q.name == "slow").expect("listed");
    assert!(slow.paused);
    assert_eq!((slow.queued, slow.due, slow.running), (1, 1, 0));
    assert_eq!(slow.oldest_due_at, Some(t0()));
    assert!(
        store
            .queue_resume("slow".into(), t0())
            .await
            .expect("resume")
    );
    assert!(
        !store
            .queue_resume("slow".into(), t0())
            .await
            .expect("resume again")
    );
    assert_eq!(next(store, "slow").await, Some(t0()));
    assert_eq!(claim_from(store, t0(), &[("slow", 5)]).await, vec![j.id]);
}

pub(crate) async fn a_global_cap_counts_running_jobs_of_every_owner(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let mut settings = QueueSettings::new("capped");
    settings.global_limit = Some(2);
    store
        .queue_configure(settings, t0())
        .await
        .expect("configure");
    let jobs: Vec<NewJob> = (0..4).map(|_| in_queue(&ids, t0(), "capped")).collect();
    insert(store, jobs.clone()).await;
    assert_eq!(claim_from(store, t0(), &[("capped", 1)]).await.len(), 1);
    assert_eq!(claim_from(store, t0(), &[("capped", 5)]).await.len(), 1);
    assert!(claim_from(store, t0(), &[("capped", 5)]).await.is_empty());
    let listed = store.queue_list(t0()).await.expect("list");
    let capped = listed.iter().find(|q| q.name == "capped").expect("listed");
    assert_eq!(
        (capped.global_limit, capped.running, capped.queued),
        (Some(2), 2, 2)
    );
}

pub(crate) async fn a_rate_limit_allows_its_starts_per_window_and_says_when_more_may_start(
    store: &dyn Store,
) {
    let ids = IdGenerator::new(1);
    let mut settings = QueueSettings::new("rated");
    settings.rate_limit = Some(RateLimit::new(3, secs(10)).expect("rate"));
    store
        .queue_configure(settings.clone(), t0())
        .await
        .expect("configure");
    // Configuring again keeps the slots' history (no fresh allowance).
    let jobs: Vec<NewJob> = (0..8).map(|_| in_queue(&ids, t0(), "rated")).collect();
    insert(store, jobs).await;
    assert_eq!(claim_from(store, t0(), &[("rated", 5)]).await.len(), 3);
    store
        .queue_configure(settings, t0())
        .await
        .expect("configure again");
    assert!(
        claim_from(store, add(t0(), secs(5)), &[("rated", 5)])
            .await
            .is_empty()
    );
    assert_eq!(next(store, "rated").await, Some(add(t0(), secs(10))));
    assert!(
        claim_from(
            store,
            add(t0(), Duration::from_millis(9_999)),
            &[("rated", 5)]
        )
        .await
        .is_empty()
    );
    assert_eq!(
        claim_from(store, add(t0(), secs(10)), &[("rated", 2)])
            .await
            .len(),
        2
    );
    assert_eq!(
        claim_from(store, add(t0(), secs(11)), &[("rated", 5)])
            .await
            .len(),
        1
    );
    // Lowering the limit drops slots; removing it lifts the limit.
    let mut lower = QueueSettings::new("rated");
    lower.rate_limit = Some(RateLimit::new(1, secs(10)).expect("rate"));
    store.queue_configure(lower, t0()).await.expect("lower");
    assert_eq!(
        claim_from(store, add(t0(), secs(20)), &[("rated", 5)])
            .await
            .len(),
        1
    );
    store
        .queue_configure(QueueSettings::new("rated"), t0())
        .await
        .expect("lift");
    assert_eq!(
        claim_from(store, add(t0(), secs(20)), &[("rated", 5)])
            .await
            .len(),
        1
    );
}

pub(crate) async fn a_retry_requeues_with_the_same_id_after_its_backoff_and_keeps_each_error(
    store: &dyn Store,
) {
    let ids = IdGenerator::new(1);
    let j = job(&ids, t0());
    insert(store, vec![j.clone()]).await;
    assert_eq!(claim_from(store, t0(), &[("default", 1)]).await, vec![j.id]);
    let retry = |now, run_at, owner: &str, error: &str| JobRetryParams {
        id: j.id,
        owner: owner.into(),
        now,
        run_at,
        error: error.into(),
    };
    assert!(
        !store
            .job_retry(retry(t0(), add(t0(), secs(30)), "other", "x"))
            .await
            .expect("retry")
    );
    assert!(
        store
            .job_retry(retry(
                add(t0(), secs(1)),
                add(t0(), secs(31)),
                "w",
                "timeout talking to the bank"
            ))
            .await
            .expect("retry")
    );
    let record = store.job_get(j.id).await.expect("get").expect("job");
    assert_eq!(
        (record.status, record.attempt, record.run_at),
        (JobStatus::Queued, 1, add(t0(), secs(31)))
    );
    assert!(
        claim_from(store, add(t0(), secs(30)), &[("default", 1)])
            .await
            .is_empty()
    );
    assert_eq!(next(store, "default").await, Some(add(t0(), secs(31))));
    assert_eq!(
        claim_from(store, add(t0(), secs(31)), &[("default", 1)]).await,
        vec![j.id]
    );
    let attempts = store.job_attempts(j.id).await.expect("attempts");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].attempt, 1);
    assert_eq!(attempts[0].outcome, AttemptOutcome::Failed);
    assert_eq!(
        attempts[0].error.as_deref(),
        Some("timeout talking to the bank")
    );
    assert_eq!(attempts[0].ended_at, Some(add(t0(), secs(1))));
    let record = store.job_get(j.id).await.expect("get").expect("job");
    assert_eq!(record.attempt, 2);
    // An abort asked for while it runs wins over a retry: the retry changes nothing.
    let aborted = store
        .job_abort(asyncapex_core::JobAbortParams {
            id: j.id,
            now: add(t0(), secs(32)),
        })
        .await
        .expect("abort");
    assert_eq!(aborted, asyncapex_core::AbortOutcome::AbortRequested);
    assert!(
        !store
            .job_retry(retry(
                add(t0(), secs(33)),
                add(t0(), secs(60)),
                "w",
                "again"
            ))
            .await
            .expect("retry")
    );
    let record = store.job_get(j.id).await.expect("get").expect("job");
    assert_eq!(record.status, JobStatus::Processing);
}

pub(crate) async fn the_next_run_time_is_a_queues_earliest_and_skips_times_not_after_the_bound(
    store: &dyn Store,
) {
    let ids = IdGenerator::new(1);
    // Claim order puts the priority-0 job first, but the priority-9 one is due sooner.
    let first_in_order = in_queue(&ids, add(t0(), secs(100)), "a");
    let due_sooner = in_queue(&ids, add(t0(), secs(10)), "a").priority(9);
    let other = in_queue(&ids, add(t0(), secs(60)), "b");
    insert(store, vec![first_in_order, due_sooner, other]).await;
    assert_eq!(next(store, "a").await, Some(add(t0(), secs(10))));
    let both = || vec!["a".to_owned(), "b".to_owned()];
    let after = |s: u64| store.job_next_run_at(both(), add(t0(), secs(s)));
    assert_eq!(after(0).await.expect("next"), Some(add(t0(), secs(10))));
    // Queue a's time is not after the bound (its due job could not be claimed): b's counts.
    assert_eq!(after(10).await.expect("next"), Some(add(t0(), secs(60))));
    assert_eq!(after(60).await.expect("next"), None);
}

pub(crate) async fn a_tenant_past_its_limit_waits_behind_other_tenants(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let mut settings = QueueSettings::new("shared");
    settings.tenant_limit = 3;
    store
        .queue_configure(settings, t0())
        .await
        .expect("configure");
    let tenant = |t: &str, at| in_queue(&ids, at, "shared").tenant(Some(t.into()));
    // One insert of five: its own jobs count too.
    let flood: Vec<NewJob> = (0..5).map(|_| tenant("acme", t0())).collect();
    insert(store, flood.clone()).await;
    let more = tenant("acme", t0());
    insert(store, vec![more.clone()]).await;
    let other: Vec<NewJob> = (0..2)
        .map(|_| tenant("globex", add(t0(), secs(5))))
        .collect();
    insert(store, other.clone()).await;
    let now = add(t0(), secs(10));
    let got = claim_from(store, now, &[("shared", 5)]).await;
    assert_eq!(
        got,
        vec![
            flood[0].id,
            flood[1].id,
            flood[2].id,
            other[0].id,
            other[1].id
        ],
        "acme's jobs past its limit of 3 wait behind globex's"
    );
    assert_eq!(
        claim_from(store, now, &[("shared", 5)]).await,
        vec![flood[3].id, flood[4].id, more.id]
    );
    let counts = store.tenant_counts(10).await.expect("tenants");
    let acme = counts.iter().find(|c| c.tenant == "acme").expect("acme");
    assert_eq!(
        (acme.queue.as_str(), acme.queued, acme.running),
        ("shared", 0, 6)
    );
}
