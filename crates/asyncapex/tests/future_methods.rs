//! Future methods and governor limits.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use asyncapex::{
    Engine, Error, FutureContext, JobError, JobListParams, JobStatus, JobType, Limits, ManualClock,
    Queueable, QueueableContext,
};
use serde::{Deserialize, Serialize};
use support::{WAIT, http_server, log, logged, signal, tag, wait_signal};

#[asyncapex::future]
async fn record(tag: String, n: u64) -> Result<(), JobError> {
    log(&tag, format!("record {n}"));
    Ok(())
}

/// Meets its partner: each signals its own arrival and waits for the other's.
#[asyncapex::future]
async fn rendezvous(tag: String, me: String, other: String) {
    signal(&format!("{tag}-{me}"));
    wait_signal(&format!("{tag}-{other}")).await;
    log(&tag, format!("{me} met {other}"));
}

#[asyncapex::future]
async fn calls_a_future(ctx: &mut FutureContext, tag: String) -> Result<(), JobError> {
    let err = record::future(ctx, tag.clone(), 1).await.unwrap_err();
    log(&tag, err.to_string());
    Err(err.into())
}

#[asyncapex::future]
async fn no_callouts_declared(ctx: &mut FutureContext, tag: String) -> Result<(), JobError> {
    match ctx.callout() {
        Ok(_) => log(&tag, "callout allowed"),
        Err(e) => log(&tag, e.to_string()),
    }
    Ok(())
}

#[asyncapex::future(callout = true)]
async fn call_out(ctx: &mut FutureContext, url: String, times: u32) -> Result<(), JobError> {
    for _ in 0..times {
        let response = ctx.callout()?.send(|http| http.get(&url)).await?;
        assert_eq!(response.text().await?, "ok");
    }
    Ok(())
}

#[asyncapex::future(callout = true)]
async fn slow_callouts(ctx: &mut FutureContext, url: String, tag: String) -> Result<(), JobError> {
    for _ in 0..2 {
        if let Err(e) = ctx.callout()?.send(|http| http.get(&url)).await {
            log(&tag, e.to_string());
        }
    }
    Ok(())
}

/// Calls `futures` futures, enqueues `children` queueables, then fails if asked.
#[derive(Serialize, Deserialize)]
struct Caller {
    tag: String,
    futures: u32,
    children: u32,
    fail: bool,
}

impl Queueable for Caller {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        for i in 0..self.futures {
            if let Err(e) = record::future(ctx, self.tag.clone(), u64::from(i)).await {
                log(&self.tag, e.to_string());
            }
        }
        for _ in 0..self.children {
            ctx.enqueue_job(Idle)?;
        }
        let l = ctx.limits();
        log(
            &self.tag,
            format!(
                "queueable {}/{} futures {}/{} callouts {}/{}",
                l.queueable_jobs.used,
                l.queueable_jobs.limit,
                l.future_calls.used,
                l.future_calls.limit,
                l.callouts.used,
                l.callouts.limit
            ),
        );
        if self.fail {
            return Err(JobError::new("failing after the calls"));
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct Idle;

impl Queueable for Idle {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        Ok(())
    }
}

/// Runs until stopped, with await points, under a 5 s limit of its own.
#[derive(Serialize, Deserialize)]
struct Runaway {
    tag: String,
}

impl Queueable for Runaway {
    fn execution_time_limit() -> Option<Duration> {
        Some(Duration::from_secs(5))
    }

    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        signal(&self.tag);
        loop {
            tokio::task::yield_now().await;
        }
    }
}

/// A queueable that did not declare callouts but tries one.
#[derive(Serialize, Deserialize)]
struct SneakyCallout {
    tag: String,
}

impl Queueable for SneakyCallout {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        match ctx.callout() {
            Ok(_) => log(&self.tag, "callout allowed"),
            Err(e) => log(&self.tag, e.to_string()),
        }
        Ok(())
    }
}

fn builder() -> asyncapex::EngineBuilder {
    Engine::builder()
        .in_memory()
        .register::<Caller>()
        .register::<Idle>()
        .register::<Runaway>()
        .register::<SneakyCallout>()
}

async fn jobs_of_type(engine: &Engine, t: JobType) -> Vec<asyncapex::JobRecord> {
    engine
        .jobs(JobListParams {
            job_types: vec![t],
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_future_runs_later_with_its_arguments_in_a_future_record() {
    let engine = builder().start().await.unwrap();
    let t = tag("future");
    // The function itself stays callable directly.
    record(t.clone(), 0).await.unwrap();
    let id = record::future(&engine, t.clone(), 7).await.unwrap();
    let done = engine.wait_for(id, WAIT).await.unwrap();
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.job_type, JobType::Future);
    assert_eq!(done.class_name, "future_methods");
    assert_eq!(done.method_name.as_deref(), Some("record"));
    assert_eq!(
        done.payload_json(),
        serde_json::json!({ "tag": t, "n": 7 }),
        "arguments are stored by name"
    );
    assert_eq!(logged(&t), vec!["record 0", "record 7"]);
    assert_eq!(record::METHOD.method_name(), "record");
}

#[tokio::test]
async fn futures_run_concurrently_not_one_after_another() {
    let engine = builder().concurrency(2).start().await.unwrap();
    let t = tag("concurrent");
    let a = rendezvous::future(&engine, t.clone(), "a".into(), "b".into())
        .await
        .unwrap();
    let b = rendezvous::future(&engine, t.clone(), "b".into(), "a".into())
        .await
        .unwrap();
    // Each waits for the other: this completes only if both run at once.
    assert_eq!(
        engine.wait_for(a, WAIT).await.unwrap().status,
        JobStatus::Completed
    );
    assert_eq!(
        engine.wait_for(b, WAIT).await.unwrap().status,
        JobStatus::Completed
    );
}

#[tokio::test]
async fn a_future_cannot_call_a_future() {
    let engine = builder().start().await.unwrap();
    let t = tag("nested");
    let id = calls_a_future::future(&engine, t.clone()).await.unwrap();
    let done = engine.wait_for(id, WAIT).await.unwrap();
    assert_eq!(done.status, JobStatus::Failed);
    let why = done.extended_status.unwrap();
    assert!(
        why.starts_with("future method cannot be called from a future or batch method"),
        "{why}"
    );
    engine.wait_idle(WAIT).await.unwrap();
    assert_eq!(jobs_of_type(&engine, JobType::Future).await.len(), 1);
}

#[tokio::test]
async fn the_51st_future_call_of_an_execution_fails_it_and_commits_none() {
    let engine = builder().start().await.unwrap();
    let t = tag("fifty-one");
    let id = engine
        .enqueue_job(Caller {
            tag: t.clone(),
            futures: 51,
            children: 0,
            fail: false,
        })
        .await
        .unwrap();
    let done = engine.wait_for(id, WAIT).await.unwrap();
    assert_eq!(done.status, JobStatus::Failed);
    assert!(
        done.extended_status
            .as_deref()
            .unwrap()
            .starts_with("too many future calls: 51"),
        "{:?}",
        done.extended_status
    );
    engine.wait_idle(WAIT).await.unwrap();
    assert!(jobs_of_type(&engine, JobType::Future).await.is_empty());
}

#[tokio::test]
async fn fifty_future_calls_are_fine_and_the_limits_view_counts_them() {
    let engine = builder().start().await.unwrap();
    let t = tag("fifty");
    let id = engine
        .enqueue_job(Caller {
            tag: t.clone(),
            futures: 50,
            children: 1,
            fail: false,
        })
        .await
        .unwrap();
    engine.wait_idle(WAIT).await.unwrap();
    assert_eq!(engine.job(id).await.unwrap().status, JobStatus::Completed);
    assert_eq!(jobs_of_type(&engine, JobType::Future).await.len(), 50);
    assert!(
        logged(&t).contains(&"queueable 1/1 futures 50/50 callouts 0/0".to_string()),
        "{:?}",
        logged(&t)
    );
}

#[tokio::test]
async fn a_failed_execution_leaves_none_of_its_futures_behind() {
    let engine = builder().start().await.unwrap();
    let t = tag("rollback");
    let id = engine
        .enqueue_job(Caller {
            tag: t.clone(),
            futures: 3,
            children: 0,
            fail: true,
        })
        .await
        .unwrap();
    assert_eq!(
        engine.wait_for(id, WAIT).await.unwrap().status,
        JobStatus::Failed
    );
    engine.wait_idle(WAIT).await.unwrap();
    assert!(jobs_of_type(&engine, JobType::Future).await.is_empty());
    assert!(!logged(&t).iter().any(|l| l.starts_with("record")));
}

#[tokio::test]
async fn a_synchronous_context_takes_50_future_calls_and_refuses_the_51st() {
    let engine = builder().concurrency(0).start().await.unwrap();
    let t = tag("sync-futures");
    let tx = engine.begin();
    for i in 0..50 {
        record::future(&tx, t.clone(), i).await.unwrap();
    }
    let err = record::future(&tx, t.clone(), 50).await.unwrap_err();
    assert!(
        err.to_string().starts_with("too many future calls: 51"),
        "{err}"
    );
    assert!(tx.commit().await.is_err(), "a broken limit commits nothing");
    assert!(jobs_of_type(&engine, JobType::Future).await.is_empty());
}

#[tokio::test]
async fn callouts_are_refused_to_work_that_did_not_declare_them() {
    let engine = builder().start().await.unwrap();
    let t = tag("no-callouts");
    let f = no_callouts_declared::future(&engine, t.clone())
        .await
        .unwrap();
    let q = engine
        .enqueue_job(SneakyCallout { tag: t.clone() })
        .await
        .unwrap();
    engine.wait_for(f, WAIT).await.unwrap();
    engine.wait_for(q, WAIT).await.unwrap();
    let log = logged(&t);
    assert_eq!(log.len(), 2);
    for line in log {
        assert!(
            line.starts_with("callouts are not allowed in this execution"),
            "{line}"
        );
    }
}

#[tokio::test]
async fn callouts_work_when_declared_and_stop_at_the_callout_limit() {
    let url = http_server(false).await;
    let engine = builder()
        .limits(Limits {
            callouts: 2,
            ..Limits::default()
        })
        .start()
        .await
        .unwrap();
    let ok = call_out::future(&engine, url.clone(), 2).await.unwrap();
    assert_eq!(
        engine.wait_for(ok, WAIT).await.unwrap().status,
        JobStatus::Completed
    );
    let over = call_out::future(&engine, url, 3).await.unwrap();
    let done = engine.wait_for(over, WAIT).await.unwrap();
    assert_eq!(done.status, JobStatus::Failed);
    assert!(
        done.extended_status
            .as_deref()
            .unwrap()
            .starts_with("too many callouts: 3"),
        "{:?}",
        done.extended_status
    );
}

#[tokio::test]
async fn a_callout_times_out_within_the_execution_callout_budget() {
    let url = http_server(true).await;
    let engine = builder()
        .limits(Limits {
            callout_time: Duration::from_millis(300),
            ..Limits::default()
        })
        .start()
        .await
        .unwrap();
    let t = tag("callout-time");
    let id = slow_callouts::future(&engine, url.clone(), t.clone())
        .await
        .unwrap();
    let done = engine.wait_for(id, WAIT).await.unwrap();
    let log = logged(&t);
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        log[0].starts_with(&format!(
            "callout to {url}/ failed: no response within 300 ms"
        )),
        "{}",
        log[0]
    );
    assert!(
        log[1].starts_with("maximum callout time exceeded"),
        "{}",
        log[1]
    );
    // The exhausted budget is a limit: it fails the execution even though it was caught.
    assert_eq!(done.status, JobStatus::Failed);
}

#[tokio::test]
async fn the_execution_time_limit_stops_a_runaway_job_and_frees_the_worker() {
    let clock = ManualClock::starting_now();
    let engine = builder()
        .clock(clock.clone())
        .concurrency(1)
        .start()
        .await
        .unwrap();
    let t = tag("runaway");
    let id = engine
        .enqueue_job(Runaway { tag: t.clone() })
        .await
        .unwrap();
    wait_signal(&t).await;
    clock.advance(Duration::from_secs(4));
    assert_eq!(engine.job(id).await.unwrap().status, JobStatus::Processing);
    clock.advance(Duration::from_secs(1));
    let done = engine.wait_for(id, WAIT).await.unwrap();
    assert_eq!(done.status, JobStatus::Failed);
    assert!(
        done.extended_status
            .as_deref()
            .unwrap()
            .starts_with("execution time limit exceeded: the job ran longer than 5s"),
        "{:?}",
        done.extended_status
    );
    let next = engine.enqueue_job(Idle).await.unwrap();
    assert_eq!(
        engine.wait_for(next, WAIT).await.unwrap().status,
        JobStatus::Completed
    );
}

#[tokio::test]
async fn the_daily_cap_refuses_enqueues_and_reports_its_count_until_the_window_moves() {
    let clock = ManualClock::starting_now();
    let engine = builder()
        .clock(clock.clone())
        .concurrency(0)
        .limits(Limits {
            daily_async_executions: Some(3),
            ..Limits::default()
        })
        .start()
        .await
        .unwrap();
    let t = tag("daily");
    engine.enqueue_job(Idle).await.unwrap();
    record::future(&engine, t.clone(), 1).await.unwrap();
    engine.enqueue_job(Idle).await.unwrap();
    let err = engine.enqueue_job(Idle).await.unwrap_err();
    assert!(
        matches!(err, Error::LimitExceeded { max: 3, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(
            "3 async jobs were submitted to this store in the last 24 hours and the limit is 3"
        ),
        "{err}"
    );
    let usage = engine.daily_async_usage().await.unwrap();
    assert_eq!((usage.used, usage.limit), (3, Some(3)));
    clock.advance(Duration::from_secs(24 * 3600 + 1));
    engine.enqueue_job(Idle).await.unwrap();
    assert_eq!(engine.daily_async_usage().await.unwrap().used, 1);
}

#[tokio::test]
async fn the_unlimited_profile_lifts_the_limits() {
    let engine = builder().limits(Limits::unlimited()).start().await.unwrap();
    let t = tag("unlimited");
    let id = engine
        .enqueue_job(Caller {
            tag: t.clone(),
            futures: 60,
            children: 3,
            fail: false,
        })
        .await
        .unwrap();
    engine.wait_idle(WAIT).await.unwrap();
    assert_eq!(engine.job(id).await.unwrap().status, JobStatus::Completed);
    assert_eq!(jobs_of_type(&engine, JobType::Future).await.len(), 60);
    assert_eq!(engine.daily_async_usage().await.unwrap().limit, None);
}
