//! The Apex Developer Guide's chaining example, in Rust.
//!
//! ```apex
//! public class AsyncExecutionExample implements Queueable {
//!     public void execute(QueueableContext context) {
//!         Account a = new Account(Name='Acme', Phone='(415) 555-1212');
//!         insert a;
//!         System.enqueueJob(new SecondJob(a.Id));
//!     }
//! }
//! ```
//!
//! Run it with `cargo run --example queueable`.

use std::time::Duration;

use asyncapex::{Engine, JobError, Queueable, QueueableContext};
use serde::{Deserialize, Serialize};

/// An account, as the first job creates it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Account {
    name: String,
    phone: String,
}

/// Creates an account and chains the next step with it (complex typed state travels as JSON).
#[derive(Serialize, Deserialize)]
struct AsyncExecutionExample {
    account: Account,
}

impl Queueable for AsyncExecutionExample {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        println!("{}: inserted account {:?}", ctx.job_id(), self.account);
        // Committed only if this execution succeeds; at most one child per execution.
        let next = ctx.enqueue_job(SecondJob {
            account: self.account.clone(),
        })?;
        println!("{}: chained {next}", ctx.job_id());
        Ok(())
    }
}

/// The second link of the chain.
#[derive(Serialize, Deserialize)]
struct SecondJob {
    account: Account,
}

impl Queueable for SecondJob {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        let depth = ctx.async_info().current_queueable_stack_depth;
        println!(
            "{}: welcomed {} at depth {depth}",
            ctx.job_id(),
            self.account.name
        );
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), asyncapex::Error> {
    // An in-memory store keeps the example tidy; use `.sqlite("asyncapex.db")` to keep jobs.
    let engine = Engine::builder()
        .in_memory()
        .register::<AsyncExecutionExample>()
        .register::<SecondJob>()
        .start()
        .await?;
    let id = engine
        .enqueue_job(AsyncExecutionExample {
            account: Account {
                name: "Acme".into(),
                phone: "(415) 555-1212".into(),
            },
        })
        .await?;
    println!("enqueued {id}");
    engine.wait_idle(Duration::from_secs(10)).await?;
    for job in engine.jobs(Default::default()).await?.iter().rev() {
        println!("{}  {:<22} {}", job.id, job.class_name, job.status);
    }
    engine.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}
