//! Conformance cases of the cron trigger table. Each takes a fresh, empty store.

use asyncapex_core::clock::add;
use asyncapex_core::{
    CronTriggerDeleteParams, CronTriggerDueParams, CronTriggerFailParams, CronTriggerFireParams,
    CronTriggerInsertParams, CronTriggerListParams, CronTriggerResumeParams, Error, IdGenerator,
    JobOutcome, JobStatus, JobType, NewCronTrigger, NewJob, Store, StoredTriggerState,
    TriggerState,
};
use jiff::Timestamp;

use crate::job_cases::{claim, finish, job, secs, t0};

fn trigger(ids: &IdGenerator, name: &str, next: Timestamp) -> NewCronTrigger {
    NewCronTrigger {
        id: ids.cron_trigger_id(t0()),
        name: name.into(),
        job_type: JobType::ScheduledApex,
        class_name: "Nightly".into(),
        payload: r#"{"region":"emea"}"#.into(),
        cron_expression: "0 0 2 * * ?".into(),
        time_zone: "Europe/London".into(),
        dst_policy: "quartz".into(),
        next_fire_time: next,
        start_time: t0(),
        batch_scope: None,
    }
}

async fn insert_trigger(store: &dyn Store, t: &NewCronTrigger) {
    store
        .cron_trigger_insert(CronTriggerInsertParams {
            trigger: t.clone(),
            max_active: 100,
        })
        .await
        .expect("insert trigger");
}

fn firing(ids: &IdGenerator, t: &NewCronTrigger, at: Timestamp) -> NewJob {
    let mut j = job(ids, at);
    j.job_type = JobType::ScheduledApex;
    j.class_name = t.class_name.clone();
    j.cron_trigger_id = Some(t.id);
    j
}

async fn fire(
    store: &dyn Store,
    t: &NewCronTrigger,
    expected: Timestamp,
    next: Option<Timestamp>,
    job: NewJob,
) -> bool {
    store
        .cron_trigger_fire(CronTriggerFireParams {
            id: t.id,
            expected_next_fire_time: expected,
            next_fire_time: next,
            fired_at: expected,
            job,
        })
        .await
        .expect("fire")
}

async fn due(store: &dyn Store, now: Timestamp) -> Vec<asyncapex_core::CronTriggerId> {
    store
        .cron_trigger_due(CronTriggerDueParams { now, limit: 100 })
        .await
        .expect("due")
        .into_iter()
        .map(|t| t.id)
        .collect()
}

/// What goes in comes back, and a fresh trigger is WAITING.
pub(crate) async fn trigger_insert_then_get_round_trips_every_field(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let t = trigger(&ids, "Nightly \"EMEA\"", add(t0(), secs(60)));
    insert_trigger(store, &t).await;
    let got = store
        .cron_trigger_get(t.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(got.id, t.id);
    assert_eq!(got.name, t.name);
    assert_eq!(got.job_type, JobType::ScheduledApex);
    assert_eq!(got.class_name, "Nightly");
    assert_eq!(got.payload, t.payload);
    assert_eq!(got.cron_expression, "0 0 2 * * ?");
    assert_eq!(got.time_zone, "Europe/London");
    assert_eq!(got.dst_policy, "quartz");
    assert_eq!(got.stored_state, StoredTriggerState::Waiting);
    assert_eq!(got.state(t0()), TriggerState::Waiting);
    assert_eq!(got.next_fire_time, Some(add(t0(), secs(60))));
    assert_eq!(got.previous_fire_time, None);
    assert_eq!(got.times_triggered, 0);
    assert_eq!(got.start_time, t0());
    assert_eq!(got.end_time, None);
    assert_eq!(got.last_job_id, None);
    let by_name = store
        .cron_trigger_find(t.name.clone())
        .await
        .expect("find")
        .expect("found");
    assert_eq!(by_name.id, t.id);
    assert!(
        store
            .cron_trigger_find("nobody".into())
            .await
            .expect("find")
            .is_none()
    );
}

/// Two active schedules cannot share a name; a deleted one frees it.
pub(crate) async fn trigger_names_are_unique_among_active_triggers(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let first = trigger(&ids, "Nightly", t0());
    insert_trigger(store, &first).await;
    let err = store
        .cron_trigger_insert(CronTriggerInsertParams {
            trigger: trigger(&ids, "Nightly", t0()),
            max_active: 100,
        })
        .await
        .expect_err("duplicate name");
    assert_eq!(
        err,
        Error::DuplicateScheduleName {
            name: "Nightly".into()
        }
    );
    assert!(
        store
            .cron_trigger_delete(CronTriggerDeleteParams {
                id: first.id,
                now: t0()
            })
            .await
            .expect("delete")
    );
    let second = trigger(&ids, "Nightly", t0());
    insert_trigger(store, &second).await;
    let found = store
        .cron_trigger_find("Nightly".into())
        .await
        .expect("find")
        .expect("found");
    assert_eq!(
        found.id, second.id,
        "the active one wins over the deleted one"
    );
}

/// The cap on active schedules refuses the next one and inserts nothing.
pub(crate) async fn trigger_insert_refuses_past_the_active_cap(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    for i in 0..3 {
        store
            .cron_trigger_insert(CronTriggerInsertParams {
                trigger: trigger(&ids, &format!("job-{i}"), t0()),
                max_active: 3,
            })
            .await
            .expect("under the cap");
    }
    let extra = trigger(&ids, "job-3", t0());
    let err = store
        .cron_trigger_insert(CronTriggerInsertParams {
            trigger: extra.clone(),
            max_active: 3,
        })
        .await
        .expect_err("over the cap");
    assert!(
        matches!(err, Error::LimitExceeded { max: 3, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("maximum number of scheduled jobs (3)")
    );
    assert!(
        store
            .cron_trigger_get(extra.id)
            .await
            .expect("get")
            .is_none()
    );
}

/// Only WAITING triggers whose time has come are due.
pub(crate) async fn due_lists_only_waiting_triggers_whose_time_has_come(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let now_due = trigger(&ids, "a", t0());
    let later = trigger(&ids, "b", add(t0(), secs(60)));
    let paused = trigger(&ids, "c", t0());
    for t in [&now_due, &later, &paused] {
        insert_trigger(store, t).await;
    }
    assert!(store.cron_trigger_pause(paused.id).await.expect("pause"));
    assert_eq!(due(store, t0()).await, vec![now_due.id]);
    assert_eq!(
        due(store, add(t0(), secs(60))).await,
        vec![now_due.id, later.id]
    );
}

/// A fire time fires once, whoever tries, and its job is inserted with it.
pub(crate) async fn a_fire_time_fires_exactly_once_with_its_job(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let t = trigger(&ids, "once", t0());
    insert_trigger(store, &t).await;
    let first = firing(&ids, &t, t0());
    let second = firing(&ids, &t, t0());
    let next = add(t0(), secs(3600));
    assert!(fire(store, &t, t0(), Some(next), first.clone()).await);
    assert!(
        !fire(store, &t, t0(), Some(next), second.clone()).await,
        "the same fire time cannot fire twice"
    );
    assert!(store.job_get(second.id).await.expect("get").is_none());
    let job = store.job_get(first.id).await.expect("get").expect("job");
    assert_eq!(job.cron_trigger_id, Some(t.id));
    assert_eq!(job.job_type, JobType::ScheduledApex);
    let got = store.cron_trigger_get(t.id).await.expect("get").expect("t");
    assert_eq!(got.times_triggered, 1);
    assert_eq!(got.previous_fire_time, Some(t0()));
    assert_eq!(got.next_fire_time, Some(next));
    assert_eq!(got.last_job_id, Some(first.id));
    assert_eq!(got.last_job_status, Some(JobStatus::Queued));
    assert_eq!(got.state(t0()), TriggerState::Acquired);
}

/// Runs of one trigger never overlap: due again while running means BLOCKED, not fired.
pub(crate) async fn a_trigger_never_fires_while_its_previous_run_is_active(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let t = trigger(&ids, "hourly", t0());
    insert_trigger(store, &t).await;
    let run = firing(&ids, &t, t0());
    let next = add(t0(), secs(60));
    assert!(fire(store, &t, t0(), Some(next), run.clone()).await);
    assert_eq!(claim(store, "w", t0(), 10).await, vec![run.id]);
    let running = store.cron_trigger_get(t.id).await.expect("get").expect("t");
    assert_eq!(running.state(t0()), TriggerState::Executing);
    assert_eq!(running.state(next), TriggerState::Blocked);
    assert!(due(store, next).await.is_empty(), "blocked while running");
    assert!(
        !fire(
            store,
            &t,
            next,
            Some(add(next, secs(60))),
            firing(&ids, &t, next)
        )
        .await,
        "the guard refuses an overlapping run"
    );
    assert!(
        store
            .job_finish(finish(run.id, "w", next, JobOutcome::Completed))
            .await
            .expect("finish")
    );
    assert_eq!(due(store, next).await, vec![t.id], "due once the run ended");
    assert!(
        fire(
            store,
            &t,
            next,
            Some(add(next, secs(60))),
            firing(&ids, &t, next)
        )
        .await
    );
}

/// The last fire time completes the trigger.
pub(crate) async fn firing_without_a_next_time_completes_the_trigger(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let t = trigger(&ids, "one-off", t0());
    insert_trigger(store, &t).await;
    assert!(fire(store, &t, t0(), None, firing(&ids, &t, t0())).await);
    let got = store.cron_trigger_get(t.id).await.expect("get").expect("t");
    assert_eq!(got.stored_state, StoredTriggerState::Complete);
    assert_eq!(got.next_fire_time, None);
    assert_eq!(got.end_time, Some(t0()));
    assert!(due(store, add(t0(), secs(1_000_000))).await.is_empty());
    // Its name is free again.
    insert_trigger(store, &trigger(&ids, "one-off", t0())).await;
}

/// Pause, resume, delete and fail each move only from the states they name.
pub(crate) async fn pause_resume_delete_and_fail_move_only_from_their_states(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let t = trigger(&ids, "steer", add(t0(), secs(60)));
    insert_trigger(store, &t).await;
    let resume = |at| CronTriggerResumeParams {
        id: t.id,
        next_fire_time: at,
    };
    assert!(
        !store
            .cron_trigger_resume(resume(t0()))
            .await
            .expect("resume"),
        "not paused"
    );
    assert!(store.cron_trigger_pause(t.id).await.expect("pause"));
    assert!(!store.cron_trigger_pause(t.id).await.expect("pause again"));
    let paused = store.cron_trigger_get(t.id).await.expect("get").expect("t");
    assert_eq!(paused.state(t0()), TriggerState::Paused);
    assert!(
        store
            .cron_trigger_resume(resume(t0()))
            .await
            .expect("resume")
    );
    let resumed = store.cron_trigger_get(t.id).await.expect("get").expect("t");
    assert_eq!(
        resumed.next_fire_time,
        Some(t0()),
        "a resumed trigger is due at once"
    );
    assert!(
        store
            .cron_trigger_fail(CronTriggerFailParams {
                id: t.id,
                message: "bad expression".into(),
            })
            .await
            .expect("fail")
    );
    let failed = store.cron_trigger_get(t.id).await.expect("get").expect("t");
    assert_eq!(failed.state(t0()), TriggerState::Error);
    assert_eq!(failed.state_detail.as_deref(), Some("bad expression"));
    let delete = CronTriggerDeleteParams {
        id: t.id,
        now: t0(),
    };
    assert!(
        store
            .cron_trigger_delete(delete.clone())
            .await
            .expect("delete")
    );
    assert!(
        !store
            .cron_trigger_delete(delete)
            .await
            .expect("delete again")
    );
    let deleted = store.cron_trigger_get(t.id).await.expect("get").expect("t");
    assert_eq!(deleted.state(t0()), TriggerState::Deleted);
    assert_eq!(deleted.end_time, Some(t0()));
    assert!(!store.cron_trigger_pause(t.id).await.expect("pause deleted"));
}

/// Listing shows active triggers newest first; ended ones on request.
pub(crate) async fn trigger_list_hides_ended_triggers_unless_asked(store: &dyn Store) {
    let ids = IdGenerator::new(1);
    let a = trigger(&ids, "a", t0());
    let b = trigger(&ids, "b", t0());
    insert_trigger(store, &a).await;
    insert_trigger(store, &b).await;
    store
        .cron_trigger_delete(CronTriggerDeleteParams {
            id: a.id,
            now: t0(),
        })
        .await
        .expect("delete");
    let list = |include_ended| async move {
        store
            .cron_trigger_list(CronTriggerListParams {
                include_ended,
                limit: 10,
            })
            .await
            .expect("list")
            .into_iter()
            .map(|t| t.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(list(false).await, vec![b.id]);
    assert_eq!(list(true).await, vec![b.id, a.id]);
}

/// Schedulers sleep until the earliest waiting fire time.
pub(crate) async fn trigger_next_fire_time_is_the_earliest_waiting_one(store: &dyn Store) {
    assert_eq!(
        store.cron_trigger_next_fire_time().await.expect("next"),
        None
    );
    let ids = IdGenerator::new(1);
    let late = trigger(&ids, "late", add(t0(), secs(90)));
    let early = trigger(&ids, "early", add(t0(), secs(30)));
    insert_trigger(store, &late).await;
    insert_trigger(store, &early).await;
    assert_eq!(
        store.cron_trigger_next_fire_time().await.expect("next"),
        Some(add(t0(), secs(30)))
    );
    store.cron_trigger_pause(early.id).await.expect("pause");
    assert_eq!(
        store.cron_trigger_next_fire_time().await.expect("next"),
        Some(add(t0(), secs(90)))
    );
}
