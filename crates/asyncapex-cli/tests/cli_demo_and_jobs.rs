//! The binary end to end: the demo on a fresh file, then the admin commands on that file.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::process::{Command, Output};

fn asyncapex(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_asyncapex"))
        .current_dir(dir)
        .env_remove("ASYNCAPEX_DATABASE_URL")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn the_demo_runs_on_a_fresh_file_and_the_admin_commands_read_it() {
    let dir = tempfile::tempdir().unwrap();
    let demo = asyncapex(dir.path(), &["demo"]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let out = stdout(&demo);
    assert!(
        dir.path().join("asyncapex.db").exists(),
        "default database file"
    );
    assert!(out.contains("14 jobs: 12 Completed, 2 Failed"), "{out}");
    assert!(out.contains("1000000 orders, revenue"), "{out}");
    assert!(out.contains("5000 of 5000 chunks, 0 failed"), "{out}");
    assert!(out.contains("fired by 08e"), "{out}");
    assert!(out.contains("3 of 3 chunks, 1 failed"), "{out}");
    assert!(
        out.contains("notify_sales_team (future): account updates finished with Hooli, Stark"),
        "{out}"
    );
    assert!(out.contains("invoice INV-1001 sent"), "{out}");

    let list = asyncapex(dir.path(), &["jobs", "list", "--json"]);
    assert!(list.status.success(), "{}", stderr(&list));
    let jobs: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let jobs = jobs.as_array().unwrap();
    // The demo's 14, and the two batches it leaves holding in the flex queue.
    assert_eq!(jobs.len(), 16);
    assert_eq!(jobs.iter().filter(|j| j["status"] == "Holding").count(), 2);
    assert_eq!(
        jobs.iter().filter(|j| j["job_type"] == "Future").count(),
        1,
        "the demo calls one future"
    );
    for job in jobs {
        let id = job["id"].as_str().unwrap();
        assert!(id.starts_with("707") && id.len() == 18, "{id}");
        assert!(out.contains(id), "the demo printed every ID: {id}");
    }

    let table = stdout(&asyncapex(
        dir.path(),
        &["jobs", "list", "--status", "failed"],
    ));
    assert_eq!(
        table.lines().count(),
        3,
        "header plus two failed jobs:\n{table}"
    );
    assert!(table.lines().next().unwrap().starts_with("Job ID"));

    let first = jobs.last().unwrap()["id"].as_str().unwrap().to_owned();
    let show = asyncapex(dir.path(), &["jobs", "show", &first[..15]]);
    assert!(show.status.success(), "{}", stderr(&show));
    let text = stdout(&show);
    assert!(text.contains(&first) && text.contains("Payload"), "{text}");
    // Its one attempt, and who ran it.
    assert!(text.contains("Attempts\n  1. Completed  "), "{text}");

    let limits = asyncapex(dir.path(), &["limits"]);
    assert!(limits.status.success(), "{}", stderr(&limits));
    assert!(
        stdout(&limits).starts_with("daily async executions (last 24 h): 13 of 250000"),
        "six queueables, one future, two scheduled runs and four batches count, the three finalizer runs do not:\n{}",
        stdout(&limits)
    );

    let abort = asyncapex(dir.path(), &["jobs", "abort", &first]);
    assert!(abort.status.success());
    assert!(
        stdout(&abort).contains("had already ended"),
        "{}",
        stdout(&abort)
    );

    // An operator's retry, search and delete on the demo's store.
    let listed = |args: &[&str]| -> Vec<serde_json::Value> {
        let mut all = vec!["jobs", "list", "--json"];
        all.extend_from_slice(args);
        let out = asyncapex(dir.path(), &all);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    };
    let failed = listed(&["--status", "Failed"]);
    assert_eq!(failed.len(), 2);
    // Without --yes a bulk retry only counts; with it, it retries both.
    let ask = asyncapex(dir.path(), &["jobs", "retry", "--status", "Failed"]);
    assert!(ask.status.success(), "{}", stderr(&ask));
    assert!(
        stdout(&ask).contains("2 jobs match; 2 would be retried"),
        "{}",
        stdout(&ask)
    );
    assert_eq!(listed(&["--status", "Failed"]).len(), 2);
    assert_eq!(listed(&[]).len(), 16, "nothing was retried yet");
    let yes = asyncapex(
        dir.path(),
        &["jobs", "retry", "--status", "Failed", "--yes"],
    );
    assert!(yes.status.success(), "{}", stderr(&yes));
    assert!(
        stdout(&yes).contains("2 retried, 0 skipped"),
        "{}",
        stdout(&yes)
    );
    let original = failed[0]["id"].as_str().unwrap();
    let retries = listed(&["--retry-of", original]);
    assert_eq!(retries.len(), 1);
    assert_eq!(retries[0]["retry_of"], original);
    assert_eq!(retries[0]["class_name"], failed[0]["class_name"]);
    // One job by ID: retried again, then its record deleted.
    let one = asyncapex(dir.path(), &["jobs", "retry", original]);
    assert!(one.status.success(), "{}", stderr(&one));
    assert!(stdout(&one).contains("retried as 707"), "{}", stdout(&one));
    let del = asyncapex(dir.path(), &["jobs", "delete", original]);
    assert!(del.status.success(), "{}", stderr(&del));
    assert!(listed(&["--search", original]).is_empty());
    // A waiting job is not deleted; an ID with bulk options is bad usage.
    let holding = listed(&["--status", "Holding"]);
    let waiting = holding[0]["id"].as_str().unwrap();
    let refused = asyncapex(dir.path(), &["jobs", "delete", waiting]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("Holding"), "{}", stderr(&refused));
    let both = asyncapex(dir.path(), &["jobs", "retry", waiting, "--yes"]);
    assert_eq!(both.status.code(), Some(2), "{}", stderr(&both));
    let nothing = asyncapex(dir.path(), &["jobs", "delete"]);
    assert_eq!(nothing.status.code(), Some(2), "{}", stderr(&nothing));
    // A class prefix in any case, and a date filter.
    let class = failed[1]["class_name"].as_str().unwrap().to_lowercase();
    let by_class = listed(&["--search", &class[..3]]);
    assert!(!by_class.is_empty());
    assert!(by_class.iter().all(|j| {
        j["class_name"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .starts_with(&class[..3])
    }));
    assert!(listed(&["--submitted-from", "2999-01-01"]).is_empty());
    let bad = asyncapex(dir.path(), &["jobs", "list", "--submitted-from", "soon"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}

#[test]
fn unknown_ids_bad_ids_and_missing_databases_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = asyncapex(dir.path(), &["jobs", "list"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("no database at ./asyncapex.db"),
        "{}",
        stderr(&missing)
    );
    assert!(
        !dir.path().join("asyncapex.db").exists(),
        "an admin command never creates one"
    );

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, "x".repeat(4096)).unwrap();
    let unreadable = asyncapex(dir.path(), &["--database", "garbage.db", "jobs", "list"]);
    assert_eq!(unreadable.status.code(), Some(1));
    assert!(
        stderr(&unreadable).contains("not an SQLite database"),
        "{}",
        stderr(&unreadable)
    );

    assert!(asyncapex(dir.path(), &["demo"]).status.success());
    let unknown = asyncapex(dir.path(), &["jobs", "show", "707000000000001"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("no job with ID 707000000000001AAA"),
        "{}",
        stderr(&unknown)
    );
    let abort_unknown = asyncapex(dir.path(), &["jobs", "abort", "707000000000001"]);
    assert_eq!(abort_unknown.status.code(), Some(1));

    let malformed = asyncapex(dir.path(), &["jobs", "show", "not-an-id"]);
    assert_eq!(malformed.status.code(), Some(2), "bad usage");
    assert!(
        stderr(&malformed).contains("invalid ID \"not-an-id\""),
        "{}",
        stderr(&malformed)
    );

    let wrong_kind = asyncapex(dir.path(), &["jobs", "show", "08e000000000001"]);
    assert!(
        stderr(&wrong_kind).contains("expected a job ID"),
        "{}",
        stderr(&wrong_kind)
    );

    let bad_status = asyncapex(dir.path(), &["jobs", "list", "--status", "Running"]);
    assert_eq!(bad_status.status.code(), Some(2), "bad usage");
    assert!(
        stderr(&bad_status).contains("invalid job status \"Running\""),
        "{}",
        stderr(&bad_status)
    );

    let usage = asyncapex(dir.path(), &["jobs", "frobnicate"]);
    assert_eq!(usage.status.code(), Some(2));
}

/// The lines of a demo run that do not change from run to run: the summary, and each job's
/// type, class and status, sorted (IDs and times change, and so does the order in which the
/// chain and the invoice retries create their jobs).
fn outcome(dir: &Path) -> (String, Vec<String>) {
    let demo = asyncapex(dir, &["demo"]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let out = stdout(&demo);
    let summary = out
        .lines()
        .find(|l| l.contains(" jobs: "))
        .unwrap_or_default()
        .to_owned();
    let mut table: Vec<String> = out
        .lines()
        .skip_while(|l| !l.starts_with("final statuses"))
        .filter(|l| l.starts_with("707"))
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    table.sort();
    (summary, table)
}

#[test]
fn the_demo_gives_the_same_result_twice_on_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let first = outcome(dir.path());
    assert_eq!(
        first.0,
        "14 jobs: 12 Completed, 2 Failed (the finalizer retried the failed tries)"
    );
    assert_eq!(first.1.len(), 14);
    let second = outcome(dir.path());
    assert_eq!(first, second);
    let schedules = stdout(&asyncapex(dir.path(), &["schedules", "list", "--json"]));
    let schedules: serde_json::Value = serde_json::from_str(&schedules).unwrap();
    assert_eq!(
        schedules.as_array().unwrap().len(),
        1,
        "one daily schedule left: {schedules}"
    );
    let holding = stdout(&asyncapex(dir.path(), &["flex-queue", "list", "--json"]));
    let holding: serde_json::Value = serde_json::from_str(&holding).unwrap();
    assert_eq!(
        holding.as_array().unwrap().len(),
        2,
        "two batches holding: {holding}"
    );
    assert_eq!(holding[0]["position"], 1);
    let events = stdout(&asyncapex(dir.path(), &["batch-errors", "list", "--json"]));
    let events: serde_json::Value = serde_json::from_str(&events).unwrap();
    assert_eq!(
        events.as_array().unwrap().len(),
        2,
        "one event per run: {events}"
    );
}

/// A job type the demo does not know.
#[derive(serde::Serialize, serde::Deserialize)]
struct PayrollRun;

impl asyncapex::Queueable for PayrollRun {
    async fn execute(
        &mut self,
        _ctx: &mut asyncapex::QueueableContext,
    ) -> Result<(), asyncapex::JobError> {
        Ok(())
    }
}

#[test]
fn the_demo_refuses_a_database_with_other_unfinished_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // An engine that runs nothing, so the job stays queued, as in a stopped application.
        let engine = asyncapex::Engine::builder()
            .sqlite(&path)
            .register::<PayrollRun>()
            .concurrency(0)
            .start()
            .await
            .unwrap();
        engine.enqueue_job(PayrollRun).await.unwrap();
        engine
            .shutdown(std::time::Duration::from_secs(5))
            .await
            .unwrap();
    });
    let demo = asyncapex(dir.path(), &["--database", "app.db", "demo"]);
    assert_eq!(demo.status.code(), Some(1), "{}", stdout(&demo));
    let err = stderr(&demo);
    assert!(
        err.contains("holds other work")
            && err.contains("PayrollRun")
            && err.contains("--database"),
        "{err}"
    );
    let queued = stdout(&asyncapex(
        dir.path(),
        &["--database", "app.db", "jobs", "list", "--status", "queued"],
    ));
    assert_eq!(
        queued.lines().filter(|l| l.starts_with("707")).count(),
        1,
        "left alone: {queued}"
    );
}
