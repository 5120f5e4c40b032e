//! A future method with a callout (Apex's `@future(callout=true)`), against a local HTTP
//! server this example starts.
//!
//! ```apex
//! @future(callout=true)
//! public static void fetchExchangeRate(String currency) {
//!     HttpResponse res = new Http().send(request);
//!     ...
//! }
//! ```
//!
//! Run it with `cargo run --example future`.

use std::time::Duration;

use asyncapex::{Engine, FutureContext, JobError, JobStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Asks the rates service for one currency and prints the answer.
#[asyncapex::future(callout = true)]
async fn fetch_exchange_rate(
    ctx: &mut FutureContext,
    service: String,
    currency: String,
) -> Result<(), JobError> {
    let url = format!("{service}/rates/{currency}");
    let response = ctx.callout()?.send(|http| http.get(&url)).await?;
    let status = response.status();
    let body = response.text().await?;
    if !status.is_success() {
        return Err(JobError::new(format!(
            "rates service answered {status}: {body}"
        )));
    }
    let used = ctx.limits().callouts;
    println!(
        "{}: {currency} -> {body} (callouts used {} of {})",
        ctx.job_id(),
        used.used,
        used.limit
    );
    Ok(())
}

/// A one-route HTTP server on loopback: `GET /rates/{currency}` answers a JSON rate.
async fn start_rates_service() -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]);
                let currency = request
                    .split_whitespace()
                    .nth(1)
                    .and_then(|path| path.strip_prefix("/rates/"))
                    .unwrap_or("")
                    .to_owned();
                let rate = match currency.as_str() {
                    "EUR" => "0.92",
                    "GBP" => "0.79",
                    _ => "null",
                };
                let body = format!("{{\"currency\":\"{currency}\",\"per_usd\":{rate}}}");
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    Ok(format!("http://{addr}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let service = start_rates_service().await?;
    // Future methods register themselves: nothing to add to the builder.
    let engine = Engine::builder().in_memory().start().await?;
    let mut ids = Vec::new();
    for currency in ["EUR", "GBP"] {
        // Returns the 707… ID of the future's job record (Apex returns nothing).
        let id = fetch_exchange_rate::future(&engine, service.clone(), currency.into()).await?;
        println!("called fetch_exchange_rate({currency}) later as {id}");
        ids.push(id);
    }
    for id in ids {
        let job = engine.wait_for(id, Duration::from_secs(30)).await?;
        assert_eq!(
            job.status,
            JobStatus::Completed,
            "{:?}",
            job.extended_status
        );
        println!(
            "{id}: {} {}.{} {}",
            job.job_type,
            job.class_name,
            job.method_name.unwrap_or_default(),
            job.status
        );
    }
    engine.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}
