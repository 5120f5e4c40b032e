//! Cross-process wake-ups: one dedicated connection LISTENs on the schema's channel and bumps
//! a counter that engines wait on.
//!
//! Job inserts (and anything else that makes work available) `pg_notify` the channel inside
//! their transaction, so the signal arrives when they commit. When the listening connection
//! is lost (server restart, terminated backend, network), the task logs it, reconnects with
//! exponential backoff (capped at [`MAX_BACKOFF`]) and bumps the counter once: a notification
//! may have been missed while it was gone, so every engine re-checks.

use std::sync::Arc;
use std::time::Duration;

use asyncapex_core::Result;
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls};

use crate::errors::from_pg;

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// First wait after losing the connection.
const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// How often the idle connection is checked, so a silently dropped one is noticed.
const PING_EVERY: Duration = Duration::from_secs(30);
/// How long a check may take before the connection counts as lost.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

type Driver = JoinHandle<std::result::Result<(), tokio_postgres::Error>>;

fn bump(wake: &watch::Sender<u64>) {
    wake.send_modify(|n| *n = n.wrapping_add(1));
}

/// Connects, LISTENs, and spawns the task that turns notifications into bumps.
async fn listen(
    config: &Config,
    schema: &str,
    wake: Arc<watch::Sender<u64>>,
) -> Result<(Client, Driver)> {
    let (client, mut connection) = config.connect(NoTls).await.map_err(from_pg)?;
    let driver: Driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(_)) => bump(&wake),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    });
    let sql = include_str!("queries/notify_listen.sql").replace("{schema}", schema);
    if let Err(e) = client.batch_execute(&sql).await {
        driver.abort();
        return Err(from_pg(e));
    }
    Ok((client, driver))
}

/// Starts listening on `schema`'s channel. The first connection is made here, so a store
/// that connected hears every notification committed after that.
pub(crate) async fn start(
    config: Config,
    schema: String,
) -> Result<(watch::Receiver<u64>, JoinHandle<()>)> {
    let (tx, rx) = watch::channel(0u64);
    let wake = Arc::new(tx);
    let first = listen(&config, &schema, wake.clone()).await?;
    let task = tokio::spawn(run(config, schema, wake, first));
    Ok((rx, task))
}

/// Waits until the connection ends (or stops answering), then reconnects; forever, until
/// the store is dropped and aborts the task.
async fn run(
    config: Config,
    schema: String,
    wake: Arc<watch::Sender<u64>>,
    first: (Client, Driver),
) {
    let mut current = first;
    loop {
        let (client, mut driver) = current;
        let reason = loop {
            tokio::select! {
                ended = &mut driver => {
                    break match ended {
                        Ok(Ok(())) => "the server closed it".to_owned(),
                        Ok(Err(e)) => e.to_string(),
                        Err(e) => e.to_string(),
                    };
                }
                () = tokio::time::sleep(PING_EVERY) => {
                    let ping = client.simple_query(include_str!("queries/listener_ping.sql"));
                    match tokio::time::timeout(PING_TIMEOUT, ping).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => break e.to_string(),
                        Err(_) => break "it stopped answering".to_owned(),
                    }
                }
            }
        };
        driver.abort();
        drop(client);
        tracing::warn!(schema = %schema, reason = %reason, "lost the PostgreSQL notification connection; reconnecting");
        let mut backoff = MIN_BACKOFF;
        current = loop {
            tokio::time::sleep(backoff).await;
            match listen(&config, &schema, wake.clone()).await {
                Ok(c) => break c,
                Err(e) => {
                    tracing::warn!(schema = %schema, error = %e, retry_in_ms = backoff.as_millis() as u64, "cannot reconnect the PostgreSQL notification connection");
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        };
        tracing::info!(schema = %schema, "PostgreSQL notification connection restored");
        // Something may have been committed while nobody listened: everyone re-checks.
        bump(&wake);
    }
}
