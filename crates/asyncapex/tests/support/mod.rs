//! Shared helpers for the engine's integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

/// Generous: these bound a wait for something that must happen, they are not a race.
pub const WAIT: Duration = Duration::from_secs(20);

static SIGNALS: LazyLock<Mutex<HashMap<String, Arc<Semaphore>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
static LOG: LazyLock<Mutex<HashMap<String, Vec<String>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn semaphore(tag: &str) -> Arc<Semaphore> {
    SIGNALS
        .lock()
        .unwrap()
        .entry(tag.to_owned())
        .or_insert_with(|| Arc::new(Semaphore::new(0)))
        .clone()
}

/// Raises the signal `tag` once (from job code).
pub fn signal(tag: &str) {
    semaphore(tag).add_permits(1);
}

/// Waits for one raise of `tag`; panics after [`WAIT`].
pub async fn wait_signal(tag: &str) {
    let s = semaphore(tag);
    tokio::time::timeout(WAIT, s.acquire())
        .await
        .unwrap_or_else(|_| panic!("signal {tag:?} never came"))
        .unwrap()
        .forget();
}

/// Appends an observation under `tag` (from job code).
pub fn log(tag: &str, entry: impl Into<String>) {
    LOG.lock()
        .unwrap()
        .entry(tag.to_owned())
        .or_default()
        .push(entry.into());
}

/// Everything logged under `tag`.
pub fn logged(tag: &str) -> Vec<String> {
    LOG.lock().unwrap().get(tag).cloned().unwrap_or_default()
}

/// A fresh tag per test so parallel tests never read each other's signals.
pub fn tag(name: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{name}-{}", N.fetch_add(1, Ordering::SeqCst))
}

/// A tiny HTTP server on loopback that answers every request with `200 ok`, or never answers
/// when `silent`. Returns its base URL; it lives as long as the test's runtime.
pub async fn http_server(silent: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                if silent {
                    std::future::pending::<()>().await;
                }
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

/// The PostgreSQL test database's URL (`ASYNCAPEX_TEST_POSTGRES_URL`), or `None` when it is
/// not set; panics when it is not set but `ASYNCAPEX_REQUIRE_POSTGRES=1` (CI), so a skipped
/// PostgreSQL case can never pass there.
pub fn postgres_url() -> Option<String> {
    match std::env::var("ASYNCAPEX_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("ASYNCAPEX_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "ASYNCAPEX_REQUIRE_POSTGRES=1 but ASYNCAPEX_TEST_POSTGRES_URL is not set"
            );
            eprintln!("skipping the PostgreSQL case: set ASYNCAPEX_TEST_POSTGRES_URL to run it");
            None
        }
    }
}
