//! Admin commands on files that are not (yet) asyncapex databases: refused in one line, and
//! the file left exactly as it was (issue 13, holes 1 and 2).
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

fn sidecars(dir: &Path, name: &str) -> bool {
    dir.join(format!("{name}-wal")).exists() || dir.join(format!("{name}-shm")).exists()
}

#[test]
fn jobs_list_on_an_empty_file_fails_and_leaves_it_empty() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("e.db"), b"").unwrap();
    let out = asyncapex(dir.path(), &["jobs", "list", "--database", "e.db"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("e.db") && err.contains("empty"), "{err}");
    assert_eq!(std::fs::read(dir.path().join("e.db")).unwrap(), b"");
    assert!(!sidecars(dir.path(), "e.db"));
}

#[test]
fn jobs_list_on_a_foreign_sqlite_file_fails_in_one_line_and_leaves_it_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("create table asyncapex_job(x)").unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let out = asyncapex(dir.path(), &["jobs", "list", "--database", "f.db"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("f.db") && err.contains("not an asyncapex database"),
        "{err}"
    );
    assert!(err.len() < 400, "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(!sidecars(dir.path(), "f.db"));
}
