//! `asyncapex serve`: start-up refusals, and a real server answering on a loopback port.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

fn asyncapex(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_asyncapex"));
    c.current_dir(dir)
        .env_remove("ASYNCAPEX_DATABASE_URL")
        .env_remove("ASYNCAPEX_TOKEN");
    c
}

#[test]
fn serving_beyond_loopback_without_a_token_or_on_a_missing_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let open = asyncapex(dir.path())
        .args(["serve", "--addr", "0.0.0.0:7070"])
        .output()
        .unwrap();
    assert_eq!(open.status.code(), Some(1));
    let err = String::from_utf8_lossy(&open.stderr);
    assert!(
        err.contains("not a loopback address") && err.contains("--token"),
        "{err}"
    );
    let missing = asyncapex(dir.path())
        .args(["serve", "--addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no database"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    assert!(!dir.path().join("asyncapex.db").exists());
    let short = asyncapex(dir.path())
        .args(["serve", "--token", "short"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8 characters"));
}

fn http(addr: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn serve_answers_reads_openly_and_changes_only_with_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.db");
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(asyncapex::SqliteStore::open(&db))
        .unwrap();
    let mut child = asyncapex(dir.path())
        .args([
            "--database",
            "serve.db",
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--token",
            "cli-test-token",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"));
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();

    let read = http(
        &addr,
        "GET /api/jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(read.starts_with("HTTP/1.1 200"), "{read}");
    assert!(read.contains("\"jobs\":[]"), "{read}");
    let page = http(
        &addr,
        "GET /jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(page.starts_with("HTTP/1.1 200") && page.contains("Apex Jobs"));
    let body = r#"{"class_name":"Anything","payload":{}}"#;
    let refused = http(
        &addr,
        &format!(
            "POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    let created = http(
        &addr,
        &format!(
            "POST /api/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer cli-test-token\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    // The server runs no jobs: the job stays queued.
    let queued = http(
        &addr,
        "GET /api/jobs?status=Queued HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(queued.contains("\"class_name\":\"Anything\""), "{queued}");
    child.kill().unwrap();
    child.wait().unwrap();
}
