//! The Apex Developer Guide's batch example, in Rust: a stateful batch over a work set, one
//! transaction per chunk, `finish` with the totals, and a failed chunk that raises an error
//! event while the rest of the batch goes on.
//!
//! ```apex
//! public class UpdateContactAddresses implements
//!     Database.Batchable<sObject>, Database.Stateful, Database.RaisesPlatformEvents {
//!     public Integer recordsProcessed = 0;
//!     public Database.QueryLocator start(Database.BatchableContext bc) { … }
//!     public void execute(Database.BatchableContext bc, List<Account> scope) { … }
//!     public void finish(Database.BatchableContext bc) { System.debug(recordsProcessed); }
//! }
//! Id batchId = Database.executeBatch(new UpdateContactAddresses(), 2);
//! ```
//!
//! Run it with `cargo run --example batch`.

use std::time::Duration;

use asyncapex::{BatchContext, Batchable, Engine, JobError, WorkSet};
use serde::{Deserialize, Serialize};

/// One account of the work set.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Account {
    name: String,
    billing_city: Option<String>,
}

/// Copies each account's billing city to its contacts; counts what it did across chunks.
#[derive(Default, Serialize, Deserialize)]
struct UpdateContactAddresses {
    records_processed: u64,
}

impl Batchable for UpdateContactAddresses {
    type Item = Account;
    // Database.Stateful: `records_processed` carries from chunk to chunk.
    const STATEFUL: bool = true;
    // Database.RaisesPlatformEvents: a failed chunk is stored as a BatchApexErrorEvent.
    const RAISES_ERROR_EVENTS: bool = true;

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<Account>, JobError> {
        let accounts = [
            ("Acme", Some("San Francisco")),
            ("Globex", Some("Springfield")),
            ("Initech", None),
            ("Umbrella", Some("Raccoon City")),
            ("Hooli", Some("Palo Alto")),
        ]
        .map(|(name, city)| Account {
            name: name.into(),
            billing_city: city.map(String::from),
        });
        // Any iterator of serde items; `WorkSet::QueryLocator` reads an application table.
        Ok(WorkSet::iter(accounts))
    }

    async fn execute(
        &mut self,
        ctx: &mut BatchContext,
        scope: Vec<Account>,
    ) -> Result<(), JobError> {
        // One transaction per chunk: an error rolls back this chunk only.
        if let Some(account) = scope.iter().find(|a| a.billing_city.is_none()) {
            return Err(JobError::new(format!(
                "account {} has no billing city",
                account.name
            )));
        }
        self.records_processed += scope.len() as u64;
        let names: Vec<&str> = scope.iter().map(|a| a.name.as_str()).collect();
        println!(
            "{}: updated the contacts of {}",
            ctx.job_id(),
            names.join(", ")
        );
        Ok(())
    }

    async fn finish(&mut self, ctx: &mut BatchContext) -> Result<(), JobError> {
        println!(
            "{}: finish, {} records processed",
            ctx.job_id(),
            self.records_processed
        );
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), asyncapex::Error> {
    // An in-memory store keeps the example tidy; use `.sqlite("asyncapex.db")` to keep jobs.
    let engine = Engine::builder()
        .in_memory()
        .register_batch::<UpdateContactAddresses>()
        .start()
        .await?;
    let mut errors = engine.subscribe_batch_errors();
    // Two accounts per chunk (Apex's default scope is 200).
    let id = engine
        .execute_batch(UpdateContactAddresses::default(), 2)
        .await?;
    println!("submitted {id}");
    let job = engine.wait_for(id, Duration::from_secs(30)).await?;
    println!(
        "{id}: {}, {} of {} chunks, {} failed: {}",
        job.status,
        job.items_processed,
        job.total_items,
        job.number_of_errors,
        job.extended_status.as_deref().unwrap_or("-")
    );
    if let Ok(event) = errors.try_recv() {
        println!("error event: {} in {:?}", event.message, event.phase);
    }
    engine.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}
