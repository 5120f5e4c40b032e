//! Opening files: missing, not a database, written by a newer version, reopened.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use asyncapex_core::{Error, IdGenerator, JobInsertManyParams, Store, StoreErrorKind};
use asyncapex_sqlite::{SqliteOptions, SqliteStore};

#[tokio::test]
async fn open_without_create_refuses_a_missing_file_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.db");
    let err = SqliteStore::open_with(
        &path,
        SqliteOptions {
            create: false,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Store {
                kind: StoreErrorKind::Unavailable,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("nope.db"), "{err}");
    assert!(!path.exists(), "a refused open must not create the file");
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    std::fs::write(&path, "this is a text file, not SQLite, and it is long enough to have a header page of some sort...".repeat(20)).unwrap();
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Store {
                kind: StoreErrorKind::Corrupt,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("not an SQLite database"), "{err}");
}

#[tokio::test]
async fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    drop(SqliteStore::open(&path).await.unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO asyncapex_migration (version, name, applied_at) VALUES (999, 'future', 0)",
            [],
        )
        .unwrap();
    }
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Store {
                kind: StoreErrorKind::TooNew,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("999"), "{err}");
}

#[tokio::test]
async fn data_survives_reopening_and_migrations_are_not_reapplied() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keep.db");
    let ids = IdGenerator::new(1);
    let now = jiff::Timestamp::now();
    let job = asyncapex_storetest::queued_job(&ids, now);
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store
            .job_insert_many(JobInsertManyParams::new(vec![job.clone()]))
            .await
            .unwrap();
    }
    let store = SqliteStore::open(&path).await.unwrap();
    let got = store.job_get(job.id).await.unwrap().unwrap();
    assert_eq!(got.class_name, job.class_name);
}

fn admin() -> SqliteOptions {
    SqliteOptions {
        create: false,
        ..Default::default()
    }
}

/// The file's bytes, and whether SQLite left a `-wal` or `-shm` beside it.
fn snapshot(path: &std::path::Path) -> (Vec<u8>, bool) {
    let side = |suffix: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        std::path::PathBuf::from(p).exists()
    };
    (std::fs::read(path).unwrap(), side("-wal") || side("-shm"))
}

#[tokio::test]
async fn open_without_create_refuses_an_empty_file_and_leaves_it_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.db");
    std::fs::write(&path, b"").unwrap();
    let err = SqliteStore::open_with(&path, admin()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Store {
                kind: StoreErrorKind::Unavailable,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("e.db") && text.contains("empty"), "{text}");
    assert_eq!(snapshot(&path), (Vec::new(), false));
    // Opening it to create a store (a worker, the demo) is still allowed.
    drop(SqliteStore::open(&path).await.unwrap());
    assert!(SqliteStore::open_with(&path, admin()).await.is_ok());
}

#[tokio::test]
async fn a_foreign_sqlite_file_is_refused_byte_identical_with_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("create table asyncapex_job(x)").unwrap();
    }
    let before = snapshot(&path);
    assert!(!before.1);
    for options in [admin(), SqliteOptions::default()] {
        let err = SqliteStore::open_with(&path, options).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Store {
                    kind: StoreErrorKind::Corrupt,
                    ..
                }
            ),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(!text.contains('\n') && text.len() < 300, "{text}");
        assert!(
            text.contains("f.db") && text.contains("not an asyncapex database"),
            "{text}"
        );
        assert!(
            text.contains("asyncapex_job"),
            "names what it found: {text}"
        );
        assert_eq!(snapshot(&path), before, "the file must not be touched");
    }
}

#[tokio::test]
async fn an_application_database_is_adopted_by_a_worker_and_refused_untouched_by_admin_commands() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "create table account(id integer primary key); insert into account values (7)",
        )
        .unwrap();
    }
    let before = snapshot(&path);
    // An admin command finds no asyncapex database there, and says so without writing.
    let err = SqliteStore::open_with(&path, admin()).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("app.db")
            && text.contains("not an asyncapex database")
            && text.contains("account"),
        "{text}"
    );
    assert!(!text.contains('\n'), "{text}");
    assert_eq!(snapshot(&path), before);
    // A worker may keep its store beside the application's tables (a QueryLocator can then
    // read them): it adds its own and leaves the rest.
    drop(SqliteStore::open(&path).await.unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let id: i64 = conn
        .query_row("select id from account", [], |r| r.get(0))
        .unwrap();
    assert_eq!(id, 7);
    drop(conn);
    assert!(SqliteStore::open_with(&path, admin()).await.is_ok());
}
