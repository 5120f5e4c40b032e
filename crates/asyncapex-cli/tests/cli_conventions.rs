//! The command line's conventions: quiet on a closed pipe, exit codes (0 done, 1 failed,
//! 2 bad usage), JSON that nests payloads, tables that fit the terminal.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_asyncapex"));
    c.current_dir(dir)
        .env_remove("ASYNCAPEX_DATABASE_URL")
        .env_remove("COLUMNS")
        .args(args);
    c
}

fn asyncapex(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// One demo database for the read-only checks of this file (the demo takes seconds).
fn demo_dir() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let demo = asyncapex(dir.path(), &["demo"]);
        assert!(demo.status.success(), "{}", stderr(&demo));
        let path = dir.path().to_owned();
        (dir, path)
    });
    path
}

/// Runs the command with its standard output already closed by the reader, as
/// `asyncapex … | head -0` would.
fn with_closed_stdout(dir: &Path, args: &[&str]) -> Output {
    let mut child = command(dir, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    Output {
        status,
        stdout: Vec::new(),
        stderr: err.into_bytes(),
    }
}

#[test]
fn a_closed_pipe_ends_every_command_quietly() {
    let dir = demo_dir();
    for args in [
        &["jobs", "list", "--json"][..],
        &["jobs", "list"],
        &["flex-queue", "list", "--json"],
        &["schedules", "list", "--all"],
        &["batch-errors", "list", "--json"],
        &["limits"],
        &["nodes", "list", "--all"],
        &["cron", "next", "0 0 12 * * ?", "--count", "1000"],
    ] {
        let out = with_closed_stdout(dir, args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?} on a closed pipe: {}",
            stderr(&out)
        );
        assert_eq!(stderr(&out), "", "{args:?} said something on stderr");
    }
}

#[test]
fn bad_usage_exits_2_and_failures_exit_1() {
    let dir = demo_dir();
    // Bad usage: the command line itself is wrong, whatever the database holds.
    for args in [
        &["jobs", "frobnicate"][..],
        &["jobs", "list", "--status", "Running"],
        &["jobs", "list", "--type", "Batch"],
        &["jobs", "list", "--limit", "0"],
        &["jobs", "list", "--before", "not-an-id"],
        &["jobs", "show", "not-an-id"],
        &["jobs", "show", "08e000000000001"],
        &["batch-errors", "list", "--limit", "0"],
        &["flex-queue", "move", "x", "--front"],
        &["cron", "next", "not cron"],
        &["cron", "next", "0 0 12 * * ?", "--tz", "Nowhere/City"],
        &["cron", "next", "0 0 12 * * ?", "--dst", "sometimes"],
        &["cron", "next", "0 0 12 * * ?", "--after", "yesterday"],
        &["cron", "explain", "0 0 * * *"],
    ] {
        let out = asyncapex(dir, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("error"), "{args:?}: {}", stderr(&out));
    }
    let status = asyncapex(dir, &["jobs", "list", "--status", "Running"]);
    assert!(
        stderr(&status).contains("invalid job status \"Running\""),
        "{}",
        stderr(&status)
    );
    // Failures: the command line is fine, the command could not do it.
    let empty = tempfile::tempdir().unwrap();
    for (dir, args) in [
        (empty.path(), &["jobs", "list"][..]),
        (dir, &["jobs", "show", "707000000000001"]),
        (dir, &["jobs", "abort", "707000000000001"]),
        (dir, &["schedules", "pause", "no such schedule"]),
    ] {
        let out = asyncapex(dir, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn cron_next_says_when_an_expression_never_fires_again() {
    let dir = tempfile::tempdir().unwrap();
    let never = asyncapex(
        dir.path(),
        &[
            "cron",
            "next",
            "0 0 12 * * ? 2020",
            "--after",
            "2026-01-01T00:00:00Z",
        ],
    );
    assert_eq!(never.status.code(), Some(1), "{}", stderr(&never));
    assert_eq!(stdout(&never), "");
    assert!(
        stderr(&never).contains("never fires after 2026-01-01T00:00:00Z"),
        "{}",
        stderr(&never)
    );
    // Fewer fire times than asked for: the ones there are, and a note on stderr.
    let some = asyncapex(
        dir.path(),
        &[
            "cron",
            "next",
            "0 0 12 1 1 ? 2027-2028",
            "--after",
            "2026-01-01T00:00:00Z",
            "--count",
            "5",
        ],
    );
    assert_eq!(some.status.code(), Some(0), "{}", stderr(&some));
    assert_eq!(
        stdout(&some),
        "2027-01-01T12:00:00Z\n2028-01-01T12:00:00Z\n"
    );
    assert!(
        stderr(&some).contains("no more fire times after 2028-01-01T12:00:00Z"),
        "{}",
        stderr(&some)
    );
}

#[test]
fn jobs_watch_exits_1_when_the_job_failed() {
    let dir = demo_dir();
    let list = asyncapex(dir, &["jobs", "list", "--json"]);
    let jobs: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let id_of = |status: &str| {
        jobs.as_array()
            .unwrap()
            .iter()
            .find(|j| j["status"] == status)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let failed = asyncapex(dir, &["jobs", "watch", &id_of("Failed")]);
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    assert!(
        stderr(&failed).contains("Failed") && stderr(&failed).contains("HTTP 503"),
        "{}",
        stderr(&failed)
    );
    let completed = asyncapex(dir, &["jobs", "watch", &id_of("Completed")]);
    assert_eq!(completed.status.code(), Some(0), "{}", stderr(&completed));
    assert!(stdout(&completed).contains("Completed"));
}

#[test]
fn json_output_nests_payloads_and_gives_one_schedule_state() {
    let dir = demo_dir();
    let list = asyncapex(dir, &["jobs", "list", "--json", "--class", "SyncInvoice"]);
    assert!(list.status.success(), "{}", stderr(&list));
    let jobs: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let first = &jobs.as_array().unwrap()[0];
    assert!(first["payload"].is_object(), "{first}");
    assert_eq!(first["payload"]["invoice"], "INV-1001");

    let id = first["id"].as_str().unwrap();
    let show = asyncapex(dir, &["jobs", "show", id, "--json"]);
    let job: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(job["payload"]["invoice"], "INV-1001", "{job}");

    let schedules = asyncapex(dir, &["schedules", "list", "--all", "--json"]);
    let schedules: serde_json::Value = serde_json::from_slice(&schedules.stdout).unwrap();
    for s in schedules.as_array().unwrap() {
        assert!(s.get("stored_state").is_none(), "{s}");
        assert!(s["state"].is_string(), "{s}");
        assert!(!s["payload"].is_string(), "{s}");
    }
}

#[test]
fn tables_fit_an_80_column_terminal() {
    let dir = demo_dir();
    for args in [
        &["jobs", "list"][..],
        &["schedules", "list", "--all"],
        &["batch-errors", "list"],
        &["flex-queue", "list"],
        &["nodes", "list", "--all"],
        &["limits"],
    ] {
        let out = command(dir, args).env("COLUMNS", "80").output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let text = stdout(&out);
        for line in text.lines() {
            assert!(
                line.chars().count() <= 80,
                "{args:?}: a line of {} columns:\n{line}\n\n{text}",
                line.chars().count()
            );
        }
    }
    // Every job still shows its full ID on a line of its own, the column people copy.
    let json = asyncapex(dir, &["jobs", "list", "--json"]);
    let jobs: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let list = command(dir, &["jobs", "list"])
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    let text = stdout(&list);
    for job in jobs.as_array().unwrap() {
        let id = job["id"].as_str().unwrap();
        assert!(text.lines().any(|l| l.starts_with(id)), "{id}:\n{text}");
    }
}

#[test]
fn nouns_have_list_and_global_flags_stay_out_of_cron() {
    let dir = demo_dir();
    let nodes = asyncapex(dir, &["nodes", "list", "--all"]);
    assert!(nodes.status.success(), "{}", stderr(&nodes));
    let bare = asyncapex(dir, &["nodes", "--all"]);
    // The same nodes (their alive/dead state may change between the two calls).
    let ids = |o: &Output| -> Vec<String> {
        stdout(o)
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect()
    };
    assert!(bare.status.success(), "{}", stderr(&bare));
    assert_eq!(ids(&bare), ids(&nodes), "`nodes` alone still lists");
    let help = asyncapex(dir, &["--help"]);
    assert!(stdout(&help).contains("Exit codes: 0"), "{}", stdout(&help));
    let cron = asyncapex(dir, &["cron", "next", "--help"]);
    assert!(!stdout(&cron).contains("--database"), "{}", stdout(&cron));
    let bench = asyncapex(dir, &["bench", "adapter", "--help"]);
    if cfg!(feature = "bench") {
        assert!(bench.status.success(), "{}", stderr(&bench));
        assert!(!stdout(&bench).contains("../"), "{}", stdout(&bench));
    } else {
        assert_eq!(bench.status.code(), Some(2), "not in the default binary");
    }
}

#[test]
fn jobs_purge_counts_then_deletes_finished_records_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let demo = asyncapex(dir.path(), &["demo"]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let dry = asyncapex(
        dir.path(),
        &["jobs", "purge", "--before", "2099-01-01", "--dry-run"],
    );
    assert!(dry.status.success(), "{}", stderr(&dry));
    let would: u64 = stdout(&dry)
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count: {}", stdout(&dry)));
    assert!(would >= 12, "the demo's finished records: {}", stdout(&dry));
    let listed = asyncapex(dir.path(), &["jobs", "list", "--status", "completed"]);
    assert!(stdout(&listed).contains("707"), "dry run deleted nothing");
    let purge = asyncapex(dir.path(), &["jobs", "purge", "--before", "2099-01-01"]);
    assert!(purge.status.success(), "{}", stderr(&purge));
    assert!(
        stdout(&purge).contains(&format!("purged {would} ")),
        "{}",
        stdout(&purge)
    );
    let listed = asyncapex(
        dir.path(),
        &["jobs", "list", "--status", "completed,failed,aborted"],
    );
    assert!(
        stdout(&listed).contains("no jobs match"),
        "{}",
        stdout(&listed)
    );
    let holding = asyncapex(dir.path(), &["flex-queue", "list"]);
    assert!(
        stdout(&holding).contains("707"),
        "holding batches are never purged"
    );
    for bad in [
        vec!["jobs", "purge", "--before", "last tuesday"],
        vec!["jobs", "purge", "--before", "7d", "--status", "queued"],
    ] {
        let out = asyncapex(dir.path(), &bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
    let recent = asyncapex(
        dir.path(),
        &["jobs", "purge", "--before", "7d", "--dry-run"],
    );
    assert!(
        stdout(&recent).contains("would purge 0 "),
        "{}",
        stdout(&recent)
    );
}
